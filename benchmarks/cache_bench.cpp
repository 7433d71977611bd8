// Cache-level micro-benchmarks on the embedded backend (`memory://`), each beside its
// baseline in the same run:
//
//   hit:      Cache::cached hit (1 and 3 namespaces) vs a bare boost::unordered_flat_map
//             find + copy and vs a std::mutex + std::unordered_map cache, 10^4 hot keys,
//             1 and 2 threads (every read returns a fresh std::string, as the Cache does)
//   wrapper:  cached_call vs the same get / compute / set written by hand
//   memory:   heap bytes per Cache entry beyond the user's key and value
//
//   cmake --preset release && cmake --build build/release --target cache_bench
//   build/release/benchmarks/cache_bench --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
#include <malloc.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <boost/unordered/unordered_flat_map.hpp>

#include "backends/memory/entry_layout.hpp"
#include "gencache/cached_call.hpp"
#include "gencache/memory_backend.hpp"
#include "in_process_path.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kValueSize = 512;
constexpr int kHotKeys = 10'000;

std::vector<std::string> make_keys() {
  std::vector<std::string> keys;
  keys.reserve(kHotKeys);
  for (int i = 0; i < kHotKeys; ++i)
    keys.push_back("/api/users/" + std::to_string(i % 97) + "/dashboard?page=" + std::to_string(i));
  return keys;
}

const std::vector<std::string>& keys() {
  static const std::vector<std::string> k = make_keys();
  return k;
}

gencache::NamespaceSet namespaces_for(int i, int count) {
  if (count == 1) return gencache::ns("user", i % 97);
  return {gencache::ns("user", i % 97), gencache::ns("org", i % 7), gencache::ns("catalog")};
}

// Shared by all threads of a benchmark, as a service would share one Cache.
gencache::Cache& warmed_cache(int namespace_count) {
  static auto make = [](int count) {
    gencache::Cache cache(std::make_shared<gencache::MemoryBackend>());
    const std::string value(kValueSize, 'v');
    for (int i = 0; i < kHotKeys; ++i) cache.set(keys()[i], namespaces_for(i, count), value, 1h);
    return cache;
  };
  static gencache::Cache one = make(1);
  static gencache::Cache three = make(3);
  return namespace_count == 1 ? one : three;
}

// Each thread starts elsewhere in the key list, so two threads do not read in lockstep.
int first_key(const benchmark::State& state) {
  return static_cast<int>(state.thread_index()) * 7919;
}

