#pragma once
// Internal: TTL arithmetic in whole milliseconds of the injected clock.

#include <time.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

#include "coarse_clock.hpp"
#include "gencache/clock.hpp"

namespace gencache::detail {

inline constexpr std::int64_t kNeverExpires = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t kAlreadyExpired = std::numeric_limits<std::int64_t>::min();

/// Reads the clock at most once, and only when an expiry actually needs it: a batch of
/// hits on never-expiring items costs no clock read at all.
class LazyNow {
 public:
  explicit LazyNow(const Clock& clock) noexcept
      : clock_(clock), system_time_(is_system_clock(clock)) {}
  /// Starts from `coarse`, a reading taken for the same operation, when both clocks are the
  /// system clock (so one hit reads the coarse clock once).
  LazyNow(const Clock& clock, const CoarseNow& coarse) noexcept : LazyNow(clock) {
    if (system_time_ && coarse.read()) coarse_ms_ = coarse.ms();
  }

  /// `ms() < deadline_ms`, answered without the precise clock when it can be: on the
  /// system clock, a deadline more than kCoarseMargin past the coarse clock (see
  /// coarse_clock.hpp) is surely still ahead. Only items that close to expiry pay for the
  /// precise read.
  bool before(std::int64_t deadline_ms) {
#ifdef CLOCK_REALTIME_COARSE
    if (system_time_ && !now_) {
      if (coarse_ms_ == kUnread) coarse_ms_ = coarse_ms();
      if (coarse_ms_ + kCoarseMargin.count() < deadline_ms) return true;
    }
#endif
    return ms() < deadline_ms;
  }

  /// Whole milliseconds since the epoch, rounded down.
  std::int64_t ms() {
    return std::chrono::floor<std::chrono::milliseconds>(read().time_since_epoch()).count();
  }

  /// Whole milliseconds since the epoch, rounded up.
  std::int64_t ms_rounded_up() {
    return std::chrono::ceil<std::chrono::milliseconds>(read().time_since_epoch()).count();
  }

 private:
  Clock::time_point read() {
    if (!now_) now_ = clock_.now();
    return *now_;
  }

  const Clock& clock_;
  bool system_time_;  // clock_ is system_clock(), which reads CLOCK_REALTIME
  std::optional<Clock::time_point> now_;
  // Not std::optional: GCC 12 at -O3 warns (wrongly) that its value may be uninitialized.
  static constexpr std::int64_t kUnread = CoarseNow::kUnread;
  std::int64_t coarse_ms_ = kUnread;
};

/// When an item stored now with `ttl` expires. Zero: never. Negative: already, as
/// Memcached treats a negative expiry. Positive: rounded up so that, with expiry checked
/// as `now.ms() >= expires_at`, the item lives at least its full TTL.
inline std::int64_t expiry_for(std::chrono::milliseconds ttl, LazyNow& now) {
  if (ttl.count() == 0) return kNeverExpires;
  if (ttl.count() < 0) return kAlreadyExpired;
  const std::int64_t start = now.ms_rounded_up();
  if (start > kNeverExpires - 1 - ttl.count()) return kNeverExpires - 1;
  return start + ttl.count();
}

}  // namespace gencache::detail
