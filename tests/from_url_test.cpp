// Promise 6: a malformed URL gets a clear error that names the bad part.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include "backend_from_url.hpp"
#include "gencache/cache.hpp"
#include "gencache/memory_backend.hpp"
#include "support/memcached_server.hpp"
#include "url_options.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;

std::string config_message(std::string_view url) {
  try {
    Cache::from_url(url);
  } catch (const config_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no config_error for " << url;
  return "";
}

TEST(FromUrl, MemoryUrlBuildsAWorkingCache) {
  Cache cache = Cache::from_url("memory://?max_bytes=8MiB&prefix=app1:");
  EXPECT_EQ(cache.backend().describe(), "memory://");
  EXPECT_EQ(cache.cached("k", ns("x"), 1min, [] { return 3; }), 3);
  EXPECT_EQ(cache.cached("k", ns("x"), 1min, [] { return 4; }), 3);
  EXPECT_NO_THROW(Cache::from_url("memory://"));
  EXPECT_NO_THROW(Cache::from_url("memory:///"));
}

TEST(FromUrl, UrlParametersOverrideTheOptionsDefaults) {
  Cache cache = Cache::from_url("memory://?prefix=fromurl:", CacheOptions{.prefix = "fromcode:"});
  cache.set("k", ns("n"), 1, 1min);
  Cache by_url_prefix(std::shared_ptr<Backend>(&cache.backend(), [](Backend*) {}),
                      CacheOptions{.prefix = "fromurl:"});
  EXPECT_EQ(by_url_prefix.get<int>("k", ns("n")), 1);
}

TEST(FromUrl, UnknownSchemeNamesItAndListsTheAccepted) {
  const std::string m = config_message("mongodb://localhost");
  EXPECT_NE(m.find("'mongodb'"), std::string::npos) << m;
  EXPECT_NE(m.find("memory, memcached"), std::string::npos) << m;
  EXPECT_NE(config_message("no-scheme-at-all").find("no scheme"), std::string::npos);
}

// The message of the config_error the async from_url throws for `url`.
std::string async_config_message(std::string_view url) {
  boost::asio::io_context io;
  CacheOptions options;
  try {
    detail::make_async_backend(url, options, io.get_executor());
  } catch (const config_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no config_error for " << url;
  return "";
}

TEST(FromUrl, SchemesAreCaseInsensitive) {
  EXPECT_EQ(Cache::from_url("MEMORY://").backend().describe(), "memory://");
  EXPECT_EQ(Cache::from_url("Memcached://127.0.0.1:1").backend().describe(),
            "memcached://127.0.0.1:1");
  EXPECT_EQ(Cache::from_url("REDIS://127.0.0.1:1").backend().describe(),
            Cache::from_url("redis://127.0.0.1:1").backend().describe());
  boost::asio::io_context io;
  CacheOptions options;
  EXPECT_EQ(
      detail::make_async_backend("ReDiS://127.0.0.1:1", options, io.get_executor())->describe(),
      Cache::from_url("redis://127.0.0.1:1").backend().describe());
}

TEST(FromUrl, BothFromUrlsAcceptTheSameSchemesAndGiveTheSameErrors) {
  for (const char* url : {"mongodb://localhost", "no-scheme-at-all", "memory://?max_bytez=1",
                          "memcached://h:1/path", "redis://h:1?bogus=1"}) {
    EXPECT_EQ(async_config_message(url), config_message(url)) << url;
  }
  EXPECT_NE(config_message("mongodb://x").find("accepted schemes are memory, memcached, redis"),
            std::string::npos)
      << config_message("mongodb://x");
}

TEST(FromUrl, AsyncMemoryUrlIsTheMemoryBackendItself) {
  boost::asio::io_context io;
  CacheOptions options;
  auto backend = detail::make_async_backend("memory://?prefix=a1:&async_threads=2", options,
                                            io.get_executor());
  EXPECT_NE(std::dynamic_pointer_cast<MemoryBackend>(backend), nullptr)
      << "memory:// must complete inline, not through the bridge";
  EXPECT_EQ(options.prefix, "a1:") << "cache-wide parameters reach the options";
}

TEST(FromUrl, AsyncServerUrlRunsOnTheBridgeAndWorks) {
  test::MemcachedServer server;
  boost::asio::io_context io;
  CacheOptions options;
  auto backend = detail::make_async_backend(test::memcached_url({&server}, "async_threads=1"),
                                            options, io.get_executor());
  EXPECT_EQ(std::dynamic_pointer_cast<MemoryBackend>(backend), nullptr);
  EXPECT_EQ(backend->describe(), "memcached://" + server.address());
  std::optional<bool> created;
  backend->async_create_counter(
      "from_url_counter", 7, 0ms,
      boost::asio::bind_executor(io, [&](std::exception_ptr failure, bool result) {
        EXPECT_FALSE(failure);
        created = result;
      }));
  io.run_for(std::chrono::seconds(5));  // the bridge holds work on io until it completes
  EXPECT_EQ(created, true);
}

TEST(FromUrl, AsyncThreadsOutOfRangeNamesTheParameter) {
  for (const char* url : {"memory://?async_threads=0", "memcached://h:1?async_threads=300",
                          "redis://h:1?async_threads=many"}) {
    const std::string m = async_config_message(url);
    EXPECT_NE(m.find("async_threads"), std::string::npos) << m;
    EXPECT_EQ(config_message(url), m) << "the blocking from_url reads it the same way";
  }
  EXPECT_NO_THROW(Cache::from_url("memory://?async_threads=8"))
      << "one URL may serve both APIs: the blocking Cache accepts and ignores it";
}

TEST(FromUrl, UnknownParameterNamesItAndListsTheAccepted) {
  const std::string m = config_message("memory://?max_bytez=1MiB");
  EXPECT_NE(m.find("max_bytez"), std::string::npos) << m;
  EXPECT_NE(m.find("max_bytes"), std::string::npos) << m;
  EXPECT_NE(m.find("prefix"), std::string::npos) << m;
}

TEST(FromUrl, BadValuesNameTheParameterAndTheExpectedForm) {
  const std::string m = config_message("memory://?max_bytes=lots");
  EXPECT_NE(m.find("'lots'"), std::string::npos) << m;
  EXPECT_NE(m.find("max_bytes"), std::string::npos) << m;
  EXPECT_NE(config_message("memory://?prefix=has%20space").find("prefix"), std::string::npos);
  EXPECT_NE(config_message("memory://?counter_ttl=10").find("unit"), std::string::npos);
  EXPECT_NE(config_message("memory://?max_bytes=1MiB&max_bytes=2MiB").find("more than once"),
            std::string::npos);
  EXPECT_NE(config_message("memory://somehost").find("no host"), std::string::npos);
  EXPECT_NE(config_message("memory://?x#frag").find("fragment"), std::string::npos);
}

TEST(FromUrl, CredentialsNeverAppearInMessages) {
  const std::string m = config_message("memcached://admin:s3cret@127.0.0.1:11211?bogus=1");
  EXPECT_EQ(m.find("s3cret"), std::string::npos) << m;
  EXPECT_NE(m.find("bogus"), std::string::npos) << m;
  const std::string m2 = config_message("nosuch://admin:s3cret@host");
  EXPECT_EQ(m2.find("s3cret"), std::string::npos) << m2;
}

TEST(FromUrl, FromEnvReadsGencacheUrlAndDefaultsToMemory) {
  ::unsetenv("GENCACHE_URL");
  EXPECT_EQ(Cache::from_env().backend().describe(), "memory://");
  ::setenv("GENCACHE_URL", "memory://?max_bytes=2MiB", 1);
  EXPECT_EQ(Cache::from_env().backend().describe(), "memory://");
  ::setenv("GENCACHE_URL", "bogus://", 1);
  EXPECT_THROW(Cache::from_env(), config_error);
  ::unsetenv("GENCACHE_URL");
}

TEST(UrlOptions, DurationsAndSizesParseWithUnits) {
  using detail::parse_duration;
  using detail::parse_size;
  EXPECT_EQ(parse_duration("250us"), 250us);
  EXPECT_EQ(parse_duration("50ms"), 50ms);
  EXPECT_EQ(parse_duration("2s"), 2s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_THROW(parse_duration("50"), std::invalid_argument);
  EXPECT_THROW(parse_duration("ms"), std::invalid_argument);
  EXPECT_THROW(parse_duration("-5s"), std::invalid_argument);
  EXPECT_THROW(parse_duration("99999999999999999999h"), std::invalid_argument);
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("64KiB"), 64u << 10);
  EXPECT_EQ(parse_size("64MiB"), 64u << 20);
  EXPECT_EQ(parse_size("1GiB"), 1u << 30);
  EXPECT_THROW(parse_size("1TiB"), std::invalid_argument);
  EXPECT_THROW(parse_size(""), std::invalid_argument);
}

}  // namespace
}  // namespace gencache
