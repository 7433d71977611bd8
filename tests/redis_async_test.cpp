// The asynchronous Redis client: its reply reading without a server, then pipelining,
// AUTH/ACL/SELECT and TLS (rediss://, certificates made by openssl at test time) against
// redis-server processes started by the tests. The Backend contract, the Cache suites and
// the stale-read oracle run on it too (kind "redis_async").
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "async_backend_thread.hpp"
#include "backends/redis/async/resp_reply_reader.hpp"
#include "backends/redis/redis_url.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "gencache/redis_async_backend.hpp"
#include "support/backend_calls.hpp"
#include "support/redis_server.hpp"
#include "support/server_process.hpp"
#include "support/test_certificates.hpp"
#include "url_options.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using detail::Reply;
using detail::RespReplyReader;
using test::TestCertificates;
using ::testing::HasSubstr;

// --- reading replies out of a shared stream, without a server --------------------------

TEST(RespReplyReader, AReplySplitAtEveryByteIsReadWholeAndConsumesItsBytes) {
  const std::string reply = "*3\r\n$5\r\nhello\r\n$-1\r\n$0\r\n\r\n";
  for (std::size_t cut = 1; cut < reply.size(); ++cut) {
    RespReplyReader reader;
    std::vector<Reply> replies;
    const auto first = reader.read(std::string_view(reply).substr(0, cut), 1, replies);
    EXPECT_FALSE(first.done) << cut;
    EXPECT_EQ(first.consumed, cut);
    const auto rest = reader.read(std::string_view(reply).substr(cut), 1, replies);
    ASSERT_TRUE(rest.done) << cut;
    EXPECT_EQ(rest.consumed, reply.size() - cut);
    ASSERT_EQ(replies.size(), 1u);
    ASSERT_EQ(replies[0]->type, REDIS_REPLY_ARRAY);
    EXPECT_EQ(std::string_view(replies[0]->element[0]->str, replies[0]->element[0]->len), "hello");
    EXPECT_EQ(replies[0]->element[1]->type, REDIS_REPLY_NIL);
  }
}

TEST(RespReplyReader, TheNextRequestsReplyIsLeftForIt) {
  const std::string stream = "+OK\r\n:42\r\n$3\r\nabc\r\n";
  RespReplyReader first;
  std::vector<Reply> mine;
  const auto progress = first.read(stream, 1, mine);
  EXPECT_TRUE(progress.done);
  EXPECT_EQ(progress.consumed, 5u);  // "+OK\r\n" only
  RespReplyReader second;
  std::vector<Reply> theirs;
  const auto next = second.read(std::string_view(stream).substr(5), 2, theirs);
  EXPECT_TRUE(next.done);
  EXPECT_EQ(next.consumed, stream.size() - 5);
  ASSERT_EQ(theirs.size(), 2u);
  EXPECT_EQ(theirs[0]->integer, 42);
  EXPECT_EQ(std::string_view(theirs[1]->str, theirs[1]->len), "abc");
}

TEST(RespReplyReader, ARequestOfTwoRepliesWaitsForTheSecond) {
  RespReplyReader reader;
  std::vector<Reply> replies;
  const auto partial = reader.read("$10\r\n4294967297\r\n:", 2, replies);
  EXPECT_FALSE(partial.done);
  EXPECT_EQ(replies.size(), 1u);
  const auto done = reader.read("1\r\n+NEXT\r\n", 2, replies);
  EXPECT_TRUE(done.done);
  EXPECT_EQ(done.consumed, 3u);
  EXPECT_EQ(replies[1]->integer, 1);
}

TEST(RespReplyReader, BytesThatAreNotRespThrow) {
  RespReplyReader reader;
  std::vector<Reply> replies;
  EXPECT_THROW(reader.read("?what\r\n", 1, replies), std::runtime_error);
}

