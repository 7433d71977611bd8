// AsyncCache's own promises, on memory:// (inline completions) wrapped in a
// FaultInjectingBackend: hits, misses, bumps, generations read before the compute,
// fail-open reads, loud bumps, single-flight and its cancellation, reserve/store. The
// behaviour over every backend kind and the timing tests are in async_io_test.cpp.
#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "gencache/async_cache.hpp"
#include "gencache/async_cached_call.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/testing.hpp"
#include "key_encoding.hpp"
#include "random.hpp"
#include "support/backend_kinds.hpp"

namespace gencache {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class AsyncCacheTest : public ::testing::Test {
 protected:
  asio::io_context io{1};
  std::shared_ptr<MemoryBackend> memory = std::make_shared<MemoryBackend>();
  std::shared_ptr<testing::FaultInjectingBackend> faulty =
      std::make_shared<testing::FaultInjectingBackend>(memory);
  AsyncCache cache{io.get_executor(), test::as_async_backend("memory", faulty),
                   CacheOptions{.breaker = {.failure_threshold = 0}}};

  // Runs `awaitable` on the test's io_context to completion.
  template <class T>
  T run(asio::awaitable<T> awaitable) {
    std::future<T> result = asio::co_spawn(io, std::move(awaitable), asio::use_future);
    io.restart();
    io.run_for(10s);
    return result.get();
  }
};

TEST_F(AsyncCacheTest, MissComputesOnceThenHits) {
  int computes = 0;
  auto read = [&]() -> asio::awaitable<int> {
    co_return co_await cache.async_cached(
        "k", ns("t"), 1min, [&] { return ++computes; }, asio::use_awaitable);
  };
  EXPECT_EQ(run(read()), 1);
  EXPECT_EQ(run(read()), 1);
  EXPECT_EQ(computes, 1);
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(cache.stats().misses, 1u);
}

TEST_F(AsyncCacheTest, AwaitableComputeIsAwaitedOnTheCachesExecutor) {
  const auto caller = std::this_thread::get_id();
  std::thread::id computed_on;
  const std::string value = run([&]() -> asio::awaitable<std::string> {
    co_return co_await cache.async_cached(
        "k", ns("t"), 1min,
        [&]() -> asio::awaitable<std::string> {
          computed_on = std::this_thread::get_id();
          asio::steady_timer timer(co_await asio::this_coro::executor, 1ms);
          co_await timer.async_wait(asio::use_awaitable);
          co_return std::string("rendered");
        },
        asio::use_awaitable);
  }());
  EXPECT_EQ(value, "rendered");
  EXPECT_EQ(computed_on, caller) << "compute runs where io.run() runs";
}

TEST_F(AsyncCacheTest, BumpMakesOldEntriesUnreachable) {
  int computes = 0;
  auto read = [&]() -> asio::awaitable<int> {
    co_return co_await cache.async_cached(
        "k", ns("user", 1), 1min, [&] { return ++computes; }, asio::use_awaitable);
  };
  EXPECT_EQ(run(read()), 1);
  run(cache.async_bump_namespace(ns("user", 1), asio::use_awaitable));
  EXPECT_EQ(run(read()), 2);
  EXPECT_EQ(run(cache.async_get<int>("k", ns("user", 1), asio::use_awaitable)), 2);
}

TEST_F(AsyncCacheTest, GenerationIsReadBeforeComputeAndTheValueStoredUnderIt) {
  // A bump during the compute: the value, computed from old data, must not be served.
  const int first = run([&]() -> asio::awaitable<int> {
    co_return co_await cache.async_cached(
        "k", ns("t"), 1min,
        [&]() -> asio::awaitable<int> {
          co_await cache.async_bump_namespace(ns("t"), asio::use_awaitable);
          co_return 1;
        },
        asio::use_awaitable);
  }());
  EXPECT_EQ(first, 1);
  EXPECT_EQ(run(cache.async_get<int>("k", ns("t"), asio::use_awaitable)), std::nullopt);
}

TEST_F(AsyncCacheTest, BackendFailureFailsOpenAndIsReported) {
  std::vector<std::error_code> reported;
  cache.set_error_hook([&](const ErrorEvent& e) { reported.push_back(e.code); });
  faulty->fail_always(true);
  const int value = run([&]() -> asio::awaitable<int> {
    co_return co_await cache.async_cached(
        "k", ns("t"), 1min, [] { return 7; }, asio::use_awaitable);
  }());
  EXPECT_EQ(value, 7) << "compute runs and its value is returned";
  EXPECT_EQ(run(cache.async_get<int>("k", ns("t"), asio::use_awaitable)), std::nullopt);
  run(cache.async_set("k", ns("t"), 8, 1min, asio::use_awaitable));  // no throw
  ASSERT_FALSE(reported.empty());
  EXPECT_EQ(reported.front(), errc::backend_unavailable);
  EXPECT_GE(cache.stats().errors, 3u);
}

TEST_F(AsyncCacheTest, FailedBumpIsAnErrorCodeWithRedirectErrorAndThrowsWithUseAwaitable) {
  faulty->fail_always(true, errc::timeout);
  const boost::system::error_code code = run([&]() -> asio::awaitable<boost::system::error_code> {
    boost::system::error_code ec;
    const std::uint64_t g =
        co_await cache.async_bump_namespace(ns("t"), asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_EQ(g, 0u);
    co_return ec;
  }());
  EXPECT_EQ(code, boost::system::error_code(make_error_code(errc::timeout)));
  EXPECT_THROW(run(cache.async_bump_namespace(ns("t"), asio::use_awaitable)),
               boost::system::system_error);
  EXPECT_EQ(cache.stats().bumps, 0u);
}

TEST_F(AsyncCacheTest, BumpRepairsAPoisonedCounter) {
  run(cache.async_generation(ns("t"), asio::use_awaitable));
  memory->set(detail::counter_key("", ns("t")), "garbage", 0ms);
  const std::uint64_t g = run(cache.async_bump_namespace(ns("t"), asio::use_awaitable));
  EXPECT_GE(g, std::uint64_t{1} << 32) << "a fresh value, never 0 or 1";
  EXPECT_EQ(run(cache.async_generation(ns("t"), asio::use_awaitable)), g);
}

TEST_F(AsyncCacheTest, ConcurrentMissesComputeOnceAndEveryWaiterGetsTheResult) {
  constexpr int kHerd = 100;
  int computes = 0;
  int served = 0;
  for (int i = 0; i < kHerd; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          const std::string value = co_await cache.async_cached(
              "hot", ns("h"), 1min,
              [&]() -> asio::awaitable<std::string> {
                ++computes;
                asio::steady_timer work(co_await asio::this_coro::executor, 20ms);
                co_await work.async_wait(asio::use_awaitable);
                co_return std::string("one");
              },
              asio::use_awaitable);
          served += value == "one";
        },
        asio::detached);
  }
  io.run_for(10s);
  EXPECT_EQ(computes, 1);
  EXPECT_EQ(served, kHerd);
  EXPECT_EQ(cache.stats().coalesced, static_cast<std::uint64_t>(kHerd - 1));
}

