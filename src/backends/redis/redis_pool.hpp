#pragma once
// Internal: Redis connections shared between threads, one per concurrent call.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "backends/redis/redis_config.hpp"
#include "backends/redis/redis_connection.hpp"

namespace gencache::detail {

/// At most `config.pool_max` connections, opened on demand. A call borrows one (waiting
/// at most `config.pool_wait` when all are busy) and gives it back when done; a broken
/// one is closed instead, and the next call that needs a connection opens a new one.
class RedisPool {
 public:
  /// A borrowed connection, given back (or closed if broken) on destruction.
  class Lease {
   public:
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_.release(std::move(connection_)); }

    RedisConnection* operator->() const noexcept { return connection_.get(); }
    RedisConnection& operator*() const noexcept { return *connection_; }

   private:
    friend class RedisPool;
    Lease(RedisPool& pool, std::unique_ptr<RedisConnection> connection) noexcept
        : pool_(pool), connection_(std::move(connection)) {}

    RedisPool& pool_;
    std::unique_ptr<RedisConnection> connection_;
  };

  /// Opens no connection yet. `config` must outlive the pool.
  explicit RedisPool(const RedisConfig& config) : config_(config) {
    idle_.reserve(config_.pool_max);  // so release() never allocates
  }
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  /// An idle connection that is still usable, or a new one, for `operation` (named in
  /// messages). Throws backend_error: errc::timeout when none is free within pool_wait,
  /// or the connect failure.
  Lease acquire(std::string_view operation);

  /// Connections open now (idle or lent), for tests.
  std::size_t open_connections() const;

 private:
  void release(std::unique_ptr<RedisConnection> connection) noexcept;
  void give_back_slot() noexcept;

  const RedisConfig& config_;
  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;  // the most recently used last
  std::size_t open_ = 0;                                // idle plus lent, at most pool_max
};

}  // namespace gencache::detail
