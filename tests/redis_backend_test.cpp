// The Redis backend against real redis-server processes started by the tests (one per
// test, on a free loopback port); and its URL, options, wire encoding and error mapping
// without a server. What every backend promises is checked on Redis too, by
// backend_contract_test; this file holds what only Redis does.
#include "gencache/redis_backend.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/redis/counter_script.hpp"
#include "backends/redis/redis_config.hpp"
#include "backends/redis/redis_errors.hpp"
#include "backends/redis/redis_url.hpp"
#include "backends/redis/resp.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "support/backend_calls.hpp"
#include "support/redis_server.hpp"
#include "support/scripted_redis_server.hpp"
#include "url_options.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using ::testing::HasSubstr;
using ::testing::Not;

using test::code_thrown_by;
using test::get;
using test::get_many;
using test::kFailureBound;
using test::kNoTtl;
using test::loopback_ipv6_available;
using test::message_thrown_by;
using test::numbered_keys;
using test::RecordingVisitor;
using test::visit_many;
using test::Visits;

// The remaining time to live of `key` in ms, as the server reports it (-1: none, -2: absent).
long long pttl(const test::RedisServer& server, std::string_view key) {
  return std::stoll(server.command({"PTTL", key}));
}

// A backend on a ScriptedRedisServer: short timeouts, one connection at a time.
std::shared_ptr<Backend> backend_on(const test::ScriptedRedisServer& server) {
  RedisOptions options;
  options.port = server.port();
  options.io_timeout = 1s;
  options.connect_timeout = 1s;
  options.pool_max = 1;
  return make_redis_backend(options);
}

RedisOptions options_for(const test::RedisServer& server) {
  RedisOptions options;
  options.port = server.port();
  options.io_timeout = 1s;  // ample for sanitizer builds; the failure tests set their own
  options.connect_timeout = 1s;
  return options;
}

class RedisBackendTest : public ::testing::Test {
 protected:
  test::RedisServer server;
  std::shared_ptr<Backend> backend = make_redis_backend(options_for(server));
};

// --- storage ----------------------------------------------------------------------------

TEST_F(RedisBackendTest, GetManyIsOneMgetOnTheWire) {
  backend->set("a", "1", kNoTtl);
  server.command({"CONFIG", "RESETSTAT"});
  get_many(*backend, {"a", "b", "c", "a"});
  const std::string stats = server.command({"INFO", "commandstats"});
  EXPECT_THAT(stats, HasSubstr("cmdstat_mget:calls=1,"));
  EXPECT_THAT(stats, Not(HasSubstr("cmdstat_get:")));
}

TEST_F(RedisBackendTest, AKeyHoldingAnotherRedisTypeReadsAsAbsent) {
  server.command({"RPUSH", "list", "x"});
  EXPECT_EQ(get(*backend, "list"), std::nullopt);
}

// --- visit_many: get_many without copies -------------------------------------------------

TEST_F(RedisBackendTest, VisitManyOfAThousandKeysIsOneMgetAndVisitsEachPresentOne) {
  const auto keys = numbered_keys("many:", 1000);
  Visits expected;
  for (std::size_t i = 0; i < keys.size(); i += 3) {
    const std::string value = fmt::format("value of {}", keys[i]);
    backend->set(keys[i], value, kNoTtl);
    expected.emplace_back(i, value);
  }
  server.command({"CONFIG", "RESETSTAT"});
  EXPECT_EQ(visit_many(*backend, keys).in_order, expected) << "in the order of the keys";
  const std::string stats = server.command({"INFO", "commandstats"});
  EXPECT_THAT(stats, HasSubstr("cmdstat_mget:calls=1,"));
  EXPECT_THAT(stats, Not(HasSubstr("cmdstat_get:")));
}

TEST_F(RedisBackendTest, VisitManyOnAStoppedServerThrowsBackendUnavailableAndVisitsNothing) {
  backend->set("k", "v", kNoTtl);
  server.stop();
  RecordingVisitor visitor;
  const std::string_view keys[] = {"k"};
  const std::string message = message_thrown_by([&] { backend->visit_many(keys, visitor); });
  EXPECT_THAT(message, HasSubstr(fmt::format("redis://{}: read failed", server.address())));
  EXPECT_EQ(code_thrown_by([&] { backend->visit_many(keys, visitor); }), errc::backend_unavailable);
  EXPECT_TRUE(visitor.in_order.empty());
  server.start();
  EXPECT_EQ(visit_many(*backend, {"k", "absent"}).in_order, Visits{})
      << "the restarted server has lost its keys, and is asked again at once";
}

