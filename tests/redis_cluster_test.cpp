// Redis Cluster: slots and redirects without a server, then the backend on clusters made
// by the tests (3 masters). The contract, behaviour and stale-read suites also run on a
// 3-master cluster ("redis_cluster" kind); the failover oracle is redis_failover_test.
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/redis/cluster_slots.hpp"
#include "backends/redis/redis_errors.hpp"
#include "backends/redis/redis_url.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "gencache/redis_backend.hpp"
#include "gencache/testing.hpp"
#include "key_encoding.hpp"
#include "random.hpp"
#include "support/backend_calls.hpp"
#include "support/redis_cluster.hpp"
#include "url_options.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

using detail::cluster_key_slot;

// --- slots, without a server ------------------------------------------------------------

TEST(ClusterKeySlot, MatchesWhatClusterKeyslotAnswers) {
  // Answers of CLUSTER KEYSLOT from redis-server 7.0.
  EXPECT_EQ(cluster_key_slot("foo"), 12182);
  EXPECT_EQ(cluster_key_slot("bar"), 5061);
  EXPECT_EQ(cluster_key_slot(""), 0);
  EXPECT_EQ(cluster_key_slot("gc1:n:user:42"), 14177);
  EXPECT_EQ(cluster_key_slot("{ae1d}gc1:n:user:42"), 1403);
}

TEST(ClusterKeySlot, OnlyTheFirstNonEmptyHashTagCounts) {
  EXPECT_EQ(cluster_key_slot("{user1000}.following"), 3443);
  EXPECT_EQ(cluster_key_slot("{user1000}.followers"), 3443);
  EXPECT_EQ(cluster_key_slot("foo{bar}{zap}"), 5061);  // the slot of "bar"
  EXPECT_EQ(cluster_key_slot("foo{}{bar}"), 8363);     // an empty tag: the whole key
  EXPECT_EQ(cluster_key_slot("foo{{bar}}zap"), 4015);  // the tag is "{bar"
  EXPECT_EQ(cluster_key_slot("{}abc"), 5980);
  EXPECT_EQ(cluster_key_slot("a{b"), 13340);  // no '}': the whole key
}

// The keys a Cache builds for one namespace, and for entries it comes first in.
struct TaggedKeys {
  std::string counter;
  std::string entry;
};

TaggedKeys tagged_keys(const Namespace& first, const NamespaceSet& set, std::string_view prefix,
                       std::string_view key) {
  std::string counter_prefix;
  detail::build_hash_tagged_prefix(counter_prefix, prefix, first);
  std::string entry_prefix;
  detail::build_hash_tagged_prefix(entry_prefix, prefix, set[0]);
  const std::vector<std::uint64_t> generations(set.size(), detail::min_fresh_generation);
  return {detail::counter_key(counter_prefix, first),
          detail::versioned_key(entry_prefix, set, generations, key)};
}

TEST(ClusterHashTag, ANamespacesCounterAndItsEntriesShareASlot) {
  const Namespace user = ns("user", 42);
  // "aaa" sorts before "user:42", so it leads the canonical order of the second set.
  for (const auto& [set, first] :
       {std::pair(NamespaceSet{user}, user), std::pair(NamespaceSet{user, ns("zzz")}, user),
        std::pair(NamespaceSet{ns("aaa"), user}, ns("aaa"))}) {
    for (const std::string& key :
         {std::string("/page?x=1"), std::string(400, 'x'), std::string("{braces}in}the{key")}) {
      for (std::string_view prefix : {"", "app{:"}) {
        const TaggedKeys keys = tagged_keys(first, set, prefix, key);
        EXPECT_EQ(cluster_key_slot(keys.counter), cluster_key_slot(keys.entry))
            << keys.counter << " / " << keys.entry;
        EXPECT_LE(keys.entry.size(), detail::max_backend_key);
      }
    }
  }
}

TEST(ClusterHashTag, TheTagIsTheCrc16OfTheNameInLowercaseHex) {
  std::string prefix;
  detail::build_hash_tagged_prefix(prefix, "app:", ns("user", 42));
  EXPECT_EQ(prefix, "{3e08}app:");  // binascii.crc_hqx(b"user:42", 0) == 0x3e08
  EXPECT_EQ(detail::counter_key(prefix, ns("user", 42)), "{3e08}app:gc1:n:user:42");
  // docs/PROTOCOL.md's example: the entry is placed by its first namespace, catalog.
  detail::build_hash_tagged_prefix(prefix, "app:", ns("catalog"));
  const std::vector<std::uint64_t> generations{4294967296, 5208315727};
  EXPECT_EQ(detail::versioned_key(prefix, {ns("user", 42), ns("catalog")}, generations,
                                  "/dashboard?page=2"),
            "{2399}app:gc1:k:catalog@4294967296,user:42@5208315727|/dashboard?page=2");
}

