#pragma once
// Internal: how an entry of the in-process path sits in its item's value bytes. No
// envelope and no checksum: the bytes never leave the process. After the key's padding:
//
//   EntryHeader      created, TTL, compute time, kind, how many namespaces
//   CounterRef[n]    each namespace's counter item and the generation the value was
//                    computed under, in the namespaces' canonical order
//   payload          the rest of the value bytes

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "backends/memory/item.hpp"

namespace gencache::detail {

struct EntryHeader {
  std::int64_t created_ns;  // Clock::time_point since its epoch, in nanoseconds
  std::int64_t ttl_ms;      // freshness, as the Cache recorded it
  std::uint32_t compute_us;
  std::uint16_t namespace_count;
  std::uint8_t kind;  // detail::EntryKind
  std::uint8_t unused = 0;
};
static_assert(sizeof(EntryHeader) == 24);

/// A reference to a counter item (holding one of its cell's references; null while the
/// entry is being built) and the generation the entry was computed under.
struct CounterRef {
  Item* counter;
  std::uint64_t generation;
};

/// Value bytes of an entry with a key of `key_size` bytes.
constexpr std::size_t entry_value_size(std::size_t key_size, std::size_t namespaces,
                                       std::size_t payload) noexcept {
  return pad_after_key(key_size) + sizeof(EntryHeader) + namespaces * sizeof(CounterRef) + payload;
}

inline EntryHeader& entry_header(Item& item) noexcept {
  return *reinterpret_cast<EntryHeader*>(item.aligned_value());
}
inline const EntryHeader& entry_header(const Item& item) noexcept {
  return *reinterpret_cast<const EntryHeader*>(item.aligned_value());
}
inline CounterRef* counter_refs(Item& item) noexcept {
  return reinterpret_cast<CounterRef*>(item.aligned_value() + sizeof(EntryHeader));
}
inline const CounterRef* counter_refs(const Item& item) noexcept {
  return reinterpret_cast<const CounterRef*>(item.aligned_value() + sizeof(EntryHeader));
}
/// Where a new entry's payload is written (its header's namespace_count already set).
inline char* payload_start(Item& item) noexcept {
  return reinterpret_cast<char*>(counter_refs(item) + entry_header(item).namespace_count);
}
inline std::string_view entry_payload(const Item& item) noexcept {
  const char* start =
      reinterpret_cast<const char*>(counter_refs(item) + entry_header(item).namespace_count);
  const char* end = item.bytes() + item.key_size + item.value_size;
  return {start, static_cast<std::size_t>(end - start)};
}

}  // namespace gencache::detail
