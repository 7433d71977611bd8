#include <algorithm>
#include <array>
#include <charconv>

#include <fmt/format.h>

#include "backends/memcached/meta/meta_response.hpp"

namespace gencache::detail::meta {
namespace {

struct CodeName {
  std::string_view name;
  Code code;
};

// The codes that may carry return flags after a space.
constexpr std::array<CodeName, 6> kFlagCodes = {{{"HD", Code::done},
                                                 {"EN", Code::miss},
                                                 {"NF", Code::not_found},
                                                 {"NS", Code::not_stored},
                                                 {"EX", Code::exists},
                                                 {"MN", Code::noop}}};

[[noreturn]] void violation(std::string_view why, std::string_view header) {
  // The header is quoted only as far as it is printable, so a message stays one line.
  throw ProtocolViolation(fmt::format("memcached sent a malformed meta response ({}): '{}'", why,
                                      header.substr(0, 80)));
}

bool is_printable(char c) {
  return c >= 0x20 && c <= 0x7e;
}

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Return flags are tokens separated by one space, each starting with a letter.
void check_flags(std::string_view flags, std::string_view header) {
  if (flags.empty()) violation("empty flag list", header);
  bool token_start = true;
  for (const char c : flags) {
    if (c == ' ') {
      if (token_start) violation("empty flag", header);
      token_start = true;
    } else {
      if (token_start && !is_letter(c)) violation("flag not starting with a letter", header);
      token_start = false;
    }
  }
  if (token_start) violation("empty flag", header);
}

}  // namespace

bool Response::has_flag(char letter) const noexcept {
  return flag_token(letter).has_value();
}

std::optional<std::string_view> Response::flag_token(char letter) const noexcept {
  std::string_view rest = flags;
  while (!rest.empty()) {
    const auto space = rest.find(' ');
    const std::string_view token = rest.substr(0, space);
    if (!token.empty() && token.front() == letter) return token.substr(1);
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  return std::nullopt;
}

ResponseParser::Step ResponseParser::parse(std::string_view input) {
  if (awaiting_value_) return finish_value(input);

  const auto newline = input.find('\n', scanned_);
  if (newline == std::string_view::npos) {
    if (input.size() >= kLongestHeader)
      violation("header longer than 2048 bytes", input.substr(0, kLongestHeader));
    scanned_ = input.size();
    return {};
  }
  scanned_ = 0;
  if (newline == 0 || input[newline - 1] != '\r')
    violation("line not ended by CR LF", input.substr(0, newline));
  const std::string_view header = input.substr(0, newline - 1);
  const std::size_t line_length = newline + 1;
  if (!std::all_of(header.begin(), header.end(), is_printable))
    violation("control byte in the header", header);

  if (header.starts_with("VA ")) {
    std::string_view rest = header.substr(3);
    const auto space = rest.find(' ');
    const std::string_view digits = rest.substr(0, space);
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
      violation("VA without a size", header);
    if (size > kLargestValue) violation("VA larger than 1 GiB", header);
    flags_offset_ = 3 + digits.size();
    flags_length_ = 0;
    if (space != std::string_view::npos) {
      ++flags_offset_;
      flags_length_ = header.size() - flags_offset_;
      check_flags(header.substr(flags_offset_), header);
    }
    header_length_ = line_length;
    value_length_ = size;
    awaiting_value_ = true;
    return finish_value(input);
  }

  for (const CodeName& known : kFlagCodes) {
    if (!header.starts_with(known.name)) continue;
    const std::string_view rest = header.substr(known.name.size());
    Response response{known.code, {}, {}};
    if (!rest.empty()) {
      if (rest.front() != ' ') break;  // "HDX" is no code
      response.flags = rest.substr(1);
      check_flags(response.flags, header);
    }
    return {line_length, response};
  }

  if (header == "ERROR" || header.starts_with("ERROR "))
    return {line_length,
            Response{Code::error, {}, header.substr(std::min<std::size_t>(6, header.size()))}};
  if (header.starts_with("CLIENT_ERROR"))
    return {
        line_length,
        Response{Code::client_error, {}, header.substr(std::min<std::size_t>(13, header.size()))}};
  if (header.starts_with("SERVER_ERROR"))
    return {
        line_length,
        Response{Code::server_error, {}, header.substr(std::min<std::size_t>(13, header.size()))}};
  violation("unknown response code", header);
}

ResponseParser::Step ResponseParser::finish_value(std::string_view input) {
  const std::size_t total = header_length_ + value_length_ + 2;
  if (input.size() < total) return {};
  if (input[total - 2] != '\r' || input[total - 1] != '\n')
    violation("value not followed by CR LF", input.substr(0, header_length_ - 2));
  Response response{Code::value, input.substr(flags_offset_, flags_length_),
                    input.substr(header_length_, value_length_)};
  awaiting_value_ = false;
  return {total, response};
}

}  // namespace gencache::detail::meta
