#pragma once
// Internal: one independently locked slice of the memory backend: an index of items, a
// CLOCK ring for approximate-LRU eviction, and the byte accounting against its budget.

#include <cstddef>
#include <cstdint>
#include <vector>

#include <boost/unordered/unordered_flat_set.hpp>

#include "backends/memory/expiry.hpp"
#include "backends/memory/item.hpp"
#include "shard_lock.hpp"

namespace gencache::detail {

struct ShardUsage {
  std::size_t items = 0;
  std::size_t bytes = 0;
  std::uint64_t evictions = 0;
  std::uint64_t expirations = 0;
};

/// find() and usage() need SharedAccess to `lock`, the others ExclusiveAccess. Aligned
/// to a cache line so that threads working on neighbouring shards do not share one.
class alignas(64) Shard {
 public:
  Shard() = default;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  ~Shard();

  ShardLock lock;

  void set_budget(std::size_t bytes) noexcept { budget_ = bytes; }

  /// The item stored under `key`, expired or not, or nullptr.
  Item* find(const KeyRef& key) const {
    auto it = items_.find(key);
    return it == items_.end() ? nullptr : *it;
  }

  /// Takes ownership of `item` (whose key must be absent) and charges it. Call
  /// make_room first so the budget holds.
  void link(ItemPtr item);

  /// Removes `item` from the index and the ring and releases its charge; the caller gets
  /// the block back to free, ideally after unlocking.
  ItemPtr unlink(Item* item);

  /// unlink, counted as an expiration.
  ItemPtr drop_expired(Item* item) {
    ++expirations_;
    return unlink(item);
  }

  /// Evicts with the CLOCK hand until `charge` more bytes fit in the budget. Items the
  /// hand finds expired count as expirations, the others as evictions. `charge` must
  /// not exceed the budget.
  void make_room(std::size_t charge, LazyNow& now);

  ShardUsage usage() const noexcept {
    return {.items = ring_.size(),
            .bytes = bytes_,
            .evictions = evictions_,
            .expirations = expirations_};
  }

 private:
  boost::unordered_flat_set<Item*, ItemHash, ItemEqual> items_;
  std::vector<Item*> ring_;  // every linked item once; Item::ring_index is its position
  std::size_t hand_ = 0;
  std::size_t bytes_ = 0;
  std::size_t budget_ = 0;
  std::uint64_t evictions_ = 0;
  std::uint64_t expirations_ = 0;
};

}  // namespace gencache::detail
