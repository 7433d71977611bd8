#pragma once
/// \file
/// cached_call: wraps a handler the way a Python decorator would.
/// \code
/// auto handler = gencache::cached_call(cache,
///     [](const Request& r) { return gencache::url_key(r.path_and_query); },  // key
///     [](const Request& r) { return gencache::ns("user", r.user_id); },      // namespace(s)
///     std::chrono::hours(1), &dashboard_handler);
/// Response resp = handler(req);   // same arguments, same result type
/// \endcode
/// gencache::url_key (<gencache/url_key.hpp>) makes the key canonical, so the same query
/// in another order or spelling is one entry. The handler's result type needs a codec
/// (<gencache/codec.hpp>): a described struct, a string, bytes or a number.

#include <chrono>
#include <concepts>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "gencache/cache.hpp"

namespace gencache {

/// The callable cached_call returns. Call it with the handler's own arguments.
template <class KeyFn, class NamespaceFn, class Handler>
class CachedCall {
 public:
  CachedCall(Cache cache, KeyFn key_fn, NamespaceFn namespace_fn, std::chrono::milliseconds ttl,
             Handler handler, std::optional<CallOptions> options = std::nullopt)
      : cache_(std::move(cache)),
        key_fn_(std::move(key_fn)),
        namespace_fn_(std::move(namespace_fn)),
        ttl_(ttl),
        handler_(std::move(handler)),
        options_(std::move(options)) {}

  /// Computes the key and namespaces from the arguments (passed as lvalues, so they may
  /// take `const T&` even for a move-only argument), then
  /// returns the cached result or calls the handler with the arguments perfectly
  /// forwarded (so move-only and by-reference parameters work as with a direct call).
  template <class... Args>
  requires std::invocable<const Handler&, Args&&...>
      gencache::cached_value_t<std::invoke_result_t<const Handler&, Args&&...>>
  operator()(Args&&... args) const {
    const std::string key(std::invoke(key_fn_, args...));
    const NamespaceSet namespaces(std::invoke(namespace_fn_, args...));
    return cache_.cached(
        key, namespaces, ttl_, [&]() { return std::invoke(handler_, std::forward<Args>(args)...); },
        options_ ? *options_ : cache_.call_defaults());
  }

 private:
  mutable Cache cache_;
  KeyFn key_fn_;
  NamespaceFn namespace_fn_;
  std::chrono::milliseconds ttl_;
  Handler handler_;
  std::optional<CallOptions> options_;  // empty: the Cache's defaults at call time
};

/// Wraps `handler` so each call first looks in `cache`. `key_fn` and `namespace_fn` get
/// the call's arguments and return the key (anything convertible to std::string) and the
/// namespaces (one Namespace or a NamespaceSet). Behaviour on a miss, an exception or a
/// backend failure is that of Cache::cached. A non-positive `ttl` throws
/// gencache::config_error here, at wrap time.
template <class KeyFn, class NamespaceFn, class Rep, class Period, class Handler>
auto cached_call(Cache cache, KeyFn key_fn, NamespaceFn namespace_fn,
                 std::chrono::duration<Rep, Period> ttl, Handler handler) {
  return CachedCall<KeyFn, NamespaceFn, Handler>(std::move(cache), std::move(key_fn),
                                                 std::move(namespace_fn), detail::checked_ttl(ttl),
                                                 std::move(handler));
}

/// cached_call with this wrapper's own stampede and freshness options (see CallOptions)
/// instead of the Cache's defaults. Options out of range throw gencache::config_error here,
/// at wrap time.
template <class KeyFn, class NamespaceFn, class Rep, class Period, class Handler>
auto cached_call(Cache cache, KeyFn key_fn, NamespaceFn namespace_fn,
                 std::chrono::duration<Rep, Period> ttl, Handler handler, CallOptions options) {
  detail::validate_call_options(options);
  return CachedCall<KeyFn, NamespaceFn, Handler>(std::move(cache), std::move(key_fn),
                                                 std::move(namespace_fn), detail::checked_ttl(ttl),
                                                 std::move(handler), std::move(options));
}

}  // namespace gencache
