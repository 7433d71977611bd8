// Issue 6: never-silent invalidation (the bump outbox) and the circuit breaker.
#include <chrono>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/testing.hpp"
#include "support/memcached_server.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using testing::FaultInjectingBackend;
using testing::ManualClock;
using testing::Operation;

struct Rig {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::shared_ptr<FaultInjectingBackend> faulty = std::make_shared<FaultInjectingBackend>(
      std::make_shared<MemoryBackend>(MemoryOptions{.clock = clock}));
  std::vector<ErrorEvent> events;
  std::mutex mutex;
  Cache make(CacheOptions options = {}) {
    options.clock = clock;
    options.on_error = [this](const ErrorEvent& e) {
      std::lock_guard lock(mutex);
      events.push_back(ErrorEvent{e.operation, e.code, e.message});
    };
    return Cache(faulty, options);
  }
};

// ---- circuit breaker ----

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresAndThenSkipsTheBackend) {
  Rig rig;
  Cache cache = rig.make({.breaker = {.failure_threshold = 5, .cooldown = 1s}});
  rig.faulty->fail_always(true, errc::timeout);
  int computes = 0;
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(cache.cached("k", ns("u"), 1min, [&] { return ++computes; }), computes);
  const auto calls_when_open = rig.faulty->calls();
  EXPECT_EQ(cache.stats().breaker_opens, 1u);
  for (int i = 0; i < 100; ++i) cache.cached("k", ns("u"), 1min, [&] { return ++computes; });
  EXPECT_EQ(rig.faulty->calls(), calls_when_open) << "an open breaker does not call the backend";
  EXPECT_EQ(computes, 105) << "reads compute directly";
  EXPECT_EQ(cache.stats().breaker_rejections, 100u);
  EXPECT_EQ(cache.stats().errors, 5u) << "rejections are not counted as new failures";
}

TEST(CircuitBreaker, ProbesAfterTheCooldownAndClosesOnSuccess) {
  Rig rig;
  Cache cache = rig.make({.breaker = {.failure_threshold = 3, .cooldown = 1s}});
  rig.faulty->fail_always(true);
  for (int i = 0; i < 3; ++i) cache.get("k", ns("u"));
  ASSERT_EQ(cache.stats().breaker_opens, 1u);
  rig.faulty->fail_always(false);
  cache.set("k", ns("u"), std::string("v"), 1min);  // still open: skipped
  EXPECT_EQ(cache.get("k", ns("u")), std::nullopt);
  rig.clock->advance(1s);
  cache.set("k", ns("u"), std::string("v"), 1min);  // the probe
  EXPECT_EQ(cache.stats().breaker_closes, 1u);
  EXPECT_EQ(cache.get("k", ns("u")), "v");
}

TEST(CircuitBreaker, AFailedProbeKeepsItOpenForAnotherCooldown) {
  Rig rig;
  Cache cache = rig.make({.breaker = {.failure_threshold = 2, .cooldown = 1s}});
  rig.faulty->fail_always(true);
  cache.get("k", ns("u"));
  cache.get("k", ns("u"));
  rig.clock->advance(1s);
  const auto before = rig.faulty->calls();
  cache.get("k", ns("u"));  // probe fails
  cache.get("k", ns("u"));  // rejected
  EXPECT_EQ(rig.faulty->calls(), before + 1);
  EXPECT_EQ(cache.stats().breaker_closes, 0u);
}

TEST(CircuitBreaker, AnswersThatAreErrorsDoNotOpenIt) {
  Rig rig;
  Cache cache = rig.make({.breaker = {.failure_threshold = 2, .cooldown = 1s}});
  rig.faulty->fail_always(true, errc::value_too_large);
  for (int i = 0; i < 10; ++i) cache.get("k", ns("u"));
  EXPECT_EQ(cache.stats().breaker_opens, 0u);
}

TEST(CircuitBreaker, ABumpWhileOpenThrowsAtOnce) {
  Rig rig;
  Cache cache = rig.make({.breaker = {.failure_threshold = 1, .cooldown = 1min}});
  rig.faulty->fail_always(true);
  EXPECT_THROW(cache.bump_namespace(ns("u")), backend_error);
  try {
    cache.bump_namespace(ns("u"));
    ADD_FAILURE() << "bump did not throw";
  } catch (const backend_error& e) {
    EXPECT_EQ(e.code(), errc::circuit_open);
  }
}

