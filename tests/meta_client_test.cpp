// The asynchronous meta-protocol Memcached client against real memcached: what only it
// does (one-command bumps, read-borne leases, pipelining over few connections, TLS), how
// it shares entries with the blocking libmemcached backend on one server and on three,
// and how it behaves when a server evicts, restarts or hangs. The Backend contract, the
// Cache suite and the stale-read oracle also run over it (kind memcached_meta).
#include <libmemcached-1.0/memcached.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gencache/async_cache.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "gencache/memcached_async_backend.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/testing.hpp"
#include "support/backend_calls.hpp"
#include "support/backend_kinds.hpp"
#include "support/blocking_async_backend.hpp"
#include "support/memcached_server.hpp"
#include "support/stale_read_oracle.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using test::BlockingAsyncBackend;
using test::code_thrown_by;
using test::get;
using test::kFailureBound;
using test::kNoTtl;
using test::MemcachedServer;
using ::testing::HasSubstr;

std::vector<std::string> addresses(const std::vector<const MemcachedServer*>& servers) {
  std::vector<std::string> out;
  for (const MemcachedServer* server : servers) out.push_back(server->address());
  return out;
}

std::shared_ptr<BlockingAsyncBackend> meta_client(MemcachedAsyncOptions options) {
  return std::make_shared<BlockingAsyncBackend>([&](boost::asio::any_io_executor executor) {
    return make_memcached_async_backend(std::move(executor), options);
  });
}

std::shared_ptr<BlockingAsyncBackend> meta_client(
    const std::vector<const MemcachedServer*>& servers, std::chrono::milliseconds io_timeout = 1s) {
  MemcachedAsyncOptions options;
  options.servers = addresses(servers);
  options.io_timeout = io_timeout;
  options.connect_timeout = 1s;
  return meta_client(options);
}

std::shared_ptr<Backend> blocking_client(const std::vector<const MemcachedServer*>& servers) {
  MemcachedOptions options;
  options.servers = addresses(servers);
  options.io_timeout = 1s;
  options.connect_timeout = 1s;
  return make_memcached_backend(options);
}

// One field of memcached's `stats`, read over a connection of its own.
std::uint64_t server_stat(const MemcachedServer& server, const char* name) {
  memcached_st* memc = memcached_create(nullptr);
  memcached_server_add(memc, "127.0.0.1", server.port());
  memcached_return_t rc{};
  memcached_stat_st* stats = memcached_stat(memc, nullptr, &rc);
  char* text = memcached_stat_get_value(memc, stats, name, &rc);
  const std::uint64_t count = text != nullptr ? std::strtoull(text, nullptr, 10) : 0;
  std::free(text);
  memcached_stat_free(memc, stats);
  memcached_free(memc);
  return count;
}

// memcached's own count of open connections (the stats reader's included).
std::uint64_t current_connections(const MemcachedServer& server) {
  return server_stat(server, "curr_connections");
}

// Runs `io` until `done()` or 10 s; the connections' reads keep `io` busy forever, so
// io.run() would never return.
void run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!done() && std::chrono::steady_clock::now() < give_up) io.run_one_for(10ms);
}

// Destroys `backend` and lets its connections close.
void shut_down(boost::asio::io_context& io, std::shared_ptr<AsyncBackend>& backend) {
  backend.reset();
  io.run_for(100ms);
}

// --- what the meta protocol gives -------------------------------------------------------

TEST(MetaClient, BumpCreatesAnAbsentCounterAtTheFreshValueThenIncrementsItInOneCall) {
  MemcachedServer server;
  auto meta = meta_client({&server});
  const std::uint64_t fresh = 4611686018427387000;  // near 2^62, the top of the fresh range
  EXPECT_EQ(meta->increment_or_create("n", 1, fresh, kNoTtl), fresh);
  EXPECT_EQ(meta->increment_or_create("n", 1, 999, kNoTtl), fresh + 1);
  // Clients that use incr and get (the blocking backend) see the same counter.
  auto blocking = blocking_client({&server});
  EXPECT_EQ(blocking->increment("n", 1), fresh + 2);
  EXPECT_EQ(get(*blocking, "n"), std::to_string(fresh + 2));
}

