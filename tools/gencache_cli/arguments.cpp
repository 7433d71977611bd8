#include "arguments.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>

namespace gencache::cli {
namespace {

constexpr std::string_view kOverview = R"(usage: gencache [--url URL] COMMAND [ARGS]

Operate a gencache cache from the shell: invalidate namespaces, inspect generations and
entries, check the backend.

commands:
  bump NAMESPACE...        invalidate every entry depending on each namespace
  generation NAMESPACE     print a namespace's current generation
  get KEY [--ns NS]...     print the value cached for KEY under the namespaces
  stats                    print the backend servers' statistics
  ping                     check that the backend answers

options:
  --url URL    the cache, e.g. memcached://10.0.0.1:11211?prefix=app: (default: the
               GENCACHE_URL environment variable, else memory://)
  -h, --help   show this text, or a command's own with `gencache COMMAND --help`

Namespaces are taken literally: `user:42` is the namespace gencache::ns("user", 42).
bump, generation and get refuse memory://: it lives inside one process, so they would
act on a cache nobody else sees.

exit status: 0 success, 1 backend failure, 2 usage error or bad URL,
             3 get found no entry, 4 get found an entry cached as absent
)";

constexpr std::string_view kBump = R"(usage: gencache [--url URL] bump NAMESPACE...

Bumps each namespace's generation counter, so every entry that depends on it is
invalidated, in O(1). A counter that does not exist is created at a fresh random value,
which invalidates just the same. Prints one line per namespace: NAMESPACE GENERATION.

Every namespace is attempted; if any bump fails the exit status is 1. A failed bump may
or may not have taken effect: run it again (an extra bump only costs a recompute).

exit status: 0 all bumped, 1 a bump failed, 2 usage error
)";

constexpr std::string_view kGeneration = R"(usage: gencache [--url URL] generation NAMESPACE

Prints the namespace's current generation (a decimal number), creating its counter at a
fresh random value if it does not exist, as any reader would.

exit status: 0 printed, 1 backend failure, 2 usage error
)";

constexpr std::string_view kGet = R"(usage: gencache [--url URL] get KEY [--ns NAMESPACE]...

Reads the entry cached for KEY under the namespaces (in any order) at their current
generations, and writes its value to standard output exactly as stored: the codec's
bytes, which are the text itself for strings and JSON structs. A newline is added only
when standard output is a terminal. Pass every namespace the entry was cached under;
without --ns the entry is one that depends on no namespace.

exit status: 0 printed, 1 backend failure, 2 usage error,
             3 no entry (never cached, invalidated, expired or undecodable),
             4 the entry is a cached "absent" (an empty std::optional); nothing printed
)";

constexpr std::string_view kStats = R"(usage: gencache [--url URL] stats

Prints each server's own statistics, one block per server: for memcached:// its
`stats` (version, uptime, items, memory, hits, misses, evictions, connections), for
redis:// its INFO (version, uptime, memory and maxmemory policy, keyspace hits and
misses, evicted and expired keys, clients). A memory:// cache lives
inside each process, so there is nothing to show from outside: ask that process (the
dashboard_server example exports its counters on /metrics).

exit status: 0 every server answered, 1 a server did not, 2 usage error
)";

constexpr std::string_view kPing = R"(usage: gencache [--url URL] ping

Reads one probe key from the backend and prints "ok", the backend and the round-trip
time. With several memcached servers the probe reaches only the server owning the probe
key: use `gencache stats` to hear from every server.

exit status: 0 the backend answered, 1 it did not, 2 usage error
)";

std::optional<Command> command_named(std::string_view name) {
  if (name == "bump") return Command::bump;
  if (name == "generation") return Command::generation;
  if (name == "get") return Command::get;
  if (name == "stats") return Command::stats;
  if (name == "ping") return Command::ping;
  return std::nullopt;
}

