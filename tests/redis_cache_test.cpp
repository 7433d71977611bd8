// The Cache on a real redis-server under what only Redis deployments see: counter
// eviction under allkeys-lru, a volatile-* policy, noeviction at the memory limit, and
// what a steady-state read sends. Promise 1 is checked by the stale-read oracle
// throughout. A restart, a hung server and the rest that Memcached shares are in
// server_cache_test.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/redis_backend.hpp"
#include "support/backend_kinds.hpp"
#include "support/redis_server.hpp"
#include "support/stale_read_oracle.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using test::connect_redis;
using test::print_oracle_result;

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

TEST(RedisCache, EvictedCountersUnderAllkeysLruAreRecreatedAndNothingStaleIsRead) {
  // 2 MB of memory (about 1 MB of it free for keys), allkeys-lru, and a write-heavy filler
  // of 1 KiB items: the keyspace turns over faster than the LRU clock's one-second
  // resolution, so even busy counters are evicted.
  test::RedisServer server(
      {.extra_args = {"--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"}});
  auto backend = connect_redis(server.port());
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
  print_oracle_result("eviction", result, s);
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
  auto backend = connect_redis(server.port());
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
  print_oracle_result("volatile", result, readers.stats());
  EXPECT_EQ(result.stale_reads, 0u);
  EXPECT_GT(info_field(server, "stats", "evicted_keys"), 1000u);
  EXPECT_EQ(readers.stats().counter_recreations + writers.stats().counter_recreations,
            static_cast<std::uint64_t>(config.namespaces))
      << "each counter created once, never evicted";
}

TEST(RedisCache, NoevictionAtTheMemoryLimitFailsOpen) {
  test::RedisServer server;
  auto backend = connect_redis(server.port());
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

TEST(RedisCache, SteadyStateReadIsOneMgetOnTheWire) {
  // server_cache_test counts the steady state's round trips; this checks what they are.
  test::RedisServer server;
  Cache cache(connect_redis(server.port()));
  const NamespaceSet deps{ns("user", 1), ns("org", 1), ns("catalog")};
  cache.cached("dash", deps, 1min, [] { return 1; });
  server.command({"CONFIG", "RESETSTAT"});
  for (int i = 0; i < 100; ++i) cache.cached("dash", deps, 1min, [] { return 1; });
  const auto calls = command_calls(server);
  EXPECT_EQ(calls, (std::map<std::string, std::uint64_t>{{"config|resetstat", 1}, {"mget", 100}}))
      << "100 MGETs and nothing else reached the server";
}

}  // namespace
}  // namespace gencache
