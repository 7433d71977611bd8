#include "backends/memcached/meta/meta_request.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace gencache::detail::meta {
namespace {

constexpr std::size_t kLongestKey = 250;

void append(std::string& out, std::string_view text) {
  out.append(text.data(), text.size());
}

void append_number(std::string& out, std::size_t n) {
  char digits[20];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

}  // namespace

bool is_sendable_key(std::string_view key) noexcept {
  return !key.empty() && key.size() <= kLongestKey &&
         std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Every read sends this, so it is one append of a line written in place rather than
// formatted (fmt's parsing of the format string was a tenth of the async client's
// instructions) or appended piece by piece (a capacity check and a call each).
void append_get(std::string& out, std::string_view key, std::size_t opaque) {
  if (key.size() > kLongestKey) {  // never sent (see is_sendable_key), and too long for `line`
    append(out, "mg ");
    append(out, key);
    append(out, " v O");
    append_number(out, opaque);
    append(out, "\r\n");
    return;
  }
  char line[kLongestKey + 32];  // "mg ", the key, " v O", at most 20 digits, "\r\n"
  char* end = std::copy_n("mg ", 3, line);
  end = std::copy(key.begin(), key.end(), end);
  end = std::copy_n(" v O", 4, end);
  end = std::to_chars(end, end + 20, opaque).ptr;
  end = std::copy_n("\r\n", 2, end);
  out.append(line, end);
}

void append_lease_get(std::string& out, std::string_view key, std::time_t lease_expiration) {
  fmt::format_to(std::back_inserter(out), "mg {} v N{}\r\n", key, lease_expiration);
}

void append_store(std::string& out, std::string_view key, std::string_view value,
                  std::time_t expiration, StoreMode mode) {
  fmt::format_to(std::back_inserter(out), "ms {} {} T{}{}\r\n", key, value.size(), expiration,
                 mode == StoreMode::add ? " ME" : "");
  append(out, value);
  append(out, "\r\n");
}

void append_delete(std::string& out, std::string_view key) {
  fmt::format_to(std::back_inserter(out), "md {}\r\n", key);
}

void append_increment(std::string& out, std::string_view key, std::uint64_t delta) {
  fmt::format_to(std::back_inserter(out), "ma {} D{} v\r\n", key, delta);
}

void append_increment_or_create(std::string& out, std::string_view key, std::uint64_t delta,
                                std::uint64_t initial, std::time_t expiration) {
  fmt::format_to(std::back_inserter(out), "ma {} N{} J{} D{} v\r\n", key, expiration, initial,
                 delta);
}

}  // namespace gencache::detail::meta
