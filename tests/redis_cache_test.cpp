// The Cache on a real redis-server under the failures Redis deployments see: counter
// eviction under allkeys-lru, a volatile-* policy, noeviction at the memory limit, a
// restart and a hung server. Promise 1 is checked by the stale-read oracle throughout;
// promise 4 by bounding how long calls take while the server is down or hung.
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/redis_backend.hpp"
#include "gencache/testing.hpp"
#include "support/redis_server.hpp"
#include "support/stale_read_oracle.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A promise bound, not a benchmark: io_timeout is 100 ms; sanitizer builds on a loaded
// 2-core machine need the margin.
constexpr auto kBound = 2s;

std::shared_ptr<Backend> connect(const test::RedisServer& server) {
  RedisOptions options;
  options.port = server.port();
  options.connect_timeout = 100ms;
  options.io_timeout = 100ms;
  return make_redis_backend(options);
}

void print(const char* what, const test::OracleResult& r, const Stats& s) {
  std::printf(
      "[ %-8s ] reads=%lu stale=%lu bumps=%lu failed_bumps=%lu hits=%lu errors=%lu "
      "recreations=%lu\n",
      what, static_cast<unsigned long>(r.reads), static_cast<unsigned long>(r.stale_reads),
      static_cast<unsigned long>(r.bumps), static_cast<unsigned long>(r.failed_bumps),
      static_cast<unsigned long>(r.cache_hits), static_cast<unsigned long>(s.errors),
      static_cast<unsigned long>(s.counter_recreations));
}

// One "name:value" field of an INFO reply, as a number (0 when absent).
std::uint64_t info_field(const test::RedisServer& server, std::string_view section,
                         std::string_view field) {
  const std::string info = server.command({"INFO", section});
  const std::string label = std::string(field) + ":";
  const auto at = info.find(label);
  if (at == std::string::npos) return 0;
  return std::stoull(info.substr(at + label.size()));
}

// How many times each command ran since the last CONFIG RESETSTAT, from INFO commandstats
// ("cmdstat_mget:calls=100,usec=...").
std::map<std::string, std::uint64_t> command_calls(const test::RedisServer& server) {
  const std::string info = server.command({"INFO", "commandstats"});
  std::map<std::string, std::uint64_t> calls;
  constexpr std::string_view kStart = "cmdstat_", kCalls = ":calls=";
  for (auto at = info.find(kStart); at != std::string::npos; at = info.find(kStart, at + 1)) {
    const auto name_end = info.find(kCalls, at);
    const std::string name = info.substr(at + kStart.size(), name_end - at - kStart.size());
    calls[name] = std::stoull(info.substr(name_end + kCalls.size()));
  }
  return calls;
}

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

TEST(RedisCache, EvictedCountersUnderAllkeysLruAreRecreatedAndNothingStaleIsRead) {
  // 2 MB of memory (about 1 MB of it free for keys), allkeys-lru, and a write-heavy filler
  // of 1 KiB items: the keyspace turns over faster than the LRU clock's one-second
  // resolution, so even busy counters are evicted.
  test::RedisServer server(
      {.extra_args = {"--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"}});
  auto backend = connect(server);
  Cache readers(backend), writers(backend);
  test::OracleConfig config;
  config.reads_per_reader = 8000;
  std::uint64_t filler_writes = 0;
  const std::string filler(1024, 'f');
  config.chaos = [&](const std::atomic<bool>& done) {
    while (!done) {
      for (int i = 0; i < 200; ++i, ++filler_writes) {
        try {
          backend->set("filler:" + std::to_string(filler_writes), filler, 0ms);
        } catch (const backend_error&) {
          // The server may be over its limit for a moment (OOM): the filler just goes on.
        }
      }
    }
  };
  const auto result = test::run_stale_read_oracle(readers, writers, config);
  const Stats s = readers.stats();
  print("eviction", result, s);
  const std::uint64_t evicted = info_field(server, "stats", "evicted_keys");
  std::printf("[ eviction ] filler writes=%lu evicted keys=%lu\n",
              static_cast<unsigned long>(filler_writes), static_cast<unsigned long>(evicted));
  EXPECT_EQ(result.stale_reads, 0u);
  EXPECT_GT(evicted, 1000u);
  // Each namespace's counter is created once at first use; anything beyond that is a
  // counter that was evicted and re-created under load.
  EXPECT_GT(s.counter_recreations + writers.stats().counter_recreations,
            static_cast<std::uint64_t>(config.namespaces))
      << "the small server must actually have evicted counters for this test to mean anything";
}

TEST(RedisCache, VolatileLruEvictsEntriesButNeverCounters) {
  // Counters have no TTL, so a volatile-* policy never picks them; entries (TTL 1 min)
  // and the filler (TTL 1 h) are evicted instead.
  test::RedisServer server(
      {.extra_args = {"--maxmemory", "2mb", "--maxmemory-policy", "volatile-lru"}});
  auto backend = connect(server);
  Cache readers(backend), writers(backend);
  test::OracleConfig config;
  config.reads_per_reader = 4000;
  config.value_padding = 512;
  config.chaos = [&](const std::atomic<bool>& done) {
    for (std::uint64_t n = 0; !done; ++n) {
      try {
        backend->set("filler:" + std::to_string(n), std::string(256, 'f'), 1h);
      } catch (const backend_error&) {
      }
    }
  };
  const auto result = test::run_stale_read_oracle(readers, writers, config);
  print("volatile", result, readers.stats());
  EXPECT_EQ(result.stale_reads, 0u);
  EXPECT_GT(info_field(server, "stats", "evicted_keys"), 1000u);
  EXPECT_EQ(readers.stats().counter_recreations + writers.stats().counter_recreations,
            static_cast<std::uint64_t>(config.namespaces))
      << "each counter created once, never evicted";
}

