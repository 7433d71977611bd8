// AsyncCache's call forms as users write them, compiled by GCC 12 and by clang 14 (the
// clang14 ctest label runs this program built by clang++-14). GCC 12 cannot keep a braced
// initializer list alive across co_await ("array used as initializer"), so every form
// here names its NamespaceSet before the co_await, or passes one Namespace.

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <future>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "gencache/async_cache.hpp"

namespace gencache {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs `awaitable` on `io` to completion and returns its result.
template <class T>
T run(asio::io_context& io, asio::awaitable<T> awaitable) {
  std::future<T> result = asio::co_spawn(io, std::move(awaitable), asio::use_future);
  io.restart();
  io.run_for(10s);
  return result.get();
}

class AsyncApi : public ::testing::Test {
 protected:
  asio::io_context io;
  AsyncCache cache = AsyncCache::from_url(io.get_executor(), "memory://");
};

TEST_F(AsyncApi, OneNamespaceNeedsNoBracedList) {
  auto body = run(io, [&]() -> asio::awaitable<std::string> {
    co_return co_await cache.async_cached(
        "page", ns("user", 42), 1min, [] { return std::string("rendered"); }, asio::use_awaitable);
  }());
  EXPECT_EQ(body, "rendered");
}

TEST_F(AsyncApi, ANamedNamespaceSetLivesAcrossTheAwait) {
  auto body = run(io, [&]() -> asio::awaitable<std::string> {
    const NamespaceSet depends_on{ns("user", 42), ns("catalog")};
    co_return co_await cache.async_cached(
        "dashboard", depends_on, 1min,
        []() -> asio::awaitable<std::string> { co_return std::string("awaited compute"); },
        asio::use_awaitable);
  }());
  EXPECT_EQ(body, "awaited compute");
}

TEST_F(AsyncApi, GetSetBumpAndGenerationAwait) {
  auto outcome = run(io, [&]() -> asio::awaitable<std::optional<std::string>> {
    const Namespace user = ns("user", 7);
    co_await cache.async_set("greeting", user, std::string("hello"), 1h, asio::use_awaitable);
    const std::uint64_t before = co_await cache.async_generation(user, asio::use_awaitable);
    const std::uint64_t after = co_await cache.async_bump_namespace(user, asio::use_awaitable);
    EXPECT_NE(before, after);
    co_return co_await cache.async_get<std::string>("greeting", user, asio::use_awaitable);
  }());
  EXPECT_EQ(outcome, std::nullopt) << "the bump hid the entry";
}

TEST_F(AsyncApi, UseFutureWithoutACoroutine) {
  std::future<std::uint64_t> bumped = cache.async_bump_namespace(ns("user", 1), asio::use_future);
  io.run_for(10s);
  EXPECT_GT(bumped.get(), 1u);
}

TEST_F(AsyncApi, ACallbackGetsTheResult) {
  std::optional<std::uint64_t> generation;
  cache.async_generation(ns("user", 2), [&](auto failure, std::uint64_t value) {
    EXPECT_FALSE(failure);
    generation = value;
  });
  io.run_for(10s);
  ASSERT_TRUE(generation.has_value());
  EXPECT_GE(*generation, 2u);
}

TEST_F(AsyncApi, RedirectErrorReturnsABumpFailureInsteadOfThrowing) {
  auto code = run(io, [&]() -> asio::awaitable<boost::system::error_code> {
    boost::system::error_code ec;
    co_await cache.async_bump_namespace(ns("user", 3),
                                        asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
  }());
  EXPECT_FALSE(code) << "a bump on memory:// succeeds";
}

TEST_F(AsyncApi, DeferredStartsWhenAwaited) {
  auto body = run(io, [&]() -> asio::awaitable<std::string> {
    auto later = cache.async_cached(
        "deferred", ns("d"), 1min, [] { return std::string("v"); }, asio::deferred);
    co_return co_await std::move(later)(asio::use_awaitable);
  }());
  EXPECT_EQ(body, "v");
}

}  // namespace
}  // namespace gencache
