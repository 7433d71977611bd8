#pragma once
// Internal: replies of a pipelined request, parsed by hiredis's redisReader out of the
// bytes a shared connection hands it.

#include <hiredis/read.h>

#include <cstddef>
#include <string_view>
#include <vector>

#include "backends/redis/redis_connection.hpp"
#include "net/pipelined_connection.hpp"

namespace gencache::detail {

/// Collects one request's replies from a stream that may also hold the replies of later
/// requests. A reader per request: state never leaks from one request to the next.
class RespReplyReader {
 public:
  /// RESP bounds a bulk string at 512 MB; a server that sends more bytes for one reply
  /// than that, and never finishes it, is refused rather than buffered without end
  /// (hiredis keeps a bulk string whole in memory until its last byte).
  static constexpr std::size_t kMostPendingBytes = (std::size_t{512} << 20) + 64;

  /// `most_pending_bytes`: how many bytes of one unfinished reply may wait for the rest.
  explicit RespReplyReader(std::size_t most_pending_bytes = kMostPendingBytes);
  ~RespReplyReader();
  RespReplyReader(const RespReplyReader&) = delete;
  RespReplyReader& operator=(const RespReplyReader&) = delete;

  /// Feeds `input` (the bytes after those already consumed) and takes replies into `out`
  /// until it holds `wanted`. Returns the bytes of `input` that were this request's: all
  /// of them while a reply is incomplete, then up to the end of the last one, with done
  /// set. Throws std::runtime_error for bytes that are not RESP.
  net::ReplyProgress read(std::string_view input, std::size_t wanted, std::vector<Reply>& out);

 private:
  redisReader* reader_;
  std::size_t most_pending_bytes_;
};

}  // namespace gencache::detail
