#include "url_options.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/url/pct_string_view.hpp>

#include "gencache/error.hpp"

namespace gencache::detail {
namespace {

std::uint64_t parse_number(std::string_view digits) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    throw std::invalid_argument("not a number");
  return value;
}

std::pair<std::string_view, std::string_view> split_unit(std::string_view text) {
  auto pos = std::find_if(text.begin(), text.end(), [](char c) { return c < '0' || c > '9'; });
  auto n = static_cast<std::size_t>(pos - text.begin());
  return {text.substr(0, n), text.substr(n)};
}

std::uint64_t checked_multiply(std::uint64_t a, std::uint64_t b) {
  if (b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b)
    throw std::invalid_argument("too large");
  return a * b;
}

}  // namespace

std::chrono::microseconds parse_duration(std::string_view text) {
  auto [digits, unit] = split_unit(text);
  const std::uint64_t n = parse_number(digits);
  std::uint64_t per_unit = 0;
  if (unit == "us")
    per_unit = 1;
  else if (unit == "ms")
    per_unit = 1'000;
  else if (unit == "s")
    per_unit = 1'000'000;
  else if (unit == "m")
    per_unit = 60'000'000;
  else if (unit == "h")
    per_unit = 3'600'000'000;
  else
    throw std::invalid_argument("missing or unknown unit");
  const std::uint64_t us = checked_multiply(n, per_unit);
  if (us > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    throw std::invalid_argument("too large");
  return std::chrono::microseconds(static_cast<std::int64_t>(us));
}

std::size_t parse_size(std::string_view text) {
  auto [digits, unit] = split_unit(text);
  const std::uint64_t n = parse_number(digits);
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "KiB" || unit == "KB" || unit == "k" || unit == "K")
    scale = std::uint64_t{1} << 10;
  else if (unit == "MiB" || unit == "MB" || unit == "M")
    scale = std::uint64_t{1} << 20;
  else if (unit == "GiB" || unit == "GB" || unit == "G")
    scale = std::uint64_t{1} << 30;
  else
    throw std::invalid_argument("unknown unit");
  const std::uint64_t bytes = checked_multiply(n, scale);
  if (bytes > std::numeric_limits<std::size_t>::max()) throw std::invalid_argument("too large");
  return static_cast<std::size_t>(bytes);
}

UrlOptions::UrlOptions(std::string scheme, std::vector<std::pair<std::string, std::string>> params)
    : scheme_(std::move(scheme)) {
  for (auto& [name, value] : params) {
    if (!params_.emplace(name, value).second)
      throw config_error(
          fmt::format("{}:// URL: parameter '{}' is given more than once", scheme_, name));
  }
}

std::optional<std::string> UrlOptions::take_raw(std::string_view name) {
  accepted_.emplace_back(name);
  auto it = params_.find(name);
  if (it == params_.end()) return std::nullopt;
  std::string value = std::move(it->second);
  params_.erase(it);
  return value;
}

void UrlOptions::fail(std::string_view name, std::string_view value,
                      std::string_view expected) const {
  throw config_error(fmt::format("{}:// URL: bad value '{}' for parameter '{}': expected {}",
                                 scheme_, value, name, expected));
}

void UrlOptions::out_of_range(std::string_view name, std::string_view value, std::string_view min,
                              std::string_view max) const {
  throw config_error(fmt::format("{}:// URL: bad value {} for parameter '{}': expected {} to {}",
                                 scheme_, value, name, min, max));
}

std::optional<std::size_t> UrlOptions::take_size_in(std::string_view name, std::size_t min,
                                                    std::size_t max) {
  const auto bytes = take_size(name);
  if (bytes && (*bytes < min || *bytes > max))
    out_of_range(name, std::to_string(*bytes), std::to_string(min), std::to_string(max));
  return bytes;
}

std::optional<std::string> UrlOptions::take_string(std::string_view name) {
  return take_raw(name);
}

std::optional<std::chrono::microseconds> UrlOptions::take_duration(std::string_view name) {
  auto raw = take_raw(name);
  if (!raw) return std::nullopt;
  try {
    return parse_duration(*raw);
  } catch (const std::invalid_argument&) {
    fail(name, *raw, "a duration with a unit, such as 250us, 50ms, 2s, 5m or 1h");
  }
}

std::optional<std::size_t> UrlOptions::take_size(std::string_view name) {
  auto raw = take_raw(name);
  if (!raw) return std::nullopt;
  try {
    return parse_size(*raw);
  } catch (const std::invalid_argument&) {
    fail(name, *raw, "a size such as 512, 64KiB, 64MiB or 1GiB");
  }
}

