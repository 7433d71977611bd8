#pragma once
// Internal: the non-template half of Cache, called from the template bodies in cache-inl.hpp.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <typeinfo>
#include <utility>
#include <vector>

#include "gencache/clock.hpp"
#include "gencache/error.hpp"
#include "gencache/namespace.hpp"

namespace gencache {
struct CallOptions;
struct CacheOptions;
}  // namespace gencache

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
  bool backend_ok = false;     ///< false: the backend failed; do not write back
  std::error_code error{};     ///< why backend_ok is false
  std::string versioned_key;   ///< where the entry lives at the generations that were read
  std::optional<Entry> entry;  ///< a decoded envelope, or nullopt on a miss
};

enum class Event {
  hit,
  miss,
  corrupt,
  compute,
  stale_served,
  early_refresh,
  coalesced,
  lease_wait
};

/// Reads the generations of `namespaces` and the entry stored under them. Never throws a
/// backend failure: it is counted and reported, and `backend_ok` is false.
ReadResult read_entry(CacheCore& core, std::string_view key, const NamespaceSet& namespaces);

/// What memory://'s fast hit (read_fresh) found.
enum class FreshRead : std::uint8_t {
  fresh,      ///< an entry to serve: its kind and payload were given
  absent,     ///< no entry under the current generations: a miss; resolve_key() for the
              ///< write (a second lookup would find nothing either)
  undecided,  ///< anything else (not in process, an entry near its expiry or an early
              ///< refresh draw, a failure): read_entry() reads and decides
};

/// memory://'s fast hit. When the Cache reads in process (a MemoryBackend) and `key` has
/// an entry computed under the current generations of `namespaces` that is fresh at once
/// (fresh_without_draw in freshness.hpp: no early refresh can be drawn for it), its kind
/// and payload go to `kind` and `payload` and this returns `fresh`, having counted
/// nothing. It returns `absent` when the store holds no such entry, and `undecided` in
/// every other case: then the caller reads with read_entry(), which decides the rest (a
/// stale entry, an early refresh) as it does for every backend. Never throws: a failure
/// here is `undecided`, and read_entry() meets it again.
FreshRead read_fresh(CacheCore& core, std::string_view key, const NamespaceSet& namespaces,
                     const CallOptions& options, EntryKind& kind, std::string& payload) noexcept;

/// Several entries of the same namespaces, read together.
struct ReadBatch {
  bool backend_ok = false;
  std::error_code error{};                    ///< why backend_ok is false
  std::vector<std::string> versioned_keys;    ///< one per key when backend_ok
  std::vector<std::optional<Entry>> entries;  ///< one per key (nullopt: miss)
};

/// read_entry for many keys: the counters and all entries in one round trip in steady
/// state (two after a bump). Never throws a backend failure.
ReadBatch read_entries(CacheCore& core, std::span<const std::string_view> keys,
                       const NamespaceSet& namespaces);

/// read_entries for a caller that needs only the entries (get_many): one per key, nullopt
/// for a miss or when the backend failed (`error` says why). The versioned keys stay in the
/// thread's buffers. Never throws a backend failure.
std::vector<std::optional<Entry>> read_entries_only(CacheCore& core,
                                                    std::span<const std::string_view> keys,
                                                    const NamespaceSet& namespaces,
                                                    std::error_code& error);

/// Reads only the generations and returns where the entry lives (`entry` stays empty).
ReadResult resolve_key(CacheCore& core, std::string_view key, const NamespaceSet& namespaces);

/// Fills `read.versioned_key` if the read left it empty, as memory://'s in-process path
/// does on a hit (a fresh hit never needs it): the generations are read now, so call it
/// before computing anything to store there. Never throws a backend failure.
void complete_read(CacheCore& core, ReadResult& read, std::string_view key,
                   const NamespaceSet& namespaces);

/// Stores an envelope under `read.versioned_key`: `ttl` is the freshness recorded in the
/// envelope, `storage_ttl` (>= ttl) how long the backend keeps it (stale windows included).
/// Never throws a backend failure.
void write_entry(CacheCore& core, const ReadResult& read, EntryKind kind, std::string_view payload,
                 std::chrono::milliseconds ttl, std::chrono::milliseconds storage_ttl,
                 std::chrono::microseconds compute_time);

