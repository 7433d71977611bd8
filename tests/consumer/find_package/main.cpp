// Uses an installed gencache the way an application would; exits non-zero if the cache does
// not behave as promised. Built both through find_package and through pkg-config.

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include <gencache/gencache.hpp>

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAILED: %s\n", what);
  }
}

}  // namespace

int main() {
  using namespace std::chrono_literals;
  try {
    gencache::Cache cache = gencache::Cache::from_url("memory://");
    const gencache::Namespace user = gencache::ns("user", 42);

    int computes = 0;
    auto profile = [&] { return "profile v" + std::to_string(++computes); };
    expect(cache.cached("profile", user, 1min, profile) == "profile v1", "first read computes");
    expect(cache.cached("profile", user, 1min, profile) == "profile v1", "second read hits");
    cache.bump_namespace(user);
    expect(cache.cached("profile", user, 1min, profile) == "profile v2", "a bump recomputes");
    expect(computes == 2, "compute ran exactly twice");

    auto square = gencache::cached_call(
        cache, [](int n) { return "square/" + std::to_string(n); },
        [](int) { return gencache::ns("math"); }, 1min, [](int n) { return n * n; });
    expect(square(7) == 49 && square(7) == 49, "cached_call returns the handler's result");

    const gencache::Stats stats = cache.stats();
    expect(stats.hits == 2 && stats.bumps == 1, "stats count the hits and the bump");

    bool rejected = false;
    try {
      gencache::Cache::from_url("nosuchscheme://");
    } catch (const gencache::config_error&) {
      rejected = true;
    }
    expect(rejected, "a bad URL throws gencache::config_error");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAILED: unexpected exception: %s\n", e.what());
    return 1;
  }
  if (failures > 0) return 1;
  std::printf("gencache %d.%d.%d consumer: OK\n", GENCACHE_VERSION_MAJOR, GENCACHE_VERSION_MINOR,
              GENCACHE_VERSION_PATCH);
  return 0;
}
