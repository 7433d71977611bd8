#include "backends/redis/resp.hpp"

#include <charconv>

namespace gencache::detail {

void RespWriter::append_number(char type, std::size_t n) {
  char digits[24];
  digits[0] = type;
  const auto end = std::to_chars(digits + 1, digits + sizeof digits - 2, n).ptr;
  end[0] = '\r';
  end[1] = '\n';
  out_.append(digits, static_cast<std::size_t>(end + 2 - digits));
}

RespWriter& RespWriter::begin(std::size_t argument_count) {
  append_number('*', argument_count);
  return *this;
}

RespWriter& RespWriter::arg(std::string_view bytes) {
  append_number('$', bytes.size());
  out_.append(bytes);
  out_.append("\r\n", 2);
  return *this;
}

std::vector<std::pair<std::string, std::string>> parse_redis_info(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> values;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    const auto colon = line.find(':');
    if (line.empty() || line.front() == '#' || colon == std::string_view::npos) continue;
    values.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  return values;
}

}  // namespace gencache::detail