TEST(RedisBackend, ReadRepliesOfTheWrongShapeThrowProtocolVisitNothingAndDropTheConnection) {
  // MGET of two keys, answered: not an array; an array of one; an integer element; a nil
  // array; then right. get_many shares the code path: its last answer is right too.
  test::ScriptedRedisServer server({":5\r\n", "*1\r\n$1\r\nx\r\n", "*2\r\n$1\r\nx\r\n:1\r\n",
                                    "*-1\r\n", "*2\r\n$-1\r\n$1\r\ny\r\n",
                                    "*2\r\n:1\r\n$1\r\ny\r\n", "*2\r\n$1\r\nx\r\n$-1\r\n"});
  auto scripted = backend_on(server);
  const std::string_view keys[] = {"k0", "k1"};
  const std::vector<std::string> expected_accounts = {
      "expected an array of 2 values, got an integer",
      "expected an array of 2 values, got an array",
      "expected a bulk string or nil for each key, got an integer",
      "expected an array of 2 values, got nil",
  };
  for (std::size_t i = 0; i < expected_accounts.size(); ++i) {
    RecordingVisitor visitor;
    std::optional<backend_error> thrown;
    try {
      scripted->visit_many(keys, visitor);
    } catch (const backend_error& e) {
      thrown = e;
    }
    ASSERT_TRUE(thrown.has_value()) << expected_accounts[i];
    EXPECT_EQ(thrown->code(), errc::protocol);
    EXPECT_THAT(thrown->what(), HasSubstr("read failed: " + expected_accounts[i]));
    EXPECT_TRUE(visitor.in_order.empty()) << "nothing visited before the whole reply was checked";
  }
  EXPECT_EQ(visit_many(*scripted, {"k0", "k1"}).in_order, (Visits{{1, "y"}}));
  EXPECT_EQ(code_thrown_by([&] { get_many(*scripted, {"k0", "k1"}); }), errc::protocol);
  EXPECT_EQ(get_many(*scripted, {"k0", "k1"}),
            (std::vector<std::optional<std::string>>{"x", std::nullopt}));
  EXPECT_EQ(server.connections(), 6u)
      << "each reply of the wrong shape closed its connection; the right ones kept theirs";
}

// --- counters ---------------------------------------------------------------------------

TEST_F(RedisBackendTest, IncrementOfAnAbsentCounterIsNulloptAndCreatesNothing) {
  EXPECT_EQ(backend->increment("counter", 1), std::nullopt);
  EXPECT_EQ(get(*backend, "counter"), std::nullopt);
  EXPECT_EQ(server.command({"EXISTS", "counter"}), "0") << "INCR would have created it at 1";
}

TEST_F(RedisBackendTest, IncrementWorksFromTheLargestFreshGeneration) {
  const std::uint64_t near_limit = (std::uint64_t{1} << 62) - 1;
  ASSERT_TRUE(backend->create_counter("counter", near_limit, kNoTtl));
  EXPECT_EQ(backend->increment("counter", 1), near_limit + 1);
}

TEST_F(RedisBackendTest, IncrementReturnsTheExactNewValueAboveTwoToThe53) {
  // Fresh generations lie in [2^32, 2^62): a value passed through a Lua number (a double)
  // would come back rounded, and a bump could report the generation it replaced.
  for (const std::uint64_t start :
       {(std::uint64_t{1} << 53) + 1, (std::uint64_t{1} << 62) - 100, 4582603282083788910u,
        1793832971322490060u, 36331528503032905u}) {
    const std::string key = fmt::format("counter:{}", start);
    ASSERT_TRUE(backend->create_counter(key, start, kNoTtl));
    EXPECT_EQ(backend->increment(key, 1), start + 1) << start;
    EXPECT_EQ(backend->increment(key, 1000), start + 1001) << start;
    EXPECT_EQ(get(*backend, key), std::to_string(start + 1001));
  }
}

TEST_F(RedisBackendTest, IncrementPastRedisSigned64BitLimitThrowsProtocolAndChangesNothing) {
  const std::uint64_t largest = std::uint64_t{INT64_MAX};
  ASSERT_TRUE(backend->create_counter("counter", largest, kNoTtl));
  EXPECT_EQ(code_thrown_by([&] { backend->increment("counter", 1); }), errc::protocol);
  EXPECT_EQ(code_thrown_by([&] { backend->increment("counter", largest + 1); }), errc::protocol);
  EXPECT_EQ(get(*backend, "counter"), std::to_string(largest));
}

TEST_F(RedisBackendTest, IncrementOfANonNumericValueThrowsProtocolAndTheConnectionStaysUsable) {
  RedisOptions options = options_for(server);
  options.pool_max = 1;
  auto single = make_redis_backend(options);
  single->set("text", "not a number", kNoTtl);
  const std::string message = message_thrown_by([&] { single->increment("text", 1); });
  EXPECT_THAT(message, HasSubstr("counter increment failed"));
  EXPECT_THAT(message, HasSubstr("not an integer"));
  EXPECT_EQ(code_thrown_by([&] { single->increment("text", 1); }), errc::protocol);
  single->set("after", "fine", kNoTtl);
  EXPECT_EQ(get(*single, "after"), "fine");
}