TEST(MetaClient, BumpNamespacesOfThreeWarmNamespacesIsOnePipelinedRoundTrip) {
  MemcachedServer server;
  auto meta = meta_client({&server});
  boost::asio::io_context io;
  AsyncCache cache(io.get_executor(), meta->shared_async());
  const std::vector<Namespace> three{ns("a"), ns("b"), ns("c")};
  std::vector<std::uint64_t> before;
  std::vector<std::uint64_t> after;
  std::uint64_t trips = 0;
  auto bump_three = [&]() -> boost::asio::awaitable<void> {
    for (const Namespace& n : three)
      before.push_back(co_await cache.async_generation(n, boost::asio::use_awaitable));
    const std::uint64_t trips_before = cache.stats().round_trips;
    after = co_await cache.async_bump_namespaces(three, boost::asio::use_awaitable);
    trips = cache.stats().round_trips - trips_before;
  };
  std::exception_ptr failure;
  boost::asio::co_spawn(io, bump_three(), [&](std::exception_ptr e) { failure = e; });
  io.run();
  ASSERT_FALSE(failure);
  EXPECT_EQ(trips, 1u) << "the three ma commands share one pipelined batch";
  ASSERT_EQ(after.size(), 3u);
  // What the server holds, read by the other client: each counter moved by exactly one.
  auto blocking = blocking_client({&server});
  for (std::size_t i = 0; i < three.size(); ++i) {
    EXPECT_EQ(after[i], before[i] + 1);
    EXPECT_EQ(get(*blocking, gencache::testing::counter_key(three[i])),
              std::to_string(before[i] + 1));
  }
}

TEST(MetaClient, BumpIncrementsACounterTheBlockingBackendCreatedWithAdd) {
  MemcachedServer server;
  auto blocking = blocking_client({&server});
  ASSERT_TRUE(blocking->create_counter("n", 5000, kNoTtl));
  auto meta = meta_client({&server});
  EXPECT_EQ(meta->increment_or_create("n", 1, 123456789, kNoTtl), 5001u);
}

TEST(MetaClient, DefaultBumpOfABackendWithoutTheCapabilityCreatesThenIncrements) {
  MemcachedServer server;
  // The AsyncBackend default (increment, create, increment), reached through a backend
  // that forwards everything but increment_or_create.
  struct Forwarding final : AsyncBackend {
    std::shared_ptr<AsyncBackend> inner;
    void async_visit_many(std::span<const std::string_view> k, ValueVisitor& v,
                          handler<void(std::exception_ptr)> d) override {
      inner->async_visit_many(k, v, std::move(d));
    }
    void async_set(std::string_view k, std::string_view v, std::chrono::milliseconds t,
                   handler<void(std::exception_ptr)> d) override {
      inner->async_set(k, v, t, std::move(d));
    }
    void async_add(std::string_view k, std::string_view v, std::chrono::milliseconds t,
                   handler<void(std::exception_ptr, bool)> d) override {
      inner->async_add(k, v, t, std::move(d));
    }
    void async_remove(std::string_view k, handler<void(std::exception_ptr, bool)> d) override {
      inner->async_remove(k, std::move(d));
    }
    void async_increment(
        std::string_view k, std::uint64_t delta,
        handler<void(std::exception_ptr, std::optional<std::uint64_t>)> d) override {
      inner->async_increment(k, delta, std::move(d));
    }
    void async_create_counter(std::string_view k, std::uint64_t i, std::chrono::milliseconds t,
                              handler<void(std::exception_ptr, bool)> d) override {
      inner->async_create_counter(k, i, t, std::move(d));
    }
    std::size_t max_value_size() const noexcept override { return inner->max_value_size(); }
    std::string describe() const override { return inner->describe(); }
  };
  MemcachedAsyncOptions options;
  options.servers = {server.address()};
  BlockingAsyncBackend forwarding([&](boost::asio::any_io_executor executor) {
    auto backend = std::make_shared<Forwarding>();
    backend->inner = make_memcached_async_backend(std::move(executor), options);
    return backend;
  });
  EXPECT_EQ(forwarding.increment_or_create("n", 1, 4294967296, kNoTtl), 4294967296u);
  EXPECT_EQ(forwarding.increment_or_create("n", 1, 7, kNoTtl), 4294967297u);
  const auto read = forwarding.read_with_lease("n", 1s);
  EXPECT_EQ(read.lease, AsyncBackend::LeaseRead::Lease::unsupported);
  EXPECT_EQ(read.value, "4294967297");
}

