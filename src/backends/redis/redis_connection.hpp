#pragma once
// Internal: one connection to a Redis server, used by one call at a time.

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "backends/redis/redis_config.hpp"
#include "backends/redis/resp.hpp"
#include "gencache/error.hpp"

namespace gencache::detail {

struct ReplyFree {
  void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
/// A reply read from the server (never null).
using Reply = std::unique_ptr<redisReply, ReplyFree>;

/// A blocking hiredis connection with the configured timeouts, authenticated and on the
/// configured database. hiredis parses the replies; commands are written here, with
/// MSG_NOSIGNAL, because hiredis 0.14 writes with write(2), and a write to a connection
/// the server closed would raise SIGPIPE and kill the host process.
///
/// Any send or receive failure marks the connection broken: whatever the server might
/// still answer to it must never be read as the reply to a later command.
class RedisConnection {
 public:
  /// Connects within connect_timeout, sends AUTH and SELECT as `config` says, then sets
  /// io_timeout for every later send and receive. Throws backend_error naming
  /// config.description and `operation`, the call that needed the connection, with the
  /// step that failed, in words ("connecting: Connection refused", "logging in: WRONGPASS ...",
  /// "selecting database 99: ERR ...").
  /// `config` must outlive the connection.
  RedisConnection(const RedisConfig& config, std::string_view operation);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// Appends a command to those the next send() sends.
  RespWriter command() noexcept { return RespWriter(pending_); }
  /// Appends ASKING (Redis Cluster: the next command is for a slot being imported here,
  /// after an ASK redirect); receive() checks and drops its +OK before the next reply.
  void ask_next() {
    command().begin(1).arg("ASKING");
    ++unread_asking_;
  }
  /// Sends the commands written since the last send (all in one write when they fit).
  void send(std::string_view operation);
  /// Reads the next reply, waiting at most io_timeout for each piece of it.
  Reply receive(std::string_view operation);
  /// The description of the server, for messages.
  const std::string& description() const noexcept { return config_.description; }
  /// send(), then the one reply.
  Reply round_trip(std::string_view operation) {
    send(operation);
    return receive(operation);
  }

  /// Marks the connection unusable, after a reply that makes its state doubtful.
  void mark_broken() noexcept { broken_ = true; }
  bool broken() const noexcept { return broken_; }
  /// Whether a connection taken from the pool can serve a call: it has not failed, holds
  /// no unsent command, and the server neither closed it (a restart, an idle `timeout`)
  /// nor sent anything unasked (with the last reply, or while it sat idle).
  bool usable_when_idle() const noexcept;

 private:
  [[noreturn]] void fail(std::string_view operation, int saved_errno);
  [[noreturn]] void throw_error(std::string_view operation, errc code,
                                std::string_view account) const;
  void set_timeout(std::string_view name, std::chrono::milliseconds timeout,
                   std::string_view operation);
  void authenticate_and_select(std::string_view operation);

  const RedisConfig& config_;
  redisContext* context_ = nullptr;
  std::string pending_;                   // commands not yet sent, reused between calls
  std::string_view step_ = "connecting";  // while connecting, the step under way; then empty
  std::string_view timeout_name_ = "connect_timeout";  // the timeout in force, for messages
  std::chrono::milliseconds timeout_;
  int unread_asking_ = 0;  // ASKING replies to drop before the next reply
  bool broken_ = false;
};

}  // namespace gencache::detail
