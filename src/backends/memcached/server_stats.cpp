#include "backends/memcached/server_stats.hpp"

#include <libmemcached-1.0/memcached.h>

#include <string>
#include <utility>

#include <fmt/format.h>

#include "backends/memcached/memcached_config.hpp"
#include "backends/memcached/memcached_errors.hpp"

namespace gencache::detail {
namespace {

memcached_return_t collect(const memcached_instance_st*, const char* key, std::size_t key_length,
                           const char* value, std::size_t value_length, void* context) {
  static_cast<ServerStats*>(context)->values.emplace_back(std::string(key, key_length),
                                                          std::string(value, value_length));
  return MEMCACHED_SUCCESS;
}

}  // namespace

std::vector<ServerStats> memcached_server_stats(const MemcachedOptions& options) {
  std::vector<ServerStats> all;
  for (const std::string& server : options.servers) {
    MemcachedOptions single = options;
    single.servers = {server};
    const MemcachedConfig config = make_memcached_config(single);
    const MemcachedHandle handle = make_memcached_handle(config);
    ServerStats stats;
    stats.server = config.servers.front().to_string();
    const memcached_return_t rc = memcached_stat_execute(handle.get(), nullptr, &collect, &stats);
    if (rc != MEMCACHED_SUCCESS || stats.values.empty()) {
      const memcached_return_t why = rc != MEMCACHED_SUCCESS ? rc : MEMCACHED_NO_SERVERS;
      stats.values.clear();
      stats.error =
          memcached_failure_reason(why, memcached_last_error(handle.get()) != MEMCACHED_SUCCESS
                                            ? memcached_last_error_message(handle.get())
                                            : "");
    }
    all.push_back(std::move(stats));
  }
  return all;
}

}  // namespace gencache::detail
