// The asynchronous Redis backend: RESP requests over pipelined connections.

#include "gencache/redis_async_backend.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "backends/redis/async/resp_reply_reader.hpp"
#include "backends/redis/counter_script.hpp"
#include "backends/redis/redis_config.hpp"
#include "backends/redis/redis_errors.hpp"
#include "backends/redis/resp.hpp"
#include "gencache/error.hpp"
#include "net/pipelined_connection.hpp"
#include "net/tls_context.hpp"

namespace gencache {
namespace {

using detail::Reply;

constexpr std::size_t kMostConnections = 64;
// Longer TTLs are capped: Redis refuses an expiry time that overflows when added to now.
constexpr std::int64_t kLongestTtlMs = std::int64_t{1} << 62;

std::string_view text_of(const redisReply& reply) noexcept {
  return {reply.str, reply.len};
}

std::string px_of(std::chrono::milliseconds ttl) {
  if (ttl.count() == 0) return {};
  return std::to_string(std::min<std::int64_t>(ttl.count(), kLongestTtlMs));
}

// What every failure message of one call starts with.
struct CallContext {
  std::shared_ptr<const std::string> server;
  std::string_view operation;

  [[noreturn]] void fail(errc code, std::string_view account) const {
    detail::throw_redis_error(*server, operation, code, account);
  }
  void check_not_error(const redisReply& reply) const {
    if (reply.type == REDIS_REPLY_ERROR)
      fail(detail::redis_reply_errc(text_of(reply)), text_of(reply));
  }
  [[noreturn]] void unexpected(std::string_view expected) const {
    fail(errc::protocol, fmt::format("expected {}", expected));
  }
  // A failure of the connection ("redis://h:p: no reply within ..."), told as this call's.
  std::exception_ptr as_call_failure(std::exception_ptr failure,
                                     std::string_view connection) const {
    try {
      std::rethrow_exception(failure);
    } catch (const backend_error& e) {
      std::string_view why = e.what();
      if (why.starts_with(connection) && why.substr(connection.size()).starts_with(": "))
        why.remove_prefix(connection.size() + 2);
      return std::make_exception_ptr(
          backend_error(e.code(), fmt::format("{}: {} failed: {}", *server,
                                              detail::redis_operation_words(operation), why)));
    } catch (...) {
      return std::current_exception();
    }
  }
};

// One request: its RESP bytes, how many replies it gets, and what they mean to its caller.
template <class Finish>
class RespRequest final : public net::PipelinedRequest {
 public:
  RespRequest(const CallContext& context, std::shared_ptr<const std::string> connection,
              std::string command, std::size_t replies, Finish finish)
      : context_(context),
        connection_(std::move(connection)),
        command_(std::move(command)),
        wanted_(replies),
        finish_(std::move(finish)) {}

  void write(std::string& out) override { out.append(command_); }
  net::ReplyProgress read_reply(std::string_view input) override {
    return reader_.read(input, wanted_, replies_);
  }
  void complete(std::exception_ptr failure) noexcept override {
    if (failure) failure = context_.as_call_failure(std::move(failure), *connection_);
    finish_(std::move(failure), replies_);
  }

