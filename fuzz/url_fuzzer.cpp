// Cache URLs are configuration, often from the environment. On arbitrary text:
//   1. only gencache::config_error escapes (no crash, no other exception, no UB);
//   2. a memory:// cache that was built stores and reads back a value;
//   3. credentials never reach a message: rotating the letters and digits of the user name
//      and password leaves the outcome (and every error message) unchanged.
// Nothing here opens a connection: memcached:// and redis:// URLs go only through the
// detail parsers and the configuration checks, never make_*_backend.
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "backends/memcached/memcached_config.hpp"
#include "backends/memcached/memcached_url.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "url_options.hpp"

#if __has_include("backends/redis/redis_url.hpp")
#define GENCACHE_FUZZ_REDIS 1
#include "backends/redis/redis_config.hpp"
#include "backends/redis/redis_url.hpp"
#endif

namespace {

using namespace std::chrono_literals;

// Schemes whose backend talks to the network: parsed here, never built.
bool is_network_scheme(std::string_view scheme) {
  return scheme == "memcached" || scheme == "redis" || scheme == "rediss";
}

// The network-scheme half of Cache::from_url up to (not including) building the backend,
// with the URL split the same way: scheme://authority[/path][?query], no #fragment.
void parse_network_url(std::string_view scheme, std::string_view url) {
  std::string_view rest = url.substr(scheme.size() + 3);
  if (rest.find('#') != std::string_view::npos) throw gencache::config_error("fragment");
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  std::vector<std::pair<std::string, std::string>> params;
  if (!query.empty()) {
    // A NUL-terminated copy: Boost 1.81's parse_query runs strlen over its argument.
    const std::string terminated(query);
    if (!boost::urls::parse_query(terminated)) throw gencache::config_error("malformed query");
    for (auto param : boost::urls::params_view(terminated)) {
      if (param.key.empty()) throw gencache::config_error("empty parameter name");
      params.emplace_back(param.key, param.has_value ? param.value : std::string());
    }
  }
  gencache::detail::UrlOptions options(std::string(scheme), std::move(params));
  options.take_string("prefix");
  options.take_duration("counter_ttl");
  options.take_uint("generation_hints", 0, std::uint64_t{1} << 32);
  if (scheme == "memcached") {
    if (!path.empty() && path != "/") throw gencache::config_error("path");
    const gencache::MemcachedOptions memcached =
        gencache::detail::memcached_options_from_url(authority, options);
    options.finish();
    gencache::detail::make_memcached_config(memcached);  // checks; connects nowhere
  } else {
#ifdef GENCACHE_FUZZ_REDIS
    const gencache::RedisOptions redis =
        gencache::detail::redis_options_from_url(authority, path, options);
    options.finish();
    gencache::detail::make_redis_config(redis);  // checks; connects nowhere
#endif
  }
}

void use_memory_cache(gencache::Cache& cache) {
  const gencache::NamespaceSet deps{gencache::ns("fuzz", 1)};
  cache.set("key", deps, std::string("value"), 1min);
  const std::optional<std::string> read = cache.get("key", deps);
  // A tiny max_item_bytes refuses the value (oversized) or even the generation counters
  // (errors: the cache then never caches); either way it is counted, never wrong.
  const gencache::Stats stats = cache.stats();
  if (read ? *read != "value" : stats.oversized + stats.errors == 0) __builtin_trap();
  if (stats.errors != 0) return;
  cache.bump_namespace(gencache::ns("fuzz", 1));
  if (cache.get("key", deps)) __builtin_trap();
}

// "ok" or the config_error message; anything else escapes to libFuzzer as a crash.
std::string outcome(std::string_view url) {
  try {
    const auto scheme_end = url.find("://");
    // Schemes are case-insensitive (RFC 3986), as from_url reads them.
    std::string scheme(scheme_end == std::string_view::npos ? std::string_view()
                                                            : url.substr(0, scheme_end));
    for (char& c : scheme)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (is_network_scheme(scheme)) {
      parse_network_url(scheme, url);
    } else {
      gencache::Cache cache = gencache::Cache::from_url(url);
      // Any other scheme that builds could be a new network backend: teach this fuzzer.
      if (scheme != "memory") __builtin_trap();
      use_memory_cache(cache);
    }
    return "ok";
  } catch (const gencache::config_error& e) {
    return e.what();
  }
}

char rotated(char c) {
  if (c >= 'a' && c <= 'z') return c == 'z' ? 'a' : static_cast<char>(c + 1);
  if (c >= 'A' && c <= 'Z') return c == 'Z' ? 'A' : static_cast<char>(c + 1);
  if (c >= '0' && c <= '9') return c == '9' ? '0' : static_cast<char>(c + 1);
  return c;
}

// `url` with the letters and digits of its user information rotated, when that part is
// only letters, digits and one ':' (so the rotation cannot change how the URL parses).
std::optional<std::string> with_other_credentials(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::size_t begin = scheme_end + 3;
  const std::size_t end = std::min(url.find_first_of("/?#", begin), url.size());
  const auto at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at <= begin) return std::nullopt;
  std::string out(url);
  int colons = 0;
  for (std::size_t i = begin; i < at; ++i) {
    if (out[i] == ':' && ++colons == 1) continue;
    if (std::isalnum(static_cast<unsigned char>(out[i])) == 0) return std::nullopt;
    out[i] = rotated(out[i]);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  const std::string result = outcome(url);
  if (const auto other = with_other_credentials(url)) {
    if (outcome(*other) != result) __builtin_trap();
  }
  return 0;
}
