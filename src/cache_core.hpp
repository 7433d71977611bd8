#pragma once
// Internal: the state shared by a Cache and its copies.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/read_step.hpp"
#include "gencache/async_backend.hpp"
#include "gencache/cache.hpp"
#include "generation_hints.hpp"

namespace gencache::detail {

class BumpOutbox;
class InProcessPath;

/// A counter's value from its decimal text (Memcached may pad it with spaces), or nullopt
/// if it is not a number below 2^64.
std::optional<std::uint64_t> parse_counter_text(std::string_view text) noexcept;

/// The one mapping from a failure to an error code: a backend_error's own code, anything
/// else (std::bad_alloc, a bug) errc::backend_unavailable.
std::error_code failure_code(const std::exception& failure) noexcept;

/// The strong ETag of Cache::etag: a quoted digest of the versioned key (src/etag.cpp).
std::string etag_of(std::string_view prefix, const NamespaceSet& namespaces,
                    std::span<const std::uint64_t> generations, std::string_view key);

/// The one table of Stats counters: adding one means a line here and its documented
/// field in Stats (a static_assert in cache.cpp catches a field added to one only).
/// outbox_pending is a gauge, read from the outbox, not a counter.
#define GENCACHE_STATS_COUNTERS(X) \
  X(hits)                          \
  X(misses)                        \
  X(sets)                          \
  X(bumps)                         \
  X(errors)                        \
  X(corrupt)                       \
  X(counter_recreations)           \
  X(oversized)                     \
  X(computes)                      \
  X(round_trips)                   \
  X(stale_served)                  \
  X(early_refreshes)               \
  X(coalesced)                     \
  X(lease_waits)                   \
  X(breaker_opens)                 \
  X(breaker_closes)                \
  X(breaker_rejections)            \
  X(outbox_retried)                \
  X(outbox_overflows)

/// Stats counters striped over cache lines so threads do not contend on one counter.
/// The first kOwnedStripes threads that count (in the whole process) each own a stripe
/// index while they live, and count there with a plain load and store: no other thread
/// writes it, so nothing is lost, and a hit pays no atomic read-modify-write (about 5 ns
/// here). Threads beyond those share the other stripes, with fetch_add.
class StripedStats {
 public:
#define GENCACHE_STATS_ENUMERATOR(name) name,
  enum Field : std::size_t { GENCACHE_STATS_COUNTERS(GENCACHE_STATS_ENUMERATOR) field_count };
#undef GENCACHE_STATS_ENUMERATOR
  void add(Field field, std::uint64_t n = 1) noexcept;
  Stats snapshot() const noexcept;

  static constexpr std::size_t kOwnedStripes = 32;
  static constexpr std::size_t kSharedStripes = 8;

 private:
  struct alignas(64) Stripe {
    std::array<std::atomic<std::uint64_t>, field_count> values{};
  };
  std::array<Stripe, kOwnedStripes> owned_;
  std::array<Stripe, kSharedStripes> shared_;
};

class CacheCore {
 public:
  CacheCore(std::shared_ptr<Backend> backend, CacheOptions options);
  /// The core of an AsyncCache: the same keys, hints, stats, hook and defaults, over an
  /// AsyncBackend (the blocking calls above are not used), behind an AsyncCircuitBreaker
  /// sharing the BreakerState logic with Cache's.
  CacheCore(std::shared_ptr<AsyncBackend> backend, CacheOptions options);
  ~CacheCore();

  /// Reads the entry; see read_entry() in detail/core.hpp.
  ReadResult read(std::string_view key, const NamespaceSet& namespaces, bool fetch_entry);
  /// See read_fresh() in detail/core.hpp.
  FreshRead read_fresh(std::string_view key, const NamespaceSet& namespaces,
                       const CallOptions& options, EntryKind& kind, std::string& payload) noexcept;
  /// See read_entries_only() in detail/core.hpp.
  std::vector<std::optional<Entry>> read_entries_only(std::span<const std::string_view> keys,
                                                      const NamespaceSet& namespaces,
                                                      std::error_code& error);
  /// Reads several entries of the same namespaces; see read_entries() in detail/core.hpp.
  ReadBatch read_batch(std::span<const std::string_view> keys, const NamespaceSet& namespaces,
                       bool fetch_entries);
  void write(const ReadResult& read, EntryKind kind, std::string_view payload,
             std::chrono::milliseconds ttl, std::chrono::milliseconds storage_ttl,
             std::chrono::microseconds compute_time);
  FlightTicket flight(const std::string& key, bool join_running);
  void retire(const std::string& key, const std::shared_ptr<Flight>& flight);
  Lease acquire_lease(const ReadResult& read, std::chrono::milliseconds ttl);
  void release_lease(const ReadResult& read) noexcept;
  std::optional<Entry> poll(const ReadResult& read, std::chrono::milliseconds wait);
  const CallOptions& call_defaults() const noexcept { return call_defaults_; }
  std::uint64_t bump(const Namespace& ns);
  /// Bumps every namespace with one Backend::increment_many where the backend batches
  /// (src/bump_namespaces.cpp). Returns each new generation, 0 where it failed; the
  /// positions that failed and why go to `failures` (never reported or queued here).
  std::vector<std::uint64_t> bump_many(
      std::span<const Namespace> namespaces,
      std::vector<std::pair<std::size_t, std::exception_ptr>>& failures);
  std::uint64_t generation(const Namespace& ns);
  /// The current generation of each namespace of `namespaces`, in its order, read from the
  /// backend in one round trip (hints are not trusted); absent counters are created.
  std::vector<std::uint64_t> generations(const NamespaceSet& namespaces);