TEST_F(AsyncCacheTest, CancelledWaiterLeavesAndTheOthersStillGetTheResult) {
  asio::cancellation_signal cancel;
  std::string leader_got;
  std::string other_got;
  std::exception_ptr cancelled_got;
  auto slow = [&]() -> asio::awaitable<std::string> {
    asio::steady_timer work(co_await asio::this_coro::executor, 50ms);
    co_await work.async_wait(asio::use_awaitable);
    co_return std::string("value");
  };
  auto read = [&](std::string& into) -> asio::awaitable<void> {
    into = co_await cache.async_cached("k", ns("c"), 1min, slow, asio::use_awaitable);
  };
  asio::co_spawn(io, read(leader_got), asio::detached);
  cache.async_cached(
      "k", ns("c"), 1min, slow,
      asio::bind_cancellation_slot(cancel.slot(),
                                   [&](std::exception_ptr e, std::string) { cancelled_got = e; }));
  asio::co_spawn(io, read(other_got), asio::detached);
  io.run_for(10ms);  // all three are in: one computing, two waiting
  cancel.emit(asio::cancellation_type::terminal);
  io.run_for(5s);
  EXPECT_EQ(leader_got, "value");
  EXPECT_EQ(other_got, "value") << "the other waiter is not disturbed";
  ASSERT_TRUE(cancelled_got);
  try {
    std::rethrow_exception(cancelled_got);
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::operation_aborted);
  }
}

TEST_F(AsyncCacheTest, AFailingComputeFailsEveryWaiter) {
  int failed = 0;
  int computes = 0;
  for (int i = 0; i < 20; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          try {
            co_await cache.async_cached(
                "k", ns("f"), 1min,
                [&]() -> asio::awaitable<int> {
                  ++computes;
                  asio::steady_timer work(co_await asio::this_coro::executor, 10ms);
                  co_await work.async_wait(asio::use_awaitable);
                  throw std::runtime_error("database down");
                },
                asio::use_awaitable);
          } catch (const std::runtime_error&) {
            ++failed;
          }
        },
        asio::detached);
  }
  io.run_for(5s);
  EXPECT_EQ(computes, 1);
  EXPECT_EQ(failed, 20);
}

