#pragma once
// Shared by the benchmark programs: smoke mode, and a fast bulk loader for memcached.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "support/server_process.hpp"

namespace gencache::bench {

/// ctest's one-iteration smoke run sets GENCACHE_BENCH_SMOKE=1 (benchmarks/CMakeLists.txt):
/// servers are then filled with 10^3 keys at most, so the smoke run stays fast.
inline bool smoke_mode() {
  const char* value = std::getenv("GENCACHE_BENCH_SMOKE");
  return value != nullptr && std::string_view(value) == "1";
}

/// `entries` in a full run; at most 10^3 in smoke mode.
inline std::size_t fill_size(std::size_t entries) {
  return smoke_mode() && entries > 1000 ? 1000 : entries;
}

/// One plain TCP connection to memcached's ASCII protocol, for loading many items fast:
/// `set ... noreply` commands are streamed without waiting for answers, and sync() waits
/// until the server has processed everything sent before it.
class MemcachedLoader {
 public:
  explicit MemcachedLoader(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in address = test::loopback(port);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error(fmt::format("cannot connect to memcached on port {}", port));
  }
  ~MemcachedLoader() { ::close(fd_); }
  MemcachedLoader(const MemcachedLoader&) = delete;
  MemcachedLoader& operator=(const MemcachedLoader&) = delete;

  void set(std::string_view key, std::string_view value) {
    fmt::format_to(std::back_inserter(buffer_), "set {} 0 0 {} noreply\r\n", key, value.size());
    buffer_.append(value).append("\r\n");
    if (buffer_.size() >= kFlushBytes) flush();
  }

  /// Sends what is buffered and waits for the server to answer a `version` behind it.
  void sync() {
    buffer_.append("version\r\n");
    flush();
    std::string answer;
    char chunk[256];
    while (answer.find("\r\n") == std::string::npos) {
      const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got <= 0) throw std::runtime_error("memcached closed the loading connection");
      answer.append(chunk, static_cast<std::size_t>(got));
    }
    if (answer.rfind("VERSION", 0) != 0)
      throw std::runtime_error("memcached refused a loaded item: " + answer);
  }

  /// The value of one `stats` field, such as "curr_items" or "evictions".
  std::uint64_t stat(std::string_view name) {
    buffer_.append("stats\r\n");
    flush();
    std::string answer;
    char chunk[4096];
    while (answer.find("END\r\n") == std::string::npos) {
      const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got <= 0) throw std::runtime_error("memcached closed the loading connection");
      answer.append(chunk, static_cast<std::size_t>(got));
    }
    const std::string label = fmt::format("STAT {} ", name);
    const std::size_t at = answer.find(label);
    if (at == std::string::npos) throw std::runtime_error("memcached stats lack " + label);
    return std::strtoull(answer.c_str() + at + label.size(), nullptr, 10);
  }

 private:
  static constexpr std::size_t kFlushBytes = std::size_t{1} << 20;

  void flush() {
    std::string_view rest = buffer_;
    while (!rest.empty()) {
      const ssize_t sent = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (sent <= 0) throw std::runtime_error("memcached closed the loading connection");
      rest.remove_prefix(static_cast<std::size_t>(sent));
    }
    buffer_.clear();
  }

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace gencache::bench
