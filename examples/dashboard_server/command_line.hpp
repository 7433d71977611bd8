#pragma once
// The command line of the dashboard programs (dashboard_server, load_client): flags read
// one by one, `--help`, and the usage errors both report the same way.

#include <charconv>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

namespace dashboard {

/// A command line that cannot be run; `message` names the flag and what was expected.
struct UsageError {
  std::string message;
};

/// The arguments after the program's name, read flag by flag, as parse_command_line
/// hands them to a program's parser:
///
///   while (flags.next()) {
///     if (flags.is("--port")) options.port = flags.number<std::uint16_t>(1, 65535);
///     else flags.reject();
///   }
class Flags {
 public:
  /// `usage` is printed by `--help`.
  Flags(int argc, char** argv, std::string_view usage) : argc_(argc), argv_(argv), usage_(usage) {}

  /// Moves to the next flag; false when none is left. `--help` and `-h` print the usage to
  /// stdout and exit with status 0.
  bool next() {
    if (++at_ >= argc_) return false;
    flag_ = argv_[at_];
    if (flag_ == "--help" || flag_ == "-h") {
      std::fputs(std::string(usage_).c_str(), stdout);
      std::exit(0);
    }
    return true;
  }

  bool is(std::string_view name) const { return flag_ == name; }

  /// The argument after the flag. Throws UsageError if there is none.
  std::string_view value() {
    if (at_ + 1 >= argc_) throw UsageError{fmt::format("{} needs a value", flag_)};
    return argv_[++at_];
  }

  /// value() as a number from `min` to `max`. Throws UsageError for anything else.
  template <std::unsigned_integral T>
  T number(std::uint64_t min, std::uint64_t max) {
    const std::string_view text = value();
    std::uint64_t parsed = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec != std::errc() || end != text.data() + text.size() || parsed < min || parsed > max)
      throw UsageError{fmt::format("{} '{}' is invalid: expected a number from {} to {}", flag_,
                                   text, min, max)};
    return static_cast<T>(parsed);
  }

  /// Throws UsageError for the flag no one asked for.
  [[noreturn]] void reject() const { throw UsageError{fmt::format("unknown option '{}'", flag_)}; }

 private:
  int argc_;
  char** argv_;
  std::string_view usage_;
  int at_ = 0;
  std::string_view flag_;
};

/// `parse(flags)` over the command line. On a UsageError prints "<program>: <message>"
/// and the usage to stderr, and exits with status 2.
template <class Parse>
auto parse_command_line(std::string_view program, std::string_view usage, int argc, char** argv,
                        Parse parse) {
  try {
    Flags flags(argc, argv, usage);
    return parse(flags);
  } catch (const UsageError& e) {
    fmt::print(stderr, "{}: {}\n{}", program, e.message, usage);
    std::exit(2);
  }
}

}  // namespace dashboard