TEST(MetaClient, ReadWithLeaseGivesTheLeaseOfAMissingKeyToTheFirstReaderOnly) {
  using Lease = AsyncBackend::LeaseRead::Lease;
  MemcachedServer server;
  auto first = meta_client({&server});
  auto second = meta_client({&server});
  const auto won = first->read_with_lease("k", 5s);
  EXPECT_EQ(won.lease, Lease::won);
  EXPECT_EQ(won.value, std::nullopt);
  const auto held = second->read_with_lease("k", 5s);
  EXPECT_EQ(held.lease, Lease::held);
  EXPECT_EQ(held.value, std::nullopt);
  // A client without leases sees the placeholder as an empty value, which no envelope
  // is: gencache readers take it for a miss.
  EXPECT_EQ(get(*blocking_client({&server}), "k"), "");

  first->set("k", "computed", kNoTtl);
  const auto after = second->read_with_lease("k", 5s);
  EXPECT_EQ(after.lease, Lease::not_needed);
  EXPECT_EQ(after.value, "computed");
}

TEST(MetaClient, TwoHundredFiftySixReadsInFlightShareTheConfiguredConnections) {
  MemcachedServer server;
  const std::uint64_t before = current_connections(server);
  boost::asio::io_context io;
  MemcachedAsyncOptions options;
  options.servers = {server.address()};
  options.connections = 2;
  options.io_timeout = 5s;
  auto backend = make_memcached_async_backend(io.get_executor(), options);
  struct Counting final : ValueVisitor {
    std::size_t found_count = 0;
    void found(std::size_t, std::string_view value) noexcept override {
      if (value == "v") ++found_count;
    }
  } visitor;
  std::optional<bool> stored;
  backend->async_set("k", "v", kNoTtl, [&](std::exception_ptr failure) { stored = !failure; });
  run_until(io, [&] { return stored.has_value(); });
  ASSERT_EQ(stored, true);

  const std::string_view keys[] = {"k"};
  int completed = 0;
  int failed = 0;
  for (int i = 0; i < 256; ++i)
    backend->async_visit_many(keys, visitor, [&](std::exception_ptr failure) {
      ++completed;
      if (failure) ++failed;
    });
  run_until(io, [&] { return completed == 256; });
  EXPECT_EQ(completed, 256);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(visitor.found_count, 256u);
  EXPECT_LE(current_connections(server) - before, 2u);
  shut_down(io, backend);
}

// --- sharing entries with the blocking backend ------------------------------------------

void expect_each_reads_what_the_other_wrote(const std::vector<const MemcachedServer*>& servers) {
  auto meta = meta_client(servers);
  auto blocking = blocking_client(servers);
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back(fmt::format("gc1:k:user:{}@4294967296|/p{}", i, i));
  for (std::size_t i = 0; i < keys.size(); ++i)
    (i % 2 == 0 ? static_cast<Backend&>(*meta) : *blocking)
        .set(keys[i], fmt::format("value {}", i), kNoTtl);
  for (Backend* reader : {static_cast<Backend*>(meta.get()), blocking.get()}) {
    const auto values = test::get_many(*reader, keys);
    for (std::size_t i = 0; i < keys.size(); ++i)
      EXPECT_EQ(values[i], fmt::format("value {}", i)) << reader->describe() << " " << keys[i];
  }
}

TEST(MetaClientInterop, EachBackendReadsWhatTheOtherWroteOnOneServer) {
  MemcachedServer server;
  expect_each_reads_what_the_other_wrote({&server});
}

TEST(MetaClientInterop, EachBackendReadsWhatTheOtherWroteOnThreeServers) {
  MemcachedServer a, b, c;
  expect_each_reads_what_the_other_wrote({&a, &b, &c});
  // And each key is on exactly one server, every server holding some.
  auto blocking = blocking_client({&a, &b, &c});
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back(fmt::format("placement:{}", i));
  for (const std::string& key : keys) blocking->set(key, "x", kNoTtl);
  std::size_t total = 0;
  for (const MemcachedServer* one : {&a, &b, &c}) {
    const auto values = test::get_many(*meta_client({one}), keys);
    const auto held = std::count(values.begin(), values.end(), std::optional<std::string>("x"));
    EXPECT_GT(held, 0) << one->address();
    total += static_cast<std::size_t>(held);
  }
  EXPECT_EQ(total, keys.size());
}

