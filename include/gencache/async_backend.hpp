#pragma once
/// \file
/// The byte-level asynchronous storage interface: what AsyncCache drives. It mirrors
/// Backend (backend.hpp) operation for operation; the Cache-level algorithms (keys,
/// envelopes, generations, freshness) live once in the sans-I/O core and never here.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>

#include "gencache/backend.hpp"

namespace gencache {

/// Asynchronous storage primitives, with the semantics of the same-named Backend calls.
///
/// Every operation completes exactly once, by calling its handler with a null
/// `std::exception_ptr` on success, or with a gencache::backend_error (whose message says
/// which server failed and why) on failure. "Not found" and "already exists" are results,
/// not failures. A handler may run on any thread, also inside the initiating call;
/// AsyncCache takes every completion back to its caller's executor, so implementations
/// need not (they may use asio::dispatch on the handler's associated executor).
///
/// The keys, values and visitor passed in must stay valid until the handler is called
/// (AsyncCache keeps them in the calling coroutine's frame). All calls are thread-safe.
class AsyncBackend {
 public:
  template <class Signature>
  using handler = boost::asio::any_completion_handler<Signature>;

  virtual ~AsyncBackend() = default;

  /// Fetches every key in one round trip (one pipelined batch) and calls
  /// `visitor.found(i, value)` for each `keys[i]` present, before the handler.
  virtual void async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                                handler<void(std::exception_ptr)> done) = 0;

  /// Stores `value` under `key`, replacing what was there. A TTL of zero never expires.
  virtual void async_set(std::string_view key, std::string_view value,
                         std::chrono::milliseconds ttl, handler<void(std::exception_ptr)> done) = 0;

  /// Stores `value` only if `key` is absent; completes with false when it existed.
  virtual void async_add(std::string_view key, std::string_view value,
                         std::chrono::milliseconds ttl,
                         handler<void(std::exception_ptr, bool)> done) = 0;

  /// Deletes `key`; completes with false when it was absent.
  virtual void async_remove(std::string_view key, handler<void(std::exception_ptr, bool)> done) = 0;

  /// Atomically adds `delta` to the counter at `key`; completes with the new value, or
  /// std::nullopt when the counter is absent (it is not created).
  virtual void async_increment(
      std::string_view key, std::uint64_t delta,
      handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) = 0;

  /// Backend::increment_many, asynchronously: adds `delta` to every counter of `keys` and
  /// completes with one CounterIncrement per key, in order (nullopt for an absent counter,
  /// which is not created; `failure` for one whose increment failed). A failure of the
  /// whole call (the server unreachable, the breaker open) completes with it instead, and
  /// then every counter may or may not have moved. The default runs async_increment per
  /// key, one after the other (one round trip each), going on past a failed key; a
  /// backend that can batch overrides it and batches_async_increments().
  virtual void async_increment_many(
      std::span<const std::string_view> keys, std::uint64_t delta,
      handler<void(std::exception_ptr, std::vector<CounterIncrement>)> done);

  /// Whether async_increment_many costs one round trip for all its keys (true) or one per
  /// key (false, the default). AsyncCache counts Stats::round_trips by it.
  virtual bool batches_async_increments() const noexcept { return false; }

  /// Creates the counter `key` at `initial` if absent (an atomic add); completes with
  /// false when it already existed.
  virtual void async_create_counter(std::string_view key, std::uint64_t initial,
                                    std::chrono::milliseconds ttl,
                                    handler<void(std::exception_ptr, bool)> done) = 0;

  /// A bump in one call: atomically adds `delta` to the counter at `key`, or, when it is
  /// absent, creates it at `fresh` (the caller's fresh random value), and completes with
  /// the counter's value afterwards (`fresh` itself when it was created). A counter that
  /// is evicted between the steps is retried; after 3 attempts the call fails with
  /// errc::not_stored. The default runs async_increment, then async_create_counter, then
  /// async_increment again on a lost race: up to three round trips. A backend with an
  /// atomic increment-or-create (memcached's `ma ... N J`) overrides it with one.
  virtual void async_increment_or_create(std::string_view key, std::uint64_t delta,
                                         std::uint64_t fresh, std::chrono::milliseconds ttl,
                                         handler<void(std::exception_ptr, std::uint64_t)> done);

  /// What a read with a lease found (async_read_with_lease).
  struct LeaseRead {
    enum class Lease {
      unsupported,  ///< the backend has no read-borne leases: use another lease
      not_needed,   ///< the key was present; `value` holds it
      won,          ///< absent, and this caller holds the lease: it computes and stores
      held,         ///< absent, and another caller holds the lease: wait for its value
    };
    Lease lease = Lease::unsupported;
    std::optional<std::string> value;
  };

  /// Reads `key` and, when it is absent, takes a lease on computing it in the same round
  /// trip: the first reader of a missing key gets Lease::won (for `lease_ttl`, or until
  /// it stores the key) and the others Lease::held. The default reads the key and
  /// reports Lease::unsupported (with the value, if present), so the caller falls back to
  /// its own lease. Failures are as for async_visit_many.
  virtual void async_read_with_lease(std::string_view key, std::chrono::milliseconds lease_ttl,
                                     handler<void(std::exception_ptr, LeaseRead)> done);

  /// Backend::server_stats, asynchronously: completes with one entry per server behind
  /// this backend (a Redis Cluster: one per node), in the server's own names and order.
  /// A server that does not answer gets an entry with `error` set; the call itself never
  /// fails. The default, for a backend without servers, completes with none.
  virtual void async_server_stats(handler<void(std::vector<ServerStats>)> done);
  /// The largest value (in bytes) this backend accepts; larger values are not cached.
  virtual std::size_t max_value_size() const noexcept = 0;

  /// As Backend::wants_hash_tags: whether the AsyncCache must build every key with the
  /// hash tag of its namespace, asked once when it is constructed. Default false; a Redis
  /// Cluster says true.
  virtual bool wants_hash_tags() const noexcept { return false; }

  /// A short description for messages and logs (never credentials).
  virtual std::string describe() const = 0;
};

}  // namespace gencache
