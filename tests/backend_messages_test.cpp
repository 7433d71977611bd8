// Error-hook messages tell an operator what the application did (read, write, bump), on
// which server and why, in plain words: no client-library source paths, handle
// addresses or internal function names.
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/memcached/memcached_errors.hpp"
#include "backends/redis/redis_errors.hpp"
#include "gencache/cache.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "support/memcached_server.hpp"
#include "support/redis_server.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// What libmemcached 1.1 wrote for these failures (seen against a real memcached).
constexpr std::string_view kRefused =
    "(0x55e41784feb0) CONNECTION FAILURE(Connection refused),  host: 127.0.0.1:1 -> "
    "./src/libmemcached/io.cc:145";
constexpr std::string_view kDisabled =
    "(0x55e41784feb0) SERVER HAS FAILED AND IS DISABLED UNTIL TIMED RETRY,  host: "
    "127.0.0.1:33325 -> ./src/libmemcached/get.cc:233";
constexpr std::string_view kUnresolvable =
    "(0x5626399b9eb0) getaddrinfo() or getnameinfo() HOSTNAME LOOKUP FAILURE, Name or service "
    "not known,  host: nonexistent.invalid:11211 -> ./src/libmemcached/connect.cc:85";

void expect_no_internals(const std::string& message) {
  EXPECT_THAT(message, Not(HasSubstr("->")));
  EXPECT_THAT(message, Not(HasSubstr(".cc")));
  EXPECT_THAT(message, Not(HasSubstr("0x")));
  EXPECT_THAT(message, Not(HasSubstr("visit_many")));
  EXPECT_THAT(message, Not(HasSubstr("get_many")));
  EXPECT_THAT(message, Not(HasSubstr("SELECT")));
}

TEST(MemcachedFailureReason, RefusedConnectionNamesTheServerAndTheSystemsReason) {
  const std::string reason =
      detail::memcached_failure_reason(MEMCACHED_CONNECTION_FAILURE, kRefused);
  EXPECT_EQ(reason, "cannot connect to 127.0.0.1:1 (connection refused)");
}

TEST(MemcachedFailureReason, DisabledServerSaysWhyItIsSkipped) {
  const std::string reason =
      detail::memcached_failure_reason(MEMCACHED_SERVER_TEMPORARILY_DISABLED, kDisabled);
  EXPECT_EQ(reason,
            "127.0.0.1:33325 failed recently and is skipped until retry_timeout has passed");
}

TEST(MemcachedFailureReason, UnresolvableHostKeepsTheResolversAnswer) {
  const std::string reason =
      detail::memcached_failure_reason(MEMCACHED_HOST_LOOKUP_FAILURE, kUnresolvable);
  EXPECT_EQ(reason,
            "the host name of nonexistent.invalid:11211 does not resolve (name or service not "
            "known)");
}

TEST(MemcachedFailureReason, WithoutLibmemcachedsTextTheCodeStillSaysIt) {
  EXPECT_EQ(detail::memcached_failure_reason(MEMCACHED_E2BIG, ""),
            "the server refused the value as larger than its item size limit (-I)");
  EXPECT_EQ(detail::memcached_failure_reason(MEMCACHED_TIMEOUT, ""),
            "the server did not answer within the timeout");
  expect_no_internals(detail::memcached_failure_reason(MEMCACHED_PROTOCOL_ERROR, kDisabled));
}

TEST(RedisOperationWords, BackendMembersBecomeWhatTheApplicationDid) {
  EXPECT_EQ(detail::redis_operation_words("visit_many"), "read");
  EXPECT_EQ(detail::redis_operation_words("get_many"), "read");
  EXPECT_EQ(detail::redis_operation_words("set"), "write");
  EXPECT_EQ(detail::redis_operation_words("increment"), "counter increment");
  EXPECT_EQ(detail::redis_operation_words("add"), "add");
}

// What the hook of a cache over `url` received while `server` was stopped, for a get, a
// set (which fails at its read of the generations) and a bump, as
// "<operation> failed: <message>", the way docs/guide.md logs it.
template <class Server>
std::vector<std::string> hook_messages_while_stopped(Server& server, const std::string& url) {
  std::vector<std::string> messages;
  CacheOptions options;
  options.breaker.failure_threshold = 0;  // every call reaches the backend
  options.on_error = [&messages](const ErrorEvent& event) {
    messages.push_back(fmt::format("{} failed: {}", event.operation, event.message));
  };
  Cache cache = Cache::from_url(url, std::move(options));
  server.stop();
  EXPECT_EQ(cache.get("k", ns("user", 42)), std::nullopt);
  cache.set("k", ns("user", 42), std::string("v"), 1min);
  std::error_code ec;
  cache.bump_namespace(ns("user", 42), ec);
  EXPECT_TRUE(ec);
  return messages;
}

TEST(BackendMessages, MemcachedFailuresSayWhatWhereAndWhy) {
  test::MemcachedServer server;
  const std::string where = "memcached://" + server.address();
  const std::vector<std::string> messages =
      hook_messages_while_stopped(server, test::memcached_url({&server}));
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_THAT(messages[0], HasSubstr("read failed: " + where + ": read failed: "));
  EXPECT_THAT(messages[1], HasSubstr("read failed: " + where + ": read failed: "));
  EXPECT_THAT(messages[2], HasSubstr("bump failed: " + where + ": counter increment failed: "));
  for (const std::string& message : messages) {
    EXPECT_THAT(message, ::testing::AnyOf(
                             HasSubstr("cannot connect to " + server.address()),
                             HasSubstr(server.address() + " failed recently and is skipped until "
                                                          "retry_timeout has passed")));
    expect_no_internals(message);
  }
}

TEST(BackendMessages, RedisFailuresSayWhatWhereAndWhy) {
  test::RedisServer server;
  const std::string where = "redis://" + server.address();
  const std::vector<std::string> messages = hook_messages_while_stopped(server, where);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_THAT(messages[0], HasSubstr("read failed: " + where + ": read failed: "));
  EXPECT_THAT(messages[1], HasSubstr("read failed: " + where + ": read failed: "));
  EXPECT_THAT(messages[2], HasSubstr("bump failed: " + where + ": counter increment failed: "));
  for (const std::string& message : messages) {
    EXPECT_THAT(message, HasSubstr("connecting: Connection refused"));
    expect_no_internals(message);
  }
}

TEST(BackendMessages, RedisDatabaseTheServerLacksIsNamedInWords) {
  test::RedisServer server;
  std::vector<std::string> messages;
  Cache cache = Cache::from_url(fmt::format("redis://{}/100", server.address()),
                                CacheOptions{.on_error = [&messages](const ErrorEvent& e) {
                                  messages.emplace_back(e.message);
                                }});
  EXPECT_EQ(cache.get("k", ns("n")), std::nullopt);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_THAT(messages[0],
              HasSubstr("read failed: selecting database 100: ERR DB index is out of range"));
  expect_no_internals(messages[0]);
}

}  // namespace
}  // namespace gencache