TEST(CircuitBreaker, ABumpTheOpenBreakerRejectedIsCountedAndReachesTheHook) {
  Rig rig;
  Cache cache = rig.make({.breaker = {.failure_threshold = 1, .cooldown = 1min}});
  rig.faulty->fail_always(true);
  EXPECT_EQ(cache.get("k", ns("u")), std::nullopt);  // opens the breaker
  EXPECT_EQ(cache.get("k", ns("u")), std::nullopt);  // rejected: a rejection, not an error
  EXPECT_EQ(cache.stats().errors, 1u);
  EXPECT_THROW(cache.bump_namespace(ns("u")), backend_error);
  EXPECT_EQ(cache.stats().errors, 2u) << "an invalidation that did not happen is an error";
  ASSERT_EQ(rig.events.size(), 2u);
  EXPECT_EQ(rig.events[1].operation, "bump");
  EXPECT_EQ(rig.events[1].code, errc::circuit_open);
}

TEST(CircuitBreaker, CanBeTurnedOff) {
  Rig rig;
  Cache cache = rig.make({.breaker = {.failure_threshold = 0}});
  rig.faulty->fail_always(true);
  for (int i = 0; i < 50; ++i) cache.get("k", ns("u"));
  EXPECT_EQ(rig.faulty->calls(), 50u);
  EXPECT_EQ(cache.stats().breaker_opens, 0u);
}

TEST(CircuitBreaker, UnderAHungServerCallsStopPayingTheTimeoutOnceOpen) {
  test::MemcachedServer server;
  MemcachedOptions options;
  options.servers = {server.address()};
  options.io_timeout = 100ms;
  Cache cache(make_memcached_backend(options),
              CacheOptions{.breaker = {.failure_threshold = 3, .cooldown = 10s}});
  cache.cached("k", ns("u"), 1min, [] { return 1; });
  server.pause();
  using Clock = std::chrono::steady_clock;
  auto mean_of = [&](int n) {
    const auto started = Clock::now();
    for (int i = 0; i < n; ++i) EXPECT_EQ(cache.cached("k", ns("u"), 1min, [] { return 2; }), 2);
    return (Clock::now() - started) / n;
  };
  const auto while_closed = mean_of(3);  // each pays the I/O timeout
  const auto while_open = mean_of(50);
  server.resume();
  std::printf("[ breaker  ] mean added latency per call: %.1f ms closed, %.3f ms open\n",
              std::chrono::duration<double, std::milli>(while_closed).count(),
              std::chrono::duration<double, std::milli>(while_open).count());
  EXPECT_EQ(cache.stats().breaker_opens, 1u);
  // Bounds on promises, not speed targets: the timeout is paid while closed, not once open.
  EXPECT_GE(while_closed, 90ms);
  EXPECT_LT(while_open, 10ms);
}

// ---- bump outbox ----

TEST(BumpOutbox, AFailedBumpStillThrowsAndIsAppliedOnceTheBackendAnswers) {
  Rig rig;
  Cache cache = rig.make(
      {.breaker = {.failure_threshold = 0}, .outbox = {.enabled = true, .initial_backoff = 5ms}});
  const auto g0 = cache.generation(ns("u"));
  rig.faulty->fail_always(true);
  EXPECT_THROW(cache.bump_namespace(ns("u")), backend_error)
      << "never silent, even with the outbox";
  EXPECT_EQ(cache.stats().outbox_pending, 1u);
  EXPECT_FALSE(cache.flush_pending_bumps(50ms)) << "still down";
  rig.faulty->fail_always(false);
  EXPECT_TRUE(cache.flush_pending_bumps(5s));
  EXPECT_NE(cache.generation(ns("u")), g0);
  EXPECT_EQ(cache.stats().outbox_retried, 1u);
  EXPECT_EQ(cache.stats().outbox_pending, 0u);
}

