#pragma once
// Internal: RedisOptions checked and resolved to what the connections need.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "gencache/redis_backend.hpp"

namespace gencache::detail {

// Accepted ranges, shared by option and URL checks.
inline constexpr std::uint16_t kRedisDefaultPort = 6379;
inline constexpr std::chrono::milliseconds kRedisLongestTimeout = std::chrono::minutes(10);
inline constexpr std::size_t kRedisLargestPool = 1024;
inline constexpr std::size_t kRedisSmallestItem = std::size_t{1} << 10;
inline constexpr std::size_t kRedisLargestItem = std::size_t{512} << 20;  // proto-max-bulk-len
inline constexpr std::uint32_t kRedisLargestDb = 2'147'483'647;           // SELECT takes an int
inline constexpr std::uint32_t kRedisMostWaitReplicas = 255;

/// Checked options.
struct RedisConfig {
  std::string host;
  std::uint16_t port = kRedisDefaultPort;
  std::uint32_t db = 0;
  /// "redis://host:port" plus "/db" for a database other than 0; IPv6 hosts in
  /// brackets. For messages: never credentials.
  std::string description;
  std::chrono::milliseconds connect_timeout{0};
  std::chrono::milliseconds io_timeout{0};
  std::size_t pool_max = 0;
  std::chrono::milliseconds pool_wait{0};
  std::size_t max_value_size = 0;
  std::string username;
  std::string password;
  /// 0: counter writes are not followed by WAIT.
  std::uint32_t wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{0};
};

/// Throws config_error naming the bad option, its value (never a password) and the
/// accepted range.
RedisConfig make_redis_config(const RedisOptions& options);

/// Whether `host` is a host name (letters, digits, '.', '-', '_'), an IPv4 address or an
/// IPv6 address without brackets.
bool is_valid_redis_host(std::string_view host);

/// "redis://host:port[/db]", with brackets around an IPv6 host.
std::string describe_redis_server(std::string_view host, std::uint16_t port, std::uint32_t db);

}  // namespace gencache::detail
