#pragma once
// Internal: Redis commands in RESP, the wire format, written into a reusable buffer.

#include <cstddef>
#include <string>
#include <string_view>

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

}  // namespace gencache::detail
