#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gencache/cached_call.hpp"
#include "gencache/json_codec.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/testing.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;

struct Request {
  std::string path_and_query;
  int user_id = 0;
};
struct Response {
  int status = 200;
  std::string body;
};
BOOST_DESCRIBE_STRUCT(Response, (), (status, body))

int g_handler_calls = 0;
Response dashboard_handler(const Request& r) {
  ++g_handler_calls;
  return {200, "dashboard of " + std::to_string(r.user_id) + " " + r.path_and_query};
}

Cache memory_cache() {
  return Cache(std::make_shared<MemoryBackend>());
}

// A handler that counts its calls and throws when asked to fail; every call has key "k".
auto failing_handler(Cache cache, int& calls, std::optional<CallOptions> options = std::nullopt) {
  auto handler = [&calls](int fail) -> int {
    ++calls;
    if (fail) throw std::logic_error("handler failed");
    return 7;
  };
  auto key = [](int) { return std::string("k"); };
  auto deps = [](int) { return ns("x"); };
  return options ? cached_call(cache, key, deps, 1min, handler, *options)
                 : cached_call(cache, key, deps, 1min, handler);
}

TEST(CachedCall, WrapsAFunctionPointerAndKeepsItsResultType) {
  Cache cache = memory_cache();
  auto handler = cached_call(
      cache, [](const Request& r) { return r.path_and_query; },
      [](const Request& r) { return ns("user", r.user_id); }, 1h, &dashboard_handler);
  g_handler_calls = 0;
  const Request req{"/dash?page=2", 42};
  Response first = handler(req);
  Response second = handler(req);
  static_assert(std::is_same_v<decltype(handler(req)), Response>);
  EXPECT_EQ(first.body, "dashboard of 42 /dash?page=2");
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(g_handler_calls, 1);
  cache.bump_namespace(ns("user", 42));
  handler(req);
  EXPECT_EQ(g_handler_calls, 2);
}

TEST(CachedCall, AcceptsAListOfNamespaces) {
  Cache cache = memory_cache();
  int calls = 0;
  auto handler = cached_call(
      cache, [](int user, int page) { return std::to_string(user) + "/" + std::to_string(page); },
      [](int user, int) {
        return NamespaceSet{ns("user", user), ns("catalog")};
      },
      1min,
      [&](int user, int page) {
        ++calls;
        return user * 100 + page;
      });
  EXPECT_EQ(handler(1, 2), 102);
  EXPECT_EQ(handler(1, 2), 102);
  cache.bump_namespace(ns("catalog"));
  EXPECT_EQ(handler(1, 2), 102);
  EXPECT_EQ(calls, 2);
}

TEST(CachedCall, ForwardsByValueByReferenceAndMoveOnlyArguments) {
  Cache cache = memory_cache();
  // By reference: the handler sees the caller's object, and may even change it.
  int observed = 0;
  auto by_ref = cached_call(
      cache, [](int& x) { return "ref" + std::to_string(x); }, [](int&) { return ns("f"); }, 1min,
      [&](int& x) {
        observed = x;
        ++x;
        return x;
      });
  int value = 5;
  EXPECT_EQ(by_ref(value), 6);
  EXPECT_EQ(value, 6) << "the handler got the caller's object, not a copy";
  EXPECT_EQ(observed, 5);

  // Move-only: key and namespace functions look at it, the handler receives it moved.
  auto by_move = cached_call(
      cache, [](const std::unique_ptr<int>& p) { return "ptr" + std::to_string(*p); },
      [](const std::unique_ptr<int>&) { return ns("f"); }, 1min,
      [](std::unique_ptr<int> p) { return *p * 2; });
  EXPECT_EQ(by_move(std::make_unique<int>(21)), 42);
  EXPECT_EQ(by_move(std::make_unique<int>(21)), 42);

  // By value: copies are fine.
  auto by_value = cached_call(
      cache, [](std::string s) { return s; }, [](const std::string&) { return ns("f"); }, 1min,
      [](std::string s) { return s + "!"; });
  EXPECT_EQ(by_value(std::string("hi")), "hi!");
}

TEST(CachedCall, HandlerExceptionsPassThroughAndAreNotCached) {
  Cache cache = memory_cache();
  int calls = 0;
  auto handler = failing_handler(cache, calls);
  EXPECT_THROW(handler(1), std::logic_error);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(handler(0), 7);
  EXPECT_EQ(calls, 2);
}

// Two wrappers of the same entry, one with stale-if-error: after the entry's TTL, a failing
// handler is answered with the stale value by that wrapper only.
TEST(CachedCall, TakesItsOwnCallOptions) {
  auto clock = std::make_shared<testing::ManualClock>();
  Cache cache(std::make_shared<MemoryBackend>(MemoryOptions{.clock = clock}),
              CacheOptions{.clock = clock});
  int calls = 0;
  auto forgiving = failing_handler(cache, calls, CallOptions{.stale_if_error = 1h});
  auto strict = failing_handler(cache, calls);
  EXPECT_EQ(forgiving(0), 7);
  EXPECT_EQ(forgiving(1), 7) << "a hit: the handler is not called";
  EXPECT_EQ(calls, 1);

  clock->advance(2min);  // past the 1 min TTL, within the stale-if-error hour
  EXPECT_EQ(forgiving(1), 7) << "the stale value stands in for the failure";
  EXPECT_THROW(strict(1), std::logic_error) << "the Cache's defaults have no stale-if-error";
  EXPECT_EQ(calls, 3);
}

TEST(CachedCall, NonPositiveTtlIsRejectedWhenWrapping) {
  Cache cache = memory_cache();
  EXPECT_THROW(cached_call(
                   cache, [](int) { return std::string("k"); }, [](int) { return ns("x"); }, 0s,
                   [](int x) { return x; }),
               config_error);
}

}  // namespace
}  // namespace gencache
