#pragma once
// The read workload the server benchmarks (memcached_bench, redis_bench) share: 100 pages
// of 512 B cached under one and under three namespaces, beside raw copies of them, and
// the check that every gencache read of them hit.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "gencache/cache.hpp"

namespace gencache::bench {

inline constexpr std::size_t kValueSize = 512;
inline constexpr int kPages = 100;  // hot keys the read benchmarks cycle through

inline const std::string& value_512() {
  static const std::string value(kValueSize, 'v');
  return value;
}

inline std::string page_key(int page) {
  return fmt::format("/dashboard?page={}", page);
}

/// The key of every page, behind `prefix` ("raw:" for the raw client's copies).
inline std::vector<std::string> page_keys(std::string_view prefix = "") {
  std::vector<std::string> keys;
  for (int page = 0; page < kPages; ++page)
    keys.push_back(fmt::format("{}{}", prefix, page_key(page)));
  return keys;
}

/// user:42 alone, or user:42, org:7 and catalog.
inline NamespaceSet namespaces(int count) {
  if (count == 1) return ns("user", 42);
  return {ns("user", 42), ns("org", 7), ns("catalog")};
}

/// Caches every page through `cache` under namespaces(1) and namespaces(3), and hands
/// ("raw:" + its key, its value) to `raw_set` for the raw client to store.
template <class RawSet>
void load_pages(Cache& cache, RawSet&& raw_set) {
  using namespace std::chrono_literals;
  for (int page = 0; page < kPages; ++page) {
    raw_set("raw:" + page_key(page), value_512());
    cache.set(page_key(page), namespaces(1), value_512(), 1h);
    cache.set(page_key(page), namespaces(3), value_512(), 1h);
  }
}

/// For the life of a benchmark's timed loop: fails the run if the backend failed or a read
/// expected to hit missed, and reports the Cache's round trips per iteration as the
/// counter `round_trips_counter`.
class HitCheck {
 public:
  HitCheck(benchmark::State& state, Cache& cache, const char* round_trips_counter)
      : state_(state), cache_(cache), counter_(round_trips_counter), before_(cache.stats()) {}
  ~HitCheck() {
    const Stats after = cache_.stats();
    if (after.errors != before_.errors) state_.SkipWithError("the backend failed");
    if (after.computes != before_.computes || after.misses != before_.misses)
      state_.SkipWithError("a read expected to hit missed");
    state_.counters[counter_] =
        benchmark::Counter(static_cast<double>(after.round_trips - before_.round_trips),
                           benchmark::Counter::kAvgIterations);
  }
  HitCheck(const HitCheck&) = delete;
  HitCheck& operator=(const HitCheck&) = delete;

 private:
  benchmark::State& state_;
  Cache& cache_;
  const char* counter_;
  Stats before_;
};

/// The gencache side of the read comparison: Cache::cached of each page in turn under
/// namespaces(state.range(0)), every one a hit.
inline void read_pages_through_cache(benchmark::State& state, Cache& cache,
                                     const char* round_trips_counter) {
  using namespace std::chrono_literals;
  const NamespaceSet set = namespaces(static_cast<int>(state.range(0)));
  const std::vector<std::string> keys = page_keys();
  HitCheck check(state, cache, round_trips_counter);
  std::size_t i = 0;
  for (auto _ : state) {
    std::string value =
        cache.cached(keys[i++ % keys.size()], set, 1h, [] { return std::string("computed"); });
    benchmark::DoNotOptimize(value.data());
  }
}

}  // namespace gencache::bench
