#pragma once
// Internal: the memory backend's typed side, which the Cache's in-process path reads and
// writes instead of versioned keys and envelopes. An entry is found by its identity (the
// Cache's encoding of prefix, key and namespaces) in one lookup; it records its counters'
// cells and the generations it was computed under, so a hit is that lookup, one compare
// per namespace and the copy out. Counters are the backend's own counter items, so a bump
// through the Backend API (another Cache on the same backend) is seen at once.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "coarse_clock.hpp"
#include "gencache/detail/core.hpp"
#include "gencache/memory_backend.hpp"

namespace gencache::detail {

/// An entry's fields besides its payload, as the Cache recorded them.
struct EntryFields {
  EntryKind kind = EntryKind::value;
  Clock::time_point created{};
  std::chrono::milliseconds ttl{0};
  std::chrono::microseconds compute_time{0};
};

/// What become of a counter the in-process path asked for.
enum class CounterState : std::uint8_t {
  existed,   ///< it was there
  created,   ///< it was absent (never created, or lost) and starts at a fresh value
  repaired,  ///< it held bytes that are not a number and was replaced by a fresh value
};

class InProcessStore {
 public:
  /// The store of `backend`, which must outlive it.
  explicit InProcessStore(MemoryBackend& backend) noexcept;

  /// The generation of the counter `counter_key`. An absent counter (or one holding text
  /// that is not a number) is created at a fresh random generation, expiring after
  /// `counter_ttl` (0: never); a counter left as decimal text by the Backend API keeps its
  /// value. Only std::bad_alloc is thrown.
  std::uint64_t generation(std::string_view counter_key, std::chrono::milliseconds counter_ttl,
                           CounterState& state);

  /// The entry stored under `identity` if it is live and every counter it depends on is
  /// still at the generation it was computed under: then `out` gets its fields and payload,
  /// `generations` (one per namespace) those generations, and it returns true. A stale
  /// entry is a miss (and is left for CLOCK eviction to reclaim).
  bool find(std::string_view identity, std::span<std::uint64_t> generations, Entry& out);

  /// find() for a reader that needs neither the generations nor an Entry (a Cache's
  /// fresh hit): the entry's fields go to `fields` and its payload to `payload`. Expiry is
  /// checked from `coarse` when the backend's clock is the one it read.
  bool find(std::string_view identity, std::size_t namespace_count, const CoarseNow& coarse,
            EntryFields& fields, std::string& payload);

  /// Stores an entry under `identity`, depending on the counters `counter_keys` at
  /// `generations` (one each, in the namespaces' canonical order), kept for `storage_ttl`.
  /// Stores nothing and returns false when a counter has moved on (bumped or lost) since
  /// the generations were read: the value would be unreachable anyway. Throws
  /// backend_error(errc::value_too_large) when the entry cannot fit, std::bad_alloc.
  bool store(std::string_view identity, std::span<const std::string> counter_keys,
             std::span<const std::uint64_t> generations, const EntryFields& fields,
             std::string_view payload, std::chrono::milliseconds storage_ttl);

 private:
  MemoryBackend::Impl* impl_;
};

}  // namespace gencache::detail
