#include "gencache/redis_backend.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "backends/redis/counter_script.hpp"
#include "backends/redis/redis_config.hpp"
#include "backends/redis/redis_errors.hpp"
#include "backends/redis/redis_pool.hpp"
#include "gencache/error.hpp"

namespace gencache {
namespace {

using detail::RedisConnection;
using detail::Reply;

// Longer TTLs are capped: Redis refuses an expiry time that overflows when added to now.
constexpr std::int64_t kLongestTtlMs = std::int64_t{1} << 62;

std::string_view text_of(const redisReply& reply) noexcept {
  return {reply.str, reply.len};
}

std::string_view type_name(int type) noexcept {
  switch (type) {
    case REDIS_REPLY_STRING:
      return "a bulk string";
    case REDIS_REPLY_ARRAY:
      return "an array";
    case REDIS_REPLY_INTEGER:
      return "an integer";
    case REDIS_REPLY_NIL:
      return "nil";
    case REDIS_REPLY_STATUS:
      return "a status";
    case REDIS_REPLY_ERROR:
      return "an error";
    default:
      return "an unknown reply";
  }
}

// Whether a write waits for wait_replicas acknowledgements (counter writes do).
enum class WaitForReplicas { no, yes };

class RedisBackend final : public Backend {
 public:
  explicit RedisBackend(detail::RedisConfig config)
      : config_(std::move(config)),
        pool_(config_),
        script_sha1_(detail::script_sha1(detail::kIncrementIfExistsScript)) {}

  void get_many(std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) override {
    values.assign(keys.size(), std::nullopt);
    read_values(keys, "get_many",
                [&](std::size_t i, std::string_view value) { values[i].emplace(value); });
  }

  void visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) override {
    read_values(keys, "visit_many",
                [&](std::size_t i, std::string_view value) { visitor.found(i, value); });
  }

  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    check_value_size(value, "set");
    if (ttl.count() < 0) {  // stored already expired: nothing is left
      remove_key(key, "set");
      return;
    }
    auto lease = pool_.acquire("set");
    const std::string px = px_of(ttl);
    auto command = lease->command().begin(px.empty() ? 3 : 5).arg("SET").arg(key).arg(value);
    if (!px.empty()) command.arg("PX").arg(px);
    const Reply reply = lease->round_trip("set");
    check_not_error(*reply, "set");
    if (reply->type != REDIS_REPLY_STATUS) unexpected(*lease, *reply, "set", "a status");
  }

  bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    check_value_size(value, "add");
    return store_if_absent(key, value, ttl, "add");
  }

  bool remove(std::string_view key) override { return remove_key(key, "remove"); }

  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) override {
    auto lease = pool_.acquire("increment");
    const std::string by = std::to_string(delta);
    Reply reply;
    Reply replicated;
    if (!script_sha1_.empty()) {
      lease->command().begin(5).arg("EVALSHA").arg(script_sha1_).arg("1").arg(key).arg(by);
      std::tie(reply, replicated) = send_with_wait(*lease, "increment");
    }
    // The server lost its script cache (a restart, SCRIPT FLUSH): NOSCRIPT means nothing
    // ran, so sending the script itself is safe, and loads it for the next EVALSHA.
    if (reply == nullptr ||
        (reply->type == REDIS_REPLY_ERROR && text_of(*reply).starts_with("NOSCRIPT"))) {
      lease->command()
          .begin(5)
          .arg("EVAL")
          .arg(detail::kIncrementIfExistsScript)
          .arg("1")
          .arg(key)
          .arg(by);
      std::tie(reply, replicated) = send_with_wait(*lease, "increment");
    }
    check_not_error(*reply, "increment");
    if (reply->type == REDIS_REPLY_NIL) return std::nullopt;  // nothing written to wait for
    if (reply->type != REDIS_REPLY_STRING)
      unexpected(*lease, *reply, "increment", "the new value as a bulk string, or nil");
    const std::string_view text = text_of(*reply);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
      lease->mark_broken();
      detail::throw_redis_error(
          config_.description, "increment", errc::protocol,
          fmt::format("expected the new value in decimal, got '{}'", text.substr(0, 40)));
    }
    check_replicated(*lease, replicated.get(), "increment");
    return value;
  }

  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override {
    return store_if_absent(key, std::to_string(initial), ttl, "create_counter",
                           WaitForReplicas::yes);
  }

  std::size_t max_value_size() const noexcept override { return config_.max_value_size; }

  std::string describe() const override { return config_.description; }

 private:
  // The PX argument for `ttl`, or empty for no expiry.
  static std::string px_of(std::chrono::milliseconds ttl) {
    if (ttl.count() == 0) return {};
    return std::to_string(std::min<std::int64_t>(ttl.count(), kLongestTtlMs));
  }

  void check_value_size(std::string_view value, std::string_view operation) const {
    if (value.size() > config_.max_value_size)
      throw backend_error(
          errc::value_too_large,
          fmt::format("{}: {} refused a value of {} bytes: the limit is {} bytes "
                      "(max_item_bytes)",
                      config_.description, operation, value.size(), config_.max_value_size));
  }

  void check_not_error(const redisReply& reply, std::string_view operation) const {
    if (reply.type == REDIS_REPLY_ERROR)
      detail::throw_redis_error(config_.description, operation,
                                detail::redis_reply_errc(text_of(reply)), text_of(reply));
  }

  // A reply of the wrong shape: the connection's state is doubtful, so it is dropped.
  [[noreturn]] void unexpected(RedisConnection& connection, const redisReply& reply,
                               std::string_view operation, std::string_view expected) const {
    connection.mark_broken();
    detail::throw_redis_error(config_.description, operation, errc::protocol,
                              fmt::format("expected {}, got {}", expected, type_name(reply.type)));
  }

  // One MGET for `keys`; calls `found(i, value)` for each present `keys[i]`, with `value` a
  // view into the hiredis reply. The whole reply is checked before the first call, so a
  // reply of the wrong shape throws without having reported any value.
  template <typename Found>
  void read_values(std::span<const std::string_view> keys, std::string_view operation,
                   Found&& found) {
    if (keys.empty()) return;
    auto lease = pool_.acquire(operation);
    auto mget = lease->command().begin(keys.size() + 1).arg("MGET");
    for (std::string_view key : keys) mget.arg(key);
    const Reply reply = lease->round_trip(operation);
    check_not_error(*reply, operation);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != keys.size())
      unexpected(*lease, *reply, operation, fmt::format("an array of {} values", keys.size()));
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const redisReply& element = *reply->element[i];
      if (element.type != REDIS_REPLY_STRING && element.type != REDIS_REPLY_NIL)
        unexpected(*lease, element, operation, "a bulk string or nil for each key");
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const redisReply& element = *reply->element[i];
      if (element.type == REDIS_REPLY_STRING) found(i, text_of(element));
    }
  }

  bool remove_key(std::string_view key, std::string_view operation) {
    auto lease = pool_.acquire(operation);
    lease->command().begin(2).arg("DEL").arg(key);
    const Reply reply = lease->round_trip(operation);
    check_not_error(*reply, operation);
    if (reply->type != REDIS_REPLY_INTEGER) unexpected(*lease, *reply, operation, "an integer");
    return reply->integer > 0;
  }

  bool store_if_absent(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                       std::string_view operation, WaitForReplicas wait = WaitForReplicas::no) {
    auto lease = pool_.acquire(operation);
    if (ttl.count() < 0) {
      // An item stored already expired is gone at once: only whether `key` was free shows.
      lease->command().begin(2).arg("EXISTS").arg(key);
      const Reply reply = lease->round_trip(operation);
      check_not_error(*reply, operation);
      if (reply->type != REDIS_REPLY_INTEGER) unexpected(*lease, *reply, operation, "an integer");
      return reply->integer == 0;
    }
    const std::string px = px_of(ttl);
    auto command =
        lease->command().begin(px.empty() ? 4 : 6).arg("SET").arg(key).arg(value).arg("NX");
    if (!px.empty()) command.arg("PX").arg(px);
    const auto [reply, replicated] = wait == WaitForReplicas::yes
                                         ? send_with_wait(*lease, operation)
                                         : std::pair(lease->round_trip(operation), Reply());
    check_not_error(*reply, operation);
    if (reply->type == REDIS_REPLY_NIL) return false;
    if (reply->type != REDIS_REPLY_STATUS) unexpected(*lease, *reply, operation, "a status or nil");
    check_replicated(*lease, replicated.get(), operation);
    return true;
  }

  // Sends the command just written, followed (with wait_replicas) by WAIT in the same
  // write: the command's reply, then WAIT's (null without wait_replicas).
  std::pair<Reply, Reply> send_with_wait(RedisConnection& connection, std::string_view operation) {
    if (config_.wait_replicas != 0)
      connection.command().begin(3).arg("WAIT").arg(wait_replicas_).arg(wait_timeout_);
    connection.send(operation);
    Reply reply = connection.receive(operation);
    Reply replicated = config_.wait_replicas != 0 ? connection.receive(operation) : Reply();
    return {std::move(reply), std::move(replicated)};
  }

  // A counter write that fewer than wait_replicas replicas acknowledged may vanish in a
  // failover, bringing back what it invalidated: it must not count as done.
  void check_replicated(RedisConnection& connection, const redisReply* replicated,
                        std::string_view operation) const {
    if (replicated == nullptr) return;
    check_not_error(*replicated, operation);
    if (replicated->type != REDIS_REPLY_INTEGER)
      unexpected(connection, *replicated, operation, "WAIT's count of replicas, an integer");
    if (replicated->integer < static_cast<long long>(config_.wait_replicas))
      detail::throw_redis_error(
          config_.description, operation, errc::timeout,
          fmt::format("{} of wait_replicas {} replicas acknowledged the counter write within "
                      "wait_timeout {} (it may be applied on the master alone)",
                      replicated->integer, config_.wait_replicas, config_.wait_timeout));
  }

  detail::RedisConfig config_;  // outlives pool_, which refers to it
  detail::RedisPool pool_;
  std::string script_sha1_;
  std::string wait_replicas_ = std::to_string(config_.wait_replicas);
  std::string wait_timeout_ = std::to_string(config_.wait_timeout.count());
};

}  // namespace

std::shared_ptr<Backend> make_redis_backend(RedisOptions options) {
  return std::make_shared<RedisBackend>(detail::make_redis_config(options));
}

}  // namespace gencache
