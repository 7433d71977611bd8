#pragma once
// Internal: one Memcached server address, as written in options and URLs.

#include <cstdint>
#include <string>
#include <string_view>

namespace gencache::detail {

inline constexpr std::uint16_t kMemcachedDefaultPort = 11211;

/// A validated server address.
struct ServerAddress {
  std::string host;  ///< a name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = kMemcachedDefaultPort;
  bool ipv6 = false;

  /// "host:port", with brackets around an IPv6 host: the form describe() prints.
  std::string to_string() const;
};

/// Parses "host", "host:port", "[v6]" or "[v6]:port". Host names may hold letters, digits,
/// '.', '-' and '_'; ports run from 1 to 65535. Throws config_error naming `text`.
ServerAddress parse_server_address(std::string_view text);

}  // namespace gencache::detail