TEST_F(RedisBackendTest, IncrementRunsOneEvalshaAndSurvivesAFlushedScriptCache) {
  ASSERT_TRUE(backend->create_counter("counter", 1, kNoTtl));
  EXPECT_EQ(backend->increment("counter", 1), 2u);  // loads the script (EVALSHA, then EVAL)
  server.command({"CONFIG", "RESETSTAT"});
  EXPECT_EQ(backend->increment("counter", 1), 3u);
  const std::string stats = server.command({"INFO", "commandstats"});
  EXPECT_THAT(stats, HasSubstr("cmdstat_evalsha:calls=1,"));
  EXPECT_THAT(stats, Not(HasSubstr("cmdstat_eval:")));

  server.command({"SCRIPT", "FLUSH"});  // what a restart does to the script cache
  EXPECT_EQ(backend->increment("counter", 1), 4u);
  EXPECT_EQ(backend->increment("absent", 1), std::nullopt);
  EXPECT_EQ(backend->increment("counter", 1), 5u);
}

TEST_F(RedisBackendTest, ScriptNameIsTheSha1RedisComputes) {
  EXPECT_EQ(server.command({"SCRIPT", "LOAD", detail::kIncrementIfExistsScript}),
            detail::script_sha1(detail::kIncrementIfExistsScript));
}

TEST_F(RedisBackendTest, IncrementKeepsTheCounterTtl) {
  ASSERT_TRUE(backend->create_counter("counter", 1, 1h));
  EXPECT_EQ(backend->increment("counter", 1), 2u);
  EXPECT_GT(pttl(server, "counter"), 3'500'000);
}

// --- TTL --------------------------------------------------------------------------------

TEST_F(RedisBackendTest, TtlsAreSentInMillisecondsWithPx) {
  backend->set("set", "v", 1500ms);
  EXPECT_TRUE(backend->add("added", "v", 1500ms));
  EXPECT_TRUE(backend->create_counter("counter", 1, 1500ms));
  for (const char* key : {"set", "added", "counter"}) {
    const long long left = pttl(server, key);
    EXPECT_GT(left, 1000) << key;
    EXPECT_LE(left, 1500) << key << ": not rounded up to whole seconds";
  }
}

TEST_F(RedisBackendTest, ZeroTtlNeverExpires) {
  backend->set("set", "v", kNoTtl);
  EXPECT_TRUE(backend->add("added", "v", kNoTtl));
  EXPECT_TRUE(backend->create_counter("counter", 1, kNoTtl));
  for (const char* key : {"set", "added", "counter"}) EXPECT_EQ(pttl(server, key), -1) << key;
}

