// AsyncCache::async_bump_namespaces and async_etag: the blocking Cache's promises, on
// the AsyncBackend (memory:// natively, a blocking backend through the bridge).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "gencache/async_cache.hpp"
#include "gencache/blocking_bridge.hpp"
#include "gencache/cache.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/testing.hpp"

namespace gencache {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ::testing::ElementsAre;

template <class T>
T run(asio::io_context& io, asio::awaitable<T> awaitable) {
  std::future<T> result = asio::co_spawn(io, std::move(awaitable), asio::use_future);
  io.restart();
  io.run_for(10s);
  return result.get();
}

using Outcome = std::tuple<boost::system::error_code, std::vector<std::uint64_t>>;

const std::vector<Namespace> kWrite{ns("user", 42), ns("org", 7), ns("catalog")};

TEST(AsyncBumpNamespaces, BumpsEachAndReturnsTheNewGenerationsInOrder) {
  asio::io_context io;
  auto memory = std::make_shared<MemoryBackend>();
  Cache blocking(memory);
  AsyncCache cache(io.get_executor(), memory);
  std::vector<std::uint64_t> before;
  for (const Namespace& n : kWrite) before.push_back(blocking.generation(n));
  blocking.set("page", ns("org", 7), std::string("old"), 1h);

  const std::vector<std::uint64_t> after =
      run(io, [&]() -> asio::awaitable<std::vector<std::uint64_t>> {
        co_return co_await cache.async_bump_namespaces(kWrite, asio::use_awaitable);
      }());
  EXPECT_THAT(after, ElementsAre(before[0] + 1, before[1] + 1, before[2] + 1));
  EXPECT_EQ(blocking.get("page", ns("org", 7)), std::nullopt) << "the bump invalidated";
}

TEST(AsyncBumpNamespaces, APartialFailureCompletesWithZerosWhereNotBumped) {
  asio::io_context io;
  auto faulty = std::make_shared<testing::FaultInjectingBackend>(std::make_shared<MemoryBackend>());
  std::vector<std::string> hooked;
  CacheOptions options;
  options.on_error = [&](const ErrorEvent& e) { hooked.emplace_back(e.operation); };
  AsyncCache cache(
      io.get_executor(),
      make_blocking_bridge(faulty, BlockingBridgeOptions{.threads = 1, .max_queued = 16}), options);
  Cache blocking(faulty);
  for (const Namespace& n : kWrite) blocking.generation(n);
  const std::uint64_t org_before = blocking.generation(ns("org", 7));

  faulty->fail_next(1);  // the first namespace's increment
  const Outcome outcome = run(io, [&]() -> asio::awaitable<Outcome> {
    co_return co_await cache.async_bump_namespaces(kWrite, asio::as_tuple(asio::use_awaitable));
  }());
  const auto& [ec, generations] = outcome;
  EXPECT_EQ(ec, errc::backend_unavailable);
  ASSERT_EQ(generations.size(), 3u);
  EXPECT_EQ(generations[0], 0u);
  EXPECT_EQ(generations[1], org_before + 1);
  EXPECT_NE(generations[2], 0u);
  EXPECT_THAT(hooked, ElementsAre("bump"));
}

TEST(AsyncEtag, MatchesTheBlockingCachesEtagAndChangesWithABump) {
  asio::io_context io;
  auto memory = std::make_shared<MemoryBackend>();
  Cache blocking(memory);
  AsyncCache cache(io.get_executor(), memory);
  const NamespaceSet deps{ns("user", 42), ns("catalog")};
  const auto etag = [&] {
    return run(io, [&]() -> asio::awaitable<std::string> {
      co_return co_await cache.async_etag("/dashboard", deps, asio::use_awaitable);
    }());
  };
  const std::string before = etag();
  EXPECT_EQ(before, blocking.etag("/dashboard", deps)) << "the same in every process and API";
  blocking.bump_namespace(ns("catalog"));
  const std::string after = etag();
  EXPECT_NE(after, before);
  EXPECT_EQ(after, blocking.etag("/dashboard", deps));
}

}  // namespace
}  // namespace gencache
