// Backend::increment_many (many counters in one call, reported per counter) and
// Backend::server_stats (each server's own statistics), on every backend.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gencache/backend.hpp"
#include "gencache/error.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "support/backend_calls.hpp"
#include "support/memcached_server.hpp"
#include "support/redis_server.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using test::kNoTtl;
using ::testing::HasSubstr;

std::vector<std::optional<std::uint64_t>> values_of(const std::vector<CounterIncrement>& results) {
  std::vector<std::optional<std::uint64_t>> values;
  for (const CounterIncrement& result : results) {
    EXPECT_FALSE(result.failure);
    values.push_back(result.value);
  }
  return values;
}

std::string failure_message(const CounterIncrement& result) {
  try {
    std::rethrow_exception(result.failure);
  } catch (const backend_error& e) {
    return e.what();
  }
  return "";
}

RedisOptions redis_options(const test::RedisServer& server) {
  RedisOptions options;
  options.port = server.port();
  options.io_timeout = 1s;
  return options;
}

MemcachedOptions memcached_options(std::vector<std::string> servers) {
  MemcachedOptions options;
  options.servers = std::move(servers);
  options.io_timeout = 1s;
  return options;
}

// Each counter moves by the delta and reports its own new value, in the keys' order; an
// absent counter stays absent.
void expect_increments_each_counter_in_order(Backend& backend) {
  ASSERT_TRUE(backend.create_counter("batch:a", 10, kNoTtl));
  ASSERT_TRUE(backend.create_counter("batch:c", std::uint64_t{1} << 62, kNoTtl));
  const std::vector<std::string_view> keys{"batch:a", "batch:absent", "batch:c", "batch:a"};
  const auto values = values_of(backend.increment_many(keys, 2));
  const std::vector<std::optional<std::uint64_t>> expected{12, std::nullopt,
                                                           (std::uint64_t{1} << 62) + 2, 14};
  EXPECT_EQ(values, expected);
  EXPECT_EQ(test::get(backend, "batch:absent"), std::nullopt) << "an absent counter is not created";
  EXPECT_EQ(test::get(backend, "batch:c"), std::to_string((std::uint64_t{1} << 62) + 2));
  EXPECT_TRUE(backend.increment_many({}, 1).empty());
}

TEST(IncrementMany, MemoryIncrementsEachCounterInOrderInOneCall) {
  MemoryBackend backend;
  expect_increments_each_counter_in_order(backend);
  EXPECT_TRUE(backend.batches_increments());
}

TEST(IncrementMany, RedisIncrementsEachCounterInOrderInOneAtomicScript) {
  test::RedisServer server;
  auto backend = make_redis_backend(redis_options(server));
  expect_increments_each_counter_in_order(*backend);
  EXPECT_TRUE(backend->batches_increments());
}

TEST(IncrementMany, RedisCounterHoldingTextFailsTheCallAndMovesNothing) {
  test::RedisServer server;
  auto backend = make_redis_backend(redis_options(server));
  ASSERT_TRUE(backend->create_counter("batch:a", 10, kNoTtl));
  backend->set("batch:text", "not a number", kNoTtl);
  const std::vector<std::string_view> keys{"batch:a", "batch:text"};
  EXPECT_THROW(backend->increment_many(keys, 1), backend_error);
  // A script that fails part-way keeps what it did: Redis scripts are atomic only in
  // that nothing runs between their commands. The first counter moved, which is safe:
  // an extra bump only costs a recompute.
  EXPECT_EQ(test::get(*backend, "batch:a"), "11");
}

TEST(IncrementMany, LibmemcachedLoopsOneRoundTripPerCounter) {
  test::MemcachedServer server;
  auto backend = make_memcached_backend(memcached_options({server.address()}));
  expect_increments_each_counter_in_order(*backend);
  EXPECT_FALSE(backend->batches_increments())
      << "libmemcached increments one key per call: one round trip each";
}

TEST(IncrementMany, AStoppedServerFailsExactlyItsOwnCounters) {
  test::MemcachedServer first;
  test::MemcachedServer second;
  auto both = make_memcached_backend(memcached_options({first.address(), second.address()}));
  std::vector<std::string> names = test::numbered_keys("spread:", 20);
  for (const std::string& name : names) ASSERT_TRUE(both->create_counter(name, 100, kNoTtl));
  // Which server holds which counter, asked of each server alone.
  auto only_second = make_memcached_backend(memcached_options({second.address()}));
  std::vector<bool> on_second;
  for (const std::string& name : names)
    on_second.push_back(test::get(*only_second, name).has_value());
  ASSERT_NE(std::count(on_second.begin(), on_second.end(), true), 0);
  ASSERT_NE(std::count(on_second.begin(), on_second.end(), false), 0);

  second.stop();
  const std::vector<std::string_view> keys(names.begin(), names.end());
  const std::vector<CounterIncrement> results = both->increment_many(keys, 1);
  ASSERT_EQ(results.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (on_second[i]) {
      EXPECT_TRUE(results[i].failure) << keys[i];
      EXPECT_EQ(results[i].value, std::nullopt) << keys[i];
      EXPECT_THAT(failure_message(results[i]), HasSubstr("counter increment failed"));
    } else {
      EXPECT_FALSE(results[i].failure) << keys[i];
      EXPECT_EQ(results[i].value, 101u) << keys[i];
    }
  }
}

TEST(ServerStats, MemoryHasNoServersToAsk) {
  MemoryBackend backend;
  EXPECT_TRUE(backend.server_stats().empty());
}

TEST(ServerStats, MemcachedReportsEachServerAndWhyOneDidNotAnswer) {
  test::MemcachedServer first;
  test::MemcachedServer second;
  auto both = make_memcached_backend(memcached_options({first.address(), second.address()}));
  second.stop();
  const std::vector<ServerStats> stats = both->server_stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].server, first.address());
  EXPECT_EQ(stats[0].error, "");
  const auto has = [&](std::string_view name) {
    return std::any_of(stats[0].values.begin(), stats[0].values.end(),
                       [&](const auto& pair) { return pair.first == name; });
  };
  EXPECT_TRUE(has("curr_items"));
  EXPECT_TRUE(has("evictions"));
  EXPECT_EQ(stats[1].server, second.address());
  EXPECT_TRUE(stats[1].values.empty());
  EXPECT_THAT(stats[1].error, HasSubstr(second.address()));
}

TEST(ServerStats, RedisReportsInfoFieldsAndWhyItDidNotAnswer) {
  test::RedisServer server;
  auto backend = make_redis_backend(redis_options(server));
  std::vector<ServerStats> stats = backend->server_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].server, server.address());
  EXPECT_EQ(stats[0].error, "");
  std::string version;
  for (const auto& [name, value] : stats[0].values)
    if (name == "redis_version") version = value;
  EXPECT_THAT(version, ::testing::MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+"));

  server.stop();
  stats = backend->server_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_TRUE(stats[0].values.empty());
  EXPECT_THAT(stats[0].error, HasSubstr("stats failed"));
}

}  // namespace
}  // namespace gencache
