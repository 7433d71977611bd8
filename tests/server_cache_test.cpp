// The Cache on a real server, Memcached and Redis alike, under the failures every
// deployment sees: a restart and a hung server. Promise 1 is checked by the stale-read
// oracle; promise 4 by bounding how long calls take while the server is down or hung.
// What only one server has (a cluster, eviction policies, wire-level command counts) is
// in memcached_cache_test and redis_cache_test.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/testing.hpp"
#include "support/backend_kinds.hpp"
#include "support/stale_read_oracle.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::kCacheCallBound;

// True once a value written through `cache` is read back as a hit, polling for at most `limit`.
bool serves_again_within(Cache& cache, Clock::duration limit) {
  const auto deadline = Clock::now() + limit;
  for (int attempt = 0; Clock::now() < deadline; ++attempt) {
    const std::string key = "recovery-probe-" + std::to_string(attempt);
    cache.cached(key, ns("p"), 1min, [] { return 1; });
    if (cache.get<int>(key, ns("p")) == 1) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

class ServerCache : public ::testing::TestWithParam<std::string> {
 protected:
  // Started here, on the test's own thread, which the fixtures require of whoever stops,
  // restarts or pauses the server.
  std::unique_ptr<test::TestServer> server = test::start_server(GetParam());
};

TEST_P(ServerCache, RestartMidRunComputesWhileDownAndReadsNothingStaleAfter) {
  auto backend = server->connect({.timeouts = test::kFailureTimeouts});
  Cache readers(backend), writers(backend);
  test::OracleConfig config;
  config.reads_per_reader = 4000;
  test::OracleResult result;
  std::thread oracle([&] { result = test::run_stale_read_oracle(readers, writers, config); });
  std::this_thread::sleep_for(150ms);
  server->stop();
  Clock::duration slowest_while_down{0};
  for (int i = 0; i < 20; ++i) {
    const auto started = Clock::now();
    EXPECT_EQ(readers.cached("probe", ns("p"), 1min, [] { return 1; }), 1) << "fail-open computes";
    slowest_while_down = std::max(slowest_while_down, Clock::now() - started);
  }
  std::this_thread::sleep_for(200ms);
  server->start();
  oracle.join();
  test::print_oracle_result("restart", result, readers.stats());
  EXPECT_EQ(result.stale_reads, 0u);
  EXPECT_LT(slowest_while_down, kCacheCallBound);
  EXPECT_GT(readers.stats().errors, 0u) << "the restart must have been seen";
  // After the restart the cache serves again, once the circuit breaker's cool-down (and,
  // for Memcached, the backend's 1 s retry interval) is over.
  EXPECT_TRUE(serves_again_within(readers, 5s));
}

TEST_P(ServerCache, HungServerCallsReturnWithinTheTimeoutAndRecoverAfterResume) {
  Cache cache(server->connect({.timeouts = test::kFailureTimeouts}));
  cache.cached("k", ns("u"), 1min, [] { return 1; });
  server->pause();
  for (int i = 0; i < 5; ++i) {
    const auto started = Clock::now();
    EXPECT_EQ(cache.cached("k", ns("u"), 1min, [] { return 2; }), 2) << "fail-open computes";
    EXPECT_LT(Clock::now() - started, kCacheCallBound);
  }
  const auto started = Clock::now();
  EXPECT_THROW(cache.bump_namespace(ns("u")), backend_error);
  EXPECT_LT(Clock::now() - started, kCacheCallBound);
  server->resume();
  ASSERT_TRUE(serves_again_within(cache, 5s));
  // The timed-out increment may already have been on the wire: the resumed server may
  // apply it, so the entry may or may not have been invalidated. Either way, the cache
  // serves again.
  const int after_resume = cache.cached("k", ns("u"), 1min, [] { return 3; });
  EXPECT_TRUE(after_resume == 1 || after_resume == 3) << after_resume;
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, [] { return 4; }), after_resume) << "a hit again";
  EXPECT_NO_THROW(cache.bump_namespace(ns("u")));
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, [] { return 5; }), 5);
}

TEST_P(ServerCache, SixtyDayTtlEntryIsStoredAndReadable) {
  Cache cache(server->connect({.timeouts = test::kFailureTimeouts}));
  cache.cached("long-lived", ns("u"), std::chrono::hours(24 * 60),
               [] { return std::string("kept"); });
  EXPECT_EQ(cache.get("long-lived", ns("u")), "kept");
  EXPECT_EQ(cache.stats().errors, 0u);
}

TEST_P(ServerCache, SteadyStateReadIsOneRoundTripOnTheWire) {
  auto counting = std::make_shared<testing::FaultInjectingBackend>(
      server->connect({.timeouts = test::kFailureTimeouts}));
  Cache cache(counting);
  Cache other(counting);
  const NamespaceSet deps{ns("user", 1), ns("org", 1), ns("catalog")};
  cache.cached("dash", deps, 1min, [] { return 1; });
  counting->reset_counts();
  for (int i = 0; i < 100; ++i) cache.cached("dash", deps, 1min, [] { return 1; });
  EXPECT_EQ(counting->calls(), 100u) << "100 hits, 100 round trips";
  other.bump_namespace(ns("org", 1));
  counting->reset_counts();
  cache.cached("dash", deps, 1min, [] { return 2; });
  EXPECT_EQ(counting->calls(testing::Operation::get_many), 2u);
  std::printf(
      "[ trips    ] steady-state hit: 1 round trip; first read after a bump: 2 (+1 write)\n");
}

INSTANTIATE_TEST_SUITE_P(Servers, ServerCache, ::testing::ValuesIn(test::server_backend_kinds()),
                         [](const auto& instance) { return instance.param; });

}  // namespace
}  // namespace gencache
