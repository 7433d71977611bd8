#pragma once
// Internal: the backend a cache URL names, for Cache::from_url and AsyncCache::from_url.
// Both read the same table of schemes (src/from_url.cpp), so they accept the same URLs
// and give the same errors.

#include <cstddef>
#include <memory>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "gencache/async_backend.hpp"
#include "gencache/backend.hpp"
#include "gencache/cache.hpp"

namespace gencache::detail {

/// The bridge's thread count when neither the code nor the URL (`async_threads=`) says.
inline constexpr std::size_t kDefaultBridgeThreads = 4;

/// The blocking Backend `url` names. The URL's cache-wide parameters (prefix,
/// counter_ttl, generation_hints) are written into `options`, overriding the code's
/// values; `async_threads` is accepted and ignored (a URL may serve both APIs). Throws
/// gencache::config_error naming the bad part: no or unknown scheme (schemes are
/// case-insensitive), an unknown parameter, a bad value.
std::shared_ptr<Backend> make_backend(std::string_view url, CacheOptions& options);

/// The AsyncBackend `url` names, as make_backend reads it. memory:// completes inline;
/// a scheme without a native asynchronous client runs its blocking backend on a
/// blocking bridge (make_blocking_bridge) of `bridge_threads` threads, or of the URL's
/// `async_threads=` when it has one. `executor` is where a native client does its I/O.
std::shared_ptr<AsyncBackend> make_async_backend(
    std::string_view url, CacheOptions& options, const boost::asio::any_io_executor& executor,
    std::size_t bridge_threads = kDefaultBridgeThreads);

}  // namespace gencache::detail
