// The asynchronous Redis client's pipelining beside the blocking pool, in one run against
// one redis-server (persistence off) the program starts: reads of a 512 B value with 64
// in flight, as 64 requests on one pipelined connection (one event-loop thread), and as
// 1, 8, 16 and 64 threads each borrowing one of the blocking backend's 64 pooled
// connections.
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "gencache/redis_async_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "page_reads.hpp"
#include "support/redis_server.hpp"

namespace {

using namespace std::chrono_literals;

constexpr int kInFlight = 64;
constexpr std::string_view kKey = "page";

class CountingVisitor final : public gencache::ValueVisitor {
 public:
  void found(std::size_t, std::string_view value) noexcept override {
    if (value.size() == gencache::bench::kValueSize) hits.fetch_add(1, std::memory_order_relaxed);
  }
  std::atomic<long> hits{0};
};

struct World {
  gencache::test::RedisServer server;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(io);
  std::shared_ptr<gencache::AsyncBackend> async;
  std::shared_ptr<gencache::Backend> pool;
  std::thread loop;

  World() {
    gencache::RedisAsyncOptions async_options;
    async_options.server.port = server.port();
    async_options.server.io_timeout = 1s;
    async = gencache::make_redis_async_backend(io.get_executor(), async_options);
    gencache::RedisOptions pool_options;
    pool_options.port = server.port();
    pool_options.io_timeout = 1s;
    pool_options.pool_max = kInFlight;
    pool = gencache::make_redis_backend(pool_options);
    pool->set(kKey, gencache::bench::value_512(), 0ms);
    loop = std::thread([this] { io.run(); });
  }
  ~World() {
    async.reset();
    work.reset();
    loop.join();
  }
};

World& world() {
  static World instance;
  return instance;
}

void BM_AsyncPipelinedHits(benchmark::State& state) {
  World& w = world();
  const std::string_view keys[] = {kKey};
  CountingVisitor visitor;
  long expected = 0;
  for (auto _ : state) {
    std::promise<void> all_done;
    std::atomic<int> left{kInFlight};
    for (int i = 0; i < kInFlight; ++i)
      w.async->async_visit_many(keys, visitor, [&](std::exception_ptr failure) {
        if (failure) state.SkipWithError("an async read failed");
        if (left.fetch_sub(1) == 1) all_done.set_value();
      });
    all_done.get_future().wait();
    expected += kInFlight;
  }
  if (visitor.hits.load() != expected) state.SkipWithError("a read missed");
  state.SetItemsProcessed(state.iterations() * kInFlight);
}
BENCHMARK(BM_AsyncPipelinedHits)->UseRealTime();

void BM_BlockingPoolHits(benchmark::State& state) {
  World& w = world();
  const std::string_view keys[] = {kKey};
  CountingVisitor visitor;
  for (auto _ : state) w.pool->visit_many(keys, visitor);
  if (visitor.hits.load() != static_cast<long>(state.iterations()))
    state.SkipWithError("a read missed");
  state.SetItemsProcessed(state.iterations());
}
// 1, 8 and 16 threads as in meta_bench, and 64: as many threads as the async side has
// reads in flight.
BENCHMARK(BM_BlockingPoolHits)
    ->Threads(1)
    ->Threads(8)
    ->Threads(16)
    ->Threads(kInFlight)
    ->UseRealTime();

}  // namespace