TEST_F(AsyncCacheTest, BumpBetweenReserveAndStoreNeverLetsTheOldValueBeServed) {
  const Ticket ticket = run(cache.async_reserve("profile", ns("u"), asio::use_awaitable));
  ASSERT_TRUE(ticket.valid());
  run(cache.async_bump_namespace(ns("u"), asio::use_awaitable));
  run(cache.async_store(ticket, std::string("old"), 1min, asio::use_awaitable));
  EXPECT_EQ(run(cache.async_get("profile", ns("u"), asio::use_awaitable)), std::nullopt);
  const Ticket fresh = run(cache.async_reserve("profile", ns("u"), asio::use_awaitable));
  run(cache.async_store(fresh, std::string("new"), 1min, asio::use_awaitable));
  EXPECT_EQ(run(cache.async_get("profile", ns("u"), asio::use_awaitable)), "new");
}

TEST_F(AsyncCacheTest, PerCallOptionsAreCheckedWhereTheyEnter) {
  EXPECT_THROW(cache.async_cached(
                   "k", NamespaceSet(ns("t")), 1min, [] { return 1; },
                   CallOptions{.lease = true, .lease_ttl = 0ms}, asio::use_future),
               config_error);
  EXPECT_THROW(cache.async_cached(
                   "k", ns("t"), 0s, [] { return 1; }, asio::use_future),
               config_error);
}

TEST_F(AsyncCacheTest, BlockingAndAsyncCachesInOneProcessCoalesce) {
  // On the same storage object as the AsyncCache (the wrapper): a Cache directly on the
  // MemoryBackend would take memory://'s in-process path, whose entries and flight keys
  // are its own (AsyncCacheAndCacheOnOneMemoryBackendShareEntriesAndFlights below).
  Cache blocking(faulty, CacheOptions{.breaker = {.failure_threshold = 0}});
  // Warm both caches' hints so both read the same versioned key at once.
  blocking.generation(ns("s"));
  std::atomic<int> computes{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread blocking_caller([&] {
    blocking.cached("k", ns("s"), 1min, [&] {
      ++computes;
      released.wait();
      return std::string("from blocking");
    });
  });
  while (computes.load() == 0) std::this_thread::sleep_for(1ms);  // the blocking one leads
  std::string async_got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        async_got = co_await cache.async_cached(
            "k", ns("s"), 1min,
            [&] {
              ++computes;
              return std::string("from async");
            },
            asio::use_awaitable);
      },
      asio::detached);
  io.run_for(20ms);  // the coroutine is waiting on the blocking leader's flight
  release.set_value();
  blocking_caller.join();
  io.run_for(5s);
  EXPECT_EQ(computes.load(), 1);
  EXPECT_EQ(async_got, "from blocking");
}

TEST(AsyncCacheInProcess, AsyncCacheAndCacheOnOneMemoryBackendShareEntriesAndFlights) {
  asio::io_context io{1};
  auto memory = std::make_shared<MemoryBackend>();
  AsyncCache async_cache(io.get_executor(), memory);
  Cache blocking(memory);
  auto run = [&io](auto awaitable) {
    auto future = asio::co_spawn(io, std::move(awaitable), asio::use_future);
    io.restart();
    io.run_for(10s);
    return future.get();
  };
  blocking.set("profile", ns("user", 7), std::string("from blocking"), 1min);
  EXPECT_EQ(run(async_cache.async_get<std::string>("profile", ns("user", 7), asio::use_awaitable)),
            "from blocking");
  run(async_cache.async_bump_namespace(ns("user", 7), asio::use_awaitable));
  EXPECT_EQ(blocking.get("profile", ns("user", 7)), std::nullopt);
  run(async_cache.async_set("profile", ns("user", 7), std::string("from async"), 1min,
                            asio::use_awaitable));
  EXPECT_EQ(blocking.get("profile", ns("user", 7)), "from async");

  // A miss of each at once computes once.
  std::atomic<int> computes{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread blocking_caller([&] {
    blocking.cached("k", ns("s"), 1min, [&] {
      ++computes;
      released.wait();
      return std::string("from blocking");
    });
  });
  while (computes.load() == 0) std::this_thread::sleep_for(1ms);
  std::string async_got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        async_got = co_await async_cache.async_cached(
            "k", ns("s"), 1min,
            [&] {
              ++computes;
              return std::string("from async");
            },
            asio::use_awaitable);
      },
      asio::detached);
  io.restart();
  io.run_for(20ms);
  release.set_value();
  blocking_caller.join();
  io.run_for(5s);
  EXPECT_EQ(computes.load(), 1);
  EXPECT_EQ(async_got, "from blocking");
}

