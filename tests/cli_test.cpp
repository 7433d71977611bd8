// The gencache command line (tools/gencache_cli), run as a user runs it: usage errors, help,
// and every command against memory:// and against a real memcached.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/namespace.hpp"
#include "interop/subprocess.hpp"
#include "support/backend_kinds.hpp"
#include "support/memcached_server.hpp"
#include "support/redis_server.hpp"

namespace gencache::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int kOk = 0;
constexpr int kBackendError = 1;
constexpr int kUsage = 2;
constexpr int kMiss = 3;
constexpr int kAbsent = 4;

// Runs `gencache ARGS...` with GENCACHE_URL unset unless `env` sets it.
ProcessResult gencache_cli(std::vector<std::string> args,
                           std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), GENCACHE_CLI_PATH);
  env.try_emplace("GENCACHE_URL", "");
  return run_process(args, env);
}

// ---- usage -----------------------------------------------------------------------------

TEST(CliUsage, NoCommandIsAUsageErrorWithTheSynopsis) {
  const ProcessResult r = gencache_cli({});
  EXPECT_EQ(r.status, kUsage);
  EXPECT_THAT(r.err, HasSubstr("no command given"));
  EXPECT_THAT(r.err, HasSubstr("usage: gencache [--url URL] COMMAND"));
  EXPECT_EQ(r.out, "");
}

TEST(CliUsage, UnknownCommandIsNamedAndTheCommandsListed) {
  const ProcessResult r = gencache_cli({"frobnicate"});
  EXPECT_EQ(r.status, kUsage);
  EXPECT_THAT(
      r.err,
      HasSubstr("unknown command 'frobnicate': expected bump, generation, get, stats or ping"));
}

TEST(CliUsage, UnknownOptionIsNamed) {
  const ProcessResult r = gencache_cli({"bump", "--force", "user:1"});
  EXPECT_EQ(r.status, kUsage);
  EXPECT_THAT(r.err, HasSubstr("unknown option '--force'"));
  EXPECT_THAT(r.err, HasSubstr("Run 'gencache bump --help'"));
}

TEST(CliUsage, EachCommandChecksItsOperands) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"bump"}, "bump needs a namespace"},
      {{"generation"}, "generation needs a namespace"},
      {{"generation", "a", "b"}, "generation takes one namespace, got 2"},
      {{"get"}, "get takes one KEY, got 0"},
      {{"get", "k1", "k2", "--ns", "a"}, "get takes one KEY, got 2"},
      {{"bump", "--ns", "a"}, "--ns belongs to the get command"},
      {{"get", "k", "--ns"}, "--ns needs a value"},
      {{"get", "k", "--ns="}, "--ns needs a non-empty namespace name"},
      {{"bump", ""}, "a namespace name must not be empty"},
      {{"stats", "extra"}, "stats takes no arguments, got 'extra'"},
      {{"ping", "extra"}, "ping takes no arguments"},
      {{"--url"}, "--url needs a value"},
      {{"--url", "memory://", "--url=memory://", "ping"}, "--url is given twice"},
  };
  for (const auto& [args, message] : cases) {
    const ProcessResult r = gencache_cli(args);
    EXPECT_EQ(r.status, kUsage) << args.front();
    EXPECT_THAT(r.err, HasSubstr(message));
  }
}

TEST(CliUsage, HelpExitsZeroForTheToolAndEveryCommand) {
  for (const std::string command : {"", "bump", "generation", "get", "stats", "ping"}) {
    std::vector<std::string> args;
    if (!command.empty()) args.push_back(command);
    args.emplace_back("--help");
    const ProcessResult r = gencache_cli(args);
    EXPECT_EQ(r.status, kOk) << command;
    EXPECT_THAT(r.out, StartsWith("usage: gencache [--url URL] " +
                                  (command.empty() ? "COMMAND" : command)));
    EXPECT_THAT(r.out, HasSubstr("exit status"));
  }
  EXPECT_EQ(gencache_cli({"get", "-h"}).status, kOk);
}

