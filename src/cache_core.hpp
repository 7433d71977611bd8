#pragma once
// Internal: the state shared by a Cache and its copies.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "gencache/cache.hpp"
#include "generation_hints.hpp"

namespace gencache::detail {

class BumpOutbox;

/// A counter's value from its decimal text (Memcached may pad it with spaces), or nullopt
/// if it is not a number below 2^64.
std::optional<std::uint64_t> parse_counter_text(std::string_view text) noexcept;

/// Stats counters striped over cache lines so threads do not contend on one counter.
class StripedStats {
 public:
  enum Field : std::size_t {
    hits,
    misses,
    sets,
    bumps,
    errors,
    corrupt,
    counter_recreations,
    oversized,
    computes,
    round_trips,
    stale_served,
    early_refreshes,
    coalesced,
    lease_waits,
    breaker_opens,
    breaker_closes,
    breaker_rejections,
    outbox_retried,
    outbox_overflows,
    field_count
  };
  void add(Field field, std::uint64_t n = 1) noexcept;
  Stats snapshot() const noexcept;

 private:
  struct alignas(64) Stripe {
    std::array<std::atomic<std::uint64_t>, field_count> values{};
  };
  static constexpr std::size_t kStripes = 16;
  std::array<Stripe, kStripes> stripes_;
};

class CacheCore {
 public:
  CacheCore(std::shared_ptr<Backend> backend, CacheOptions options);
  ~CacheCore();

  /// Reads the entry; see read_entry() in detail/core.hpp.
  ReadResult read(std::string_view key, const NamespaceSet& namespaces, bool fetch_entry);
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
  std::uint64_t generation(const Namespace& ns);

  /// Counts a failure and hands it to the error hook (which must not throw; if it does,
  /// the exception is swallowed so the caller is never broken by its own hook).
  void report(std::string_view operation, const std::exception& failure) noexcept;
  void set_hook(ErrorHook hook);

  /// The backend the user gave (what Cache::backend() returns).
  Backend& backend() const noexcept { return *user_backend_; }
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

 private:
  std::vector<std::optional<std::string>> fetch(std::span<const std::string_view> keys);
  std::uint64_t ensure_counter(const std::string& counter_key);
  std::optional<std::uint64_t> parse_counter(const std::string& counter_key,
                                             const std::optional<std::string>& raw);
  [[noreturn]] void throw_poisoned_counter(const std::string& counter_key);
  // read() and read_batch(): one versioned key and one entry slot per user key. Returns
  // false (and reports, and sets `error`) when the backend failed.
  bool read_into(std::span<const std::string_view> user_keys, const NamespaceSet& namespaces,
                 bool fetch_entries, std::span<std::string> versioned_keys,
                 std::span<std::optional<Entry>> entries, std::error_code& error);

  std::shared_ptr<Backend> user_backend_;
  std::shared_ptr<Backend> backend_;  // user_backend_, behind the circuit breaker if on
  std::string prefix_;
  bool hash_tags_;  // the backend wants keys tagged by namespace (Redis Cluster)
  std::shared_ptr<const Clock> clock_;
  std::chrono::milliseconds counter_ttl_;
  GenerationHints hints_;
  StripedStats stats_;
  CallOptions call_defaults_;
  struct alignas(64) FlightShard {
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<Flight>> running;
  };
  std::array<FlightShard, 16> flights_;
  mutable std::shared_mutex hook_mutex_;
  ErrorHook hook_;
  std::unique_ptr<BumpOutbox> outbox_;  // last: its thread calls into the members above
};

}  // namespace gencache::detail
