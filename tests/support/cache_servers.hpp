#pragma once
// What the suites of the Cache on a real server share (server_cache_test, and the
// server-specific memcached_cache_test and redis_cache_test): backends with the short
// timeouts those suites use, one interface over the Memcached and Redis fixtures, and the
// oracle's one-line report.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gencache/backend.hpp"
#include "gencache/cache.hpp"
#include "gencache/memcached_backend.hpp"
#include "support/redis_server.hpp"
#include "support/stale_read_oracle.hpp"

namespace gencache::test {

/// A bound on a call while the server is down or hung: a promise bound, not a benchmark.
/// io_timeout is 100 ms; sanitizer builds on a loaded 2-core machine need the margin.
inline constexpr std::chrono::seconds kCacheCallBound{2};

/// A Memcached backend on `servers` ("host:port"): 100 ms to connect and per I/O, and a
/// failed server retried after 1 s.
std::shared_ptr<Backend> connect_memcached(
    std::vector<std::string> servers,
    MemcachedOptions::Protocol protocol = MemcachedOptions::Protocol::ascii);

/// A Redis backend on `server`: 100 ms to connect and per I/O.
std::shared_ptr<Backend> connect_redis(const RedisServer& server);

/// One server the Cache suites run against, started on construction and killed on
/// destruction, with the fixtures' crash (stop/start) and hang (pause/resume) controls.
/// Not thread-safe: control it from the thread that started it.
class CacheServer {
 public:
  virtual ~CacheServer() = default;
  /// A new backend on this server, as connect_memcached or connect_redis make it.
  virtual std::shared_ptr<Backend> connect() const = 0;
  virtual void stop() = 0;    ///< SIGKILL, like a crash: the data is lost
  virtual void start() = 0;   ///< again on the same port
  virtual void pause() = 0;   ///< SIGSTOP, like a hung server
  virtual void resume() = 0;  ///< SIGCONT
};

/// "memcached" (ASCII protocol), "redis".
std::vector<std::string> cache_server_kinds();

/// Starts a server of `kind`; throws std::invalid_argument for an unknown kind.
std::unique_ptr<CacheServer> start_cache_server(std::string_view kind);

/// Prints one line: "[ what ] reads=... stale=... bumps=... ..." from the oracle's result
/// and the readers' Stats.
void print_oracle_result(const char* what, const OracleResult& result, const Stats& stats);

}  // namespace gencache::test