// A reply parsed by hiredis from RESP text, as it would come from a server.
struct ParsedReply {
  std::unique_ptr<redisReply, void (*)(void*)> reply{nullptr, freeReplyObject};
};

ParsedReply parse_resp(std::string_view bytes) {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, bytes.data(), bytes.size());
  void* reply = nullptr;
  const int status = redisReaderGetReply(reader, &reply);
  redisReaderFree(reader);
  if (status != REDIS_OK || reply == nullptr) throw std::runtime_error("incomplete RESP");
  ParsedReply parsed;
  parsed.reply.reset(static_cast<redisReply*>(reply));
  return parsed;
}

TEST(ClusterSlots, RangesAndTheirMastersAreRead) {
  const ParsedReply parsed = parse_resp(
      "*2\r\n"
      "*4\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"
      "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$3\r\nid2\r\n"
      "*3\r\n:5461\r\n:16383\r\n*3\r\n$0\r\n\r\n:7001\r\n$3\r\nid3\r\n");
  const auto ranges =
      detail::parse_cluster_slots(*parsed.reply, {"10.0.0.9", 7001}, "redis://10.0.0.9:7001");
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].first, 0);
  EXPECT_EQ(ranges[0].last, 5460);
  EXPECT_EQ(ranges[0].master, (detail::ClusterNodeAddress{"127.0.0.1", 7000}));
  EXPECT_EQ(ranges[1].first, 5461);
  EXPECT_EQ(ranges[1].last, 16383);
  // A node that does not know its own address is the node that was asked.
  EXPECT_EQ(ranges[1].master, (detail::ClusterNodeAddress{"10.0.0.9", 7001}));
}

TEST(ClusterSlots, MalformedRepliesThrowProtocolNamingTheServer) {
  for (std::string_view bytes :
       {"+OK\r\n", "*1\r\n:5\r\n", "*1\r\n*3\r\n:10\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n",
        "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n",
        "*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:0\r\n"}) {
    const ParsedReply parsed = parse_resp(bytes);
    try {
      detail::parse_cluster_slots(*parsed.reply, {"h", 1}, "redis://h:1");
      ADD_FAILURE() << "accepted " << bytes;
    } catch (const backend_error& e) {
      EXPECT_EQ(e.code(), errc::protocol);
      EXPECT_THAT(e.what(), HasSubstr("redis://h:1"));
    }
  }
  const ParsedReply error = parse_resp("-ERR This instance has cluster support disabled\r\n");
  EXPECT_THAT(test::message_thrown_by([&] {
                detail::parse_cluster_slots(*error.reply, {"h", 1}, "redis://h:1");
              }),
              HasSubstr("cluster support disabled"));
}

TEST(ClusterRedirect, MovedAndAskAreRead) {
  const auto moved = detail::parse_redis_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved.has_value());
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->host, "127.0.0.1");
  EXPECT_EQ(moved->port, 6381);
  const auto ask = detail::parse_redis_redirect("ASK 0 ::1:7000");
  ASSERT_TRUE(ask.has_value());
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(ask->host, "::1");
  EXPECT_EQ(ask->port, 7000);
  for (std::string_view other : {"ERR unknown", "MOVED", "MOVED 16384 h:1", "MOVED 1 h:0",
                                 "MOVED 1 h", "MOVED x h:1", "ASK 1 :1", "MOVEDX 1 h:1"})
    EXPECT_FALSE(detail::parse_redis_redirect(other).has_value()) << other;
}

// --- URLs --------------------------------------------------------------------------------

std::shared_ptr<Backend> from_url(std::string_view authority, std::string_view path,
                                  std::vector<std::pair<std::string, std::string>> query) {
  detail::UrlOptions params("redis", std::move(query));
  return detail::redis_backend_from_url("redis", authority, path, params);
}

