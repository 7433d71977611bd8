#pragma once
// A real redis-server for tests: started on a free loopback port, stopped in the
// destructor, with crash (stop/start) and hang (pause/resume) controls.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "support/server_process.hpp"

namespace gencache::test {

/// A fresh directory under /tmp, removed with its contents when this object goes. A
/// redis-server writes files even without persistence (an RDB for a replica's full sync, a
/// cluster's nodes.conf), so each test server gets its own instead of the working directory.
class TemporaryDirectory {
 public:
  /// Makes /tmp/gencache-<prefix>-XXXXXX; throws std::runtime_error if mkdtemp fails.
  explicit TemporaryDirectory(std::string_view prefix);
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// One redis-server process, the child of this test process, without persistence. Not
/// thread-safe: control it from one thread, the one that outlives it (the server is killed
/// if that thread exits).
class RedisServer {
 public:
  struct Options {
    /// More redis-server arguments, such as {"--maxmemory", "2mb"}. A "--dir" here replaces
    /// the server's own temporary directory.
    std::vector<std::string> extra_args;
    /// A port for a Redis Cluster node: at most 55535, with port + 10000 (its cluster bus)
    /// free too.
    bool cluster_port = false;
  };

  /// Starts `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no --dir D` (D a
  /// temporary directory of its own, kept across stop/start) on a free
  /// port and waits (at most 5 s) until it answers PING (or asks for AUTH). Throws
  /// std::runtime_error if the binary is missing ("redis-server binary not found: apt-get install
  /// redis-server") or the server does not come up.
  explicit RedisServer(Options options);
  RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const { return process_.port(); }
  std::string address() const;  ///< "127.0.0.1:PORT"

  void stop() { process_.stop(); }      ///< SIGKILL and reap, like a crash; its keys are lost
  void start() { process_.start(); }    ///< again on the same port, waits until it answers PING
  void pause() { process_.pause(); }    ///< SIGSTOP, like a hung server
  void resume() { process_.resume(); }  ///< SIGCONT
  bool running() const { return process_.running(); }

  /// Sends one command on a connection of its own (1 s timeout) and returns the reply as
  /// text: a status or error line without its '+' or '-', an integer in decimal, a bulk
  /// string's bytes, "(nil)" for nil, an array of bulk strings as one a line (empty for
  /// none). Other arrays are not supported. Throws std::runtime_error
  /// if the server does not answer.
  std::string command(std::initializer_list<std::string_view> args) const;

 private:
  TemporaryDirectory directory_;  // outlives process_, which is stopped first
  ServerProcess process_;
};

/// A free loopback port for a Redis Cluster node: at most 55535, with port + 10000 (its
/// cluster bus) free too.
std::uint16_t free_cluster_port();

/// Starts a redis-server replicating `master` (`--replicaof`; the master is set to sync
/// diskless at once) and
/// waits (at most 10 s) until its `master_link_status` is up, so it holds the master's
/// data and acknowledges WAIT. Throws std::runtime_error if the link does not come up.
std::unique_ptr<RedisServer> start_replica_of(const RedisServer& master);

/// Waits (at most `limit`) until `replica` reports `master_link_status:up`; false if not.
bool wait_for_master_link(const RedisServer& replica,
                          std::chrono::milliseconds limit = std::chrono::seconds(10));

/// "redis://127.0.0.1:PORT" plus `path` (such as "/2") and "?query" when not empty.
std::string redis_url(const RedisServer& server, std::string_view path = "",
                      std::string_view query = "");

}  // namespace gencache::test
