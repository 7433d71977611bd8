#include "support/backend_kinds.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <random>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "async_backend_thread.hpp"
#include "backends/complete_with.hpp"
#include "gencache/blocking_bridge.hpp"
#include "gencache/memcached_async_backend.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/redis_async_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "support/blocking_async_backend.hpp"
#include "support/memcached_server.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"
#include "support/test_certificates.hpp"

namespace gencache::test {
namespace {

constexpr std::string_view kMemory = "memory";
constexpr std::string_view kMemcachedAscii = "memcached_ascii";
constexpr std::string_view kMemcachedBinary = "memcached_binary";
constexpr std::string_view kMemcachedMeta = "memcached_meta";
constexpr std::string_view kRedis = "redis";
constexpr std::string_view kRedisAsync = "redis_async";
constexpr std::string_view kRedisCluster = "redis_cluster";
constexpr std::string_view kRedisClusterAsync = "redis_async_cluster";
constexpr std::string_view kRedisClusterTls = "redis_async_cluster_tls";

bool is_memcached(std::string_view kind) {
  return kind == kMemcachedAscii || kind == kMemcachedBinary || kind == kMemcachedMeta;
}

bool is_redis_cluster(std::string_view kind) {
  return kind == kRedisCluster || kind == kRedisClusterAsync || kind == kRedisClusterTls;
}

bool is_redis(std::string_view kind) {
  return kind == kRedis || kind == kRedisAsync || is_redis_cluster(kind);
}

[[noreturn]] void unknown_kind(std::string_view kind) {
  throw std::invalid_argument(fmt::format("unknown test backend kind '{}': expected one of {}",
                                          kind, fmt::join(backend_kinds(), ", ")));
}

template <class Options>
void apply(Options& options, const ClientSettings& settings) {
  options.connect_timeout = settings.timeouts.connect;
  options.io_timeout = settings.timeouts.io;
  if (settings.pool_max) options.pool_max = *settings.pool_max;
  if (settings.pool_wait) options.pool_wait = *settings.pool_wait;
}

// The meta-protocol client pipelines: it has no pool to tune.
std::shared_ptr<Backend> memcached_meta_client(std::vector<std::string> servers,
                                               const ClientSettings& settings) {
  MemcachedAsyncOptions options;
  options.servers = std::move(servers);
  options.connect_timeout = settings.timeouts.connect;
  options.io_timeout = settings.timeouts.io;
  options.retry_timeout = settings.timeouts.retry;
  return std::make_shared<BlockingAsyncBackend>([options](boost::asio::any_io_executor executor) {
    return make_memcached_async_backend(std::move(executor), options);
  });
}

// The asynchronous RESP client pipelines: it has no pool to tune.
std::shared_ptr<Backend> redis_async_client(std::uint16_t port, const ClientSettings& settings) {
  RedisAsyncOptions options;
  options.server.port = port;
  options.server.connect_timeout = settings.timeouts.connect;
  options.server.io_timeout = settings.timeouts.io;
  return std::make_shared<detail::AsyncBackendThread>(
      [options](boost::asio::any_io_executor executor) {
        return make_redis_async_backend(std::move(executor), options);
      });
}

std::shared_ptr<Backend> redis_cluster_client(const RedisClusterServers& cluster,
                                              const ClientSettings& settings) {
  RedisClusterOptions options = cluster.options();
  apply(options.connection, settings);
  return make_redis_cluster_backend(std::move(options));
}

// The asynchronous cluster client pipelines: no pool to tune. Driven as Cache::from_url
// drives rediss://...?cluster=true, on an I/O thread of its own.
std::shared_ptr<Backend> redis_async_cluster_client(const RedisClusterServers& cluster,
                                                    std::string_view kind,
                                                    const ClientSettings& settings) {
  RedisAsyncClusterOptions options;
  const bool tls = kind == kRedisClusterTls;
  options.cluster = tls ? cluster.tls_options() : cluster.options();
  options.cluster.connection.connect_timeout = settings.timeouts.connect;
  options.cluster.connection.io_timeout = settings.timeouts.io;
  if (tls) {
    options.tls.enabled = true;
    options.tls.ca_file = shared_redis_cluster_certificates().file("ca.pem");
  }
  return std::make_shared<detail::AsyncBackendThread>(
      [options](boost::asio::any_io_executor executor) {
        return make_redis_async_cluster_backend(std::move(executor), options);
      });
}

// A client of `kind` (one of the cluster kinds) on `cluster`.
std::shared_ptr<Backend> cluster_client(const RedisClusterServers& cluster, std::string_view kind,
                                        const ClientSettings& settings) {
  if (kind == kRedisCluster) return redis_cluster_client(cluster, settings);
  return redis_async_cluster_client(cluster, kind, settings);
}

std::shared_ptr<Backend> memcached_client(std::vector<std::string> servers, bool binary,
                                          const ClientSettings& settings) {
  MemcachedOptions options;
  options.servers = std::move(servers);
  options.protocol =
      binary ? MemcachedOptions::Protocol::binary : MemcachedOptions::Protocol::ascii;
  apply(options, settings);
  options.retry_timeout = std::chrono::ceil<std::chrono::seconds>(settings.timeouts.retry);
  return make_memcached_backend(std::move(options));
}

std::shared_ptr<Backend> redis_client(std::uint16_t port, const ClientSettings& settings) {
  RedisOptions options;
  options.port = port;
  apply(options, settings);
  return make_redis_backend(std::move(options));
}

class MemoryServer final : public TestServer {
 public:
  std::shared_ptr<Backend> connect(const ClientSettings&) const override {
    return std::make_shared<MemoryBackend>();
  }
  void stop() override {}
  void start() override {}
  void pause() override {}
  void resume() override {}
};

class MemcachedTestServer final : public TestServer {
 public:
  explicit MemcachedTestServer(std::string_view kind) : kind_(kind) {}
  std::shared_ptr<Backend> connect(const ClientSettings& settings) const override {
    if (kind_ == kMemcachedMeta) return memcached_meta_client({server_.address()}, settings);
    return memcached_client({server_.address()}, kind_ == kMemcachedBinary, settings);
  }
  void stop() override { server_.stop(); }
  void start() override { server_.start(); }
  void pause() override { server_.pause(); }
  void resume() override { server_.resume(); }

