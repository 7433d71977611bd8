// The asynchronous meta-protocol client beside the blocking libmemcached backend and raw
// libmemcached, in one run against one memcached (-t 1) this program starts on loopback.
//
//   BM_AsyncRead/in_flight:N/connections:C
//                              single-key reads (512 B hits) on one thread (one
//                              io_context), N always in flight (each completion starts
//                              the next) over C connections (1 is the default);
//                              p50/p99 latency of each read, and the
//                              connections the client opened (memcached's
//                              curr_connections before and after)
//   BM_BlockingRead/threads:T  the blocking backend's visit_many of the same key from T
//                              threads (pool of 16 connections)
//   BM_BlockingCacheHit/threads:T  a blocking Cache hit (1 namespace, 512 B) from T threads
//   BM_RawGet                  memcached_get of the same key on one handle
//
// Read the items_per_second side by side: in_flight:64 against the best blocking
// threads: count, and in_flight:1 against BM_RawGet.
#include <libmemcached-1.0/memcached.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <boost/asio/io_context.hpp>

#include "bench_support.hpp"
#include "gencache/cache.hpp"
#include "gencache/memcached_async_backend.hpp"
#include "gencache/memcached_backend.hpp"
#include "support/memcached_server.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kKey = "meta_bench:value";
const std::string kValue(512, 'v');

struct World {
  gencache::test::MemcachedServer server{{.memory_mb = 64, .threads = 1}};
  std::shared_ptr<gencache::Backend> blocking;
  gencache::Cache cache = gencache::Cache::from_url(
      gencache::test::memcached_url({&server}, "io_timeout=2s&pool_max=16"));

  World() {
    gencache::MemcachedOptions options;
    options.servers = {server.address()};
    options.io_timeout = 2s;
    options.pool_max = 16;
    blocking = gencache::make_memcached_backend(options);
    blocking->set(kKey, kValue, 0ms);
    cache.set("page", gencache::ns("user", 1), kValue, 1h);
  }

  std::uint64_t connections() {
    gencache::bench::MemcachedLoader connection(server.port());
    return connection.stat("curr_connections") - 1;  // not counting this one
  }
};

World& world() {
  static World instance;
  return instance;
}

struct CountingVisitor final : gencache::ValueVisitor {
  std::size_t hits = 0;
  void found(std::size_t, std::string_view value) noexcept override {
    hits += value.size() == 512 ? 1 : 0;
  }
};

double percentile(std::vector<double>& samples, double fraction) {
  if (samples.empty()) return 0;
  const auto at = static_cast<std::size_t>(fraction * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(at),
                   samples.end());
  return samples[at];
}

void BM_AsyncRead(benchmark::State& state) {
  World& w = world();
  const auto in_flight = static_cast<std::size_t>(state.range(0));
  const std::uint64_t connections_before = w.connections();
  boost::asio::io_context io;
  gencache::MemcachedAsyncOptions options;
  options.servers = {w.server.address()};
  options.io_timeout = 2s;
  options.connections = static_cast<std::size_t>(state.range(1));
  auto backend = gencache::make_memcached_async_backend(io.get_executor(), options);
  CountingVisitor visitor;
  const std::string_view keys[] = {kKey};
  std::vector<double> latencies_us;
  std::size_t completed = 0;
  std::size_t outstanding = 0;
  std::size_t failures = 0;
  bool reissue = true;
  // A sliding window: each completion starts the next read, so `in_flight` reads are
  // always outstanding while the loop runs.
  std::function<void()> start_read = [&] {
    const auto started = Clock::now();
    ++outstanding;
    backend->async_visit_many(keys, visitor, [&, started](std::exception_ptr failure) {
      latencies_us.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - started).count());
      ++completed;
      --outstanding;
      if (failure) ++failures;
      if (reissue) start_read();
    });
  };
  for (std::size_t i = 0; i < in_flight; ++i) start_read();
  std::size_t target = 0;
  for (auto _ : state) {
    ++target;  // one iteration is one completed read
    while (completed < target) io.run_one();
  }
  reissue = false;
  // The connections the reads used are all still open.
  const std::uint64_t connections_used = w.connections() - connections_before;
  while (outstanding > 0) io.run_one();  // the window drains
  if (failures > 0 || visitor.hits != completed)
    state.SkipWithError(fmt::format("{} failures, {} hits", failures, visitor.hits).c_str());
  state.SetItemsProcessed(state.iterations());
  state.counters["p50_us"] = percentile(latencies_us, 0.50);
  state.counters["p99_us"] = percentile(latencies_us, 0.99);
  state.counters["connections"] = static_cast<double>(connections_used);
  backend.reset();
  io.run_for(50ms);
}
BENCHMARK(BM_AsyncRead)
    ->ArgNames({"in_flight", "connections"})
    ->ArgsProduct({{1, 8, 64, 256}, {1, 2}})
    ->UseRealTime();

void BM_BlockingRead(benchmark::State& state) {
  World& w = world();
  CountingVisitor visitor;
  const std::string_view keys[] = {kKey};
  for (auto _ : state) w.blocking->visit_many(keys, visitor);
  if (visitor.hits != static_cast<std::size_t>(state.iterations()))
    state.SkipWithError("a read missed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BlockingRead)->Threads(1)->Threads(8)->Threads(16)->UseRealTime();

void BM_BlockingCacheHit(benchmark::State& state) {
  World& w = world();
  const gencache::NamespaceSet user = gencache::ns("user", 1);
  std::size_t hits = 0;
  for (auto _ : state) hits += w.cache.get("page", user).has_value() ? 1 : 0;
  if (hits != static_cast<std::size_t>(state.iterations())) state.SkipWithError("a hit missed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BlockingCacheHit)->Threads(1)->Threads(8)->Threads(16)->UseRealTime();

void BM_RawGet(benchmark::State& state) {
  World& w = world();
  const std::string config = fmt::format("--SERVER={} --TCP-NODELAY", w.server.address());
  memcached_st* memc = memcached(config.data(), config.size());
  std::size_t hits = 0;
  for (auto _ : state) {
    std::size_t length = 0;
    std::uint32_t flags = 0;
    memcached_return_t rc{};
    char* value = memcached_get(memc, kKey.data(), kKey.size(), &length, &flags, &rc);
    hits += value != nullptr && length == 512 ? 1 : 0;
    std::free(value);
  }
  memcached_free(memc);
  if (hits != static_cast<std::size_t>(state.iterations())) state.SkipWithError("a get missed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawGet)->UseRealTime();

}  // namespace

// The server starts here, on the main thread, before any benchmark runs: it dies with the
// thread that started it (PR_SET_PDEATHSIG, tests/support/server_process.cpp), and with
// the repetitions interleaved in random order a multi-threaded benchmark may run first,
// whose worker thread would start it and then exit (seen: "cannot connect to memcached").
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  world();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
