// Cache::bump_namespaces: a write that touched several namespaces bumps them all, in one
// round trip where the backend batches, and a partial failure names exactly the
// namespaces that were not bumped.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "gencache/testing.hpp"
#include "key_encoding.hpp"
#include "random.hpp"
#include "support/backend_calls.hpp"
#include "support/memcached_server.hpp"
#include "support/redis_server.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One backend of each kind bump_namespaces treats differently.
class BumpNamespacesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      backend_ = std::make_shared<MemoryBackend>();
    } else if (GetParam() == "memcached") {
      memcached_ = std::make_unique<test::MemcachedServer>();
      MemcachedOptions options;
      options.servers = {memcached_->address()};
      options.io_timeout = 1s;
      backend_ = make_memcached_backend(options);
    } else {
      redis_ = std::make_unique<test::RedisServer>();
      RedisOptions options;
      options.port = redis_->port();
      options.io_timeout = 1s;
      backend_ = make_redis_backend(options);
    }
  }

  Cache cache(CacheOptions options = {}) const { return Cache(backend_, std::move(options)); }

  std::unique_ptr<test::MemcachedServer> memcached_;
  std::unique_ptr<test::RedisServer> redis_;
  std::shared_ptr<Backend> backend_;
};

INSTANTIATE_TEST_SUITE_P(Backends, BumpNamespacesTest,
                         ::testing::Values("memory", "memcached", "redis"),
                         [](const auto& kind) { return kind.param; });

const std::vector<Namespace> kWrite{ns("user", 42), ns("org", 7), ns("catalog")};

TEST_P(BumpNamespacesTest, ReturnsEachNewGenerationInTheOrderAsked) {
  Cache c = cache();
  std::vector<std::uint64_t> before;
  for (const Namespace& n : kWrite) before.push_back(c.generation(n));
  const std::vector<std::uint64_t> after = c.bump_namespaces(kWrite);
  ASSERT_EQ(after.size(), kWrite.size());
  for (std::size_t i = 0; i < kWrite.size(); ++i) {
    EXPECT_EQ(after[i], before[i] + 1) << kWrite[i].name();
    EXPECT_EQ(c.generation(kWrite[i]), after[i]) << kWrite[i].name();
  }
}

TEST_P(BumpNamespacesTest, EveryBumpedNamespaceMakesItsEntriesUnreachable) {
  Cache c = cache();
  c.set("page", ns("user", 42), std::string("user page"), 1h);
  c.set("page", ns("org", 7), std::string("org page"), 1h);
  c.set("page", ns("catalog"), std::string("catalog page"), 1h);
  c.set("page", NamespaceSet{ns("user", 1), ns("catalog")}, std::string("mixed"), 1h);
  c.set("page", ns("other"), std::string("untouched"), 1h);

  const std::vector<Namespace> write{ns("user", 42), ns("catalog")};
  c.bump_namespaces(write);
  Cache elsewhere = cache();  // another process: no hints of its own
  for (Cache* reader : {&c, &elsewhere}) {
    EXPECT_EQ(reader->get("page", ns("user", 42)), std::nullopt);
    EXPECT_EQ(reader->get("page", ns("catalog")), std::nullopt);
    EXPECT_EQ(reader->get("page", NamespaceSet{ns("user", 1), ns("catalog")}), std::nullopt);
    EXPECT_EQ(reader->get("page", ns("org", 7)), "org page");
    EXPECT_EQ(reader->get("page", ns("other")), "untouched");
  }
}

TEST_P(BumpNamespacesTest, CountersNeverSeenStartAtAFreshRandomValue) {
  Cache c = cache();
  const std::vector<Namespace> unseen{ns("fresh", 1), ns("fresh", 2)};
  const std::vector<std::uint64_t> generations = c.bump_namespaces(unseen);
  for (const std::uint64_t g : generations) {
    EXPECT_GE(g, detail::min_fresh_generation);
    EXPECT_LT(g, detail::max_fresh_generation);
  }
  EXPECT_NE(generations[0], generations[1]);
  EXPECT_EQ(c.stats().counter_recreations, 2u);
}

// The number Stats::round_trips shows for three warm namespaces is the contract the
// docs state per backend: batched where the client can, one per counter where not.
TEST_P(BumpNamespacesTest, RoundTripsOfThreeWarmNamespaces) {
  Cache c = cache();
  for (const Namespace& n : kWrite) c.generation(n);
  const std::uint64_t before = c.stats().round_trips;
  c.bump_namespaces(kWrite);
  const std::uint64_t took = c.stats().round_trips - before;
  const std::uint64_t promised = GetParam() == "memcached" ? 3 : 1;
  EXPECT_EQ(took, promised) << GetParam();
  EXPECT_EQ(backend_->batches_increments(), GetParam() != "memcached");
  EXPECT_EQ(c.stats().bumps, 3u);
}

TEST_P(BumpNamespacesTest, NoNamespacesIsNoCall) {
  Cache c = cache();
  EXPECT_TRUE(c.bump_namespaces({}).empty());
  EXPECT_EQ(c.stats().round_trips, 0u);
}

// ---- partial failure ----------------------------------------------------------------

struct HookLog {
  std::vector<std::string> operations;
  ErrorHook hook() {
    return [this](const ErrorEvent& e) { operations.emplace_back(e.operation); };
  }
};

