// Hot paths in a loop, for counting instructions with callgrind: unlike time, the count
// does not depend on the machine's load, so it compares before and after a change exactly.
//
//   valgrind --tool=callgrind --toggle-collect='measured_*' \
//       build/release/benchmarks/hot_path_profile cached_hit_1ns 20000
//
// Instructions per operation = callgrind's "Collected" / the operation count. Only the
// measured_* functions are collected; setup and a warm-up pass are not. scripts/bench
// runs every path and reports the counts in benchmarks/RESULTS.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "gencache/cache.hpp"
#include "gencache/memory_backend.hpp"

namespace {

using namespace std::chrono_literals;

constexpr int kKeys = 10'000;
constexpr std::size_t kValueSize = 512;
constexpr std::size_t kBatch = 100;

struct Fixture {
  gencache::Cache cache{std::make_shared<gencache::MemoryBackend>()};
  std::vector<std::string> keys;
  std::vector<gencache::NamespaceSet> sets;

  explicit Fixture(int namespace_count) {
    for (int i = 0; i < kKeys; ++i) {
      keys.push_back("/api/users/" + std::to_string(i % 97) +
                     "/dashboard?page=" + std::to_string(i));
      if (namespace_count == 1) {
        sets.emplace_back(gencache::ns("user", i % 97));
      } else {
        sets.push_back(
            {gencache::ns("user", i % 97), gencache::ns("org", i % 7), gencache::ns("catalog")});
      }
      cache.set(keys.back(), sets.back(), std::string(kValueSize, 'v'), 1h);
    }
  }
};

}  // namespace

// Not static and not inlined, so that callgrind's --toggle-collect finds them by name.
__attribute__((noinline)) std::size_t measured_cached_hit(Fixture& f, int n) {
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    const int k = i % kKeys;
    bytes += f.cache.cached(f.keys[k], f.sets[k], 1h, [] { return std::string("miss"); }).size();
  }
  return bytes;
}

__attribute__((noinline)) std::size_t measured_get_hit(Fixture& f, int n) {
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    const int k = i % kKeys;
    bytes += f.cache.get(f.keys[k], f.sets[k]).value_or("").size();
  }
  return bytes;
}

__attribute__((noinline)) std::size_t measured_get_many(Fixture& f, int n) {
  // 100 keys of user:0 (every 97th key).
  std::vector<std::string> batch;
  for (std::size_t i = 0; batch.size() < kBatch; i += 97) batch.push_back(f.keys[i]);
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i)
    for (const auto& value : f.cache.get_many(std::span<const std::string>(batch), f.sets[0]))
      bytes += value.value_or("").size();
  return bytes;
}

__attribute__((noinline)) std::size_t measured_backend_hit(gencache::MemoryBackend& backend,
                                                           const std::vector<std::string>& keys,
                                                           int n) {
  std::vector<std::optional<std::string>> values;
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    const std::string_view key[] = {keys[static_cast<std::size_t>(i % kKeys)]};
    backend.get_many(key, values);
    bytes += values[0]->size();
  }
  return bytes;
}

// The floor the in-process comparison is against: find + copy into a new string.
__attribute__((noinline)) std::size_t measured_flat_map(
    const boost::unordered_flat_map<std::string, std::string>& map,
    const std::vector<std::string>& keys, int n) {
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    const std::string value = map.find(keys[static_cast<std::size_t>(i % kKeys)])->second;
    bytes += value.size();
  }
  return bytes;
}

__attribute__((noinline)) std::size_t measured_bump(Fixture& f, int n) {
  std::size_t sum = 0;
  for (int i = 0; i < n; ++i) sum += f.cache.bump_namespace(gencache::ns("user", 42)) & 1;
  return sum;
}

int main(int argc, char** argv) {
  const std::string_view path = argc > 1 ? argv[1] : "";
  const int n = argc > 2 ? std::atoi(argv[2]) : 20'000;
  std::size_t result = 0;
  if (path == "cached_hit_1ns" || path == "cached_hit_3ns" || path == "get_hit" || path == "bump") {
    Fixture f(path == "cached_hit_3ns" ? 3 : 1);
    auto run = path == "get_hit" ? measured_get_hit
               : path == "bump"  ? measured_bump
                                 : measured_cached_hit;
    run(f, 1000);  // warm: hints, allocator
    result = run(f, n);
  } else if (path == "get_many_100") {
    Fixture f(1);
    measured_get_many(f, 10);
    result = measured_get_many(f, n);
  } else if (path == "backend_hit_ttl") {
    gencache::MemoryBackend backend;
    std::vector<std::string> keys;
    for (int i = 0; i < kKeys; ++i) {
      keys.push_back("bench:hot:" + std::to_string(i));
      backend.set(keys.back(), std::string(kValueSize, 'v'), 10min);
    }
    measured_backend_hit(backend, keys, 1000);
    result = measured_backend_hit(backend, keys, n);
  } else if (path == "flat_map_find_copy") {
    Fixture f(1);
    boost::unordered_flat_map<std::string, std::string> map;
    for (const auto& key : f.keys) map.emplace(key, std::string(kValueSize, 'v'));
    measured_flat_map(map, f.keys, 1000);
    result = measured_flat_map(map, f.keys, n);
  } else {
    std::fprintf(stderr,
                 "usage: hot_path_profile PATH [COUNT]\n"
                 "PATH: cached_hit_1ns cached_hit_3ns get_hit get_many_100 backend_hit_ttl bump\n"
                 "      flat_map_find_copy\n");
    return 2;
  }
  std::printf("%zu\n", result);
  return 0;
}
