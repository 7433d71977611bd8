#pragma once
// Internal: libmemcached handles shared between threads, one per concurrent call.

#include <libmemcached-1.0/memcached.h>
#include <libmemcachedutil-1.0/pool.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>

#include "backends/memcached/memcached_config.hpp"

namespace gencache::detail {

/// A libmemcachedutil pool of clones of one template handle, with a bounded wait for a
/// free handle. Each handle keeps its own connections, so a handle serves one call at a
/// time and the pool holds at most `max` of them.
class ConnectionPool {
 public:
  /// A borrowed handle, given back to the pool on destruction.
  class Lease {
   public:
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_.release(memc_); }

    memcached_st* get() const noexcept { return memc_; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool& pool, memcached_st* memc) noexcept : pool_(pool), memc_(memc) {}

    ConnectionPool& pool_;
    memcached_st* memc_;
  };

  /// `description` names the servers in error messages.
  ConnectionPool(MemcachedHandle prototype, std::size_t max, std::chrono::milliseconds wait,
                 std::string description);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /// A free handle; waits for one at most `wait`, then throws backend_error(errc::timeout).
  Lease acquire();

 private:
  void release(memcached_st* memc) noexcept;

  MemcachedHandle prototype_;  // outlives pool_, which clones it
  memcached_pool_st* pool_ = nullptr;
  std::size_t max_;
  std::chrono::milliseconds wait_;
  std::string description_;
  // libmemcachedutil's own blocking fetch sets its deadline to the current whole second
  // plus the wait, so a wait under a second mostly ends at once: we wait here instead.
  std::mutex mutex_;
  std::condition_variable released_;
};

}  // namespace gencache::detail
