#include "gencache/redis_backend.hpp"

#include <memory>

#include "backends/redis/redis_config.hpp"
#include "backends/redis/redis_node.hpp"

namespace gencache {

std::shared_ptr<Backend> make_redis_backend(RedisOptions options) {
  return std::make_shared<detail::RedisNode>(detail::make_redis_config(options));
}

}  // namespace gencache
