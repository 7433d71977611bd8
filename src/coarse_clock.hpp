#pragma once
// Internal: a cheap upper bound of the system clock's now, for decisions that hold
// whenever the precise time is anywhere below that bound ("still fresh", "not expired").
// The coarse clock (CLOCK_REALTIME_COARSE, the time of the last timer tick) is never
// ahead of the precise one and lags it by one tick at most (1 to 10 ms); on these
// machines it costs 4 ns to read where the precise clock costs 18 ns. So the coarse time
// plus kCoarseMargin is surely not before now, and a deadline beyond it is surely ahead.

#include <time.h>

#include <chrono>
#include <cstdint>
#include <limits>

#include "gencache/clock.hpp"

namespace gencache::detail {

/// Far more than the coarse clock ever lags, so that only deadlines a second or more
/// away are decided without the precise clock.
inline constexpr std::chrono::milliseconds kCoarseMargin{1000};

/// Whether `clock` is system_clock(): only its time can be bounded by the coarse clock
/// (an injected clock is read as it is).
inline bool is_system_clock(const Clock& clock) noexcept {
  static const Clock* const address = system_clock().get();
  return &clock == address;
}

#ifdef CLOCK_REALTIME_COARSE
/// The coarse clock, in whole milliseconds since the epoch.
inline std::int64_t coarse_ms() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return std::int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}
#endif

/// One reading of the coarse clock, taken only when `clock` is the system clock, for the
/// decisions of one operation to share (a Cache's fast hit: the entry's freshness and the
/// store's expiry checks).
class CoarseNow {
 public:
  explicit CoarseNow(const Clock& clock) noexcept : clock_(clock) {
#ifdef CLOCK_REALTIME_COARSE
    if (is_system_clock(clock)) ms_ = coarse_ms();
#endif
  }

  /// Whether there is a reading (the clock is the system clock).
  bool read() const noexcept {
    return ms_ != kUnread;
  }
  /// The reading, in whole milliseconds since the epoch (only when read()).
  std::int64_t ms() const noexcept {
    return ms_;
  }

  /// A time that `clock.now()` is surely not past: the reading plus kCoarseMargin, or the
  /// clock's now() when it is not the system clock. A test that holds for every time up to
  /// this bound (an entry still fresh) therefore holds now.
  Clock::time_point upper_bound() const noexcept {
    if (read()) return Clock::time_point(std::chrono::milliseconds(ms_ + 1) + kCoarseMargin);
    return clock_.now();
  }

  static constexpr std::int64_t kUnread = std::numeric_limits<std::int64_t>::min();

 private:
  const Clock& clock_;
  std::int64_t ms_ = kUnread;
};

}  // namespace gencache::detail