TEST(MetaClientInterop, BumpThroughEitherCacheInvalidatesTheOthersEntriesOnThreeServers) {
  MemcachedServer a, b, c;
  Cache over_meta(meta_client({&a, &b, &c}));
  Cache over_blocking(blocking_client({&a, &b, &c}));
  const NamespaceSet user = ns("user", 42);
  int computed = 0;
  const auto compute = [&] { return fmt::format("computed {}", ++computed); };
  EXPECT_EQ(over_blocking.cached("page", user, 1min, compute), "computed 1");
  EXPECT_EQ(over_meta.cached("page", user, 1min, compute), "computed 1");  // a hit
  over_meta.bump_namespace(ns("user", 42));
  EXPECT_EQ(over_blocking.cached("page", user, 1min, compute), "computed 2");
  over_blocking.bump_namespace(ns("user", 42));
  EXPECT_EQ(over_meta.cached("page", user, 1min, compute), "computed 3");
  EXPECT_EQ(over_blocking.cached("page", user, 1min, compute), "computed 3");
}

// --- servers that evict, restart and hang -----------------------------------------------

TEST(MetaClientServers, EvictingServerNeverReturnsAnotherKeysValue) {
  MemcachedServer server({.memory_mb = 2});
  auto meta = meta_client({&server});
  std::vector<std::string> keys;
  for (int i = 0; i < 1500; ++i) keys.push_back(fmt::format("big:{}", i));  // 12 MB into 2
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::string value(8192, static_cast<char>('a' + i % 26));
    value.replace(0, keys[i].size(), keys[i]);
    try {
      meta->set(keys[i], value, kNoTtl);
    } catch (const backend_error& e) {
      EXPECT_EQ(e.code(), errc::not_stored) << e.what();  // out of memory, never garbage
    }
  }
  const auto values = test::get_many(*meta, keys);
  std::size_t present = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!values[i]) continue;
    ++present;
    ASSERT_EQ(values[i]->size(), 8192u);
    EXPECT_TRUE(values[i]->starts_with(keys[i])) << keys[i];
  }
  EXPECT_GT(present, 0u);
  EXPECT_LT(present, keys.size()) << "nothing was evicted: the test proves nothing";
}

TEST(MetaClientServers, RestartedServerIsReconnectedOnceTheBackoffEnds) {
  MemcachedServer server;
  MemcachedAsyncOptions options;
  options.servers = {server.address()};
  options.retry_timeout = 200ms;
  auto meta = meta_client(options);
  meta->set("k", "before", kNoTtl);

  server.stop();
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(code_thrown_by([&] { meta->set("k", "during", kNoTtl); }), errc::backend_unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, kFailureBound);
  // Refused: later calls fail at once until the backoff ends.
  EXPECT_EQ(code_thrown_by([&] { get(*meta, "k"); }), errc::backend_unavailable);

  server.start();
  started = std::chrono::steady_clock::now();
  std::optional<std::string> after = "unread";
  while (std::chrono::steady_clock::now() - started < kFailureBound) {
    try {
      after = get(*meta, "k");
      break;
    } catch (const backend_error& e) {
      EXPECT_EQ(e.code(), errc::backend_unavailable) << e.what();
      std::this_thread::sleep_for(20ms);
    }
  }
  EXPECT_EQ(after, std::nullopt);  // reconnected; the restart lost the item
  meta->set("k", "again", kNoTtl);
  EXPECT_EQ(get(*meta, "k"), "again");
}

// Sends far larger than the socket's buffers while the server reads nothing (stopped): a
// send goes out in part at once and the rest through the event loop, and every request
// completes, with its value whole, once the server resumes.
TEST(MetaClientServers, SendsLargerThanTheSocketTakesAtOnceAllArriveWhole) {
  MemcachedServer server({.memory_mb = 128});
  boost::asio::io_context io;
  MemcachedAsyncOptions options;
  options.servers = {server.address()};
  options.io_timeout = 20s;  // the stopped server must not time the requests out
  auto backend = make_memcached_async_backend(io.get_executor(), options);
  std::optional<bool> warm;
  backend->async_set("warm", "v", kNoTtl, [&](std::exception_ptr failure) { warm = !failure; });
  run_until(io, [&] { return warm.has_value(); });  // connected
  ASSERT_EQ(warm, true);

  constexpr int kValues = 48;  // 24 MiB submitted in one turn of the event loop
  std::vector<std::string> keys;
  std::vector<std::string> values;
  for (int i = 0; i < kValues; ++i) {
    keys.push_back(fmt::format("big:{}", i));
    values.emplace_back(512 * 1024, static_cast<char>('a' + i % 26));
  }
  server.pause();
  int stored = 0;
  int failed = 0;
  // Keys and values stay alive until the completions, as AsyncBackend asks.
  for (int i = 0; i < kValues; ++i)
    backend->async_set(keys[i], values[i], kNoTtl,
                       [&](std::exception_ptr failure) { ++(failure ? failed : stored); });
  io.run_for(300ms);
  EXPECT_EQ(stored + failed, 0) << "nothing can complete while the server is stopped";
  server.resume();
  run_until(io, [&] { return stored + failed == kValues; });
  EXPECT_EQ(stored, kValues);
  EXPECT_EQ(failed, 0);
  auto reader = blocking_client({&server});
  for (int i = 0; i < kValues; ++i) {
    const std::optional<std::string> read = get(*reader, keys[i]);
    ASSERT_TRUE(read.has_value()) << keys[i];
    EXPECT_TRUE(*read == values[i]) << keys[i] << " came back with " << read->size() << " bytes";
  }
}

