#include "backends/redis/redis_url.hpp"

#include <charconv>

#include <fmt/format.h>

#include "async_backend_thread.hpp"
#include "backends/redis/redis_config.hpp"
#include "gencache/error.hpp"

namespace gencache::detail {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kExpected =
    "expected redis://[user:password@]host[:port][/db], such as redis://127.0.0.1:6379/0";

// A whole decimal number from 0 to `max`, or nullopt.
std::optional<std::uint32_t> parse_number(std::string_view digits, std::uint32_t max) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value > max)
    return std::nullopt;
  return value;
}

void read_userinfo(std::string_view userinfo, RedisOptions& options) {
  Credentials credentials = detail::read_userinfo("redis", userinfo);
  if (credentials.password.empty())
    throw config_error(
        "redis:// URL: the user information before '@' has no password: expected "
        "user:password@ or :password@");
  options.username = std::move(credentials.username);
  options.password = std::move(credentials.password);
}

void read_host_and_port(std::string_view text, RedisOptions& options) {
  std::string_view host;
  std::string_view after_host;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      throw config_error(fmt::format("redis:// URL: server '{}' has '[' without ']'", text));
    host = text.substr(1, close - 1);
    after_host = text.substr(close + 1);
    if (host.find(':') == std::string_view::npos || !is_valid_redis_host(host))
      throw config_error(
          fmt::format("redis:// URL: '{}' in server '{}' is not an IPv6 address", host, text));
  } else {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    after_host = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
    if (host.empty()) throw config_error(fmt::format("redis:// URL has no host: {}", kExpected));
    if (!is_valid_redis_host(host))
      throw config_error(fmt::format(
          "redis:// URL: '{}' in server '{}' is not a host name or IPv4 address", host, text));
  }
  if (!after_host.empty()) {
    if (after_host.front() != ':')
      throw config_error(
          fmt::format("redis:// URL: unexpected text after the host in server '{}'", text));
    const auto port = parse_number(after_host.substr(1), 65535);
    if (!port || *port == 0)
      throw config_error(
          fmt::format("redis:// URL: port '{}' in server '{}' is not a number from 1 to 65535",
                      after_host.substr(1), text));
    options.port = static_cast<std::uint16_t>(*port);
  }
  options.host = std::string(host);
}

}  // namespace

RedisOptions redis_options_from_url(std::string_view authority, std::string_view path,
                                    UrlOptions& params) {
  RedisOptions options;
  std::string_view server = authority;
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    read_userinfo(authority.substr(0, at), options);
    server = authority.substr(at + 1);
  }
  if (server.empty()) throw config_error(fmt::format("redis:// URL has no server: {}", kExpected));
  read_host_and_port(server, options);

  if (path.starts_with('/')) path.remove_prefix(1);
  if (!path.empty()) {
    const auto db = parse_number(path, kRedisLargestDb);
    if (!db)
      throw config_error(fmt::format(
          "redis:// URL: bad database '{}' in the path: expected a number from 0 to {}, as in "
          "redis://host:6379/0",
          path, kRedisLargestDb));
    options.db = *db;
  }

  if (auto timeout =
          params.take_duration_in("connect_timeout", milliseconds(1), kRedisLongestTimeout))
    options.connect_timeout = *timeout;
  if (auto timeout = params.take_duration_in("io_timeout", milliseconds(1), kRedisLongestTimeout))
    options.io_timeout = *timeout;
  if (auto pool_max = params.take_uint("pool_max", 1, kRedisLargestPool))
    options.pool_max = static_cast<std::size_t>(*pool_max);
  if (auto wait = params.take_duration_in("pool_wait", milliseconds(0), kRedisLongestTimeout))
    options.pool_wait = *wait;
  if (auto bytes = params.take_size_in("max_item_bytes", kRedisSmallestItem, kRedisLargestItem))
    options.max_item_bytes = *bytes;
  if (auto replicas = params.take_uint("wait_replicas", 0, kRedisMostWaitReplicas))
    options.wait_replicas = static_cast<std::uint32_t>(*replicas);
  if (auto wait = params.take_duration_in("wait_timeout", milliseconds(1), kRedisLongestTimeout))
    options.wait_timeout = *wait;
  return options;
}

namespace {

// rediss:// turns TLS on, with the tls_* parameters; redis:// leaves them to be refused.
TlsOptions tls_options_from_url(std::string_view scheme, UrlOptions& params) {
  TlsOptions tls;
  if (scheme != "rediss") return tls;
  tls.enabled = true;
  if (auto file = params.take_string("tls_ca_file")) tls.ca_file = *file;
  if (auto file = params.take_string("tls_cert_file")) tls.cert_file = *file;
  if (auto file = params.take_string("tls_key_file")) tls.key_file = *file;
  if (auto verify = params.take_bool("tls_verify")) tls.verify = *verify;
  if (auto name = params.take_string("tls_server_name")) tls.server_name = *name;
  return tls;
}

std::size_t connections_from_url(UrlOptions& params) {
  return static_cast<std::size_t>(
      params.take_uint("connections", 1, kRedisMostAsyncConnections).value_or(1));
}

// The servers of `authority`, after any user information.
std::string_view servers_of(std::string_view authority) {
  const auto at = authority.rfind('@');
  return at == std::string_view::npos ? authority : authority.substr(at + 1);
}

void refuse_several_servers(std::string_view scheme, std::string_view authority) {
  const std::string_view servers = servers_of(authority);
  if (servers.find(',') != std::string_view::npos)
    throw config_error(fmt::format(
        "{}:// URL lists several servers ({}): that is a Redis Cluster, add cluster=true "
        "(one server otherwise)",
        scheme, servers));
}

}  // namespace

