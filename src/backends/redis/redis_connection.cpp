#include "backends/redis/redis_connection.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <new>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "backends/redis/redis_errors.hpp"

namespace gencache::detail {
namespace {

// A command buffer grown past this by a large value is freed after use, so a pool of idle
// connections does not keep one large buffer each.
constexpr std::size_t kKeptBufferBytes = 64 * 1024;

timeval to_timeval(std::chrono::milliseconds timeout) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout - seconds);
  return {static_cast<time_t>(seconds.count()), static_cast<suseconds_t>(micros.count())};
}

std::string_view context_account(const redisContext* context) {
  const char* text = context->errstr;
  return text[0] != '\0' ? std::string_view(text) : std::string_view("unknown error");
}

}  // namespace

RedisConnection::RedisConnection(const RedisConfig& config, std::string_view operation)
    : config_(config), timeout_(config.connect_timeout) {
  context_ = redisConnectWithTimeout(config_.host.c_str(), config_.port,
                                     to_timeval(config_.connect_timeout));
  const int saved_errno = errno;
  if (context_ == nullptr) throw std::bad_alloc();
  if (context_->err != 0) {
    const errc code = redis_io_errc(context_->err, saved_errno);
    const std::string account =
        code == errc::timeout
            ? fmt::format("no connection within connect_timeout {}", config_.connect_timeout)
            : std::string(context_account(context_));
    redisFree(context_);
    context_ = nullptr;
    throw_error(operation, code, account);
  }
  // Not inherited by programs the host process starts.
  if (const int flags = fcntl(context_->fd, F_GETFD); flags >= 0)
    fcntl(context_->fd, F_SETFD, flags | FD_CLOEXEC);
  try {
    if (redisEnableKeepAlive(context_) != REDIS_OK) fail(operation, errno);
    if (!config_.password.empty() || config_.db != 0) {
      set_timeout("connect_timeout", config_.connect_timeout, operation);
      authenticate_and_select(operation);
    }
    set_timeout("io_timeout", config_.io_timeout, operation);
  } catch (...) {
    redisFree(context_);
    context_ = nullptr;
    throw;
  }
  step_ = {};
}

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) redisFree(context_);
}

void RedisConnection::set_timeout(std::string_view name, std::chrono::milliseconds timeout,
                                  std::string_view operation) {
  if (redisSetTimeout(context_, to_timeval(timeout)) != REDIS_OK) fail(operation, errno);
  timeout_name_ = name;
  timeout_ = timeout;
}

void RedisConnection::authenticate_and_select(std::string_view operation) {
  // One round trip for both.
  if (!config_.password.empty()) {
    if (config_.username.empty())
      command().begin(2).arg("AUTH").arg(config_.password);
    else
      command().begin(3).arg("AUTH").arg(config_.username).arg(config_.password);
  }
  const std::string db = std::to_string(config_.db);
  if (config_.db != 0) command().begin(2).arg("SELECT").arg(db);
  step_ = config_.password.empty() ? "SELECT" : "AUTH";
  send(operation);
  for (const std::string_view step : {"AUTH", "SELECT"}) {
    if (step == "AUTH" ? config_.password.empty() : config_.db == 0) continue;
    step_ = step;
    const Reply reply = receive(operation);
    if (reply->type == REDIS_REPLY_STATUS) continue;
    // A refused AUTH is answered by a refused SELECT too: the first error is the one to
    // tell, and the connection is dropped with whatever is left unread. Redis's own
    // messages never quote the password.
    broken_ = true;
    if (reply->type != REDIS_REPLY_ERROR)
      throw_error(operation, errc::protocol, "expected a status reply");
    const std::string_view text(reply->str, reply->len);
    throw_error(operation, redis_reply_errc(text), text);
  }
}

void RedisConnection::send(std::string_view operation) {
  std::size_t sent = 0;
  while (sent < pending_.size()) {
    const ssize_t n =
        ::send(context_->fd, pending_.data() + sent, pending_.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    const int saved_errno = errno;
    broken_ = true;
    pending_.clear();
    const errc code = redis_io_errc(REDIS_ERR_IO, saved_errno);
    throw_error(operation, code,
                code == errc::timeout
                    ? fmt::format("sending took longer than {} {}", timeout_name_, timeout_)
                    : fmt::format("sending: {}", std::strerror(saved_errno)));
  }
  pending_.clear();
  if (pending_.capacity() > kKeptBufferBytes) std::string().swap(pending_);
}

Reply RedisConnection::receive(std::string_view operation) {
  for (; unread_asking_ > 0; --unread_asking_) {
    void* asking = nullptr;
    if (redisGetReply(context_, &asking) != REDIS_OK || asking == nullptr) fail(operation, errno);
    const Reply answer(static_cast<redisReply*>(asking));
    if (answer->type != REDIS_REPLY_STATUS) {
      broken_ = true;
      throw_error(operation, errc::protocol, "ASKING was not answered with a status");
    }
  }
  void* reply = nullptr;
  if (redisGetReply(context_, &reply) != REDIS_OK || reply == nullptr) fail(operation, errno);
  return Reply(static_cast<redisReply*>(reply));
}

void RedisConnection::fail(std::string_view operation, int saved_errno) {
  broken_ = true;
  if (context_->err == REDIS_ERR_OOM) throw std::bad_alloc();
  const errc code = redis_io_errc(context_->err, saved_errno);
  if (code == errc::timeout)
    throw_error(operation, code, fmt::format("no reply within {} {}", timeout_name_, timeout_));
  throw_error(operation, code, context_account(context_));
}

void RedisConnection::throw_error(std::string_view operation, errc code,
                                  std::string_view account) const {
  if (step_.empty()) throw_redis_error(config_.description, operation, code, account);
  // The step in words, not the command: "selecting database 99: ERR DB index is out of range".
  const std::string step = step_ == "AUTH"     ? std::string("logging in")
                           : step_ == "SELECT" ? fmt::format("selecting database {}", config_.db)
                                               : std::string(step_);
  throw_redis_error(config_.description, operation, code, fmt::format("{}: {}", step, account));
}

bool RedisConnection::usable_when_idle() const noexcept {
  // A command left half written (an exception while building it) would prefix the next.
  if (broken_ || !pending_.empty() || unread_asking_ != 0) return false;
  // Bytes that arrived with the last reply but belong to no call (an answer to nothing
  // asked) sit in hiredis's buffer, out of poll's sight; the next call would read them.
  const redisReader* reader = context_->reader;
  if (reader != nullptr && reader->pos < reader->len) return false;
  pollfd idle{context_->fd, POLLIN | POLLRDHUP, 0};
  return poll(&idle, 1, 0) == 0;
}

}  // namespace gencache::detail