void BM_CachedHit(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  gencache::Cache& cache = warmed_cache(count);
  std::vector<gencache::NamespaceSet> sets;
  for (int i = 0; i < kHotKeys; ++i) sets.push_back(namespaces_for(i, count));
  const std::uint64_t computes = cache.stats().computes;
  int i = first_key(state);
  for (auto _ : state) {
    const int k = i++ % kHotKeys;
    std::string v = cache.cached(keys()[k], sets[k], 1h, [] { return std::string("miss"); });
    benchmark::DoNotOptimize(v.data());
  }
  if (cache.stats().computes != computes) state.SkipWithError("a read expected to hit missed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CachedHit)
    ->ArgName("namespaces")
    ->Arg(1)
    ->Arg(3)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

// The floor: find + copy into a new string, no lock (reads of a const map only).
void BM_FlatMapFindCopy(benchmark::State& state) {
  static const auto map = [] {
    boost::unordered_flat_map<std::string, std::string> m;
    for (const auto& k : keys()) m.emplace(k, std::string(kValueSize, 'v'));
    return m;
  }();
  int i = first_key(state);
  for (auto _ : state) {
    auto it = map.find(keys()[i++ % kHotKeys]);
    std::string v = it->second;
    benchmark::DoNotOptimize(v.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlatMapFindCopy)->Threads(1)->Threads(2)->UseRealTime();

// The obvious thread-safe in-process cache: one mutex around std::unordered_map.
void BM_MutexMapFindCopy(benchmark::State& state) {
  static std::mutex mutex;
  static const auto map = [] {
    std::unordered_map<std::string, std::string> m;
    for (const auto& k : keys()) m.emplace(k, std::string(kValueSize, 'v'));
    return m;
  }();
  int i = first_key(state);
  for (auto _ : state) {
    std::string v;
    {
      std::lock_guard lock(mutex);
      v = map.find(keys()[i++ % kHotKeys])->second;
    }
    benchmark::DoNotOptimize(v.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MutexMapFindCopy)->Threads(1)->Threads(2)->UseRealTime();

// Wrapper overhead: cached_call vs the same get / compute / set written by hand.
std::string render(int page) {
  return std::string(kValueSize, static_cast<char>('a' + page % 26));
}

void BM_CachedCallHit(benchmark::State& state) {
  gencache::Cache cache(std::make_shared<gencache::MemoryBackend>());
  auto handler = gencache::cached_call(
      cache, [](int page) { return "page?" + std::to_string(page); },
      [](int) { return gencache::ns("user", 42); }, 1h, &render);
  for (int p = 0; p < 100; ++p) handler(p);
  int p = 0;
  for (auto _ : state) benchmark::DoNotOptimize(handler(p++ % 100));
  if (cache.stats().computes != 100) state.SkipWithError("a read expected to hit missed");
}
BENCHMARK(BM_CachedCallHit);

void BM_HandWrittenGetComputeSet(benchmark::State& state) {
  gencache::Cache cache(std::make_shared<gencache::MemoryBackend>());
  auto call = [&](int page) {
    const std::string key = "page?" + std::to_string(page);
    if (auto hit = cache.get(key, gencache::ns("user", 42))) return std::move(*hit);
    std::string v = render(page);
    cache.set(key, gencache::ns("user", 42), v, 1h);
    return v;
  };
  for (int p = 0; p < 100; ++p) call(p);
  int p = 0;
  for (auto _ : state) benchmark::DoNotOptimize(call(p++ % 100));
  if (cache.stats().sets != 100) state.SkipWithError("a read expected to hit missed");
}
BENCHMARK(BM_HandWrittenGetComputeSet);

void BM_BumpNamespace(benchmark::State& state) {
  gencache::Cache cache(std::make_shared<gencache::MemoryBackend>());
  for (auto _ : state) benchmark::DoNotOptimize(cache.bump_namespace(gencache::ns("user", 42)));
}
BENCHMARK(BM_BumpNamespace);

std::size_t heap_in_use() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;  // small chunks + mmap'ed blocks (large tables)
}

// Heap bytes per Cache entry beyond the user's key and value, for 10^5 entries of a
// 16-byte key and a 64-byte value spread over 1000 namespaces, on memory://'s in-process
// path: the entry record (times, kind, and per namespace its counter and generation), the
// identity's growth over the key (lengths and the namespace's name), the backend's own
// overhead (item header, malloc rounding, index and CLOCK ring), and the counters
// (amortized).
void BM_CacheOverheadPerEntry(benchmark::State& state) {
  constexpr std::size_t kEntries = 100'000;
  constexpr std::size_t kKeySize = 16;
  constexpr std::size_t kEntryValueSize = 64;
  constexpr int kNamespaces = 1000;
  const std::string value(kEntryValueSize, 'v');
  std::vector<gencache::Namespace> users;
  for (int u = 0; u < kNamespaces; ++u) users.push_back(gencache::ns("user", u));
  double measured = 0;
  double identity_growth = 0;
  for (auto _ : state) {
    const std::size_t before = heap_in_use();
    {
      gencache::Cache cache(std::make_shared<gencache::MemoryBackend>(
          gencache::MemoryOptions{.max_bytes = std::size_t{256} << 20}));
      char key[kKeySize];
      std::size_t identity_bytes = 0;
      for (std::size_t i = 0; i < kEntries; ++i) {
        fmt::format_to_n(key, kKeySize, "k:{:014}", i);
        const gencache::Namespace& user = users[i % kNamespaces];
        cache.set(std::string_view(key, kKeySize), user, value, 1h);
        if (i < kNamespaces)
          identity_bytes +=
              gencache::detail::InProcessPath::identity("", std::string_view(key, kKeySize), user)
                  .size();
      }
      const std::size_t after = heap_in_use();
      if (cache.stats().sets != kEntries) state.SkipWithError("entries were not stored");
      constexpr double kPayload = kKeySize + kEntryValueSize;
      measured = static_cast<double>(after - before) / kEntries - kPayload;
      identity_growth = static_cast<double>(identity_bytes) / kNamespaces - kKeySize;
    }
  }
  state.counters["overhead_bytes_per_entry"] = measured;
  state.counters["entry_record_bytes"] =
      static_cast<double>(gencache::detail::kEntryHeaderBytes + gencache::detail::kCounterRefBytes);
  state.counters["identity_bytes"] = identity_growth;
}
BENCHMARK(BM_CacheOverheadPerEntry)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
