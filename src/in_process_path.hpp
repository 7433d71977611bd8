#pragma once
// Internal: the Cache's read and write path when its backend is a MemoryBackend, i.e. the
// entries live in this process. Nothing is lost on a wire there, so no versioned key
// string, counter text or envelope checksum is needed: an entry is found by its identity
// (prefix, key, namespaces) in one lookup and checked against its namespaces' live
// generation cells (see backends/memory/in_process_store.hpp). The promises are those of
// the byte path: generations are read before a value is computed and it is stored under
// exactly them; a counter found absent starts at a fresh random value; a bump (through
// this Cache or any other on the same backend) makes older entries unreachable at once.
//
// Where the byte path hands a versioned key from the read to the write (ReadResult), this
// path hands a "handle": the identity followed by the generations read, as raw bytes. It
// also names the entry for single-flight and leases.

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "backends/memory/in_process_store.hpp"
#include "gencache/backend.hpp"
#include "gencache/detail/core.hpp"

namespace gencache::detail {

class StripedStats;

class InProcessPath {
 public:
  /// The path for `backend` if it is a MemoryBackend, else null: any other backend, or a
  /// wrapper around one (a test double, say), keeps the byte path.
  static std::unique_ptr<InProcessPath> for_backend(Backend& backend, std::string prefix,
                                                    std::chrono::milliseconds counter_ttl);

  InProcessPath(MemoryBackend& backend, std::string prefix, std::chrono::milliseconds counter_ttl);

  /// What CacheCore::read_into does, on this path: when `fetch_entries`, `entries[i]` gets
  /// the entry of `keys[i]` if one was computed under exactly the current generations of
  /// `namespaces`; `handles[i]` gets where `keys[i]` lives at the current generations, but
  /// stays empty for a hit (complete_read() fills it if the Cache goes on to refresh).
  /// When `generations` is not empty it gets the current generations. Counters found
  /// absent are created (counted in `stats`). Throws only std::bad_alloc.
  void read(std::span<const std::string_view> keys, const NamespaceSet& namespaces,
            bool fetch_entries, std::span<std::string> handles,
            std::span<std::optional<Entry>> entries, std::span<std::uint64_t> generations,
            StripedStats& stats);

  /// read() of one key, which is what a `cached` or `get` call reads: the same result
  /// without the spans' bookkeeping (a hit's whole cost is a few hundred instructions).
  void read_one(std::string_view key, const NamespaceSet& namespaces, bool fetch_entry,
                std::string& handle, std::optional<Entry>& entry, StripedStats& stats);

  /// The entry of `key` if one was computed under exactly the current generations of
  /// `namespaces`: its fields go to `fields` and its payload to `payload`. Nothing else is
  /// made: no handle, no Entry, and no counter is created (a miss creates them on the
  /// read that follows). What a Cache's fresh hit reads (CacheCore::read_fresh); `coarse`
  /// is the hit's reading of the clock, shared with the store's expiry checks.
  /// Throws only std::bad_alloc.
  bool find_current(std::string_view key, const NamespaceSet& namespaces, const CoarseNow& coarse,
                    EntryFields& fields, std::string& payload);

  /// Stores an entry at `handle` (from read()); returns false when a bump or a lost
  /// counter came in between, so the value would be unreachable and nothing is stored.
  /// Throws backend_error(errc::value_too_large) for an entry that cannot fit.
  bool write(std::string_view handle, const EntryFields& fields, std::string_view payload,
             std::chrono::milliseconds storage_ttl);

  /// The entry at `handle` if it is stored and still current (for polling a lease).
  std::optional<Entry> find(std::string_view handle);

  /// The identity an entry is stored under (for tools and benchmarks: its size is part of
  /// an entry's memory).
  static std::string identity(std::string_view prefix, std::string_view key,
                              const NamespaceSet& namespaces);

 private:
  std::uint64_t current_generation(const Namespace& ns, StripedStats& stats);
  /// Leaves the current generations of `namespaces` in the thread's scratch.
  void resolve(const NamespaceSet& namespaces, StripedStats& stats);
  /// One key of read(); `resolved` says whether the scratch holds the generations yet.
  void read_key(std::string_view key, const NamespaceSet& namespaces, bool fetch_entry,
                std::string& handle, std::optional<Entry>& entry, bool& resolved,
                StripedStats& stats);

  InProcessStore store_;
  std::string prefix_;
  std::chrono::milliseconds counter_ttl_;
};

}  // namespace gencache::detail
