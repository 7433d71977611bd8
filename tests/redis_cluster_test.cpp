// Redis Cluster: slots and redirects without a server, then the backend on clusters made
// by the tests (3 masters). The contract, behaviour and stale-read suites also run on a
// 3-master cluster ("redis_cluster" kind); the failover oracle is redis_failover_test.
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "async_backend_thread.hpp"
#include "backends/redis/cluster_slots.hpp"
#include "backends/redis/redis_errors.hpp"
#include "backends/redis/redis_url.hpp"
#include "gencache/async_cache.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "gencache/redis_async_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "gencache/testing.hpp"
#include "key_encoding.hpp"
#include "random.hpp"
#include "support/backend_calls.hpp"
#include "support/redis_cluster.hpp"
#include "support/test_certificates.hpp"
#include "url_options.hpp"

namespace gencache {
namespace {

namespace asio = boost::asio;
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

TEST(ClusterUrl, RedissWithClusterTrueIsTheAsynchronousClusterClientOverTls) {
  detail::UrlOptions query("rediss", {{"tls_ca_file", "/ca.pem"},
                                      {"tls_server_name", "cache.example.org"},
                                      {"connections", "2"},
                                      {"io_timeout", "250ms"}});
  const RedisAsyncClusterOptions options =
      detail::redis_async_cluster_options_from_url("rediss", "u:pw@h1:7000,h2:7001", "", query);
  EXPECT_NO_THROW(query.finish());
  EXPECT_TRUE(options.tls.enabled);
  EXPECT_EQ(options.tls.ca_file, "/ca.pem");
  EXPECT_EQ(options.tls.server_name, "cache.example.org");
  EXPECT_EQ(options.connections, 2u);
  ASSERT_EQ(options.cluster.seeds.size(), 2u);
  EXPECT_EQ(options.cluster.seeds[1].host, "h2");
  EXPECT_EQ(options.cluster.seeds[1].port, 7001);
  EXPECT_EQ(options.cluster.connection.username, "u");
  EXPECT_EQ(options.cluster.connection.io_timeout, 250ms);
  // Both APIs take the URL, and connect lazily; a Cache on it drives the async client.
  const Cache cache = Cache::from_url("rediss://h1:7000,h2:7001?cluster=true");
  EXPECT_EQ(cache.backend().describe(), "rediss://h1:7000,h2:7001?cluster=true");
  EXPECT_TRUE(cache.backend().wants_hash_tags());
  EXPECT_THAT(test::message_thrown_by([] {
                Cache::from_url("rediss://h1:1?cluster=true&tls_ca_file=/no/such/ca.pem");
              }),
              HasSubstr("tls_ca_file"));
  EXPECT_THAT(test::message_thrown_by(
                  [] { Cache::from_url("redis://h1:1,h2:2?cluster=true&connections=2"); }),
              HasSubstr("use pool_max"));
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

// The clients a cluster test runs over: the blocking hiredis client ("hiredis", what
// Cache::from_url makes of redis://...?cluster=true), and the asynchronous one in
// plaintext ("async", what AsyncCache::from_url makes of it) and over TLS ("tls",
// rediss://...?cluster=true for both APIs), those two driven as a blocking Backend on an
// I/O thread (AsyncBackendThread), as Cache::from_url drives rediss://.
class RedisClusterTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    certificates_ = new test::TestCertificates();
    cluster_ = new test::RedisClusterServers({.masters = 3, .tls = certificates_});
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete certificates_;
    certificates_ = nullptr;
  }
  void SetUp() override {
    for (std::uint16_t port : cluster_->master_ports()) masters_.push_back(&node(port));
    for (auto* master : masters_) master->command({"FLUSHALL"});
  }

  bool tls() const { return GetParam() == "tls"; }

  // A new client of the kind under test, with `io_timeout` (1 s: the fixture's).
  static std::shared_ptr<Backend> client(std::string_view kind,
                                         std::chrono::milliseconds io_timeout = 1s) {
    RedisClusterOptions cluster = kind == "tls" ? cluster_->tls_options() : cluster_->options();
    cluster.connection.io_timeout = io_timeout;
    if (kind == "hiredis") return make_redis_cluster_backend(std::move(cluster));
    RedisAsyncClusterOptions options;
    options.cluster = std::move(cluster);
    if (kind == "tls") {
      options.tls.enabled = true;
      options.tls.ca_file = certificates_->file("ca.pem");
    }
    return std::make_shared<detail::AsyncBackendThread>([&](boost::asio::any_io_executor executor) {
      return make_redis_async_cluster_backend(std::move(executor), options);
    });
  }