TEST_F(RedisBackendTest, ShortTtlExpiresWithinMilliseconds) {
  backend->set("short", "lived", 50ms);
  EXPECT_EQ(get(*backend, "short"), "lived");
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (get(*backend, "short").has_value() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(get(*backend, "short"), std::nullopt);
}

TEST_F(RedisBackendTest, SetReplacesAnEarlierTtl) {
  backend->set("k", "v", 1500ms);
  backend->set("k", "v", kNoTtl);
  EXPECT_EQ(pttl(server, "k"), -1);
}

TEST_F(RedisBackendTest, HugeTtlsAreCappedAndStored) {
  backend->set("days", "v", std::chrono::days(60));
  backend->set("max", "v", std::chrono::milliseconds::max());
  EXPECT_TRUE(backend->create_counter("counter", 1, std::chrono::milliseconds::max()));
  EXPECT_EQ(get(*backend, "days"), "v");
  EXPECT_EQ(get(*backend, "max"), "v");
  EXPECT_GT(pttl(server, "days"), 5'000'000'000);
  EXPECT_GT(pttl(server, "max"), 1'000'000'000'000'000);
  EXPECT_EQ(backend->increment("counter", 1), 2u);
}

// --- value size limit -------------------------------------------------------------------

TEST_F(RedisBackendTest, MaxValueSizeIsMaxItemBytes) {
  EXPECT_EQ(backend->max_value_size(), std::size_t{1} << 20);
}

TEST_F(RedisBackendTest, LargerLimitsAreConfigurable) {
  RedisOptions options = options_for(server);
  options.max_item_bytes = std::size_t{8} << 20;
  auto roomy = make_redis_backend(options);
  EXPECT_EQ(roomy->max_value_size(), std::size_t{8} << 20);
  std::string value(std::size_t{5} << 20, 'x');
  value[12345] = '\0';
  roomy->set("big", value, kNoTtl);
  EXPECT_EQ(get(*roomy, "big"), value);
  roomy->set("small", "fine", kNoTtl);  // the large buffers did not upset the connection
  EXPECT_EQ(get(*roomy, "small"), "fine");
}

// --- failures ---------------------------------------------------------------------------

TEST_F(RedisBackendTest, AReplyLateAfterAnIoTimeoutIsNeverReadAsTheNextCallsReply) {
  // The flake this guards against: a bump's increment returning the counter's previous
  // value, the late answer to an increment that had timed out on the same connection.
  RedisOptions options = options_for(server);
  options.io_timeout = 1s;  // the second call must outlast the pause
  options.pool_max = 1;     // the second call surely takes the slot the timed-out call had
  auto single = make_redis_backend(options);
  ASSERT_TRUE(single->create_counter("generation", 1, kNoTtl));
  EXPECT_EQ(single->increment("generation", 1), 2u);  // the script is loaded

  server.pause();
  EXPECT_EQ(code_thrown_by([&] { single->increment("generation", 1); }), errc::timeout);
  // The second call goes out while the server is still hung, so nothing on the socket can
  // tell it the timed-out call's answer (":3") is still to come: only dropping the
  // connection that timed out keeps it from reading that answer as its own.
  std::optional<std::uint64_t> second;
  std::thread caller([&] { second = single->increment("generation", 10); });
  std::this_thread::sleep_for(100ms);
  server.resume();
  caller.join();
  EXPECT_EQ(second, 13u) << "3 is the late reply to the call that timed out";
  EXPECT_EQ(get(*single, "generation"), "13");
}

TEST(RedisBackend, BytesThatCameWithAReplyUnaskedAreNeverReadAsTheNextCallsReply) {
  // A server (or proxy) that answers SET with a status and a stray "7" in one write:
  // hiredis reads both, and the "7" waits in its buffer where poll() cannot see it.
  test::ScriptedRedisServer server({"+OK\r\n$1\r\n7\r\n", "$2\r\n42\r\n"});
  auto scripted = backend_on(server);
  scripted->set("k", "v", kNoTtl);
  EXPECT_EQ(scripted->increment("generation", 1), 42u) << "7 is the stray reply";
  EXPECT_EQ(server.connections(), 2u) << "the connection holding the stray reply was dropped";
}

TEST_F(RedisBackendTest, HungServerDuringSelectTimesOutWithinConnectTimeout) {
  RedisOptions options = options_for(server);
  options.db = 1;  // SELECT on connect
  options.connect_timeout = 100ms;
  options.io_timeout = 5s;
  auto fresh = make_redis_backend(options);  // connects lazily: nothing open yet
  server.pause();
  const auto started = std::chrono::steady_clock::now();
  const std::string message = message_thrown_by([&] { get(*fresh, "k"); });
  const auto took = std::chrono::steady_clock::now() - started;
  server.resume();
  EXPECT_THAT(
      message,
      HasSubstr("read failed: selecting database 1: no reply within connect_timeout 100ms"));
  EXPECT_LT(took, kFailureBound) << "bounded by connect_timeout, not io_timeout";
  EXPECT_EQ(get(*fresh, "k"), std::nullopt);
}

TEST_F(RedisBackendTest, StoppedServerFailsFastAndTheFirstCallAfterStartSucceeds) {
  backend->set("k", "v", kNoTtl);
  server.stop();
  test::expect_calls_fail_fast_while_down(*backend);
  server.start();
  backend->set("k", "after restart", kNoTtl);  // no retry interval: it reconnects at once
  EXPECT_EQ(get(*backend, "k"), "after restart");
}

TEST_F(RedisBackendTest, ConnectionsTheServerClosedWhileIdleAreReplacedUnnoticed) {
  // Fill the pool with idle connections, then restart the server under them.
  constexpr int kThreads = 6;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < 20; ++i) backend->set(fmt::format("t{}", t), "v", kNoTtl);
    });
  }
  for (std::thread& thread : threads) thread.join();
  server.stop();
  server.start();
  for (int i = 0; i < 50; ++i) {
    EXPECT_NO_THROW(backend->set("k", std::to_string(i), kNoTtl)) << i;
    EXPECT_NO_THROW(get(*backend, "k")) << i;
  }
  // The same after the server dropped idle clients on its own (`timeout`).
  server.command({"CONFIG", "SET", "timeout", "1"});
  std::this_thread::sleep_for(2500ms);
  EXPECT_NO_THROW(backend->set("k", "after idle timeout", kNoTtl));
  EXPECT_EQ(get(*backend, "k"), "after idle timeout");
}

TEST(RedisBackend, NoServerListeningIsBackendUnavailableNamingTheServer) {
  std::uint16_t port = 0;
  {
    test::RedisServer gone;
    port = gone.port();
  }
  RedisOptions options;
  options.port = port;
  auto nowhere = make_redis_backend(options);
  const std::string message = message_thrown_by([&] { nowhere->set("k", "v", kNoTtl); });
  EXPECT_THAT(message,
              HasSubstr(fmt::format(
                  "redis://127.0.0.1:{}: write failed: connecting: Connection refused", port)));
  EXPECT_EQ(code_thrown_by([&] { nowhere->increment("k", 1); }), errc::backend_unavailable);
}