// ---- single-flight: one compute per entry per process ----

/// One in-progress compute that other callers may wait for: blocking callers on the
/// condition variable, AsyncCache coroutines through a wake-up each (never a thread).
struct Flight {
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  const std::type_info* type = nullptr;  ///< the type `value` points to
  std::shared_ptr<const void> value;
  std::exception_ptr error;
  std::uint64_t next_waiter = 0;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> async_waiters;
  /// Which awaitable thread an AsyncCache leader's compute runs in (async_core.hpp), so
  /// a nested call from inside it is refused instead of waiting for itself.
  std::shared_ptr<const void> async_leader;
};

struct FlightTicket {
  std::shared_ptr<Flight> flight;  ///< null when try_lead found a flight running
  bool leader = false;
};

/// Joins the flight for `key`, starting it (as leader) if none runs.
FlightTicket join_flight(CacheCore& core, const std::string& key);
/// Starts the flight for `key` only if none runs; otherwise returns an empty ticket.
FlightTicket try_lead(CacheCore& core, const std::string& key);
/// The leader publishes its result (or error) and retires the flight.
void finish_flight(CacheCore& core, const std::string& key, const std::shared_ptr<Flight>& flight,
                   std::shared_ptr<const void> value, const std::type_info* type,
                   std::exception_ptr error);
/// Marks `flight` as led by this thread for its lifetime (the leader's compute runs inside).
class LeadingOnThisThread {
 public:
  explicit LeadingOnThisThread(const Flight& flight);
  ~LeadingOnThisThread();
  LeadingOnThisThread(const LeadingOnThisThread&) = delete;
  LeadingOnThisThread& operator=(const LeadingOnThisThread&) = delete;
};
/// Throws gencache::error if this thread leads `flight`: a compute that asks for its own
/// entry would wait for itself forever.
void check_not_own_flight(const Flight& flight, std::string_view key);
/// The error of a compute that asked for its own entry on a miss (Cache and AsyncCache).
error own_flight_error(std::string_view key);
/// Waits for the leader. Rethrows its exception; returns null if it produced another type.
std::shared_ptr<const void> wait_flight(Flight& flight, const std::type_info& type);
/// Calls `wake` once the leader has finished (at once, here, if it has): returns the id
/// that cancels it, or nullopt when it ran already.
std::optional<std::uint64_t> on_flight_done(Flight& flight, std::function<void()> wake);
/// Withdraws a wake-up that has not run; returns whether it was withdrawn.
bool cancel_flight_wait(Flight& flight, std::uint64_t id);
/// A finished flight's result, as wait_flight returns it.
std::shared_ptr<const void> flight_result(Flight& flight, const std::type_info& type);

// ---- leases: one compute per entry across processes ----

enum class Lease { acquired, held_elsewhere, unavailable };
Lease acquire_lease(CacheCore& core, const ReadResult& read, std::chrono::milliseconds ttl);
void release_lease(CacheCore& core, const ReadResult& read) noexcept;
/// Polls for the entry with bounded exponential backoff for at most `wait`.
std::optional<Entry> poll_for_entry(CacheCore& core, const ReadResult& read,
                                    std::chrono::milliseconds wait);

// ---- freshness ----

/// `ttl` spread uniformly by +/- `jitter` (a fraction), at least 1 ms.
std::chrono::milliseconds jittered(std::chrono::milliseconds ttl, double jitter);

void count(CacheCore& core, Event event) noexcept;
Clock::time_point now(const CacheCore& core) noexcept;

/// Throws gencache::config_error unless every field of `options` is in range, naming the
/// field, its value and what is accepted.
void validate_call_options(const CallOptions& options);
/// The same for the CacheOptions fields other than `call` (checked by the above).
void validate_cache_options(const CacheOptions& options);

/// Throws gencache::config_error unless `ttl` is positive; rounds up to milliseconds.
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
