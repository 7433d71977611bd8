#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <random>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace gencache::test {
namespace {

// A blocking loopback connection with a 1 s timeout on every send and receive.
class Connection {
 public:
  explicit Connection(std::uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw std::runtime_error(fmt::format("socket(): errno {}", errno));
    const timeval timeout{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    const sockaddr_in address = loopback(port);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
      fail("connect");
  }
  ~Connection() { close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("send");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  std::string read_line() {
    while (true) {
      if (const auto end = buffer_.find("\r\n"); end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return line;
      }
      fill();
    }
  }

  std::string read_exactly(std::size_t n) {
    while (buffer_.size() < n) fill();
    std::string bytes = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return bytes;
  }

 private:
  void fill() {
    char chunk[4096];
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) fail("recv");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }

  [[noreturn]] void fail(std::string_view what) const {
    throw std::runtime_error(
        fmt::format("redis test connection: {} failed: errno {}", what, errno));
  }

  int fd_;
  std::string buffer_;
};

std::string command_on_port(std::uint16_t port, std::initializer_list<std::string_view> args) {
  std::string request = fmt::format("*{}\r\n", args.size());
  for (std::string_view arg : args) request += fmt::format("${}\r\n{}\r\n", arg.size(), arg);
  Connection connection(port);
  connection.send_all(request);
  const std::string line = connection.read_line();
  if (line.empty()) throw std::runtime_error("redis test connection: empty reply line");
  const std::string_view rest = std::string_view(line).substr(1);
  switch (line[0]) {
    case '+':
    case '-':
    case ':':
      return std::string(rest);
    case '$': {
      const long length = std::stol(std::string(rest));
      if (length < 0) return "(nil)";
      std::string bytes = connection.read_exactly(static_cast<std::size_t>(length) + 2);
      bytes.resize(static_cast<std::size_t>(length));
      return bytes;
    }
    case '*': {  // bulk strings only, one a line
      std::string lines;
      for (long i = 0, n = std::stol(std::string(rest)); i < n; ++i) {
        const std::string header = connection.read_line();
        if (!header.starts_with('$'))
          throw std::runtime_error(
              fmt::format("redis test connection: unsupported array element '{}'", header));
        const auto length = static_cast<std::size_t>(std::stol(header.substr(1)));
        std::string bytes = connection.read_exactly(length + 2);
        bytes.resize(length);
        lines += (i == 0 ? "" : "\n") + bytes;
      }
      return lines;
    }
    default:
      throw std::runtime_error(fmt::format("redis test connection: unsupported reply '{}'", line));
  }
}

bool can_bind(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_in address = loopback(port);
  const bool bound = bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return bound;
}

}  // namespace

std::uint16_t free_cluster_port() {
  static std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(20000 + rng() % 35536);  // 20000..55535
    if (can_bind(port) && can_bind(static_cast<std::uint16_t>(port + 10000))) return port;
  }
  throw std::runtime_error("no free port pair (port, port + 10000) for a Redis Cluster node");
}

TemporaryDirectory::TemporaryDirectory(std::string_view prefix) {
  std::string pattern = fmt::format("/tmp/gencache-{}-XXXXXX", prefix);
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error(fmt::format("mkdtemp({}) failed: errno {}", pattern, errno));
  path_ = std::move(pattern);
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

RedisServer::RedisServer() : RedisServer(Options{}) {}

RedisServer::RedisServer(Options options)
    : directory_("redis"),
      process_({.binary = "redis-server",
                .package = "redis-server",
                .arguments =
                    [options, dir = directory_.path()](std::uint16_t port) {
                      std::vector<std::string> args = {
                          "--port", std::to_string(port), "--bind", "127.0.0.1", "--save",
                          "",       "--appendonly",       "no"};
                      const auto& extra = options.extra_args;
                      if (std::find(extra.begin(), extra.end(), "--dir") == extra.end()) {
                        args.emplace_back("--dir");
                        args.push_back(dir);
                      }
                      args.insert(args.end(), extra.begin(), extra.end());
                      return args;
                    },
                .ready =
                    [](std::uint16_t port) {
                      try {
                        // A server started with --requirepass answers, but only to ask for AUTH.
                        const std::string reply = command_on_port(port, {"PING"});
                        return reply == "PONG" || reply.starts_with("NOAUTH");
                      } catch (const std::runtime_error&) {
                        return false;  // not listening yet
                      }
                    },
                .pick_port = options.cluster_port
                                 ? std::function<std::uint16_t()>(free_cluster_port)
                                 : std::function<std::uint16_t()>()}) {}

std::string RedisServer::address() const {
  return fmt::format("127.0.0.1:{}", port());
}

std::string RedisServer::command(std::initializer_list<std::string_view> args) const {
  return command_on_port(port(), args);
}

bool wait_for_master_link(const RedisServer& replica, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (replica.command({"INFO", "replication"}).find("master_link_status:up") !=
          std::string::npos)
        return true;
    } catch (const std::runtime_error&) {
      // Still starting: ask again.
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::unique_ptr<RedisServer> start_replica_of(const RedisServer& master) {
  // The master would otherwise wait 5 s for more replicas before its first sync.
  master.command({"CONFIG", "SET", "repl-diskless-sync-delay", "0"});
  auto replica = std::make_unique<RedisServer>(RedisServer::Options{
      .extra_args = {"--replicaof", "127.0.0.1", std::to_string(master.port())}});
  if (!wait_for_master_link(*replica))
    throw std::runtime_error(fmt::format("redis replica on port {} never linked to its master {}",
                                         replica->port(), master.address()));
  // After a full sync the master sends the replica nothing until the replica's next ACK
  // (up to 1 s later), although the replica already reports its link up: until then WAIT
  // would time out. A PUBLISH is replicated without touching the keyspace; once WAIT sees
  // it acknowledged, the master streams every write.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (master.command({"PUBLISH", "gencache-test:replica-probe", "1"}),
         master.command({"WAIT", "1", "100"}) != "1") {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(
          fmt::format("redis replica on port {} never acknowledged a write of its master {}",
                      replica->port(), master.address()));
  }
  return replica;
}

std::string redis_url(const RedisServer& server, std::string_view path, std::string_view query) {
  std::string url = fmt::format("redis://{}{}", server.address(), path);
  if (!query.empty()) {
    url += '?';
    url += query;
  }
  return url;
}

}  // namespace gencache::test
