#include "gencache/memcached_backend.hpp"

#include <libmemcached-1.0/memcached.h>

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "backends/memcached/connection_pool.hpp"
#include "backends/memcached/expiration.hpp"
#include "backends/memcached/memcached_config.hpp"
#include "backends/memcached/memcached_errors.hpp"
#include "backends/memcached/mget_keys.hpp"
#include "backends/memcached/server_stats.hpp"
#include "gencache/error.hpp"

namespace gencache {
namespace {

using detail::throw_memcached_error;

// The MgetKeys of this thread, reused by its calls so that a steady-state read does not
// allocate. A nested call (a visitor that reads another Memcached backend) gets its own.
class MgetKeysLease {
 public:
  MgetKeysLease() {
    thread_local Shared shared;
    if (!shared.in_use) {
      shared.in_use = true;
      shared_ = &shared;
      keys_ = &shared.keys;
    } else {
      owned_ = std::make_unique<detail::MgetKeys>();
      keys_ = owned_.get();
    }
  }
  ~MgetKeysLease() {
    if (shared_ == nullptr) return;
    shared_->keys.trim();
    shared_->in_use = false;
  }
  MgetKeysLease(const MgetKeysLease&) = delete;
  MgetKeysLease& operator=(const MgetKeysLease&) = delete;

  detail::MgetKeys& operator*() const noexcept { return *keys_; }
  detail::MgetKeys* operator->() const noexcept { return keys_; }

 private:
  struct Shared {
    detail::MgetKeys keys;
    bool in_use = false;
  };
  Shared* shared_ = nullptr;
  std::unique_ptr<detail::MgetKeys> owned_;
  detail::MgetKeys* keys_ = nullptr;
};

// get_many's visitor: copies each value into its slot. found() must not throw, so an
// allocation failure is kept and rethrown once the fetch is over.
class CopyingVisitor final : public ValueVisitor {
 public:
  explicit CopyingVisitor(std::vector<std::optional<std::string>>& values) : values_(values) {}

  void found(std::size_t index, std::string_view value) noexcept override {
    if (failure_) return;
    try {
      values_[index].emplace(value);
    } catch (...) {
      failure_ = std::current_exception();
    }
  }

  void rethrow_failure() const {
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  std::vector<std::optional<std::string>>& values_;
  std::exception_ptr failure_;
};

// A fetch result on the stack, freed before its handle goes back to the pool.
class FetchResult {
 public:
  explicit FetchResult(memcached_st* memc) { memcached_result_create(memc, &result_); }
  ~FetchResult() { memcached_result_free(&result_); }
  FetchResult(const FetchResult&) = delete;
  FetchResult& operator=(const FetchResult&) = delete;
  memcached_result_st* get() noexcept { return &result_; }

 private:
  memcached_result_st result_{};
};

class MemcachedBackend final : public Backend {
 public:
  MemcachedBackend(MemcachedOptions options, detail::MemcachedConfig config)
      : options_(std::move(options)),
        description_(config.description),
        max_value_size_(config.max_value_size),
        pool_(detail::make_memcached_handle(config), config.pool_max, config.pool_wait,
              config.description) {}

  void get_many(std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) override {
    values.assign(keys.size(), std::nullopt);
    CopyingVisitor copier(values);
    fetch(keys, copier, "read");
    copier.rethrow_failure();
  }

  void visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) override {
    fetch(keys, visitor, "read");
  }

  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    check_value_size(value, "write");
    auto lease = pool_.acquire();
    const memcached_return_t rc = memcached_set(lease.get(), key.data(), key.size(), data_of(value),
                                                value.size(), expiration(ttl), 0);
    if (rc != MEMCACHED_SUCCESS) throw_memcached_error(description_, "write", lease.get(), rc);
  }

  bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    check_value_size(value, "add");
    return add_item(key, value, ttl, "add");
  }

