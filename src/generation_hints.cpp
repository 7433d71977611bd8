#include "generation_hints.hpp"

#include <mutex>

#include "string_hash.hpp"

namespace gencache::detail {

GenerationHints::GenerationHints(std::size_t capacity)
    : per_shard_capacity_(capacity == 0 ? 0 : (capacity + kShards - 1) / kShards) {}

std::size_t GenerationHints::Hash::operator()(std::string_view s) const noexcept {
  return static_cast<std::size_t>(hash_string(s));
}

GenerationHints::Shard& GenerationHints::shard_for(std::string_view key) const noexcept {
  // The high bits pick the shard; the map inside uses the low ones.
  return shards_[(hash_string(key) >> 58) % kShards];
}

std::optional<std::uint64_t> GenerationHints::find(std::string_view counter_key) const {
  if (per_shard_capacity_ == 0) return std::nullopt;
  Shard& shard = shard_for(counter_key);
  std::shared_lock lock(shard.mutex);
  auto it = shard.map.find(counter_key);
  if (it == shard.map.end()) return std::nullopt;
  return it->second;
}

void GenerationHints::remember(std::string_view counter_key, std::uint64_t generation) {
  if (per_shard_capacity_ == 0) return;
  Shard& shard = shard_for(counter_key);
  std::unique_lock lock(shard.mutex);
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
