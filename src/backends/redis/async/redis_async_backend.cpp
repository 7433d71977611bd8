// make_redis_async_backend: one Redis server on the asynchronous client (RedisAsyncNode).

#include "gencache/redis_async_backend.hpp"

#include <memory>
#include <utility>

#include "backends/redis/async/redis_async_node.hpp"
#include "backends/redis/redis_config.hpp"

namespace gencache {

std::shared_ptr<AsyncBackend> make_redis_async_backend(boost::asio::any_io_executor executor,
                                                       RedisAsyncOptions options) {
  detail::check_redis_async_connections(options.connections);
  detail::RedisConfig config = detail::make_redis_config(options.server);
  return std::make_shared<detail::RedisAsyncNode>(std::move(executor), std::move(config),
                                                  options.connections,
                                                  detail::make_redis_node_tls(options.tls));
}

}  // namespace gencache
