#pragma once
// Template bodies of gencache::AsyncCache; included at the end of async_cache.hpp. The
// decisions are the core's (classify, the steps); this file only sequences them as
// coroutines, as cache-inl.hpp does for the blocking Cache.

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gencache/detail/async_core.hpp"
#include "gencache/detail/freshness.hpp"

namespace gencache {
namespace detail {

template <class R>
struct completion_of {
  using type = void(R);
};
template <>
struct completion_of<void> {
  using type = void();
};

template <class R>
inline constexpr bool is_awaitable_v = false;
template <class T, class Executor>
inline constexpr bool is_awaitable_v<boost::asio::awaitable<T, Executor>> = true;

// Initiations hold no state (everything goes in the arguments): with use_awaitable, GCC 12
// destroys the initiation object twice (Boost 1.81), which a shared_ptr or a strand
// executor in it would not survive. The arguments are destroyed correctly.

/// Spawns the coroutine and completes the handler with its result alone (void(R) or
/// void()): for operations whose backend failures are absorbed (fail-open).
struct SpawnInfallible {
  template <class Handler, class Coroutine>
  void operator()(Handler&& handler, boost::asio::any_io_executor executor,
                  Coroutine coroutine) const {
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    auto handler_executor = boost::asio::get_associated_executor(handler, executor);
    boost::asio::co_spawn(
        executor, std::move(coroutine),
        boost::asio::bind_cancellation_slot(
            slot, boost::asio::bind_executor(
                      handler_executor, [handler = std::forward<Handler>(handler)](
                                            std::exception_ptr, auto&&... result) mutable {
                        std::move(handler)(std::forward<decltype(result)>(result)...);
                      })));
  }
};

/// Spawns the coroutine and completes the handler with void(error_code, R): a thrown
/// failure becomes its error code and a value-initialized R.
struct SpawnWithErrorCode {
  template <class Handler, class Coroutine>
  void operator()(Handler&& handler, boost::asio::any_io_executor executor,
                  Coroutine coroutine) const {
    using R = typename awaitable_value<Coroutine>::type;
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    auto handler_executor = boost::asio::get_associated_executor(handler, executor);
    boost::asio::co_spawn(
        executor, std::move(coroutine),
        boost::asio::bind_cancellation_slot(
            slot, boost::asio::bind_executor(
                      handler_executor, [handler = std::forward<Handler>(handler)](
                                            std::exception_ptr failure, R result) mutable {
                        if (failure)
                          std::move(handler)(failure_code_of(failure), R{});
                        else
                          std::move(handler)(boost::system::error_code{}, std::move(result));
                      })));
  }
};

/// use_awaitable gets the operation's coroutine itself, awaited in the caller's coroutine
/// (its executor is the caller's): no spawn, no hop through the scheduler on a hit.
template <class Token>
inline constexpr bool is_use_awaitable_v =
    std::is_same_v<std::decay_t<Token>, boost::asio::use_awaitable_t<>>;

/// Runs `coroutine` (whose exception is the operation's) and completes `token` with
/// void(std::exception_ptr, R).
template <class Token, class Coroutine>
auto launch(const boost::asio::any_io_executor& executor, Coroutine coroutine, Token&& token) {
  if constexpr (is_use_awaitable_v<Token>)
    return coroutine;
  else
    return boost::asio::co_spawn(executor, std::move(coroutine), std::forward<Token>(token));
}

// What a failed bump or generation throws from co_await with use_awaitable: the
// system_error that the void(error_code, R) signature makes of it.
template <class R>
awaitable<R> throwing_system_error(awaitable<R> operation) {
  std::exception_ptr failure;
  try {
    co_return co_await std::move(operation);
  } catch (...) {
    failure = std::current_exception();
  }
  throw boost::system::system_error(failure_code_of(failure));
}

template <class R, class Token, class Coroutine>
auto spawn_infallible(const boost::asio::any_io_executor& executor, Coroutine coroutine,
                      Token&& token) {
  if constexpr (is_use_awaitable_v<Token>)
    return coroutine;
  else
    return boost::asio::async_initiate<Token, typename completion_of<R>::type>(
        SpawnInfallible{}, token, executor, std::move(coroutine));
}

/// SpawnWithErrorCode for bump_namespaces: a bump_namespaces_error completes with its
/// code and its generations (0 where not bumped) instead of an empty vector.
struct SpawnBumpNamespaces {
  template <class Handler, class Coroutine>
  void operator()(Handler&& handler, boost::asio::any_io_executor executor,
                  Coroutine coroutine) const {
    using R = std::vector<std::uint64_t>;
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    auto handler_executor = boost::asio::get_associated_executor(handler, executor);
    boost::asio::co_spawn(
        executor, std::move(coroutine),
        boost::asio::bind_cancellation_slot(
            slot, boost::asio::bind_executor(
                      handler_executor, [handler = std::forward<Handler>(handler)](
                                            std::exception_ptr failure, R result) mutable {
                        if (!failure) {
                          std::move(handler)(boost::system::error_code{}, std::move(result));
                          return;
                        }
                        R generations;
                        try {
                          std::rethrow_exception(failure);
                        } catch (const bump_namespaces_error& e) {
                          generations = e.generations();
                        } catch (...) {
                        }
                        std::move(handler)(failure_code_of(failure), std::move(generations));
                      })));
  }
};

template <class R, class Token, class Coroutine>
auto spawn_with_error_code(const boost::asio::any_io_executor& executor, Coroutine coroutine,
                           Token&& token) {
  if constexpr (is_use_awaitable_v<Token>)
    return throwing_system_error(std::move(coroutine));
  else
    return boost::asio::async_initiate<Token, void(boost::system::error_code, R)>(
        SpawnWithErrorCode{}, token, executor, std::move(coroutine));
}

// Ends a flight whose leader coroutine is destroyed before it finishes (its executor shut
// down), so that no waiter waits forever.
struct FlightFinisher {
  CacheCore& core;
  const std::string& key;
  const std::shared_ptr<Flight>& flight;
  bool finished = false;
  ~FlightFinisher() {
    if (!finished)
      finish_flight(core, key, flight, nullptr, nullptr,
                    std::make_exception_ptr(error("gencache: the computing coroutine was "
                                                  "destroyed before it finished")));
  }
};

// The compute of `flight`'s leader, in an awaitable thread of its own: its cancellation
// slot then identifies it, and a nested async_cached of the same entry from inside the
// compute is refused (check_not_own_async_flight) rather than waiting for itself forever.
template <class T, class F>
awaitable<T> async_compute_as_leader(F& compute, Flight& flight) {
  const boost::asio::cancellation_state state = co_await boost::asio::this_coro::cancellation_state;
  mark_async_leader(flight, state.slot());
  co_return co_await std::invoke(compute);
}

// Runs compute (under a cross-process lease when asked) and stores the result. `leading`
// is the flight this call leads, if any.
template <class T, class F>
awaitable<T> async_compute_and_store(CacheCore& core, const ReadResult& read, F& compute,
                                     std::chrono::milliseconds ttl, const CallOptions& options,
                                     Flight* leading = nullptr) {
  using traits = value_traits<T>;
  Lease lease = Lease::unavailable;
  if (options.lease && read.backend_ok) {
    lease = co_await async_acquire_lease(core, read, options.lease_ttl);
    if (lease == Lease::held_elsewhere) {
      count(core, Event::lease_wait);
      if (auto entry = co_await async_poll_for_entry(core, read, options.lease_wait)) {
        if (std::optional<T> value = traits::from_entry(*entry)) co_return std::move(*value);
      }
      // The holder did not deliver within lease_wait (it may have died): compute here.
    }
  }
  count(core, Event::compute);
  const auto started = now(core);
  std::optional<T> value;
  std::exception_ptr failure;
  try {
    if constexpr (is_awaitable_v<std::invoke_result_t<F&>>) {
      if (leading != nullptr) {
        // The slot is this call's alone, so the compute's thread has a connected
        // cancellation state that no other coroutine shares. Nothing emits on it: the
        // leader's compute serves every waiter of the flight, so one caller's
        // cancellation does not abort it.
        boost::asio::cancellation_signal own_slot;
        const auto executor = co_await boost::asio::this_coro::executor;
        value.emplace(co_await boost::asio::co_spawn(
            executor, async_compute_as_leader<T>(compute, *leading),
            boost::asio::bind_cancellation_slot(own_slot.slot(), boost::asio::use_awaitable)));
      } else {
        value.emplace(co_await std::invoke(compute));
      }
    } else if (leading != nullptr) {
      // A plain compute that calls a blocking Cache for this entry is refused as well.
      const LeadingOnThisThread on_this_thread(*leading);
      value.emplace(std::invoke(compute));
    } else {
      value.emplace(std::invoke(compute));
    }
  } catch (...) {
    failure = std::current_exception();
  }
  if (lease == Lease::acquired) co_await async_release_lease(core, read);
  if (failure) std::rethrow_exception(failure);
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(now(core) - started);
  if (read.backend_ok) {
    const bool absent = traits::is_absent(*value);
    const auto fresh_for =
        jittered(absent && options.absent_ttl ? *options.absent_ttl : ttl, options.ttl_jitter);
    const auto keep_for =
        fresh_for + std::max(options.stale_while_revalidate, options.stale_if_error);
    co_await async_write_entry(core, read, absent ? EntryKind::absent : EntryKind::value,
                               traits::payload(*value), fresh_for, keep_for, took);
  }
  co_return std::move(*value);
}

// Computes as the leader of `flight`, then publishes the result or the exception to its
// waiters (blocking and async alike); the exception is rethrown for the leader's caller.
template <class T, class F>
awaitable<T> async_lead(CacheCore& core, const ReadResult& read,
                        const std::shared_ptr<Flight>& flight, F& compute,
                        std::chrono::milliseconds ttl, const CallOptions& options) {
  FlightFinisher finisher{core, read.versioned_key, flight};
  std::exception_ptr failure;
  try {
    T value = co_await async_compute_and_store<T>(core, read, compute, ttl, options, flight.get());
    finisher.finished = true;
    finish_flight(core, read.versioned_key, flight, std::make_shared<const T>(value), &typeid(T),
                  nullptr);
    co_return value;
  } catch (...) {
    failure = std::current_exception();
  }
  finisher.finished = true;
  finish_flight(core, read.versioned_key, flight, nullptr, nullptr, failure);
  std::rethrow_exception(failure);
}

// A stale-while-revalidate refresh, spawned on the executor; it owns what it uses.
template <class T, class F>
awaitable<void> async_refresh(std::shared_ptr<CacheCore> core, ReadResult read,
                              std::shared_ptr<Flight> flight, F compute,
                              std::chrono::milliseconds ttl, CallOptions options) {
  try {
    co_await async_lead<T>(*core, read, flight, compute, ttl, options);
  } catch (...) {
    // A background refresh that fails leaves the stale value to age out.
  }
}

inline bool is_cancellation(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const boost::system::system_error& e) {
    return e.code() == boost::asio::error::operation_aborted;
  } catch (...) {
    return false;
  }
}

// Waits for another caller's compute of the entry: its value, or nullopt when it produced
// another type under the same key; rethrows its exception.
// Coroutines here take the flight by reference, never as a shared_ptr temporary inside a
// co_await expression: GCC 12 releases such a temporary twice.
template <class T>
awaitable<std::optional<T>> async_join(const std::shared_ptr<Flight>& flight) {
  co_await async_wait_flight(flight);
  const std::shared_ptr<const void> shared = flight_result(*flight, typeid(T));
  std::optional<T> value;
  if (shared) value.emplace(*static_cast<const T*>(shared.get()));
  co_return value;
}

// The miss path: one compute per entry in this process, falling back to a stale value
// when compute throws and stale-if-error allows it (a cancelled wait never does).
template <class T, class F>
awaitable<T> async_compute_shared(CacheCore& core, const ReadResult& read, F& compute,
                                  std::chrono::milliseconds ttl, const CallOptions& options,
                                  std::optional<T> stale) {
  FlightTicket ticket;
  if (options.single_flight && read.backend_ok) ticket = join_flight(core, read.versioned_key);
  std::optional<T> value;
  std::exception_ptr failure;
  if (ticket.flight && !ticket.leader) {
    const boost::asio::cancellation_state state =
        co_await boost::asio::this_coro::cancellation_state;
    check_not_own_async_flight(*ticket.flight, state.slot(), read.versioned_key);
    count(core, Event::coalesced);
    try {
      value = co_await async_join<T>(ticket.flight);
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure && is_cancellation(failure)) std::rethrow_exception(failure);
  }
  if (!value && !failure) {
    // Leading the flight, outside one, or the leader produced another type.
    try {
      if (ticket.leader)
        value = co_await async_lead<T>(core, read, ticket.flight, compute, ttl, options);
      else
        value = co_await async_compute_and_store<T>(core, read, compute, ttl, options);
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (value) co_return std::move(*value);
  if (!stale) std::rethrow_exception(failure);
  count(core, Event::stale_served);
  co_return std::move(*stale);
}

template <class T>
awaitable<std::optional<T>> async_get_value(std::shared_ptr<CacheCore> core, std::string key,
                                            NamespaceSet namespaces) {
  ReadResult read = co_await async_read_entry(*core, key, namespaces, true);
  co_return take_fresh_value<T>(*core, read.entry, now(*core));
}

template <class T>
awaitable<std::vector<std::optional<T>>> async_get_values(std::shared_ptr<CacheCore> core,
                                                          std::vector<std::string> keys,
                                                          NamespaceSet namespaces) {
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  ReadBatch batch = co_await async_read_entries(*core, views, namespaces);
  std::vector<std::optional<T>> out;
  out.reserve(keys.size());
  const auto at = now(*core);  // the batch is one read, at one instant
  for (auto& entry : batch.entries) out.push_back(take_fresh_value<T>(*core, entry, at));
  co_return out;
}

template <class T>
awaitable<void> async_store_value(std::shared_ptr<CacheCore> core, ReadResult where, T value,
                                  std::chrono::milliseconds ttl) {
  if (!where.backend_ok) co_return;
  using traits = value_traits<T>;
  const bool absent = traits::is_absent(value);
  co_await async_write_entry(*core, where, absent ? EntryKind::absent : EntryKind::value,
                             traits::payload(value), ttl, ttl, std::chrono::microseconds(0));
}

template <class T>
awaitable<void> async_set_value(std::shared_ptr<CacheCore> core, std::string key,
                                NamespaceSet namespaces, T value, std::chrono::milliseconds ttl) {
  ReadResult where = co_await async_read_entry(*core, key, namespaces, false);
  co_await async_store_value<T>(core, std::move(where), std::move(value), ttl);
}

inline awaitable<Ticket> async_reserve_ticket(std::shared_ptr<CacheCore> core, std::string key,
                                              NamespaceSet namespaces);

inline awaitable<std::uint64_t> async_bump_owned(std::shared_ptr<CacheCore> core, Namespace ns) {
  co_return co_await async_bump(*core, ns);
}

inline awaitable<std::vector<std::uint64_t>> async_bump_namespaces_owned(
    std::shared_ptr<CacheCore> core, std::vector<Namespace> namespaces) {
  co_return co_await async_bump_namespaces(*core, std::move(namespaces));
}

inline awaitable<std::string> async_etag_owned(std::shared_ptr<CacheCore> core, std::string key,
                                               NamespaceSet namespaces) {
  co_return co_await async_etag(*core, std::move(key), std::move(namespaces));
}

inline awaitable<std::uint64_t> async_generation_owned(std::shared_ptr<CacheCore> core,
                                                       Namespace ns) {
  co_return co_await async_generation(*core, ns);
}

template <class T, class F>
awaitable<std::vector<T>> async_cached_values(std::shared_ptr<CacheCore> core,
                                              std::vector<std::string> keys,
                                              NamespaceSet namespaces,
                                              std::chrono::milliseconds ttl, F compute) {
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  ReadBatch batch = co_await async_read_entries(*core, views, namespaces);
  std::vector<T> out;
  out.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    // Freshness at the time of use: the computes before this one may have taken long.
    if (std::optional<T> hit = take_fresh_value<T>(*core, batch.entries[i], now(*core))) {
      out.push_back(std::move(*hit));
      continue;
    }
    count(*core, Event::compute);
    const auto started = now(*core);
    std::optional<T> value;
    if constexpr (is_awaitable_v<std::invoke_result_t<F&, const std::string&>>)
      value.emplace(co_await std::invoke(compute, keys[i]));
    else
      value.emplace(std::invoke(compute, keys[i]));
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(now(*core) - started);
    if (batch.backend_ok) {
      ReadResult where;
      where.backend_ok = true;
      where.versioned_key = batch.versioned_keys[i];
      using traits = value_traits<T>;
      const bool absent = traits::is_absent(*value);
      co_await async_write_entry(*core, where, absent ? EntryKind::absent : EntryKind::value,
                                 traits::payload(*value), ttl, ttl, took);
    }
    out.push_back(std::move(*value));
  }
  co_return out;
}

/// An awaitable that completes at once with `value`: what a memory:// hit awaited with
/// use_awaitable returns, so that it copies neither its key nor its namespaces.
template <class T>
awaitable<T> ready_value(T value) {
  co_return std::move(value);
}

}  // namespace detail

template <class T, class F>
boost::asio::awaitable<T> AsyncCache::run_cached(std::shared_ptr<detail::CacheCore> core,
                                                 std::string key, NamespaceSet namespaces,
                                                 std::chrono::milliseconds ttl, F compute,
                                                 CallOptions options,
                                                 std::optional<detail::CachedStart<T>> start) {
  // Generations are read here (or by async_cached, on memory://), before compute, and the
  // result is stored under exactly them. memory:// is read in place: no coroutine frame for
  // a read that cannot suspend. (An if, not ?: around co_await: GCC 12 destroys the
  // temporaries of that twice.)
  if (!start) {
    start.emplace();
    if (detail::serves_inline(*core))
      start->read = detail::read_entry(*core, key, namespaces);
    else
      start->read = co_await detail::async_read_entry(*core, key, namespaces, true);
    detail::decide(*core, *start, options);
  }
  detail::ReadResult& read = start->read;
  std::optional<T>& current = start->current;
  const detail::FreshnessDecision decision = start->decision;
  switch (decision.action) {
    case detail::Freshness::fresh:
      detail::count(*core, detail::Event::hit);
      co_return std::move(*current);
    case detail::Freshness::refresh_early: {
      detail::count(*core, detail::Event::hit);
      detail::complete_read(*core, read, key, namespaces);  // the key to refresh
      detail::FlightTicket ticket = detail::try_lead(*core, read.versioned_key);
      if (!ticket.leader) co_return std::move(*current);
      detail::count(*core, detail::Event::early_refresh);
      try {
        co_return co_await detail::async_lead<T>(*core, read, ticket.flight, compute, ttl, options);
      } catch (...) {
        // The value in hand stays valid: a failing early refresh is ignored.
      }
      co_return std::move(*current);
    }
    case detail::Freshness::serve_stale_and_refresh: {
      detail::complete_read(*core, read, key, namespaces);  // the key to refresh
      detail::FlightTicket ticket = detail::try_lead(*core, read.versioned_key);
      detail::count(*core, detail::Event::stale_served);
      if (ticket.leader) {
        // Every caller gets the stale value at once; the refresh runs on the executor.
        boost::asio::co_spawn(
            co_await boost::asio::this_coro::executor,
            detail::async_refresh<T>(core, read, ticket.flight, std::move(compute), ttl, options),
            boost::asio::detached);
      }
      co_return std::move(*current);
    }
    case detail::Freshness::stale_if_error_fallback:
    case detail::Freshness::miss:
      break;
  }
  if (!decision.fallback_on_error) current.reset();
  detail::count(*core, detail::Event::miss);
  detail::complete_read(*core, read, key, namespaces);  // an expired or undecodable hit
  co_return co_await detail::async_compute_shared<T>(*core, read, compute, ttl, options,
                                                     std::move(current));
}

template <class F, class Rep, class Period, class Token>
auto AsyncCache::async_cached(std::string_view key, const NamespaceSet& namespaces,
                              std::chrono::duration<Rep, Period> ttl, F compute,
                              CallOptions options, Token&& token) {
  detail::validate_call_options(options);
  return start_cached_call(key, namespaces, ttl, std::move(compute), options,
                           std::forward<Token>(token));
}

template <class F, class Rep, class Period, class Token>
auto AsyncCache::async_cached(std::string_view key, const NamespaceSet& namespaces,
                              std::chrono::duration<Rep, Period> ttl, F compute, Token&& token) {
  return start_cached_call(key, namespaces, ttl, std::move(compute), call_defaults(),
                           std::forward<Token>(token));
}

template <class F, class Rep, class Period, class Token>
auto AsyncCache::start_cached_call(std::string_view key, const NamespaceSet& namespaces,
                                   std::chrono::duration<Rep, Period> ttl, F compute,
                                   const CallOptions& options, Token&& token) {
  using T = detail::compute_result_t<F>;
  const auto ttl_ms = detail::checked_ttl(ttl);
  if constexpr (detail::is_use_awaitable_v<Token>) {
    // Awaited at once by the caller, on memory://: the read runs now, and a fresh hit
    // completes without copying the key, the namespaces or the options into a frame.
    if (detail::serves_inline(*core_)) {
      std::optional<T> hit;
      const detail::FreshRead found = detail::fresh_hit<T>(*core_, key, namespaces, options, hit);
      if (found == detail::FreshRead::fresh) return detail::ready_value<T>(std::move(*hit));
      detail::CachedStart<T> start{detail::read_after_fast_hit(*core_, found, key, namespaces)};
      detail::decide(*core_, start, options);
      if (start.decision.action == detail::Freshness::fresh) {
        detail::count(*core_, detail::Event::hit);
        return detail::ready_value<T>(std::move(*start.current));
      }
      return run_cached<T>(core_, std::string(key), namespaces, ttl_ms, std::move(compute), options,
                           std::move(start));
    }
  }
  return detail::launch(executor_,
                        run_cached<T>(core_, std::string(key), namespaces, ttl_ms,
                                      std::move(compute), options, std::nullopt),
                        std::forward<Token>(token));
}

template <class F, class Rep, class Period, class Token>
auto AsyncCache::async_cached(std::string_view key, const Namespace& ns,
                              std::chrono::duration<Rep, Period> ttl, F compute, Token&& token) {
  const NamespaceSet namespaces(ns);
  return async_cached(key, namespaces, ttl, std::move(compute), std::forward<Token>(token));
}

template <class T, class Token>
auto AsyncCache::async_get(std::string_view key, const NamespaceSet& namespaces, Token&& token) {
  return detail::spawn_infallible<std::optional<T>>(
      executor_, detail::async_get_value<T>(core_, std::string(key), namespaces),
      std::forward<Token>(token));
}

template <class T, class Token>
auto AsyncCache::async_get(std::string_view key, const Namespace& ns, Token&& token) {
  const NamespaceSet namespaces(ns);
  return async_get<T>(key, namespaces, std::forward<Token>(token));
}

template <class T, class Token>
auto AsyncCache::async_get_many(std::vector<std::string> keys, const NamespaceSet& namespaces,
                                Token&& token) {
  return detail::spawn_infallible<std::vector<std::optional<T>>>(
      executor_, detail::async_get_values<T>(core_, std::move(keys), namespaces),
      std::forward<Token>(token));
}

template <class F, class Rep, class Period, class Token>
auto AsyncCache::async_cached_many(std::vector<std::string> keys, const NamespaceSet& namespaces,
                                   std::chrono::duration<Rep, Period> ttl, F compute,
                                   Token&& token) {
  using R = std::invoke_result_t<F&, const std::string&>;
  using T = std::decay_t<typename detail::awaitable_value<R>::type>;
  const auto ttl_ms = detail::checked_ttl(ttl);
  return boost::asio::co_spawn(executor_,
                               detail::async_cached_values<T>(core_, std::move(keys), namespaces,
                                                              ttl_ms, std::move(compute)),
                               std::forward<Token>(token));
}

template <class T, class Rep, class Period, class Token>
auto AsyncCache::async_set(std::string_view key, const NamespaceSet& namespaces, T value,
                           std::chrono::duration<Rep, Period> ttl, Token&& token) {
  using Stored = detail::stored_type_t<T>;
  const auto ttl_ms = detail::checked_ttl(ttl);
  return detail::spawn_infallible<void>(
      executor_,
      detail::async_set_value<Stored>(core_, std::string(key), namespaces, Stored(std::move(value)),
                                      ttl_ms),
      std::forward<Token>(token));
}

template <class T, class Rep, class Period, class Token>
auto AsyncCache::async_set(std::string_view key, const Namespace& ns, T value,
                           std::chrono::duration<Rep, Period> ttl, Token&& token) {
  const NamespaceSet namespaces(ns);
  return async_set(key, namespaces, std::move(value), ttl, std::forward<Token>(token));
}

template <class Token>
auto AsyncCache::async_reserve(std::string_view key, const NamespaceSet& namespaces,
                               Token&& token) {
  return detail::spawn_infallible<Ticket>(
      executor_, detail::async_reserve_ticket(core_, std::string(key), namespaces),
      std::forward<Token>(token));
}

template <class Token>
auto AsyncCache::async_reserve(std::string_view key, const Namespace& ns, Token&& token) {
  const NamespaceSet namespaces(ns);
  return async_reserve(key, namespaces, std::forward<Token>(token));
}

template <class T, class Rep, class Period, class Token>
auto AsyncCache::async_store(Ticket ticket, T value, std::chrono::duration<Rep, Period> ttl,
                             Token&& token) {
  using Stored = detail::stored_type_t<T>;
  const auto ttl_ms = detail::checked_ttl(ttl);
  detail::ReadResult where;
  where.backend_ok = ticket.valid();
  where.versioned_key = ticket.versioned_key();
  return detail::spawn_infallible<void>(
      executor_,
      detail::async_store_value<Stored>(core_, std::move(where), Stored(std::move(value)), ttl_ms),
      std::forward<Token>(token));
}

template <class Token>
auto AsyncCache::async_bump_namespace(const Namespace& ns, Token&& token) {
  return detail::spawn_with_error_code<std::uint64_t>(
      executor_, detail::async_bump_owned(core_, ns), std::forward<Token>(token));
}

template <class Token>
auto AsyncCache::async_bump_namespaces(std::span<const Namespace> namespaces, Token&& token) {
  return boost::asio::async_initiate<Token,
                                     void(boost::system::error_code, std::vector<std::uint64_t>)>(
      detail::SpawnBumpNamespaces{}, token, executor_,
      detail::async_bump_namespaces_owned(
          core_, std::vector<Namespace>(namespaces.begin(), namespaces.end())));
}

template <class Token>
auto AsyncCache::async_etag(std::string_view key, const NamespaceSet& namespaces, Token&& token) {
  return detail::spawn_with_error_code<std::string>(
      executor_, detail::async_etag_owned(core_, std::string(key), namespaces),
      std::forward<Token>(token));
}

template <class Token>
auto AsyncCache::async_generation(const Namespace& ns, Token&& token) {
  return detail::spawn_with_error_code<std::uint64_t>(
      executor_, detail::async_generation_owned(core_, ns), std::forward<Token>(token));
}

namespace detail {
inline awaitable<Ticket> async_reserve_ticket(std::shared_ptr<CacheCore> core, std::string key,
                                              NamespaceSet namespaces) {
  ReadResult read = co_await async_read_entry(*core, key, namespaces, false);
  co_return make_ticket(std::move(read.versioned_key), read.backend_ok);
}
}  // namespace detail

}  // namespace gencache