TEST(RespReplyReader, AnUnfinishedReplyLongerThanItsBoundIsRefused) {
  // The bound is RESP's 512 MB in use; 64 bytes here, so that the test allocates nothing.
  RespReplyReader reader(64);
  std::vector<Reply> replies;
  const std::string start = "$1000\r\n" + std::string(50, 'x');
  EXPECT_FALSE(reader.read(start, 1, replies).done);  // under the bound: it waits
  try {
    reader.read(std::string(50, 'x'), 1, replies);
    FAIL() << "107 bytes of an unfinished reply were buffered past a bound of 64";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("more than the 64 a reply may hold"));
  }
  // A whole reply longer than the bound is read: only an unfinished one is refused.
  RespReplyReader whole(64);
  const std::string value(200, 'v');
  ASSERT_TRUE(whole.read("$200\r\n" + value + "\r\n", 1, replies).done);
  ASSERT_EQ(replies.size(), 1u);
}

TEST(RespReplyReader, AHugeArrayHeaderIsRefusedBeforeAnythingIsAllocatedForIt) {
  // hiredis would allocate 1.3 GB of element pointers on reading this header.
  RespReplyReader reader;
  std::vector<Reply> replies;
  try {
    reader.read("*163868638\r\n:1\r\n", 1, replies);
    FAIL() << "a 163,868,638-element array was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("an array of 163868638 elements"));
    EXPECT_THAT(e.what(), HasSubstr("more than the 1048576"));
  }
  // Nested too, and an array at the limit is still read.
  RespReplyReader nested;
  EXPECT_THROW(nested.read("*1\r\n*2000000\r\n", 1, replies), std::runtime_error);
  RespReplyReader small;
  const auto progress = small.read("*2\r\n:1\r\n$1\r\nx\r\n", 1, replies);
  EXPECT_TRUE(progress.done);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0]->elements, 2u);
}

// --- on a server ------------------------------------------------------------------------

RedisAsyncOptions options_for(std::uint16_t port) {
  RedisAsyncOptions options;
  options.server.port = port;
  options.server.io_timeout = 1s;
  options.server.connect_timeout = 1s;
  return options;
}

std::shared_ptr<Backend> blocking(RedisAsyncOptions options) {
  return std::make_shared<detail::AsyncBackendThread>([&](boost::asio::any_io_executor executor) {
    return make_redis_async_backend(std::move(executor), options);
  });
}

long long connections_received(const test::RedisServer& server) {
  const std::string stats = server.command({"INFO", "stats"});
  const auto at = stats.find("total_connections_received:");
  return std::stoll(stats.substr(at + 27));
}

TEST(RedisAsync, ManyThreadsShareOnePipelinedConnection) {
  test::RedisServer server;
  auto backend = blocking(options_for(server.port()));
  const long long before = connections_received(server);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string key = fmt::format("t{}:{}", t, i);
        backend->set(key, key + "!", 0ms);
        if (test::get(*backend, key) != key + "!") wrong.fetch_add(1);
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  // Our own command connection for INFO is one of them.
  EXPECT_EQ(connections_received(server) - before, 1 + 1);
}