// memory:// names a cache inside this one process: a bump there invalidates nothing any
// other process sees, and a get or generation reads a cache that was just created empty.
bool is_process_local(std::string_view url) {
  const std::string_view scheme = url.substr(0, url.find("://"));
  return scheme.size() == 6 &&
         std::equal(scheme.begin(), scheme.end(), "memory", [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

std::string_view command_name(Command command) {
  switch (command) {
    case Command::bump:
      return "bump";
    case Command::generation:
      return "generation";
    case Command::get:
      return "get";
    case Command::stats:
      return "stats";
    case Command::ping:
      return "ping";
    case Command::none:
      break;
  }
  return "";
}

std::string_view usage(Command command) {
  switch (command) {
    case Command::bump:
      return kBump;
    case Command::generation:
      return kGeneration;
    case Command::get:
      return kGet;
    case Command::stats:
      return kStats;
    case Command::ping:
      return kPing;
    case Command::none:
      break;
  }
  return kOverview;
}

Arguments parse_arguments(std::span<const std::string_view> args, const char* env_url) {
  Arguments out;
  std::optional<std::string> url;
  std::vector<std::string> operands;  // after the command name
  bool options_ended = false;
  auto fail = [&](std::string message) { throw UsageError{std::move(message), out.command}; };

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    // --name VALUE or --name=VALUE
    auto option_value = [&](std::string_view name) -> std::optional<std::string> {
      if (arg == name) {
        if (i + 1 >= args.size()) fail(fmt::format("{} needs a value", name));
        return std::string(args[++i]);
      }
      if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=')
        return std::string(arg.substr(name.size() + 1));
      return std::nullopt;
    };

    if (!options_ended && arg.starts_with("-") && arg != "-") {
      if (arg == "--") {
        options_ended = true;
      } else if (arg == "-h" || arg == "--help") {
        out.help = true;
      } else if (auto value = option_value("--url")) {
        if (value->empty()) fail("--url needs a non-empty URL such as memcached://127.0.0.1:11211");
        if (url) fail("--url is given twice");
        url = std::move(*value);
      } else if (auto ns = option_value("--ns")) {
        if (out.command != Command::get)
          fail("--ns belongs to the get command: gencache get KEY --ns NAMESPACE");
        if (ns->empty()) fail("--ns needs a non-empty namespace name such as user:42");
        out.namespaces.push_back(std::move(*ns));
      } else {
        fail(fmt::format("unknown option '{}'", arg));
      }
    } else if (out.command == Command::none) {
      const auto command = command_named(arg);
      if (!command)
        fail(fmt::format("unknown command '{}': expected bump, generation, get, stats or ping",
                         arg));
      out.command = *command;
    } else {
      operands.emplace_back(arg);
    }
  }

  const bool url_given = url.has_value() || (env_url != nullptr && *env_url != '\0');
  out.url =
      url ? std::move(*url) : (env_url != nullptr && *env_url != '\0' ? env_url : "memory://");
  if (out.help) return out;

  const std::string_view name = command_name(out.command);
  const auto refuse_process_local = [&] {
    if (!is_process_local(out.url)) return;
    fail(fmt::format(
        "{} refuses {}: a memory:// cache lives inside one process, so this {} would act on "
        "an empty cache nobody else sees{}. Name the shared cache with --url (such as "
        "memcached://10.0.0.1:11211 or redis://10.0.0.1:6379) or GENCACHE_URL",
        name, out.url, out.command == Command::bump ? "bump" : "read",
        url_given ? "" : " (memory:// is what you get with neither --url nor GENCACHE_URL)"));
  };
  switch (out.command) {
    case Command::none:
      fail("no command given");
      break;
    case Command::bump:
    case Command::generation:
      if (operands.empty()) fail(fmt::format("{} needs a namespace, such as user:42", name));
      if (out.command == Command::generation && operands.size() > 1)
        fail(fmt::format("generation takes one namespace, got {}", operands.size()));
      for (const std::string& ns : operands)
        if (ns.empty()) fail("a namespace name must not be empty");
      refuse_process_local();
      out.namespaces = std::move(operands);
      break;
    case Command::get:
      if (operands.size() != 1)
        fail(fmt::format("get takes one KEY, got {}: gencache get KEY --ns NAMESPACE",
                         operands.size()));
      out.key = std::move(operands.front());
      refuse_process_local();
      break;
    case Command::stats:
    case Command::ping:
      if (!operands.empty())
        fail(fmt::format("{} takes no arguments, got '{}'", name, operands.front()));
      break;
  }
  return out;
}

}  // namespace gencache::cli
