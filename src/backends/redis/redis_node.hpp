#pragma once
// Internal: one Redis server as a Backend (what make_redis_backend returns), with the
// pieces a Redis Cluster client builds on: ASKING before a call, and pipelined reads.

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/redis/redis_config.hpp"
#include "backends/redis/redis_connection.hpp"
#include "backends/redis/redis_errors.hpp"
#include "backends/redis/redis_pool.hpp"
#include "gencache/backend.hpp"

namespace gencache::detail {

/// Whether a write waits for wait_replicas acknowledgements (counter writes do).
enum class WaitForReplicas { no, yes };

/// A pool of connections to one server, and the commands of every Backend call on them.
/// Failures throw backend_error as make_redis_backend documents; a MOVED or ASK error
/// reply throws redis_redirect_error.
class RedisNode final : public Backend {
 public:
  explicit RedisNode(RedisConfig config);

  void get_many(std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) override;
  void visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) override;
  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    set(key, value, ttl, Asking::no);
  }
  bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    return add(key, value, ttl, Asking::no);
  }
  bool remove(std::string_view key) override { return remove(key, Asking::no); }
  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) override {
    return increment(key, delta, Asking::no);
  }
  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override {
    return create_counter(key, initial, ttl, Asking::no);
  }
  /// One atomic script for all of `keys` (one round trip: every counter moves or none),
  /// followed by WAIT with wait_replicas as increment is. Only for keys on this one
  /// server: a Redis Cluster calls increment per key.
  std::vector<CounterIncrement> increment_many(std::span<const std::string_view> keys,
                                               std::uint64_t delta) override;
  bool batches_increments() const noexcept override { return true; }
  std::vector<ServerStats> server_stats() override;
  std::size_t max_value_size() const noexcept override { return config_.max_value_size; }
  std::string describe() const override { return config_.description; }

  // The single-key calls, sent after ASKING when `asking` says so.
  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
           Asking asking);
  bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
           Asking asking);
  bool remove(std::string_view key, Asking asking);
  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta, Asking asking);
  bool create_counter(std::string_view key, std::uint64_t initial, std::chrono::milliseconds ttl,
                      Asking asking);

  const RedisConfig& config() const noexcept { return config_; }
  RedisPool& pool() noexcept { return pool_; }

  /// Appends `MGET keys...` to what `connection` sends next.
  static void write_mget(RedisConnection& connection, std::span<const std::string_view> keys);
  /// Checks the reply to an MGET of `count` keys: throws redis_redirect_error for MOVED or
  /// ASK, backend_error for another error reply or a reply of the wrong shape (and then
  /// marks `connection` broken).
  void check_mget_reply(RedisConnection& connection, const redisReply& reply, std::size_t count,
                        std::string_view operation) const;

 private:
  template <typename Found>
  void read_values(std::span<const std::string_view> keys, std::string_view operation,
                   Found&& found);
  void check_value_size(std::string_view value, std::string_view operation) const;
  std::uint64_t parse_counter(RedisConnection& connection, std::string_view text) const;
  void check_not_error(const redisReply& reply, std::string_view operation) const;
  [[noreturn]] void unexpected(RedisConnection& connection, const redisReply& reply,
                               std::string_view operation, std::string_view expected) const;
  bool remove_key(std::string_view key, std::string_view operation, Asking asking);
  bool store_if_absent(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                       std::string_view operation, Asking asking, WaitForReplicas wait);
  std::pair<Reply, Reply> send_with_wait(RedisConnection& connection, std::string_view operation);
  void check_replicated(RedisConnection& connection, const redisReply* replicated,
                        std::string_view operation) const;

  RedisConfig config_;  // outlives pool_, which refers to it
  RedisPool pool_;
  std::string script_sha1_;
  std::string many_script_sha1_;
  std::string wait_replicas_;
  std::string wait_timeout_;
};

}  // namespace gencache::detail