TEST(RedisBackend, UnresolvableHostIsBackendUnavailable) {
  RedisOptions options;
  options.host = "no-such-host.invalid";
  auto nowhere = make_redis_backend(options);
  EXPECT_EQ(code_thrown_by([&] { nowhere->set("k", "v", kNoTtl); }), errc::backend_unavailable);
}

TEST(RedisBackend, NoevictionServerAtItsLimitRefusesWritesWithNotStoredAndStillReads) {
  test::RedisServer server;
  auto backend = make_redis_backend(options_for(server));
  backend->set("k", "v", kNoTtl);
  server.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  server.command({"CONFIG", "SET", "maxmemory", "1"});  // far below what it uses
  EXPECT_EQ(code_thrown_by([&] { backend->set("k2", "v", kNoTtl); }), errc::not_stored);
  EXPECT_EQ(code_thrown_by([&] { backend->create_counter("c", 1, kNoTtl); }), errc::not_stored);
  EXPECT_THAT(message_thrown_by([&] { backend->add("k3", "v", kNoTtl); }), HasSubstr("OOM"));
  EXPECT_EQ(get(*backend, "k"), "v");
  EXPECT_TRUE(backend->remove("k")) << "deleting frees memory: allowed";
}

// --- sharing ----------------------------------------------------------------------------

TEST_F(RedisBackendTest, PoolNeverOpensMoreThanPoolMaxConnections) {
  RedisOptions options = options_for(server);
  options.pool_max = 3;
  auto shared = make_redis_backend(options);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) get(*shared, "k");
    });
  for (std::thread& thread : threads) thread.join();
  const std::string info = server.command({"INFO", "clients"});
  const auto at = info.find("connected_clients:");
  ASSERT_NE(at, std::string::npos) << info;
  const int clients = std::stoi(info.substr(at + std::string_view("connected_clients:").size()));
  EXPECT_EQ(clients, 3 + 1) << "the pool's three and the connection asking";
}

// The pool-exhaustion test is ServerBackendContract.ExhaustedPoolThrowsTimeoutAfterPoolWait.

// --- database, credentials, description ------------------------------------------------

TEST(RedisBackend, DatabaseIsSelectedOnConnectAndNamedInTheDescription) {
  test::RedisServer server;
  RedisOptions options = options_for(server);
  options.db = 3;
  auto third = make_redis_backend(options);
  auto zeroth = make_redis_backend(options_for(server));
  EXPECT_EQ(third->describe(), fmt::format("redis://{}/3", server.address()));
  EXPECT_EQ(zeroth->describe(), fmt::format("redis://{}", server.address()));
  third->set("k", "in db 3", kNoTtl);
  EXPECT_EQ(get(*zeroth, "k"), std::nullopt);
  EXPECT_EQ(get(*make_redis_backend(options), "k"), "in db 3");
}

TEST(RedisBackend, DatabaseTheServerDoesNotHaveFailsOnConnect) {
  test::RedisServer server;
  RedisOptions options = options_for(server);
  options.db = 100;  // the server has 16
  auto missing = make_redis_backend(options);
  const std::string message = message_thrown_by([&] { get(*missing, "k"); });
  EXPECT_THAT(message,
              HasSubstr("read failed: selecting database 100: ERR DB index is out of range"));
}

TEST(RedisBackend, PasswordIsSentWithAuthAndNeverShown) {
  test::RedisServer server({.extra_args = {"--requirepass", "s3cret-pw"}});
  RedisOptions options = options_for(server);
  options.password = "s3cret-pw";
  options.db = 2;
  auto authed = make_redis_backend(options);
  authed->set("k", "v", kNoTtl);
  EXPECT_EQ(get(*authed, "k"), "v");
  EXPECT_THAT(authed->describe(), Not(HasSubstr("s3cret")));

  options.password = "wrong-s3cret-pw";
  auto wrong = make_redis_backend(options);
  EXPECT_EQ(code_thrown_by([&] { get(*wrong, "k"); }), errc::backend_unavailable);
  const std::string message = message_thrown_by([&] { get(*wrong, "k"); });
  EXPECT_THAT(message, HasSubstr("read failed: logging in: WRONGPASS"));
  EXPECT_THAT(message, Not(HasSubstr("s3cret")));

  auto anonymous = make_redis_backend(options_for(server));
  EXPECT_EQ(code_thrown_by([&] { get(*anonymous, "k"); }), errc::backend_unavailable);
  EXPECT_THAT(message_thrown_by([&] { get(*anonymous, "k"); }), HasSubstr("NOAUTH"));
}

