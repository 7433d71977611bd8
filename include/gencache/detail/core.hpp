#pragma once
// Internal: the non-template half of Cache, called from the template bodies in cache-inl.hpp.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gencache/clock.hpp"
#include "gencache/namespace.hpp"

namespace gencache::detail {

class CacheCore;

/// What an envelope says its payload is.
enum class EntryKind : std::uint8_t { value = 0, absent = 1 };

/// A decoded envelope.
struct Entry {
  EntryKind kind = EntryKind::value;
  std::string payload;
  Clock::time_point created{};
  std::chrono::milliseconds ttl{0};
  std::chrono::microseconds compute_time{0};
};

/// The outcome of reading one entry: the generations were read (or the backend failed).
struct ReadResult {
  bool backend_ok = false;    ///< false: the backend failed; do not write back
  std::string versioned_key;  ///< where the entry lives at the generations that were read
  std::optional<Entry> entry;  ///< a decoded envelope, or nullopt on a miss
};

enum class Event { hit, miss, corrupt, compute };

/// Reads the generations of `namespaces` and the entry stored under them. Never throws a
/// backend failure: it is counted and reported, and `backend_ok` is false.
ReadResult read_entry(CacheCore& core, std::string_view key, const NamespaceSet& namespaces);

/// Reads only the generations and returns where the entry lives (`entry` stays empty).
ReadResult resolve_key(CacheCore& core, std::string_view key, const NamespaceSet& namespaces);

/// Stores an envelope under `read.versioned_key`. Never throws a backend failure.
void write_entry(CacheCore& core, const ReadResult& read, EntryKind kind, std::string_view payload,
                 std::chrono::milliseconds ttl, std::chrono::microseconds compute_time);

void count(CacheCore& core, Event event) noexcept;
Clock::time_point now(const CacheCore& core) noexcept;

/// Throws std::invalid_argument unless `ttl` is positive; rounds up to milliseconds.
std::chrono::milliseconds checked_ttl(std::chrono::nanoseconds ttl);

template <class Rep, class Period>
std::chrono::milliseconds checked_ttl(std::chrono::duration<Rep, Period> ttl) {
  if (ttl <= ttl.zero()) return checked_ttl(std::chrono::nanoseconds(0));
  // Very long TTLs saturate instead of overflowing nanoseconds.
  if (std::chrono::duration_cast<std::chrono::duration<double>>(ttl).count() > 1e9)
    return std::chrono::milliseconds(std::int64_t{1'000'000'000'000});
  return checked_ttl(std::chrono::ceil<std::chrono::nanoseconds>(ttl));
}

}  // namespace gencache::detail