 private:
  std::string_view kind_;
  MemcachedServer server_;
};

class RedisTestServer final : public TestServer {
 public:
  explicit RedisTestServer(bool async_client) : async_client_(async_client) {}
  std::shared_ptr<Backend> connect(const ClientSettings& settings) const override {
    if (async_client_) return redis_async_client(server_.port(), settings);
    return redis_client(server_.port(), settings);
  }
  void stop() override { server_.stop(); }
  void start() override { server_.start(); }
  void pause() override { server_.pause(); }
  void resume() override { server_.resume(); }

 private:
  bool async_client_;
  RedisServer server_;
};

// Making a cluster takes seconds: the process's one cluster, emptied for each test.
class RedisClusterTestServer final : public TestServer {
 public:
  explicit RedisClusterTestServer(std::string_view kind)
      : kind_(kind), cluster_(shared_redis_cluster()) {
    for (std::uint16_t port : cluster_.master_ports())
      for (const auto& node : cluster_.nodes())
        if (node->port() == port) node->command({"FLUSHALL"});
  }
  std::shared_ptr<Backend> connect(const ClientSettings& settings) const override {
    return cluster_client(cluster_, kind_, settings);
  }
  void stop() override { no_one_server("stop"); }
  void start() override { no_one_server("start"); }
  void pause() override { no_one_server("pause"); }
  void resume() override { no_one_server("resume"); }

 private:
  [[noreturn]] static void no_one_server(std::string_view control) {
    throw std::logic_error(
        fmt::format("redis_cluster test server: cannot {} a cluster as one server", control));
  }
  std::string_view kind_;
  RedisClusterServers& cluster_;
};

// A blocking backend serving AsyncBackend inline, as MemoryBackend does itself: lets a
// wrapper of a memory backend (a FaultInjectingBackend) keep memory://'s inline completions.
class InlineAsyncBackend final : public AsyncBackend {
 public:
  explicit InlineAsyncBackend(std::shared_ptr<Backend> backend) : backend_(std::move(backend)) {}

  void async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                        handler<void(std::exception_ptr)> done) override {
    complete(std::move(done), [&] { backend_->visit_many(keys, visitor); });
  }
  void async_set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr)> done) override {
    complete(std::move(done), [&] { backend_->set(key, value, ttl); });
  }
  void async_add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr, bool)> done) override {
    complete(std::move(done), [&] { return backend_->add(key, value, ttl); });
  }
  void async_remove(std::string_view key, handler<void(std::exception_ptr, bool)> done) override {
    complete(std::move(done), [&] { return backend_->remove(key); });
  }
  void async_increment(
      std::string_view key, std::uint64_t delta,
      handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) override {
    complete(std::move(done), [&] { return backend_->increment(key, delta); });
  }
  void async_create_counter(std::string_view key, std::uint64_t initial,
                            std::chrono::milliseconds ttl,
                            handler<void(std::exception_ptr, bool)> done) override {
    complete(std::move(done), [&] { return backend_->create_counter(key, initial, ttl); });
  }
  std::size_t max_value_size() const noexcept override { return backend_->max_value_size(); }
  std::string describe() const override { return backend_->describe(); }

 private:
  template <class Handler, class Call>
  void complete(Handler done, Call call) {
    detail::complete_with(std::move(done), *backend_, std::move(call));
  }

  std::shared_ptr<Backend> backend_;
};

}  // namespace