std::optional<std::uint64_t> UrlOptions::take_uint(std::string_view name, std::uint64_t min,
                                                   std::uint64_t max) {
  auto raw = take_raw(name);
  if (!raw) return std::nullopt;
  try {
    const std::uint64_t value = parse_number(*raw);
    if (value >= min && value <= max) return value;
  } catch (const std::invalid_argument&) {
  }
  fail(name, *raw, fmt::format("a whole number from {} to {}", min, max));
}

std::optional<bool> UrlOptions::take_bool(std::string_view name) {
  auto raw = take_raw(name);
  if (!raw) return std::nullopt;
  if (*raw == "true" || *raw == "1" || *raw == "yes" || *raw == "on") return true;
  if (*raw == "false" || *raw == "0" || *raw == "no" || *raw == "off") return false;
  fail(name, *raw, "true or false");
}

std::optional<std::string> UrlOptions::take_choice(
    std::string_view name, std::initializer_list<std::string_view> choices) {
  auto raw = take_raw(name);
  if (!raw) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *raw) != choices.end()) return raw;
  fail(name, *raw, fmt::format("one of {}", fmt::join(choices, ", ")));
}

std::string decode_userinfo(std::string_view scheme, std::string_view text, std::string_view part) {
  auto encoded = boost::urls::make_pct_string_view(text);
  if (!encoded)
    throw config_error(fmt::format("{}:// URL: the {} has a malformed %-escape", scheme, part));
  return encoded->decode();
}

Credentials read_userinfo(std::string_view scheme, std::string_view userinfo) {
  const auto colon = userinfo.find(':');
  Credentials credentials;
  credentials.username = decode_userinfo(scheme, userinfo.substr(0, colon), "user name");
  if (colon != std::string_view::npos)
    credentials.password = decode_userinfo(scheme, userinfo.substr(colon + 1), "password");
  return credentials;
}

void UrlOptions::finish() const {
  if (params_.empty()) return;
  std::vector<std::string> unknown;
  for (const auto& entry : params_) unknown.push_back(entry.first);
  std::vector<std::string> accepted = accepted_;
  std::sort(accepted.begin(), accepted.end());
  accepted.erase(std::unique(accepted.begin(), accepted.end()), accepted.end());
  throw config_error(fmt::format(
      "{}:// URL: unknown parameter{} {}; accepted: {}", scheme_, unknown.size() > 1 ? "s" : "",
      fmt::join(unknown, ", "),
      accepted.empty() ? std::string("none") : fmt::format("{}", fmt::join(accepted, ", "))));
}

namespace {

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986: query = *( pchar / "/" / "?" ), with '%' checked as an escape apart.
bool allowed_in_query(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()*+,;=:@/?").find(c) != std::string_view::npos;
}

std::string character_name(char c) {
  if (c == ' ') return "a space";
  const auto byte = static_cast<unsigned char>(c);
  if (byte > 0x20 && byte < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("the byte 0x{:02x}", byte);
}

}  // namespace

std::string query_flaw(std::string_view query) {
  std::size_t piece_start = 0;
  for (std::size_t i = 0; i < query.size(); ++i) {
    const char c = query[i];
    if (c == '&') {
      piece_start = i + 1;
      continue;
    }
    const bool bad_escape = c == '%' && (i + 2 >= query.size() || !is_hex_digit(query[i + 1]) ||
                                         !is_hex_digit(query[i + 2]));
    if (c == '%' && !bad_escape) {
      i += 2;
      continue;
    }
    if (!bad_escape && allowed_in_query(c)) continue;
    const std::string_view piece =
        query.substr(piece_start, query.find('&', piece_start) - piece_start);
    const auto equals = piece.find('=');
    const std::string_view name = piece.substr(0, equals);
    const std::size_t offset = i - piece_start;
    const bool in_value = equals != std::string_view::npos && offset > equals;
    const std::string where = in_value ? fmt::format("the value of parameter '{}'", name)
                                       : fmt::format("the parameter name '{}'", name.substr(0, 64));
    const std::size_t at = in_value ? offset - equals - 1 : offset;
    if (bad_escape)
      return fmt::format(
          "{} has a '%' at offset {} that is not followed by two hex digits "
          "(write a literal '%' as %25)",
          where, at);
    return fmt::format(
        "{} holds {} at offset {}, which a URL may not contain unescaped "
        "(percent-encode it as %{:02X})",
        where, character_name(c), at, static_cast<unsigned char>(c));
  }
  return {};
}

}  // namespace gencache::detail
