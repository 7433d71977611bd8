#include "backends/redis/redis_pool.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "backends/redis/redis_errors.hpp"

namespace gencache::detail {

RedisPool::Lease RedisPool::acquire(std::string_view operation) {
  std::unique_ptr<RedisConnection> connection;
  {
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + config_.pool_wait;
    if (!released_.wait_until(lock, deadline,
                              [&] { return !idle_.empty() || open_ < config_.pool_max; }))
      throw_redis_error(
          config_.description, operation, errc::timeout,
          fmt::format("no free connection within pool_wait {} (all {} of pool_max in use)",
                      config_.pool_wait, config_.pool_max));
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  // This call now holds a slot: checking and connecting happen outside the lock.
  if (connection != nullptr && !connection->usable_when_idle()) connection.reset();
  if (connection == nullptr) {
    try {
      connection = std::make_unique<RedisConnection>(config_, operation);
    } catch (...) {
      give_back_slot();
      throw;
    }
  }
  return Lease(*this, std::move(connection));
}

void RedisPool::release(std::unique_ptr<RedisConnection> connection) noexcept {
  if (connection->broken()) {
    connection.reset();  // closes it
    give_back_slot();
    return;
  }
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(connection));
  released_.notify_one();
}

void RedisPool::give_back_slot() noexcept {
  std::lock_guard lock(mutex_);
  --open_;
  released_.notify_one();
}

std::size_t RedisPool::open_connections() const {
  std::lock_guard lock(mutex_);
  return open_;
}

}  // namespace gencache::detail
