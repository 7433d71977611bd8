#include "server_stats.hpp"

#include <libmemcached-1.0/memcached.h>

#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "backends/memcached/memcached_config.hpp"
#include "backends/memcached/memcached_url.hpp"
#include "cache_url.hpp"
#include "url_options.hpp"

namespace gencache::cli {
namespace {

// The statistics an operator of a gencache cache looks at first, in this order.
constexpr std::array<std::string_view, 12> kShown = {"version",           "uptime",
                                                     "curr_items",        "bytes",
                                                     "limit_maxbytes",    "get_hits",
                                                     "get_misses",        "evictions",
                                                     "expired_unfetched", "evicted_unfetched",
                                                     "curr_connections",  "total_connections"};

using ServerStats = std::map<std::string, std::map<std::string, std::string>>;

memcached_return_t collect(const memcached_instance_st* server, const char* key,
                           std::size_t key_length, const char* value, std::size_t value_length,
                           void* context) {
  auto& stats = *static_cast<ServerStats*>(context);
  const std::string name =
      fmt::format("{}:{}", memcached_server_name(server), memcached_server_port(server));
  stats[name][std::string(key, key_length)] = std::string(value, value_length);
  return MEMCACHED_SUCCESS;
}

}  // namespace

int print_server_stats(std::string_view url, std::FILE* out, std::FILE* err) {
  detail::CacheUrl parts = detail::split_cache_url(url);
  if (parts.scheme == "memory") {
    fmt::print(out,
               "memory:// has no servers to ask: a memory:// cache lives inside each process that "
               "uses it. Read that process's own counters (Cache::stats(), or /metrics in the "
               "dashboard_server example).\n");
    return 0;
  }
  if (parts.scheme != "memcached") {
    fmt::print(out,
               "gencache stats asks memcached:// servers only; for {}:// use the server's own "
               "tools (for Redis, redis-cli INFO).\n",
               parts.scheme);
    return 0;
  }

  detail::UrlOptions params(parts.scheme, std::move(parts.params));
  const MemcachedOptions options = detail::memcached_options_from_url(parts.authority, params);

  int status = 0;
  for (const std::string& server : options.servers) {
    // One handle per server: libmemcached gives up on the whole cluster when one server of
    // a handle is down, and that server is the one an operator most needs to see.
    MemcachedOptions single = options;
    single.servers = {server};
    const detail::MemcachedConfig config = detail::make_memcached_config(single);
    const detail::MemcachedHandle handle = detail::make_memcached_handle(config);
    const std::string name = config.servers.front().to_string();

    ServerStats stats;
    const memcached_return_t rc = memcached_stat_execute(handle.get(), nullptr, &collect, &stats);
    if (rc != MEMCACHED_SUCCESS || stats.empty()) {
      fmt::print(err, "gencache: server {} did not answer: {}\n", name,
                 memcached_strerror(handle.get(), rc));
      status = 1;
      continue;
    }
    const auto& values = stats.begin()->second;
    fmt::print(out, "server {}\n", name);
    for (std::string_view key : kShown) {
      if (auto value = values.find(std::string(key)); value != values.end())
        fmt::print(out, "  {:<18} {}\n", key, value->second);
    }
  }
  return status;
}

}  // namespace gencache::cli
