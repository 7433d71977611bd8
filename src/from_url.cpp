// Cache::from_url and AsyncCache::from_url: one table of schemes selects the backend, and
// gives the accepted list and the error message.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "backend_from_url.hpp"
#include "backends/memcached/memcached_url.hpp"
#include "backends/memcached/meta/meta_url.hpp"
#include "backends/memory/memory_url.hpp"
#include "backends/redis/redis_url.hpp"
#include "cache_url.hpp"
#include "gencache/blocking_bridge.hpp"
#include "gencache/cache.hpp"
#include "gencache/memcached_async_backend.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/redis_async_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "url_options.hpp"

namespace gencache {
namespace {

// The URL as it may appear in a message: any user:password@ is replaced.
std::string redacted(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto authority_begin = scheme_end + 3;
  const auto authority_end = url.find_first_of("/?#", authority_begin);
  const auto at =
      url.rfind('@', authority_end == std::string_view::npos ? url.size() : authority_end);
  if (at == std::string_view::npos || at < authority_begin) return std::string(url);
  return fmt::format("{}***@{}", url.substr(0, authority_begin), url.substr(at + 1));
}

// What a scheme's factories read: the URL split, its parameters not yet taken, and the
// options the cache-wide parameters have already been written into.
struct UrlParts {
  std::string_view url;
  const detail::CacheUrl& split;
  detail::UrlOptions& params;
  const CacheOptions& options;
};

struct AsyncSetting {
  const boost::asio::any_io_executor& executor;
  BlockingBridgeOptions bridge;
};

using BlockingFactory = std::shared_ptr<Backend> (*)(const UrlParts&);
using AsyncFactory = std::shared_ptr<AsyncBackend> (*)(const UrlParts&, const AsyncSetting&);

std::shared_ptr<MemoryBackend> memory_from_url(const UrlParts& url) {
  if (!url.split.authority.empty() || (!url.split.path.empty() && url.split.path != "/"))
    throw config_error(
        fmt::format("memory:// URL '{}' takes no host or path: use memory://?max_bytes=64MiB",
                    redacted(url.url)));
  MemoryOptions memory = detail::memory_options_from_url(url.params);
  url.params.finish();
  memory.clock = url.options.clock;
  return std::make_shared<MemoryBackend>(std::move(memory));
}

std::shared_ptr<Backend> memcached_from_url(const UrlParts& url) {
  if (!url.split.path.empty() && url.split.path != "/")
    throw config_error(fmt::format("memcached:// URL '{}' takes no path", redacted(url.url)));
  MemcachedOptions memcached = detail::memcached_options_from_url(url.split.authority, url.params);
  url.params.finish();
  return make_memcached_backend(std::move(memcached));
}

// AsyncCache's memcached:// is the native meta-protocol client (TLS included), not
// libmemcached on the bridge.
std::shared_ptr<AsyncBackend> memcached_async_from_url(const UrlParts& url,
                                                       const AsyncSetting& setting) {
  if (!url.split.path.empty() && url.split.path != "/")
    throw config_error(fmt::format("memcached:// URL '{}' takes no path", redacted(url.url)));
  MemcachedAsyncOptions memcached =
      detail::memcached_async_options_from_url(url.split.authority, url.params);
  url.params.finish();
  return make_memcached_async_backend(setting.executor, std::move(memcached));
}

// redis:// (one server, or a Redis Cluster with cluster=true) and rediss://.
std::shared_ptr<Backend> redis_from_url(const UrlParts& url) {
  return detail::redis_backend_from_url(url.split.scheme, url.split.authority, url.split.path,
                                        url.params);
}

// AsyncCache on Redis: the native asynchronous client, on one server or a Redis Cluster,
// TLS for rediss://.
std::shared_ptr<AsyncBackend> redis_async_from_url(const UrlParts& url,
                                                   const AsyncSetting& setting) {
  return detail::redis_async_backend_from_url(setting.executor, url.split.scheme,
                                              url.split.authority, url.split.path, url.params);
}

// A scheme whose async row is its blocking backend on the bridge.
template <BlockingFactory blocking>
std::shared_ptr<AsyncBackend> bridged(const UrlParts& url, const AsyncSetting& setting) {
  return make_blocking_bridge(blocking(url), setting.bridge);
}

struct Scheme {
  std::string_view name;  // lower case: URLs are compared after lowering theirs
  BlockingFactory blocking;
  AsyncFactory async;
};

// The one list of schemes. A native asynchronous client replaces a `bridged` entry.
constexpr Scheme kSchemes[] = {
    {"memory", [](const UrlParts& url) -> std::shared_ptr<Backend> { return memory_from_url(url); },
     [](const UrlParts& url, const AsyncSetting&) -> std::shared_ptr<AsyncBackend> {
       return memory_from_url(url);
     }},
    {"memcached", memcached_from_url, memcached_async_from_url},
    {"redis", redis_from_url, redis_async_from_url},
    {"rediss", redis_from_url, redis_async_from_url},
};

std::string accepted_schemes() {
  std::vector<std::string_view> names;
  for (const Scheme& scheme : kSchemes) names.push_back(scheme.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

// RFC 3986 3.1: schemes are case-insensitive, and "memory" is their canonical form.
std::string lowered(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Splits `url`, finds its scheme's row, reads the parameters every scheme accepts into
// `options` and hands the rest to `build(row, parts)`.
template <class Build>
auto from_url(std::string_view url, CacheOptions& options, std::size_t& bridge_threads,
              Build build) {
  detail::CacheUrl split = detail::split_cache_url(url);
  const auto row = std::ranges::find(kSchemes, split.scheme, &Scheme::name);
  if (row == std::end(kSchemes))
    throw config_error(
        fmt::format("cache URL '{}' has unknown scheme '{}': accepted schemes are {}",
                    redacted(url), split.scheme, accepted_schemes()));
  detail::UrlOptions params(split.scheme, std::move(split.params));

  // The URL is the deployment's configuration, so a parameter it names overrides the
  // same field of `options` (the code's defaults).
  if (auto prefix = params.take_string("prefix")) options.prefix = std::move(*prefix);
  if (auto ttl = params.take_duration("counter_ttl"))
    options.counter_ttl = std::chrono::ceil<std::chrono::milliseconds>(*ttl);
  if (auto hints = params.take_uint("generation_hints", 0, std::uint64_t{1} << 32))
    options.generation_hints = static_cast<std::size_t>(*hints);
  if (auto threads = params.take_uint("async_threads", 1, 256))
    bridge_threads = static_cast<std::size_t>(*threads);

  return build(*row, UrlParts{url, split, params, options});
}

}  // namespace

namespace detail {

CacheUrl split_cache_url(std::string_view url) {
  CacheUrl out;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0)
    throw config_error(
        fmt::format("cache URL '{}' has no scheme: expected scheme://..., with scheme one of {}",
                    redacted(url), accepted_schemes()));
  out.scheme = lowered(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find('#') != std::string_view::npos)
    throw config_error(fmt::format("cache URL '{}' must not have a #fragment", redacted(url)));
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const auto slash = rest.find('/');
  out.authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) out.path = rest.substr(slash);
  if (!query.empty()) {
    // Boost.URL 1.81 reads its argument up to a NUL: give it a NUL-terminated copy.
    const std::string query_text(query);
    auto parsed = boost::urls::parse_query(query_text);
    if (!parsed) {
      const std::string flaw = query_flaw(query);
      throw config_error(fmt::format("cache URL '{}' has a malformed query: {}", redacted(url),
                                     flaw.empty() ? parsed.error().message() : flaw));
    }
    for (auto param : boost::urls::params_view(query_text)) {
      if (param.key.empty())
        throw config_error(
            fmt::format("cache URL '{}' has an empty parameter name", redacted(url)));
      out.params.emplace_back(param.key, param.has_value ? param.value : std::string());
    }
  }
  return out;
}

std::shared_ptr<Backend> make_backend(std::string_view url, CacheOptions& options) {
  std::size_t unused_bridge_threads = kDefaultBridgeThreads;
  return from_url(
      url, options, unused_bridge_threads,
      [](const Scheme& scheme, const UrlParts& parts) { return scheme.blocking(parts); });
}

std::shared_ptr<AsyncBackend> make_async_backend(std::string_view url, CacheOptions& options,
                                                 const boost::asio::any_io_executor& executor,
                                                 std::size_t bridge_threads) {
  return from_url(url, options, bridge_threads, [&](const Scheme& scheme, const UrlParts& parts) {
    return scheme.async(parts, AsyncSetting{executor, {.threads = bridge_threads}});
  });
}

}  // namespace detail

Cache Cache::from_url(std::string_view url, CacheOptions options) {
  std::shared_ptr<Backend> backend = detail::make_backend(url, options);
  return Cache(std::move(backend), std::move(options));
}

}  // namespace gencache