TEST(RedisBackend, AclUserAndPasswordAreSentWithAuth) {
  test::RedisServer server({.extra_args = {"--user", "alice", "on", ">s3cret-pw", "~*", "&*",
                                           "+@all", "--requirepass", "default-pw"}});
  RedisOptions options = options_for(server);
  options.username = "alice";
  options.password = "s3cret-pw";
  auto alice = make_redis_backend(options);
  alice->set("k", "v", kNoTtl);
  EXPECT_EQ(get(*alice, "k"), "v");
  EXPECT_EQ(server.command({"ACL", "WHOAMI"}), "NOAUTH Authentication required.");

  options.password = "bad-pw";
  const std::string message =
      message_thrown_by([&] { make_redis_backend(options)->set("k", "v", kNoTtl); });
  EXPECT_THAT(message, HasSubstr(fmt::format("redis://{}: write failed: logging in: WRONGPASS",
                                             server.address())));
  EXPECT_THAT(message, Not(HasSubstr("bad-pw")));
  EXPECT_THAT(message, Not(HasSubstr("alice")));
}

TEST(RedisBackend, DescribeAndErrorsNameTheServerButNeverTheCredentials) {
  test::RedisServer server({.extra_args = {"--requirepass", "s3cret-pw"}});
  RedisOptions options = options_for(server);
  options.username = "default";
  options.password = "s3cret-pw";
  auto with_credentials = make_redis_backend(options);
  const std::string expected = fmt::format("redis://{}", server.address());
  EXPECT_EQ(with_credentials->describe(), expected);
  with_credentials->set("k", "v", kNoTtl);

  server.stop();
  const std::string message = message_thrown_by([&] { with_credentials->set("k", "v", kNoTtl); });
  EXPECT_THAT(message, HasSubstr(expected));
  EXPECT_THAT(message, HasSubstr("write failed: connecting:"));
  EXPECT_THAT(message, Not(HasSubstr("s3cret-pw")));
}

TEST(RedisBackend, Ipv6ServersAreReachable) {
  if (!loopback_ipv6_available()) GTEST_SKIP() << "this host has no IPv6 loopback";
  test::RedisServer v6({.extra_args = {"--bind", "127.0.0.1 ::1"}});
  RedisOptions options = options_for(v6);
  options.host = "::1";
  auto backend_v6 = make_redis_backend(options);
  EXPECT_EQ(backend_v6->describe(), fmt::format("redis://[::1]:{}", v6.port()));
  backend_v6->set("k", "over IPv6", kNoTtl);
  EXPECT_EQ(get(*backend_v6, "k"), "over IPv6");
}

// --- options ----------------------------------------------------------------------------

TEST(RedisConfig, OutOfRangeOptionsAreRejectedNamingThem) {
  const std::vector<std::pair<std::string, std::function<void(RedisOptions&)>>> cases = {
      {"host", [](RedisOptions& o) { o.host = ""; }},
      {"host", [](RedisOptions& o) { o.host = "bad host"; }},
      {"host", [](RedisOptions& o) { o.host = "[::1]"; }},
      {"port", [](RedisOptions& o) { o.port = 0; }},
      {"db", [](RedisOptions& o) { o.db = 1u << 31; }},
      {"connect_timeout", [](RedisOptions& o) { o.connect_timeout = 0ms; }},
      {"io_timeout", [](RedisOptions& o) { o.io_timeout = 0ms; }},
      {"io_timeout", [](RedisOptions& o) { o.io_timeout = 11min; }},
      {"pool_max", [](RedisOptions& o) { o.pool_max = 0; }},
      {"pool_max", [](RedisOptions& o) { o.pool_max = 1025; }},
      {"pool_wait", [](RedisOptions& o) { o.pool_wait = -1ms; }},
      {"max_item_bytes", [](RedisOptions& o) { o.max_item_bytes = 100; }},
      {"max_item_bytes", [](RedisOptions& o) { o.max_item_bytes = std::size_t{513} << 20; }},
      {"username", [](RedisOptions& o) { o.username = "alice"; }},  // no password
  };
  for (const auto& [name, change] : cases) {
    RedisOptions options;
    change(options);
    const std::string message = message_thrown_by([&] { make_redis_backend(options); });
    EXPECT_THAT(message, HasSubstr("redis option " + name)) << message;
  }
}

TEST(RedisConfig, ValidOptionsConnectLazily) {
  RedisOptions options;
  options.host = "cache.internal";
  options.port = 6380;
  options.db = 15;
  options.password = "pw";
  std::shared_ptr<Backend> backend;
  EXPECT_NO_THROW(backend = make_redis_backend(options)) << "no server is needed to construct";
  EXPECT_EQ(backend->describe(), "redis://cache.internal:6380/15");
}

// --- wire encoding and error mapping ----------------------------------------------------

TEST(RedisResp, EveryArgumentIsLengthPrefixedSoAnyBytesAreSafe) {
  std::string out;
  detail::RespWriter(out).begin(3).arg("SET").arg("k\r\n").arg("\0"s);
  detail::RespWriter(out).begin(1).arg("");
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$1\r\n\0\r\n*1\r\n$0\r\n\r\n"s);
}

