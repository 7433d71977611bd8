#pragma once
// Internal: the cross-process lease as sans-I/O steps. Acquire is one add() of the lease
// key; a caller that lost polls for the holder's value with bounded exponential backoff.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace gencache::detail {

/// The key whose add() takes the lease on the entry at `versioned_key`.
std::string lease_key(std::string_view prefix, std::string_view versioned_key);

/// When to poll next: 1 ms, doubling to at most 50 ms, never past `wait` from the start.
class LeasePoll {
 public:
  LeasePoll(std::chrono::milliseconds wait, std::chrono::steady_clock::time_point now) noexcept;

  /// How long to sleep before the next poll, or nullopt when the wait is over.
  std::optional<std::chrono::steady_clock::duration> next_delay(
      std::chrono::steady_clock::time_point now) noexcept;

 private:
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::milliseconds backoff_{1};
};

}  // namespace gencache::detail
