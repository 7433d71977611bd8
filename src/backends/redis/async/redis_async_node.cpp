// One Redis server for the asynchronous client: RESP requests over pipelined connections.

#include "backends/redis/async/redis_async_node.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "backends/redis/async/resp_reply_reader.hpp"
#include "backends/redis/counter_script.hpp"
#include "backends/redis/resp.hpp"
#include "gencache/error.hpp"
#include "net/tls_context.hpp"

namespace gencache::detail {
// Named, not anonymous: the library is a unity build, and redis_node.cpp has helpers of
// the same names in an anonymous namespace of gencache::detail.
namespace async_node {

// Longer TTLs are capped: Redis refuses an expiry time that overflows when added to now.
constexpr std::int64_t kLongestTtlMs = std::int64_t{1} << 62;

std::string_view text_of(const redisReply& reply) noexcept {
  return {reply.str, reply.len};
}

std::string px_of(std::chrono::milliseconds ttl) {
  if (ttl.count() == 0) return {};
  return std::to_string(std::min<std::int64_t>(ttl.count(), kLongestTtlMs));
}

template <class Call>
std::exception_ptr capture(Call&& call) noexcept {
  try {
    call();
    return nullptr;
  } catch (...) {
    return std::current_exception();
  }
}

// What every failure message of one call starts with.
struct CallContext {
  std::shared_ptr<const std::string> server;
  std::string_view operation;

  [[noreturn]] void fail(errc code, std::string_view account) const {
    throw_redis_error(*server, operation, code, account);
  }
  // A MOVED or ASK reply throws redis_redirect_error, for a cluster client to follow.
  void check_not_error(const redisReply& reply) const {
    if (reply.type != REDIS_REPLY_ERROR) return;
    const std::string_view text = text_of(reply);
    if (auto redirect = parse_redis_redirect(text))
      throw redis_redirect_error(
          std::move(*redirect),
          fmt::format("{}: {} failed: {}", *server, redis_operation_words(operation), text));
    fail(redis_reply_errc(text), text);
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
      return std::make_exception_ptr(backend_error(
          e.code(),
          fmt::format("{}: {} failed: {}", *server, redis_operation_words(operation), why)));
    } catch (...) {
      return std::current_exception();
    }
  }
};

// One request: its RESP bytes, how many replies it gets, and what they mean to its
// caller. `skipped` replies come first and are dropped (ASKING's +OK).
template <class Finish>
class RespRequest final : public net::PipelinedRequest {
 public:
  RespRequest(const CallContext& context, std::shared_ptr<const std::string> connection,
              std::string command, std::size_t replies, std::size_t skipped, Finish finish)
      : context_(context),
        connection_(std::move(connection)),
        command_(std::move(command)),
        wanted_(replies + skipped),
        skipped_(skipped),
        finish_(std::move(finish)) {}

  void write(std::string& out) override { out.append(command_); }
  net::ReplyProgress read_reply(std::string_view input) override {
    return reader_.read(input, wanted_, replies_);
  }
  void complete(std::exception_ptr failure) noexcept override {
    if (failure) failure = context_.as_call_failure(std::move(failure), *connection_);
    if (!failure && skipped_ > 0)
      replies_.erase(replies_.begin(), replies_.begin() + static_cast<std::ptrdiff_t>(skipped_));
    finish_(context_, std::move(failure), replies_);
  }

 private:
  CallContext context_;
  std::shared_ptr<const std::string> connection_;  // what the connection's messages start with
  std::string command_;
  std::size_t wanted_;
  std::size_t skipped_;
  Finish finish_;
  RespReplyReader reader_;
  std::vector<Reply> replies_;
};

// AUTH and SELECT, sent first on every new connection. A refusal closes the connection:
// nothing sent on it may run unauthenticated or on the wrong database.
std::unique_ptr<net::PipelinedRequest> greeting(const RedisConfig& config) {
  std::string command;
  std::size_t replies = 0;
  RespWriter writer(command);
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
    RespReplyReader reader_;
    std::vector<Reply> replies_;
  };
  return std::make_unique<Greeting>(std::move(command), replies, !config.password.empty());
}

// A counter write that fewer than wait_replicas replicas acknowledged may vanish in a
// failover, bringing back what it invalidated: it must not count as done.
struct WaitPolicy {
  std::uint32_t replicas;
  std::chrono::milliseconds timeout;
};

