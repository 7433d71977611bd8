// gencache: the operator's command line for a gencache cache. `gencache --help` lists the
// commands; each has its own --help. Exit statuses are listed in arguments.hpp.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gencache/cache.hpp>
#include <gencache/error.hpp>
#include <gencache/namespace.hpp>

#include "arguments.hpp"
#include "server_stats.hpp"

namespace gencache::cli {
namespace {

// The first backend failure that the Cache absorbed (reads fail open), so a command can
// tell "no entry" from "could not ask".
struct FailureLog {
  std::optional<std::string> first;
};

Cache open_cache(const Arguments& args, FailureLog& failures) {
  CacheOptions options;
  options.generation_hints = 0;  // one-shot process: nothing to remember
  options.on_error = [&failures](const ErrorEvent& event) {
    if (!failures.first)
      failures.first = fmt::format("{} failed: {}", event.operation, event.message);
  };
  return Cache::from_url(args.url, std::move(options));
}

int bump(Cache& cache, const Arguments& args) {
  int status = exit_ok;
  for (const std::string& name : args.namespaces) {
    try {
      const std::uint64_t generation = cache.bump_namespace(Namespace(name));
      fmt::print("{} {}\n", name, generation);
    } catch (const backend_error& e) {
      fmt::print(stderr,
                 "gencache: bump of '{}' failed (it may or may not have taken effect; retry): {}\n",
                 name, e.what());
      status = exit_backend_error;
    }
  }
  return status;
}

int generation(Cache& cache, const Arguments& args) {
  fmt::print("{}\n", cache.generation(Namespace(args.namespaces.front())));
  return exit_ok;
}

int get(Cache& cache, const Arguments& args, const FailureLog& failures) {
  std::vector<Namespace> namespaces;
  for (const std::string& name : args.namespaces) namespaces.emplace_back(name);
  const NamespaceSet set(std::move(namespaces));
  // optional<optional<string>>: outer empty is a miss, inner empty a cached "absent".
  const auto value = cache.get<std::optional<std::string>>(args.key, set);
  if (failures.first) {
    fmt::print(stderr, "gencache: {}\n", *failures.first);
    return exit_backend_error;
  }
  if (!value) {
    fmt::print(
        stderr,
        "gencache: no entry for key '{}' under {} namespace(s) at their current generations\n",
        args.key, set.size());
    return exit_miss;
  }
  if (!*value) {
    fmt::print(stderr, "gencache: the entry for key '{}' is cached as absent\n", args.key);
    return exit_absent;
  }
  std::fwrite((*value)->data(), 1, (*value)->size(), stdout);
  if (isatty(STDOUT_FILENO)) std::fputc('\n', stdout);
  return exit_ok;
}

int ping(Cache& cache) {
  const std::string_view probe = "gc1:ping";  // a key gencache never writes
  const std::vector<std::string_view> keys{probe};
  std::vector<std::optional<std::string>> values;
  const auto started = std::chrono::steady_clock::now();
  cache.backend().get_many(keys, values);
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - started;
  fmt::print("ok {} {:.3f} ms\n", cache.backend().describe(), took.count());
  return exit_ok;
}

int run(const Arguments& args) {
  FailureLog failures;
  Cache cache = open_cache(args, failures);
  switch (args.command) {
    case Command::bump:
      return bump(cache, args);
    case Command::generation:
      return generation(cache, args);
    case Command::get:
      return get(cache, args, failures);
    case Command::ping:
      return ping(cache);
    case Command::stats:
      return print_server_stats(cache.backend(), stdout, stderr);
    case Command::none:
      break;
  }
  return exit_usage;
}

}  // namespace
}  // namespace gencache::cli

int main(int argc, char** argv) {
  using namespace gencache::cli;
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  Arguments parsed;
  try {
    parsed = parse_arguments(args, std::getenv("GENCACHE_URL"));
  } catch (const UsageError& e) {
    const std::string_view text = usage(e.command);
    fmt::print(stderr, "gencache: {}\n{}\nRun 'gencache{}{} --help' for more.\n", e.message,
               text.substr(0, text.find('\n')), e.command == Command::none ? "" : " ",
               command_name(e.command));
    return exit_usage;
  }
  if (parsed.help) {
    fmt::print("{}", usage(parsed.command));
    return exit_ok;
  }
  try {
    return run(parsed);
  } catch (const gencache::config_error& e) {
    fmt::print(stderr, "gencache: {}\n", e.what());
    return exit_usage;
  } catch (const gencache::backend_error& e) {
    fmt::print(stderr, "gencache: {}\n", e.what());
    return exit_backend_error;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gencache: {}\n", e.what());
    return exit_backend_error;
  }
}
