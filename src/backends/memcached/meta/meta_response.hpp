#pragma once
// Internal: memcached meta-protocol responses and their sans-I/O parser.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace gencache::detail::meta {

/// The response codes of memcached's meta commands (protocol.txt, "Meta Commands"), plus
/// the classic error lines a server may send instead of any of them.
enum class Code {
  value,         ///< VA <size> <flags>: a value follows
  done,          ///< HD: success without a value
  miss,          ///< EN: mg found nothing
  not_found,     ///< NF: md or ma found nothing
  not_stored,    ///< NS: ms did not store (an add of an existing key)
  exists,        ///< EX: a compare-and-swap lost
  noop,          ///< MN: the answer to mn, closing a pipelined batch
  error,         ///< ERROR: the server did not know the command
  client_error,  ///< CLIENT_ERROR <text>
  server_error,  ///< SERVER_ERROR <text>
};

/// One parsed response. Its views point into the parser's input and live as long as it.
struct Response {
  Code code = Code::done;
  /// The return flags after the code (and the size, for VA), such as "O12 W"; each is a
  /// letter followed by an optional token.
  std::string_view flags;
  /// VA's data, or the text of a CLIENT_ERROR or SERVER_ERROR.
  std::string_view value;

  /// Whether the flag `letter` was returned.
  bool has_flag(char letter) const noexcept;
  /// The token of flag `letter` ("12" for O12), or nullopt when it was not returned.
  std::optional<std::string_view> flag_token(char letter) const noexcept;
};

/// The server sent bytes that are not a meta response. The connection cannot be trusted
/// any further: the caller fails what it was waiting for and closes it.
class ProtocolViolation : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads responses one at a time from a byte stream that arrives in pieces. It never
/// reads a socket: the caller hands it what it has received so far and drops the bytes a
/// step consumed. A VA header is remembered across calls, so a large value is not
/// scanned again as it trickles in.
class ResponseParser {
 public:
  /// Longest header line accepted, "\r\n" included; memcached's are far shorter.
  static constexpr std::size_t kLongestHeader = 2048;
  /// Largest value accepted: memcached's largest item (-I 1g).
  static constexpr std::size_t kLargestValue = std::size_t{1} << 30;

  struct Step {
    std::size_t consumed = 0;          ///< bytes of the input this response used
    std::optional<Response> response;  ///< set when a whole response was there
  };

  /// Parses the response at the start of `input`. Returns {0, nullopt} while more bytes
  /// are needed (call again with the same bytes and more). Throws ProtocolViolation for
  /// bytes that cannot start or continue a response; after that the parser is unusable.
  Step parse(std::string_view input);

 private:
  Step finish_value(std::string_view input);

  // Set while a VA header has been read and its data is still arriving.
  bool awaiting_value_ = false;
  std::size_t header_length_ = 0;  // including "\r\n"
  std::size_t flags_offset_ = 0;
  std::size_t flags_length_ = 0;
  std::size_t value_length_ = 0;
  std::size_t scanned_ = 0;  // header bytes already searched for "\n"
};

}  // namespace gencache::detail::meta
