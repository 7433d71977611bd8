#pragma once
// Internal: one cached entry of the memory backend, a single heap block holding a small
// header followed by the key and value bytes, and the hash/equality that index it.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string_view>

#include "backends/memory/expiry.hpp"

namespace gencache::detail {

/// A key with its hash computed once: the shard is picked by its high half and the
/// shard's index uses the low half.
struct KeyRef {
  std::string_view key;
  std::uint64_t hash;
};

/// Header of an item block; the key bytes and then the value bytes follow it directly.
struct Item {
  static constexpr std::size_t kMaxKeySize = std::numeric_limits<std::uint16_t>::max();
  static constexpr std::size_t kMaxValueSize = std::numeric_limits<std::uint32_t>::max();

  std::int64_t expires_at_ms;  // kNeverExpires, or ms since the clock's epoch
  std::uint32_t hash;          // low half of KeyRef::hash, so rehashing never reads the key
  std::uint32_t value_size;
  std::uint32_t ring_index;  // position in the shard's CLOCK ring
  std::uint16_t key_size;
  // CLOCK bit: set on a hit, cleared as the hand passes. Atomic because concurrent hits
  // (readers share the shard) may set it together; relaxed, as it is only a hint.
  std::atomic<bool> referenced;

  char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const noexcept { return {bytes(), key_size}; }
  std::string_view value() const noexcept { return {bytes() + key_size, value_size}; }

  bool expired(LazyNow& now) const {
    return expires_at_ms != kNeverExpires && !now.before(expires_at_ms);
  }
};
static_assert(sizeof(Item) == 24, "the item header is part of the per-entry overhead budget");

struct ItemDeleter {
  void operator()(Item* item) const noexcept { ::operator delete(item); }
};
using ItemPtr = std::unique_ptr<Item, ItemDeleter>;

/// Allocates one block for `key` and `value`. Sizes must already be checked against
/// Item::kMaxKeySize and Item::kMaxValueSize.
inline ItemPtr make_item(const KeyRef& key, std::string_view value, std::int64_t expires_at_ms) {
  void* block = ::operator new(sizeof(Item) + key.key.size() + value.size());
  ItemPtr item(new (block) Item{.expires_at_ms = expires_at_ms,
                                .hash = static_cast<std::uint32_t>(key.hash),
                                .value_size = static_cast<std::uint32_t>(value.size()),
                                .ring_index = 0,
                                .key_size = static_cast<std::uint16_t>(key.key.size()),
                                .referenced = false});
  // memcpy with a null source is undefined even for zero bytes, and empty views may be null.
  if (!key.key.empty()) std::memcpy(item->bytes(), key.key.data(), key.key.size());
  if (!value.empty()) std::memcpy(item->bytes() + key.key.size(), value.data(), value.size());
  return item;
}

/// Bytes an item is charged against max_bytes: its block as glibc malloc rounds it (an
/// 8-byte size word, 16-byte granules) plus its slots in the shard's index and CLOCK
/// ring (8-byte pointers each, at typical load factors).
inline std::size_t item_charge(std::size_t key_size, std::size_t value_size) noexcept {
  constexpr std::size_t kIndexAndRingBytes = 24;
  const std::size_t block = (sizeof(Item) + key_size + value_size + 8 + 15) & ~std::size_t{15};
  return block + kIndexAndRingBytes;
}

inline std::size_t item_charge(const Item& item) noexcept {
  return item_charge(item.key_size, item.value_size);
}

/// Hash and equality for a set of Item* looked up by KeyRef without building a key.
struct ItemHash {
  using is_transparent = void;
  std::size_t operator()(const Item* item) const noexcept { return item->hash; }
  std::size_t operator()(const KeyRef& key) const noexcept {
    return static_cast<std::uint32_t>(key.hash);
  }
};

struct ItemEqual {
  using is_transparent = void;
  bool operator()(const Item* a, const Item* b) const noexcept {
    return a == b || a->key() == b->key();
  }
  bool operator()(const KeyRef& key, const Item* item) const noexcept {
    return item->key() == key.key;
  }
  bool operator()(const Item* item, const KeyRef& key) const noexcept {
    return item->key() == key.key;
  }
};

}  // namespace gencache::detail
