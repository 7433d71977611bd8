#include "support/test_backends.hpp"

#include <mutex>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "async_backend_thread.hpp"
#include "gencache/memcached_async_backend.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/redis_async_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "support/blocking_async_backend.hpp"
#include "support/memcached_server.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"

namespace gencache::test {

std::vector<std::string> backend_kinds() {
  return {"memory", "memcached_ascii", "memcached_binary", "memcached_meta",
          "redis",  "redis_async",     "redis_cluster"};
}

std::vector<std::string> server_backend_kinds() {
  std::vector<std::string> kinds = backend_kinds();
  std::erase(kinds, "memory");
  std::erase(kinds, "redis_cluster");  // a cluster has no one server to stop or pause
  return kinds;
}

std::vector<std::string> pooled_backend_kinds() {
  std::vector<std::string> kinds = server_backend_kinds();
  std::erase(kinds, "memcached_meta");
  std::erase(kinds, "redis_async");
  return kinds;
}

RedisClusterServers& shared_redis_cluster() {
  static RedisClusterServers cluster({.masters = 3});  // stopped at exit by its destructor
  return cluster;
}

std::string random_prefix() {
  static std::mutex mutex;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard lock(mutex);
  return fmt::format("t{:08x}:", static_cast<std::uint32_t>(rng()));
}

namespace {
MemcachedServer& shared_server() {
  static MemcachedServer server;  // stopped at exit by its destructor
  return server;
}

RedisServer& shared_redis_server() {
  static RedisServer server;  // stopped at exit by its destructor
  return server;
}
}  // namespace

TestBackend make_test_backend(std::string_view kind) {
  if (kind == "memory") return {std::make_shared<MemoryBackend>(), ""};
  if (kind == "memcached_ascii" || kind == "memcached_binary") {
    MemcachedOptions options;
    options.servers = {shared_server().address()};
    options.protocol = kind == "memcached_binary" ? MemcachedOptions::Protocol::binary
                                                  : MemcachedOptions::Protocol::ascii;
    options.io_timeout = std::chrono::milliseconds(500);
    options.connect_timeout = std::chrono::milliseconds(500);
    return {make_memcached_backend(std::move(options)), random_prefix()};
  }
  if (kind == "memcached_meta") {
    MemcachedAsyncOptions options;
    options.servers = {shared_server().address()};
    options.io_timeout = std::chrono::milliseconds(500);
    options.connect_timeout = std::chrono::milliseconds(500);
    return {std::make_shared<BlockingAsyncBackend>([&](boost::asio::any_io_executor executor) {
              return make_memcached_async_backend(std::move(executor), options);
            }),
            random_prefix()};
  }
  if (kind == "redis") {
    RedisOptions options;
    options.port = shared_redis_server().port();
    options.io_timeout = std::chrono::milliseconds(500);
    options.connect_timeout = std::chrono::milliseconds(500);
    return {make_redis_backend(std::move(options)), random_prefix()};
  }
  if (kind == "redis_async") {
    RedisAsyncOptions options;
    options.server.port = shared_redis_server().port();
    options.server.io_timeout = std::chrono::milliseconds(500);
    options.server.connect_timeout = std::chrono::milliseconds(500);
    return {
        std::make_shared<BlockingAsyncBackend>([options](boost::asio::any_io_executor executor) {
          return make_redis_async_backend(std::move(executor), options);
        }),
        random_prefix()};
  }
  if (kind == "redis_cluster") {
    RedisClusterOptions options = shared_redis_cluster().options();
    options.connection.io_timeout = std::chrono::milliseconds(500);
    options.connection.connect_timeout = std::chrono::milliseconds(500);
    return {make_redis_cluster_backend(std::move(options)), random_prefix()};
  }
  throw std::invalid_argument(fmt::format("unknown test backend kind '{}'", kind));
}

}  // namespace gencache::test
