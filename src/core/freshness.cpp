#include "gencache/detail/freshness.hpp"

#include <cmath>
#include <random>

#include "gencache/cache.hpp"
#include "random.hpp"

namespace gencache::detail {

double uniform_draw() noexcept {
  static thread_local std::mt19937_64 rng(fresh_generation());
  return (static_cast<double>(rng() >> 11) + 1.0) * 0x1.0p-53;
}

namespace {

// XFetch's draw can only say "refresh" when this is true: beta and the compute time are
// positive and the largest head start a draw can give, delta * beta * (-log(draw)) with
// -log(draw) < 37 (a draw in (0, 1] of 53 random bits), reaches the expiry. Entries far
// from expiry (the usual case) draw nothing and skip log().
bool draw_can_matter(std::chrono::microseconds compute_time, double remaining_us,
                     double beta) noexcept {
  if (!(beta > 0) || compute_time.count() <= 0) return false;
  return !(static_cast<double>(compute_time.count()) * beta * 37.0 < remaining_us);
}

// Compared in double microseconds: a huge beta gives a huge (or infinite) head start,
// which saturates to "refresh" instead of overflowing a cast to an integer duration.
double remaining_us(Clock::time_point expiry, Clock::time_point now) noexcept {
  return std::chrono::duration<double, std::micro>(expiry - now).count();
}

}  // namespace

bool refresh_early(const Entry& entry, Clock::time_point now, double beta,
                   RandomDraw draw) noexcept {
  if (!(beta > 0) || entry.compute_time.count() <= 0) return false;
  const auto expiry = entry.created + entry.ttl;
  if (now >= expiry) return true;
  const double remaining = remaining_us(expiry, now);
  if (!draw_can_matter(entry.compute_time, remaining, beta)) return false;
  const double delta_us = static_cast<double>(entry.compute_time.count());
  const double head_start_us = -delta_us * beta * std::log(draw());
  // inf * 0 (an infinite beta and a draw of exactly 1) is NaN: infinite beta still means
  // always.
  if (std::isnan(head_start_us)) return std::isinf(beta);
  return head_start_us >= remaining;
}

bool fresh_without_draw(Clock::time_point created, std::chrono::milliseconds ttl,
                        std::chrono::microseconds compute_time, Clock::time_point now,
                        const CallOptions& options) noexcept {
  const auto expiry = created + ttl;
  if (!(now < expiry)) return false;
  return !draw_can_matter(compute_time, remaining_us(expiry, now), options.early_refresh_beta);
}

FreshnessDecision classify(const Entry* entry, Clock::time_point now, const CallOptions& options,
                           RandomDraw draw) noexcept {
  if (entry == nullptr) return {Freshness::miss, false};
  const auto expiry = entry->created + entry->ttl;
  if (now < expiry) {
    // The value in hand stays valid, so a failing early refresh falls back to it.
    if (refresh_early(*entry, now, options.early_refresh_beta, draw))
      return {Freshness::refresh_early, true};
    return {Freshness::fresh, true};
  }
  const auto stale_for = now - expiry;
  const bool within_stale_if_error = stale_for < options.stale_if_error;
  if (stale_for < options.stale_while_revalidate)
    return {Freshness::serve_stale_and_refresh, within_stale_if_error};
  if (within_stale_if_error) return {Freshness::stale_if_error_fallback, true};
  return {Freshness::miss, false};
}

}  // namespace gencache::detail
