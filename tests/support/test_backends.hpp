#pragma once
// Backends the behavioural suites run against. Memcached and Redis servers are started by
// the tests themselves (one per process, on a free loopback port); each test gets a fresh random
// key prefix so tests never see each other's data.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gencache/backend.hpp"
#include "gencache/cache.hpp"

namespace gencache::test {

/// "memory", "memcached_ascii", "memcached_binary", "memcached_meta" (the asynchronous
/// meta-protocol client, driven through test::BlockingAsyncBackend), "redis",
/// "redis_async" (the asynchronous RESP client, driven as rediss:// drives it),
/// "redis_cluster" (3 masters).
std::vector<std::string> backend_kinds();

/// The kinds of backend_kinds() that talk to one server, which tests may stop or pause:
/// all but "memory" and "redis_cluster".
std::vector<std::string> server_backend_kinds();

/// The server kinds whose clients check connections out of a pool: all but
/// "memcached_meta" and "redis_async", which pipeline.
std::vector<std::string> pooled_backend_kinds();

class RedisClusterServers;
/// The 3-master Redis Cluster this process shares (started on first use).
RedisClusterServers& shared_redis_cluster();

struct TestBackend {
  std::shared_ptr<Backend> backend;
  std::string prefix;  ///< pass as CacheOptions::prefix to isolate the test
};

/// A fresh backend of `kind`. Memory backends are new each call; Memcached ones share
/// one server per process and get a fresh random prefix.
TestBackend make_test_backend(std::string_view kind);

/// A random prefix such as "t3f9c2a1:".
std::string random_prefix();

}  // namespace gencache::test
