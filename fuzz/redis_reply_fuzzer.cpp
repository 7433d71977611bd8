// Redis replies are bytes a server (or anything posing as one) controls. Properties:
//   1. RespReplyReader, parse_cluster_slots and parse_redis_redirect never crash, read
//      out of bounds or hit undefined behaviour, whatever the bytes and however they are
//      split into pieces;
//   2. a request consumes only bytes it was given, and never more than its own replies;
//   3. what is read does not depend on how the stream was split: read whole and read in
//      pieces, the same bytes give the same replies (or both are malformed).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "backends/redis/async/resp_reply_reader.hpp"
#include "backends/redis/cluster_slots.hpp"
#include "backends/redis/redis_errors.hpp"
#include "gencache/error.hpp"

namespace {

using gencache::detail::Reply;
using gencache::detail::RespReplyReader;

// A reply as text, to compare two readings; nested arrays included.
void describe(const redisReply& reply, std::string& out) {
  out += std::to_string(reply.type) + ":";
  if (reply.type == REDIS_REPLY_INTEGER) out += std::to_string(reply.integer);
  if (reply.str != nullptr) out.append(reply.str, reply.len);
  if (reply.type == REDIS_REPLY_ARRAY) {
    out += "[" + std::to_string(reply.elements);
    for (std::size_t i = 0; i < reply.elements; ++i) describe(*reply.element[i], out += ",");
    out += "]";
  }
}

// Requests of `wanted` replies each, fed `piece` bytes at a time; their replies as text,
// and "malformed" at the end if the bytes stopped being RESP.
std::vector<std::string> read_all(std::string_view stream, std::size_t piece, std::size_t wanted) {
  std::vector<std::string> out;
  auto reader = std::make_unique<RespReplyReader>();
  std::vector<Reply> replies;
  std::size_t offset = 0;
  try {
    while (offset < stream.size()) {
      const std::string_view input = stream.substr(offset, std::min(piece, stream.size() - offset));
      const auto progress = reader->read(input, wanted, replies);
      if (progress.consumed > input.size()) std::abort();  // property 2
      offset += progress.consumed;
      if (!progress.done) continue;
      for (const Reply& reply : replies) {
        std::string text;
        describe(*reply, text);
        out.push_back(std::move(text));
        try {
          gencache::detail::parse_cluster_slots(*reply, {"h", 1}, "fuzz");
        } catch (const gencache::backend_error&) {
        }
        if (reply->type == REDIS_REPLY_ERROR)
          gencache::detail::parse_redis_redirect({reply->str, reply->len});
      }
      replies.clear();
      reader = std::make_unique<RespReplyReader>();
    }
  } catch (const std::runtime_error&) {
    out.emplace_back("malformed");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  const std::size_t wanted = provider.ConsumeIntegralInRange<std::size_t>(1, 3);
  const std::size_t piece = provider.ConsumeIntegralInRange<std::size_t>(1, 64);
  const std::string stream = provider.ConsumeRemainingBytesAsString();
  const auto whole = read_all(stream, stream.size() + 1, wanted);
  const auto pieces = read_all(stream, piece, wanted);
  // Incomplete trailing replies are simply not reported by either.
  if (whole != pieces) std::abort();  // property 3
  return 0;
}
