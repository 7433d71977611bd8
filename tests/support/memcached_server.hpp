#pragma once
// A real memcached for tests: started on a free loopback port, stopped in the destructor,
// with crash (stop/start) and hang (pause/resume) controls.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

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
  ~MemcachedServer();  ///< SIGKILL and reap
  MemcachedServer(const MemcachedServer&) = delete;
  MemcachedServer& operator=(const MemcachedServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const;  ///< "127.0.0.1:PORT"

  void stop();    ///< SIGKILL and reap, like a crash; its items are lost
  void start();   ///< starts it again on the same port and waits until it accepts
  void pause();   ///< SIGSTOP, like a hung server: connections open, nothing answers
  void resume();  ///< SIGCONT
  bool running() const { return pid_ > 0; }

 private:
  bool spawn_and_wait();  // false if memcached exited (the port was taken)

  Options options_;
  std::string binary_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

/// "memcached://127.0.0.1:P1,127.0.0.1:P2" plus "?query" when `query` is not empty.
std::string memcached_url(std::initializer_list<const MemcachedServer*> servers,
                          std::string_view query = "");

}  // namespace gencache::test
