#pragma once
/// \file
/// The Cache: read-through caching with O(1) invalidation through versioned namespaces.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "gencache/backend.hpp"
#include "gencache/clock.hpp"
#include "gencache/codec.hpp"
#include "gencache/error.hpp"
#include "gencache/namespace.hpp"

namespace gencache {

/// Counters since the Cache (and its copies) were created. A snapshot; cheap to take.
struct Stats {
  std::uint64_t hits = 0;     ///< reads that found a valid entry
  std::uint64_t misses = 0;   ///< reads that found nothing usable (including corrupt entries)
  std::uint64_t sets = 0;     ///< entries written
  std::uint64_t bumps = 0;    ///< successful bump_namespace calls
  std::uint64_t errors = 0;   ///< backend failures (each one also went to the error hook)
  std::uint64_t corrupt = 0;  ///< entries whose bytes did not decode (counted as misses too)
  std::uint64_t counter_recreations = 0;  ///< counters found absent and created afresh
                                          ///< (first use, eviction, server restart)
  std::uint64_t oversized = 0;     ///< values not cached because they exceed the backend's limit
  std::uint64_t computes = 0;      ///< compute functions run by `cached` / `cached_call`
  std::uint64_t round_trips = 0;   ///< backend calls made (a multi-get counts once)
  std::uint64_t stale_served = 0;  ///< stale values returned (stale-while-revalidate or -if-error)
  std::uint64_t early_refreshes = 0;  ///< recomputes started before expiry (XFetch)
  std::uint64_t coalesced = 0;  ///< misses that waited for another caller's compute (single-flight)
  std::uint64_t lease_waits = 0;         ///< misses that waited for another process's lease
  std::uint64_t breaker_opens = 0;       ///< times the circuit breaker opened (backend skipped)
  std::uint64_t breaker_closes = 0;      ///< times a probe succeeded and the breaker closed again
  std::uint64_t breaker_rejections = 0;  ///< backend calls skipped while the breaker was open
  std::uint64_t outbox_retried = 0;      ///< failed bumps the outbox later applied
  std::uint64_t outbox_overflows = 0;    ///< failed bumps dropped because the outbox was full
  std::uint64_t outbox_pending = 0;      ///< namespaces waiting in the outbox now (a gauge)
};

/// The circuit breaker in front of the backend: after `failure_threshold` consecutive
/// failures (timeouts, unreachable server) the Cache stops calling the backend for
/// `cooldown`: reads compute directly, writes are skipped, bumps throw at once. Then one
/// call probes; success closes the breaker. Per-server failures inside a Memcached cluster
/// are also skipped by libmemcached for `retry_timeout`.
struct BreakerOptions {
  /// Consecutive failures that open the breaker; 0 turns it off. Default 5.
  std::size_t failure_threshold = 5;
  /// How long it stays open before a probe. Default 1 s.
  std::chrono::milliseconds cooldown{1000};
};

/// The bump outbox (opt-in): a bump_namespace that fails is queued and retried in the
/// background with exponential backoff until it succeeds, so an invalidation is applied
/// as soon as the backend answers again. The failed call still reports its failure.
/// Limit: the queue lives in this process; if the process dies before the retry
/// succeeds, that invalidation is lost (entries then age out by TTL).
struct OutboxOptions {
  bool enabled = false;
  /// Namespaces queued at most; a failed bump beyond that is dropped and reported
  /// (errc::outbox_full to the error hook, Stats::outbox_overflows). Default 10000.
  std::size_t capacity = 10000;
  /// First retry delay, doubled after each failed round up to max_backoff.
  std::chrono::milliseconds initial_backoff{20};
  std::chrono::milliseconds max_backoff{2000};
};

/// Per-call stampede protection and freshness. Defaults live in CacheOptions::call; the
/// `cached` overload that takes a CallOptions replaces them for that call.
/// Stale values are only ever served for the same generations: a bump is never undone by
/// stale serving.
struct CallOptions {
  /// Concurrent misses of one entry in this process run compute once; the others wait and
  /// get its result (or its exception). Keyed per entry. Default on.
  bool single_flight = true;
  /// Across processes: the first to miss takes a lease (an `add` of a lease key); the
  /// others poll for the value with bounded backoff for at most `lease_wait`, then compute
  /// themselves, so a lost lease holder never blocks anyone for longer. Default off.
  bool lease = false;
  /// How long a lease lives if its holder dies. Default 5 s.
  std::chrono::milliseconds lease_ttl{5000};
  /// How long a caller waits for a lease holder's value before computing itself. Default 1 s.
  std::chrono::milliseconds lease_wait{1000};
  /// XFetch early refresh: a reader recomputes before expiry when
  /// `now - compute_time * beta * ln(rand()) >= created + ttl`. 0 never refreshes early.
  /// Default 1.
  double early_refresh_beta = 1.0;
  /// Serve a value up to this long past its TTL while one caller refreshes it. Default 0 (off).
  std::chrono::milliseconds stale_while_revalidate{0};
  /// If compute throws, serve a value up to this long past its TTL instead. Default 0 (off).
  std::chrono::milliseconds stale_if_error{0};
  /// TTL of an empty std::optional result (negative caching). Default: the call's TTL.
  std::optional<std::chrono::milliseconds> absent_ttl{};
  /// Spread each TTL uniformly by up to this fraction (0.1 = +/-10%), so entries written
  /// together do not expire together. Default 0.
  double ttl_jitter = 0.0;
  /// Runs stale-while-revalidate refreshes. Default empty: the caller that wins the
  /// refresh computes in its own thread while the others get the stale value at once.
  /// With an executor every caller gets the stale value and the refresh runs there.
  std::function<void(std::function<void()>)> executor{};
};

/// What the error hook receives. Hooks must be thread-safe and must not throw.
struct ErrorEvent {
  std::string_view operation{};  ///< "read", "write", "bump", "generation"
  std::error_code code{};        ///< see gencache::errc
  std::string message{};         ///< human-readable, never contains credentials
};

using ErrorHook = std::function<void(const ErrorEvent&)>;

/// Cache-wide settings. Every field has a usable default.
struct CacheOptions {
  /// Prepended to every backend key so several applications can share servers.
  /// At most 64 bytes of printable non-space ASCII other than `%@,|#`. Default: none.
  std::string prefix{};
  /// The clock for creation times and expiry. Default: the system clock.
  std::shared_ptr<const Clock> clock{};
  /// Called for every backend failure the Cache absorbs (fail-open). Default: none.
  ErrorHook on_error{};
  /// How many namespaces' last-seen generations are remembered per process, so a read
  /// needs one round trip in steady state. 0 turns the hints off. Default: 65536.
  std::size_t generation_hints = 65536;
  /// Expiry of generation counters; zero means they never expire. Default: zero.
  std::chrono::milliseconds counter_ttl{0};
  /// Defaults for every `cached` / `cached_call` call. See CallOptions.
  CallOptions call{};
  /// The circuit breaker. See BreakerOptions.
  BreakerOptions breaker{};
  /// The bump outbox (off by default). See OutboxOptions.
  OutboxOptions outbox{};
};

namespace detail {
class CacheCore;
struct ReadResult;
struct Entry;
struct Flight;
template <class T>
struct value_traits;
}  // namespace detail

class Ticket;
namespace detail {
Ticket make_ticket(std::string versioned_key, bool valid);
}

/// Where a value produced elsewhere goes: the generations Cache::reserve read, so that
/// Cache::store writes under them even if a namespace was bumped in between (the value,
/// built from data read before the bump, then lands where no read looks).
class Ticket {
 public:
  Ticket() = default;
  /// False when the backend failed at reserve time: store() then stores nothing.
  bool valid() const noexcept { return valid_; }
  /// The backend key the value will be stored under.
  const std::string& versioned_key() const noexcept { return versioned_key_; }

