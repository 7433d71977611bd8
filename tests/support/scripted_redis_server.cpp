#include "support/scripted_redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "support/server_process.hpp"

namespace gencache::test {
namespace {

// "<number>\r\n" at `at` in `bytes`: the number, and `at` moved past the CR LF; nullopt
// while incomplete.
std::optional<std::size_t> read_number_line(std::string_view bytes, std::size_t& at) {
  const auto end = bytes.find("\r\n", at);
  if (end == std::string_view::npos) return std::nullopt;
  std::size_t n = 0;
  const auto [ptr, ec] = std::from_chars(bytes.data() + at, bytes.data() + end, n);
  if (ec != std::errc() || ptr != bytes.data() + end)
    throw std::runtime_error(fmt::format("scripted redis server: bad number in '{}'", bytes));
  at = end + 2;
  return n;
}

// The length of the RESP command ("*N\r\n" then N "$len\r\nbytes\r\n") at the start of
// `bytes`, or nullopt while it is incomplete.
std::optional<std::size_t> command_length(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  if (bytes[0] != '*')
    throw std::runtime_error(fmt::format("scripted redis server: not a command: '{}'", bytes));
  std::size_t at = 1;
  const auto count = read_number_line(bytes, at);
  if (!count) return std::nullopt;
  for (std::size_t i = 0; i < *count; ++i) {
    if (at >= bytes.size()) return std::nullopt;
    if (bytes[at] != '$')
      throw std::runtime_error(fmt::format("scripted redis server: not an argument: '{}'", bytes));
    ++at;
    const auto length = read_number_line(bytes, at);
    if (!length) return std::nullopt;
    at += *length + 2;
    if (at > bytes.size()) return std::nullopt;
  }
  return at;
}

struct Client {
  int fd;
  std::string received;
};

}  // namespace

ScriptedRedisServer::ScriptedRedisServer(std::vector<std::string> replies)
    : replies_(std::move(replies)) {
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw std::runtime_error(fmt::format("socket(): errno {}", errno));
  sockaddr_in address = loopback(0);
  socklen_t length = sizeof address;
  if (bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener_, 16) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int saved_errno = errno;
    close(listener_);
    throw std::runtime_error(
        fmt::format("scripted redis server: listen failed: errno {}", saved_errno));
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

ScriptedRedisServer::~ScriptedRedisServer() {
  stopping_ = true;
  thread_.join();
  close(listener_);
}

void ScriptedRedisServer::serve() {
  std::vector<Client> clients;
  std::size_t next_reply = 0;
  while (!stopping_) {
    std::vector<pollfd> fds{{listener_, POLLIN, 0}};
    for (const Client& client : clients) fds.push_back({client.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), 20) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        clients.push_back({fd, {}});
        ++connections_;
      }
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Client& client = clients[i - 1];
      char chunk[4096];
      const ssize_t n = recv(client.fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        close(client.fd);
        client.fd = -1;
        continue;
      }
      client.received.append(chunk, static_cast<std::size_t>(n));
      while (client.fd >= 0) {
        const auto length = command_length(client.received);
        if (!length) break;
        client.received.erase(0, *length);
        ++commands_;
        if (next_reply == replies_.size()) {
          close(client.fd);
          client.fd = -1;
          break;
        }
        const std::string& reply = replies_[next_reply++];
        if (::send(client.fd, reply.data(), reply.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(reply.size()))
          throw std::runtime_error("scripted redis server: a reply was not sent whole");
      }
    }
    std::erase_if(clients, [](const Client& client) { return client.fd < 0; });
  }
  for (const Client& client : clients) close(client.fd);
}

}  // namespace gencache::test
