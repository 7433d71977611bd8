#pragma once
// A raw blocking hiredis connection, as an application without gencache would use it: the
// baseline of redis_bench and the pattern deletion of pattern_delete_bench.

#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace gencache::bench {

struct ReplyFree {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

class RawRedis {
 public:
  explicit RawRedis(std::uint16_t port) : context_(redisConnect("127.0.0.1", port)) {
    if (context_ == nullptr || context_->err != 0)
      throw std::runtime_error(fmt::format("raw hiredis cannot connect to port {}", port));
  }
  ~RawRedis() { redisFree(context_); }
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  /// One command; throws on an I/O failure or an error reply.
  Reply run(std::span<const std::string_view> args) {
    std::vector<const char*> pointers;
    std::vector<std::size_t> lengths;
    for (std::string_view arg : args) {
      pointers.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    Reply reply(static_cast<redisReply*>(redisCommandArgv(context_, static_cast<int>(args.size()),
                                                          pointers.data(), lengths.data())));
    check(reply.get());
    return reply;
  }
  Reply run(std::initializer_list<std::string_view> args) {
    return run(std::span(args.begin(), args.size()));
  }

  /// Queues a SET without waiting for its reply; finish() collects the replies (every
  /// `pipeline` commands it does so by itself).
  void append_set(std::string_view key, std::string_view value, std::size_t pipeline = 1000) {
    const char* argv[] = {"SET", key.data(), value.data()};
    const std::size_t lengths[] = {3, key.size(), value.size()};
    redisAppendCommandArgv(context_, 3, argv, lengths);
    if (++pending_ >= pipeline) finish();
  }

  void finish() {
    for (; pending_ > 0; --pending_) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK) check(nullptr);
      Reply reply(static_cast<redisReply*>(raw));
      check(reply.get());
    }
  }

 private:
  void check(const redisReply* reply) const {
    if (reply == nullptr)
      throw std::runtime_error(fmt::format("raw hiredis: {}", context_->errstr));
    if (reply->type == REDIS_REPLY_ERROR)
      throw std::runtime_error(
          fmt::format("raw hiredis: {}", std::string_view(reply->str, reply->len)));
  }

  redisContext* context_;
  std::size_t pending_ = 0;
};

}  // namespace gencache::bench