 private:
  friend Ticket detail::make_ticket(std::string versioned_key, bool valid);
  Ticket(std::string versioned_key, bool valid)
      : versioned_key_(std::move(versioned_key)), valid_(valid) {}
  std::string versioned_key_;
  bool valid_ = false;
};

/// A handle to a cache. Copies are cheap and share the backend, hints and stats; one
/// Cache may be used from any number of threads.
class Cache {
 public:
  /// Uses `backend` for storage. Throws std::invalid_argument for a null backend and
  /// gencache::config_error, naming the option, for an invalid prefix or option.
  explicit Cache(std::shared_ptr<Backend> backend, CacheOptions options = {});

  /// Builds a cache from a URL, for example `memory://?max_bytes=64MiB` or
  /// `memcached://10.0.0.1:11211,10.0.0.2:11211?io_timeout=100ms`. Every scheme also
  /// accepts `prefix`, `counter_ttl` and `generation_hints`; a parameter given in the URL
  /// overrides the same field of `options`, which supplies the defaults. Throws
  /// gencache::config_error naming the bad scheme, parameter or value and listing what is
  /// accepted.
  static Cache from_url(std::string_view url, CacheOptions options = {});

  /// from_url with the URL in the environment variable GENCACHE_URL, or "memory://"
  /// when it is unset or empty.
  static Cache from_env(CacheOptions options = {});

