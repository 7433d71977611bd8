#pragma once
/// \file
/// AsyncCache: the Cache's read-through caching and O(1) invalidation for programs on
/// Boost.Asio, without blocking a thread. It drives the same sans-I/O core as Cache over an
/// AsyncBackend, so both make the same promises, share the same keys on the same servers
/// and, in one process, coalesce their misses of one entry.
///
/// Every operation takes any Asio completion token (use_awaitable, use_future, deferred, a
/// callback, redirect_error(...)). With use_awaitable the operation runs inside the
/// awaiting coroutine, on its executor; with any other token it is spawned on the
/// executor the AsyncCache was made with. `compute` and every completion run there; the
/// library never runs user code on a thread of its own.
///
/// GCC 12 cannot keep a braced initializer list alive across co_await ("array used as
/// initializer"): write `co_await cache.async_cached("k", ns("user", 42), ...)` (the
/// overloads take one Namespace) or name a NamespaceSet before the co_await, never
/// `co_await cache.async_cached("k", {a, b}, ...)`.

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "gencache/async_backend.hpp"
#include "gencache/cache.hpp"

namespace gencache {

namespace detail {
template <class T>
struct awaitable_value {
  using type = T;
};
template <class T, class Executor>
struct awaitable_value<boost::asio::awaitable<T, Executor>> {
  using type = T;
};
/// What a compute produces: T for a plain compute returning T, and for one returning
/// asio::awaitable<T>.
template <class F>
using compute_result_t = std::decay_t<typename awaitable_value<std::invoke_result_t<F&>>::type>;
template <class T>
struct CachedStart;
}  // namespace detail

/// A handle to an asynchronous cache. Copies are cheap and share the backend, hints, stats
/// and defaults; one AsyncCache may be used from any number of coroutines and threads.
class AsyncCache {
 public:
  using executor_type = boost::asio::any_io_executor;

  /// Uses `backend`; operations not awaited with use_awaitable run on `executor`. Throws
  /// std::invalid_argument for a null backend and gencache::config_error, naming the option,
  /// for an invalid prefix or option. CacheOptions::breaker and CacheOptions::outbox apply
  /// as for Cache: the breaker guards every backend call, and with the outbox on a failed
  /// bump is also queued and retried in the background (see flush_pending_bumps).
  AsyncCache(executor_type executor, std::shared_ptr<AsyncBackend> backend,
             CacheOptions options = {});

  /// Builds an AsyncCache from a cache URL, as Cache::from_url reads it: memory://
  /// completes inline; memcached:// and redis:// run the blocking client on a bounded
  /// thread pool (URL parameter `async_threads`) and complete on `executor`. Throws
  /// gencache::config_error naming the bad scheme, parameter or value.
  static AsyncCache from_url(executor_type executor, std::string_view url,
                             CacheOptions options = {});

  /// from_url with the URL in GENCACHE_URL, or "memory://" when it is unset or empty.
  static AsyncCache from_env(executor_type executor, CacheOptions options = {});

  /// Read-through, as Cache::cached: the value cached for (`key`, `namespaces`) at their
  /// current generations, or the result of `compute` (a plain function returning T, or
  /// one returning asio::awaitable<T>), cached for `ttl` under the generations read before
  /// it ran. Concurrent misses of one entry run compute once; the waiters suspend (no
  /// thread blocks) and a waiter cancelled through its token's cancellation slot leaves
  /// without disturbing the others. A backend failure is reported and otherwise ignored
  /// (fail-open). A non-positive ttl or bad options throw config_error from this call.
  /// Signature: void(std::exception_ptr, T): compute's exception, or a system_error
  /// (operation_aborted) for a cancelled waiter.
  /// With use_awaitable on memory://, the entry is read when this is called (so a fresh
  /// hit needs no frame of its own), and the awaitable holds the outcome: await it at once,
  /// as `co_await cache.async_cached(...)` does. Any other token reads when it starts.
  template <class F, class Rep, class Period, class Token>
  auto async_cached(std::string_view key, const NamespaceSet& namespaces,
                    std::chrono::duration<Rep, Period> ttl, F compute, Token&& token);
  /// async_cached with one namespace (no braced list needed across co_await on GCC 12).
  template <class F, class Rep, class Period, class Token>
  auto async_cached(std::string_view key, const Namespace& ns,
                    std::chrono::duration<Rep, Period> ttl, F compute, Token&& token);
  /// async_cached with this call's own CallOptions (checked here: config_error if out of
  /// range).
  template <class F, class Rep, class Period, class Token>
  auto async_cached(std::string_view key, const NamespaceSet& namespaces,
                    std::chrono::duration<Rep, Period> ttl, F compute, CallOptions options,
                    Token&& token);

  /// The value cached for (`key`, `namespaces`), or std::nullopt on a miss. A backend
  /// failure is a miss (counted and reported to the error hook). Signature:
  /// void(std::optional<T>).
  template <class T = std::string, class Token>
  auto async_get(std::string_view key, const NamespaceSet& namespaces, Token&& token);
  template <class T = std::string, class Token>
  auto async_get(std::string_view key, const Namespace& ns, Token&& token);

  /// The values of many keys of the same namespaces, in one round trip in steady state.
  /// Element i answers keys[i]; a backend failure makes every element a miss.
  /// Signature: void(std::vector<std::optional<T>>).
  template <class T = std::string, class Token>
  auto async_get_many(std::vector<std::string> keys, const NamespaceSet& namespaces, Token&& token);