TEST(AsyncCacheFreshness, StaleWhileRevalidateServesTheOldValueAndRefreshesOnTheExecutor) {
  asio::io_context io{1};
  auto clock = std::make_shared<testing::ManualClock>();
  auto memory = std::make_shared<MemoryBackend>(MemoryOptions{.clock = clock});
  AsyncCache cache(io.get_executor(), memory,
                   CacheOptions{.clock = clock,
                                .call = {.early_refresh_beta = 0, .stale_while_revalidate = 1min}});
  int computes = 0;
  auto read = [&]() -> std::string {
    std::future<std::string> value =
        asio::co_spawn(io,
                       cache.async_cached(
                           "k", ns("s"), 10s, [&] { return "v" + std::to_string(++computes); },
                           asio::use_awaitable),
                       asio::use_future);
    io.restart();
    io.run_for(5s);
    return value.get();
  };
  EXPECT_EQ(read(), "v1");
  clock->advance(15s);  // past the TTL, within stale_while_revalidate
  EXPECT_EQ(read(), "v1") << "the stale value at once";
  EXPECT_EQ(computes, 2) << "the refresh ran on the executor";
  EXPECT_EQ(read(), "v2") << "and its value is what the next read gets";
  EXPECT_GE(cache.stats().stale_served, 1u);
}

TEST(AsyncCacheFreshness, StaleIfErrorServesTheOldValueWhenComputeThrows) {
  asio::io_context io{1};
  auto clock = std::make_shared<testing::ManualClock>();
  auto memory = std::make_shared<MemoryBackend>(MemoryOptions{.clock = clock});
  AsyncCache cache(
      io.get_executor(), memory,
      CacheOptions{.clock = clock, .call = {.early_refresh_beta = 0, .stale_if_error = 1min}});
  bool fail = false;
  auto read = [&]() -> std::string {
    std::future<std::string> value = asio::co_spawn(io,
                                                    cache.async_cached(
                                                        "k", ns("s"), 10s,
                                                        [&]() -> std::string {
                                                          if (fail)
                                                            throw std::runtime_error("down");
                                                          return "fresh";
                                                        },
                                                        asio::use_awaitable),
                                                    asio::use_future);
    io.restart();
    io.run_for(5s);
    return value.get();
  };
  EXPECT_EQ(read(), "fresh");
  clock->advance(30s);
  fail = true;
  EXPECT_EQ(read(), "fresh") << "within stale_if_error the old value stands in";
  clock->advance(2min);
  EXPECT_THROW(read(), std::runtime_error) << "past it, compute's exception reaches the caller";
}

TEST(AsyncCacheLease, AWaiterInAnotherCacheGetsTheLeaseHoldersValueOnATimer) {
  asio::io_context io{1};
  auto memory = std::make_shared<MemoryBackend>();
  // Single-flight off, so that the two caches meet only through the lease, as two
  // processes would.
  const CallOptions leased{.single_flight = false, .lease = true, .lease_wait = 2s};
  AsyncCache holder(io.get_executor(), memory, CacheOptions{.call = leased});
  AsyncCache waiter(io.get_executor(), memory, CacheOptions{.call = leased});
  int computes = 0;
  auto slow = [&]() -> asio::awaitable<std::string> {
    ++computes;
    asio::steady_timer work(co_await asio::this_coro::executor, 30ms);
    co_await work.async_wait(asio::use_awaitable);
    co_return std::string("from the holder");
  };
  std::string holder_got;
  std::string waiter_got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        holder_got = co_await holder.async_cached("k", ns("l"), 1min, slow, asio::use_awaitable);
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        waiter_got = co_await waiter.async_cached("k", ns("l"), 1min, slow, asio::use_awaitable);
      },
      asio::detached);
  io.run_for(5s);
  EXPECT_EQ(holder_got, "from the holder");
  EXPECT_EQ(waiter_got, "from the holder");
  EXPECT_EQ(computes, 1);
  EXPECT_EQ(waiter.stats().lease_waits, 1u);
}