TEST(BumpNamespacesFailure, OneFailedCounterIsNamedAndTheOthersAreBumped) {
  auto faulty = std::make_shared<testing::FaultInjectingBackend>(std::make_shared<MemoryBackend>());
  HookLog log;
  CacheOptions options;
  options.on_error = log.hook();
  Cache c(faulty, options);
  std::vector<std::uint64_t> before;
  for (const Namespace& n : kWrite) before.push_back(c.generation(n));

  faulty->fail_next(1);  // the first counter's increment
  try {
    c.bump_namespaces(kWrite);
    ADD_FAILURE() << "a failed bump must never be silent";
  } catch (const bump_namespaces_error& e) {
    EXPECT_THAT(e.not_bumped(), ElementsAre(ns("user", 42)));
    EXPECT_THAT(e.generations(), ElementsAre(0u, before[1] + 1, before[2] + 1));
    EXPECT_EQ(e.code(), errc::backend_unavailable);
    EXPECT_THAT(e.what(), HasSubstr("1 of 3 namespaces not bumped ('user:42')"));
  }
  EXPECT_EQ(c.generation(ns("user", 42)), before[0]);
  EXPECT_EQ(c.generation(ns("org", 7)), before[1] + 1);
  EXPECT_THAT(log.operations, ElementsAre("bump"));
  EXPECT_EQ(c.stats().errors, 1u);
}

TEST(BumpNamespacesFailure, TheErrorCodeOverloadReturnsZeroWhereNotBumped) {
  auto faulty = std::make_shared<testing::FaultInjectingBackend>(std::make_shared<MemoryBackend>());
  Cache c(faulty);
  for (const Namespace& n : kWrite) c.generation(n);
  faulty->fail_next(1);
  std::error_code ec;
  const std::vector<std::uint64_t> generations = c.bump_namespaces(kWrite, ec);
  EXPECT_EQ(ec, errc::backend_unavailable);
  ASSERT_EQ(generations.size(), 3u);
  EXPECT_EQ(generations[0], 0u);
  EXPECT_NE(generations[1], 0u);
  EXPECT_NE(generations[2], 0u);
  EXPECT_FALSE(c.bump_namespaces(kWrite, ec).empty());
  EXPECT_FALSE(ec) << "cleared by a call that succeeds";
}

TEST(BumpNamespacesFailure,
     AStoppedMemcachedServerFailsExactlyItsNamespacesAndTheOutboxRetriesThem) {
  test::MemcachedServer first;
  test::MemcachedServer second;
  MemcachedOptions options;
  options.servers = {first.address(), second.address()};
  options.io_timeout = 1s;
  options.retry_timeout = 1s;
  auto both = make_memcached_backend(options);
  CacheOptions cache_options;
  cache_options.breaker.failure_threshold = 0;
  cache_options.outbox.enabled = true;
  Cache c(both, cache_options);

  std::vector<Namespace> namespaces;
  for (int i = 0; i < 12; ++i) namespaces.push_back(ns("user", i));
  for (const Namespace& n : namespaces) c.generation(n);  // counters exist on their server
  MemcachedOptions second_only;
  second_only.servers = {second.address()};
  auto on_second = make_memcached_backend(second_only);
  std::vector<Namespace> expected_not_bumped;
  for (const Namespace& n : namespaces)
    if (test::get(*on_second, detail::counter_key("", n))) expected_not_bumped.push_back(n);
  ASSERT_FALSE(expected_not_bumped.empty());
  ASSERT_LT(expected_not_bumped.size(), namespaces.size());

  second.stop();
  try {
    c.bump_namespaces(namespaces);
    ADD_FAILURE() << "a failed bump must never be silent";
  } catch (const bump_namespaces_error& e) {
    EXPECT_EQ(e.not_bumped(), expected_not_bumped);
    EXPECT_EQ(e.code(), errc::backend_unavailable);
  }
  EXPECT_EQ(c.stats().outbox_pending, expected_not_bumped.size());

  second.start();  // empty: the outbox's bumps create the counters at fresh values
  EXPECT_TRUE(c.flush_pending_bumps(10s));
  EXPECT_EQ(c.stats().outbox_pending, 0u);
  auto restarted = make_memcached_backend(second_only);  // on_second's connection broke
  for (const Namespace& n : expected_not_bumped)
    EXPECT_TRUE(test::get(*restarted, detail::counter_key("", n)).has_value()) << n.name();
}

TEST(BumpNamespacesFailure, AnOpenBreakerFailsEveryNamespaceAtOnce) {
  auto faulty = std::make_shared<testing::FaultInjectingBackend>(std::make_shared<MemoryBackend>());
  CacheOptions options;
  options.breaker.failure_threshold = 1;
  options.breaker.cooldown = 1h;
  Cache c(faulty, options);
  faulty->fail_next(1);
  EXPECT_EQ(c.get("k", ns("n")), std::nullopt);  // opens the breaker
  try {
    c.bump_namespaces(kWrite);
    ADD_FAILURE() << "a failed bump must never be silent";
  } catch (const bump_namespaces_error& e) {
    EXPECT_EQ(e.not_bumped(), kWrite);
    EXPECT_EQ(e.code(), errc::circuit_open);
  }
}

}  // namespace
}  // namespace gencache
