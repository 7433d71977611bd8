#pragma once
// Template bodies of gencache::Cache; included at the end of cache.hpp.

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "gencache/detail/core.hpp"
#include "gencache/detail/freshness.hpp"

namespace gencache {
namespace detail {

/// codec<U>::decode of a payload the caller no longer needs. A std::string payload is
/// moved out instead of copied: codec<std::string>::decode returns the same bytes.
template <class U>
std::optional<U> decode_payload(std::string&& payload) {
  if constexpr (std::is_same_v<U, std::string>) {
    return std::optional<U>(std::move(payload));
  } else {
    return codec<U>::decode(payload);
  }
}

/// How a value type maps to an envelope: std::optional<U> may be "absent". The Entry&&
/// overloads may take the payload out of the entry.
template <class T>
struct value_traits {
  static_assert(has_codec<T>, "gencache: no usable codec<T> for this value type (see codec.hpp)");
  static bool is_absent(const T&) { return false; }
  static std::optional<T> from_entry(const Entry& e) {
    if (e.kind != EntryKind::value) return std::nullopt;
    return codec<T>::decode(e.payload);
  }
  static std::optional<T> from_entry(Entry&& e) {
    return from_payload(e.kind, std::move(e.payload));
  }
  static std::optional<T> from_payload(EntryKind kind, std::string&& payload) {
    if (kind != EntryKind::value) return std::nullopt;
    return decode_payload<T>(std::move(payload));
  }
  static std::string payload(const T& v) { return codec<T>::encode(v); }
};

template <class U>
struct value_traits<std::optional<U>> {
  static_assert(has_codec<U>, "gencache: no usable codec<U> for std::optional<U> (see codec.hpp)");
  static bool is_absent(const std::optional<U>& v) { return !v.has_value(); }
  static std::optional<std::optional<U>> from_entry(const Entry& e) {
    if (e.kind == EntryKind::absent) return std::optional<U>{};
    auto inner = codec<U>::decode(e.payload);
    if (!inner) return std::nullopt;
    return std::optional<U>(std::move(*inner));
  }
  static std::optional<std::optional<U>> from_entry(Entry&& e) {
    return from_payload(e.kind, std::move(e.payload));
  }
  static std::optional<std::optional<U>> from_payload(EntryKind kind, std::string&& payload) {
    if (kind == EntryKind::absent) return std::optional<U>{};
    auto inner = decode_payload<U>(std::move(payload));
    if (!inner) return std::nullopt;
    return std::optional<U>(std::move(*inner));
  }
  static std::string payload(const std::optional<U>& v) {
    return v ? codec<U>::encode(*v) : std::string();
  }
};

/// The value of a read entry if it is fresh at `now` and decodes as a T, counting the hit,
/// miss or corrupt entry; the entry's payload may be taken. What Cache::decode_entry does.
template <class T>
std::optional<T> take_fresh_value(CacheCore& core, std::optional<Entry>& entry,
                                  Clock::time_point now) {
  if (!entry) {
    count(core, Event::miss);
    return std::nullopt;
  }
  if (now >= entry->created + entry->ttl) {
    // Kept by the backend for a stale window, but no longer fresh.
    count(core, Event::miss);
    return std::nullopt;
  }
  std::optional<T> value = value_traits<T>::from_entry(std::move(*entry));
  if (!value) {
    // A well-formed envelope whose payload is not a T: written by another type or program.
    count(core, Event::corrupt);
    count(core, Event::miss);
    return std::nullopt;
  }
  count(core, Event::hit);
  return value;
}

/// memory://'s fast hit for a cached call (read_fresh in core.hpp): when the entry is
/// fresh without a draw and decodes as a T, `out` gets its value, the hit is counted and
/// this returns `fresh`. Otherwise it counts nothing and returns what read_fresh found:
/// `absent` (a miss), or `undecided` (also for a payload that is not a T), for the caller
/// to read and decide as for any backend. Cache::cached, Cache::get and
/// AsyncCache::async_cached start here. (`out` is the caller's, so that a std::string
/// payload is copied into it once and moved only to return it: each move is a call into
/// libstdc++.)
template <class T>
FreshRead fresh_hit(CacheCore& core, std::string_view key, const NamespaceSet& namespaces,
                    const CallOptions& options, std::optional<T>& out) {
  EntryKind kind{};
  if constexpr (std::is_same_v<T, std::string>) {
    const FreshRead found = read_fresh(core, key, namespaces, options, kind, out.emplace());
    if (found != FreshRead::fresh || kind != EntryKind::value) {
      out.reset();
      return found == FreshRead::fresh ? FreshRead::undecided : found;
    }
  } else {
    std::string payload;
    const FreshRead found = read_fresh(core, key, namespaces, options, kind, payload);
    if (found != FreshRead::fresh) return found;
    out = value_traits<T>::from_payload(kind, std::move(payload));
    if (!out) return FreshRead::undecided;
  }
  count(core, Event::hit);
  return FreshRead::fresh;
}

/// The read a cached call goes on with after fresh_hit(): only the generations (where the
/// value will live) when it found nothing, else the entry too.
inline ReadResult read_after_fast_hit(CacheCore& core, FreshRead found, std::string_view key,
                                      const NamespaceSet& namespaces) {
  if (found == FreshRead::absent) return resolve_key(core, key, namespaces);
  return read_entry(core, key, namespaces);
}

/// What a cached call's read found, and what to do with it: both `Cache::cached` and
/// `AsyncCache::async_cached` start here, and switch over `decision`.
template <class T>
struct CachedStart {
  ReadResult read;
  std::optional<T> current{};  // the decoded value, if any (read.entry keeps its times)
  FreshnessDecision decision{};
};

/// Decodes and classifies what `start.read` found, in place.
template <class T>
void decide(CacheCore& core, CachedStart<T>& start, const CallOptions& options) {
  if (start.read.entry) {
    // Only the payload is taken: the entry's times stay for classify(). A std::string
    // value is the payload itself, moved once: assigning from_entry()'s optional would
    // move it twice. (Making from_entry write into the caller's optional instead cost
    // Cache::get 22 instructions a hit: GCC stopped inlining take_fresh_value.)
    Entry& entry = *start.read.entry;
    if constexpr (std::is_same_v<T, std::string>) {
      if (entry.kind == EntryKind::value) start.current.emplace(std::move(entry.payload));
    } else {
      start.current = value_traits<T>::from_entry(std::move(entry));
    }
    if (!start.current) count(core, Event::corrupt);
  }
  start.decision =
      classify(start.current ? &*start.read.entry : nullptr, now(core), options, &uniform_draw);
}

/// String literals and views are stored as std::string.
template <class T>
using stored_type_t = std::conditional_t<std::is_convertible_v<const T&, std::string_view> &&
                                             !std::is_same_v<T, std::string>,
                                         std::string, T>;

}  // namespace detail

template <class T>
std::optional<T> Cache::decode_entry(const std::optional<detail::Entry>& entry) {
  std::optional<detail::Entry> copy = entry;
  return detail::take_fresh_value<T>(*core_, copy, detail::now(*core_));
}

template <class T>
void Cache::store_value(const detail::ReadResult& read, const T& value,
                        std::chrono::milliseconds ttl, std::chrono::microseconds compute_time) {
  if (!read.backend_ok) return;
  using traits = detail::value_traits<T>;
  const bool absent = traits::is_absent(value);
  detail::write_entry(*core_, read, absent ? detail::EntryKind::absent : detail::EntryKind::value,
                      traits::payload(value), ttl, ttl, compute_time);
}

// Runs compute (under a cross-process lease when asked) and stores the result.
template <class T, class F>
T Cache::compute_and_store(const detail::ReadResult& read, F& compute,
                           std::chrono::milliseconds ttl, const CallOptions& options) {
  using traits = detail::value_traits<T>;
  detail::Lease lease = detail::Lease::unavailable;
  if (options.lease && read.backend_ok) {
    lease = detail::acquire_lease(*core_, read, options.lease_ttl);
    if (lease == detail::Lease::held_elsewhere) {
      detail::count(*core_, detail::Event::lease_wait);
      if (auto entry = detail::poll_for_entry(*core_, read, options.lease_wait)) {
        if (std::optional<T> value = traits::from_entry(*entry)) return std::move(*value);
      }
      // The holder did not deliver within lease_wait (it may have died): compute here.
    }
  }
  struct LeaseRelease {
    Cache* self;
    const detail::ReadResult* read;
    bool held;
    ~LeaseRelease() {
      if (held) detail::release_lease(*self->core_, *read);
    }
  } release{this, &read, lease == detail::Lease::acquired};

  detail::count(*core_, detail::Event::compute);
  const auto started = detail::now(*core_);
  T value = detail::to_cached_value<T>(std::invoke(compute));
  const auto took =
      std::chrono::duration_cast<std::chrono::microseconds>(detail::now(*core_) - started);
  if (read.backend_ok) {
    const bool absent = traits::is_absent(value);
    auto fresh_for = detail::jittered(absent && options.absent_ttl ? *options.absent_ttl : ttl,
                                      options.ttl_jitter);
    const auto keep_for =
        fresh_for + std::max(options.stale_while_revalidate, options.stale_if_error);
    detail::write_entry(*core_, read, absent ? detail::EntryKind::absent : detail::EntryKind::value,
                        traits::payload(value), fresh_for, keep_for, took);
  }
  return value;
}

// Runs compute as the leader of `flight`, then publishes the result or the exception to
// the callers waiting on it; the exception is rethrown for the leader's own caller.
template <class T, class F>
T Cache::compute_as_leader(const detail::ReadResult& read,
                           const std::shared_ptr<detail::Flight>& flight, F& compute,
                           std::chrono::milliseconds ttl, const CallOptions& options) {
  try {
    T value = [&] {
      const detail::LeadingOnThisThread leading(*flight);
      return compute_and_store<T>(read, compute, ttl, options);
    }();
    detail::finish_flight(*core_, read.versioned_key, flight, std::make_shared<const T>(value),
                          &typeid(T), nullptr);
    return value;
  } catch (...) {
    detail::finish_flight(*core_, read.versioned_key, flight, nullptr, nullptr,
                          std::current_exception());
    throw;
  }
}

// The miss path: one compute per entry in this process (single-flight), falling back to a
// stale value when compute throws and stale-if-error allows it.
template <class T, class F>
T Cache::compute_shared(const detail::ReadResult& read, F& compute, std::chrono::milliseconds ttl,
                        const CallOptions& options, const std::optional<T>& stale) {
  auto serve_stale_or_rethrow = [&]() -> T {
    if (!stale) throw;
    detail::count(*core_, detail::Event::stale_served);
    return *stale;
  };
  if (!options.single_flight || !read.backend_ok) {
    try {
      return compute_and_store<T>(read, compute, ttl, options);
    } catch (...) {
      return serve_stale_or_rethrow();
    }
  }
  detail::FlightTicket ticket = detail::join_flight(*core_, read.versioned_key);
  if (!ticket.leader) {
    detail::check_not_own_flight(*ticket.flight, read.versioned_key);
    detail::count(*core_, detail::Event::coalesced);
    try {
      if (auto shared = detail::wait_flight(*ticket.flight, typeid(T)))
        return *std::static_pointer_cast<const T>(shared);
    } catch (...) {
      return serve_stale_or_rethrow();
    }
    // The leader produced another type under the same key: compute on our own.
    return compute_and_store<T>(read, compute, ttl, options);
  }
  try {
    return compute_as_leader<T>(read, ticket.flight, compute, ttl, options);
  } catch (...) {
    return serve_stale_or_rethrow();
  }
}

template <class F, class Rep, class Period>
requires std::invocable<F&> gencache::cached_value_t<std::invoke_result_t<F&>> Cache::cached(
    std::string_view key, const NamespaceSet& namespaces, std::chrono::duration<Rep, Period> ttl,
    F&& compute) {
  return cached(key, namespaces, ttl, std::forward<F>(compute), call_defaults());
}

template <class F, class Rep, class Period>
requires std::invocable<F&> gencache::cached_value_t<std::invoke_result_t<F&>> Cache::cached(
    std::string_view key, const NamespaceSet& namespaces, std::chrono::duration<Rep, Period> ttl,
    F&& compute, const CallOptions& options) {
  using T = gencache::cached_value_t<std::invoke_result_t<F&>>;
  const auto ttl_ms = detail::checked_ttl(ttl);
  // Per-call options are checked where they enter; the defaults were checked once.
  if (&options != &call_defaults()) detail::validate_call_options(options);
  // memory://'s fast hit; anything else (a miss, stale, an early refresh to draw, another
  // backend) reads below.
  detail::FreshRead found;
  {
    std::optional<T> hit;
    found = detail::fresh_hit<T>(*core_, key, namespaces, options, hit);
    if (found == detail::FreshRead::fresh) return std::move(*hit);
  }
  // Generations are read here, before compute, and the result is stored under exactly them.
  detail::CachedStart<T> start{detail::read_after_fast_hit(*core_, found, key, namespaces)};
  detail::decide(*core_, start, options);
  detail::ReadResult& read = start.read;
  std::optional<T>& current = start.current;
  const detail::FreshnessDecision decision = start.decision;
  switch (decision.action) {
    case detail::Freshness::fresh:
      detail::count(*core_, detail::Event::hit);
      return std::move(*current);
    case detail::Freshness::refresh_early: {
      detail::count(*core_, detail::Event::hit);
      detail::complete_read(*core_, read, key, namespaces);  // the key to refresh
      detail::FlightTicket ticket = detail::try_lead(*core_, read.versioned_key);
      if (!ticket.leader) return std::move(*current);
      detail::count(*core_, detail::Event::early_refresh);
      try {
        return compute_as_leader<T>(read, ticket.flight, compute, ttl_ms, options);
      } catch (...) {
        return std::move(*current);  // still valid: a failing early refresh is ignored
      }
    }
    case detail::Freshness::serve_stale_and_refresh: {
      detail::complete_read(*core_, read, key, namespaces);  // the key to refresh
      detail::FlightTicket ticket = detail::try_lead(*core_, read.versioned_key);
      if (!ticket.leader) {
        detail::count(*core_, detail::Event::stale_served);
        return std::move(*current);
      }
      if constexpr (std::is_copy_constructible_v<std::decay_t<F>>) {
        if (options.executor) {
          detail::count(*core_, detail::Event::stale_served);
          options.executor([self = *this, read, task = std::decay_t<F>(compute), ttl_ms, options,
                            flight = ticket.flight]() mutable {
            try {
              self.compute_as_leader<T>(read, flight, task, ttl_ms, options);
            } catch (...) {
              // A background refresh that fails leaves the stale value to age out.
            }
          });
          return std::move(*current);
        }
      }
      // Refresh in this caller's thread; the others got the stale value meanwhile.
      detail::count(*core_, detail::Event::miss);
      try {
        return compute_as_leader<T>(read, ticket.flight, compute, ttl_ms, options);
      } catch (...) {
        if (!decision.fallback_on_error) throw;
        detail::count(*core_, detail::Event::stale_served);
        return std::move(*current);
      }
    }
    case detail::Freshness::stale_if_error_fallback:
    case detail::Freshness::miss:
      break;
  }
  if (!decision.fallback_on_error) current.reset();
  detail::count(*core_, detail::Event::miss);
  detail::complete_read(*core_, read, key, namespaces);  // an expired or undecodable hit
  return compute_shared<T>(read, compute, ttl_ms, options, current);
}

template <class T>
std::optional<T> Cache::get(std::string_view key, const NamespaceSet& namespaces) {
  std::error_code ignored;
  return get<T>(key, namespaces, ignored);
}

template <class T>
std::optional<T> Cache::get(std::string_view key, const NamespaceSet& namespaces,
                            std::error_code& ec) {
  {
    // memory://'s fast hit. get() never refreshes early: options without XFetch make
    // "fresh" exactly "within the TTL", which is what take_fresh_value() below decides.
    static const CallOptions kWithinTtl{.early_refresh_beta = 0};
    std::optional<T> hit;
    const detail::FreshRead found = detail::fresh_hit<T>(*core_, key, namespaces, kWithinTtl, hit);
    if (found != detail::FreshRead::undecided) {
      ec.clear();
      if (found == detail::FreshRead::absent) detail::count(*core_, detail::Event::miss);
      return hit;
    }
  }
  detail::ReadResult read = detail::read_entry(*core_, key, namespaces);
  ec = read.error;
  return detail::take_fresh_value<T>(*core_, read.entry, detail::now(*core_));
}

template <class T>
std::vector<std::optional<T>> Cache::get_many(std::span<const std::string> keys,
                                              const NamespaceSet& namespaces) {
  std::error_code ignored;
  return get_many<T>(keys, namespaces, ignored);
}

template <class T>
std::vector<std::optional<T>> Cache::get_many(std::span<const std::string> keys,
                                              const NamespaceSet& namespaces, std::error_code& ec) {
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<std::optional<detail::Entry>> entries =
      detail::read_entries_only(*core_, views, namespaces, ec);
  std::vector<std::optional<T>> out;
  out.reserve(keys.size());
  const auto now = detail::now(*core_);  // the batch is one read, at one instant
  for (auto& entry : entries) out.push_back(detail::take_fresh_value<T>(*core_, entry, now));
  return out;
}

template <class F, class Rep, class Period>
requires std::invocable<F&, const std::string&>
    std::vector<gencache::cached_value_t<std::invoke_result_t<F&, const std::string&>>>
    Cache::cached_many(std::span<const std::string> keys, const NamespaceSet& namespaces,
                       std::chrono::duration<Rep, Period> ttl, F&& compute) {
  using T = gencache::cached_value_t<std::invoke_result_t<F&, const std::string&>>;
  const auto ttl_ms = detail::checked_ttl(ttl);
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  detail::ReadBatch batch = detail::read_entries(*core_, views, namespaces);
  std::vector<T> out;
  out.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    // Freshness at the time of use: the computes before this one may have taken long.
    if (std::optional<T> hit =
            detail::take_fresh_value<T>(*core_, batch.entries[i], detail::now(*core_))) {
      out.push_back(std::move(*hit));
      continue;
    }
    detail::count(*core_, detail::Event::compute);
    const auto started = detail::now(*core_);
    T value = detail::to_cached_value<T>(std::invoke(compute, keys[i]));
    const auto took =
        std::chrono::duration_cast<std::chrono::microseconds>(detail::now(*core_) - started);
    if (batch.backend_ok) {
      detail::ReadResult where;
      where.backend_ok = true;
      where.versioned_key = batch.versioned_keys[i];
      store_value(where, value, ttl_ms, took);
    }
    out.push_back(std::move(value));
  }
  return out;
}

template <class T, class Rep, class Period>
void Cache::set(std::string_view key, const NamespaceSet& namespaces, const T& value,
                std::chrono::duration<Rep, Period> ttl) {
  using Stored = detail::stored_type_t<T>;
  const auto ttl_ms = detail::checked_ttl(ttl);
  detail::ReadResult read = detail::resolve_key(*core_, key, namespaces);
  store_value<Stored>(read, Stored(value), ttl_ms, std::chrono::microseconds(0));
}

template <class T, class Rep, class Period>
void Cache::store(const Ticket& ticket, const T& value, std::chrono::duration<Rep, Period> ttl) {
  using Stored = detail::stored_type_t<T>;
  const auto ttl_ms = detail::checked_ttl(ttl);
  detail::ReadResult where;
  where.backend_ok = ticket.valid();
  where.versioned_key = ticket.versioned_key();
  store_value<Stored>(where, Stored(value), ttl_ms, std::chrono::microseconds(0));
}

}  // namespace gencache
