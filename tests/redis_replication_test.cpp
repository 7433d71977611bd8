// Failover-safe bumps on Redis (wait_replicas): a counter write counts as done only once
// the replicas acknowledged it, against a master and a replica started by each test.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/redis/redis_config.hpp"
#include "backends/redis/redis_url.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "gencache/redis_backend.hpp"
#include "gencache/testing.hpp"
#include "support/backend_calls.hpp"
#include "support/redis_server.hpp"
#include "url_options.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// A generous wait_timeout where the replica is expected to acknowledge (a loaded machine
// must not fail the test), a short one where it cannot.
RedisOptions waiting_options(const test::RedisServer& master, std::uint32_t replicas,
                             std::chrono::milliseconds wait_timeout = 1s) {
  RedisOptions options;
  options.port = master.port();
  options.io_timeout = wait_timeout + 1s;
  options.connect_timeout = 1s;
  options.wait_replicas = replicas;
  options.wait_timeout = wait_timeout;
  return options;
}

// Waits until `replica` has applied everything `master` has written. (A WAIT sent by a
// test connection would count only that connection's own writes, which are none.)
void wait_until_caught_up(const test::RedisServer& master, const test::RedisServer& replica) {
  auto offset = [](const std::string& info, std::string_view field) {
    const auto at = info.find(field);
    return at == std::string::npos ? -1 : std::stoll(info.substr(at + field.size()));
  };
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (offset(replica.command({"INFO", "replication"}), "slave_repl_offset:") <
         offset(master.command({"INFO", "replication"}), "master_repl_offset:")) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the replica never caught up";
    std::this_thread::sleep_for(10ms);
  }
}

class RedisReplicationTest : public ::testing::Test {
 protected:
  test::RedisServer master;
  std::unique_ptr<test::RedisServer> replica = test::start_replica_of(master);
};

TEST_F(RedisReplicationTest, ABumpThatReturnedIsAlreadyOnTheReplica) {
  Cache cache(make_redis_backend(waiting_options(master, 1)));
  const Namespace user = ns("user", 42);
  cache.generation(user);  // creates the counter
  const std::string key = testing::counter_key(user);
  for (int i = 0; i < 20; ++i) {
    const std::uint64_t generation = cache.bump_namespace(user);
    // Read from the replica at once: a bump acknowledged only by the master would
    // often not be there yet.
    EXPECT_EQ(replica->command({"GET", key}), std::to_string(generation));
  }
}

TEST_F(RedisReplicationTest, ACreatedCounterIsAlreadyOnTheReplica) {
  auto backend = make_redis_backend(waiting_options(master, 1));
  ASSERT_TRUE(backend->create_counter("gc1:n:fresh", 4294967296, test::kNoTtl));
  EXPECT_EQ(replica->command({"GET", "gc1:n:fresh"}), "4294967296");
}

TEST_F(RedisReplicationTest, AnIncrementTheReplicaDoesNotAcknowledgeThrowsTimeoutNamingWait) {
  // Created where the replica has time to acknowledge, so a loaded machine cannot fail it.
  ASSERT_TRUE(make_redis_backend(waiting_options(master, 1))
                  ->create_counter("gc1:n:c", 4294967296, test::kNoTtl));
  auto backend = make_redis_backend(waiting_options(master, 1, 200ms));
  replica->pause();  // connected, but acknowledges nothing
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(test::code_thrown_by([&] { backend->increment("gc1:n:c", 1); }), errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 900ms);  // wait_timeout, not io_timeout
  EXPECT_THAT(test::message_thrown_by([&] { backend->increment("gc1:n:c", 1); }),
              HasSubstr("0 of wait_replicas 1 replicas acknowledged"));
  replica->resume();
}

TEST_F(RedisReplicationTest, AnUnacknowledgedBumpIsNeverSilentAndIsQueuedInTheOutbox) {
  CacheOptions options;
  options.outbox.enabled = true;
  options.outbox.initial_backoff = 10ms;
  Cache cache(make_redis_backend(waiting_options(master, 1, 200ms)), options);
  const Namespace user = ns("user", 7);
  // The counter is created where the replica has time to acknowledge; this read is no write.
  Cache(make_redis_backend(waiting_options(master, 1))).generation(user);
  cache.generation(user);
  replica->pause();
  EXPECT_THROW(cache.bump_namespace(user), backend_error);
  EXPECT_GE(cache.stats().outbox_pending, 1u);
  replica->resume();
  ASSERT_TRUE(test::wait_for_master_link(*replica));
  // Once the replica acknowledges again, the queued bump is applied.
  EXPECT_TRUE(cache.flush_pending_bumps(5s));
  EXPECT_EQ(cache.stats().outbox_pending, 0u);
}

TEST_F(RedisReplicationTest, ABatchIncrementTheReplicaDoesNotAcknowledgeThrowsTimeout) {
  auto generous = make_redis_backend(waiting_options(master, 1));
  ASSERT_TRUE(generous->create_counter("gc1:n:a", 10, test::kNoTtl));
  ASSERT_TRUE(generous->create_counter("gc1:n:b", 20, test::kNoTtl));
  const std::string_view keys[] = {"gc1:n:a", "gc1:n:b"};
  // Acknowledged: both moved, and the replica has them when the call returns.
  const auto results = generous->increment_many(keys, 1);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].value, std::optional<std::uint64_t>(11));
  EXPECT_EQ(replica->command({"GET", "gc1:n:b"}), "21");
  // Not acknowledged: a multi-namespace bump must fail as a single one does.
  auto backend = make_redis_backend(waiting_options(master, 1, 200ms));
  replica->pause();
  EXPECT_EQ(test::code_thrown_by([&] { backend->increment_many(keys, 1); }), errc::timeout);
  replica->resume();
}

