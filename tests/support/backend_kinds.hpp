#pragma once
// The one registry of backend kinds the suites run over: their names, the timeouts their
// clients use, how a server of each kind is started and connected, and how a kind serves
// an AsyncCache. Every suite that runs over "every backend" takes its kinds from here.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gencache/async_backend.hpp"
#include "gencache/backend.hpp"

namespace gencache::test {

/// "memory", "memcached_ascii", "memcached_binary", "memcached_meta" (the asynchronous
/// meta-protocol client, driven through test::BlockingAsyncBackend), "redis",
/// "redis_async" (the asynchronous RESP client, driven as rediss:// drives it, through
/// detail::AsyncBackendThread), "redis_cluster" (3 masters, shared by the process),
/// "redis_async_cluster" (the asynchronous cluster client on that cluster) and
/// "redis_async_cluster_tls" (the same over TLS, on the nodes' TLS ports). The last two are
/// blocking through detail::AsyncBackendThread, as Cache::from_url makes
/// rediss://...?cluster=true, and reach an AsyncCache natively (as_async_backend).
std::vector<std::string> backend_kinds();

/// The kinds of backend_kinds() that talk to one server, which tests may stop or pause:
/// all but "memory" and the cluster kinds.
std::vector<std::string> server_backend_kinds();

/// Whether a kind serves an AsyncCache only, so that the Cache suites run it over
/// AsyncCache alone: "redis_async_cluster" (a Cache on redis://...?cluster=true is the
/// blocking cluster client, "redis_cluster").
bool only_async_cache_reaches(std::string_view kind);

/// The server kinds whose clients check connections out of a pool: all but
/// "memcached_meta" and "redis_async", which pipeline.
std::vector<std::string> pooled_backend_kinds();

class RedisClusterServers;
class TestCertificates;
/// The 3-master Redis Cluster this process shares (started on first use), speaking
/// plaintext and, on ports of its own, TLS with shared_redis_cluster_certificates().
RedisClusterServers& shared_redis_cluster();
const TestCertificates& shared_redis_cluster_certificates();

/// A client's timeouts, the one place tests choose them.
struct Timeouts {
  std::chrono::milliseconds connect;
  std::chrono::milliseconds io;
  std::chrono::milliseconds retry;  ///< how long Memcached skips a failed server
};

/// For suites that check behaviour, not time: never trips on a loaded 2-core machine
/// running sanitizer builds.
inline constexpr Timeouts kFunctionalTimeouts{std::chrono::seconds(1), std::chrono::seconds(1),
                                              std::chrono::seconds(1)};

/// For suites that crash or hang a server and bound the caller's wait by the timeouts.
inline constexpr Timeouts kFailureTimeouts{std::chrono::milliseconds(100),
                                           std::chrono::milliseconds(100), std::chrono::seconds(1)};

/// A bound on a Cache call while the server is down or hung under kFailureTimeouts: a
/// promise bound, not a benchmark (sanitizer builds on a loaded machine need the margin).
inline constexpr std::chrono::seconds kCacheCallBound{2};

/// The largest gap a 2 ms ticker on the caller's io_context may show while a server hangs:
/// a caller's thread blocked on it would stall the ticker for the io_timeout (100 ms under
/// kFailureTimeouts), so the bound sits below that. Unoptimized and sanitized builds
/// (GENCACHE_TEST_SLOW_BUILD, GENCACHE_TEST_SANITIZED, set by tests/CMakeLists.txt) run
/// handlers slower, beside another test program on two cores, and get more room (TSan once
/// saw a gap over 25 ms on a loaded machine).
#if GENCACHE_TEST_SLOW_BUILD || GENCACHE_TEST_SANITIZED
inline constexpr std::chrono::milliseconds kTickGapBound{60};
#else
inline constexpr std::chrono::milliseconds kTickGapBound{25};
#endif

/// Threads of the blocking bridge a server kind serves an AsyncCache through.
inline constexpr std::size_t kBridgeThreads = 4;

/// What a test may change about a backend it connects; memory:// has no I/O to tune.
struct ClientSettings {
  Timeouts timeouts = kFunctionalTimeouts;
  std::optional<std::size_t> pool_max = std::nullopt;  ///< unset: the backend's default
  std::optional<std::chrono::milliseconds> pool_wait = std::nullopt;
};

/// One server of a kind, the child of this test process, started on construction and
/// killed on destruction, with the crash (stop/start) and hang (pause/resume) controls.
/// For "memory" there is no process: connect() gives a new, empty MemoryBackend and the
/// controls do nothing. For the cluster kinds it is the shared cluster, emptied on
/// construction; its controls throw std::logic_error (no one server to stop). Not
/// thread-safe: control it from the thread that started it.
class TestServer {
 public:
  virtual ~TestServer() = default;
  /// A new client of this server with its own connections.
  virtual std::shared_ptr<Backend> connect(const ClientSettings& settings = {}) const = 0;
  virtual void stop() = 0;    ///< SIGKILL, like a crash: the data is lost
  virtual void start() = 0;   ///< again on the same port
  virtual void pause() = 0;   ///< SIGSTOP, like a hung server
  virtual void resume() = 0;  ///< SIGCONT
};

/// Starts a server of `kind` (one of backend_kinds()). Throws std::invalid_argument for
/// an unknown kind, std::runtime_error naming the package when the binary is missing.
std::unique_ptr<TestServer> start_server(std::string_view kind);

struct TestBackend {
  std::shared_ptr<Backend> backend;
  std::string prefix;  ///< pass as CacheOptions::prefix to isolate the test
};

/// A backend of `kind` with kFunctionalTimeouts on the process's one shared server of
/// that kind (started on first use), under a fresh random prefix. Memory backends are new
/// each call.
TestBackend make_test_backend(std::string_view kind);

/// `blocking` (a backend of `kind`, or a wrapper of one) as an AsyncCache drives that
/// kind: memory completes inline, a server kind runs on a blocking bridge of
/// kBridgeThreads, as AsyncCache::from_url does for their URLs.
std::shared_ptr<AsyncBackend> as_async_backend(std::string_view kind,
                                               std::shared_ptr<Backend> blocking);

/// A random prefix such as "t3f9c2a1:".
std::string random_prefix();

/// A Memcached backend on `servers` ("host:port") with `timeouts`.
std::shared_ptr<Backend> connect_memcached(std::vector<std::string> servers,
                                           bool binary_protocol = false,
                                           const Timeouts& timeouts = kFailureTimeouts);

/// A Redis backend on 127.0.0.1:`port` with `timeouts`.
std::shared_ptr<Backend> connect_redis(std::uint16_t port,
                                       const Timeouts& timeouts = kFailureTimeouts);

}  // namespace gencache::test