std::vector<std::string> backend_kinds() {
  return {std::string(kMemory),          std::string(kMemcachedAscii),
          std::string(kMemcachedBinary), std::string(kMemcachedMeta),
          std::string(kRedis),           std::string(kRedisAsync),
          std::string(kRedisCluster),    std::string(kRedisClusterAsync),
          std::string(kRedisClusterTls)};
}

std::vector<std::string> server_backend_kinds() {
  std::vector<std::string> kinds = backend_kinds();
  std::erase(kinds, kMemory);
  // A cluster has no one server to stop or pause.
  std::erase_if(kinds, [](const std::string& kind) { return is_redis_cluster(kind); });
  return kinds;
}

bool only_async_cache_reaches(std::string_view kind) {
  return kind == kRedisClusterAsync;
}

std::vector<std::string> pooled_backend_kinds() {
  std::vector<std::string> kinds = server_backend_kinds();
  std::erase(kinds, kMemcachedMeta);
  std::erase(kinds, kRedisAsync);
  return kinds;
}

const TestCertificates& shared_redis_cluster_certificates() {
  static const TestCertificates certificates;
  return certificates;
}

RedisClusterServers& shared_redis_cluster() {
  // Stopped at exit by its destructor, before the certificates it uses are removed.
  static RedisClusterServers cluster({.masters = 3, .tls = &shared_redis_cluster_certificates()});
  return cluster;
}

std::unique_ptr<TestServer> start_server(std::string_view kind) {
  if (kind == kMemory) return std::make_unique<MemoryServer>();
  for (std::string_view known : {kMemcachedAscii, kMemcachedBinary, kMemcachedMeta})
    if (kind == known) return std::make_unique<MemcachedTestServer>(known);
  if (kind == kRedis || kind == kRedisAsync)
    return std::make_unique<RedisTestServer>(kind == kRedisAsync);
  if (is_redis_cluster(kind)) return std::make_unique<RedisClusterTestServer>(kind);
  unknown_kind(kind);
}

std::string random_prefix() {
  static std::mutex mutex;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard lock(mutex);
  return fmt::format("t{:08x}:", static_cast<std::uint32_t>(rng()));
}

TestBackend make_test_backend(std::string_view kind) {
  if (kind == kMemory) return {std::make_shared<MemoryBackend>(), ""};
  // One server per process and protocol family, stopped at exit by its destructor.
  if (is_memcached(kind) || kind == kMemcachedMeta) {
    static MemcachedServer server;
    if (kind == kMemcachedMeta)
      return {memcached_meta_client({server.address()}, {}), random_prefix()};
    return {memcached_client({server.address()}, kind == kMemcachedBinary, {}), random_prefix()};
  }
  if (kind == kRedis || kind == kRedisAsync) {
    static RedisServer server;
    if (kind == kRedisAsync) return {redis_async_client(server.port(), {}), random_prefix()};
    return {redis_client(server.port(), {}), random_prefix()};
  }
  if (is_redis_cluster(kind))
    return {cluster_client(shared_redis_cluster(), kind, {}), random_prefix()};
  unknown_kind(kind);
}

std::shared_ptr<AsyncBackend> as_async_backend(std::string_view kind,
                                               std::shared_ptr<Backend> blocking) {
  if (kind == kMemory) return std::make_shared<InlineAsyncBackend>(std::move(blocking));
  // The meta client is asynchronous itself: AsyncCache drives it directly (a wrapper of
  // it, such as a fault injector, goes through the bridge like the others).
  if (kind == kMemcachedMeta)
    if (auto meta = std::dynamic_pointer_cast<BlockingAsyncBackend>(blocking))
      // Owning the adapter: its thread runs the client's I/O.
      return std::shared_ptr<AsyncBackend>(meta, meta->shared_async().get());
  // So is the asynchronous cluster client, as AsyncCache::from_url makes it.
  if (kind == kRedisClusterAsync || kind == kRedisClusterTls)
    if (auto driven = std::dynamic_pointer_cast<detail::AsyncBackendThread>(blocking))
      return std::shared_ptr<AsyncBackend>(driven, driven->async_backend().get());
  if (is_memcached(kind) || kind == kMemcachedMeta || is_redis(kind))
    return make_blocking_bridge(std::move(blocking), {.threads = kBridgeThreads});
  unknown_kind(kind);
}

std::shared_ptr<Backend> connect_memcached(std::vector<std::string> servers, bool binary_protocol,
                                           const Timeouts& timeouts) {
  return memcached_client(std::move(servers), binary_protocol, {.timeouts = timeouts});
}

std::shared_ptr<Backend> connect_redis(std::uint16_t port, const Timeouts& timeouts) {
  return redis_client(port, ClientSettings{.timeouts = timeouts});
}

}  // namespace gencache::test
