// Cache::etag: a strong validator from the key and the namespaces' current generations,
// the same in every process and changed by any process's bump, at the cost of one
// counters-only round trip.
#include <chrono>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "gencache/testing.hpp"
#include "support/memcached_server.hpp"
#include "support/redis_server.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using ::testing::MatchesRegex;

class EtagTest : public ::testing::TestWithParam<std::string> {
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

  // A cache of another process: same backend, hints of its own.
  Cache process(std::string prefix = "") const {
    CacheOptions options;
    options.prefix = std::move(prefix);
    return Cache(backend_, options);
  }

  std::unique_ptr<test::MemcachedServer> memcached_;
  std::unique_ptr<test::RedisServer> redis_;
  std::shared_ptr<Backend> backend_;
};

INSTANTIATE_TEST_SUITE_P(Backends, EtagTest, ::testing::Values("memory", "memcached", "redis"),
                         [](const auto& kind) { return kind.param; });

const NamespaceSet kDeps{ns("user", 42), ns("catalog")};

TEST_P(EtagTest, IsAStrongQuotedValidator) {
  EXPECT_THAT(process().etag("/dashboard?page=2", kDeps), MatchesRegex("\"[0-9a-f]{32}\""));
}

TEST_P(EtagTest, SameInputsGiveTheSameEtagInEveryProcess) {
  Cache one = process();
  Cache two = process();
  EXPECT_EQ(one.etag("/dashboard", kDeps), two.etag("/dashboard", kDeps));
  EXPECT_EQ(one.etag("/dashboard", kDeps),
            one.etag("/dashboard", NamespaceSet{ns("catalog"), ns("user", 42)}))
      << "namespace order does not matter, as for entries";
}

TEST_P(EtagTest, DiffersByKeyNamespacesAndPrefix) {
  Cache c = process();
  const std::string base = c.etag("/dashboard", kDeps);
  EXPECT_NE(c.etag("/dashboard?page=2", kDeps), base);
  EXPECT_NE(c.etag("/dashboard", NamespaceSet{ns("user", 43), ns("catalog")}), base);
  EXPECT_NE(c.etag("/dashboard", ns("user", 42)), base);
  EXPECT_NE(process("other-app:").etag("/dashboard", kDeps), base);
}

TEST_P(EtagTest, ABumpInAnotherProcessChangesItAtOnce) {
  Cache reader = process();
  Cache writer = process();
  const std::string before = reader.etag("/dashboard", kDeps);
  EXPECT_EQ(reader.etag("/dashboard", kDeps), before);
  writer.bump_namespace(ns("catalog"));
  const std::string after = reader.etag("/dashboard", kDeps);
  EXPECT_NE(after, before) << "the reader's hints are not trusted";
  EXPECT_EQ(writer.etag("/dashboard", kDeps), after);
  EXPECT_EQ(reader.etag("/dashboard", NamespaceSet{ns("user", 7)}),
            writer.etag("/dashboard", NamespaceSet{ns("user", 7)}))
      << "an unbumped namespace's validator is unchanged";
}

TEST_P(EtagTest, CostsOneCountersOnlyRoundTripAndNoEntryReadOrCompute) {
  Cache c = process();
  c.set("/dashboard", kDeps, std::string("body"), 1h);
  c.etag("/dashboard", kDeps);  // counters exist now
  const Stats before = c.stats();
  c.etag("/dashboard", kDeps);
  const Stats after = c.stats();
  EXPECT_EQ(after.round_trips - before.round_trips, 1u);
  EXPECT_EQ(after.hits, before.hits);
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_EQ(after.computes, before.computes);
}

TEST(EtagFailure, ABackendFailureThrowsOrSetsTheErrorCode) {
  auto faulty = std::make_shared<testing::FaultInjectingBackend>(std::make_shared<MemoryBackend>());
  Cache c(faulty, CacheOptions{.breaker = {.failure_threshold = 0}});
  faulty->fail_next(1);
  EXPECT_THROW(c.etag("/dashboard", kDeps), backend_error);
  faulty->fail_next(1);
  std::error_code ec;
  EXPECT_EQ(c.etag("/dashboard", kDeps, ec), "");
  EXPECT_EQ(ec, errc::backend_unavailable);
  EXPECT_NE(c.etag("/dashboard", kDeps, ec), "");
  EXPECT_FALSE(ec);
}

}  // namespace
}  // namespace gencache
