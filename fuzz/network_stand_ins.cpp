// The network clients' factories, for the fuzz build only (fuzz/CMakeLists.txt): its
// library leaves the clients out, since no fuzzer connects anywhere, and from_url still
// names their factories. A fuzzer that reached one would abort here, loudly.
#include <cstdio>
#include <cstdlib>

#include "gencache/blocking_bridge.hpp"
#include "gencache/memcached_async_backend.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/redis_async_backend.hpp"
#include "gencache/redis_backend.hpp"

namespace gencache {
namespace {

[[noreturn]] void reached(const char* factory) {
  std::fprintf(stderr, "fuzz build: %s was called, but network clients are not built here\n",
               factory);
  std::abort();
}

}  // namespace

std::shared_ptr<Backend> make_memcached_backend(MemcachedOptions) {
  reached("make_memcached_backend");
}
std::shared_ptr<AsyncBackend> make_memcached_async_backend(boost::asio::any_io_executor,
                                                           MemcachedAsyncOptions) {
  reached("make_memcached_async_backend");
}
std::shared_ptr<Backend> make_redis_backend(RedisOptions) {
  reached("make_redis_backend");
}
std::shared_ptr<Backend> make_redis_cluster_backend(RedisClusterOptions) {
  reached("make_redis_cluster_backend");
}
std::shared_ptr<AsyncBackend> make_redis_async_backend(boost::asio::any_io_executor,
                                                       RedisAsyncOptions) {
  reached("make_redis_async_backend");
}
std::shared_ptr<AsyncBackend> make_redis_async_cluster_backend(boost::asio::any_io_executor,
                                                               RedisAsyncClusterOptions) {
  reached("make_redis_async_cluster_backend");
}
std::shared_ptr<AsyncBackend> make_blocking_bridge(std::shared_ptr<Backend>,
                                                   BlockingBridgeOptions) {
  reached("make_blocking_bridge");
}

}  // namespace gencache
