// Cross-language interop: tests/interop/gencache_protocol.py implements docs/PROTOCOL.md in
// Python (pymemcache) without looking at this library. Against one real memcached, each side
// reads what the other wrote and sees the other's bumps, as a Django service next to a C++
// service sharing the cache would.

#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "envelope.hpp"
#include "gencache/cache.hpp"
#include "gencache/memcached_async_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/namespace.hpp"
#include "gencache/redis_backend.hpp"
#include "gencache/testing.hpp"
#include "interop/subprocess.hpp"
#include "key_encoding.hpp"
#include "random.hpp"
#include "support/backend_kinds.hpp"
#include "support/blocking_async_backend.hpp"
#include "support/memcached_server.hpp"
#include "support/redis_cluster.hpp"

namespace gencache::test {
namespace {

using namespace std::chrono_literals;

// Runs the Python implementation; its stdout is one JSON object.
struct PythonResult {
  int status = -1;
  boost::json::object json;
  std::string err;
};

// The first python3 that has pymemcache: the one on PATH, else Debian's (python3-pymemcache
// installs for /usr/bin/python3, which a pyenv or virtualenv on PATH would hide). Empty if none.
const std::string& python_interpreter() {
  static const std::string found = [] {
    for (const char* candidate : {"python3", "/usr/bin/python3"}) {
      try {
        if (run_process({candidate, "-c", "import pymemcache"}).status == 0)
          return std::string(candidate);
      } catch (const std::exception&) {
        // not installed there
      }
    }
    return std::string();
  }();
  return found;
}

// The first python3 that has redis-py, for the Redis Cluster commands. Empty if none.
const std::string& python_with_redis() {
  static const std::string found = [] {
    for (const char* candidate : {"python3", "/usr/bin/python3"}) {
      try {
        if (run_process({candidate, "-c", "import redis.cluster"}).status == 0)
          return std::string(candidate);
      } catch (const std::exception&) {
        // not installed there
      }
    }
    return std::string();
  }();
  return found;
}

// `server` is "--server HOST:PORT" for memcached or "--cluster SEEDS" for a Redis Cluster.
PythonResult python(const std::string& server, const std::string& prefix,
                    std::vector<std::string> args, std::string_view server_flag = "--server") {
  const std::string& interpreter =
      server_flag == "--cluster" ? python_with_redis() : python_interpreter();
  args.insert(args.begin(), {interpreter, GENCACHE_INTEROP_SCRIPT, std::string(server_flag), server,
                             "--prefix", prefix});
  const ProcessResult run = run_process(args);
  PythonResult result{run.status, {}, run.err};
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(run.out, ec);
  if (!ec && parsed.is_object()) result.json = parsed.as_object();
  return result;
}

std::string as_string(const boost::json::value& v) {
  return std::string(v.as_string());
}
std::uint64_t as_u64(const boost::json::value& v) {
  return v.to_number<std::uint64_t>();
}

class Interop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new MemcachedServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  Cache cache() const { return Cache::from_url(memcached_url({server_}, "prefix=" + prefix_)); }
  void SetUp() override {
    ASSERT_FALSE(python_interpreter().empty())
        << "the interop test needs python3 with pymemcache: apt-get install python3-pymemcache";
  }

  PythonResult py(std::vector<std::string> args) const {
    return python(server_->address(), prefix_, std::move(args));
  }