TEST(MetaClientServers, HungServerFailsEveryPipelinedRequestWithinTheDeadline) {
  MemcachedServer server;
  boost::asio::io_context io;
  MemcachedAsyncOptions options;
  options.servers = {server.address()};
  options.io_timeout = 100ms;
  auto backend = make_memcached_async_backend(io.get_executor(), options);
  bool stored = false;
  backend->async_set("k", "v", kNoTtl, [&](std::exception_ptr failure) { stored = !failure; });
  run_until(io, [&] { return stored; });
  ASSERT_TRUE(stored);

  server.pause();
  struct Ignore final : ValueVisitor {
    void found(std::size_t, std::string_view) noexcept override {}
  } visitor;
  const std::string_view keys[] = {"k"};
  std::vector<std::error_code> codes;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i)
    backend->async_visit_many(keys, visitor, [&](std::exception_ptr failure) {
      try {
        if (failure) std::rethrow_exception(failure);
        codes.emplace_back();
      } catch (const backend_error& e) {
        codes.push_back(e.code());
      }
    });
  run_until(io, [&] { return codes.size() == 100; });
  const auto took = std::chrono::steady_clock::now() - started;
  server.resume();
  ASSERT_EQ(codes.size(), 100u);
  for (const std::error_code& code : codes) EXPECT_EQ(code, errc::timeout);
  EXPECT_GE(took, 90ms);
  EXPECT_LT(took, kFailureBound);

  // The late replies died with the old connection: a new read sees only its own.
  bool fresh_seen = false;
  bool read_done = false;
  // Stored first: requests on different connections of one server are not ordered.
  std::optional<bool> fresh_stored;
  backend->async_set("fresh", "after", kNoTtl,
                     [&](std::exception_ptr failure) { fresh_stored = !failure; });
  run_until(io, [&] { return fresh_stored.has_value(); });
  EXPECT_EQ(fresh_stored, true);
  struct Expect final : ValueVisitor {
    bool* seen;
    void found(std::size_t index, std::string_view value) noexcept override {
      *seen = index == 0 && value == "after";
    }
  } expect;
  expect.seen = &fresh_seen;
  const std::string_view fresh[] = {"fresh"};
  backend->async_visit_many(fresh, expect, [&](std::exception_ptr) { read_done = true; });
  run_until(io, [&] { return read_done; });
  EXPECT_TRUE(fresh_seen);
  shut_down(io, backend);
}

// --- TLS ---------------------------------------------------------------------------------

