#include "support/cache_servers.hpp"

#include <cstdio>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "gencache/redis_backend.hpp"
#include "support/memcached_server.hpp"

namespace gencache::test {
namespace {

using namespace std::chrono_literals;

class MemcachedCacheServer final : public CacheServer {
 public:
  std::shared_ptr<Backend> connect() const override {
    return connect_memcached({server_.address()});
  }
  void stop() override { server_.stop(); }
  void start() override { server_.start(); }
  void pause() override { server_.pause(); }
  void resume() override { server_.resume(); }

 private:
  MemcachedServer server_;
};

class RedisCacheServer final : public CacheServer {
 public:
  std::shared_ptr<Backend> connect() const override { return connect_redis(server_); }
  void stop() override { server_.stop(); }
  void start() override { server_.start(); }
  void pause() override { server_.pause(); }
  void resume() override { server_.resume(); }

 private:
  RedisServer server_;
};

}  // namespace

std::shared_ptr<Backend> connect_memcached(std::vector<std::string> servers,
                                           MemcachedOptions::Protocol protocol) {
  MemcachedOptions options;
  options.servers = std::move(servers);
  options.protocol = protocol;
  options.connect_timeout = 100ms;
  options.io_timeout = 100ms;
  options.retry_timeout = 1s;
  return make_memcached_backend(options);
}

std::shared_ptr<Backend> connect_redis(const RedisServer& server) {
  RedisOptions options;
  options.port = server.port();
  options.connect_timeout = 100ms;
  options.io_timeout = 100ms;
  return make_redis_backend(options);
}

std::vector<std::string> cache_server_kinds() {
  return {"memcached", "redis"};
}

std::unique_ptr<CacheServer> start_cache_server(std::string_view kind) {
  if (kind == "memcached") return std::make_unique<MemcachedCacheServer>();
  if (kind == "redis") return std::make_unique<RedisCacheServer>();
  throw std::invalid_argument(fmt::format("unknown cache server kind '{}'", kind));
}

void print_oracle_result(const char* what, const OracleResult& result, const Stats& stats) {
  std::printf(
      "[ %-8s ] reads=%lu stale=%lu bumps=%lu failed_bumps=%lu hits=%lu errors=%lu "
      "recreations=%lu\n",
      what, static_cast<unsigned long>(result.reads),
      static_cast<unsigned long>(result.stale_reads), static_cast<unsigned long>(result.bumps),
      static_cast<unsigned long>(result.failed_bumps),
      static_cast<unsigned long>(result.cache_hits), static_cast<unsigned long>(stats.errors),
      static_cast<unsigned long>(stats.counter_recreations));
}

}  // namespace gencache::test
