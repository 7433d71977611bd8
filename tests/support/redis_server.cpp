#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace gencache::test {
namespace {

using namespace std::chrono_literals;

constexpr int kPortAttempts = 5;
constexpr auto kStartupLimit = 5s;

std::string find_binary() {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs = dirs.empty() ? "/usr/bin" : dirs;
  while (true) {
    const auto colon = dirs.find(':');
    const std::string candidate = fmt::format("{}/redis-server", dirs.substr(0, colon));
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  throw std::runtime_error("redis-server binary not found: apt-get install redis-server");
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// A port the kernel just handed out, so almost surely free; redis-server may still lose
// it to someone else before it binds, hence the retries.
std::uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("socket(): errno {}", errno));
  sockaddr_in address = loopback(0);
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw std::runtime_error(fmt::format("binding a free port failed: errno {}", errno));
  }
  close(fd);
  return ntohs(address.sin_port);
}

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
    default:
      throw std::runtime_error(fmt::format("redis test connection: unsupported reply '{}'", line));
  }
}

}  // namespace

RedisServer::RedisServer() : RedisServer(Options{}) {}

RedisServer::RedisServer(Options options) : options_(std::move(options)), binary_(find_binary()) {
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    port_ = free_port();
    if (spawn_and_wait()) return;
  }
  throw std::runtime_error(
      fmt::format("redis-server did not start after {} attempts on free ports", kPortAttempts));
}

RedisServer::~RedisServer() {
  stop();
}

std::string RedisServer::address() const {
  return fmt::format("127.0.0.1:{}", port_);
}

std::string RedisServer::command(std::initializer_list<std::string_view> args) const {
  return command_on_port(port_, args);
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  paused_ = false;
}

void RedisServer::start() {
  if (running()) return;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    if (spawn_and_wait()) return;
    std::this_thread::sleep_for(100ms);
  }
  throw std::runtime_error(fmt::format("redis-server did not restart on port {}", port_));
}

void RedisServer::pause() {
  if (pid_ <= 0 || paused_) return;
  kill(pid_, SIGSTOP);
  // Wait until it has really stopped, so the next call surely meets a hung server.
  int status = 0;
  while (waitpid(pid_, &status, WUNTRACED) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    pid_ = -1;
    throw std::runtime_error(fmt::format("redis-server on port {} died", port_));
  }
  paused_ = true;
}

void RedisServer::resume() {
  if (pid_ <= 0 || !paused_) return;
  kill(pid_, SIGCONT);
  int status = 0;
  while (waitpid(pid_, &status, WCONTINUED) < 0 && errno == EINTR) {
  }
  paused_ = false;
}

bool RedisServer::spawn_and_wait() {
  std::vector<std::string> args = {binary_,  "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                   "--save", "",       "--appendonly",        "no"};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork(): errno {}", errno));
  if (pid == 0) {
    // Only async-signal-safe calls until exec. Die with the test process, so a crashed
    // or killed test never leaves a server (or our output pipes) behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
      dup2(devnull, STDIN_FILENO);
      dup2(devnull, STDOUT_FILENO);  // redis-server logs to stdout
    }
    // Nor keep copies of the test's sockets open (stderr stays).
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + kStartupLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {  // it exited: most likely port taken
      pid_ = -1;
      return false;
    }
    try {
      // A server started with --requirepass answers, but only to say it wants AUTH.
      const std::string reply = command_on_port(port_, {"PING"});
      if (reply == "PONG" || reply.starts_with("NOAUTH")) return true;
    } catch (const std::runtime_error&) {
      // not listening yet
    }
    std::this_thread::sleep_for(5ms);
  }
  stop();
  throw std::runtime_error(
      fmt::format("redis-server on port {} did not answer PING within {} s", port_,
                  std::chrono::duration_cast<std::chrono::seconds>(kStartupLimit).count()));
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