TEST_F(AsyncCacheTest, ComputeAwaitingItsOwnEntryFailsWithAClearErrorInsteadOfWaitingForever) {
  std::string inner_error;
  auto outer = [&]() -> asio::awaitable<int> {
    try {
      co_return co_await cache.async_cached(
          "k", ns("self"), 1min, [] { return 1; }, asio::use_awaitable);
    } catch (const error& e) {
      inner_error = e.what();
      throw;
    }
  };
  auto read = [&]() -> asio::awaitable<int> {
    co_return co_await cache.async_cached("k", ns("self"), 1min, outer, asio::use_awaitable);
  };
  std::future<int> result = asio::co_spawn(io, read(), asio::use_future);
  io.run_for(5s);
  ASSERT_EQ(result.wait_for(0s), std::future_status::ready) << "the nested call waited for itself";
  EXPECT_THROW(result.get(), error);
  EXPECT_NE(inner_error.find("same entry"), std::string::npos) << inner_error;
  EXPECT_EQ(run(cache.async_cached(
                "k", ns("self"), 1min, [] { return 2; }, asio::use_awaitable)),
            2)
      << "the entry still works";
}

TEST_F(AsyncCacheTest, ConcurrentCallersOfOneEntryAreNotMistakenForTheLeadersOwnCall) {
  // Waiters in other coroutines join the leader's flight: only the compute's own nested
  // call is refused.
  int computes = 0;
  std::vector<std::future<int>> results;
  for (int i = 0; i < 3; ++i) {
    results.push_back(asio::co_spawn(io,
                                     cache.async_cached(
                                         "k", ns("many"), 1min,
                                         [&]() -> asio::awaitable<int> {
                                           ++computes;
                                           asio::steady_timer timer(
                                               co_await asio::this_coro::executor, 10ms);
                                           co_await timer.async_wait(asio::use_awaitable);
                                           co_return 5;
                                         },
                                         asio::use_awaitable),
                                     asio::use_future));
  }
  io.run_for(5s);
  for (auto& result : results) EXPECT_EQ(result.get(), 5);
  EXPECT_EQ(computes, 1);
}

struct Request {
  int user = 0;
  std::string path;
};

TEST_F(AsyncCacheTest, AsyncCachedCallWrapsAnAwaitableHandler) {
  int renders = 0;
  auto dashboard = async_cached_call(
      cache, [](const Request& r) { return r.path; },
      [](const Request& r) { return ns("user", r.user); }, 10min,
      [&](const Request& r) -> asio::awaitable<std::string> {
        ++renders;
        co_return "page " + r.path;
      });
  const Request request{42, "/dashboard?page=2"};
  EXPECT_EQ(run(dashboard(request)), "page /dashboard?page=2");
  EXPECT_EQ(run(dashboard(request)), "page /dashboard?page=2");
  EXPECT_EQ(renders, 1);
  run(cache.async_bump_namespace(ns("user", 42), asio::use_awaitable));
  run(dashboard(request));
  EXPECT_EQ(renders, 2) << "a bump of the handler's namespace reaches the wrapper";
  EXPECT_THROW(async_cached_call(
                   cache, [](const Request& r) { return r.path; },
                   [](const Request& r) { return ns("user", r.user); }, 10min,
                   [](const Request&) { return 1; }, CallOptions{.lease_ttl = 0ms}),
               config_error);
}

// ---- the circuit breaker and the bump outbox, as for Cache (resilience_test.cpp) ----

// An AsyncCache over a fault-injecting backend (through the blocking bridge) with a clock the
// test moves, and CacheOptions of the test's choosing.
struct AsyncResilienceRig {
  asio::io_context io{1};
  std::shared_ptr<testing::ManualClock> clock = std::make_shared<testing::ManualClock>();
  std::shared_ptr<testing::FaultInjectingBackend> faulty =
      std::make_shared<testing::FaultInjectingBackend>(
          std::make_shared<MemoryBackend>(MemoryOptions{.clock = clock}));
  std::vector<ErrorEvent> events;
  std::mutex mutex;

  AsyncCache make(CacheOptions options) {
    options.clock = clock;
    options.on_error = [this](const ErrorEvent& e) {
      std::lock_guard lock(mutex);
      events.push_back(ErrorEvent{e.operation, e.code, e.message});
    };
    return AsyncCache(io.get_executor(), test::as_async_backend("memory", faulty), options);
  }

  template <class T>
  T run(asio::awaitable<T> awaitable) {
    std::future<T> result = asio::co_spawn(io, std::move(awaitable), asio::use_future);
    io.restart();
    io.run_for(10s);
    return result.get();
  }
};

