#pragma once
// Internal: Redis commands in RESP, the wire format, written into a reusable buffer.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gencache::detail {

/// Appends one command to `out`: `begin(n)` then exactly `n` calls of `arg`. Arguments are
/// length-prefixed, so any bytes (NUL, CR LF) are safe.
class RespWriter {
 public:
  explicit RespWriter(std::string& out) noexcept : out_(out) {}

  RespWriter& begin(std::size_t argument_count);
  RespWriter& arg(std::string_view bytes);

 private:
  void append_number(char type, std::size_t n);

  std::string& out_;
};

/// INFO's text as its "name:value" lines, in order; section headers and blank lines left
/// out.
std::vector<std::pair<std::string, std::string>> parse_redis_info(std::string_view text);

}  // namespace gencache::detail