void check_replicated(const CallContext& context, const std::vector<Reply>& replies,
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

}  // namespace async_node

RedisNodeTls make_redis_node_tls(const TlsOptions& options) {
  RedisNodeTls tls;
  if (!options.enabled) return tls;
  tls.context = net::make_tls_context(options, "rediss");
  tls.server_name = options.server_name;
  tls.verify = options.verify;
  return tls;
}

RedisAsyncNode::RedisAsyncNode(boost::asio::any_io_executor executor, RedisConfig config,
                               std::size_t connections, const RedisNodeTls& tls)
    : config_(std::move(config)),
      description_(
          std::make_shared<const std::string>(config_.description + (tls.context ? " (TLS)" : ""))),
      connection_description_(std::make_shared<const std::string>(config_.description)),
      wait_replicas_(std::to_string(config_.wait_replicas)),
      wait_timeout_(std::to_string(config_.wait_timeout.count())) {
  net::ConnectionSettings settings;
  settings.host = config_.host;
  settings.port = config_.port;
  settings.description = config_.description;
  settings.connect_timeout = config_.connect_timeout;
  settings.io_timeout = config_.io_timeout;
  if (tls.context) {
    settings.tls = tls.context;
    settings.tls_server_name = tls.server_name.empty() ? config_.host : tls.server_name;
    settings.tls_verify = tls.verify;
  }
  if (!config_.password.empty() || config_.db != 0) {
    // Its own copy: a connection may outlive the node by a few handlers.
    auto credentials = std::make_shared<const RedisConfig>(config_);
    settings.greeting = [credentials] { return async_node::greeting(*credentials); };
  }
  for (std::size_t c = 0; c < connections; ++c)
    connections_.push_back(net::PipelinedConnection::create(executor, settings));
}

RedisAsyncNode::~RedisAsyncNode() {
  close();
}

void RedisAsyncNode::close() {
  for (auto& connection : connections_) connection->close();
}

template <class Finish>
void RedisAsyncNode::send(std::string_view operation, std::string command, std::size_t replies,
                          Asking asking, Finish finish) {
  std::size_t skipped = 0;
  if (asking == Asking::yes) {  // ASKING holds for the one command after it
    std::string asked;
    RespWriter(asked).begin(1).arg("ASKING");
    command.insert(0, asked);
    skipped = 1;
  }
  const async_node::CallContext context{description_, operation};
  connections_[next_.fetch_add(1, std::memory_order_relaxed) % connections_.size()]->submit(
      std::make_unique<async_node::RespRequest<Finish>>(context, connection_description_,
                                                        std::move(command), replies, skipped,
                                                        std::move(finish)));
}

void RedisAsyncNode::async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                                      handler<void(std::exception_ptr)> done) {
  if (keys.empty()) return std::move(done)(nullptr);
  mget(keys, Asking::no,
       [&visitor, done = std::move(done)](std::exception_ptr failure, Reply reply) mutable {
         if (!failure)
           for (std::size_t i = 0; i < reply->elements; ++i)
             if (reply->element[i]->type == REDIS_REPLY_STRING)
               visitor.found(i, async_node::text_of(*reply->element[i]));
         std::move(done)(std::move(failure));
       });
}

void RedisAsyncNode::mget(std::span<const std::string_view> keys, Asking asking,
                          handler<void(std::exception_ptr, Reply)> done) {
  std::string command;
  auto writer = RespWriter(command).begin(keys.size() + 1).arg("MGET");
  for (std::string_view key : keys) writer.arg(key);
  const std::size_t count = keys.size();
  send("visit_many", std::move(command), 1, asking,
       [count, done = std::move(done)](const async_node::CallContext& context,
                                       std::exception_ptr failure,
                                       std::vector<Reply>& replies) mutable {
         Reply reply;
         if (!failure)
           failure = async_node::capture([&] {
             // The whole reply is checked before the caller sees a value.
             const redisReply& got = *replies[0];
             context.check_not_error(got);
             if (got.type != REDIS_REPLY_ARRAY || got.elements != count)
               context.unexpected(fmt::format("an array of {} values", count));
             for (std::size_t i = 0; i < count; ++i)
               if (got.element[i]->type != REDIS_REPLY_STRING &&
                   got.element[i]->type != REDIS_REPLY_NIL)
                 context.unexpected("a bulk string or nil for each key");
             reply = std::move(replies[0]);
           });
         std::move(done)(std::move(failure), std::move(reply));
       });
}