  bool remove(std::string_view key) override {
    auto lease = pool_.acquire();
    const memcached_return_t rc = memcached_delete(lease.get(), key.data(), key.size(), 0);
    if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_DELETED) return true;
    if (rc == MEMCACHED_NOTFOUND) return false;
    throw_memcached_error(description_, "delete", lease.get(), rc);
  }

  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) override {
    auto lease = pool_.acquire();
    std::uint64_t value = 0;
    // The _by_key form takes a 64-bit delta; the key is its own group key, as in
    // memcached_increment.
    const memcached_return_t rc = memcached_increment_by_key(lease.get(), key.data(), key.size(),
                                                             key.data(), key.size(), delta, &value);
    if (rc == MEMCACHED_SUCCESS) return value;
    if (rc == MEMCACHED_NOTFOUND) return std::nullopt;
    throw_memcached_error(description_, "counter increment", lease.get(), rc);
  }

  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override {
    return add_item(key, std::to_string(initial), ttl, "counter creation");
  }

  // increment_many keeps Backend's loop, one round trip per counter: libmemcached
  // increments one key per call (and a cluster's keys live on different servers anyway).

  std::vector<ServerStats> server_stats() override {
    return detail::memcached_server_stats(options_);
  }

  std::size_t max_value_size() const noexcept override { return max_value_size_; }

  std::string describe() const override { return description_; }

 private:
  // libmemcached wants a non-null pointer even for an empty value.
  static const char* data_of(std::string_view value) noexcept {
    return value.data() != nullptr ? value.data() : "";
  }

  static std::time_t expiration(std::chrono::milliseconds ttl) {
    return detail::memcached_expiration(ttl, std::chrono::system_clock::now());
  }

  void check_value_size(std::string_view value, std::string_view operation) const {
    // The item overhead left room for the entry header too (see kMemcachedItemOverhead).
    if (value.size() > max_value_size_ + kEntryHeaderAllowance)
      throw backend_error(
          errc::value_too_large,
          fmt::format("{}: {} refused: the value has {} bytes, the limit is {} bytes "
                      "(max_item_bytes minus {} for the key and item header)",
                      description_, operation, value.size(), max_value_size_,
                      detail::kMemcachedItemOverhead));
  }

  // One mget, each value handed to `visitor` straight from libmemcached's result buffer.
  void fetch(std::span<const std::string_view> keys, ValueVisitor& visitor,
             std::string_view operation) {
    if (keys.empty()) return;
    const MgetKeysLease requested;
    requested->prepare(keys);
    auto lease = pool_.acquire();
    memcached_st* memc = lease.get();
    memcached_return_t rc =
        memcached_mget(memc, requested->pointers(), requested->lengths(), requested->distinct());
    if (rc != MEMCACHED_SUCCESS) throw_memcached_error(description_, operation, memc, rc);
    // mget skips a server it cannot reach and reports only the others' keys: that
    // server's keys would look absent, so its error fails the whole call. When mget
    // already knows, nothing is visited; the others' replies are still read, so that
    // none is left on their connections.
    const memcached_return_t skipped_at_send = memcached_last_error(memc);
    const bool visit = !memcached_fatal(skipped_at_send);
    FetchResult result(memc);
    while (memcached_fetch_result(memc, result.get(), &rc) != nullptr) {
      if (!visit) continue;
      const std::size_t key = requested->find(
          {memcached_result_key_value(result.get()), memcached_result_key_length(result.get())});
      if (key == detail::MgetKeys::npos) continue;  // not asked for
      const std::string_view value(memcached_result_value(result.get()),
                                   memcached_result_length(result.get()));
      requested->for_each_position(key,
                                   [&](std::size_t position) { visitor.found(position, value); });
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND)
      throw_memcached_error(description_, operation, memc, rc);
    if (const memcached_return_t skipped = memcached_last_error(memc); memcached_fatal(skipped))
      throw_memcached_error(description_, operation, memc, skipped);
    if (!visit) throw_memcached_error(description_, operation, memc, skipped_at_send);
  }

  bool add_item(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                std::string_view operation) {
    auto lease = pool_.acquire();
    const memcached_return_t rc = memcached_add(lease.get(), key.data(), key.size(), data_of(value),
                                                value.size(), expiration(ttl), 0);
    if (rc == MEMCACHED_SUCCESS) return true;
    // The ASCII protocol answers NOT_STORED for an existing key, the binary one EEXISTS.
    if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS) return false;
    throw_memcached_error(description_, operation, lease.get(), rc);
  }

  MemcachedOptions options_;  // for server_stats, which asks each server on its own handle
  std::string description_;
  std::size_t max_value_size_;
  detail::ConnectionPool pool_;
};

}  // namespace

std::shared_ptr<Backend> make_memcached_backend(MemcachedOptions options) {
  detail::MemcachedConfig config = detail::make_memcached_config(options);
  return std::make_shared<MemcachedBackend>(std::move(options), std::move(config));
}

}  // namespace gencache