 private:
  CallContext context_;
  std::shared_ptr<const std::string> connection_;  // what the connection's messages start with
  std::string command_;
  std::size_t wanted_;
  Finish finish_;
  detail::RespReplyReader reader_;
  std::vector<Reply> replies_;
};

// AUTH and SELECT, sent first on every new connection. A refusal closes the connection:
// nothing sent on it may run unauthenticated or on the wrong database.
std::unique_ptr<net::PipelinedRequest> greeting(const detail::RedisConfig& config) {
  std::string command;
  std::size_t replies = 0;
  detail::RespWriter writer(command);
  if (!config.password.empty()) {
    if (config.username.empty())
      writer.begin(2).arg("AUTH").arg(config.password);
    else
      writer.begin(3).arg("AUTH").arg(config.username).arg(config.password);
    ++replies;
  }
  if (config.db != 0) {
    writer.begin(2).arg("SELECT").arg(std::to_string(config.db));
    ++replies;
  }
  class Greeting final : public net::PipelinedRequest {
   public:
    Greeting(std::string command, std::size_t replies, bool auth)
        : command_(std::move(command)), wanted_(replies), auth_(auth) {}
    void write(std::string& out) override { out.append(command_); }
    net::ReplyProgress read_reply(std::string_view input) override {
      const net::ReplyProgress progress = reader_.read(input, wanted_, replies_);
      if (progress.done)
        for (std::size_t i = 0; i < replies_.size(); ++i)
          if (replies_[i]->type != REDIS_REPLY_STATUS)
            throw std::runtime_error(fmt::format(
                "{} refused: {}", i == 0 && auth_ ? "AUTH" : "SELECT",
                replies_[i]->type == REDIS_REPLY_ERROR ? text_of(*replies_[i]) : "not a status"));
      return progress;
    }
    void complete(std::exception_ptr) noexcept override {}

   private:
    std::string command_;
    std::size_t wanted_;
    bool auth_;
    detail::RespReplyReader reader_;
    std::vector<Reply> replies_;
  };
  return std::make_unique<Greeting>(std::move(command), replies, !config.password.empty());
}

class RedisAsyncBackend final : public AsyncBackend {
 public:
  RedisAsyncBackend(boost::asio::any_io_executor executor, detail::RedisConfig config,
                    const RedisAsyncOptions& options)
      : config_(std::move(config)),
        description_(std::make_shared<const std::string>(config_.description +
                                                         (options.tls.enabled ? " (TLS)" : ""))),
        connection_description_(std::make_shared<const std::string>(config_.description)),
        wait_replicas_(std::to_string(config_.wait_replicas)),
        wait_timeout_(std::to_string(config_.wait_timeout.count())) {
    net::ConnectionSettings settings;
    settings.host = config_.host;
    settings.port = config_.port;
    settings.description = config_.description;
    settings.connect_timeout = config_.connect_timeout;
    settings.io_timeout = config_.io_timeout;
    if (options.tls.enabled) {
      settings.tls = net::make_tls_context(options.tls, "rediss");
      settings.tls_server_name =
          options.tls.server_name.empty() ? config_.host : options.tls.server_name;
      settings.tls_verify = options.tls.verify;
    }
    if (!config_.password.empty() || config_.db != 0) {
      // Its own copy: a connection may outlive the backend by a few handlers.
      auto credentials = std::make_shared<const detail::RedisConfig>(config_);
      settings.greeting = [credentials] { return greeting(*credentials); };
    }
    for (std::size_t c = 0; c < options.connections; ++c)
      connections_.push_back(net::PipelinedConnection::create(executor, settings));
  }

  ~RedisAsyncBackend() override {
    for (auto& connection : connections_) connection->close();
  }

  void async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                        handler<void(std::exception_ptr)> done) override {
    if (keys.empty()) return std::move(done)(nullptr);
    std::string command;
    auto mget = detail::RespWriter(command).begin(keys.size() + 1).arg("MGET");
    for (std::string_view key : keys) mget.arg(key);
    const CallContext context{description_, "visit_many"};
    const std::size_t count = keys.size();
    submit(context, std::move(command), 1,
           [context, count, &visitor, done = std::move(done)](std::exception_ptr failure,
                                                              std::vector<Reply>& replies) mutable {
             if (!failure) failure = visit(context, *replies[0], count, visitor);
             std::move(done)(std::move(failure));
           });
  }