TEST(ClusterUrl, SeveralServersWithClusterTrueAreTheSeeds) {
  const auto backend = from_url("10.0.0.1:7000,10.0.0.2,[::1]:7002", "", {{"cluster", "true"}});
  EXPECT_EQ(backend->describe(), "redis://10.0.0.1:7000,10.0.0.2:6379,[::1]:7002?cluster=true");
  EXPECT_TRUE(backend->wants_hash_tags());
  EXPECT_TRUE(from_url("10.0.0.1:7000", "", {{"cluster", "true"}})->wants_hash_tags());
  EXPECT_FALSE(from_url("10.0.0.1:7000", "", {})->wants_hash_tags());
}

TEST(ClusterUrl, SeveralServersWithoutClusterAreRejected) {
  EXPECT_THAT(test::message_thrown_by([] { from_url("h1:1,h2:2", "", {}); }),
              HasSubstr("add cluster=true"));
}

TEST(ClusterUrl, BadSeedsAndDatabasesAreRejectedNamingThem) {
  EXPECT_THAT(test::message_thrown_by([] {
                from_url("h1:1,,h2:2", "", {{"cluster", "1"}});
              }),
              HasSubstr("empty server"));
  EXPECT_THAT(test::message_thrown_by([] {
                from_url("h1:1,h2:99999", "", {{"cluster", "1"}});
              }),
              HasSubstr("99999"));
  EXPECT_THAT(test::message_thrown_by([] {
                from_url("h1:1,h2:2", "/3", {{"cluster", "1"}});
              }),
              HasSubstr("only database 0"));
  EXPECT_THAT(test::message_thrown_by([] { make_redis_cluster_backend({}); }), HasSubstr("seeds"));
}

TEST(ClusterUrl, CredentialsApplyToEveryNodeAndAreNeverShown) {
  const auto backend = from_url("user:s3cret@h1:1,h2:2", "", {{"cluster", "true"}});
  EXPECT_THAT(backend->describe(), ::testing::Not(HasSubstr("s3cret")));
  EXPECT_THROW(Cache::from_url("redis://h1:1,h2:2?cluster=true&bogus=1"), config_error);
}

// --- on a cluster ---------------------------------------------------------------------

// The MGETs each master served since its statistics were last reset.
long long mget_calls(const test::RedisServer& node) {
  const std::string stats = node.command({"INFO", "commandstats"});
  const auto at = stats.find("cmdstat_mget:calls=");
  if (at == std::string::npos) return 0;
  return std::stoll(stats.substr(at + 19));
}

// The MOVED replies `node` has sent (INFO errorstats).
long long moved_errors(const test::RedisServer& node) {
  const std::string stats = node.command({"INFO", "errorstats"});
  const auto at = stats.find("errorstat_MOVED:count=");
  if (at == std::string::npos) return 0;
  return std::stoll(stats.substr(at + 22));
}

class RedisClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new test::RedisClusterServers({.masters = 3}); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    for (std::uint16_t port : cluster_->master_ports()) masters_.push_back(&node(port));
    for (auto* master : masters_) master->command({"FLUSHALL"});
  }

  static test::RedisServer& node(std::uint16_t port) {
    for (const auto& n : cluster_->nodes())
      if (n->port() == port) return *n;
    throw std::runtime_error("no such node");
  }
  void reset_stats() {
    for (auto* master : masters_) master->command({"CONFIG", "RESETSTAT"});
  }
  long long total_mgets() {
    long long total = 0;
    for (auto* master : masters_) total += mget_calls(*master);
    return total;
  }
  // A namespace whose keys live on each master: three namespaces on three nodes.
  std::vector<Namespace> namespaces_on_every_master(std::shared_ptr<Backend> backend) {
    std::map<std::uint16_t, Namespace> by_port;
    for (int i = 0; by_port.size() < masters_.size() && i < 1000; ++i) {
      const Namespace candidate = ns("spread", i);
      const std::uint16_t slot = cluster_key_slot(testing::counter_key(*backend, candidate));
      by_port.emplace(cluster_->master_of(slot).port(), candidate);
    }
    std::vector<Namespace> out;
    for (const auto& [port, n] : by_port) out.push_back(n);
    return out;
  }

  static test::RedisClusterServers* cluster_;
  std::vector<test::RedisServer*> masters_;
  std::shared_ptr<Backend> backend_ = make_redis_cluster_backend(cluster_->options());
};