void RedisAsyncNode::set(std::string_view key, std::string_view value,
                         std::chrono::milliseconds ttl, Asking asking,
                         handler<void(std::exception_ptr)> done) {
  if (auto refused = check_value_size("set", value)) return std::move(done)(refused);
  std::string command;
  RespWriter writer(command);
  const bool deleting = ttl.count() < 0;  // stored already expired: nothing is left
  if (deleting) {
    writer.begin(2).arg("DEL").arg(key);
  } else {
    const std::string px = async_node::px_of(ttl);
    writer.begin(px.empty() ? 3 : 5).arg("SET").arg(key).arg(value);
    if (!px.empty()) writer.arg("PX").arg(px);
  }
  send("set", std::move(command), 1, asking,
       [deleting, done = std::move(done)](const async_node::CallContext& context,
                                          std::exception_ptr failure,
                                          std::vector<Reply>& replies) mutable {
         if (!failure)
           failure = async_node::capture([&] {
             context.check_not_error(*replies[0]);
             if (replies[0]->type != (deleting ? REDIS_REPLY_INTEGER : REDIS_REPLY_STATUS))
               context.unexpected(deleting ? "an integer" : "a status");
           });
         std::move(done)(std::move(failure));
       });
}

void RedisAsyncNode::add(std::string_view key, std::string_view value,
                         std::chrono::milliseconds ttl, Asking asking,
                         handler<void(std::exception_ptr, bool)> done) {
  if (auto refused = check_value_size("add", value)) return std::move(done)(refused, false);
  store_if_absent("add", key, value, ttl, false, asking, std::move(done));
}

void RedisAsyncNode::remove(std::string_view key, Asking asking,
                            handler<void(std::exception_ptr, bool)> done) {
  std::string command;
  RespWriter(command).begin(2).arg("DEL").arg(key);
  send("remove", std::move(command), 1, asking,
       [done = std::move(done)](const async_node::CallContext& context, std::exception_ptr failure,
                                std::vector<Reply>& replies) mutable {
         bool removed = false;
         if (!failure)
           failure = async_node::capture([&] {
             context.check_not_error(*replies[0]);
             if (replies[0]->type != REDIS_REPLY_INTEGER) context.unexpected("an integer");
             removed = replies[0]->integer > 0;
           });
         std::move(done)(std::move(failure), removed);
       });
}

void RedisAsyncNode::increment(
    std::string_view key, std::uint64_t delta, Asking asking,
    handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) {
  std::string command;
  RespWriter(command)
      .begin(5)
      .arg("EVAL")
      .arg(kIncrementIfExistsScript)
      .arg("1")
      .arg(key)
      .arg(std::to_string(delta));
  const std::size_t replies = append_wait(command);
  const async_node::WaitPolicy wait{config_.wait_replicas, config_.wait_timeout};
  send("increment", std::move(command), replies, asking,
       [wait, done = std::move(done)](const async_node::CallContext& context,
                                      std::exception_ptr failure, std::vector<Reply>& got) mutable {
         std::optional<std::uint64_t> value;
         if (!failure)
           failure = async_node::capture([&] {
             const redisReply& reply = *got[0];
             context.check_not_error(reply);
             if (reply.type == REDIS_REPLY_NIL) return;  // nothing written to wait for
             if (reply.type != REDIS_REPLY_STRING)
               context.unexpected("the new value as a bulk string, or nil");
             std::uint64_t parsed = 0;
             const std::string_view text = async_node::text_of(reply);
             const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
             if (ec != std::errc() || end != text.data() + text.size() || text.empty())
               context.unexpected("the new value in decimal");
             async_node::check_replicated(context, got, wait);
             value = parsed;
           });
         std::move(done)(std::move(failure), value);
       });
}

void RedisAsyncNode::create_counter(std::string_view key, std::uint64_t initial,
                                    std::chrono::milliseconds ttl, Asking asking,
                                    handler<void(std::exception_ptr, bool)> done) {
  store_if_absent("create_counter", key, std::to_string(initial), ttl, true, asking,
                  std::move(done));
}