  static MemcachedServer* server_;
  std::string prefix_ = random_prefix();  // "t3f9c2a1:": every test has its own keys
};

MemcachedServer* Interop::server_ = nullptr;

// ---- keys: both sides compute the same bytes -------------------------------------------

struct KeyCase {
  std::string prefix;
  std::string key;
  std::vector<std::pair<std::string, std::uint64_t>> namespaces;  // any order
};

TEST(InteropKeys, PythonComputesTheLibrarysCounterAndVersionedKeys) {
  ASSERT_FALSE(python_interpreter().empty()) << "apt-get install python3-pymemcache";
  const std::string long_text(300, 'x');
  const std::vector<KeyCase> cases = {
      {"", "/dashboard?page=2", {{"user:42", 5208315727}, {"catalog", 4294967296}}},
      {"app-prod:", "/a b%c@d,e|f#g", {{"org:7:plan", 1}, {"user:1%3A2", 18446744073709551615u}}},
      {"", "caf\xc3\xa9\n\t~", {{"ns with space", 4294967297}, {"\x01\x7f\xff", 42}}},
      {"p:", long_text, {{"user:42", 4294967296}}},
      {"", "k", {{long_text, 4294967296}, {"a", 5}}},
      {"", "no namespaces", {}},
  };
  for (const KeyCase& c : cases) {
    CacheOptions options;
    options.prefix = c.prefix;
    Cache cache(std::make_shared<MemoryBackend>(), options);

    std::vector<Namespace> names;
    std::vector<std::string> args{"key", c.key};
    for (const auto& [name, generation] : c.namespaces) {
      names.emplace_back(name);
      args.push_back("--ns=" + name + "=" + std::to_string(generation));
    }
    const NamespaceSet set(names);
    std::vector<std::uint64_t> generations;  // in the set's canonical order
    for (const Namespace& n : set) {
      for (const auto& [name, generation] : c.namespaces)
        if (name == n.name()) generations.push_back(generation);
    }
    const std::string expected = cache.versioned_key(c.key, set, generations);
    ASSERT_LE(expected.size(), 250u);
    const PythonResult r = python("unused:0", c.prefix, args);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(as_string(r.json.at("key")), expected) << "key '" << c.key << "'";

    for (const Namespace& n : set) {
      const PythonResult counter = python("unused:0", c.prefix, {"counter-key", n.name()});
      ASSERT_EQ(counter.status, 0) << counter.err;
      EXPECT_EQ(as_string(counter.json.at("key")), detail::counter_key(c.prefix, n));
    }
  }
}

TEST(InteropKeys, PythonComputesTheLibrarysHashTaggedKeysForRedisCluster) {
  ASSERT_FALSE(python_with_redis().empty()) << "apt-get install python3-redis";
  // The backend connects lazily: building keys needs no cluster.
  RedisClusterOptions cluster;
  cluster.seeds = {{"127.0.0.1", 1}};
  const auto backend = make_redis_cluster_backend(cluster);
  const std::string long_text(300, 'x');
  for (const auto& [prefix, key, names] :
       {std::tuple("", "/dashboard?page=2", std::vector<std::string>{"user:42", "catalog"}),
        std::tuple("app{x}:", "/a b{c}", std::vector<std::string>{"org:7:plan"}),
        std::tuple("p:", long_text.c_str(), std::vector<std::string>{long_text, "a"}),
        std::tuple("", "no namespaces", std::vector<std::string>{})}) {
    Cache cache(backend, CacheOptions{.prefix = prefix});
    std::vector<Namespace> namespaces(names.begin(), names.end());
    const NamespaceSet set(namespaces);
    std::vector<std::string> args{"key", key};
    std::vector<std::uint64_t> generations;
    for (const Namespace& n : set) {
      generations.push_back(4294967296 + generations.size());
      args.push_back(fmt::format("--ns={}={}", n.name(), generations.back()));
    }
    const PythonResult r = python("unused:0", prefix, args, "--cluster");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(as_string(r.json.at("key")), cache.versioned_key(key, set, generations));
    for (const Namespace& n : set) {
      const PythonResult counter =
          python("unused:0", prefix, {"counter-key", n.name()}, "--cluster");
      ASSERT_EQ(counter.status, 0) << counter.err;
      EXPECT_EQ(as_string(counter.json.at("key")), testing::counter_key(*backend, n, prefix));
    }
  }
}

// The worked examples of docs/PROTOCOL.md, byte for byte.
TEST(InteropKeys, TheProtocolDocumentsExamplesHold) {
  CacheOptions options;
  options.prefix = "app:";
  Cache cache(std::make_shared<MemoryBackend>(), options);
  EXPECT_EQ(detail::counter_key("app:", Namespace("user:42")), "app:gc1:n:user:42");
  EXPECT_EQ(detail::counter_key("app:", ns("org", 7, "plan")), "app:gc1:n:org:7:plan");
  const std::vector<std::uint64_t> two{4294967296, 5208315727};
  EXPECT_EQ(
      cache.versioned_key("/search?q=caf\xc3\xa9 & more|x", {ns("user", 42), ns("catalog")}, two),
      "app:gc1:k:catalog@4294967296,user:42@5208315727|/search?q=caf%C3%A9%20&%20more%7Cx");
  const std::vector<std::uint64_t> one{5208315727};
  EXPECT_EQ(cache.versioned_key("/reports?" + std::string(300, 'x'), ns("user", 42), one),
            "app:gc1:h:user:42@5208315727|/reports?" + std::string(147, 'x') +
                "#928c9dba0161da3953980fd5439e660a2fd36b4dd10c47ff3212b9d62ff18f4f");

  auto hex = [](const std::string& bytes) {
    std::string out;
    for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
    return out;
  };
  detail::Entry entry;
  entry.payload = "hello";
  entry.created = Clock::time_point(std::chrono::milliseconds(1700000000000));
  entry.ttl = std::chrono::milliseconds(600000);
  entry.compute_time = std::chrono::microseconds(2000);
  EXPECT_EQ(hex(detail::encode_envelope(entry)),
            "474301000068e5cf8b010000c027090000000000d007000000000000"
            "05000000b05534e268656c6c6f");
  entry.kind = detail::EntryKind::absent;
  entry.payload.clear();
  EXPECT_EQ(hex(detail::encode_envelope(entry)),
            "474301010068e5cf8b010000c027090000000000d007000000000000"
            "0000000072a99488");
}

// ---- values and invalidation across languages ------------------------------------------

TEST_F(Interop, PythonReadsAnEntryTheLibraryWroteAndChecksItsEnvelope) {
  Cache library = cache();
  const NamespaceSet deps{ns("user", 42), ns("catalog")};
  const std::string body = R"({"user":42,"page":2,"items":["caf\u00e9"]})";
  EXPECT_EQ(library.cached("/dashboard?page=2", deps, 10min, [&] { return body; }), body);

  const PythonResult r = py({"read", "/dashboard?page=2", "--ns", "user:42", "--ns", "catalog"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.json.at("hit").as_bool());
  EXPECT_EQ(as_string(r.json.at("kind")), "value");
  EXPECT_EQ(as_string(r.json.at("payload")), body);
  EXPECT_EQ(r.json.at("ttl_ms").as_int64(), 600000);
  const std::vector<std::uint64_t> generations{library.generation(ns("catalog")),
                                               library.generation(ns("user", 42))};
  EXPECT_EQ(as_string(r.json.at("key")),
            library.versioned_key("/dashboard?page=2", deps, generations));
}

TEST_F(Interop, APythonBumpInvalidatesTheLibrarysEntry) {
  Cache library = cache();
  const NamespaceSet deps{ns("user", 42), ns("catalog")};
  int computes = 0;
  auto render = [&] { return "page v" + std::to_string(++computes); };
  EXPECT_EQ(library.cached("/dashboard", deps, 10min, render), "page v1");
  EXPECT_EQ(library.cached("/dashboard", deps, 10min, render), "page v1");
  const std::uint64_t before = library.generation(ns("user", 42));

  const PythonResult bump = py({"bump", "user:42"});
  ASSERT_EQ(bump.status, 0) << bump.err;
  EXPECT_EQ(as_u64(bump.json.at("generation")), before + 1);
  EXPECT_EQ(library.generation(ns("user", 42)), before + 1);

  EXPECT_EQ(library.cached("/dashboard", deps, 10min, render), "page v2")
      << "the bump invalidated it";
  EXPECT_EQ(computes, 2);
  const PythonResult read = py({"read", "/dashboard", "--ns", "catalog", "--ns", "user:42"});
  EXPECT_EQ(read.status, 0) << read.err;
  EXPECT_EQ(as_string(read.json.at("payload")), "page v2");
}

TEST_F(Interop, APythonBumpOfAMissingCounterStartsItFresh) {
  const PythonResult bump = py({"bump", "org:7"});
  ASSERT_EQ(bump.status, 0) << bump.err;
  const std::uint64_t generation = as_u64(bump.json.at("generation"));
  EXPECT_GE(generation, detail::min_fresh_generation);
  EXPECT_LT(generation, detail::max_fresh_generation);
  EXPECT_EQ(cache().generation(ns("org", 7)), generation);
}

TEST_F(Interop, TheLibraryHitsAnEntryPythonWrote) {
  const PythonResult write = py({"write", "/profile", "--ns", "user:9",
                                 "--value=caf\xc3\xa9 from Django", "--ttl-ms", "60000"});
  ASSERT_EQ(write.status, 0) << write.err;

  Cache library = cache();
  int computes = 0;
  const std::string value = library.cached("/profile", ns("user", 9), 1min, [&] {
    ++computes;
    return std::string("computed in C++");
  });
  EXPECT_EQ(value, "caf\xc3\xa9 from Django");
  EXPECT_EQ(computes, 0);
  EXPECT_EQ(library.get("/profile", ns("user", 9)), "caf\xc3\xa9 from Django");
  EXPECT_EQ(library.stats().hits, 2u);
}

TEST_F(Interop, TheLibraryHitsAnAbsentEntryPythonWrote) {
  ASSERT_EQ(py({"write", "by-email", "--ns", "email:x@example.org", "--absent"}).status, 0);
  Cache library = cache();
  int computes = 0;
  const std::optional<std::string> found =
      library.cached("by-email", ns("email", "x@example.org"), 1min, [&] {
        ++computes;
        return std::optional<std::string>("someone");
      });
  EXPECT_EQ(found, std::nullopt);
  EXPECT_EQ(computes, 0);
}

TEST_F(Interop, ALibraryBumpInvalidatesForPython) {
  Cache library = cache();
  library.set("/feed", ns("user", 3), std::string("old feed"), 1min);
  EXPECT_EQ(py({"read", "/feed", "--ns", "user:3"}).status, 0);
  library.bump_namespace(ns("user", 3));
  const PythonResult read = py({"read", "/feed", "--ns", "user:3"});
  EXPECT_EQ(read.status, 3) << "a miss";
  EXPECT_FALSE(read.json.at("found").as_bool());
}

TEST_F(Interop, AnEnvelopeWithABadChecksumIsAMissForBothSides) {
  ASSERT_EQ(py({"corrupt", "/page", "--ns", "user:5"}).status, 0);
  const PythonResult read = py({"read", "/page", "--ns", "user:5"});
  EXPECT_EQ(read.status, 3);
  EXPECT_TRUE(read.json.at("found").as_bool());
  EXPECT_FALSE(read.json.at("valid").as_bool());

  Cache library = cache();
  EXPECT_EQ(library.cached("/page", ns("user", 5), 1min, [] { return std::string("recomputed"); }),
            "recomputed");
  EXPECT_EQ(library.stats().corrupt, 1u);
}

TEST_F(Interop, TheEnvelopeTtlRulesFreshnessNotTheServersExpiry) {
  // Memcached keeps the item for a whole second; the envelope says it is fresh for 1 ms.
  ASSERT_EQ(py({"write", "/short", "--ns", "user:6", "--value=brief", "--ttl-ms", "1"}).status, 0);
  std::this_thread::sleep_for(20ms);
  Cache library = cache();
  EXPECT_EQ(library.get("/short", ns("user", 6)), std::nullopt);
  EXPECT_EQ(py({"read", "/short", "--ns", "user:6"}).status, 3);
}

// ---- the asynchronous meta-protocol client beside the Python add/incr client --------------

TEST_F(Interop, TheMetaClientAndPythonReadEachOthersEntriesAndSeeEachOthersBumps) {
  MemcachedAsyncOptions options;
  options.servers = {server_->address()};
  auto meta = std::make_shared<BlockingAsyncBackend>([&](boost::asio::any_io_executor executor) {
    return make_memcached_async_backend(std::move(executor), options);
  });
  CacheOptions cache_options;
  cache_options.prefix = prefix_;
  Cache over_meta(meta, cache_options);
  const NamespaceSet deps{ns("user", 42)};
  int computes = 0;
  auto render = [&] { return "meta page v" + std::to_string(++computes); };
  EXPECT_EQ(over_meta.cached("/meta", deps, 10min, render), "meta page v1");
  const PythonResult read = py({"read", "/meta", "--ns", "user:42"});
  ASSERT_EQ(read.status, 0) << read.err;
  EXPECT_EQ(as_string(read.json.at("payload")), "meta page v1");

  ASSERT_EQ(py({"bump", "user:42"}).status, 0);
  EXPECT_EQ(over_meta.cached("/meta", deps, 10min, render), "meta page v2");

  // The one-command bump (ma ... N J) creates a missing counter that Python's incr bumps.
  const std::uint64_t fresh = detail::min_fresh_generation + 12345;
  EXPECT_EQ(meta->increment_or_create(detail::counter_key(prefix_, ns("org", 8)), 1, fresh,
                                      std::chrono::milliseconds(0)),
            fresh);
  const PythonResult bump = py({"bump", "org:8"});
  ASSERT_EQ(bump.status, 0) << bump.err;
  EXPECT_EQ(as_u64(bump.json.at("generation")), fresh + 1);
}

// ---- the same on a Redis Cluster -------------------------------------------------------

class InteropCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(python_with_redis().empty())
        << "the cluster interop test needs python3 with redis-py: apt-get install python3-redis";
  }
  Cache cache() const {
    return Cache(make_redis_cluster_backend(shared_redis_cluster().options()),
                 CacheOptions{.prefix = prefix_});
  }
  PythonResult py(std::vector<std::string> args) const {
    std::string seeds;
    for (const auto& node : shared_redis_cluster().nodes())
      seeds += (seeds.empty() ? "" : ",") + node->address();
    return python(seeds, prefix_, std::move(args), "--cluster");
  }
  std::string prefix_ = random_prefix();
};

