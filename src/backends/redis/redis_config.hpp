#pragma once
// Internal: RedisOptions checked and resolved to what the connections need.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
inline constexpr std::size_t kRedisMostAsyncConnections = 64;  // per server

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

/// Throws config_error unless the asynchronous client's `connections` is from 1 to
/// kRedisMostAsyncConnections.
void check_redis_async_connections(std::size_t connections);

/// The checked settings every node of a Redis Cluster shares (host and port: the first
/// seed's), each seed checked as a server of its own. Throws config_error for no seeds, a
/// database other than 0, or what make_redis_config refuses.
RedisConfig make_redis_cluster_config(const RedisClusterOptions& options);

/// `base` for the cluster node at `host`:`port`.
RedisConfig redis_cluster_node_config(const RedisConfig& base, std::string_view host,
                                      std::uint16_t port);

/// "redis://h1:p1,h2:p2?cluster=true" for `seeds`, with `scheme` for "redis".
std::string describe_redis_cluster(const std::vector<RedisNodeAddress>& seeds,
                                   std::string_view scheme = "redis");

/// Whether `host` is a host name (letters, digits, '.', '-', '_'), an IPv4 address or an
/// IPv6 address without brackets.
bool is_valid_redis_host(std::string_view host);

/// "redis://host:port[/db]", with brackets around an IPv6 host.
std::string describe_redis_server(std::string_view host, std::uint16_t port, std::uint32_t db);

}  // namespace gencache::detail