TEST(AsyncCircuitBreaker, OpensAfterConsecutiveFailuresAndThenReadsComputeWithoutTheBackend) {
  AsyncResilienceRig rig;
  AsyncCache cache = rig.make({.breaker = {.failure_threshold = 5, .cooldown = 1s}});
  rig.faulty->fail_always(true, errc::timeout);
  int computes = 0;
  auto read = [&]() -> asio::awaitable<int> {
    co_return co_await cache.async_cached(
        "k", ns("u"), 1min, [&] { return ++computes; }, asio::use_awaitable);
  };
  for (int i = 0; i < 5; ++i) EXPECT_EQ(rig.run(read()), computes);
  EXPECT_EQ(cache.stats().breaker_opens, 1u);
  const auto calls_when_open = rig.faulty->calls();
  for (int i = 0; i < 100; ++i) rig.run(read());
  EXPECT_EQ(rig.faulty->calls(), calls_when_open) << "an open breaker does not call the backend";
  EXPECT_EQ(computes, 105) << "reads compute directly";
  EXPECT_EQ(cache.stats().breaker_rejections, 100u);
  EXPECT_EQ(cache.stats().errors, 5u) << "rejections are not counted as new failures";
}

TEST(AsyncCircuitBreaker, SkipsWritesWhileOpenThenProbesAfterTheCooldownAndCloses) {
  AsyncResilienceRig rig;
  AsyncCache cache = rig.make({.breaker = {.failure_threshold = 3, .cooldown = 1s}});
  rig.faulty->fail_always(true);
  for (int i = 0; i < 3; ++i) rig.run(cache.async_get("k", ns("u"), asio::use_awaitable));
  ASSERT_EQ(cache.stats().breaker_opens, 1u);
  rig.faulty->fail_always(false);
  rig.run(cache.async_set("k", ns("u"), std::string("v"), 1min, asio::use_awaitable));
  EXPECT_EQ(rig.run(cache.async_get("k", ns("u"), asio::use_awaitable)), std::nullopt)
      << "the write while open was skipped";
  rig.clock->advance(1s);
  rig.run(cache.async_set("k", ns("u"), std::string("v"), 1min, asio::use_awaitable));  // probe
  EXPECT_EQ(cache.stats().breaker_closes, 1u);
  EXPECT_EQ(rig.run(cache.async_get("k", ns("u"), asio::use_awaitable)), "v");
}

TEST(AsyncCircuitBreaker, AFailedProbeKeepsItOpenForAnotherCooldown) {
  AsyncResilienceRig rig;
  AsyncCache cache = rig.make({.breaker = {.failure_threshold = 2, .cooldown = 1s}});
  rig.faulty->fail_always(true);
  rig.run(cache.async_get("k", ns("u"), asio::use_awaitable));
  rig.run(cache.async_get("k", ns("u"), asio::use_awaitable));
  rig.clock->advance(1s);
  const auto before = rig.faulty->calls();
  rig.run(cache.async_get("k", ns("u"), asio::use_awaitable));  // the probe fails
  rig.run(cache.async_get("k", ns("u"), asio::use_awaitable));  // rejected
  EXPECT_EQ(rig.faulty->calls(), before + 1);
  EXPECT_EQ(cache.stats().breaker_closes, 0u);
}

TEST(AsyncCircuitBreaker, ABumpWhileOpenFailsAtOnceWithCircuitOpenAndReachesTheHook) {
  AsyncResilienceRig rig;
  AsyncCache cache = rig.make({.breaker = {.failure_threshold = 1, .cooldown = 1min}});
  rig.faulty->fail_always(true);
  EXPECT_EQ(rig.run(cache.async_get("k", ns("u"), asio::use_awaitable)), std::nullopt);  // opens
  const auto calls_when_open = rig.faulty->calls();
  const boost::system::error_code code =
      rig.run([&]() -> asio::awaitable<boost::system::error_code> {
        boost::system::error_code ec;
        co_await cache.async_bump_namespace(ns("u"), asio::redirect_error(asio::use_awaitable, ec));
        co_return ec;
      }());
  EXPECT_EQ(code, boost::system::error_code(make_error_code(errc::circuit_open)));
  EXPECT_EQ(rig.faulty->calls(), calls_when_open);
  EXPECT_EQ(cache.stats().errors, 2u) << "an invalidation that did not happen is an error";
  ASSERT_EQ(rig.events.size(), 2u);
  EXPECT_EQ(rig.events[1].operation, "bump");
  EXPECT_EQ(rig.events[1].code, errc::circuit_open);
}