  // The cluster's URL for the client under test, with 1 s timeouts.
  std::string url() const {
    const std::string query = "io_timeout=1s&connect_timeout=1s";
    if (!tls()) return cluster_->url(query);
    std::string text = "rediss://";
    for (const auto& n : cluster_->nodes())
      text += fmt::format("{}127.0.0.1:{}", text.size() > 9 ? "," : "", cluster_->tls_port(*n));
    return text + "?cluster=true&" + query + "&tls_ca_file=" + certificates_->file("ca.pem");
  }

  static test::RedisServer& node(std::uint16_t port) {
    for (const auto& n : cluster_->nodes())
      if (n->port() == port) return *n;
    throw std::runtime_error("no such node");
  }
  // The port MIGRATE reaches `server` on: in a cluster with tls-cluster, it speaks TLS.
  static std::uint16_t client_port(const test::RedisServer& server) {
    return cluster_->tls_port(server);
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
  std::vector<Namespace> namespaces_on_every_master(const Backend& backend) {
    std::map<std::uint16_t, Namespace> by_port;
    for (int i = 0; by_port.size() < masters_.size() && i < 1000; ++i) {
      const Namespace candidate = ns("spread", i);
      const std::uint16_t slot = cluster_key_slot(testing::counter_key(backend, candidate));
      by_port.emplace(cluster_->master_of(slot).port(), candidate);
    }
    std::vector<Namespace> out;
    for (const auto& [port, n] : by_port) out.push_back(n);
    return out;
  }
  // Another master than `from`.
  test::RedisServer& other_master(const test::RedisServer& from) const {
    return masters_[0] == &from ? *masters_[1] : *masters_[0];
  }
  // Gives `slot` (and every key in it) of `from` to `to`, as redis-cli --cluster reshard
  // does: IMPORTING and MIGRATING, MIGRATE of each key, then NODE on every master.
  void move_slot(std::uint16_t slot, test::RedisServer& from, test::RedisServer& to) {
    const std::string slot_text = std::to_string(slot);
    to.command({"CLUSTER", "SETSLOT", slot_text, "IMPORTING", from.command({"CLUSTER", "MYID"})});
    from.command({"CLUSTER", "SETSLOT", slot_text, "MIGRATING", to.command({"CLUSTER", "MYID"})});
    migrate_keys(slot, from, to);
    give_slot(slot, to);
  }
  // MIGRATEs the keys of `slot` (a few) from `from` to `to`, one at a time.
  void migrate_keys(std::uint16_t slot, test::RedisServer& from, test::RedisServer& to) {
    std::istringstream keys(
        from.command({"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "100"}));
    for (std::string key; std::getline(keys, key);)
      ASSERT_EQ(
          from.command({"MIGRATE", "127.0.0.1", std::to_string(client_port(to)), key, "0", "5000"}),
          "OK")
          << key;
  }
  // Ends a migration of `slot` to `to` (or gives an empty slot away): every master says
  // so, and is waited for until it sends a key of the slot there.
  void give_slot(std::uint16_t slot, test::RedisServer& to) {
    const std::string id = to.command({"CLUSTER", "MYID"});
    to.command({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", id});
    for (auto* master : masters_)
      if (master != &to) master->command({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", id});
    std::string key;
    for (int i = 0; key.empty() || cluster_key_slot(key) != slot; ++i) key = fmt::format("k{}", i);
    const std::string moved = fmt::format("MOVED {} 127.0.0.1:{}", slot, to.port());
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (auto* master : masters_) {
      while (master != &to && master->command({"EXISTS", key}) != moved &&
             std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
      if (master != &to) {
        EXPECT_EQ(master->command({"EXISTS", key}), moved) << master->address();
      }
    }
  }

  static test::TestCertificates* certificates_;
  static test::RedisClusterServers* cluster_;
  std::vector<test::RedisServer*> masters_;
  std::shared_ptr<Backend> backend_ = client(GetParam());
};

test::TestCertificates* RedisClusterTest::certificates_ = nullptr;
test::RedisClusterServers* RedisClusterTest::cluster_ = nullptr;

std::string client_name(const ::testing::TestParamInfo<std::string>& client) {
  return client.param;
}

TEST_P(RedisClusterTest, SlotsAgreeWithTheServerForManyKeys) {
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string key = fmt::format("k{}:{}", rng(), i);
    if (i % 3 == 0) key = fmt::format("x{{{}}}y", rng() % 100);
    EXPECT_EQ(std::to_string(cluster_key_slot(key)),
              masters_[0]->command({"CLUSTER", "KEYSLOT", key}))
        << key;
  }
}

TEST_P(RedisClusterTest, ASteadyReadOfOneNamespaceIsOneMgetToOneNode) {
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

TEST_P(RedisClusterTest, AReadOfThreeNamespacesOnThreeNodesIsOneMgetEachAndNeverCrossslot) {
  Cache cache(backend_);
  const std::vector<Namespace> spread = namespaces_on_every_master(*backend_);
  ASSERT_EQ(spread.size(), 3u);
  const NamespaceSet set{spread[0], spread[1], spread[2]};
  int computes = 0;
  const auto compute = [&] { return ++computes; };
  EXPECT_EQ(cache.cached("report", set, 1min, compute), 1);
  EXPECT_EQ(cache.cached("report", set, 1min, compute), 1);
  reset_stats();
  const Stats before = cache.stats();
  EXPECT_EQ(cache.cached("report", set, 1min, compute), 1);
  EXPECT_EQ(cache.stats().round_trips, before.round_trips + 1);
  for (auto* master : masters_) EXPECT_EQ(mget_calls(*master), 1) << master->address();
  for (const Namespace& n : spread) {
    cache.bump_namespace(n);
    const int expected = computes + 1;
    EXPECT_EQ(cache.cached("report", set, 1min, compute), expected);
    EXPECT_EQ(cache.cached("report", set, 1min, compute), expected);
  }
  EXPECT_EQ(cache.stats().errors, 0u);
}

TEST_P(RedisClusterTest, AReadOfKeysOnEverySlotGetsEachValueAtItsPlace) {
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

TEST_P(RedisClusterTest, MovedIsFollowedAndTheSlotMapReadAgain) {
  const std::string key = "moving";
  const std::uint16_t slot = cluster_key_slot(key);
  backend_->set(key, "before", 0ms);  // the backend has the slot map now
  backend_->remove(key);
  test::RedisServer& from = cluster_->master_of(slot);
  test::RedisServer& to = other_master(from);
  give_slot(slot, to);  // the slot is empty, so it may simply be given away
  backend_->set(key, "after", 0ms);
  EXPECT_EQ(to.command({"GET", key}), "after");
  EXPECT_EQ(test::get(*backend_, key), std::optional<std::string>("after"));
  // The MOVED made the backend read the map again: later calls go straight to `to`.
  std::this_thread::sleep_for(150ms);  // past the 100 ms between reads of the map
  backend_->set(key, "first", 0ms);    // may still be redirected once, and re-reads the map
  std::this_thread::sleep_for(50ms);   // the asynchronous client reads it in the background
  const long long moved_before = moved_errors(from);
  for (int i = 0; i < 10; ++i) backend_->set(key, "direct", 0ms);
  EXPECT_EQ(moved_errors(from), moved_before) << "no call was sent to the old owner";
  // Give it back, so the other tests see the cluster as it was made.
  backend_->remove(key);
  give_slot(slot, from);
  ASSERT_TRUE(cluster_->wait_until_healthy());
}

TEST_P(RedisClusterTest, AskIsFollowedWithAskingWhileASlotMigrates) {
  const std::string key = "migrating";
  const std::uint16_t slot = cluster_key_slot(key);
  backend_->remove(key);  // the backend has the slot map now
  test::RedisServer& from = cluster_->master_of(slot);
  test::RedisServer& to = other_master(from);
  const std::string slot_text = std::to_string(slot);
  to.command({"CLUSTER", "SETSLOT", slot_text, "IMPORTING", from.command({"CLUSTER", "MYID"})});
  from.command({"CLUSTER", "SETSLOT", slot_text, "MIGRATING", to.command({"CLUSTER", "MYID"})});
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
  to.command({"CLUSTER", "SETSLOT", slot_text, "STABLE"});
  ASSERT_TRUE(cluster_->wait_until_healthy());
}

TEST_P(RedisClusterTest, AReshardedNamespaceKeepsItsEntriesAndCounterThroughAskAndMoved) {
  Cache cache(backend_);
  // A slot per client: Redis may take a while to settle a slot moved back and forth.
  const Namespace user = ns("resharded", GetParam());
  const std::uint16_t slot = cluster_key_slot(testing::counter_key(*backend_, user));
  int computes = 0;
  const auto compute = [&] { return ++computes; };
  EXPECT_EQ(cache.cached("page", user, 1min, compute), 1);
  const std::uint64_t generation = cache.generation(user);
  test::RedisServer& from = cluster_->master_of(slot);
  test::RedisServer& to = other_master(from);
  const std::string slot_text = std::to_string(slot);
  to.command({"CLUSTER", "SETSLOT", slot_text, "IMPORTING", from.command({"CLUSTER", "MYID"})});
  from.command({"CLUSTER", "SETSLOT", slot_text, "MIGRATING", to.command({"CLUSTER", "MYID"})});
  migrate_keys(slot, from, to);  // the counter and the entry now live on `to`: `from` says ASK
  EXPECT_EQ(cache.cached("page", user, 1min, compute), 1) << "a hit, read after ASK";
  EXPECT_EQ(cache.bump_namespace(user), generation + 1);
  give_slot(slot, to);  // the migration ends: `from` says MOVED
  EXPECT_EQ(cache.cached("page", user, 1min, compute), 2) << "the bump holds";
  EXPECT_EQ(cache.cached("page", user, 1min, compute), 2) << "a hit, read after MOVED";
  EXPECT_EQ(cache.stats().errors, 0u);
  move_slot(slot, to, from);  // back as the cluster was made, keys and all
  ASSERT_TRUE(cluster_->wait_until_healthy());
  EXPECT_EQ(cache.cached("page", user, 1min, compute), 2) << "a hit, back on its first node";
  EXPECT_EQ(cache.generation(user), generation + 1);
}

TEST_P(RedisClusterTest, AHungNodeTimesOutItsOwnCallsOnly) {
  const auto quick = client(GetParam(), 100ms);
  const std::string hung_key = "hung";
  test::RedisServer& hung = cluster_->master_of(cluster_key_slot(hung_key));
  std::string live_key = "live";
  while (&cluster_->master_of(cluster_key_slot(live_key)) == &hung) live_key += "!";
  quick->set(hung_key, "h", 0ms);
  quick->set(live_key, "l", 0ms);
  hung.pause();  // far shorter than the cluster's node timeout (1 s): no failover
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(test::code_thrown_by([&] { test::get(*quick, hung_key); }), errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 900ms);
  EXPECT_EQ(test::get(*quick, live_key), std::optional<std::string>("l")) << "another node";
  hung.resume();
  std::optional<std::string> after;
  for (int attempt = 0; attempt < 20 && !after; ++attempt) {  // its late reply is discarded
    try {
      after = test::get(*quick, hung_key);
    } catch (const backend_error&) {
      std::this_thread::sleep_for(20ms);
    }
  }
  EXPECT_EQ(after, std::optional<std::string>("h"));
  ASSERT_TRUE(cluster_->wait_until_healthy());
}

TEST_P(RedisClusterTest, ServerStatsHaveOneEntryPerNode) {
  const std::vector<ServerStats> stats = backend_->server_stats();
  ASSERT_EQ(stats.size(), cluster_->nodes().size());
  std::set<std::string> servers;
  for (const ServerStats& one : stats) {
    EXPECT_EQ(one.error, "") << one.server;
    servers.insert(one.server);
    std::map<std::string, std::string> values(one.values.begin(), one.values.end());
    EXPECT_EQ(values["cluster_enabled"], "1") << one.server;
    // The node says which port it serves on, and it is the one named.
    const std::uint16_t port = static_cast<std::uint16_t>(std::stoi(values["tcp_port"]));
    EXPECT_EQ(one.server,
              fmt::format("127.0.0.1:{}", tls() ? cluster_->tls_port(node(port)) : port));
  }
  EXPECT_EQ(servers.size(), stats.size()) << "each node once";
}

TEST_P(RedisClusterTest, CacheFromUrlWorksOnTheCluster) {
  Cache cache = Cache::from_url(url());
  EXPECT_EQ(cache.cached("k", ns("a"), 1min, [] { return 5; }), 5);
  EXPECT_EQ(cache.get<int>("k", ns("a")), std::optional(5));
  EXPECT_EQ(cache.backend().server_stats().size(), cluster_->nodes().size());
}

INSTANTIATE_TEST_SUITE_P(Clients, RedisClusterTest, ::testing::Values("hiredis", "async", "tls"),
                         client_name);

// --- the asynchronous client with AsyncCache, on the same cluster ---------------------

class RedisAsyncClusterTest : public RedisClusterTest {};

// An AsyncCache on `url`, its event loop on a thread of its own.
class AsyncCacheOn {
 public:
  explicit AsyncCacheOn(const std::string& url)
      : cache_(AsyncCache::from_url(io_.get_executor(), url)), thread_([this] { io_.run(); }) {}
  ~AsyncCacheOn() {
    work_.reset();
    thread_.join();
  }
  AsyncCache& operator*() { return cache_; }
  AsyncCache* operator->() { return &cache_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  AsyncCache cache_;
  std::thread thread_;
};

long long connections_received(const test::RedisServer& server) {
  const std::string stats = server.command({"INFO", "stats"});
  const auto at = stats.find("total_connections_received:");
  return std::stoll(stats.substr(at + 27));
}

TEST_P(RedisAsyncClusterTest, AsyncCacheFromUrlPipelinesOverOneConnectionPerNode) {
  const std::vector<Namespace> spread = namespaces_on_every_master(*backend_);
  ASSERT_EQ(spread.size(), 3u);
  std::vector<long long> before;
  for (auto* master : masters_) before.push_back(connections_received(*master));
  {
    AsyncCacheOn cache(url());
    std::vector<std::future<std::optional<std::string>>> reads;
    for (int i = 0; i < 64; ++i)
      reads.push_back(cache->async_get(fmt::format("k{}", i), spread[i % 3], asio::use_future));
    for (auto& read : reads) EXPECT_EQ(read.get(), std::nullopt);
    EXPECT_EQ(cache->stats().errors, 0u);
  }
  for (std::size_t i = 0; i < masters_.size(); ++i)
    // One for the client, one for our own INFO; the blocking bridge would open one per thread.
    EXPECT_EQ(connections_received(*masters_[i]) - before[i], 2) << masters_[i]->address();
}

TEST_P(RedisAsyncClusterTest, EntriesAndBumpsAreSharedWithTheBlockingClusterClient) {
  Cache blocking(client("hiredis"));
  AsyncCacheOn async(url());
  const std::vector<Namespace> spread = namespaces_on_every_master(*backend_);
  const NamespaceSet set{spread[0], spread[1], spread[2]};
  int computes = 0;
  const auto compute = [&] { return ++computes; };
  // Written by the blocking client, a hit for the asynchronous one, and the other way round.
  EXPECT_EQ(blocking.cached("report", set, 1min, compute), 1);
  EXPECT_EQ(async->async_get<int>("report", set, asio::use_future).get(), std::optional(1));
  async->async_set("other", set, 42, 1min, asio::use_future).get();
  EXPECT_EQ(blocking.get<int>("other", set), std::optional(42));
  // A bump by either is seen by the other.
  const std::uint64_t bumped = async->async_bump_namespace(spread[1], asio::use_future).get();
  EXPECT_EQ(blocking.generation(spread[1]), bumped);
  EXPECT_EQ(blocking.get<int>("report", set), std::nullopt);
  EXPECT_EQ(blocking.cached("report", set, 1min, compute), 2);
  EXPECT_EQ(async->async_get<int>("report", set, asio::use_future).get(), std::optional(2));
  blocking.bump_namespace(spread[2]);
  EXPECT_EQ(async->async_get<int>("report", set, asio::use_future).get(), std::nullopt);
  EXPECT_EQ(computes, 2);
  EXPECT_EQ(blocking.stats().errors + async->stats().errors, 0u);
}

INSTANTIATE_TEST_SUITE_P(Clients, RedisAsyncClusterTest, ::testing::Values("async", "tls"),
                         client_name);

// TLS alone.
class RedisClusterTlsTest : public RedisClusterTest {};

TEST_P(RedisClusterTlsTest, ACertificateThatDoesNotVerifyIsAClearError) {
  std::string wrong = url();
  wrong.replace(wrong.find(certificates_->file("ca.pem")), certificates_->file("ca.pem").size(),
                certificates_->file("other_ca.pem"));
  Cache cache = Cache::from_url(wrong);
  const std::string message = test::message_thrown_by([&] { cache.bump_namespace(ns("user", 1)); });
  EXPECT_THAT(message, HasSubstr("TLS handshake failed"));
  EXPECT_THAT(message, HasSubstr("certificate verify failed"));
  std::error_code error;
  EXPECT_EQ(cache.get<int>("k", ns("user", 1), error), std::nullopt);
  EXPECT_EQ(error, errc::backend_unavailable) << "reads fail open";
  EXPECT_EQ(cache.backend().server_stats().size(), cluster_->nodes().size())
      << "one entry per seed, saying why";
}

INSTANTIATE_TEST_SUITE_P(Clients, RedisClusterTlsTest, ::testing::Values("tls"), client_name);

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