TEST(RedisErrors, ErrorRepliesMapByTheirFirstWord) {
  EXPECT_EQ(detail::redis_reply_errc("OOM command not allowed when used memory > 'maxmemory'."),
            errc::not_stored);
  EXPECT_EQ(detail::redis_reply_errc("READONLY You can't write against a read only replica."),
            errc::not_stored);
  EXPECT_EQ(detail::redis_reply_errc("NOAUTH Authentication required."), errc::backend_unavailable);
  EXPECT_EQ(detail::redis_reply_errc("WRONGPASS invalid username-password pair"),
            errc::backend_unavailable);
  EXPECT_EQ(detail::redis_reply_errc("LOADING Redis is loading the dataset in memory"),
            errc::backend_unavailable);
  EXPECT_EQ(detail::redis_reply_errc("BUSY Redis is busy running a script."),
            errc::backend_unavailable);
  EXPECT_EQ(detail::redis_reply_errc("ERR value is not an integer or out of range"),
            errc::protocol);
  EXPECT_EQ(detail::redis_reply_errc("MOVED 3999 127.0.0.1:6381"), errc::protocol);
  EXPECT_EQ(detail::redis_reply_errc("OOMPH not a known code"), errc::protocol);
}

// --- URL parsing ------------------------------------------------------------------------

detail::UrlOptions params(std::vector<std::pair<std::string, std::string>> list = {}) {
  return detail::UrlOptions("redis", std::move(list));
}

TEST(RedisUrl, ParametersMapToOptions) {
  auto query = params({{"connect_timeout", "20ms"},
                       {"io_timeout", "1s"},
                       {"pool_max", "32"},
                       {"pool_wait", "5ms"},
                       {"max_item_bytes", "4MiB"}});
  const RedisOptions options = detail::redis_options_from_url("10.0.0.1:6380", "/2", query);
  EXPECT_NO_THROW(query.finish());
  EXPECT_EQ(options.host, "10.0.0.1");
  EXPECT_EQ(options.port, 6380);
  EXPECT_EQ(options.db, 2u);
  EXPECT_EQ(options.connect_timeout, 20ms);
  EXPECT_EQ(options.io_timeout, 1s);
  EXPECT_EQ(options.pool_max, 32u);
  EXPECT_EQ(options.pool_wait, std::optional(5ms));
  EXPECT_EQ(options.max_item_bytes, std::size_t{4} << 20);
  EXPECT_TRUE(options.username.empty());
  EXPECT_TRUE(options.password.empty());
}

TEST(RedisUrl, AbsentPartsKeepTheDefaultsAndPortDefaultsTo6379) {
  for (const std::string_view path : {"", "/"}) {
    auto query = params();
    const RedisOptions options = detail::redis_options_from_url("cache.local", path, query);
    const RedisOptions defaults;
    EXPECT_EQ(options.host, "cache.local");
    EXPECT_EQ(options.port, 6379);
    EXPECT_EQ(options.db, 0u);
    EXPECT_EQ(options.connect_timeout, defaults.connect_timeout);
    EXPECT_EQ(options.io_timeout, defaults.io_timeout);
    EXPECT_EQ(options.pool_max, defaults.pool_max);
    EXPECT_EQ(options.pool_wait, std::nullopt);
    EXPECT_EQ(options.max_item_bytes, defaults.max_item_bytes);
  }
}

TEST(RedisUrl, SubMillisecondTimeoutsRoundUpToAMillisecond) {
  auto query = params({{"io_timeout", "250us"}});
  EXPECT_EQ(detail::redis_options_from_url("h.example", "", query).io_timeout, 1ms);
}

TEST(RedisUrl, UserAndPasswordArePercentDecoded) {
  auto query = params();
  const RedisOptions options =
      detail::redis_options_from_url("ali%40ce:p%3Ass%25w%40rd@10.0.0.1:6379", "/1", query);
  EXPECT_EQ(options.username, "ali@ce");
  EXPECT_EQ(options.password, "p:ss%w@rd");
  EXPECT_EQ(options.host, "10.0.0.1");
  EXPECT_EQ(options.db, 1u);
}

TEST(RedisUrl, PasswordWithoutAUserIsRequirepassAuth) {
  auto query = params();
  const RedisOptions options = detail::redis_options_from_url(":s3cret@10.0.0.1", "", query);
  EXPECT_TRUE(options.username.empty());
  EXPECT_EQ(options.password, "s3cret");
}

TEST(RedisUrl, Ipv6HostsAreWrittenInBrackets) {
  auto query = params();
  const RedisOptions options = detail::redis_options_from_url("[::1]:6380", "", query);
  EXPECT_EQ(options.host, "::1");
  EXPECT_EQ(options.port, 6380);
  auto again = params();
  EXPECT_EQ(detail::redis_options_from_url("[fe80::1]", "", again).port, 6379);
}

