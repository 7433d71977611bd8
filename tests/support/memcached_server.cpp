#include "support/memcached_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
    const std::string candidate = fmt::format("{}/memcached", dirs.substr(0, colon));
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  throw std::runtime_error("memcached binary not found: apt-get install memcached");
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// A port the kernel just handed out, so almost surely free; memcached may still lose it
// to someone else before it binds, hence the retries.
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

bool accepts_connections(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_in address = loopback(port);
  const bool connected =
      connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return connected;
}

}  // namespace

MemcachedServer::MemcachedServer() : MemcachedServer(Options{}) {}

MemcachedServer::MemcachedServer(Options options)
    : options_(std::move(options)), binary_(find_binary()) {
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    port_ = free_port();
    if (spawn_and_wait()) return;
  }
  throw std::runtime_error(
      fmt::format("memcached did not start after {} attempts on free ports", kPortAttempts));
}

MemcachedServer::~MemcachedServer() {
  stop();
}

std::string MemcachedServer::address() const {
  return fmt::format("127.0.0.1:{}", port_);
}

void MemcachedServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  paused_ = false;
}

void MemcachedServer::start() {
  if (running()) return;
  // The old process's port is free again (memcached binds with SO_REUSEADDR), but give
  // another process that grabbed it meanwhile a moment to let go.
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    if (spawn_and_wait()) return;
    std::this_thread::sleep_for(100ms);
  }
  throw std::runtime_error(fmt::format("memcached did not restart on port {}", port_));
}

void MemcachedServer::pause() {
  if (pid_ <= 0 || paused_) return;
  kill(pid_, SIGSTOP);
  // Wait until it has really stopped, so the next call surely meets a hung server.
  int status = 0;
  while (waitpid(pid_, &status, WUNTRACED) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    pid_ = -1;
    throw std::runtime_error(fmt::format("memcached on port {} died", port_));
  }
  paused_ = true;
}

void MemcachedServer::resume() {
  if (pid_ <= 0 || !paused_) return;
  kill(pid_, SIGCONT);
  int status = 0;
  while (waitpid(pid_, &status, WCONTINUED) < 0 && errno == EINTR) {
  }
  paused_ = false;
}

bool MemcachedServer::spawn_and_wait() {
  std::vector<std::string> args = {binary_,
                                   "-p",
                                   std::to_string(port_),
                                   "-U",
                                   "0",
                                   "-l",
                                   "127.0.0.1",
                                   "-m",
                                   std::to_string(options_.memory_mb),
                                   "-t",
                                   std::to_string(options_.threads)};
  if (!options_.max_item_size.empty()) {
    args.emplace_back("-I");
    args.push_back(options_.max_item_size);
  }
  if (geteuid() == 0) {  // memcached refuses to run as root unless told whom to run as
    args.emplace_back("-u");
    args.emplace_back("root");
  }
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
      dup2(devnull, STDOUT_FILENO);
    }
    // Nor keep copies of the test's sockets open (stderr stays, for memcached's errors).
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
    if (accepts_connections(port_)) return true;
    std::this_thread::sleep_for(5ms);
  }
  stop();
  throw std::runtime_error(
      fmt::format("memcached on port {} did not accept connections within {} s", port_,
                  std::chrono::duration_cast<std::chrono::seconds>(kStartupLimit).count()));
}

std::string memcached_url(std::initializer_list<const MemcachedServer*> servers,
                          std::string_view query) {
  std::string url = "memcached://";
  const char* separator = "";
  for (const MemcachedServer* server : servers) {
    url += separator;
    url += server->address();
    separator = ",";
  }
  if (!query.empty()) {
    url += '?';
    url += query;
  }
  return url;
}

}  // namespace gencache::test
