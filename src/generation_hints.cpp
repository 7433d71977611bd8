#include "generation_hints.hpp"

#include "string_hash.hpp"

namespace gencache::detail {

GenerationHints::GenerationHints(std::size_t capacity)
    : per_shard_capacity_(capacity == 0 ? 0 : (capacity + kShards - 1) / kShards) {}

std::size_t GenerationHints::Hash::operator()(std::string_view s) const noexcept {
  return static_cast<std::size_t>(hash_string(s));
}

std::size_t GenerationHints::shard_index(std::string_view key) noexcept {
  // The high bits pick the shard; the map inside uses the low ones.
  return static_cast<std::size_t>(hash_string(key) >> 60) % kShards;
}

std::optional<std::uint64_t> GenerationHints::find(std::string_view counter_key) const {
  if (per_shard_capacity_ == 0) return std::nullopt;
  const std::size_t index = shard_index(counter_key);
  Shard& shard = shards_[index];
  SharedAccess access(shard.lock, readers_, index);
  auto it = shard.map.find(counter_key);
  if (it == shard.map.end()) return std::nullopt;
  return it->second;
}

void GenerationHints::remember(std::string_view counter_key, std::uint64_t generation) {
  if (per_shard_capacity_ == 0) return;
  const std::size_t index = shard_index(counter_key);
  Shard& shard = shards_[index];
  {
    SharedAccess access(shard.lock, readers_, index);
    auto it = shard.map.find(counter_key);
    if (it != shard.map.end() && it->second == generation) return;  // already known
  }
  ExclusiveAccess access(shard.lock, readers_, index);
  auto it = shard.map.find(counter_key);
  if (it != shard.map.end()) {
    it->second = generation;
    return;
  }
  // Bounded by forgetting the whole shard: hints are only an optimization, and a
  // forgotten one costs a single extra round trip.
  if (shard.map.size() >= per_shard_capacity_) shard.map.clear();
  shard.map.emplace(std::string(counter_key), generation);
}

}  // namespace gencache::detail
