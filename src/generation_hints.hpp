#pragma once
// Internal: the process-local memory of each namespace's last-seen generation.
// A hint only lets a read guess the versioned key so that it can fetch that key together
// with the counters in one round trip; it is never trusted without those counters.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/unordered/unordered_flat_map.hpp>

#include "shard_lock.hpp"

namespace gencache::detail {

class GenerationHints {
 public:
  /// Remembers at most about `capacity` counters; 0 remembers none.
  explicit GenerationHints(std::size_t capacity);

  std::optional<std::uint64_t> find(std::string_view counter_key) const;
  void remember(std::string_view counter_key, std::uint64_t generation);

 private:
  struct Hash {
    using is_transparent = void;
    using is_avalanching = void;  // wyhash-style: the map need not mix it again
    std::size_t operator()(std::string_view s) const noexcept;
  };
  struct Equal {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  };
  // Every read looks a hint up, and reads of one namespace (say `catalog`) come from all
  // threads at once: a reader writes only its CPU's counter (ShardLock), never a line
  // that another core reads. Hints change only after a bump or a cold start.
  struct alignas(64) Shard {
    ShardLock lock;
    boost::unordered_flat_map<std::string, std::uint64_t, Hash, Equal> map;
  };
  static constexpr std::size_t kShards = 16;

  static std::size_t shard_index(std::string_view key) noexcept;

  std::size_t per_shard_capacity_;
  mutable std::array<Shard, kShards> shards_;
  mutable ReaderCounts readers_{kShards};
};

}  // namespace gencache::detail
