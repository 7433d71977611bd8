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

bool refresh_early(const Entry& entry, Clock::time_point now, double beta,
                   RandomDraw draw) noexcept {
  if (!(beta > 0) || entry.compute_time.count() <= 0) return false;
  const auto expiry = entry.created + entry.ttl;
  if (now >= expiry) return true;
  // Compared in double microseconds: a huge beta gives a huge (or infinite) head start,
  // which saturates to "refresh" instead of overflowing a cast to an integer duration.
  const double remaining_us = std::chrono::duration<double, std::micro>(expiry - now).count();
  const double delta_us = static_cast<double>(entry.compute_time.count());
  // -log(draw) for a draw in (0, 1] of 53 random bits is at most 53 ln 2 < 37: when even
  // that head start cannot reach the expiry, log() is skipped (the usual case, a hit far
  // from its expiry, on every read).
  if (delta_us * beta * 37.0 < remaining_us) return false;
  const double head_start_us = -delta_us * beta * std::log(draw());
  // inf * 0 (an infinite beta and a draw of exactly 1) is NaN: infinite beta still means
  // always.
  if (std::isnan(head_start_us)) return std::isinf(beta);
  return head_start_us >= remaining_us;
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