TEST(AsyncBumpOutbox, ABumpFailingWhileTheBackendIsDownIsAppliedOnceItIsBack) {
  AsyncResilienceRig rig;
  AsyncCache cache = rig.make(
      {.breaker = {.failure_threshold = 0}, .outbox = {.enabled = true, .initial_backoff = 5ms}});
  const std::uint64_t g0 = rig.run(cache.async_generation(ns("u"), asio::use_awaitable));
  rig.run(cache.async_set("k", ns("u"), std::string("old"), 1min, asio::use_awaitable));
  rig.faulty->fail_always(true);
  EXPECT_THROW(rig.run(cache.async_bump_namespace(ns("u"), asio::use_awaitable)),
               boost::system::system_error)
      << "never silent, even with the outbox";
  EXPECT_EQ(cache.stats().outbox_pending, 1u);
  EXPECT_FALSE(cache.flush_pending_bumps(50ms)) << "still down";
  rig.faulty->fail_always(false);
  EXPECT_TRUE(cache.flush_pending_bumps(5s));
  EXPECT_NE(rig.run(cache.async_generation(ns("u"), asio::use_awaitable)), g0);
  EXPECT_EQ(rig.run(cache.async_get("k", ns("u"), asio::use_awaitable)), std::nullopt)
      << "the retried bump invalidated the entry";
  EXPECT_EQ(cache.stats().outbox_retried, 1u);
  EXPECT_EQ(cache.stats().outbox_pending, 0u);
}

TEST(AsyncBumpOutbox, FailedBumpsOfBumpNamespacesAreQueuedOncePerNamespace) {
  AsyncResilienceRig rig;
  AsyncCache cache = rig.make({.breaker = {.failure_threshold = 0}, .outbox = {.enabled = true}});
  rig.faulty->fail_always(true);
  const std::vector<Namespace> both{ns("u"), ns("v")};
  for (int i = 0; i < 3; ++i) {
    const boost::system::error_code code =
        rig.run([&]() -> asio::awaitable<boost::system::error_code> {
          boost::system::error_code ec;
          co_await cache.async_bump_namespaces(both, asio::redirect_error(asio::use_awaitable, ec));
          co_return ec;
        }());
    EXPECT_TRUE(code.failed());
  }
  EXPECT_EQ(cache.stats().outbox_pending, 2u);
  rig.faulty->fail_always(false);
  EXPECT_TRUE(cache.flush_pending_bumps(5s));
  EXPECT_EQ(cache.stats().outbox_retried, 2u);
}

TEST(AsyncBumpOutbox, WithoutTheOutboxFlushReturnsAtOnceAndNothingIsQueued) {
  AsyncResilienceRig rig;
  AsyncCache cache = rig.make({.breaker = {.failure_threshold = 0}});
  rig.faulty->fail_always(true);
  EXPECT_THROW(rig.run(cache.async_bump_namespace(ns("u"), asio::use_awaitable)),
               boost::system::system_error);
  EXPECT_EQ(cache.stats().outbox_pending, 0u);
  EXPECT_TRUE(cache.flush_pending_bumps(0ms));
}

// ---- async_bump_namespaces in one round trip ----

// Forwards to a MemoryBackend's async calls without being one, so AsyncCache drives it
// through the AsyncBackend interface (not in place), and counts batch increments.
class ForwardingAsyncBackend final : public AsyncBackend {
 public:
  explicit ForwardingAsyncBackend(std::shared_ptr<MemoryBackend> memory)
      : memory_(std::move(memory)) {}
  void async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                        handler<void(std::exception_ptr)> done) override {
    memory_->async_visit_many(keys, visitor, std::move(done));
  }
  void async_set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr)> done) override {
    memory_->async_set(key, value, ttl, std::move(done));
  }
  void async_add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr, bool)> done) override {
    memory_->async_add(key, value, ttl, std::move(done));
  }
  void async_remove(std::string_view key, handler<void(std::exception_ptr, bool)> done) override {
    memory_->async_remove(key, std::move(done));
  }
  void async_increment(
      std::string_view key, std::uint64_t delta,
      handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) override {
    ++increments;
    memory_->async_increment(key, delta, std::move(done));
  }
  void async_increment_many(
      std::span<const std::string_view> keys, std::uint64_t delta,
      handler<void(std::exception_ptr, std::vector<CounterIncrement>)> done) override {
    ++batches;
    memory_->async_increment_many(keys, delta, std::move(done));
  }
  bool batches_async_increments() const noexcept override { return true; }
  void async_create_counter(std::string_view key, std::uint64_t initial,
                            std::chrono::milliseconds ttl,
                            handler<void(std::exception_ptr, bool)> done) override {
    memory_->async_create_counter(key, initial, ttl, std::move(done));
  }
  std::size_t max_value_size() const noexcept override { return memory_->max_value_size(); }
  std::string describe() const override { return "forwarding " + memory_->describe(); }

  std::atomic<int> increments{0};
  std::atomic<int> batches{0};

 private:
  std::shared_ptr<MemoryBackend> memory_;
};

