#pragma once
/// \file
/// Tools for testing code that uses gencache: a manual clock and a fault-injecting
/// backend wrapper, so invalidation logic can be tested deterministically.
/// \code
/// auto clock = std::make_shared<gencache::testing::ManualClock>();
/// auto faulty = std::make_shared<gencache::testing::FaultInjectingBackend>(
///     std::make_shared<gencache::MemoryBackend>(gencache::MemoryOptions{.clock = clock}));
/// gencache::Cache cache(faulty, {.clock = clock});
/// faulty->fail_next(1);                 // the next backend call throws backend_error
/// faulty->evict_counter(gencache::ns("user", 42));   // as if the server evicted it
/// clock->advance(std::chrono::minutes(11));           // entries with a 10 min TTL expire
/// \endcode

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "gencache/backend.hpp"
#include "gencache/clock.hpp"
#include "gencache/error.hpp"
#include "gencache/namespace.hpp"

namespace gencache::testing {

/// A clock that moves only when told to. Thread-safe.
class ManualClock : public Clock {
 public:
  /// Starts at `start` (default: 2023-11-14T22:13:20Z, a fixed instant).
  explicit ManualClock(time_point start = time_point(std::chrono::seconds(1'700'000'000)));
  time_point now() const noexcept override;
  /// Moves the clock forward by `by` (a negative value moves it back).
  void advance(std::chrono::nanoseconds by) noexcept;
  void set(time_point to) noexcept;

 private:
  std::atomic<std::int64_t> nanos_;
};

/// The backend calls the wrapper can count, fail or delay.
enum class Operation { get_many, set, add, remove, increment, create_counter, count_ };

/// The backend key of a namespace's generation counter, as the Cache builds it on a
/// backend that wants no hash tags (all but Redis Cluster).
std::string counter_key(const Namespace& ns, std::string_view prefix = "");
/// The same on `backend`, hash-tagged when it wants hash tags (Redis Cluster).
std::string counter_key(const Backend& backend, const Namespace& ns, std::string_view prefix = "");

/// Wraps a backend, counting calls and injecting failures and delays on demand.
/// Thread-safe. An injected failure throws gencache::backend_error before the call
/// reaches the wrapped backend.
class FaultInjectingBackend : public Backend {
 public:
  explicit FaultInjectingBackend(std::shared_ptr<Backend> inner);

  /// The next `n` calls (of any operation) fail with `code`.
  void fail_next(std::size_t n, std::error_code code = errc::backend_unavailable);
  /// The next `n` calls of `op` fail with `code`.
  void fail_next(Operation op, std::size_t n, std::error_code code = errc::backend_unavailable);
  /// Every call fails while `on` is true (a server that is down).
  void fail_always(bool on, std::error_code code = errc::backend_unavailable);
  /// The next `n` calls sleep for `delay` before proceeding (a slow server).
  void delay_next(std::chrono::milliseconds delay, std::size_t n = 1);

  /// Deletes `ns`'s generation counter from the wrapped backend, as an eviction or a
  /// server restart would. Returns false if it was absent.
  bool evict_counter(const Namespace& ns, std::string_view prefix = "");
  /// Deletes any backend key from the wrapped backend.
  bool evict(std::string_view key);

  /// Calls that reached this wrapper (a multi-get counts once: one round trip).
  std::uint64_t calls(Operation op) const noexcept;
  std::uint64_t calls() const noexcept;
  std::uint64_t injected_failures() const noexcept;
  void reset_counts() noexcept;

  Backend& inner() const noexcept { return *inner_; }

  void get_many(std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) override;
  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool remove(std::string_view key) override;
  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) override;
  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override;
  std::size_t max_value_size() const noexcept override;
  bool wants_hash_tags() const noexcept override { return inner_->wants_hash_tags(); }
  std::string describe() const override;
  /// The wrapped backend's statistics, never failed: it is not a storage call. (Its
  /// increment_many is Backend's loop over increment, so each counter can be failed.)
  std::vector<ServerStats> server_stats() override { return inner_->server_stats(); }

 private:
  void before(Operation op);

  std::shared_ptr<Backend> inner_;
  std::atomic<std::uint64_t> calls_[static_cast<std::size_t>(Operation::count_)] = {};
  std::atomic<std::uint64_t> injected_{0};
  mutable std::mutex mutex_;
  std::size_t fail_any_ = 0;
  std::size_t fail_op_[static_cast<std::size_t>(Operation::count_)] = {};
  std::error_code fail_any_code_;
  std::error_code fail_op_code_[static_cast<std::size_t>(Operation::count_)];
  bool fail_always_ = false;
  std::error_code fail_always_code_;
  std::chrono::milliseconds delay_{0};
  std::size_t delay_count_ = 0;
};

}  // namespace gencache::testing