// A self-signed certificate for 127.0.0.1 and localhost, made by `openssl req`.
class TlsFiles {
 public:
  TlsFiles() {
    directory_ = std::filesystem::temp_directory_path() /
                 fmt::format("gencache-tls-{}-{}", getpid(), counter_++);
    std::filesystem::create_directories(directory_);
    const std::string command = fmt::format(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
        "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout {} -out {} 2>{}",
        key(), certificate(), (directory_ / "openssl.log").string());
    if (std::system(command.c_str()) != 0)
      throw std::runtime_error("openssl req failed (apt-get install openssl): " + command);
  }
  ~TlsFiles() {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
  std::string certificate() const { return (directory_ / "cert.pem").string(); }
  std::string key() const { return (directory_ / "key.pem").string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path directory_;
};

// The message of the config_error that making a meta client with `options` throws (a
// test failure when it throws none).
std::string config_error_of(const MemcachedAsyncOptions& options) {
  boost::asio::io_context io;
  try {
    make_memcached_async_backend(io.get_executor(), options);
  } catch (const config_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no config_error";
  return {};
}

// A TLS client of `server` that trusts the certificate of `files` and nothing else.
MemcachedAsyncOptions trusting_tls_options(const MemcachedServer& server, const TlsFiles& files) {
  MemcachedAsyncOptions options;
  options.servers = {server.address()};
  options.connect_timeout = 1s;
  options.io_timeout = 1s;
  options.tls.enabled = true;
  options.tls.ca_file = files.certificate();
  return options;
}

class MetaClientTls : public ::testing::Test {
 protected:
  TlsFiles files_;
  MemcachedServer server_{{.extra_args = {"-Z", "-o",
                                          fmt::format("ssl_chain_cert={},ssl_key={}",
                                                      files_.certificate(), files_.key())}}};

  MemcachedAsyncOptions tls_options() const { return trusting_tls_options(server_, files_); }
};

TEST_F(MetaClientTls, ClientTrustingTheCertificateStoresReadsAndBumps) {
  auto meta = meta_client(tls_options());
  meta->set("k", "secret", kNoTtl);
  EXPECT_EQ(get(*meta, "k"), "secret");
  EXPECT_EQ(meta->increment_or_create("n", 1, 4294967296, kNoTtl), 4294967296u);
  EXPECT_THAT(meta->describe(), HasSubstr("(TLS)"));
}

TEST_F(MetaClientTls, CertificateThatDoesNotVerifyFailsTheCallAndNothingIsSentInPlaintext) {
  MemcachedAsyncOptions options = tls_options();
  options.tls.ca_file.clear();  // the system's authorities did not sign it
  auto meta = meta_client(options);
  const std::string message = test::message_thrown_by([&] { meta->set("k", "v", kNoTtl); });
  EXPECT_THAT(message, HasSubstr("TLS handshake failed"));
  EXPECT_THAT(message, HasSubstr("certificate verify failed"));
  EXPECT_EQ(code_thrown_by([&] { meta->set("k", "v", kNoTtl); }), errc::backend_unavailable);
  EXPECT_EQ(get(*meta_client(tls_options()), "k"), std::nullopt);
}

TEST_F(MetaClientTls, CertificateForAnotherNameFails) {
  MemcachedAsyncOptions options = tls_options();
  options.tls.server_name = "cache.example.org";
  auto meta = meta_client(options);
  EXPECT_THAT(test::message_thrown_by([&] { get(*meta, "k"); }), HasSubstr("TLS handshake failed"));
}

TEST_F(MetaClientTls, VerifyOffAcceptsAnUntrustedCertificate) {
  MemcachedAsyncOptions options = tls_options();
  options.tls.ca_file.clear();
  options.tls.verify = false;
  auto meta = meta_client(options);
  meta->set("k", "v", kNoTtl);
  EXPECT_EQ(get(*meta, "k"), "v");
}

// memcached -Z with ssl_verify_mode=2 requires a client certificate signed by ssl_ca_cert
// (here the self-signed one, which is its own authority).
class MetaClientTlsClientCertificate : public ::testing::Test {
 protected:
  TlsFiles files_;
  MemcachedServer server_{
      {.extra_args = {"-Z", "-o",
                      fmt::format("ssl_chain_cert={},ssl_key={},ssl_ca_cert={},"
                                  "ssl_verify_mode=2",
                                  files_.certificate(), files_.key(), files_.certificate())}}};

  MemcachedAsyncOptions options() const { return trusting_tls_options(server_, files_); }
};

TEST_F(MetaClientTlsClientCertificate, AServerThatRequiresOneGetsTheConfiguredOne) {
  MemcachedAsyncOptions with_certificate = options();
  with_certificate.tls.cert_file = files_.certificate();
  with_certificate.tls.key_file = files_.key();
  auto meta = meta_client(with_certificate);
  meta->set("k", "v", kNoTtl);
  EXPECT_EQ(get(*meta, "k"), "v");
}

TEST_F(MetaClientTlsClientCertificate, WithoutOneTheServerRefusesAndTheCallFails) {
  auto meta = meta_client(options());
  EXPECT_EQ(code_thrown_by([&] { meta->set("k", "v", kNoTtl); }), errc::backend_unavailable);
}

TEST_F(MetaClientTlsClientCertificate, AnUnreadableCertificateIsAConfigErrorNamingTheOption) {
  MemcachedAsyncOptions unreadable = options();
  unreadable.tls.cert_file = "/nonexistent/client.pem";
  unreadable.tls.key_file = files_.key();
  const std::string message = config_error_of(unreadable);
  EXPECT_THAT(message, HasSubstr("tls_cert_file"));
  EXPECT_THAT(message, HasSubstr("/nonexistent/client.pem"));
}

TEST_F(MetaClientTls, UnreadableCaFileIsAConfigErrorNamingTheOption) {
  MemcachedAsyncOptions options = tls_options();
  options.tls.ca_file = "/nonexistent/ca.pem";
  const std::string message = config_error_of(options);
  EXPECT_THAT(message, HasSubstr("tls_ca_file"));
  EXPECT_THAT(message, HasSubstr("/nonexistent/ca.pem"));
}

// --- the stale-read oracle over each kind of server ----------------------------------------

// Readers and writers in two Caches (as two processes) over their own meta clients.
test::OracleResult run_oracle(const std::function<std::shared_ptr<Backend>()>& connect,
                              test::OracleConfig config) {
  config.reads_per_reader = 2000;
  config.bumps_per_writer = 200;
  const std::string prefix = test::random_prefix();
  Cache readers(connect(), CacheOptions{.prefix = prefix});
  Cache writers(connect(), CacheOptions{.prefix = prefix});
  const test::OracleResult result = test::run_stale_read_oracle(readers, writers, config);
  EXPECT_EQ(result.stale_reads, 0u) << "of " << result.reads << " reads";
  EXPECT_GT(result.bumps, 0u);
  return result;
}

TEST(MetaClientOracle, NoStaleReadOnAnEvictingServer) {
  MemcachedServer server({.memory_mb = 2});
  test::OracleConfig config;
  config.keys_per_namespace = 64;
  config.value_padding = 8192;  // 4 x 64 x 8 KB and more, into 2 MB
  const auto result = run_oracle([&] { return meta_client({&server}); }, config);
  EXPECT_GT(result.cache_hits, 0u);
  EXPECT_GT(server_stat(server, "evictions"), 0u) << "nothing was evicted: the test proves nothing";
}

TEST(MetaClientOracle, NoStaleReadOnAThreeServerCluster) {
  MemcachedServer a, b, c;
  const auto result = run_oracle([&] { return meta_client({&a, &b, &c}); }, {});
  EXPECT_GT(result.cache_hits, result.reads / 10);
}

TEST(MetaClientOracle, NoStaleReadWhileTheServerHangsAndResumes) {
  MemcachedServer server;
  test::OracleConfig config;
  config.chaos = [&](const std::atomic<bool>& done) {
    while (!done) {
      std::this_thread::sleep_for(50ms);
      server.pause();
      std::this_thread::sleep_for(150ms);
      server.resume();
    }
  };
  run_oracle([&] { return meta_client({&server}, 100ms); }, config);
}

TEST(MetaClientOracle, NoStaleReadAcrossServerRestarts) {
  // A restarted memcached has lost every counter and entry: the counters come back at
  // fresh values (promise 3), so nothing stored before the restart is read again.
  MemcachedServer server;
  MemcachedAsyncOptions options;
  options.servers = {server.address()};
  options.io_timeout = 200ms;
  options.retry_timeout = 20ms;
  const std::string prefix = test::random_prefix();
  // The breaker off: open, it would serve the rest of the run from computes alone.
  const CacheOptions cache_options{.prefix = prefix, .breaker = {.failure_threshold = 0}};
  Cache readers(meta_client(options), cache_options);
  Cache writers(meta_client(options), cache_options);

  // Every restart comes after kHitsBetween hits since the one before, and the readers stop
  // kHitsBetween hits after the last: each restart has hits on both sides of it, however
  // fast or slow the reads are (a sanitizer, a loaded machine, reads failing while the
  // server is down), where a fixed period once left 55 hits over four restarts.
  constexpr int kRestarts = 4;
  constexpr std::uint64_t kHitsBetween = 200;
  std::atomic<int> restarts{0};
  std::atomic<bool> enough{false};
  test::OracleConfig config;
  config.chaos = [&](const std::atomic<bool>& done) {
    auto wait_for_hits = [&] {
      const std::uint64_t from = readers.stats().hits;
      const auto deadline = std::chrono::steady_clock::now() + 20s;
      while (!done && readers.stats().hits < from + kHitsBetween &&
             std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    };
    for (int i = 0; i < kRestarts && !done; ++i) {
      wait_for_hits();
      server.stop();
      std::this_thread::sleep_for(20ms);
      server.start();
      restarts.fetch_add(1);
    }
    wait_for_hits();
    enough = true;
  };
  config.stop = &enough;
  config.reads_per_reader = 10'000'000;  // a bound only: readers stop once `enough`
  const test::OracleResult result = test::run_stale_read_oracle(readers, writers, config);
  EXPECT_EQ(result.stale_reads, 0u) << "of " << result.reads << " reads";
  EXPECT_GT(readers.stats().counter_recreations, 0u) << "the restarts lost counters";
  EXPECT_EQ(restarts.load(), kRestarts) << "the run must span restarts to prove anything";
  std::printf("[ restarts ] %d restarts during %lu reads, %lu hits, %lu errors\n", restarts.load(),
              static_cast<unsigned long>(result.reads),
              static_cast<unsigned long>(result.cache_hits),
              static_cast<unsigned long>(readers.stats().errors));
  // Reads that hit are the ones that could be stale: the run must have had them between
  // every two restarts (chaos waits at most 20 s for each batch).
  EXPECT_GE(result.cache_hits, (kRestarts + 1) * kHitsBetween);
}

TEST_F(MetaClientTls, NoStaleReadOverTls) {
  const auto result = run_oracle([&] { return meta_client(tls_options()); }, {});
  EXPECT_GT(result.cache_hits, result.reads / 10);
}

// --- URLs ----------------------------------------------------------------------------------

TEST(MetaClientUrl, ReadsServersTimeoutsConnectionsAndTls) {
  const MemcachedAsyncOptions options = memcached_async_options_from_url(
      "memcached://10.0.0.1:11211,cache-b?io_timeout=250ms&connections=4&tls=true&"
      "tls_ca_file=/etc/ca.pem&tls_cert_file=/c.pem&tls_key_file=/k.pem&tls_verify=false&"
      "tls_server_name=cache.internal&ketama=false");
  EXPECT_EQ(options.servers, (std::vector<std::string>{"10.0.0.1:11211", "cache-b:11211"}));
  EXPECT_EQ(options.io_timeout, 250ms);
  EXPECT_EQ(options.connections, 4u);
  EXPECT_TRUE(options.tls.enabled);
  EXPECT_EQ(options.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(options.tls.cert_file, "/c.pem");
  EXPECT_EQ(options.tls.key_file, "/k.pem");
  EXPECT_FALSE(options.tls.verify);
  EXPECT_EQ(options.tls.server_name, "cache.internal");
  EXPECT_EQ(options.ketama, false);
}

TEST(MetaClientUrl, RefusesWhatOnlyTheBlockingClientHasSayingWhy) {
  const auto message = [](std::string_view url) {
    try {
      memcached_async_options_from_url(url);
    } catch (const config_error& e) {
      return std::string(e.what());
    }
    return std::string("no config_error");
  };
  EXPECT_THAT(message("memcached://h?protocol=binary"), HasSubstr("meta protocol"));
  EXPECT_THAT(message("memcached://h?pool_max=4"), HasSubstr("connections="));
  EXPECT_THAT(message("memcached://u:p@h"), HasSubstr("SASL"));
  EXPECT_THAT(message("memcached://h?connections=65"), HasSubstr("connections"));
  EXPECT_THAT(message("memcached://h?tls=maybe"), HasSubstr("tls"));
  EXPECT_THAT(message("memcached://h?bogus=1"), HasSubstr("bogus"));
}

TEST(MetaClientUrl, CacheUrlAskingForTlsIsAConfigErrorSayingHowToGetIt) {
  for (const char* url : {"memcached://127.0.0.1:11211?tls=true",
                          "memcached://127.0.0.1:11211?tls_ca_file=/etc/ca.pem"}) {
    try {
      Cache::from_url(url);
      ADD_FAILURE() << url << " connected without TLS";
    } catch (const config_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("cannot use TLS"));
      EXPECT_THAT(e.what(), HasSubstr("AsyncCache::from_url"));
    }
  }
  EXPECT_NO_THROW(Cache::from_url("memcached://127.0.0.1:11211?tls=false"));
}

}  // namespace
}  // namespace gencache
