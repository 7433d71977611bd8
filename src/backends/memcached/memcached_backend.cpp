#include "gencache/memcached_backend.hpp"

#include <libmemcached-1.0/memcached.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "backends/memcached/connection_pool.hpp"
#include "backends/memcached/expiration.hpp"
#include "backends/memcached/memcached_config.hpp"
#include "backends/memcached/memcached_errors.hpp"
#include "gencache/error.hpp"

namespace gencache {
namespace {

using detail::throw_memcached_error;

// The distinct keys of a get_many in sorted order, each with the positions it fills.
class KeyPositions {
 public:
  explicit KeyPositions(std::span<const std::string_view> keys) : keys_(keys), order_(keys.size()) {
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    std::sort(order_.begin(), order_.end(),
              [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
    for (std::size_t i = 0; i < order_.size(); ++i) {
      if (i > 0 && keys[order_[i]] == keys[order_[i - 1]]) continue;
      group_starts_.push_back(i);
      pointers_.push_back(keys[order_[i]].data());
      lengths_.push_back(keys[order_[i]].size());
    }
    group_starts_.push_back(order_.size());
  }

  const char* const* pointers() const noexcept { return pointers_.data(); }
  const std::size_t* lengths() const noexcept { return lengths_.data(); }
  std::size_t distinct() const noexcept { return pointers_.size(); }

  /// Stores `value` at every position of `key`; ignores a key that was not asked for.
  void assign(std::string_view key, std::string_view value,
              std::vector<std::optional<std::string>>& values) const {
    const auto group = std::lower_bound(
        group_starts_.begin(), group_starts_.end() - 1, key,
        [&](std::size_t start, std::string_view k) { return keys_[order_[start]] < k; });
    if (group == group_starts_.end() - 1 || keys_[order_[*group]] != key) return;
    for (std::size_t i = *group; i < *(group + 1); ++i) values[order_[i]].emplace(value);
  }

 private:
  std::span<const std::string_view> keys_;
  std::vector<std::size_t> order_;         // positions sorted by key
  std::vector<std::size_t> group_starts_;  // into order_, one per distinct key, plus the end
  std::vector<const char*> pointers_;
  std::vector<std::size_t> lengths_;
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
  explicit MemcachedBackend(detail::MemcachedConfig config)
      : description_(config.description),
        max_value_size_(config.max_value_size),
        pool_(detail::make_memcached_handle(config), config.pool_max, config.pool_wait,
              config.description) {}

  void get_many(std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) override {
    values.assign(keys.size(), std::nullopt);
    if (keys.empty()) return;
    const KeyPositions positions(keys);
    auto lease = pool_.acquire();
    memcached_st* memc = lease.get();
    memcached_return_t rc =
        memcached_mget(memc, positions.pointers(), positions.lengths(), positions.distinct());
    if (rc != MEMCACHED_SUCCESS) throw_memcached_error(description_, "get_many", memc, rc);
    FetchResult result(memc);
    while (memcached_fetch_result(memc, result.get(), &rc) != nullptr) {
      positions.assign(
          {memcached_result_key_value(result.get()), memcached_result_key_length(result.get())},
          {memcached_result_value(result.get()), memcached_result_length(result.get())}, values);
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND)
      throw_memcached_error(description_, "get_many", memc, rc);
    // mget skips a server it cannot reach and reports only the others' keys: that
    // server's keys would look absent, so its error fails the whole call.
    if (const memcached_return_t skipped = memcached_last_error(memc); memcached_fatal(skipped))
      throw_memcached_error(description_, "get_many", memc, skipped);
  }

  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    check_value_size(value, "set");
    auto lease = pool_.acquire();
    const memcached_return_t rc = memcached_set(lease.get(), key.data(), key.size(), data_of(value),
                                                value.size(), expiration(ttl), 0);
    if (rc != MEMCACHED_SUCCESS) throw_memcached_error(description_, "set", lease.get(), rc);
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
    throw_memcached_error(description_, "remove", lease.get(), rc);
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
    throw_memcached_error(description_, "increment", lease.get(), rc);
  }

  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override {
    return add_item(key, std::to_string(initial), ttl, "create_counter");
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
    if (value.size() > max_value_size_)
      throw backend_error(errc::value_too_large,
                          fmt::format("{}: {} refused a value of {} bytes: the limit is {} bytes "
                                      "(max_item_bytes minus {} for the key and item header)",
                                      description_, operation, value.size(), max_value_size_,
                                      detail::kMemcachedItemOverhead));
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

  std::string description_;
  std::size_t max_value_size_;
  detail::ConnectionPool pool_;
};

}  // namespace

std::shared_ptr<Backend> make_memcached_backend(MemcachedOptions options) {
  return std::make_shared<MemcachedBackend>(detail::make_memcached_config(options));
}

}  // namespace gencache
