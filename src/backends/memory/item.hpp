#pragma once
// Internal: one cached item of the memory backend, a single heap block holding a small
// header followed by the key and then the value, and the hash/equality that index it.
// An item is one of three kinds: plain bytes (the Backend API's values), a generation
// counter (a GenerationCell, so a bump is one atomic increment), or a Cache entry of the
// in-process path (an entry_layout.hpp record that points at its counters' cells).

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

/// Byte keys and in-process entries are indexed apart: no Backend key can ever name an
/// entry of the in-process path, or the other way round.
enum class Keyspace : std::uint8_t { bytes = 0, entries = 1 };

/// A key with its hash computed once: the shard is picked by its high half and the
/// shard's index uses the low half.
struct KeyRef {
  std::string_view key;
  std::uint64_t hash;
  Keyspace space = Keyspace::bytes;
};

enum class ItemKind : std::uint8_t { bytes = 0, counter = 1, entry = 2 };

/// The generation of one namespace, held as a number in its counter item's block (whose
/// address is stable) so a bump is one atomic increment and a hit compares without parsing.
/// Entries computed under it hold a reference, so the block outlives its removal from the
/// index while they exist. On removal (eviction, remove, overwrite) it is advanced once, so
/// no entry recorded under it can match again: a lost counter takes its entries with it.
struct GenerationCell {
  std::atomic<std::uint64_t> generation;
  std::atomic<std::uint32_t> references;  // 1 for the index while linked, plus 1 per entry
};

/// Padding from the end of a key of `key_size` bytes to the next 8-byte boundary: the
/// block starts 16-aligned and the header is 24 bytes, so the key starts 8-aligned.
constexpr std::size_t pad_after_key(std::size_t key_size) noexcept {
  return (8 - key_size % 8) % 8;
}

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
  ItemKind kind;

  char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const noexcept { return {bytes(), key_size}; }
  /// The value of a bytes item (a counter's or an entry's is binary: use cell() / the layout).
  std::string_view value() const noexcept { return {bytes() + key_size, value_size}; }
  Keyspace space() const noexcept {
    return kind == ItemKind::entry ? Keyspace::entries : Keyspace::bytes;
  }
  /// The 8-aligned start of a counter's value (its atomic cell; an entry packs its record
  /// with no alignment, see entry_layout.hpp).
  char* aligned_value() noexcept { return bytes() + key_size + pad_after_key(key_size); }
  const char* aligned_value() const noexcept {
    return bytes() + key_size + pad_after_key(key_size);
  }
  GenerationCell& cell() noexcept { return *reinterpret_cast<GenerationCell*>(aligned_value()); }

  bool expired(LazyNow& now) const {
    return expires_at_ms != kNeverExpires && !now.before(expires_at_ms);
  }
};
static_assert(sizeof(Item) == 24, "the item header is part of the per-entry overhead budget");

/// Frees an item: a counter only once no entry refers to its cell any more, an entry
/// after giving back its references to its counters.
void release_item(Item* item) noexcept;

struct ItemDeleter {
  void operator()(Item* item) const noexcept { release_item(item); }
};
using ItemPtr = std::unique_ptr<Item, ItemDeleter>;

/// Allocates an uninitialized item block for `key` with `value_size` value bytes (after
/// the padding, for a counter). Sizes must already be checked against
/// Item::kMaxKeySize and Item::kMaxValueSize.
inline ItemPtr allocate_item(const KeyRef& key, ItemKind kind, std::size_t value_size,
                             std::int64_t expires_at_ms) {
  void* block = ::operator new(sizeof(Item) + key.key.size() + value_size);
  ItemPtr item(new (block) Item{.expires_at_ms = expires_at_ms,
                                .hash = static_cast<std::uint32_t>(key.hash),
                                .value_size = static_cast<std::uint32_t>(value_size),
                                .ring_index = 0,
                                .key_size = static_cast<std::uint16_t>(key.key.size()),
                                .referenced = false,
                                .kind = kind});
  // memcpy with a null source is undefined even for zero bytes, and empty views may be null.
  if (!key.key.empty()) std::memcpy(item->bytes(), key.key.data(), key.key.size());
  return item;
}

/// A bytes item holding `value`.
inline ItemPtr make_item(const KeyRef& key, std::string_view value, std::int64_t expires_at_ms) {
  ItemPtr item = allocate_item(key, ItemKind::bytes, value.size(), expires_at_ms);
  if (!value.empty()) std::memcpy(item->bytes() + key.key.size(), value.data(), value.size());
  return item;
}

/// Value bytes of a counter item with a key of `key_size` bytes.
constexpr std::size_t counter_value_size(std::size_t key_size) noexcept {
  return pad_after_key(key_size) + sizeof(GenerationCell);
}

/// A counter item at `generation`, referenced once (by the index it is about to enter).
inline ItemPtr make_counter(const KeyRef& key, std::uint64_t generation,
                            std::int64_t expires_at_ms) {
  ItemPtr item =
      allocate_item(key, ItemKind::counter, counter_value_size(key.key.size()), expires_at_ms);
  new (item->aligned_value()) GenerationCell{generation, 1};
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
    return a == b || (a->space() == b->space() && a->key() == b->key());
  }
  bool operator()(const KeyRef& key, const Item* item) const noexcept {
    return item->space() == key.space && item->key() == key.key;
  }
  bool operator()(const Item* item, const KeyRef& key) const noexcept {
    return item->space() == key.space && item->key() == key.key;
  }
};

}  // namespace gencache::detail
