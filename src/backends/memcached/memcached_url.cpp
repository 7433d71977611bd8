#include "backends/memcached/memcached_url.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "backends/memcached/memcached_config.hpp"
#include "backends/memcached/server_address.hpp"
#include "gencache/error.hpp"

namespace gencache::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

template <class Value>
[[noreturn]] void out_of_range(std::string_view name, Value value, Value min, Value max) {
  throw config_error(
      fmt::format("memcached:// URL: bad value {} for parameter '{}': expected {} to {}", value,
                  name, min, max));
}

// A duration parameter rounded up to whole `Unit`s (Memcached's resolution), in range.
template <class Unit>
std::optional<Unit> take_duration(UrlOptions& params, std::string_view name, Unit min, Unit max) {
  const auto value = params.take_duration(name);
  if (!value) return std::nullopt;
  const Unit rounded = std::chrono::ceil<Unit>(*value);
  if (rounded < min || rounded > max) out_of_range(name, rounded, min, max);
  return rounded;
}

void read_userinfo(std::string_view userinfo, MemcachedOptions& options) {
  const auto colon = userinfo.find(':');
  options.username = decode_userinfo("memcached", userinfo.substr(0, colon), "user name");
  if (colon != std::string_view::npos)
    options.password = decode_userinfo("memcached", userinfo.substr(colon + 1), "password");
  if (options.username.empty())
    throw config_error("memcached:// URL: the user name before '@' is empty");
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

  if (auto protocol = params.take_choice("protocol", {"ascii", "binary"}))
    options.protocol = *protocol == "binary" ? MemcachedOptions::Protocol::binary
                                             : MemcachedOptions::Protocol::ascii;
  if (auto timeout =
          take_duration(params, "connect_timeout", milliseconds(1), kMemcachedLongestTimeout))
    options.connect_timeout = *timeout;
  if (auto timeout = take_duration(params, "io_timeout", milliseconds(1), kMemcachedLongestTimeout))
    options.io_timeout = *timeout;
  if (auto pool_max = params.take_uint("pool_max", 1, kMemcachedLargestPool))
    options.pool_max = static_cast<std::size_t>(*pool_max);
  if (auto wait = take_duration(params, "pool_wait", milliseconds(0), kMemcachedLongestTimeout))
    options.pool_wait = *wait;
  if (auto retry =
          take_duration(params, "retry_timeout", seconds(0), kMemcachedLongestRetryTimeout))
    options.retry_timeout = *retry;
  if (auto ketama = params.take_bool("ketama")) options.ketama = *ketama;
  if (auto bytes = params.take_size("max_item_bytes")) {
    if (*bytes < kMemcachedSmallestItem || *bytes > kMemcachedLargestItem)
      out_of_range("max_item_bytes", *bytes, kMemcachedSmallestItem, kMemcachedLargestItem);
    options.max_item_bytes = *bytes;
  }
  return options;
}

}  // namespace gencache::detail
