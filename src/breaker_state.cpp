#include "breaker_state.hpp"

#include <fmt/format.h>

namespace gencache::detail {

BreakerState::BreakerState(BreakerOptions options, std::shared_ptr<const Clock> clock,
                           StripedStats& stats)
    : options_(options), clock_(std::move(clock)), stats_(stats) {}

bool BreakerState::means_unreachable(std::error_code code) noexcept {
  return code == errc::timeout || code == errc::backend_unavailable;
}

std::int64_t BreakerState::now_ns() const noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->now().time_since_epoch())
      .count();
}

bool BreakerState::admits() noexcept {
  const std::int64_t until = open_until_ns_.load(std::memory_order_acquire);
  if (until == 0) return true;
  // Open: after the cool-down exactly one caller probes; everyone else is turned away.
  if (now_ns() >= until && !probing_.exchange(true, std::memory_order_acq_rel)) return true;
  stats_.add(StripedStats::breaker_rejections);
  return false;
}

backend_error BreakerState::rejection(const std::string& backend) const {
  return backend_error(
      errc::circuit_open,
      fmt::format("{}: circuit breaker open after {} consecutive failures; backend skipped",
                  backend, options_.failure_threshold));
}

void BreakerState::record(std::error_code code) noexcept {
  if (code && means_unreachable(code))
    on_failure();
  else
    on_success();
}

void BreakerState::record(const std::exception_ptr& failure) noexcept {
  if (!failure) {
    on_success();
    return;
  }
  try {
    std::rethrow_exception(failure);
  } catch (const backend_error& e) {
    record(e.code());
  } catch (...) {
    // Not a backend's report (a bug or bad_alloc): says nothing about reachability.
  }
}

void BreakerState::on_success() noexcept {
  // Written only when it changes: a store on every call would bounce this cache line
  // between the cores of every thread using the Cache.
  if (consecutive_failures_.load(std::memory_order_relaxed) != 0)
    consecutive_failures_.store(0, std::memory_order_relaxed);
  if (open_until_ns_.load(std::memory_order_acquire) != 0) {
    open_until_ns_.store(0, std::memory_order_release);
    probing_.store(false, std::memory_order_release);
    stats_.add(StripedStats::breaker_closes);
  }
}

void BreakerState::on_failure() noexcept {
  const std::int64_t reopen_at =
      now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(options_.cooldown).count();
  if (open_until_ns_.load(std::memory_order_acquire) != 0) {
    // A failed probe: stay open for another cool-down.
    open_until_ns_.store(reopen_at, std::memory_order_release);
    probing_.store(false, std::memory_order_release);
    return;
  }
  if (consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1 >=
      options_.failure_threshold) {
    std::int64_t closed = 0;
    if (open_until_ns_.compare_exchange_strong(closed, reopen_at, std::memory_order_acq_rel))
      stats_.add(StripedStats::breaker_opens);
  }
}

}  // namespace gencache::detail