test::RedisClusterServers* RedisClusterTest::cluster_ = nullptr;

TEST_F(RedisClusterTest, SlotsAgreeWithTheServerForManyKeys) {
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string key = fmt::format("k{}:{}", rng(), i);
    if (i % 3 == 0) key = fmt::format("x{{{}}}y", rng() % 100);
    EXPECT_EQ(std::to_string(cluster_key_slot(key)),
              masters_[0]->command({"CLUSTER", "KEYSLOT", key}))
        << key;
  }
}

TEST_F(RedisClusterTest, ASteadyReadOfOneNamespaceIsOneMgetToOneNode) {
  Cache cache(backend_);
  int computes = 0;
  const auto compute = [&] { return ++computes; };
  EXPECT_EQ(cache.cached("page", ns("user", 42), 1min, compute), 1);
  EXPECT_EQ(cache.cached("page", ns("user", 42), 1min, compute), 1);
  reset_stats();
  const Stats before = cache.stats();
  EXPECT_EQ(cache.cached("page", ns("user", 42), 1min, compute), 1);
  EXPECT_EQ(cache.stats().round_trips, before.round_trips + 1);
  EXPECT_EQ(total_mgets(), 1);
}

TEST_F(RedisClusterTest, AReadOfThreeNamespacesOnThreeNodesIsOneMgetEachAndNeverCrossslot) {
  Cache cache(backend_);
  const std::vector<Namespace> spread = namespaces_on_every_master(backend_);
  ASSERT_EQ(spread.size(), 3u);
  const NamespaceSet set{spread[0], spread[1], spread[2]};
  int computes = 0;
  const auto compute = [&] { return ++computes; };
  EXPECT_EQ(cache.cached("report", set, 1min, compute), 1);
  EXPECT_EQ(cache.cached("report", set, 1min, compute), 1);
  reset_stats();
  EXPECT_EQ(cache.cached("report", set, 1min, compute), 1);
  for (auto* master : masters_) EXPECT_EQ(mget_calls(*master), 1) << master->address();
  for (const Namespace& n : spread) {
    cache.bump_namespace(n);
    const int expected = computes + 1;
    EXPECT_EQ(cache.cached("report", set, 1min, compute), expected);
    EXPECT_EQ(cache.cached("report", set, 1min, compute), expected);
  }
  EXPECT_EQ(cache.stats().errors, 0u);
}

TEST_F(RedisClusterTest, AReadOfKeysOnEverySlotGetsEachValueAtItsPlace) {
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) keys.push_back(fmt::format("key{}", i));
  for (std::size_t i = 0; i < keys.size(); i += 2) backend_->set(keys[i], keys[i] + "!", 0ms);
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<std::optional<std::string>> values;
  backend_->get_many(views, values);
  ASSERT_EQ(values.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i % 2 == 0)
      EXPECT_EQ(values[i], std::optional(keys[i] + "!"));
    else
      EXPECT_EQ(values[i], std::nullopt);
  }
}

