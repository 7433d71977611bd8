// classify(): the freshness decision as a pure function of the entry, the time, the
// options and the random draw. No backend.
#include <chrono>
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "coarse_clock.hpp"
#include "gencache/cache.hpp"
#include "gencache/detail/freshness.hpp"
#include "gencache/testing.hpp"

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

// ---- fresh_without_draw: the fast hit's test, against classify() ----

// A draw that counts how often it is asked for.
int draws = 0;
double counted_draw() noexcept {
  ++draws;
  return 0.5;
}

TEST(FreshWithoutDraw, IsTrueExactlyWhenClassifySaysFreshWithoutDrawing) {
  const double betas[] = {0.0, 1.0, 1000.0, std::numeric_limits<double>::infinity()};
  const std::chrono::microseconds compute_times[] = {0us, 10ms, 1s};
  int fresh_count = 0;
  int drawn_count = 0;
  for (const double beta : betas) {
    for (const auto compute_time : compute_times) {
      At at(compute_time);
      CallOptions options;
      options.early_refresh_beta = beta;
      // From 2 minutes before expiry to 1 minute after, in uneven steps.
      for (std::chrono::milliseconds before = -1min; before <= 2min; before += 1777ms) {
        const Clock::time_point now = at.expiry - before;
        draws = 0;
        const FreshnessDecision d = classify(&at.entry, now, options, &counted_draw);
        const bool fresh_at_once = d.action == Freshness::fresh && draws == 0;
        EXPECT_EQ(
            fresh_without_draw(at.entry.created, at.entry.ttl, at.entry.compute_time, now, options),
            fresh_at_once)
            << "beta " << beta << ", compute " << compute_time.count() << " us, " << before.count()
            << " ms before expiry";
        fresh_count += fresh_at_once;
        drawn_count += draws;
      }
    }
  }
  // The sweep reached both sides: entries served at once, and entries that drew.
  EXPECT_GT(fresh_count, 0);
  EXPECT_GT(drawn_count, 0);
}

TEST(FreshWithoutDraw, FreshAtSomeTimeIsFreshAtEveryEarlierTime) {
  At at(1s);
  CallOptions options;  // the default beta
  for (auto t = at.entry.created; t < at.expiry + 1s; t += 997ms) {
    if (!fresh_without_draw(at.entry.created, at.entry.ttl, at.entry.compute_time, t, options))
      continue;
    for (auto earlier = at.entry.created; earlier <= t; earlier += 3001ms)
      EXPECT_TRUE(fresh_without_draw(at.entry.created, at.entry.ttl, at.entry.compute_time, earlier,
                                     options));
  }
}

// ---- CoarseNow::upper_bound: the time the fast hit decides at ----

TEST(CoarseNowUpperBound, OnTheSystemClockIsNeverBeforeTheTimeReadAfterIt) {
  const auto clock = system_clock();
  for (int i = 0; i < 100'000; ++i) {
    const Clock::time_point bound = CoarseNow(*clock).upper_bound();
    const Clock::time_point now = clock->now();
    ASSERT_GE(bound, now) << "on read " << i;
    // And never so far ahead that an entry with a minute left would miss the fast hit.
    ASSERT_LT(bound - now, kCoarseMargin + 100ms) << "on read " << i;
  }
}

TEST(CoarseNowUpperBound, AnInjectedClockIsReadAsItIs) {
  testing::ManualClock clock;
  EXPECT_EQ(CoarseNow(clock).upper_bound(), clock.now());
  clock.advance(5s);
  EXPECT_EQ(CoarseNow(clock).upper_bound(), clock.now());
}

}  // namespace
}  // namespace gencache::detail