TEST(RedisUrl, MissingServerIsRejected) {
  for (const std::string_view authority : {"", ":pw@", ":6379"}) {
    auto query = params();
    const std::string message =
        message_thrown_by([&] { detail::redis_options_from_url(authority, "", query); });
    EXPECT_THAT(message, HasSubstr("no ")) << authority;
    EXPECT_THAT(message, HasSubstr("redis://[user:password@]host[:port][/db]")) << authority;
  }
}

TEST(RedisUrl, MalformedServersAreRejectedNamingThem) {
  for (const std::string_view server :
       {"host:0", "host:65536", "host:port", "host:", "[::1", "[not-v6]:6379", "[::1]x", "bad host",
        "a,b:6379", "h:6379:1"}) {
    auto query = params();
    EXPECT_THAT(message_thrown_by([&] { detail::redis_options_from_url(server, "", query); }),
                HasSubstr(fmt::format("'{}'", server)));
  }
}

TEST(RedisUrl, MalformedDatabasesAreRejectedNamingThem) {
  for (const std::string_view path : {"/x", "/-1", "/2147483648", "/1/2", "/ 1"}) {
    auto query = params();
    const std::string message =
        message_thrown_by([&] { detail::redis_options_from_url("h.example", path, query); });
    EXPECT_THAT(message, HasSubstr(fmt::format("bad database '{}'", path.substr(1)))) << path;
  }
}

TEST(RedisUrl, MalformedValuesAreRejectedNamingTheParameterAndValue) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"connect_timeout", "50"},  {"io_timeout", "0ms"},     {"io_timeout", "fast"},
      {"pool_max", "0"},          {"pool_max", "2000"},      {"pool_max", "many"},
      {"pool_wait", "11m"},       {"max_item_bytes", "100"}, {"max_item_bytes", "1GiB"},
      {"max_item_bytes", "lots"},
  };
  for (const auto& [name, value] : cases) {
    auto query = params({{name, value}});
    const std::string message =
        message_thrown_by([&] { detail::redis_options_from_url("10.0.0.1", "", query); });
    EXPECT_THAT(message, HasSubstr(fmt::format("'{}'", name))) << value;
    EXPECT_THAT(message, HasSubstr("redis://")) << name << "=" << value;
  }
}

TEST(RedisUrl, PasswordIsNeverQuotedInMessages) {
  for (const std::string_view authority : {"alice:s3cret%zz@10.0.0.1", "alice@10.0.0.1"}) {
    auto query = params();
    const std::string message =
        message_thrown_by([&] { detail::redis_options_from_url(authority, "", query); });
    EXPECT_THAT(message, HasSubstr("password"));
    EXPECT_THAT(message, Not(HasSubstr("s3cret")));
  }
}

TEST(RedisUrl, UnknownParametersAreLeftForFinishToReject) {
  auto query = params({{"io_timeout", "50ms"}, {"colour", "blue"}});
  detail::redis_options_from_url("10.0.0.1", "", query);
  const std::string message = message_thrown_by([&] { query.finish(); });
  EXPECT_THAT(message, HasSubstr("colour"));
  EXPECT_THAT(message, HasSubstr("io_timeout"));  // listed among the accepted names
}

TEST(RedisUrl, CacheFromUrlRejectsUnknownParametersAndNeverQuotesThePassword) {
  EXPECT_THAT(message_thrown_by([] { Cache::from_url("redis://127.0.0.1:6379?colour=blue"); }),
              HasSubstr("colour"));
  // rediss:// (TLS) takes the TLS parameters; plaintext redis:// does not.
  EXPECT_THAT(message_thrown_by([] { Cache::from_url("redis://127.0.0.1:6379?tls_verify=false"); }),
              HasSubstr("tls_verify"));
  const std::string message =
      message_thrown_by([] { Cache::from_url("redis://alice:s3cret@127.0.0.1:6379/db0"); });
  EXPECT_THAT(message, HasSubstr("database"));
  EXPECT_THAT(message, Not(HasSubstr("s3cret")));
}

TEST(RedisUrl, CacheFromUrlBuildsAWorkingRedisBackend) {
  test::RedisServer server({.extra_args = {"--requirepass", "p@ss"}});
  Cache cache = Cache::from_url(
      fmt::format("redis://:p%40ss@{}/4?io_timeout=1s&prefix=app:", server.address()));
  EXPECT_EQ(cache.backend().describe(), fmt::format("redis://{}/4", server.address()));
  cache.backend().set("k", "v", kNoTtl);
  EXPECT_EQ(get(cache.backend(), "k"), "v");
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, [] { return 7; }), 7);
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, [] { return 8; }), 7);
  EXPECT_EQ(cache.stats().errors, 0u);
}

}  // namespace
}  // namespace gencache
