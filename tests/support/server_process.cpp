#include "support/server_process.hpp"

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

std::string find_binary(const std::string& name, const std::string& package) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs = dirs.empty() ? "/usr/bin" : dirs;
  while (true) {
    const auto colon = dirs.find(':');
    const std::string candidate = fmt::format("{}/{}", dirs.substr(0, colon), name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  throw std::runtime_error(fmt::format("{} binary not found: apt-get install {}", name, package));
}

// A port the kernel just handed out, so almost surely free; the server may still lose it
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

}  // namespace

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
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

ServerProcess::ServerProcess(Spec spec)
    : spec_(std::move(spec)), path_(find_binary(spec_.binary, spec_.package)) {
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    port_ = spec_.pick_port ? spec_.pick_port() : free_port();
    if (spawn_and_wait()) return;
  }
  throw std::runtime_error(
      fmt::format("{} did not start after {} attempts on free ports", spec_.binary, kPortAttempts));
}

ServerProcess::~ServerProcess() {
  stop();
}

void ServerProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  paused_ = false;
}

void ServerProcess::start() {
  if (running()) return;
  // The old process's port is free again, but give another process that grabbed it
  // meanwhile a moment to let go.
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    if (spawn_and_wait()) return;
    std::this_thread::sleep_for(100ms);
  }
  throw std::runtime_error(fmt::format("{} did not restart on port {}", spec_.binary, port_));
}

void ServerProcess::pause() {
  if (pid_ <= 0 || paused_) return;
  kill(pid_, SIGSTOP);
  // Wait until it has really stopped, so the next call surely meets a hung server.
  int status = 0;
  while (waitpid(pid_, &status, WUNTRACED) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    pid_ = -1;
    throw std::runtime_error(fmt::format("{} on port {} died", spec_.binary, port_));
  }
  paused_ = true;
}

void ServerProcess::resume() {
  if (pid_ <= 0 || !paused_) return;
  kill(pid_, SIGCONT);
  int status = 0;
  while (waitpid(pid_, &status, WCONTINUED) < 0 && errno == EINTR) {
  }
  paused_ = false;
}

bool ServerProcess::spawn_and_wait() {
  std::vector<std::string> args = spec_.arguments(port_);
  args.insert(args.begin(), path_);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork(): errno {}", errno));
  if (pid == 0) {
    // Only async-signal-safe calls until exec. Die with the test process's thread.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
      dup2(devnull, STDIN_FILENO);
      dup2(devnull, STDOUT_FILENO);
    }
    // Nor keep copies of the test's sockets open (stderr stays, for the server's errors).
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
    if (spec_.ready(port_)) return true;
    std::this_thread::sleep_for(5ms);
  }
  stop();
  throw std::runtime_error(
      fmt::format("{} on port {} was not ready within {} s", spec_.binary, port_,
                  std::chrono::duration_cast<std::chrono::seconds>(kStartupLimit).count()));
}

}  // namespace gencache::test
