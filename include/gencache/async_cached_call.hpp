#pragma once
/// \file
/// async_cached_call: cached_call for handlers that are coroutines.
/// \code
/// auto dashboard = gencache::async_cached_call(cache,
///     [](const Request& r) { return r.path_and_query; },                  // key
///     [](const Request& r) { return gencache::ns("user", r.user_id); },   // namespace(s)
///     std::chrono::minutes(10),
///     [](const Request& r) -> asio::awaitable<Response> { co_return co_await render(r); });
/// Response response = co_await dashboard(request);
/// \endcode

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gencache/async_cache.hpp"

namespace gencache {

/// The callable async_cached_call returns. Call it with the handler's own arguments and
/// co_await the result; the arguments must live until then (they are not copied).
template <class KeyFn, class NamespaceFn, class Handler>
class AsyncCachedCall {
 public:
  AsyncCachedCall(AsyncCache cache, KeyFn key_fn, NamespaceFn namespace_fn,
                  std::chrono::milliseconds ttl, Handler handler,
                  std::optional<CallOptions> options = std::nullopt)
      : cache_(std::move(cache)),
        key_fn_(std::move(key_fn)),
        namespace_fn_(std::move(namespace_fn)),
        ttl_(ttl),
        handler_(std::move(handler)),
        options_(std::move(options)) {}

  /// Computes the key and namespaces from the arguments, then returns the cached result or
  /// awaits the handler with the arguments forwarded; as AsyncCache::async_cached.
  template <class... Args>
  requires std::invocable<const Handler&, Args&&...>
  auto operator()(Args&&... args) const -> boost::asio::awaitable<std::decay_t<
      typename detail::awaitable_value<std::invoke_result_t<const Handler&, Args&&...>>::type>> {
    const std::string key(std::invoke(key_fn_, args...));
    const NamespaceSet namespaces(std::invoke(namespace_fn_, args...));
    // The arguments outlive the compute: this frame holds them until the result is back.
    auto compute = [&]() { return std::invoke(handler_, std::forward<Args>(args)...); };
    co_return co_await cache_.async_cached(key, namespaces, ttl_, compute,
                                           options_ ? *options_ : cache_.call_defaults(),
                                           boost::asio::use_awaitable);
  }

 private:
  mutable AsyncCache cache_;
  KeyFn key_fn_;
  NamespaceFn namespace_fn_;
  std::chrono::milliseconds ttl_;
  Handler handler_;
  std::optional<CallOptions> options_;  // empty: the AsyncCache's defaults at call time
};

/// Wraps `handler` (returning asio::awaitable<R>, or R) so that each call first looks in
/// `cache`; `key_fn` and `namespace_fn` get the call's arguments. A non-positive `ttl`
/// throws gencache::config_error here, at wrap time.
template <class KeyFn, class NamespaceFn, class Rep, class Period, class Handler>
auto async_cached_call(AsyncCache cache, KeyFn key_fn, NamespaceFn namespace_fn,
                       std::chrono::duration<Rep, Period> ttl, Handler handler) {
  return AsyncCachedCall<KeyFn, NamespaceFn, Handler>(std::move(cache), std::move(key_fn),
                                                      std::move(namespace_fn),
                                                      detail::checked_ttl(ttl), std::move(handler));
}

/// async_cached_call with this wrapper's own CallOptions, checked here (config_error).
template <class KeyFn, class NamespaceFn, class Rep, class Period, class Handler>
auto async_cached_call(AsyncCache cache, KeyFn key_fn, NamespaceFn namespace_fn,
                       std::chrono::duration<Rep, Period> ttl, Handler handler,
                       CallOptions options) {
  detail::validate_call_options(options);
  return AsyncCachedCall<KeyFn, NamespaceFn, Handler>(
      std::move(cache), std::move(key_fn), std::move(namespace_fn), detail::checked_ttl(ttl),
      std::move(handler), std::move(options));
}

}  // namespace gencache
