#pragma once
/// \file
/// The clock the cache reads for creation times and expiry; injectable for tests.

#include <chrono>
#include <memory>

namespace gencache {

/// A source of wall-clock time. Implementations must be thread-safe.
class Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  /// The current time.
  virtual time_point now() const noexcept = 0;
};

/// The process-wide clock backed by std::chrono::system_clock.
std::shared_ptr<const Clock> system_clock();

}  // namespace gencache