TEST(CliUsage, BadUrlIsAUsageErrorNamingTheScheme) {
  const ProcessResult r = gencache_cli({"--url", "nosuch://host", "ping"});
  EXPECT_EQ(r.status, kUsage);
  EXPECT_THAT(r.err, HasSubstr("unknown scheme 'nosuch'"));
  const ProcessResult bad_param =
      gencache_cli({"ping"}, {{"GENCACHE_URL", "memory://?colour=blue"}});
  EXPECT_EQ(bad_param.status, kUsage);
  EXPECT_THAT(bad_param.err, HasSubstr("colour"));
}

// ---- memory:// (each process has its own, empty cache) ----------------------------------

TEST(CliMemory, BumpGetAndGenerationRefuseAProcessLocalCache) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"bump", "user:42"},
                                               {"generation", "user:42"},
                                               {"get", "/dashboard", "--ns", "user:42"}}) {
    const ProcessResult r = gencache_cli(args);
    EXPECT_EQ(r.status, kUsage) << args.front() << ": " << r.out;
    EXPECT_EQ(r.out, "") << args.front() << ": nothing may look like a result";
    EXPECT_THAT(r.err, HasSubstr(args.front() + " refuses memory://"));
    EXPECT_THAT(r.err, HasSubstr("lives inside one process"));
    EXPECT_THAT(r.err, HasSubstr("neither --url nor GENCACHE_URL"));
    EXPECT_THAT(r.err, HasSubstr("--url"));
  }
  // Named on purpose, in any case of the scheme, it is refused just the same.
  const ProcessResult named = gencache_cli({"--url", "MEMORY://", "bump", "user:42"});
  EXPECT_EQ(named.status, kUsage);
  EXPECT_THAT(named.err, HasSubstr("bump refuses MEMORY://"));
  EXPECT_THAT(named.err, Not(HasSubstr("neither --url")));
  EXPECT_EQ(gencache_cli({"bump", "user:42"}, {{"GENCACHE_URL", "memory://"}}).status, kUsage);
}

TEST(CliMemory, PingAndStatsWork) {
  const ProcessResult ping = gencache_cli({"ping"});
  EXPECT_EQ(ping.status, kOk);
  EXPECT_THAT(ping.out, StartsWith("ok memory://"));

  const ProcessResult stats = gencache_cli({"stats"});
  EXPECT_EQ(stats.status, kOk);
  EXPECT_THAT(stats.out, HasSubstr("memory:// has no servers to ask"));
  EXPECT_THAT(stats.out, HasSubstr("lives inside each process"));
}

// ---- a real memcached ------------------------------------------------------------------

class CliMemcached : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new MemcachedServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // The URL of the shared server with this test's own key prefix.
  std::string url() const { return memcached_url({server_}, "prefix=" + prefix_); }
  Cache cache() const { return Cache::from_url(url()); }
  ProcessResult cli(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--url", url()});
    return gencache_cli(args);
  }

  static MemcachedServer* server_;
  std::string prefix_ = random_prefix();
};

MemcachedServer* CliMemcached::server_ = nullptr;

TEST_F(CliMemcached, BumpAddsOneToTheGenerationTheLibrarySees) {
  Cache library = cache();
  const std::uint64_t before = library.generation(ns("user", 42));
  const ProcessResult bump = cli({"bump", "user:42"});
  ASSERT_EQ(bump.status, kOk) << bump.err;
  EXPECT_EQ(bump.out, fmt::format("user:42 {}\n", before + 1));
  EXPECT_EQ(library.generation(ns("user", 42)), before + 1);
  EXPECT_EQ(cli({"generation", "user:42"}).out, fmt::format("{}\n", before + 1));
}

TEST_F(CliMemcached, NamespacesAreLiteralNames) {
  // ns("org", "a:b") escapes the ':' inside the part; the CLI takes the name as written.
  Cache library = cache();
  const std::uint64_t before = library.generation(ns("org", "a:b"));
  ASSERT_EQ(cli({"bump", "org:a%3Ab"}).status, kOk);
  EXPECT_EQ(library.generation(ns("org", "a:b")), before + 1);
}

TEST_F(CliMemcached, GetPrintsExactlyTheStoredValueUnderNamespacesInAnyOrder) {
  Cache library = cache();
  const NamespaceSet deps{ns("user", 42), ns("catalog")};
  library.set("/dashboard?page=2", deps, std::string("line one\nline two"), 1min);

  const ProcessResult r = cli({"get", "/dashboard?page=2", "--ns", "user:42", "--ns=catalog"});
  ASSERT_EQ(r.status, kOk) << r.err;
  EXPECT_EQ(r.out, "line one\nline two");  // not a terminal: no newline added
  EXPECT_EQ(cli({"get", "/dashboard?page=2", "--ns", "catalog", "--ns", "user:42"}).out, r.out);
  EXPECT_EQ(cli({"get", "/dashboard?page=2", "--ns", "catalog"}).status, kMiss)
      << "another namespace set is another entry";
}

