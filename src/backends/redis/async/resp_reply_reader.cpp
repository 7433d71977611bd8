#include "backends/redis/async/resp_reply_reader.hpp"

#include <new>
#include <stdexcept>

#include <fmt/format.h>

namespace gencache::detail {
namespace {

// hiredis 0.14 allocates an array reply's element pointers as soon as it reads the
// header, so "*163868638\r\n" from a hostile or broken server cost 1.3 GB and seconds
// before a single element arrived (found by redis_reply_fuzzer). No reply gencache asks
// for comes near this many elements: an MGET holds one per key asked for.
constexpr int kMaxReplyElements = 1 << 20;

// The size of the array refused last on this thread (the callback below runs inside
// redisReaderGetReply, on the thread that called it).
thread_local int refused_elements = 0;

// hiredis's own reply functions, from a default reader; ours differ only in refusing an
// array over the limit, which hiredis then reports as an error of the reader.
const redisReplyObjectFunctions& hiredis_functions() {
  static const redisReplyObjectFunctions functions = [] {
    redisReader* reader = redisReaderCreate();
    if (reader == nullptr) throw std::bad_alloc();
    const redisReplyObjectFunctions copy = *reader->fn;
    redisReaderFree(reader);
    return copy;
  }();
  return functions;
}

void* create_bounded_array(const redisReadTask* task, int elements) {
  if (elements > kMaxReplyElements) {
    refused_elements = elements;
    return nullptr;
  }
  return hiredis_functions().createArray(task, elements);
}

redisReplyObjectFunctions* bounded_functions() {
  static redisReplyObjectFunctions functions = [] {
    redisReplyObjectFunctions copy = hiredis_functions();
    copy.createArray = create_bounded_array;
    return copy;
  }();
  return &functions;
}

}  // namespace

RespReplyReader::RespReplyReader(std::size_t most_pending_bytes)
    : reader_(redisReaderCreateWithFunctions(bounded_functions())),
      most_pending_bytes_(most_pending_bytes) {
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
    refused_elements = 0;
    if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
      if (refused_elements != 0)
        throw std::runtime_error(fmt::format(
            "malformed reply: an array of {} elements, more than the {} a reply may hold",
            refused_elements, kMaxReplyElements));
      throw std::runtime_error(fmt::format("malformed reply: {}", reader_->errstr));
    }
    if (reply == nullptr) {
      // Unfinished: what the reader holds unparsed is all this reply's (a bulk string it
      // keeps until its last byte, or the start of an element).
      const std::size_t pending = reader_->len - reader_->pos;
      if (pending > most_pending_bytes_)
        throw std::runtime_error(fmt::format(
            "malformed reply: {} bytes of one reply and no end, more than the {} a reply "
            "may hold",
            pending, most_pending_bytes_));
      return {input.size(), false};
    }
    out.emplace_back(static_cast<redisReply*>(reply));
  }
  // Whatever the reader holds unparsed came after our last reply, in this input: it is
  // the next request's, and stays in the connection's buffer for it.
  const std::size_t unread = reader_->len - reader_->pos;
  return {input.size() - unread, true};
}

}  // namespace gencache::detail
