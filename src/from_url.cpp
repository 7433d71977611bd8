// Cache::from_url: the one place a URL's scheme selects a backend.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "backends/memcached/memcached_url.hpp"
#include "backends/memory/memory_url.hpp"
#include "backends/redis/redis_url.hpp"
#include "cache_url.hpp"
#include "gencache/cache.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "url_options.hpp"

namespace gencache {
namespace {

constexpr std::string_view kSchemes = "memory, memcached, redis, rediss";

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

}  // namespace

namespace detail {

CacheUrl split_cache_url(std::string_view url) {
  CacheUrl out;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0)
    throw config_error(
        fmt::format("cache URL '{}' has no scheme: expected scheme://..., with scheme one of {}",
                    redacted(url), kSchemes));
  out.scheme = std::string(url.substr(0, scheme_end));
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
    if (!parsed)
      throw config_error(fmt::format("cache URL '{}' has a malformed query: {}", redacted(url),
                                     parsed.error().message()));
    for (auto param : boost::urls::params_view(query_text)) {
      if (param.key.empty())
        throw config_error(
            fmt::format("cache URL '{}' has an empty parameter name", redacted(url)));
      out.params.emplace_back(param.key, param.has_value ? param.value : std::string());
    }
  }
  return out;
}

}  // namespace detail

Cache Cache::from_url(std::string_view url, CacheOptions options) {
  detail::CacheUrl parts = detail::split_cache_url(url);
  if (parts.scheme != "memory" && parts.scheme != "memcached" && parts.scheme != "redis" &&
      parts.scheme != "rediss")
    throw config_error(
        fmt::format("cache URL '{}' has unknown scheme '{}': accepted schemes are {}",
                    redacted(url), parts.scheme, kSchemes));
  detail::UrlOptions params(parts.scheme, std::move(parts.params));

  // Parameters every scheme accepts. The URL is the deployment's configuration, so a
  // parameter it names overrides the same field of `options` (the code's defaults).
  if (auto prefix = params.take_string("prefix")) options.prefix = std::move(*prefix);
  if (auto ttl = params.take_duration("counter_ttl"))
    options.counter_ttl = std::chrono::ceil<std::chrono::milliseconds>(*ttl);
  if (auto hints = params.take_uint("generation_hints", 0, std::uint64_t{1} << 32))
    options.generation_hints = static_cast<std::size_t>(*hints);

  std::shared_ptr<Backend> backend;
  if (parts.scheme == "memory") {
    if (!parts.authority.empty() || (!parts.path.empty() && parts.path != "/"))
      throw config_error(
          fmt::format("memory:// URL '{}' takes no host or path: use memory://?max_bytes=64MiB",
                      redacted(url)));
    MemoryOptions memory = detail::memory_options_from_url(params);
    params.finish();
    memory.clock = options.clock;
    backend = std::make_shared<MemoryBackend>(std::move(memory));
  } else if (parts.scheme == "memcached") {
    if (!parts.path.empty() && parts.path != "/")
      throw config_error(fmt::format("memcached:// URL '{}' takes no path", redacted(url)));
    MemcachedOptions memcached = detail::memcached_options_from_url(parts.authority, params);
    params.finish();
    backend = make_memcached_backend(std::move(memcached));
  } else {
    backend = detail::redis_backend_from_url(parts.scheme, parts.authority, parts.path, params);
  }
  return Cache(std::move(backend), std::move(options));
}

}  // namespace gencache