TEST(RedisCache, NoevictionAtTheMemoryLimitFailsOpen) {
  test::RedisServer server;
  auto backend = connect(server);
  Cache cache(backend);
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, [] { return 1; }), 1);
  server.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  server.command({"CONFIG", "SET", "maxmemory", "1"});  // far below what it uses
  // Cached values are still served; new ones are computed and returned, not stored.
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, [] { return 2; }), 1);
  EXPECT_EQ(cache.cached("new", ns("u"), 1min, [] { return 3; }), 3);
  EXPECT_EQ(cache.cached("new", ns("u"), 1min, [] { return 4; }), 4);
  EXPECT_GE(cache.stats().errors, 2u);
  // A bump is a write: it fails loudly rather than silently leave stale entries.
  try {
    cache.bump_namespace(ns("u"));
    ADD_FAILURE() << "bump_namespace returned although Redis refused the write";
  } catch (const backend_error& e) {
    EXPECT_EQ(e.code(), errc::not_stored) << e.what();
  }
}

TEST(RedisCache, RestartMidRunComputesWhileDownAndReadsNothingStaleAfter) {
  test::RedisServer server;
  auto backend = connect(server);
  Cache readers(backend), writers(backend);
  test::OracleConfig config;
  config.reads_per_reader = 4000;
  test::OracleResult result;
  std::thread oracle([&] { result = test::run_stale_read_oracle(readers, writers, config); });
  // The restart happens on this thread: the fixture ties a server's life to the thread
  // that started it.
  std::this_thread::sleep_for(150ms);
  server.stop();
  Clock::duration slowest_while_down{0};
  for (int i = 0; i < 20; ++i) {
    const auto started = Clock::now();
    EXPECT_EQ(readers.cached("probe", ns("p"), 1min, [] { return 1; }), 1) << "fail-open computes";
    slowest_while_down = std::max(slowest_while_down, Clock::now() - started);
  }
  std::this_thread::sleep_for(200ms);
  server.start();
  oracle.join();
  print("restart", result, readers.stats());
  EXPECT_EQ(result.stale_reads, 0u);
  EXPECT_LT(slowest_while_down, kBound);
  EXPECT_GT(readers.stats().errors, 0u) << "the restart must have been seen";
  // After the restart the cache serves again once the circuit breaker's cool-down is over.
  EXPECT_TRUE(serves_again_within(readers, 5s));
}

TEST(RedisCache, HungServerCallsReturnWithinTheTimeoutAndRecoverAfterResume) {
  test::RedisServer server;
  auto backend = connect(server);
  Cache cache(backend);
  cache.cached("k", ns("u"), 1min, [] { return 1; });
  server.pause();
  for (int i = 0; i < 5; ++i) {
    const auto started = Clock::now();
    EXPECT_EQ(cache.cached("k", ns("u"), 1min, [] { return 2; }), 2) << "fail-open computes";
    EXPECT_LT(Clock::now() - started, kBound);
  }
  const auto started = Clock::now();
  EXPECT_THROW(cache.bump_namespace(ns("u")), backend_error);
  EXPECT_LT(Clock::now() - started, kBound);
  server.resume();
  ASSERT_TRUE(serves_again_within(cache, 5s));
  // A timed-out increment may already have been on the wire: the resumed server may
  // apply it, so the entry may or may not have been invalidated. Either way, the cache
  // serves again.
  const int after_resume = cache.cached("k", ns("u"), 1min, [] { return 3; });
  EXPECT_TRUE(after_resume == 1 || after_resume == 3) << after_resume;
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, [] { return 4; }), after_resume) << "a hit again";
  EXPECT_NO_THROW(cache.bump_namespace(ns("u")));
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, [] { return 5; }), 5);
}

TEST(RedisCache, SixtyDayTtlEntryIsStoredAndReadable) {
  test::RedisServer server;
  Cache cache(connect(server));
  cache.cached("long-lived", ns("u"), std::chrono::hours(24 * 60),
               [] { return std::string("kept"); });
  EXPECT_EQ(cache.get("long-lived", ns("u")), "kept");
  EXPECT_EQ(cache.stats().errors, 0u);
}

TEST(RedisCache, SteadyStateReadIsOneMgetOnTheWire) {
  test::RedisServer server;
  auto counting = std::make_shared<testing::FaultInjectingBackend>(connect(server));
  Cache cache(counting);
  Cache other(counting);
  const NamespaceSet deps{ns("user", 1), ns("org", 1), ns("catalog")};
  cache.cached("dash", deps, 1min, [] { return 1; });
  counting->reset_counts();
  server.command({"CONFIG", "RESETSTAT"});
  for (int i = 0; i < 100; ++i) cache.cached("dash", deps, 1min, [] { return 1; });
  EXPECT_EQ(counting->calls(), 100u) << "100 hits, 100 round trips";
  const auto calls = command_calls(server);
  EXPECT_EQ(calls, (std::map<std::string, std::uint64_t>{{"config|resetstat", 1}, {"mget", 100}}))
      << "100 MGETs and nothing else reached the server";
  other.bump_namespace(ns("org", 1));
  counting->reset_counts();
  cache.cached("dash", deps, 1min, [] { return 2; });
  EXPECT_EQ(counting->calls(testing::Operation::get_many), 2u);
  std::printf(
      "[ trips    ] steady-state hit: 1 round trip (one MGET); first read after a bump: 2 "
      "(+1 write)\n");
}

}  // namespace
}  // namespace gencache