  /// Invalidates every entry that depends on `ns`, in O(1): one atomic counter increment
  /// (the counter is re-created at a fresh random value if it was lost). Returns the new
  /// generation. Throws gencache::backend_error on failure: invalidation is never silent.
  std::uint64_t bump_namespace(const Namespace& ns);

  /// Non-throwing bump_namespace: on failure sets `ec` and returns 0.
  std::uint64_t bump_namespace(const Namespace& ns, std::error_code& ec) noexcept;

  /// Bumps every namespace of `namespaces`, for a write that touched several (`user:42`,
  /// `org:7`, `catalog`), and returns their new generations in the same order. One round
  /// trip where the backend batches increments (memory://; Redis, one atomic script on
  /// its single server); libmemcached increments one key per call, so Memcached takes one
  /// round trip per namespace. Not atomic across namespaces: when some bumps fail, the
  /// others still happen, and it throws gencache::bump_namespaces_error naming exactly
  /// the namespaces not bumped (they go to the outbox when it is on). Never silent.
  std::vector<std::uint64_t> bump_namespaces(std::span<const Namespace> namespaces);

  /// Non-throwing bump_namespaces: on any failure sets `ec` (the first failure's code) and
  /// returns the generations with 0 at each namespace that was not bumped.
  std::vector<std::uint64_t> bump_namespaces(std::span<const Namespace> namespaces,
                                             std::error_code& ec) noexcept;

  /// A strong HTTP validator (`"3f2a..."`, quotes included) for the response cached as
  /// (`key`, `namespaces`): a digest of the key, the prefix and the namespaces' current
  /// generations, so it is the same in every process sharing the backend and changes as
  /// soon as any of them is bumped, by any process. Costs one counters-only round trip (no
  /// entry is read and nothing computed; the hints are not trusted), so a matching
  /// `If-None-Match` can be answered 304 without the body. The premise: the response is a
  /// function of the data behind its namespaces, as for anything cached under them.
  /// Absent counters are created, as a read would. Throws gencache::backend_error when the
  /// backend fails (then serve the response without the 304 shortcut).
  std::string etag(std::string_view key, const NamespaceSet& namespaces);

  /// Non-throwing etag: on failure sets `ec` and returns an empty string.
  std::string etag(std::string_view key, const NamespaceSet& namespaces,
                   std::error_code& ec) noexcept;

  /// Waits until the bump outbox is empty (every failed bump applied) or `timeout`
  /// passes, retrying at once rather than after the backoff. Returns true when empty.
  /// Call it before a process exits. Without the outbox it returns true at once.
  bool flush_pending_bumps(std::chrono::milliseconds timeout);

  /// The current generation of `ns`, creating its counter if absent.
  /// Throws gencache::backend_error on failure.
  std::uint64_t generation(const Namespace& ns);

  /// Read-through: returns the value cached for (`key`, `namespaces`) at their current
  /// generations, or runs `compute` once, caches its result for `ttl` and returns it.
  /// Generations are read before `compute` runs, and the result is stored under them.
  /// An exception from `compute` reaches the caller unchanged and nothing is cached.
  /// A backend failure is counted, reported to the error hook and otherwise ignored:
  /// `compute` runs and its result is returned (fail-open).
  /// A non-positive `ttl` throws gencache::config_error. A `compute` that calls `cached`
  /// for its own entry on a miss (it would wait for itself) gets a gencache::error.
  template <class F, class Rep, class Period>
  requires std::invocable<F&> gencache::cached_value_t<std::invoke_result_t<F&>> cached(
      std::string_view key, const NamespaceSet& namespaces, std::chrono::duration<Rep, Period> ttl,
      F&& compute);

  /// `cached` with per-call stampede and freshness options instead of the defaults. Options
  /// out of range (say `lease_ttl = 0ms`) throw gencache::config_error naming the field.
  template <class F, class Rep, class Period>
  requires std::invocable<F&> gencache::cached_value_t<std::invoke_result_t<F&>> cached(
      std::string_view key, const NamespaceSet& namespaces, std::chrono::duration<Rep, Period> ttl,
      F&& compute, const CallOptions& options);

  /// The Cache-wide CallOptions (CacheOptions::call).
  const CallOptions& call_defaults() const noexcept;

  /// The value cached for (`key`, `namespaces`), or std::nullopt on a miss. For
  /// `T = std::optional<U>` a cached absent value is `std::optional<T>{std::nullopt}`.
  /// A backend failure is a miss (counted and reported to the error hook).
  template <class T = std::string>
  std::optional<T> get(std::string_view key, const NamespaceSet& namespaces);

