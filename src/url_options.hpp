#pragma once
// Internal: reads a backend URL's query parameters with validation and clear errors.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace gencache::detail {

/// The query parameters of one URL. Each `take_*` consumes a parameter and records its
/// name as accepted; `finish()` rejects whatever was not taken, listing the accepted
/// names. All errors are gencache::config_error and name the parameter and the value.
class UrlOptions {
 public:
  /// `scheme` is used in messages only. Throws on a repeated parameter.
  UrlOptions(std::string scheme, std::vector<std::pair<std::string, std::string>> params);

  std::optional<std::string> take_string(std::string_view name);
  /// Durations with a unit: `250us`, `50ms`, `2s`, `5m`, `1h`.
  std::optional<std::chrono::microseconds> take_duration(std::string_view name);
  /// Sizes: `512`, `64KiB`, `64MiB`, `1GiB` (also KB/MB/GB, taken as powers of 1024).
  std::optional<std::size_t> take_size(std::string_view name);
  std::optional<std::uint64_t> take_uint(std::string_view name, std::uint64_t min,
                                         std::uint64_t max);
  /// A duration rounded up to whole `Unit`s (a backend's resolution), from `min` to `max`.
  template <class Unit>
  std::optional<Unit> take_duration_in(std::string_view name, Unit min, Unit max) {
    const auto value = take_duration(name);
    if (!value) return std::nullopt;
    const Unit rounded = std::chrono::ceil<Unit>(*value);
    if (rounded < min || rounded > max)
      out_of_range(name, fmt::format("{}", rounded), fmt::format("{}", min),
                   fmt::format("{}", max));
    return rounded;
  }
  /// A size (as take_size) from `min` to `max` bytes.
  std::optional<std::size_t> take_size_in(std::string_view name, std::size_t min, std::size_t max);
  /// `true|false|1|0|yes|no|on|off`.
  std::optional<bool> take_bool(std::string_view name);
  /// One of `choices`.
  std::optional<std::string> take_choice(std::string_view name,
                                         std::initializer_list<std::string_view> choices);

  /// Throws config_error if any parameter was not taken.
  void finish() const;

 private:
  [[noreturn]] void fail(std::string_view name, std::string_view value,
                         std::string_view expected) const;
  [[noreturn]] void out_of_range(std::string_view name, std::string_view value,
                                 std::string_view min, std::string_view max) const;
  std::optional<std::string> take_raw(std::string_view name);

  std::string scheme_;
  std::map<std::string, std::string, std::less<>> params_;
  std::vector<std::string> accepted_;
};

/// The `user:password` part of `scheme://user:password@host`, percent-decoded. Throws
/// config_error naming the `part` ("user name", "password"), never quoting the text.
std::string decode_userinfo(std::string_view scheme, std::string_view text, std::string_view part);

/// `user[:password]` split at its first ':' and percent-decoded (decode_userinfo); the
/// password is empty when there is no ':'.
struct Credentials {
  std::string username;
  std::string password;
};
Credentials read_userinfo(std::string_view scheme, std::string_view userinfo);

/// Why `query` (a URL's text after '?') is not a valid query, naming the parameter and
/// the character: "the value of parameter 'prefix' holds a space at offset 2, which a URL
/// may not contain unescaped (percent-encode it as %20)". Empty when every character is
/// one a query may hold.
std::string query_flaw(std::string_view query);

// Parsers shared with tests; each throws std::invalid_argument on bad text.
std::chrono::microseconds parse_duration(std::string_view text);
std::size_t parse_size(std::string_view text);

}  // namespace gencache::detail