TEST(RedisAsync, TheDatabaseIsSelectedOnEveryNewConnection) {
  test::RedisServer server;
  RedisAsyncOptions on_three = options_for(server.port());
  on_three.server.db = 3;
  auto backend = blocking(on_three);
  backend->set("k", "in db 3", 0ms);
  EXPECT_EQ(server.command({"GET", "k"}), "(nil)") << "not in db 0";
  EXPECT_EQ(test::get(*backend, "k"), std::optional<std::string>("in db 3"));
  server.stop();
  server.start();  // empty, and every connection lost
  std::optional<std::string> after;
  for (int attempt = 0; attempt < 50; ++attempt) {  // a refused reconnect backs off first
    try {
      backend->set("k", "again", 0ms);
      after = test::get(*backend, "k");
      break;
    } catch (const backend_error&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_EQ(after, std::optional<std::string>("again"));
  EXPECT_EQ(server.command({"GET", "k"}), "(nil)") << "the new connection selected db 3 too";
}

TEST(RedisAsync, PasswordAndAclUserAreSentWithAuth) {
  test::RedisServer server({.extra_args = {"--requirepass", "s3cret", "--user", "alice", "on",
                                           ">wonder", "~*", "&*", "+@all"}});
  RedisAsyncOptions with_password = options_for(server.port());
  with_password.server.password = "s3cret";
  auto backend = blocking(with_password);
  EXPECT_TRUE(backend->add("k", "v", 0ms));
  RedisAsyncOptions alice = options_for(server.port());
  alice.server.username = "alice";
  alice.server.password = "wonder";
  EXPECT_EQ(test::get(*blocking(alice), "k"), std::optional<std::string>("v"));
}

TEST(RedisAsync, ARefusedPasswordIsAClearErrorThatNeverShowsIt) {
  test::RedisServer server({.extra_args = {"--requirepass", "s3cret"}});
  RedisAsyncOptions wrong = options_for(server.port());
  wrong.server.password = "not-it";
  auto backend = blocking(wrong);
  const std::string message = test::message_thrown_by([&] { backend->set("k", "v", 0ms); });
  EXPECT_THAT(message, HasSubstr("AUTH refused: WRONGPASS"));
  EXPECT_THAT(message, HasSubstr(fmt::format("redis://127.0.0.1:{}: write failed", server.port())));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("not-it")));
}

TEST(RedisAsync, BadOptionsAreRejectedNamingThem) {
  RedisAsyncOptions options;
  options.connections = 0;
  EXPECT_THAT(test::message_thrown_by([&] { blocking(options); }), HasSubstr("connections"));
  options.connections = 1;
  options.server.io_timeout = 0ms;
  EXPECT_THAT(test::message_thrown_by([&] { blocking(options); }), HasSubstr("io_timeout"));
}

// --- TLS ----------------------------------------------------------------------------------

// redis-server speaking only TLS on its port.
test::ServerProcess tls_redis(const TestCertificates& certs, bool client_certificates) {
  return test::ServerProcess(
      {.binary = "redis-server",
       .package = "redis-server",
       .arguments =
           [&certs, client_certificates](std::uint16_t port) {
             return std::vector<std::string>{"--port",
                                             "0",
                                             "--tls-port",
                                             std::to_string(port),
                                             "--bind",
                                             "127.0.0.1",
                                             "--save",
                                             "",
                                             "--appendonly",
                                             "no",
                                             "--dir",
                                             certs.directory(),
                                             "--tls-cert-file",
                                             certs.file("server.pem"),
                                             "--tls-key-file",
                                             certs.file("server.key"),
                                             "--tls-ca-cert-file",
                                             certs.file("ca.pem"),
                                             "--tls-auth-clients",
                                             client_certificates ? "yes" : "no"};
           },
       .ready = [](std::uint16_t port) { return test::accepts_connections(port); },
       .pick_port = {}});
}

class RedisTls : public ::testing::Test {
 protected:
  std::string url(std::string_view query) const {
    return fmt::format("rediss://127.0.0.1:{}?io_timeout=2s&connect_timeout=2s&{}", server_.port(),
                       query);
  }
  TestCertificates certs_;
  test::ServerProcess server_ = tls_redis(certs_, false);
};

TEST_F(RedisTls, CacheFromUrlWorksOverRediss) {
  Cache cache = Cache::from_url(url("tls_ca_file=" + certs_.file("ca.pem")));
  EXPECT_THAT(cache.backend().describe(), HasSubstr("(TLS)"));
  int computes = 0;
  const auto compute = [&] { return ++computes; };
  EXPECT_EQ(cache.cached("k", ns("user", 1), 1min, compute), 1);
  EXPECT_EQ(cache.cached("k", ns("user", 1), 1min, compute), 1);
  cache.bump_namespace(ns("user", 1));
  EXPECT_EQ(cache.cached("k", ns("user", 1), 1min, compute), 2);
  EXPECT_EQ(cache.stats().errors, 0u);
}