TEST_F(CliMemcached, GetAfterACliBumpIsAMissAndTheLibraryRecomputes) {
  Cache library = cache();
  int computes = 0;
  auto compute = [&] { return "v" + std::to_string(++computes); };
  EXPECT_EQ(library.cached("page", ns("user", 7), 1min, compute), "v1");
  EXPECT_EQ(cli({"get", "page", "--ns", "user:7"}).out, "v1");

  ASSERT_EQ(cli({"bump", "user:7"}).status, kOk);
  EXPECT_EQ(cli({"get", "page", "--ns", "user:7"}).status, kMiss);
  EXPECT_EQ(library.cached("page", ns("user", 7), 1min, compute), "v2");
  EXPECT_EQ(computes, 2);
}

TEST_F(CliMemcached, GetOfACachedAbsentValueExitsFour) {
  Cache library = cache();
  library.cached("lookup", ns("email", "x@example.org"), 1min,
                 [] { return std::optional<std::string>(); });
  const ProcessResult r = cli({"get", "lookup", "--ns", "email:x@example.org"});
  EXPECT_EQ(r.status, kAbsent);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("cached as absent"));
}

TEST_F(CliMemcached, PingAndStatsReachTheServer) {
  const ProcessResult ping = cli({"ping"});
  EXPECT_EQ(ping.status, kOk) << ping.err;
  EXPECT_THAT(ping.out, MatchesRegex("ok memcached://127\\.0\\.0\\.1:[0-9]+ [0-9.]+ ms\n"));

  const ProcessResult stats = cli({"stats"});
  EXPECT_EQ(stats.status, kOk) << stats.err;
  EXPECT_THAT(stats.out, HasSubstr("server " + server_->address() + "\n"));
  EXPECT_THAT(stats.out, HasSubstr("curr_items"));
  EXPECT_THAT(stats.out, HasSubstr("evictions"));
}

TEST_F(CliMemcached, UrlComesFromGencacheUrlWhenNotGiven) {
  const ProcessResult r = gencache_cli({"ping"}, {{"GENCACHE_URL", url()}});
  EXPECT_EQ(r.status, kOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr(server_->address()));
  // --url wins over the environment.
  EXPECT_THAT(gencache_cli({"--url", "memory://", "ping"}, {{"GENCACHE_URL", url()}}).out,
              StartsWith("ok memory://"));
}

TEST(CliRedis, StatsPrintsTheServersInfo) {
  RedisServer server;
  const ProcessResult stats =
      gencache_cli({"--url", fmt::format("redis://{}", server.address()), "stats"});
  EXPECT_EQ(stats.status, kOk) << stats.err;
  EXPECT_THAT(stats.out, HasSubstr("server " + server.address() + "\n"));
  EXPECT_THAT(stats.out, MatchesRegex("(.|\n)*  redis_version +[0-9.]+\n(.|\n)*"));
  EXPECT_THAT(stats.out, HasSubstr("keyspace_hits"));
  EXPECT_THAT(stats.out, HasSubstr("maxmemory_policy"));
}

TEST(CliDownServer, EveryCommandExitsOneWithTheReason) {
  std::string url;
  {
    MemcachedServer server;
    url = memcached_url({&server});
  }  // stopped: its port now refuses connections
  for (const std::vector<std::string>& args : {std::vector<std::string>{"ping"},
                                               {"bump", "user:1"},
                                               {"generation", "user:1"},
                                               {"get", "k", "--ns", "user:1"},
                                               {"stats"}}) {
    std::vector<std::string> full{"--url", url};
    full.insert(full.end(), args.begin(), args.end());
    const ProcessResult r = gencache_cli(full);
    EXPECT_EQ(r.status, kBackendError) << args.front() << ": " << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("gencache: ")) << args.front();
    EXPECT_EQ(r.out, "") << args.front();
  }
}

}  // namespace
}  // namespace gencache::test
