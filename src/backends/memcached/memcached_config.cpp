#include "backends/memcached/memcached_config.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "backends/memcached/memcached_errors.hpp"
#include "gencache/error.hpp"

namespace gencache::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Words the configuration grammar reads as keywords wherever they appear.
constexpr std::array<std::string_view, 20> kConfigKeywords = {
    "include",  "reset",      "debug",    "servers", "end",    "csl_error", "true",
    "false",    "consistent", "modula",   "random",  "md5",    "crc",       "fnv1_64",
    "fnv1a_64", "fnv1_32",    "fnv1a_32", "hsieh",   "murmur", "jenkins"};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

std::string build_config_string(const MemcachedOptions& options, const MemcachedConfig& config,
                                bool ketama) {
  std::vector<std::string> parts;
  for (const ServerAddress& server : config.servers)
    if (config_string_can_name(server)) parts.push_back("--SERVER=" + server.to_string());
  if (options.protocol == MemcachedOptions::Protocol::binary)
    parts.emplace_back("--BINARY-PROTOCOL");
  // libmemcached waits in poll() for POLL-TIMEOUT (ms); SND/RCV-TIMEOUT (us) are the
  // socket-level bound for the same wait.
  const auto io_us = std::chrono::microseconds(options.io_timeout).count();
  parts.push_back(fmt::format("--CONNECT-TIMEOUT={}", options.connect_timeout.count()));
  parts.push_back(fmt::format("--POLL-TIMEOUT={}", options.io_timeout.count()));
  parts.push_back(fmt::format("--SND-TIMEOUT={}", io_us));
  parts.push_back(fmt::format("--RCV-TIMEOUT={}", io_us));
  parts.push_back(fmt::format("--RETRY-TIMEOUT={}", options.retry_timeout.count()));
  if (ketama) parts.emplace_back("--DISTRIBUTION=consistent");
  parts.emplace_back("--TCP-NODELAY");
  parts.push_back(fmt::format("--POOL-MAX={}", config.pool_max));
  // No --REMOVE-FAILED-SERVERS: keys must stay on their server while it is down.
  return fmt::format("{}", fmt::join(parts, " "));
}

}  // namespace

bool config_string_can_name(const ServerAddress& server) {
  const std::string& host = server.host;
  if (server.ipv6 || host.size() < 3 || !is_alnum(host.front()) || !is_alnum(host.back()))
    return false;
  return std::none_of(
      kConfigKeywords.begin(), kConfigKeywords.end(),
      [&](std::string_view keyword) { return equals_ignoring_case(host, keyword); });
}

MemcachedConfig make_memcached_config(const MemcachedOptions& options) {
  MemcachedConfig config;
  if (options.servers.empty())
    throw config_error(
        "memcached option servers: no server given; expected at least one, such as "
        "127.0.0.1:11211");
  std::vector<std::string> names;
  for (const std::string& text : options.servers) {
    ServerAddress server = parse_server_address(text);
    std::string name = server.to_string();
    if (std::find(names.begin(), names.end(), name) != names.end())
      throw config_error(fmt::format("memcached option servers: {} is listed twice", name));
    names.push_back(std::move(name));
    config.servers.push_back(std::move(server));
  }
  config.description = fmt::format("memcached://{}", fmt::join(names, ","));

  check_memcached_range("connect_timeout", options.connect_timeout, milliseconds(1),
                        kMemcachedLongestTimeout);
  check_memcached_range("io_timeout", options.io_timeout, milliseconds(1),
                        kMemcachedLongestTimeout);
  check_memcached_range("pool_max", options.pool_max, std::size_t{1}, kMemcachedLargestPool);
  config.pool_max = options.pool_max;
  config.pool_wait = options.pool_wait.value_or(options.io_timeout);
  check_memcached_range("pool_wait", config.pool_wait, milliseconds(0), kMemcachedLongestTimeout);
  check_memcached_range("retry_timeout", options.retry_timeout, seconds(0),
                        kMemcachedLongestRetryTimeout);
  check_memcached_range("max_item_bytes", options.max_item_bytes, kMemcachedSmallestItem,
                        kMemcachedLargestItem);
  config.max_value_size = options.max_item_bytes - kMemcachedItemOverhead;

  if (!options.username.empty() && options.protocol != MemcachedOptions::Protocol::binary)
    throw config_error(
        "memcached option username: SASL authentication needs the binary protocol; set "
        "protocol to binary");
  if (options.username.empty() && !options.password.empty())
    throw config_error("memcached option password: a password needs a username");
  config.username = options.username;
  config.password = options.password;

  config.config_string =
      build_config_string(options, config, options.ketama.value_or(config.servers.size() > 1));
  check_memcached_configuration(config.config_string);
  return config;
}

void check_memcached_configuration(std::string_view config_string) {
  std::array<char, 1024> explanation{};
  const memcached_return_t rc = libmemcached_check_configuration(
      config_string.data(), config_string.size(), explanation.data(), explanation.size());
  if (rc == MEMCACHED_SUCCESS) return;
  const std::string_view why = explanation[0] != '\0'
                                   ? without_handle_address(explanation.data())
                                   : std::string_view(memcached_strerror(nullptr, rc));
  throw config_error(
      fmt::format("libmemcached rejected the configuration '{}': {}", config_string, why));
}

MemcachedHandle make_memcached_handle(const MemcachedConfig& config) {
  MemcachedHandle handle(memcached(config.config_string.data(), config.config_string.size()));
  if (!handle)
    throw config_error(
        fmt::format("libmemcached could not build a handle from '{}'", config.config_string));
  for (const ServerAddress& server : config.servers) {
    if (config_string_can_name(server)) continue;
    const memcached_return_t rc =
        memcached_server_add(handle.get(), server.host.c_str(), server.port);
    if (rc != MEMCACHED_SUCCESS)
      throw config_error(fmt::format("libmemcached could not add server {}: {}", server.to_string(),
                                     memcached_strerror(handle.get(), rc)));
  }
  if (!config.username.empty()) {
    const memcached_return_t rc = memcached_set_sasl_auth_data(
        handle.get(), config.username.c_str(), config.password.c_str());
    if (rc != MEMCACHED_SUCCESS)
      throw config_error(fmt::format("libmemcached could not set SASL credentials: {}",
                                     memcached_strerror(handle.get(), rc)));
  }
  return handle;
}

}  // namespace gencache::detail
