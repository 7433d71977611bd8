#include "backends/memcached/connection_pool.hpp"

#include <new>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "gencache/error.hpp"

namespace gencache::detail {

ConnectionPool::ConnectionPool(MemcachedHandle prototype, std::size_t max,
                               std::chrono::milliseconds wait, std::string description)
    : prototype_(std::move(prototype)),
      max_(max),
      wait_(wait),
      description_(std::move(description)) {
  // One clone now (it connects on first use), the others as concurrency needs them.
  pool_ = memcached_pool_create(prototype_.get(), 1, static_cast<std::uint32_t>(max_));
  if (pool_ == nullptr) throw std::bad_alloc();
}

ConnectionPool::~ConnectionPool() {
  // Returns the prototype, which prototype_ still owns and frees.
  memcached_pool_destroy(pool_);
}

ConnectionPool::Lease ConnectionPool::acquire() {
  const auto deadline = std::chrono::steady_clock::now() + wait_;
  std::unique_lock lock(mutex_);
  while (true) {
    memcached_return_t rc = MEMCACHED_SUCCESS;
    // A null timeout never blocks: NOTFOUND means every handle is in use.
    if (memcached_st* memc = memcached_pool_fetch(pool_, nullptr, &rc)) return Lease(*this, memc);
    if (rc == MEMCACHED_SUCCESS) throw std::bad_alloc();  // cloning a new handle failed
    if (rc != MEMCACHED_NOTFOUND)
      throw backend_error(errc::backend_unavailable,
                          fmt::format("{}: taking a pooled connection failed: {}", description_,
                                      memcached_strerror(nullptr, rc)));
    if (released_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (memcached_st* memc = memcached_pool_fetch(pool_, nullptr, &rc)) return Lease(*this, memc);
      throw backend_error(errc::timeout,
                          fmt::format("{}: no free connection within pool_wait {} (all {} of "
                                      "pool_max in use)",
                                      description_, wait_, max_));
    }
  }
}

void ConnectionPool::release(memcached_st* memc) noexcept {
  memcached_pool_release(pool_, memc);
  // Under the mutex, so a waiter between its fetch and its wait cannot miss the wake-up.
  std::lock_guard lock(mutex_);
  released_.notify_one();
}

}  // namespace gencache::detail
