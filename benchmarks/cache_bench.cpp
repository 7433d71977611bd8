// Cache-level micro-benchmarks on the embedded backend, each beside its baseline in the
// same run: a cached hit through gencache vs a bare boost::unordered_flat_map find + copy.
//
//   cmake --preset release && cmake --build build/release --target cache_bench
//   build/release/benchmarks/cache_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/unordered/unordered_flat_map.hpp>

#include "gencache/cached_call.hpp"
#include "gencache/memory_backend.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kValueSize = 512;
constexpr int kHotKeys = 10'000;

std::vector<std::string> make_keys() {
  std::vector<std::string> keys;
  keys.reserve(kHotKeys);
  for (int i = 0; i < kHotKeys; ++i) keys.push_back("/api/users/" + std::to_string(i % 97) + "/dashboard?page=" + std::to_string(i));
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

void BM_CachedHit(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  gencache::Cache& cache = warmed_cache(count);
  std::vector<gencache::NamespaceSet> sets;
  for (int i = 0; i < kHotKeys; ++i) sets.push_back(namespaces_for(i, count));
  int i = static_cast<int>(state.thread_index()) * 7919;
  for (auto _ : state) {
    const int k = i++ % kHotKeys;
    std::string v = cache.cached(keys()[k], sets[k], 1h, [] { return std::string("miss"); });
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CachedHit)->Arg(1)->Arg(3)->ArgName("namespaces")->Threads(1)->Threads(2)->UseRealTime();

void BM_FlatMapFindCopy(benchmark::State& state) {
  static const auto map = [] {
    boost::unordered_flat_map<std::string, std::string> m;
    for (const auto& k : keys()) m.emplace(k, std::string(kValueSize, 'v'));
    return m;
  }();
  int i = static_cast<int>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto it = map.find(keys()[i++ % kHotKeys]);
    std::string v = it->second;
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlatMapFindCopy)->Threads(1)->Threads(2)->UseRealTime();

// Wrapper overhead: cached_call vs the same get / compute / set written by hand.
std::string render(int page) { return std::string(kValueSize, static_cast<char>('a' + page % 26)); }

void BM_CachedCallHit(benchmark::State& state) {
  gencache::Cache cache(std::make_shared<gencache::MemoryBackend>());
  auto handler = gencache::cached_call(
      cache, [](int page) { return "page?" + std::to_string(page); },
      [](int) { return gencache::ns("user", 42); }, 1h, &render);
  for (int p = 0; p < 100; ++p) handler(p);
  int p = 0;
  for (auto _ : state) benchmark::DoNotOptimize(handler(p++ % 100));
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
}
BENCHMARK(BM_HandWrittenGetComputeSet);

void BM_BumpNamespace(benchmark::State& state) {
  gencache::Cache cache(std::make_shared<gencache::MemoryBackend>());
  for (auto _ : state) benchmark::DoNotOptimize(cache.bump_namespace(gencache::ns("user", 42)));
}
BENCHMARK(BM_BumpNamespace);

}  // namespace