TEST_F(RedisTls, ACertificateThatDoesNotVerifyIsAClearError) {
  Cache cache = Cache::from_url(url("tls_ca_file=" + certs_.file("other_ca.pem")));
  const std::string message = test::message_thrown_by([&] { cache.bump_namespace(ns("user", 1)); });
  EXPECT_THAT(message, HasSubstr("TLS handshake failed"));
  EXPECT_THAT(message, HasSubstr("certificate verify failed"));
  std::error_code error;
  EXPECT_EQ(cache.get<int>("k", ns("user", 1), error), std::nullopt);
  EXPECT_EQ(error, errc::backend_unavailable) << "reads fail open";
}

TEST_F(RedisTls, ACertificateForAnotherNameDoesNotVerify) {
  Cache cache = Cache::from_url(
      url("tls_ca_file=" + certs_.file("ca.pem") + "&tls_server_name=cache.example.org"));
  EXPECT_THAT(test::message_thrown_by([&] { cache.bump_namespace(ns("user", 1)); }),
              HasSubstr("certificate verify failed"));
}

TEST_F(RedisTls, VerifyOffAcceptsAnyCertificate) {
  Cache cache =
      Cache::from_url(url("tls_ca_file=" + certs_.file("other_ca.pem") + "&tls_verify=false"));
  EXPECT_GE(cache.bump_namespace(ns("user", 1)), 1u);
}

TEST(RedisTlsClientCertificate, AServerThatAsksForOneGetsTheConfiguredOne) {
  TestCertificates certs;
  test::ServerProcess server = tls_redis(certs, true);
  const std::string base =
      fmt::format("rediss://127.0.0.1:{}?io_timeout=2s&connect_timeout=2s&tls_ca_file={}",
                  server.port(), certs.file("ca.pem"));
  Cache without = Cache::from_url(base);
  EXPECT_THROW(without.bump_namespace(ns("a")), backend_error);
  Cache with = Cache::from_url(base + "&tls_cert_file=" + certs.file("server.pem") +
                               "&tls_key_file=" + certs.file("server.key"));
  EXPECT_GE(with.bump_namespace(ns("a")), 1u);
}

TEST(RedisTlsUrl, ParametersMapToOptionsAndMissingFilesAreNamed) {
  detail::UrlOptions query("rediss", {{"tls_ca_file", "/ca.pem"},
                                      {"tls_cert_file", "/c.pem"},
                                      {"tls_key_file", "/k.pem"},
                                      {"tls_verify", "false"},
                                      {"tls_server_name", "cache.example.org"},
                                      {"connections", "4"}});
  const RedisAsyncOptions options =
      detail::redis_async_options_from_url("rediss", "10.0.0.1:6380", "/2", query);
  EXPECT_NO_THROW(query.finish());
  EXPECT_TRUE(options.tls.enabled);
  EXPECT_EQ(options.tls.ca_file, "/ca.pem");
  EXPECT_EQ(options.tls.cert_file, "/c.pem");
  EXPECT_EQ(options.tls.key_file, "/k.pem");
  EXPECT_FALSE(options.tls.verify);
  EXPECT_EQ(options.tls.server_name, "cache.example.org");
  EXPECT_EQ(options.connections, 4u);
  EXPECT_EQ(options.server.port, 6380);
  EXPECT_EQ(options.server.db, 2u);
  EXPECT_THAT(test::message_thrown_by(
                  [] { Cache::from_url("rediss://127.0.0.1:1?tls_ca_file=/no/such/ca.pem"); }),
              HasSubstr("tls_ca_file"));
  // TLS parameters mean nothing to plaintext redis://.
  EXPECT_THROW(Cache::from_url("redis://127.0.0.1:1?tls_ca_file=/ca.pem"), config_error);
  EXPECT_THAT(test::message_thrown_by([] { Cache::from_url("rediss://h1:1,h2:2"); }),
              HasSubstr("add cluster=true"));
}

}  // namespace
}  // namespace gencache