TEST_F(InteropCluster, EachSideHitsWhatTheOtherWroteAndSeesTheOthersBumps) {
  Cache library = cache();
  const NamespaceSet deps{ns("user", 42), ns("catalog")};
  int computes = 0;
  auto render = [&] { return "page v" + std::to_string(++computes); };
  EXPECT_EQ(library.cached("/dashboard", deps, 10min, render), "page v1");
  const PythonResult read = py({"read", "/dashboard", "--ns", "user:42", "--ns", "catalog"});
  ASSERT_EQ(read.status, 0) << read.err;
  EXPECT_EQ(as_string(read.json.at("payload")), "page v1");

  const std::uint64_t before = library.generation(ns("user", 42));
  const PythonResult bump = py({"bump", "user:42"});
  ASSERT_EQ(bump.status, 0) << bump.err;
  EXPECT_EQ(as_u64(bump.json.at("generation")), before + 1);
  EXPECT_EQ(library.cached("/dashboard", deps, 10min, render), "page v2");

  ASSERT_EQ(py({"write", "/profile", "--ns", "user:9", "--value=from Django"}).status, 0);
  EXPECT_EQ(library.get("/profile", ns("user", 9)), "from Django");
  library.bump_namespace(ns("user", 9));
  EXPECT_EQ(py({"read", "/profile", "--ns", "user:9"}).status, 3) << "a miss after the bump";
}

}  // namespace
}  // namespace gencache::test
