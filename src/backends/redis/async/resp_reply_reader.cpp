#include "backends/redis/async/resp_reply_reader.hpp"

#include <new>
#include <stdexcept>

#include <fmt/format.h>

namespace gencache::detail {

RespReplyReader::RespReplyReader() : reader_(redisReaderCreate()) {
  if (reader_ == nullptr) throw std::bad_alloc();
}

RespReplyReader::~RespReplyReader() {
  redisReaderFree(reader_);
}

net::ReplyProgress RespReplyReader::read(std::string_view input, std::size_t wanted,
                                         std::vector<Reply>& out) {
  if (!input.empty() && redisReaderFeed(reader_, input.data(), input.size()) != REDIS_OK)
    throw std::bad_alloc();
  while (out.size() < wanted) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader_, &reply) != REDIS_OK)
      throw std::runtime_error(fmt::format("malformed reply: {}", reader_->errstr));
    if (reply == nullptr) return {input.size(), false};
    out.emplace_back(static_cast<redisReply*>(reply));
  }
  // Whatever the reader holds unparsed came after our last reply, in this input: it is
  // the next request's, and stays in the connection's buffer for it.
  const std::size_t unread = reader_->len - reader_->pos;
  return {input.size() - unread, true};
}

}  // namespace gencache::detail
