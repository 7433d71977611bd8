#include "backends/memcached/meta/meta_url.hpp"

#include <fmt/format.h>

#include "backends/memcached/memcached_url.hpp"
#include "cache_url.hpp"
#include "gencache/error.hpp"

namespace gencache::detail {
namespace {

constexpr std::uint64_t kMostConnections = 64;

void refuse(UrlOptions& params, std::string_view name, std::string_view why) {
  if (params.take_string(name))
    throw config_error(fmt::format("memcached option {}: {}", name, why));
}

}  // namespace

void take_tls_options(UrlOptions& params, TlsOptions& tls) {
  if (auto enabled = params.take_bool("tls")) tls.enabled = *enabled;
  if (auto file = params.take_string("tls_ca_file")) tls.ca_file = *file;
  if (auto file = params.take_string("tls_cert_file")) tls.cert_file = *file;
  if (auto file = params.take_string("tls_key_file")) tls.key_file = *file;
  if (auto verify = params.take_bool("tls_verify")) tls.verify = *verify;
  if (auto name = params.take_string("tls_server_name")) tls.server_name = *name;
}

MemcachedAsyncOptions memcached_async_options_from_url(std::string_view authority,
                                                       UrlOptions& params) {
  MemcachedAsyncOptions options;
  take_tls_options(params, options.tls);
  if (auto connections = params.take_uint("connections", 1, kMostConnections))
    options.connections = static_cast<std::size_t>(*connections);
  refuse(params, "protocol",
         "the asynchronous client always speaks the meta protocol; protocol= is for Cache");
  refuse(params, "pool_max",
         "the asynchronous client pipelines requests over a few connections; set connections= "
         "instead");
  refuse(params, "pool_wait", "the asynchronous client has no pool to wait for");
  const MemcachedOptions common = memcached_options_from_url(authority, params);
  if (!common.username.empty())
    throw config_error(
        "memcached:// URL: the asynchronous client does not do SASL (meta protocol); remove "
        "the user name, or use Cache (binary protocol)");
  options.servers = common.servers;
  options.connect_timeout = common.connect_timeout;
  options.io_timeout = common.io_timeout;
  options.retry_timeout = common.retry_timeout;
  options.ketama = common.ketama;
  options.max_item_bytes = common.max_item_bytes;
  return options;
}

}  // namespace gencache::detail

namespace gencache {

MemcachedAsyncOptions memcached_async_options_from_url(std::string_view url) {
  detail::CacheUrl parts = detail::split_cache_url(url);
  if (parts.scheme != "memcached")
    throw config_error(fmt::format(
        "memcached_async_options_from_url: the scheme is '{}'; expected memcached", parts.scheme));
  if (!parts.path.empty() && parts.path != "/")
    throw config_error("memcached:// URL takes no path");
  detail::UrlOptions params(parts.scheme, std::move(parts.params));
  MemcachedAsyncOptions options = detail::memcached_async_options_from_url(parts.authority, params);
  params.finish();
  return options;
}

}  // namespace gencache
