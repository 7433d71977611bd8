#pragma once
/// \file
/// The embedded in-process backend (`memory://`): sharded, bounded by bytes, CLOCK
/// eviction, lazy TTL expiry. The default backend and the unit-test double.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "gencache/backend.hpp"
#include "gencache/clock.hpp"

namespace gencache {

/// Settings of the memory backend; `memory://?max_bytes=64MiB&max_item_bytes=1MiB&shards=16`.
struct MemoryOptions {
  /// Upper bound on the bytes held (keys, values and per-entry bookkeeping). Default 64 MiB.
  std::size_t max_bytes = std::size_t{64} << 20;
  /// Largest value accepted; larger ones are refused (value_too_large). Default 1 MiB,
  /// lowered automatically to a quarter of one shard's share of max_bytes.
  std::size_t max_item_bytes = std::size_t{1} << 20;
  /// Number of independently locked shards (a power of two). 0 picks a default (16).
  std::size_t shards = 0;
  /// Clock for TTL expiry. Default: the system clock.
  std::shared_ptr<const Clock> clock;
};

/// What the memory backend holds right now.
struct MemoryUsage {
  std::size_t items = 0;        ///< entries held, counters included
  std::size_t bytes = 0;        ///< bytes accounted against max_bytes
  std::uint64_t evictions = 0;  ///< entries evicted to stay under max_bytes
  std::uint64_t expirations = 0;  ///< entries dropped because their TTL had passed
};

/// The memory backend. Thread-safe; a hit takes one shard's lock only.
class MemoryBackend : public Backend {
 public:
  /// Throws gencache::config_error for inconsistent options (for example max_bytes too
  /// small to hold one item of max_item_bytes).
  explicit MemoryBackend(MemoryOptions options = {});
  ~MemoryBackend() override;

  void get_many(std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) override;
  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool remove(std::string_view key) override;
  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) override;
  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override;
  std::size_t max_value_size() const noexcept override;
  std::string describe() const override;

  /// A snapshot of occupancy and eviction counts.
  MemoryUsage usage() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gencache
