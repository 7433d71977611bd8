#pragma once
// A real memcached for tests: started on a free loopback port, stopped in the destructor,
// with crash (stop/start) and hang (pause/resume) controls.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "support/server_process.hpp"

namespace gencache::test {

/// One memcached process, the child of this test process. Not thread-safe: control it
/// from one thread, the one that outlives it (the server is killed if that thread exits).
class MemcachedServer {
 public:
  struct Options {
    std::size_t memory_mb = 64;
    std::size_t threads = 1;
    std::string max_item_size{};  ///< memcached -I, such as "1m"; empty: memcached's default
    std::vector<std::string> extra_args{};
  };

  /// Starts `memcached` on a free 127.0.0.1 port and waits (at most 5 s) until it accepts
  /// connections. Throws std::runtime_error if the binary is missing ("memcached binary not
  /// found: apt-get install memcached") or the server does not come up.
  explicit MemcachedServer(Options options);
  MemcachedServer();
  MemcachedServer(const MemcachedServer&) = delete;
  MemcachedServer& operator=(const MemcachedServer&) = delete;

  std::uint16_t port() const { return process_.port(); }
  std::string address() const;  ///< "127.0.0.1:PORT"

  void stop() { process_.stop(); }      ///< SIGKILL and reap, like a crash; its items are lost
  void start() { process_.start(); }    ///< again on the same port, waits until it accepts
  void pause() { process_.pause(); }    ///< SIGSTOP, like a hung server
  void resume() { process_.resume(); }  ///< SIGCONT
  bool running() const { return process_.running(); }

 private:
  ServerProcess process_;
};

/// "memcached://127.0.0.1:P1,127.0.0.1:P2" plus "?query" when `query` is not empty.
std::string memcached_url(std::initializer_list<const MemcachedServer*> servers,
                          std::string_view query = "");

}  // namespace gencache::test