TEST(BumpOutbox, RepeatedFailuresOfOneNamespaceNeedOneRetry) {
  Rig rig;
  Cache cache = rig.make({.breaker = {.failure_threshold = 0}, .outbox = {.enabled = true}});
  rig.faulty->fail_always(true);
  std::error_code ec;
  for (int i = 0; i < 10; ++i) cache.bump_namespace(ns("u"), ec);
  cache.bump_namespace(ns("v"), ec);
  EXPECT_EQ(cache.stats().outbox_pending, 2u);
  rig.faulty->fail_always(false);
  EXPECT_TRUE(cache.flush_pending_bumps(5s));
  EXPECT_EQ(cache.stats().outbox_retried, 2u);
}

TEST(BumpOutbox, OverflowIsReportedAndCounted) {
  Rig rig;
  Cache cache =
      rig.make({.breaker = {.failure_threshold = 0}, .outbox = {.enabled = true, .capacity = 2}});
  rig.faulty->fail_always(true);
  std::error_code ec;
  cache.bump_namespace(ns("a"), ec);
  cache.bump_namespace(ns("b"), ec);
  cache.bump_namespace(ns("c"), ec);
  EXPECT_EQ(cache.stats().outbox_overflows, 1u);
  EXPECT_EQ(cache.stats().outbox_pending, 2u);
  std::lock_guard lock(rig.mutex);
  bool reported = false;
  for (const auto& e : rig.events) reported = reported || e.code == errc::outbox_full;
  EXPECT_TRUE(reported);
}

TEST(BumpOutbox, OffByDefault) {
  Rig rig;
  Cache cache = rig.make();
  rig.faulty->fail_always(true);
  std::error_code ec;
  cache.bump_namespace(ns("a"), ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(cache.stats().outbox_pending, 0u);
  EXPECT_TRUE(cache.flush_pending_bumps(1ms));
}

// The scenario the outbox exists for: a server hangs while holding a namespace's counter
// and data; a write's bump fails; the server comes back with its old counter and old
// entries. Without a retry the old data would be served until its TTL.
class HungServerScenario : public ::testing::TestWithParam<bool> {};

TEST_P(HungServerScenario, OnceTheOutboxHasRunNoReadReturnsTheOldData) {
  const bool request_lost = GetParam();
  test::MemcachedServer server;
  MemcachedOptions options;
  options.servers = {server.address()};
  options.io_timeout = 100ms;
  options.retry_timeout = std::chrono::seconds(1);
  auto backend = make_memcached_backend(options);
  auto writer_side = std::make_shared<FaultInjectingBackend>(backend);
  Cache reader(backend);
  // A long backoff so the retry runs only when flushed: the test looks at the state in
  // between.
  Cache writer(writer_side,
               CacheOptions{.breaker = {.failure_threshold = 0},
                            .outbox = {.enabled = true, .initial_backoff = 1h, .max_backoff = 1h}});

  std::string data = "old";
  EXPECT_EQ(reader.cached("profile", ns("user", 42), 1h, [&] { return data; }), "old");
  server.pause();
  data = "new";  // the write commits...
  // ...and its bump fails: either the request is lost on the way (injected), or it times
  // out against the hung server (it may then still be applied when the server resumes).
  if (request_lost) writer_side->fail_next(Operation::increment, 1, errc::timeout);
  EXPECT_THROW(writer.bump_namespace(ns("user", 42)), backend_error);
  server.resume();
  std::this_thread::sleep_for(1100ms);  // past the retry interval
  if (request_lost) {
    // Without the retry the old counter and old entry are still there.
    EXPECT_EQ(reader.get("profile", ns("user", 42)), "old")
        << "the scenario reproduces the problem";
  }
  ASSERT_TRUE(writer.flush_pending_bumps(10s));
  EXPECT_EQ(reader.cached("profile", ns("user", 42), 1h, [&] { return data; }), "new");
  EXPECT_GE(writer.stats().outbox_retried, 1u);
}

INSTANTIATE_TEST_SUITE_P(Bump, HungServerScenario, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("RequestLost")
                                          : std::string("RequestTimedOut");
                         });

}  // namespace
}  // namespace gencache
