#include "backends/redis/redis_config.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "gencache/error.hpp"

namespace gencache::detail {
namespace {

using std::chrono::milliseconds;

template <class Value>
void check_range(std::string_view name, Value value, Value min, Value max) {
  if (value < min || value > max)
    throw config_error(fmt::format("redis option {}: {} is out of range; expected {} to {}", name,
                                   value, min, max));
}

bool is_host_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool is_ipv6_address(std::string_view host) {
  in6_addr parsed{};
  return inet_pton(AF_INET6, std::string(host).c_str(), &parsed) == 1;
}

}  // namespace

bool is_valid_redis_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.find(':') != std::string_view::npos) return is_ipv6_address(host);
  return std::all_of(host.begin(), host.end(), is_host_name_char);
}

std::string describe_redis_server(std::string_view host, std::uint16_t port, std::uint32_t db) {
  const bool ipv6 = host.find(':') != std::string_view::npos;
  std::string text =
      ipv6 ? fmt::format("redis://[{}]:{}", host, port) : fmt::format("redis://{}:{}", host, port);
  if (db != 0) text += fmt::format("/{}", db);
  return text;
}

RedisConfig make_redis_config(const RedisOptions& options) {
  RedisConfig config;
  if (!is_valid_redis_host(options.host))
    throw config_error(fmt::format(
        "redis option host: '{}' is not a host name, IPv4 address or IPv6 address (without "
        "brackets)",
        options.host));
  if (options.port == 0)
    throw config_error("redis option port: 0 is out of range; expected 1 to 65535");
  check_range("db", options.db, std::uint32_t{0}, kRedisLargestDb);
  config.host = options.host;
  config.port = options.port;
  config.db = options.db;
  config.description = describe_redis_server(options.host, options.port, options.db);

  check_range("connect_timeout", options.connect_timeout, milliseconds(1), kRedisLongestTimeout);
  check_range("io_timeout", options.io_timeout, milliseconds(1), kRedisLongestTimeout);
  config.connect_timeout = options.connect_timeout;
  config.io_timeout = options.io_timeout;
  check_range("pool_max", options.pool_max, std::size_t{1}, kRedisLargestPool);
  config.pool_max = options.pool_max;
  config.pool_wait = options.pool_wait.value_or(options.io_timeout);
  check_range("pool_wait", config.pool_wait, milliseconds(0), kRedisLongestTimeout);
  check_range("max_item_bytes", options.max_item_bytes, kRedisSmallestItem, kRedisLargestItem);
  config.max_value_size = options.max_item_bytes;

  if (!options.username.empty() && options.password.empty())
    throw config_error(
        "redis option username: a username needs a password (AUTH username password)");
  config.username = options.username;
  config.password = options.password;

  check_range("wait_replicas", options.wait_replicas, std::uint32_t{0}, kRedisMostWaitReplicas);
  check_range("wait_timeout", options.wait_timeout, milliseconds(1), kRedisLongestTimeout);
  // WAIT's reply comes only after up to wait_timeout: a shorter io_timeout would give up
  // on every bump that waits.
  if (options.wait_replicas != 0 && options.wait_timeout >= options.io_timeout)
    throw config_error(fmt::format(
        "redis option wait_timeout: {} must be shorter than io_timeout ({}), which bounds the "
        "wait for WAIT's reply",
        options.wait_timeout, options.io_timeout));
  config.wait_replicas = options.wait_replicas;
  config.wait_timeout = options.wait_timeout;
  return config;
}

void check_redis_async_connections(std::size_t connections) {
  check_range("connections", connections, std::size_t{1}, kRedisMostAsyncConnections);
}

RedisConfig make_redis_cluster_config(const RedisClusterOptions& options) {
  if (options.seeds.empty())
    throw config_error(
        "redis cluster option seeds: expected at least one node to ask for the "
        "slot map");
  if (options.connection.db != 0)
    throw config_error(fmt::format(
        "redis cluster option db: {} is not available: a Redis Cluster has only database 0",
        options.connection.db));
  // Each seed is checked as a server of its own would be.
  for (const RedisNodeAddress& seed : options.seeds) {
    RedisOptions node = options.connection;
    node.host = seed.host;
    node.port = seed.port;
    make_redis_config(node);
  }
  RedisOptions base = options.connection;
  base.host = options.seeds.front().host;
  base.port = options.seeds.front().port;
  return make_redis_config(base);
}

RedisConfig redis_cluster_node_config(const RedisConfig& base, std::string_view host,
                                      std::uint16_t port) {
  RedisConfig config = base;
  config.host = std::string(host);
  config.port = port;
  config.description = describe_redis_server(host, port, 0);
  return config;
}

std::string describe_redis_cluster(const std::vector<RedisNodeAddress>& seeds,
                                   std::string_view scheme) {
  std::string text = fmt::format("{}://", scheme);
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    if (i != 0) text += ',';
    // describe_redis_server gives "redis://host:port"; keep what follows the scheme.
    text += describe_redis_server(seeds[i].host, seeds[i].port, 0).substr(8);
  }
  return text + "?cluster=true";
}

}  // namespace gencache::detail
