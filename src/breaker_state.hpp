#pragma once
// Internal: the circuit breaker's decision (BreakerOptions), shared by the decorator of a
// blocking Backend (circuit_breaker.hpp) and of an AsyncBackend (async_circuit_breaker.hpp)
// so Cache and AsyncCache open, reject, probe and close alike.

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <system_error>

#include "cache_core.hpp"
#include "gencache/cache.hpp"

namespace gencache::detail {

/// After `failure_threshold` consecutive failures that mean "unreachable" (timeout,
/// backend_unavailable) the breaker is open: calls are rejected at once with
/// errc::circuit_open for `cooldown`, then one probe goes through; its success closes the
/// breaker, its failure re-opens it. Other errors (a value too large, corrupt bytes) prove
/// the server answered and count as successes. Thread-safe; lock-free.
class BreakerState {
 public:
  BreakerState(BreakerOptions options, std::shared_ptr<const Clock> clock, StripedStats& stats);

  /// Whether a call may go to the backend now; false (a rejection, counted) when the
  /// breaker turns it away, and the caller then fails it with rejection().
  bool admits() noexcept;
  /// The error a rejected call fails with: errc::circuit_open, naming `backend`.
  backend_error rejection(const std::string& backend) const;
  /// The outcome of an admitted call: null (success) or the exception it failed with.
  void record(const std::exception_ptr& failure) noexcept;
  /// The outcome of an admitted call that failed with `code` (or succeeded: a null code).
  void record(std::error_code code) noexcept;
  /// Whether `code` means the server did not answer (what opens the breaker).
  static bool means_unreachable(std::error_code code) noexcept;

 private:
  void on_success() noexcept;
  void on_failure() noexcept;
  std::int64_t now_ns() const noexcept;

  BreakerOptions options_;
  std::shared_ptr<const Clock> clock_;
  StripedStats& stats_;
  std::atomic<std::uint64_t> consecutive_failures_{0};
  std::atomic<std::int64_t> open_until_ns_{0};  // 0: closed
  std::atomic<bool> probing_{false};
};

}  // namespace gencache::detail