TEST_F(RedisReplicationTest, MoreReplicasThanExistMakeEveryCounterWriteFail) {
  auto backend = make_redis_backend(waiting_options(master, 2, 200ms));
  EXPECT_EQ(
      test::code_thrown_by([&] { backend->create_counter("gc1:n:two", 4294967296, test::kNoTtl); }),
      errc::timeout);
  // The value was written on the master; only the promise of surviving a failover failed.
  EXPECT_EQ(master.command({"GET", "gc1:n:two"}), "4294967296");
}

TEST_F(RedisReplicationTest, WithoutWaitReplicasNoWaitIsSent) {
  auto backend = make_redis_backend(waiting_options(master, 0));
  replica->pause();
  ASSERT_TRUE(backend->create_counter("gc1:n:c", 4294967296, test::kNoTtl));
  EXPECT_EQ(backend->increment("gc1:n:c", 1), std::optional<std::uint64_t>(4294967297));
  replica->resume();
}

TEST_F(RedisReplicationTest, EntriesAreWrittenWithoutWaiting) {
  auto backend = make_redis_backend(waiting_options(master, 1, 200ms));
  replica->pause();
  const auto start = std::chrono::steady_clock::now();
  backend->set("gc1:k:|entry", "value", test::kNoTtl);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 150ms);
  replica->resume();
}

// What wait_replicas is for, step by step on one master and its replica: the replica is
// cut off (stopped, its link closed by the master, so nothing sent later reaches it), the
// master acknowledges a bump and dies, and the replica takes over (REPLICAOF NO ONE, as a
// failover would).
class ReplicaTakeover : public RedisReplicationTest {
 protected:
  void cut_off_replica() {
    replica->pause();
    master.command({"CLIENT", "KILL", "TYPE", "replica"});
  }
  // A Cache on the replica, once it is the master.
  Cache take_over() {
    master.stop();
    replica->resume();
    replica->command({"REPLICAOF", "NO", "ONE"});
    RedisOptions options;
    options.port = replica->port();
    options.io_timeout = 1s;
    return Cache(make_redis_backend(options));
  }
};

TEST_F(ReplicaTakeover, WithoutWaitABumpTheReplicaMissedIsLostAndItsEntriesComeBack) {
  Cache cache(make_redis_backend(waiting_options(master, 0)));
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, [] { return 1; }), 1);
  ASSERT_TRUE(test::wait_for_master_link(*replica));
  wait_until_caught_up(master, *replica);  // the entry and its counter are on the replica
  cut_off_replica();
  cache.bump_namespace(ns("user", 1));  // returns: the master alone has it
  Cache after = take_over();
  // Not promised with wait_replicas=0 (README, "Failover"): the invalidated value is back.
  EXPECT_EQ(after.cached("page", ns("user", 1), 1min, [] { return 2; }), 1);
}

TEST_F(ReplicaTakeover, WithWaitReplicasOneThatBumpFailsLoudlyInsteadOfReturning) {
  Cache cache(make_redis_backend(waiting_options(master, 1, 200ms)));
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, [] { return 1; }), 1);
  cut_off_replica();
  EXPECT_THROW(cache.bump_namespace(ns("user", 1)), backend_error);
  // The caller knows the invalidation may not have happened (and the outbox, when on,
  // retries it); a bump that returned would have been on the replica:
  Cache after = take_over();
  RedisOptions options = waiting_options(*replica, 0);
  Cache retried(make_redis_backend(options));
  retried.bump_namespace(ns("user", 1));
  EXPECT_EQ(after.cached("page", ns("user", 1), 1min, [] { return 2; }), 2);
}

TEST(RedisWaitOptions, UrlParametersMapToOptions) {
  detail::UrlOptions query("redis", {{"wait_replicas", "1"}, {"wait_timeout", "20ms"}});
  const RedisOptions options = detail::redis_options_from_url("127.0.0.1:6379", "", query);
  EXPECT_NO_THROW(query.finish());
  EXPECT_EQ(options.wait_replicas, 1u);
  EXPECT_EQ(options.wait_timeout, 20ms);
  const RedisOptions defaults;
  EXPECT_EQ(defaults.wait_replicas, 0u);
  EXPECT_EQ(defaults.wait_timeout, 50ms);
}

TEST(RedisWaitOptions, OutOfRangeValuesAreRejectedNamingThem) {
  detail::UrlOptions query("redis", {{"wait_replicas", "256"}});
  EXPECT_THAT(
      test::message_thrown_by([&] { detail::redis_options_from_url("127.0.0.1", "", query); }),
      HasSubstr("wait_replicas"));
  RedisOptions options;
  options.wait_replicas = 1;
  options.wait_timeout = 0ms;
  EXPECT_THAT(test::message_thrown_by([&] { detail::make_redis_config(options); }),
              HasSubstr("wait_timeout"));
}

TEST(RedisWaitOptions, AWaitTimeoutNotShorterThanIoTimeoutIsRejected) {
  RedisOptions options;
  options.wait_replicas = 1;
  options.io_timeout = 100ms;
  options.wait_timeout = 100ms;
  EXPECT_THROW(
      {
        try {
          detail::make_redis_config(options);
        } catch (const config_error& e) {
          EXPECT_THAT(e.what(), HasSubstr("shorter than io_timeout"));
          throw;
        }
      },
      config_error);
  options.wait_replicas = 0;  // no WAIT is sent, so the timeouts do not matter
  EXPECT_NO_THROW(detail::make_redis_config(options));
}

}  // namespace
}  // namespace gencache