  /// Read-through for many keys: hits from one batched read, then `compute(key)` (plain or
  /// awaitable) once per missing key, in order, each cached for `ttl`. As Cache::cached_many,
  /// single-flight and the CallOptions do not apply. Signature:
  /// void(std::exception_ptr, std::vector<T>).
  template <class F, class Rep, class Period, class Token>
  auto async_cached_many(std::vector<std::string> keys, const NamespaceSet& namespaces,
                         std::chrono::duration<Rep, Period> ttl, F compute, Token&& token);

  /// Stores `value` under the current generations, for `ttl`. A backend failure or an
  /// oversized value leaves the cache unchanged (counted and reported); a non-positive
  /// ttl throws config_error from this call. Signature: void().
  template <class T, class Rep, class Period, class Token>
  auto async_set(std::string_view key, const NamespaceSet& namespaces, T value,
                 std::chrono::duration<Rep, Period> ttl, Token&& token);
  template <class T, class Rep, class Period, class Token>
  auto async_set(std::string_view key, const Namespace& ns, T value,
                 std::chrono::duration<Rep, Period> ttl, Token&& token);

  /// Cache::reserve: reads the generations now, for a value produced later. A backend
  /// failure gives an invalid ticket. Signature: void(Ticket).
  template <class Token>
  auto async_reserve(std::string_view key, const NamespaceSet& namespaces, Token&& token);
  template <class Token>
  auto async_reserve(std::string_view key, const Namespace& ns, Token&& token);

  /// Cache::store: stores `value` under the generations `ticket` read, so a bump made
  /// since is never lost. Failures as async_set. Signature: void().
  template <class T, class Rep, class Period, class Token>
  auto async_store(Ticket ticket, T value, std::chrono::duration<Rep, Period> ttl, Token&& token);

  /// Invalidates every entry that depends on `ns`: one atomic increment (the counter is
  /// re-created fresh if lost, replaced fresh if poisoned). Completes with the new
  /// generation. Signature: void(boost::system::error_code, std::uint64_t): with
  /// use_awaitable a failed bump throws, with redirect_error it is returned; it is never
  /// silent.
  template <class Token>
  auto async_bump_namespace(const Namespace& ns, Token&& token);

  /// Cache::bump_namespaces, asynchronously: bumps every namespace with one
  /// AsyncBackend::async_increment_many (one round trip on memory:// and any backend that
  /// batches; one per namespace otherwise) and completes with their new
  /// generations in order. Signature: void(boost::system::error_code,
  /// std::vector<std::uint64_t>). When some bumps fail the others still happen, and it
  /// completes with the first failure's code and the generations, 0 for each namespace
  /// not bumped: take both with redirect_error or as_tuple (with plain use_awaitable a
  /// failure throws boost::system::system_error). Each failure is reported to the hook.
  /// Never silent.
  template <class Token>
  auto async_bump_namespaces(std::span<const Namespace> namespaces, Token&& token);

  /// Cache::etag, asynchronously: a strong quoted ETag from the key and the namespaces'
  /// current generations, for one counters-only round trip. Signature:
  /// void(boost::system::error_code, std::string); empty on failure.
  template <class Token>
  auto async_etag(std::string_view key, const NamespaceSet& namespaces, Token&& token);

  /// The current generation of `ns`, creating its counter if absent. Signature:
  /// void(boost::system::error_code, std::uint64_t).
  template <class Token>
  auto async_generation(const Namespace& ns, Token&& token);

  /// Cache::flush_pending_bumps: blocks the calling thread until the bump outbox is empty
  /// (every queued bump applied) or `timeout` passes, retrying at once rather than after
  /// the backoff; true when empty, and at once without the outbox. The retries run on the
  /// outbox's own thread, never on the executor, so calling this from a coroutine cannot
  /// deadlock (it only blocks that thread): call it at shutdown.
  bool flush_pending_bumps(std::chrono::milliseconds timeout);

  /// The executor compute and completions run on.
  const executor_type& get_executor() const noexcept { return executor_; }
  /// The Cache-wide CallOptions (CacheOptions::call).
  const CallOptions& call_defaults() const noexcept;
  /// A snapshot of the counters shared by this AsyncCache and its copies.
  Stats stats() const;
  /// Replaces the error hook (see CacheOptions::on_error). Thread-safe.
  void set_error_hook(ErrorHook hook);

 private:
  // async_cached, after its options were checked: a memory:// hit awaited with
  // use_awaitable is served here; anything else runs in run_cached.
  template <class F, class Rep, class Period, class Token>
  auto start_cached_call(std::string_view key, const NamespaceSet& namespaces,
                         std::chrono::duration<Rep, Period> ttl, F compute,
                         const CallOptions& options, Token&& token);
  // The rest of a cached call, from `start` if the read is already done.
  template <class T, class F>
  static boost::asio::awaitable<T> run_cached(std::shared_ptr<detail::CacheCore> core,
                                              std::string key, NamespaceSet namespaces,
                                              std::chrono::milliseconds ttl, F compute,
                                              CallOptions options,
                                              std::optional<detail::CachedStart<T>> start);

  executor_type executor_;
  std::shared_ptr<detail::CacheCore> core_;
};

}  // namespace gencache

#include "gencache/async_cache-inl.hpp"
