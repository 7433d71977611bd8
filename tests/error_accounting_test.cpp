// One rule for what counts as an error: a backend failure a caller's operation met is
// counted in Stats::errors and reaches the hook; a value over the size limit is not a
// failure (Stats::oversized only); reads and writes the open breaker skipped are
// rejections, but a bump it skipped is a failed invalidation, counted and reported.
// (The breaker half is CircuitBreaker.ABumpTheOpenBreakerRejectedIsCountedAndReachesTheHook.)
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;

TEST(ErrorAccounting, AValueOfExactlyTheLimitIsCachedOnMemory) {
  std::vector<std::string> hooked;
  Cache cache = Cache::from_url("memory://", CacheOptions{.on_error = [&](const ErrorEvent& e) {
                                  hooked.push_back(e.message);
                                }});
  ASSERT_EQ(cache.backend().max_value_size(), std::size_t{1} << 20) << "the documented default";
  const std::string mebibyte(std::size_t{1} << 20, 'm');
  cache.set("exact", ns("n"), mebibyte, 1min);
  EXPECT_EQ(cache.get("exact", ns("n")), mebibyte)
      << "the limit is on the value, not value + header";
  EXPECT_EQ(cache.stats().oversized, 0u);
  EXPECT_TRUE(hooked.empty());
}

TEST(ErrorAccounting, AnOversizedValueIsNotAnErrorAndFiresNoHook) {
  std::vector<std::string> hooked;
  Cache cache = Cache::from_url("memory://", CacheOptions{.on_error = [&](const ErrorEvent& e) {
                                  hooked.push_back(e.message);
                                }});
  const std::string over((std::size_t{1} << 20) + 1, 'o');
  EXPECT_EQ(cache.cached("over", ns("n"), 1min, [&] { return over; }), over);
  EXPECT_EQ(cache.get("over", ns("n")), std::nullopt);
  EXPECT_EQ(cache.stats().oversized, 1u);
  EXPECT_EQ(cache.stats().errors, 0u);
  EXPECT_TRUE(hooked.empty());
}

}  // namespace
}  // namespace gencache