  /// get() that also says why it missed: `ec` is cleared on a hit or an ordinary miss and
  /// set (gencache::errc) when the backend failed, so a caller can tell "not cached" from
  /// "could not ask". The failure is still counted and reported to the error hook.
  template <class T = std::string>
  std::optional<T> get(std::string_view key, const NamespaceSet& namespaces, std::error_code& ec);

  /// The values cached for each of `keys`, all depending on `namespaces`: one backend round
  /// trip for all of them (counters included) in steady state, two right after a bump.
  /// Element i answers keys[i]; a backend failure makes every element a miss.
  template <class T = std::string>
  std::vector<std::optional<T>> get_many(std::span<const std::string> keys,
                                         const NamespaceSet& namespaces);

  /// get_many() that sets `ec` when the backend failed (every element is then a miss) and
  /// clears it otherwise.
  template <class T = std::string>
  std::vector<std::optional<T>> get_many(std::span<const std::string> keys,
                                         const NamespaceSet& namespaces, std::error_code& ec);

  /// Read-through for many keys of the same namespaces: the hits come from one batched
  /// read (as get_many); `compute(key)` then runs once per missing key, in order, and its
  /// result is cached for `ttl`. Element i answers keys[i]. Exceptions and backend
  /// failures behave as in `cached`. Single-flight and the CallOptions do not apply, by
  /// design: the batch answers its hits in one round trip and computes its misses in
  /// order, and joining other callers' flights key by key would make it wait behind
  /// unrelated requests in turn (a lease would add a round trip per key). Call `cached`
  /// per key where one miss is expensive enough to coalesce.
  template <class F, class Rep, class Period>
  requires std::invocable<F&, const std::string&>
      std::vector<gencache::cached_value_t<std::invoke_result_t<F&, const std::string&>>>
      cached_many(std::span<const std::string> keys, const NamespaceSet& namespaces,
                  std::chrono::duration<Rep, Period> ttl, F&& compute);

  /// Stores `value` for (`key`, `namespaces`) under their current generations, for `ttl`.
  /// String literals and string_views are stored as std::string. A backend failure or an
  /// oversized value leaves the cache unchanged (counted and reported to the error hook).
  /// A non-positive `ttl` throws gencache::config_error. The generations are read now, at
  /// set time: for a value computed from data read earlier, reserve() before reading and
  /// store() after, so a bump made meanwhile is not lost.
  template <class T, class Rep, class Period>
  void set(std::string_view key, const NamespaceSet& namespaces, const T& value,
           std::chrono::duration<Rep, Period> ttl);

  /// Reads the current generations of `namespaces` for a value the caller will produce
  /// itself: call it before reading the data the value is built from, then store() the
  /// value. A backend failure is reported and gives an invalid ticket (store() then does
  /// nothing), so the caller still works without the cache.
  Ticket reserve(std::string_view key, const NamespaceSet& namespaces);

  /// Stores `value` under the generations `ticket` read, for `ttl`. If a namespace was
  /// bumped since reserve(), the value is stored where no read at the new generations
  /// looks: a bump is never lost. Backend failures and oversized values behave as in set();
  /// a non-positive `ttl` throws gencache::config_error.
  template <class T, class Rep, class Period>
  void store(const Ticket& ticket, const T& value, std::chrono::duration<Rep, Period> ttl);

  /// A snapshot of the counters shared by this Cache and its copies.
  Stats stats() const;

  /// Replaces the error hook (see CacheOptions::on_error). Thread-safe.
  void set_error_hook(ErrorHook hook);

  /// The backend this cache stores into.
  Backend& backend() const noexcept;

  /// The backend key an entry is stored under at the given generations (one per
  /// namespace, in the namespaces' canonical order). For tools and tests.
  std::string versioned_key(std::string_view key, const NamespaceSet& namespaces,
                            std::span<const std::uint64_t> generations) const;

 private:
  template <class T>
  std::optional<T> decode_entry(const std::optional<detail::Entry>& entry);
  template <class T>
  void store_value(const detail::ReadResult& read, const T& value, std::chrono::milliseconds ttl,
                   std::chrono::microseconds compute_time);
  template <class T, class F>
  T compute_and_store(const detail::ReadResult& read, F& compute, std::chrono::milliseconds ttl,
                      const CallOptions& options);
  template <class T, class F>
  T compute_as_leader(const detail::ReadResult& read, const std::shared_ptr<detail::Flight>& flight,
                      F& compute, std::chrono::milliseconds ttl, const CallOptions& options);
  template <class T, class F>
  T compute_shared(const detail::ReadResult& read, F& compute, std::chrono::milliseconds ttl,
                   const CallOptions& options, const std::optional<T>& stale);

  std::shared_ptr<detail::CacheCore> core_;
};

}  // namespace gencache

#include "gencache/cache-inl.hpp"