RedisAsyncOptions redis_async_options_from_url(std::string_view scheme, std::string_view authority,
                                               std::string_view path, UrlOptions& params) {
  RedisAsyncOptions options;
  options.server = redis_options_from_url(authority, path, params);
  options.connections = connections_from_url(params);
  options.tls = tls_options_from_url(scheme, params);
  return options;
}

RedisClusterOptions redis_cluster_options_from_url(std::string_view authority,
                                                   std::string_view path, UrlOptions& params) {
  if (!path.empty() && path != "/")
    throw config_error(fmt::format(
        "redis:// URL with cluster=true: '{}' names a database, but a Redis Cluster has only "
        "database 0",
        path));
  const auto at = authority.rfind('@');
  const std::string_view userinfo =
      at == std::string_view::npos ? std::string_view() : authority.substr(0, at + 1);
  const std::string_view servers = servers_of(authority);
  const auto comma = servers.find(',');
  RedisClusterOptions options;
  const std::string first = std::string(userinfo) + std::string(servers.substr(0, comma));
  options.connection = redis_options_from_url(first, path, params);
  options.seeds.push_back({options.connection.host, options.connection.port});
  // The other seeds: servers after the first, each host[:port].
  std::string_view rest = servers.substr(comma == std::string_view::npos ? servers.size() : comma);
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the ','
    const std::string_view server = rest.substr(0, rest.find(','));
    if (server.empty())
      throw config_error(fmt::format("redis:// URL: empty server in the list '{}'", servers));
    RedisOptions seed;
    read_host_and_port(server, seed);
    options.seeds.push_back({seed.host, seed.port});
    rest.remove_prefix(server.size());
  }
  return options;
}

RedisAsyncClusterOptions redis_async_cluster_options_from_url(std::string_view scheme,
                                                              std::string_view authority,
                                                              std::string_view path,
                                                              UrlOptions& params) {
  RedisAsyncClusterOptions options;
  options.cluster = redis_cluster_options_from_url(authority, path, params);
  options.connections = connections_from_url(params);
  options.tls = tls_options_from_url(scheme, params);
  return options;
}

namespace {

// The asynchronous client a redis:// or rediss:// URL names (`cluster` already taken):
// its options read and checked now, the client made when the result is called with the
// executor its I/O and completions run on.
using AsyncClientMaker = AsyncBackendThread::Factory;

AsyncClientMaker async_client_from_url(std::string_view scheme, std::string_view authority,
                                       std::string_view path, UrlOptions& params, bool cluster) {
  if (cluster) {
    RedisAsyncClusterOptions options =
        redis_async_cluster_options_from_url(scheme, authority, path, params);
    params.finish();
    return [options = std::move(options)](boost::asio::any_io_executor executor) {
      return make_redis_async_cluster_backend(std::move(executor), options);
    };
  }
  refuse_several_servers(scheme, authority);
  RedisAsyncOptions options = redis_async_options_from_url(scheme, authority, path, params);
  params.finish();
  return [options = std::move(options)](boost::asio::any_io_executor executor) {
    return make_redis_async_backend(std::move(executor), options);
  };
}

}  // namespace

std::shared_ptr<Backend> redis_backend_from_url(std::string_view scheme, std::string_view authority,
                                                std::string_view path, UrlOptions& params) {
  const bool cluster = params.take_bool("cluster").value_or(false);
  // hiredis 0.14 has no TLS: the asynchronous client serves rediss://, on an I/O thread.
  if (scheme == "rediss")
    return std::make_shared<AsyncBackendThread>(
        async_client_from_url(scheme, authority, path, params, cluster));
  if (!cluster) refuse_several_servers(scheme, authority);
  // AsyncCache::from_url takes `connections` for the same URL, so both from_urls name
  // the same parameters; here it has no meaning and is refused rather than ignored.
  const auto refuse_connections = [&] {
    if (params.take_uint("connections", 1, kRedisMostAsyncConnections))
      throw config_error(
          "redis:// URL: connections sets the asynchronous client's pipelined connections "
          "(AsyncCache::from_url); Cache::from_url's redis:// client has a pool: use pool_max");
  };
  if (!cluster) {
    RedisOptions options = redis_options_from_url(authority, path, params);
    refuse_connections();
    params.finish();
    return make_redis_backend(std::move(options));
  }
  RedisClusterOptions options = redis_cluster_options_from_url(authority, path, params);
  refuse_connections();
  params.finish();
  return make_redis_cluster_backend(std::move(options));
}

std::shared_ptr<AsyncBackend> redis_async_backend_from_url(
    const boost::asio::any_io_executor& executor, std::string_view scheme,
    std::string_view authority, std::string_view path, UrlOptions& params) {
  const bool cluster = params.take_bool("cluster").value_or(false);
  return async_client_from_url(scheme, authority, path, params, cluster)(executor);
}

}  // namespace gencache::detail