// Bumps three warm namespaces and checks it took one round trip and invalidated each.
void expect_one_round_trip_bump_of_three(AsyncResilienceRig& rig, AsyncCache& cache) {
  const std::vector<Namespace> three{ns("a"), ns("b"), ns("c")};
  std::vector<std::uint64_t> before;
  for (const Namespace& n : three) {
    before.push_back(rig.run(cache.async_generation(n, asio::use_awaitable)));
    rig.run(cache.async_set("k", n, std::string("old"), 1min, asio::use_awaitable));
  }
  const auto trips_before = cache.stats().round_trips;
  const std::vector<std::uint64_t> after =
      rig.run(cache.async_bump_namespaces(three, asio::use_awaitable));
  EXPECT_EQ(cache.stats().round_trips - trips_before, 1u);
  ASSERT_EQ(after.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NE(after[i], before[i]);
    EXPECT_EQ(rig.run(cache.async_get("k", three[i], asio::use_awaitable)), std::nullopt);
  }
  EXPECT_EQ(cache.stats().bumps, 3u);
}

TEST(AsyncBumpNamespaces, ThreeWarmNamespacesOnMemoryAreOneRoundTrip) {
  AsyncResilienceRig rig;
  AsyncCache cache(rig.io.get_executor(), std::make_shared<MemoryBackend>());
  expect_one_round_trip_bump_of_three(rig, cache);
}

TEST(AsyncBumpNamespaces, ABatchingAsyncBackendGetsOneAsyncIncrementManyForAllOfThem) {
  AsyncResilienceRig rig;
  auto forwarding = std::make_shared<ForwardingAsyncBackend>(std::make_shared<MemoryBackend>());
  AsyncCache cache(rig.io.get_executor(), forwarding);
  expect_one_round_trip_bump_of_three(rig, cache);
  EXPECT_EQ(forwarding->batches.load(), 1);
  EXPECT_EQ(forwarding->increments.load(), 0);
}

TEST(AsyncBumpNamespaces, AbsentCountersAreCreatedFreshByTheOneNamespaceBump) {
  AsyncResilienceRig rig;
  auto forwarding = std::make_shared<ForwardingAsyncBackend>(std::make_shared<MemoryBackend>());
  AsyncCache cache(rig.io.get_executor(), forwarding);
  const std::vector<Namespace> two{ns("new1"), ns("new2")};
  const std::vector<std::uint64_t> generations =
      rig.run(cache.async_bump_namespaces(two, asio::use_awaitable));
  for (const std::uint64_t g : generations) {
    EXPECT_GE(g, detail::min_fresh_generation) << "a fresh value, never 0 or 1";
    EXPECT_LT(g, detail::max_fresh_generation);
  }
}

TEST(AsyncBumpNamespaces, TheDefaultAsyncIncrementManyIncrementsEachKeyAndGoesOnPastFailures) {
  AsyncResilienceRig rig;
  auto bridge = test::as_async_backend("memory", rig.faulty);
  rig.faulty->set("c1", "5", 0ms);
  rig.faulty->set("c3", "7", 0ms);
  rig.faulty->fail_next(testing::Operation::increment, 1);  // the first key's increment
  const std::vector<std::string_view> keys{"c0", "c1", "c2", "c3"};
  std::promise<std::vector<CounterIncrement>> got;
  bridge->async_increment_many(keys, 1,
                               [&](std::exception_ptr failure, std::vector<CounterIncrement> r) {
                                 EXPECT_FALSE(failure);
                                 got.set_value(std::move(r));
                               });
  const std::vector<CounterIncrement> results = got.get_future().get();
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[0].failure) << "c0's increment was made to fail";
  EXPECT_EQ(results[1].value, 6u);
  EXPECT_EQ(results[2].value, std::nullopt) << "absent, not created";
  EXPECT_FALSE(results[2].failure);
  EXPECT_EQ(results[3].value, 8u);
}

}  // namespace
}  // namespace gencache