  /// Counts a failure and hands it to the error hook (which must not throw; if it does,
  /// the exception is swallowed so the caller is never broken by its own hook).
  void report(std::string_view operation, const std::exception& failure) noexcept;
  void set_hook(ErrorHook hook);

  /// The backend the user gave (what Cache::backend() returns).
  Backend& backend() const noexcept { return *user_backend_; }
  /// Turns the bump outbox on: `retry` applies one queued bump (from the outbox's thread)
  /// and throws while it still fails.
  void use_outbox(OutboxOptions options, std::function<void(const Namespace&)> retry);
  /// Queues a failed bump when the outbox is on; returns whether it did.
  bool queue_failed_bump(const Namespace& ns);
  bool flush_outbox(std::chrono::milliseconds timeout);
  std::size_t outbox_pending() const;
  const std::string& prefix() const noexcept { return prefix_; }
  /// The prefix of the keys placed by `ns` (its counter; the entries it is first in):
  /// prefix(), or its hash-tagged form (built into `buffer`) when the backend wants tags.
  std::string_view key_prefix(const Namespace& ns, std::string& buffer) const;
  /// The prefix of the entries of `namespaces`: placed by the first, or prefix() for none.
  std::string_view entry_prefix(const NamespaceSet& namespaces, std::string& buffer) const {
    return namespaces.size() == 0 ? std::string_view(prefix_) : key_prefix(namespaces[0], buffer);
  }
  const Clock& clock() const noexcept { return *clock_; }
  StripedStats& stats() noexcept { return stats_; }
  /// What a ReadStep needs from this cache.
  ReadContext read_context() noexcept;
  GenerationHints& hints() noexcept { return hints_; }
  std::chrono::milliseconds counter_ttl() const noexcept { return counter_ttl_; }
  /// The AsyncBackend of an AsyncCache's core (null for a Cache's).
  AsyncBackend* async_backend() const noexcept { return async_backend_.get(); }
  /// memory://'s in-process path when the backend is a MemoryBackend, else null: the
  /// blocking and the async driver then both read and write through it.
  InProcessPath* in_process() const noexcept { return in_process_.get(); }
  /// For an AsyncCache's core: whether its backend never blocks (memory://), so the
  /// blocking calls above serve it directly.
  bool serves_inline() const noexcept { return async_backend_ && backend_; }

 private:
  /// A read that threw: reported and counted, `error` set, `entries` left empty.
  void read_failed(const std::exception& failure, std::span<std::optional<Entry>> entries,
                   std::error_code& error);
  // Runs a core step (core/*_step.hpp) against the backend until it is done; throws the
  // backend's failure, or a backend_error for a failure the step itself decided.
  template <class Step>
  void drive(Step& step, StepAction action);
  // read() and read_batch(): one versioned key and one entry slot per user key, and the
  // generations read (when `generations` is not empty). Returns false (and reports, and
  // sets `error`) when the backend failed.
  bool read_into(std::span<const std::string_view> user_keys, const NamespaceSet& namespaces,
                 bool fetch_entries, std::span<std::string> versioned_keys,
                 std::span<std::optional<Entry>> entries, std::span<std::uint64_t> generations,
                 std::error_code& error);

  std::shared_ptr<Backend> user_backend_;
  std::shared_ptr<AsyncBackend> async_backend_;
  std::shared_ptr<Backend> backend_;  // user_backend_, behind the circuit breaker if on
  std::string prefix_;
  bool hash_tags_;  // the backend wants keys tagged by namespace (Redis Cluster)
  std::shared_ptr<const Clock> clock_;
  std::chrono::milliseconds counter_ttl_;
  GenerationHints hints_;
  StripedStats stats_;
  CallOptions call_defaults_;
  mutable std::shared_mutex hook_mutex_;
  ErrorHook hook_;
  // Set when the backend is a MemoryBackend: reads and writes then take this path.
  std::unique_ptr<InProcessPath> in_process_;
  std::unique_ptr<BumpOutbox> outbox_;  // last: its thread calls into the members above
};

}  // namespace gencache::detail