void RedisAsyncNode::cluster_slots(handler<void(std::exception_ptr, Reply)> done) {
  std::string command;
  RespWriter(command).begin(2).arg("CLUSTER").arg("SLOTS");
  send("reading the slot map", std::move(command), 1, Asking::no,
       [done = std::move(done)](const async_node::CallContext&, std::exception_ptr failure,
                                std::vector<Reply>& replies) mutable {
         Reply reply;
         if (!failure) reply = std::move(replies[0]);
         std::move(done)(std::move(failure), std::move(reply));
       });
}

void RedisAsyncNode::server_stats(handler<void(ServerStats)> done) {
  std::string command;
  RespWriter(command).begin(1).arg("INFO");
  std::string server = fmt::format("{}:{}", config_.host, config_.port);
  send("stats", std::move(command), 1, Asking::no,
       [server = std::move(server), done = std::move(done)](const async_node::CallContext& context,
                                                            std::exception_ptr failure,
                                                            std::vector<Reply>& replies) mutable {
         ServerStats stats;
         stats.server = std::move(server);
         if (!failure)
           failure = async_node::capture([&] {
             const redisReply& reply = *replies[0];
             context.check_not_error(reply);
             if (reply.type != REDIS_REPLY_STRING && reply.type != REDIS_REPLY_STATUS)
               context.unexpected("INFO's text");
             stats.values = parse_redis_info(async_node::text_of(reply));
           });
         if (failure) {
           try {
             std::rethrow_exception(failure);
           } catch (const std::exception& e) {
             stats.error = e.what();
           }
         }
         std::move(done)(std::move(stats));
       });
}

void RedisAsyncNode::async_server_stats(handler<void(std::vector<ServerStats>)> done) {
  server_stats([done = std::move(done)](ServerStats stats) mutable {
    std::vector<ServerStats> all;
    all.push_back(std::move(stats));
    std::move(done)(std::move(all));
  });
}

std::exception_ptr RedisAsyncNode::check_value_size(std::string_view operation,
                                                    std::string_view value) const {
  // Room for the Cache's entry header beyond the value's limit (kEntryHeaderAllowance).
  if (value.size() <= config_.max_value_size + kEntryHeaderAllowance) return nullptr;
  return std::make_exception_ptr(backend_error(
      errc::value_too_large,
      fmt::format("{}: {} refused a value of {} bytes: the limit is {} bytes (max_item_bytes)",
                  *description_, redis_operation_words(operation), value.size(),
                  config_.max_value_size)));
}

// WAIT after a counter write, with wait_replicas; the replies the request then gets.
std::size_t RedisAsyncNode::append_wait(std::string& command) const {
  if (config_.wait_replicas == 0) return 1;
  RespWriter(command).begin(3).arg("WAIT").arg(wait_replicas_).arg(wait_timeout_);
  return 2;
}

void RedisAsyncNode::store_if_absent(std::string_view operation, std::string_view key,
                                     std::string_view value, std::chrono::milliseconds ttl,
                                     bool counter, Asking asking,
                                     handler<void(std::exception_ptr, bool)> done) {
  std::string command;
  RespWriter writer(command);
  const bool expired = ttl.count() < 0;
  std::size_t replies = 1;
  if (expired) {
    // An item stored already expired is gone at once: only whether `key` was free shows.
    writer.begin(2).arg("EXISTS").arg(key);
  } else {
    const std::string px = async_node::px_of(ttl);
    writer.begin(px.empty() ? 4 : 6).arg("SET").arg(key).arg(value).arg("NX");
    if (!px.empty()) writer.arg("PX").arg(px);
    if (counter) replies = append_wait(command);
  }
  const async_node::WaitPolicy wait{config_.wait_replicas, config_.wait_timeout};
  send(operation, std::move(command), replies, asking,
       [wait, expired, done = std::move(done)](const async_node::CallContext& context,
                                               std::exception_ptr failure,
                                               std::vector<Reply>& got) mutable {
         bool stored = false;
         if (!failure)
           failure = async_node::capture([&] {
             const redisReply& reply = *got[0];
             context.check_not_error(reply);
             if (expired) {
               if (reply.type != REDIS_REPLY_INTEGER) context.unexpected("an integer");
               stored = reply.integer == 0;
               return;
             }
             if (reply.type == REDIS_REPLY_NIL) return;
             if (reply.type != REDIS_REPLY_STATUS) context.unexpected("a status or nil");
             async_node::check_replicated(context, got, wait);
             stored = true;
           });
         std::move(done)(std::move(failure), stored);
       });
}

}  // namespace gencache::detail
