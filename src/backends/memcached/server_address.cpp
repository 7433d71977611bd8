#include "backends/memcached/server_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "gencache/error.hpp"

namespace gencache::detail {
namespace {

[[noreturn]] void fail(std::string_view text, std::string_view why) {
  throw config_error(
      fmt::format("memcached server '{}': {}; expected host, host:port or [IPv6]:port", text, why));
}

bool is_host_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

std::uint16_t parse_port(std::string_view text, std::string_view digits) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value < 1 ||
      value > 65535)
    fail(text, fmt::format("port '{}' is not a number from 1 to 65535", digits));
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string ServerAddress::to_string() const {
  return ipv6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

ServerAddress parse_server_address(std::string_view text) {
  ServerAddress address;
  std::string_view host;
  std::string_view after_host;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) fail(text, "'[' without ']'");
    host = text.substr(1, close - 1);
    after_host = text.substr(close + 1);
    in6_addr parsed{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &parsed) != 1)
      fail(text, fmt::format("'{}' is not an IPv6 address", host));
    address.ipv6 = true;
  } else {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    after_host = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
    if (host.empty()) fail(text, "the host is empty");
    if (host.size() > 253 || !std::all_of(host.begin(), host.end(), is_host_name_char))
      fail(text, fmt::format("'{}' is not a host name or IPv4 address", host));
  }
  if (!after_host.empty()) {
    if (after_host.front() != ':') fail(text, "unexpected text after the host");
    address.port = parse_port(text, after_host.substr(1));
  }
  address.host = std::string(host);
  return address;
}

}  // namespace gencache::detail
