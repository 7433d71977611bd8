#pragma once
// Internal: how an entry of the in-process path sits in its item's value bytes. No
// envelope and no checksum: the bytes never leave the process. Directly after the key,
// with no padding (each field is read and written with memcpy, so none needs alignment):
//
//   header           19 bytes: created (8), TTL (4, encode_ttl), compute time (4), how
//                    many namespaces (2), kind (1)
//   CounterRef[n]    16 bytes each: a namespace's counter item and the generation the
//                    value was computed under, in the namespaces' canonical order
//   payload          the rest of the value bytes
//
// Packed this way, an entry of a 16-byte key, one namespace and a 64-byte value is a
// 151-byte block, which glibc serves from a 160-byte chunk; 8-aligned fields (a padded
// 24-byte header and the key's padding) made it 160 bytes and a 176-byte chunk.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "backends/memory/item.hpp"

namespace gencache::detail {

/// An entry's record, as loaded from (or about to be stored into) its item.
struct EntryHeader {
  std::int64_t created_ns;  // Clock::time_point since its epoch, in nanoseconds
  std::uint32_t ttl;        // freshness as the Cache recorded it, encode_ttl()'s form
  std::uint32_t compute_us;
  std::uint16_t namespace_count;
  std::uint8_t kind;  // detail::EntryKind
};
// Where each field of the header sits, from the end of the key.
inline constexpr std::size_t kCreatedAt = 0;
inline constexpr std::size_t kTtlAt = kCreatedAt + sizeof(EntryHeader::created_ns);
inline constexpr std::size_t kComputeAt = kTtlAt + sizeof(EntryHeader::ttl);
inline constexpr std::size_t kCountAt = kComputeAt + sizeof(EntryHeader::compute_us);
inline constexpr std::size_t kKindAt = kCountAt + sizeof(EntryHeader::namespace_count);
inline constexpr std::size_t kEntryHeaderBytes = kKindAt + sizeof(EntryHeader::kind);
static_assert(kEntryHeaderBytes == 19);

/// A reference to a counter item (holding one of its cell's references; null while the
/// entry is being built) and the generation the entry was computed under.
struct CounterRef {
  Item* counter;
  std::uint64_t generation;
};
inline constexpr std::size_t kCounterRefBytes = sizeof(Item*) + sizeof(std::uint64_t);

/// A TTL in 4 bytes: milliseconds below 2^31 of them (24.8 days), whole seconds (rounded
/// down, never longer than asked) with the top bit set above; 2^31 - 1 seconds is 68
/// years, beyond checked_ttl's ceiling of 10^12 ms.
inline constexpr std::uint32_t kTtlInSeconds = 0x8000'0000;
constexpr std::uint32_t encode_ttl(std::chrono::milliseconds ttl) noexcept {
  const std::int64_t ms = std::max<std::int64_t>(ttl.count(), 0);
  if (ms < std::int64_t{kTtlInSeconds}) return static_cast<std::uint32_t>(ms);
  return kTtlInSeconds |
         static_cast<std::uint32_t>(std::min<std::int64_t>(ms / 1000, kTtlInSeconds - 1));
}
constexpr std::chrono::milliseconds decode_ttl(std::uint32_t code) noexcept {
  if ((code & kTtlInSeconds) != 0) return std::chrono::seconds(code & ~kTtlInSeconds);
  return std::chrono::milliseconds(code);
}

/// Value bytes of an entry with `namespaces` namespaces and `payload` payload bytes.
constexpr std::size_t entry_value_size(std::size_t namespaces, std::size_t payload) noexcept {
  return kEntryHeaderBytes + namespaces * kCounterRefBytes + payload;
}

namespace entry_detail {
template <class T>
T load(const char* at) noexcept {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}
template <class T>
void store(char* at, const T& value) noexcept {
  std::memcpy(at, &value, sizeof(T));
}
inline char* record(Item& item) noexcept {
  return item.bytes() + item.key_size;
}
inline const char* record(const Item& item) noexcept {
  return item.bytes() + item.key_size;
}
}  // namespace entry_detail

inline std::uint16_t entry_namespace_count(const Item& item) noexcept {
  return entry_detail::load<std::uint16_t>(entry_detail::record(item) + kCountAt);
}

inline EntryHeader load_entry_header(const Item& item) noexcept {
  const char* at = entry_detail::record(item);
  return {.created_ns = entry_detail::load<std::int64_t>(at + kCreatedAt),
          .ttl = entry_detail::load<std::uint32_t>(at + kTtlAt),
          .compute_us = entry_detail::load<std::uint32_t>(at + kComputeAt),
          .namespace_count = entry_detail::load<std::uint16_t>(at + kCountAt),
          .kind = entry_detail::load<std::uint8_t>(at + kKindAt)};
}

inline void store_entry_header(Item& item, const EntryHeader& header) noexcept {
  char* at = entry_detail::record(item);
  entry_detail::store(at + kCreatedAt, header.created_ns);
  entry_detail::store(at + kTtlAt, header.ttl);
  entry_detail::store(at + kComputeAt, header.compute_us);
  entry_detail::store(at + kCountAt, header.namespace_count);
  entry_detail::store(at + kKindAt, header.kind);
}

inline CounterRef load_counter_ref(const Item& item, std::size_t i) noexcept {
  const char* at = entry_detail::record(item) + kEntryHeaderBytes + i * kCounterRefBytes;
  return {entry_detail::load<Item*>(at), entry_detail::load<std::uint64_t>(at + sizeof(Item*))};
}

inline void store_counter_ref(Item& item, std::size_t i, const CounterRef& ref) noexcept {
  char* at = entry_detail::record(item) + kEntryHeaderBytes + i * kCounterRefBytes;
  entry_detail::store(at, ref.counter);
  entry_detail::store(at + sizeof(Item*), ref.generation);
}

/// Where a new entry's payload is written, after `namespaces` counter references.
inline char* payload_start(Item& item, std::size_t namespaces) noexcept {
  return entry_detail::record(item) + kEntryHeaderBytes + namespaces * kCounterRefBytes;
}
inline std::string_view entry_payload(const Item& item, std::size_t namespaces) noexcept {
  const std::size_t record = kEntryHeaderBytes + namespaces * kCounterRefBytes;
  return {entry_detail::record(item) + record, item.value_size - record};
}

}  // namespace gencache::detail
