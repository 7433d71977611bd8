// AsyncCache against Cache on the embedded backend (`memory://`), side by side in one run:
// the cost of the asynchronous API itself (the coroutine frame, the completion handler,
// the dispatch back to the caller's executor) on a hit, where no I/O hides it.
//
//   hit:  Cache::cached hit vs AsyncCache::async_cached hit awaited in a coroutine on a
//         one-thread io_context, 10^4 hot keys of 512 B, one namespace. Target: <= 1.3x.
//
//   cmake --preset release && cmake --build build/release --target async_cache_bench
//   build/release/benchmarks/async_cache_bench --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gencache/async_cache.hpp"
#include "gencache/cache.hpp"
#include "gencache/memory_backend.hpp"

namespace {

namespace asio = boost::asio;
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

std::vector<gencache::NamespaceSet> namespace_sets() {
  std::vector<gencache::NamespaceSet> sets;
  for (int i = 0; i < kHotKeys; ++i) sets.emplace_back(gencache::ns("user", i % 97));
  return sets;
}

// One memory backend, filled once, read by both APIs: they see the same entries.
std::shared_ptr<gencache::MemoryBackend> warmed_backend() {
  static const auto backend = [] {
    auto memory = std::make_shared<gencache::MemoryBackend>();
    gencache::Cache cache(memory);
    const std::string value(kValueSize, 'v');
    const auto sets = namespace_sets();
    for (int i = 0; i < kHotKeys; ++i) cache.set(keys()[i], sets[i], value, 1h);
    return memory;
  }();
  return backend;
}

void BM_CacheHit(benchmark::State& state) {
  gencache::Cache cache(warmed_backend());
  const auto sets = namespace_sets();
  const std::uint64_t computes = cache.stats().computes;
  int i = 0;
  for (auto _ : state) {
    const int k = i++ % kHotKeys;
    std::string v = cache.cached(keys()[k], sets[k], 1h, [] { return std::string("miss"); });
    benchmark::DoNotOptimize(v.data());
  }
  if (cache.stats().computes != computes) state.SkipWithError("a read expected to hit missed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CacheHit);

// The whole benchmark loop is one coroutine, so each iteration is one co_await of a hit.
// memory:// completes inline, and AsyncCache's completion then resumes this coroutine on
// the same stack: every 100 hits a post lets the stack unwind (without it a long loop of
// hits overflows it: reported to the AsyncCache side), costing 1% of a queue hop per hit.
void BM_AsyncCacheHit(benchmark::State& state) {
  asio::io_context io(1);
  gencache::AsyncCache cache(io.get_executor(), warmed_backend());
  const auto sets = namespace_sets();
  const std::uint64_t computes = cache.stats().computes;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        int i = 0;
        for (auto _ : state) {
          const int k = i++ % kHotKeys;
          std::string v = co_await cache.async_cached(
              keys()[k], sets[k], 1h, [] { return std::string("miss"); }, asio::use_awaitable);
          benchmark::DoNotOptimize(v.data());
          if (i % 100 == 0) co_await asio::post(io, asio::use_awaitable);
        }
      },
      asio::detached);
  io.run();
  if (cache.stats().computes != computes) state.SkipWithError("a read expected to hit missed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AsyncCacheHit);

}  // namespace
