#pragma once
// Internal: the AsyncBackend driver of the core's steps, as coroutines AsyncCache's
// templates await. Each takes the core by reference: the caller's frame keeps it alive.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/system/error_code.hpp>

#include "gencache/async_backend.hpp"
#include "gencache/detail/core.hpp"
#include "gencache/namespace.hpp"

namespace gencache {
struct CacheOptions;
}

namespace gencache::detail {

using boost::asio::awaitable;

std::shared_ptr<CacheCore> make_async_core(std::shared_ptr<AsyncBackend> backend,
                                           CacheOptions options);
/// Whether `core`'s backend never blocks (memory://), so its blocking read serves a
/// coroutine in place.
bool serves_inline(const CacheCore& core) noexcept;

/// read_entry / resolve_key / read_entries over the AsyncBackend. Never throw a backend
/// failure: it is counted and reported, and backend_ok is false.
awaitable<ReadResult> async_read_entry(CacheCore& core, std::string_view key,
                                       const NamespaceSet& namespaces, bool fetch_entry);
awaitable<ReadBatch> async_read_entries(CacheCore& core, std::span<const std::string_view> keys,
                                        const NamespaceSet& namespaces);
/// write_entry over the AsyncBackend. Never throws a backend failure.
awaitable<void> async_write_entry(CacheCore& core, const ReadResult& read, EntryKind kind,
                                  std::string payload, std::chrono::milliseconds ttl,
                                  std::chrono::milliseconds storage_ttl,
                                  std::chrono::microseconds compute_time);
/// The bump and the generation; a failure is reported and thrown as backend_error (a
/// failed bump is also queued in the outbox when it is on).
awaitable<std::uint64_t> async_bump(CacheCore& core, const Namespace& ns);
awaitable<std::uint64_t> async_generation(CacheCore& core, const Namespace& ns);
/// Cache::bump_namespaces: every counter in one AsyncBackend::async_increment_many (one
/// round trip where the backend batches), then the one-namespace bump for a counter that
/// was absent or refused. Each failure is reported and queued in the outbox when it is on; if any
/// failed, throws bump_namespaces_error naming them.
awaitable<std::vector<std::uint64_t>> async_bump_namespaces(CacheCore& core,
                                                            std::vector<Namespace> namespaces);
/// Cache::etag over the AsyncBackend: one counters-only read; a failure is reported and
/// thrown as backend_error.
awaitable<std::string> async_etag(CacheCore& core, std::string key, NamespaceSet namespaces);

/// The lease, as acquire_lease / release_lease / poll_for_entry; the poll waits on a
/// steady_timer.
awaitable<Lease> async_acquire_lease(CacheCore& core, const ReadResult& read,
                                     std::chrono::milliseconds ttl);
awaitable<void> async_release_lease(CacheCore& core, const ReadResult& read);
awaitable<std::optional<Entry>> async_poll_for_entry(CacheCore& core, const ReadResult& read,
                                                     std::chrono::milliseconds wait);

/// Suspends until `flight` finishes (then flight_result() has its outcome). Cancellation
/// through the awaiting coroutine's slot withdraws only this waiter and throws
/// system_error(operation_aborted).
awaitable<void> async_wait_flight(const std::shared_ptr<Flight>& flight);

/// Records that `flight`'s leader computes in the awaitable thread whose cancellation slot
/// is `compute_slot` (a connected slot of that thread alone).
void mark_async_leader(Flight& flight, const boost::asio::cancellation_slot& compute_slot);
/// Throws gencache::error (own_flight_error) when `slot`, the calling coroutine's
/// cancellation slot, is that of `flight`'s leader's compute: waiting would never end.
void check_not_own_async_flight(Flight& flight, const boost::asio::cancellation_slot& slot,
                                std::string_view key);

/// The error code a bump or generation failure completes with.
boost::system::error_code failure_code_of(const std::exception_ptr& failure) noexcept;

}  // namespace gencache::detail
