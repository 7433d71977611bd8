#include "server_stats.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include <fmt/format.h>

namespace gencache::cli {
namespace {

// What an operator of a gencache cache looks at first, in this order: memcached's names,
// then Redis's. A server shows those it has.
constexpr std::array<std::string_view, 24> kShown = {"version",
                                                     "uptime",
                                                     "curr_items",
                                                     "bytes",
                                                     "limit_maxbytes",
                                                     "get_hits",
                                                     "get_misses",
                                                     "evictions",
                                                     "expired_unfetched",
                                                     "evicted_unfetched",
                                                     "curr_connections",
                                                     "total_connections",
                                                     "redis_version",
                                                     "uptime_in_seconds",
                                                     "used_memory",
                                                     "maxmemory",
                                                     "maxmemory_policy",
                                                     "keyspace_hits",
                                                     "keyspace_misses",
                                                     "evicted_keys",
                                                     "expired_keys",
                                                     "connected_clients",
                                                     "total_connections_received",
                                                     "db0"};

}  // namespace

int print_server_stats(Backend& backend, std::FILE* out, std::FILE* err) {
  const std::vector<ServerStats> servers = backend.server_stats();
  if (servers.empty()) {
    fmt::print(out,
               "{} has no servers to ask: the cache lives inside each process that uses it. "
               "Read that process's own counters (Cache::stats(), or /metrics in the "
               "dashboard_server example).\n",
               backend.describe());
    return 0;
  }
  int status = 0;
  for (const ServerStats& server : servers) {
    if (!server.error.empty()) {
      fmt::print(err, "gencache: server {} did not answer: {}\n", server.server, server.error);
      status = 1;
      continue;
    }
    fmt::print(out, "server {}\n", server.server);
    for (const std::string_view name : kShown) {
      const auto value = std::find_if(server.values.begin(), server.values.end(),
                                      [name](const auto& pair) { return pair.first == name; });
      if (value != server.values.end()) fmt::print(out, "  {:<18} {}\n", name, value->second);
    }
  }
  return status;
}

}  // namespace gencache::cli
