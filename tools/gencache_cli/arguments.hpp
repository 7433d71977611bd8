#pragma once
// The gencache command line: what each subcommand takes, parsed without dependencies.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gencache::cli {

enum class Command { none, bump, generation, get, stats, ping };

/// The exit statuses every subcommand shares.
enum ExitStatus : int {
  exit_ok = 0,
  exit_backend_error = 1,  ///< the backend failed or could not be reached
  exit_usage = 2,          ///< bad arguments or a bad URL
  exit_miss = 3,           ///< get: no entry at the current generations
  exit_absent = 4,         ///< get: the entry is a cached "absent" (an empty std::optional)
};

/// A parsed command line.
struct Arguments {
  Command command = Command::none;
  bool help = false;  ///< --help: print the usage of `command` (or the overview) and exit 0
  std::string url;    ///< --url, else GENCACHE_URL, else memory://
  std::vector<std::string> namespaces;  ///< bump, generation: operands; get: each --ns
  std::string key;                      ///< get
};

/// A command line that does not parse; `command` selects the usage text to show with it.
struct UsageError {
  std::string message;
  Command command = Command::none;
};

/// Parses `args` (without the program name). `env_url` is GENCACHE_URL or null.
/// Throws UsageError naming the bad argument.
Arguments parse_arguments(std::span<const std::string_view> args, const char* env_url);

/// The usage text of `command`, or the overview for Command::none. Its first line is the
/// synopsis (`usage: gencache ...`).
std::string_view usage(Command command);

/// The command's name as typed (`bump`), or "" for Command::none.
std::string_view command_name(Command command);

}  // namespace gencache::cli