  void async_set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr)> done) override {
    const CallContext context{description_, "set"};
    if (auto refused = check_value_size(context, value)) return std::move(done)(refused);
    std::string command;
    detail::RespWriter writer(command);
    if (ttl.count() < 0) {  // stored already expired: nothing is left
      writer.begin(2).arg("DEL").arg(key);
    } else {
      const std::string px = px_of(ttl);
      writer.begin(px.empty() ? 3 : 5).arg("SET").arg(key).arg(value);
      if (!px.empty()) writer.arg("PX").arg(px);
    }
    const bool deleting = ttl.count() < 0;
    submit(context, std::move(command), 1,
           [context, deleting, done = std::move(done)](std::exception_ptr failure,
                                                       std::vector<Reply>& replies) mutable {
             if (!failure)
               failure = capture([&] {
                 context.check_not_error(*replies[0]);
                 if (replies[0]->type != (deleting ? REDIS_REPLY_INTEGER : REDIS_REPLY_STATUS))
                   context.unexpected(deleting ? "an integer" : "a status");
               });
             std::move(done)(std::move(failure));
           });
  }

  void async_add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr, bool)> done) override {
    const CallContext context{description_, "add"};
    if (auto refused = check_value_size(context, value)) return std::move(done)(refused, false);
    store_if_absent(context, key, value, ttl, false, std::move(done));
  }

  void async_remove(std::string_view key, handler<void(std::exception_ptr, bool)> done) override {
    const CallContext context{description_, "remove"};
    std::string command;
    detail::RespWriter(command).begin(2).arg("DEL").arg(key);
    submit(context, std::move(command), 1,
           [context, done = std::move(done)](std::exception_ptr failure,
                                             std::vector<Reply>& replies) mutable {
             bool removed = false;
             if (!failure)
               failure = capture([&] {
                 context.check_not_error(*replies[0]);
                 if (replies[0]->type != REDIS_REPLY_INTEGER) context.unexpected("an integer");
                 removed = replies[0]->integer > 0;
               });
             std::move(done)(std::move(failure), removed);
           });
  }

  void async_increment(
      std::string_view key, std::uint64_t delta,
      handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) override {
    const CallContext context{description_, "increment"};
    std::string command;
    detail::RespWriter(command)
        .begin(5)
        .arg("EVAL")
        .arg(detail::kIncrementIfExistsScript)
        .arg("1")
        .arg(key)
        .arg(std::to_string(delta));
    const std::size_t replies = append_wait(command);
    submit(context, std::move(command), replies,
           [wait = wait_policy(), context, done = std::move(done)](
               std::exception_ptr failure, std::vector<Reply>& got) mutable {
             std::optional<std::uint64_t> value;
             if (!failure)
               failure = capture([&] {
                 const redisReply& reply = *got[0];
                 context.check_not_error(reply);
                 if (reply.type == REDIS_REPLY_NIL) return;  // nothing written to wait for
                 if (reply.type != REDIS_REPLY_STRING)
                   context.unexpected("the new value as a bulk string, or nil");
                 std::uint64_t parsed = 0;
                 const std::string_view text = text_of(reply);
                 const auto [end, ec] =
                     std::from_chars(text.data(), text.data() + text.size(), parsed);
                 if (ec != std::errc() || end != text.data() + text.size() || text.empty())
                   context.unexpected("the new value in decimal");
                 check_replicated(context, got, wait);
                 value = parsed;
               });
             std::move(done)(std::move(failure), value);
           });
  }

  void async_create_counter(std::string_view key, std::uint64_t initial,
                            std::chrono::milliseconds ttl,
                            handler<void(std::exception_ptr, bool)> done) override {
    const CallContext context{description_, "create_counter"};
    store_if_absent(context, key, std::to_string(initial), ttl, true, std::move(done));
  }

  std::size_t max_value_size() const noexcept override { return config_.max_value_size; }
  std::string describe() const override { return *description_; }

 private:
  template <class Call>
  static std::exception_ptr capture(Call&& call) noexcept {
    try {
      call();
      return nullptr;
    } catch (...) {
      return std::current_exception();
    }
  }

  static std::exception_ptr visit(const CallContext& context, const redisReply& reply,
                                  std::size_t count, ValueVisitor& visitor) noexcept {
    // The whole reply is checked before the first value is handed over.
    std::exception_ptr failure = capture([&] {
      context.check_not_error(reply);
      if (reply.type != REDIS_REPLY_ARRAY || reply.elements != count)
        context.unexpected(fmt::format("an array of {} values", count));
      for (std::size_t i = 0; i < count; ++i)
        if (reply.element[i]->type != REDIS_REPLY_STRING &&
            reply.element[i]->type != REDIS_REPLY_NIL)
          context.unexpected("a bulk string or nil for each key");
    });
    if (failure) return failure;
    for (std::size_t i = 0; i < count; ++i)
      if (reply.element[i]->type == REDIS_REPLY_STRING)
        visitor.found(i, text_of(*reply.element[i]));
    return nullptr;
  }

  std::exception_ptr check_value_size(const CallContext& context, std::string_view value) const {
    // Room for the Cache's entry header beyond the value's limit (kEntryHeaderAllowance).
    if (value.size() <= config_.max_value_size + kEntryHeaderAllowance) return nullptr;
    return std::make_exception_ptr(backend_error(
        errc::value_too_large,
        fmt::format("{}: {} refused a value of {} bytes: the limit is {} bytes (max_item_bytes)",
                    *context.server, detail::redis_operation_words(context.operation), value.size(),
                    config_.max_value_size)));
  }

  // WAIT after a counter write, with wait_replicas; the replies the request then gets.
  std::size_t append_wait(std::string& command) const {
    if (config_.wait_replicas == 0) return 1;
    detail::RespWriter(command).begin(3).arg("WAIT").arg(wait_replicas_).arg(wait_timeout_);
    return 2;
  }

  // A counter write that fewer than wait_replicas replicas acknowledged may vanish in a
  // failover, bringing back what it invalidated: it must not count as done.
  struct WaitPolicy {
    std::uint32_t replicas;
    std::chrono::milliseconds timeout;
  };
  WaitPolicy wait_policy() const { return {config_.wait_replicas, config_.wait_timeout}; }

  static void check_replicated(const CallContext& context, const std::vector<Reply>& replies,
                               WaitPolicy wait) {
    if (replies.size() < 2) return;
    const redisReply& acks = *replies[1];
    context.check_not_error(acks);
    if (acks.type != REDIS_REPLY_INTEGER) context.unexpected("WAIT's count of replicas");
    if (acks.integer < static_cast<long long>(wait.replicas))
      context.fail(errc::timeout,
                   fmt::format("{} of wait_replicas {} replicas acknowledged the counter write "
                               "within wait_timeout {} (it may be applied on the master alone)",
                               acks.integer, wait.replicas, wait.timeout));
  }

  void store_if_absent(const CallContext& context, std::string_view key, std::string_view value,
                       std::chrono::milliseconds ttl, bool counter,
                       handler<void(std::exception_ptr, bool)> done) {
    std::string command;
    detail::RespWriter writer(command);
    const bool expired = ttl.count() < 0;
    std::size_t replies = 1;
    if (expired) {
      // An item stored already expired is gone at once: only whether `key` was free shows.
      writer.begin(2).arg("EXISTS").arg(key);
    } else {
      const std::string px = px_of(ttl);
      writer.begin(px.empty() ? 4 : 6).arg("SET").arg(key).arg(value).arg("NX");
      if (!px.empty()) writer.arg("PX").arg(px);
      if (counter) replies = append_wait(command);
    }
    submit(context, std::move(command), replies,
           [wait = wait_policy(), context, expired, done = std::move(done)](
               std::exception_ptr failure, std::vector<Reply>& got) mutable {
             bool stored = false;
             if (!failure)
               failure = capture([&] {
                 const redisReply& reply = *got[0];
                 context.check_not_error(reply);
                 if (expired) {
                   if (reply.type != REDIS_REPLY_INTEGER) context.unexpected("an integer");
                   stored = reply.integer == 0;
                   return;
                 }
                 if (reply.type == REDIS_REPLY_NIL) return;
                 if (reply.type != REDIS_REPLY_STATUS) context.unexpected("a status or nil");
                 check_replicated(context, got, wait);
                 stored = true;
               });
             std::move(done)(std::move(failure), stored);
           });
  }

  template <class Finish>
  void submit(const CallContext& context, std::string command, std::size_t replies, Finish finish) {
    connections_[next_.fetch_add(1, std::memory_order_relaxed) % connections_.size()]->submit(
        std::make_unique<RespRequest<Finish>>(context, connection_description_, std::move(command),
                                              replies, std::move(finish)));
  }

  const detail::RedisConfig config_;
  std::shared_ptr<const std::string> description_;
  // What the connections start their messages with; shared, as they may outlive us.
  std::shared_ptr<const std::string> connection_description_;
  std::string wait_replicas_;
  std::string wait_timeout_;
  std::vector<std::shared_ptr<net::PipelinedConnection>> connections_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace

std::shared_ptr<AsyncBackend> make_redis_async_backend(boost::asio::any_io_executor executor,
                                                       RedisAsyncOptions options) {
  if (options.connections < 1 || options.connections > kMostConnections)
    throw config_error(fmt::format("redis option connections: {} is out of range; expected 1 to {}",
                                   options.connections, kMostConnections));
  detail::RedisConfig config = detail::make_redis_config(options.server);
  return std::make_shared<RedisAsyncBackend>(std::move(executor), std::move(config), options);
}

}  // namespace gencache
