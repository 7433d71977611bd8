#pragma once
/// \file
/// The embedded in-process backend (`memory://`): sharded, bounded by bytes, CLOCK
/// eviction, lazy TTL expiry. The default backend and the unit-test double.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "gencache/async_backend.hpp"
#include "gencache/backend.hpp"
#include "gencache/clock.hpp"

namespace gencache {

/// Settings of the memory backend; `memory://?max_bytes=64MiB&max_item_bytes=1MiB&shards=16`.
struct MemoryOptions {
  /// Upper bound on the bytes held (keys, values and per-entry bookkeeping, estimated as
  /// glibc malloc rounds a block plus index slots). Split evenly between the shards, each
  /// evicting on its own. Default 64 MiB.
  std::size_t max_bytes = std::size_t{64} << 20;
  /// Largest value accepted; larger ones are refused (value_too_large). At least 1 KiB;
  /// default 1 MiB, lowered automatically to a quarter of one shard's share of max_bytes.
  std::size_t max_item_bytes = std::size_t{1} << 20;
  /// Number of independently locked shards (a power of two from 1 to 1024). 0 picks 16,
  /// halved while a shard would get under 64 KiB (so a 1 MiB cache gets 16, a 64 KiB
  /// one 1). Each shard needs at least 1 KiB.
  std::size_t shards = 0;
  /// Clock for TTL expiry. Default (null): the system clock.
  /// (The `= nullptr` lets GCC 12 accept designated initializers that omit it.)
  std::shared_ptr<const Clock> clock = nullptr;
};

/// What the memory backend holds right now.
struct MemoryUsage {
  std::size_t items = 0;          ///< entries held, counters included
  std::size_t bytes = 0;          ///< bytes accounted against max_bytes
  std::uint64_t evictions = 0;    ///< entries evicted to stay under max_bytes
  std::uint64_t expirations = 0;  ///< entries dropped because their TTL had passed
};

/// The memory backend. Thread-safe. A hit writes only a per-CPU reader count (and the
/// item's CLOCK bit when clear), so hits on different cores scale; a write locks one shard.
///
/// Beyond the Backend contract: `set`/`add` of a value above max_value_size() throw
/// backend_error(errc::value_too_large); `increment` of a value that is not a decimal
/// number below 2^64 throws backend_error(errc::not_stored); a negative TTL stores an
/// item that is already expired (as Memcached does). An expired item is a miss and is
/// dropped when next touched, or reclaimed by eviction (counted as an expiration).
///
/// It is also an AsyncBackend whose operations never block on I/O: each one does its work
/// and calls its handler before returning (inside the initiating call), with the same
/// results and failures as the blocking call of the same name.
class MemoryBackend : public Backend, public AsyncBackend {
 public:
  /// Throws gencache::config_error for inconsistent options: max_bytes of 0,
  /// max_item_bytes under 1 KiB, shards not a power of two from 1 to 1024, or shards of under 1 KiB
  /// each.
  explicit MemoryBackend(MemoryOptions options = {});
  ~MemoryBackend() override;

  void get_many(std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) override;
  /// Visits each value in place, under its shard's read lock: no copy is made.
  void visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) override;
  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool remove(std::string_view key) override;
  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) override;
  /// In-process, so increment_many's per-key loop is one call's worth: no round trip.
  bool batches_increments() const noexcept override { return true; }
  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override;
  std::size_t max_value_size() const noexcept override;
  std::string describe() const override;

  void async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                        handler<void(std::exception_ptr)> done) override;
  void async_set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr)> done) override;
  void async_add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr, bool)> done) override;
  void async_remove(std::string_view key, handler<void(std::exception_ptr, bool)> done) override;
  void async_increment(
      std::string_view key, std::uint64_t delta,
      handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) override;
  /// Every counter in one call, in place (no round trip at all).
  void async_increment_many(
      std::span<const std::string_view> keys, std::uint64_t delta,
      handler<void(std::exception_ptr, std::vector<CounterIncrement>)> done) override;
  bool batches_async_increments() const noexcept override { return true; }
  void async_create_counter(std::string_view key, std::uint64_t initial,
                            std::chrono::milliseconds ttl,
                            handler<void(std::exception_ptr, bool)> done) override;

  /// A snapshot of occupancy and eviction counts.
  MemoryUsage usage() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gencache
