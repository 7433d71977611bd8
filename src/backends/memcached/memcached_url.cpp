#include "backends/memcached/memcached_url.hpp"

#include <fmt/format.h>

#include "backends/memcached/memcached_config.hpp"
#include "backends/memcached/server_address.hpp"
#include "gencache/error.hpp"

namespace gencache::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

void read_userinfo(std::string_view userinfo, MemcachedOptions& options) {
  Credentials credentials = detail::read_userinfo("memcached", userinfo);
  if (credentials.username.empty())
    throw config_error("memcached:// URL: the user name before '@' is empty");
  options.username = std::move(credentials.username);
  options.password = std::move(credentials.password);
}

// libmemcached cannot speak TLS, and a URL asking for it must never connect in plaintext.
void refuse_tls(UrlOptions& params) {
  constexpr std::string_view kHowToGetTls =
      "Cache (libmemcached) cannot use TLS; AsyncCache::from_url with the same URL connects "
      "over TLS through the asynchronous meta-protocol client";
  if (params.take_bool("tls").value_or(false))
    throw config_error(fmt::format("memcached option tls: {}", kHowToGetTls));
  for (std::string_view name :
       {"tls_ca_file", "tls_cert_file", "tls_key_file", "tls_verify", "tls_server_name"})
    if (params.take_string(name))
      throw config_error(fmt::format("memcached option {}: {}", name, kHowToGetTls));
}

}  // namespace

MemcachedOptions memcached_options_from_url(std::string_view authority, UrlOptions& params) {
  MemcachedOptions options;
  std::string_view hosts = authority;
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    read_userinfo(authority.substr(0, at), options);
    hosts = authority.substr(at + 1);
  }
  if (hosts.empty())
    throw config_error(
        "memcached:// URL has no server: expected memcached://host:port[,host:port...], such "
        "as memcached://127.0.0.1:11211");
  while (true) {
    const auto comma = hosts.find(',');
    options.servers.push_back(parse_server_address(hosts.substr(0, comma)).to_string());
    if (comma == std::string_view::npos) break;
    hosts.remove_prefix(comma + 1);
  }
  refuse_tls(params);

  if (auto protocol = params.take_choice("protocol", {"ascii", "binary"}))
    options.protocol = *protocol == "binary" ? MemcachedOptions::Protocol::binary
                                             : MemcachedOptions::Protocol::ascii;
  // Durations are rounded up to Memcached's resolution (milliseconds; whole seconds for
  // the retry timeout).
  if (auto timeout =
          params.take_duration_in("connect_timeout", milliseconds(1), kMemcachedLongestTimeout))
    options.connect_timeout = *timeout;
  if (auto timeout =
          params.take_duration_in("io_timeout", milliseconds(1), kMemcachedLongestTimeout))
    options.io_timeout = *timeout;
  if (auto pool_max = params.take_uint("pool_max", 1, kMemcachedLargestPool))
    options.pool_max = static_cast<std::size_t>(*pool_max);
  if (auto wait = params.take_duration_in("pool_wait", milliseconds(0), kMemcachedLongestTimeout))
    options.pool_wait = *wait;
  if (auto retry =
          params.take_duration_in("retry_timeout", seconds(0), kMemcachedLongestRetryTimeout))
    options.retry_timeout = *retry;
  if (auto ketama = params.take_bool("ketama")) options.ketama = *ketama;
  if (auto bytes =
          params.take_size_in("max_item_bytes", kMemcachedSmallestItem, kMemcachedLargestItem))
    options.max_item_bytes = *bytes;
  return options;
}

}  // namespace gencache::detail