TEST_F(RedisClusterTest, MovedIsFollowedAndTheSlotMapReadAgain) {
  const std::string key = "moving";
  const std::uint16_t slot = cluster_key_slot(key);
  backend_->set(key, "before", 0ms);  // the backend has the slot map now
  backend_->remove(key);
  test::RedisServer& from = cluster_->master_of(slot);
  test::RedisServer* to = masters_[0] == &from ? masters_[1] : masters_[0];
  const std::string to_id = to->command({"CLUSTER", "MYID"});
  // The slot is empty, so it may simply be given away: to first, then everyone else.
  to->command({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to_id});
  for (auto* master : masters_)
    if (master != to) master->command({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to_id});
  backend_->set(key, "after", 0ms);
  EXPECT_EQ(to->command({"GET", key}), "after");
  EXPECT_EQ(test::get(*backend_, key), std::optional<std::string>("after"));
  // The MOVED made the backend read the map again: later calls go straight to `to`.
  std::this_thread::sleep_for(150ms);  // past the 100 ms between reads of the map
  backend_->set(key, "first", 0ms);    // may still be redirected once, and re-reads the map
  const long long moved_before = moved_errors(from);
  for (int i = 0; i < 10; ++i) backend_->set(key, "direct", 0ms);
  EXPECT_EQ(moved_errors(from), moved_before) << "no call was sent to the old owner";
  // Give it back, so the other tests see the cluster as it was made.
  backend_->remove(key);
  const std::string from_id = from.command({"CLUSTER", "MYID"});
  from.command({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", from_id});
  for (auto* master : masters_)
    if (master != &from)
      master->command({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", from_id});
  ASSERT_TRUE(cluster_->wait_until_healthy());
}

TEST_F(RedisClusterTest, AskIsFollowedWithAskingWhileASlotMigrates) {
  const std::string key = "migrating";
  const std::uint16_t slot = cluster_key_slot(key);
  backend_->remove(key);  // the backend has the slot map now
  test::RedisServer& from = cluster_->master_of(slot);
  test::RedisServer* to = masters_[0] == &from ? masters_[1] : masters_[0];
  const std::string from_id = from.command({"CLUSTER", "MYID"});
  const std::string to_id = to->command({"CLUSTER", "MYID"});
  const std::string slot_text = std::to_string(slot);
  to->command({"CLUSTER", "SETSLOT", slot_text, "IMPORTING", from_id});
  from.command({"CLUSTER", "SETSLOT", slot_text, "MIGRATING", to_id});
  // The key is not on `from`, so `from` answers ASK; the write lands on `to`.
  EXPECT_TRUE(backend_->add(key, "v", 0ms));
  EXPECT_THAT(from.command({"GET", key}), HasSubstr("ASK"));
  EXPECT_EQ(test::get(*backend_, key), std::optional<std::string>("v"));
  const std::string counter = "{migrating}counter";  // the same slot
  EXPECT_TRUE(backend_->create_counter(counter, 4294967296, 0ms));
  EXPECT_EQ(backend_->increment(counter, 1), std::optional<std::uint64_t>(4294967297));
  EXPECT_TRUE(backend_->remove(key));
  EXPECT_TRUE(backend_->remove(counter));
  // The migration is called off.
  from.command({"CLUSTER", "SETSLOT", slot_text, "STABLE"});
  to->command({"CLUSTER", "SETSLOT", slot_text, "STABLE"});
  ASSERT_TRUE(cluster_->wait_until_healthy());
}

TEST_F(RedisClusterTest, CacheFromUrlWorksOnTheCluster) {
  Cache cache = Cache::from_url(cluster_->url("io_timeout=1s&connect_timeout=1s"));
  EXPECT_EQ(cache.cached("k", ns("a"), 1min, [] { return 5; }), 5);
  EXPECT_EQ(cache.get<int>("k", ns("a")), std::optional(5));
}

TEST(RedisClusterSeeds, AServerWithoutClusterSupportIsAClearError) {
  test::RedisServer plain;
  RedisClusterOptions options;
  options.seeds = {{"127.0.0.1", plain.port()}};
  auto backend = make_redis_cluster_backend(options);
  const std::string message = test::message_thrown_by([&] { test::get(*backend, "k"); });
  EXPECT_THAT(message, HasSubstr("no node gave the slot map"));
  EXPECT_THAT(message, HasSubstr("cluster support disabled"));
  EXPECT_EQ(test::code_thrown_by([&] { backend->increment("k", 1); }), errc::backend_unavailable);
}

TEST(RedisClusterRestart, AMasterRestartedWithoutPersistenceHasItsCountersRecreatedFresh) {
  test::RedisClusterServers cluster({.masters = 3});
  Cache cache(make_redis_cluster_backend(cluster.options()));
  const Namespace user = ns("user", 42);
  EXPECT_EQ(cache.cached("k", user, 1min, [] { return 1; }), 1);
  const std::uint64_t before = cache.generation(user);
  const std::uint16_t slot = cluster_key_slot(testing::counter_key(cache.backend(), user));
  test::RedisServer& master = cluster.master_of(slot);
  master.stop();
  master.start();  // same port, same nodes.conf, no data
  ASSERT_TRUE(cluster.wait_until_healthy());
  const Stats stats = cache.stats();
  const std::uint64_t after = cache.generation(user);
  EXPECT_NE(after, before);
  EXPECT_NE(after, before + 1);
  EXPECT_GE(after, detail::min_fresh_generation);
  EXPECT_EQ(cache.stats().counter_recreations, stats.counter_recreations + 1);
  EXPECT_EQ(cache.cached("k", user, 1min, [] { return 2; }), 2) << "the old entry is gone";
}

}  // namespace
}  // namespace gencache
