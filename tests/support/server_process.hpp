#pragma once
// A server binary run as a child of the test process on a free loopback port: what the
// Memcached and Redis fixtures share. Crash (stop/start) and hang (pause/resume) controls.

#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gencache::test {

/// Not thread-safe: control it from one thread, the one that outlives it (the child is
/// killed when the thread that started it exits, so a crashed test never leaves a server
/// or our output pipes behind).
class ServerProcess {
 public:
  struct Spec {
    std::string binary;   ///< looked up on PATH, e.g. "memcached"
    std::string package;  ///< the Debian package that provides it, for the error message
    /// The arguments after the binary, for a given port.
    std::function<std::vector<std::string>(std::uint16_t port)> arguments;
    /// True once the server on `port` serves requests.
    std::function<bool(std::uint16_t port)> ready;
    /// Picks the port to try (empty: any free port the kernel hands out).
    std::function<std::uint16_t()> pick_port;
  };

  /// Starts the server on a free port and waits (at most 5 s) until it is ready. Throws
  /// std::runtime_error if the binary is missing ("<binary> binary not found: apt-get
  /// install <package>": tests fail, never skip) or the server does not come up.
  explicit ServerProcess(Spec spec);
  ~ServerProcess();  ///< SIGKILL and reap
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  void stop();    ///< SIGKILL and reap, like a crash
  void start();   ///< starts it again on the same port and waits until it is ready
  void pause();   ///< SIGSTOP, like a hung server: connections open, nothing answers
  void resume();  ///< SIGCONT
  bool running() const { return pid_ > 0; }

 private:
  bool spawn_and_wait();  // false if the server exited (the port was taken)

  Spec spec_;
  std::string path_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

/// True if something accepts TCP connections on 127.0.0.1:`port`.
bool accepts_connections(std::uint16_t port);

/// The socket address 127.0.0.1:`port` (0: any free port, for bind).
sockaddr_in loopback(std::uint16_t port);

}  // namespace gencache::test
