#pragma once
// A fake Redis server for tests of what a real one never does: replies of the wrong shape,
// or more replies than commands. It answers each command with the next scripted bytes.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace gencache::test {

/// Listens on a free 127.0.0.1 port and serves any number of connections from one thread.
/// Each complete RESP command read from any connection is answered with the next of
/// `replies`, sent verbatim in one write (so "+OK\r\n:7\r\n" is two replies to one
/// command); once they run out, the connection is closed instead.
class ScriptedRedisServer {
 public:
  explicit ScriptedRedisServer(std::vector<std::string> replies);
  ~ScriptedRedisServer();  ///< stops serving and closes every connection
  ScriptedRedisServer(const ScriptedRedisServer&) = delete;
  ScriptedRedisServer& operator=(const ScriptedRedisServer&) = delete;

  std::uint16_t port() const { return port_; }
  /// Connections accepted so far.
  std::size_t connections() const { return connections_.load(); }
  /// Commands answered so far (from the script or by closing).
  std::size_t commands() const { return commands_.load(); }

 private:
  void serve();

  std::vector<std::string> replies_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> commands_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace gencache::test
