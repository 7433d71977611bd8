// classify(): the freshness decision as a pure function of the entry, the time, the
// options and the random draw. No backend.
#include <chrono>
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/detail/freshness.hpp"

namespace gencache::detail {
namespace {

using namespace std::chrono_literals;

struct At {
  Entry entry;
  Clock::time_point expiry;
  At(std::chrono::microseconds compute_time = 10ms) {
    entry.created = Clock::time_point(1000h);
    entry.ttl = 1min;
    entry.compute_time = compute_time;
    expiry = entry.created + entry.ttl;
  }
};

// -ln(1) = 0: XFetch never fires before expiry.
double no_head_start() noexcept {
  return 1.0;
}
double half() noexcept {
  return 0.5;
}
double one_in_a_thousand() noexcept {
  return 1e-3;
}
double one_in_a_billion() noexcept {
  return 1e-9;
}

TEST(Classify, NothingFoundIsAMiss) {
  const auto d = classify(nullptr, Clock::time_point(1h), CallOptions{}, &half);
  EXPECT_EQ(d.action, Freshness::miss);
  EXPECT_FALSE(d.fallback_on_error);
}

TEST(Classify, BeforeExpiryIsFreshAndMayStandInForAFailedRefresh) {
  At at;
  const auto d = classify(&at.entry, at.expiry - 30s, CallOptions{}, &no_head_start);
  EXPECT_EQ(d.action, Freshness::fresh);
  EXPECT_TRUE(d.fallback_on_error);
}

TEST(Classify, SmallDrawNearExpiryRefreshesEarly) {
  At at;
  // Head start 10 ms * -ln(1e-3) = 69 ms > 50 ms remaining.
  const auto d = classify(&at.entry, at.expiry - 50ms, CallOptions{}, &one_in_a_thousand);
  EXPECT_EQ(d.action, Freshness::refresh_early);
  EXPECT_TRUE(d.fallback_on_error);
}

TEST(Classify, AHitFarFromExpiryDrawsNoRandomNumber) {
  At at;
  static bool drawn = false;
  RandomDraw watched = []() noexcept {
    drawn = true;
    return 0.5;
  };
  EXPECT_EQ(classify(&at.entry, at.expiry - 59s, CallOptions{}, watched).action, Freshness::fresh);
  EXPECT_FALSE(drawn) << "37 compute times cannot reach the expiry: no draw is needed";
  classify(&at.entry, at.expiry - 1ms, CallOptions{}, watched);
  EXPECT_TRUE(drawn);
}

TEST(Classify, ZeroBetaOrUnknownComputeTimeNeverRefreshesEarly) {
  At at;
  EXPECT_EQ(
      classify(&at.entry, at.expiry - 1ms, CallOptions{.early_refresh_beta = 0}, &one_in_a_billion)
          .action,
      Freshness::fresh);
  At untimed(0us);
  EXPECT_EQ(classify(&untimed.entry, untimed.expiry - 1ms, CallOptions{}, &one_in_a_billion).action,
            Freshness::fresh);
}

TEST(Classify, InfiniteBetaSaturatesToAlwaysRefreshEarly) {
  At at;
  const CallOptions infinite{.early_refresh_beta = std::numeric_limits<double>::infinity()};
  EXPECT_EQ(classify(&at.entry, at.expiry - 59s, infinite, &half).action, Freshness::refresh_early);
  EXPECT_EQ(classify(&at.entry, at.expiry - 59s, infinite, &no_head_start).action,
            Freshness::refresh_early)
      << "inf * 0 must not turn into 'never'";
}

TEST(Classify, HugeBetaRefreshesEarlyOnEveryDraw) {
  At at(1s);
  const CallOptions huge{.early_refresh_beta = 1e12};
  static int draw_index = 0;
  RandomDraw spread = []() noexcept { return ++draw_index / 1001.0; };
  int refreshed = 0;
  for (int i = 1; i <= 1000; ++i)
    refreshed +=
        classify(&at.entry, at.expiry - 59s, huge, spread).action == Freshness::refresh_early;
  EXPECT_EQ(refreshed, 1000);
}

TEST(Classify, WithinStaleWhileRevalidateServesStaleAndRefreshes) {
  At at;
  const CallOptions swr{.stale_while_revalidate = 10s};
  const auto d = classify(&at.entry, at.expiry + 5s, swr, &half);
  EXPECT_EQ(d.action, Freshness::serve_stale_and_refresh);
  EXPECT_FALSE(d.fallback_on_error) << "stale_if_error is off";
  const CallOptions both{.stale_while_revalidate = 10s, .stale_if_error = 1min};
  EXPECT_TRUE(classify(&at.entry, at.expiry + 5s, both, &half).fallback_on_error);
}

TEST(Classify, PastStaleWhileRevalidateButWithinStaleIfErrorIsAMissWithFallback) {
  At at;
  const CallOptions options{.stale_while_revalidate = 10s, .stale_if_error = 1min};
  const auto d = classify(&at.entry, at.expiry + 30s, options, &half);
  EXPECT_EQ(d.action, Freshness::stale_if_error_fallback);
  EXPECT_TRUE(d.fallback_on_error);
}

TEST(Classify, PastEveryWindowIsAMissWithoutFallback) {
  At at;
  const CallOptions options{.stale_while_revalidate = 10s, .stale_if_error = 1min};
  const auto d = classify(&at.entry, at.expiry + 1min, options, &half);
  EXPECT_EQ(d.action, Freshness::miss);
  EXPECT_FALSE(d.fallback_on_error);
  EXPECT_EQ(classify(&at.entry, at.expiry, CallOptions{}, &half).action, Freshness::miss)
      << "expiry itself is not fresh";
}

}  // namespace
}  // namespace gencache::detail
