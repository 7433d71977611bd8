// Issue 4: leases across processes, against one real memcached started by the test.
// Each "process" is a forked child with its own Cache; computes are counted in memcached
// itself (an incr on a side key), never timed.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/memcached_backend.hpp"
#include "support/backend_kinds.hpp"
#include "support/memcached_server.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<Backend> connect(const test::MemcachedServer& server) {
  MemcachedOptions options;
  options.servers = {server.address()};
  options.io_timeout = 500ms;
  return make_memcached_backend(options);
}

std::uint64_t read_counter(Backend& backend, const std::string& key) {
  std::vector<std::optional<std::string>> values;
  const std::string_view keys[] = {key};
  backend.get_many(keys, values);
  return values[0] ? std::stoull(*values[0]) : 0;
}

// Forks `n` children running `body(i)`; returns their exit codes.
std::vector<int> run_processes(int n, const std::function<int(int)>& body) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = fork();
    if (pid == 0) _exit(body(i));
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

TEST(Lease, FourProcessesMissingAtOnceComputeOnce) {
  test::MemcachedServer server;
  const std::string prefix = test::random_prefix();
  const std::string compute_counter = prefix + "computes";
  connect(server)->create_counter(compute_counter, 0, 0ms);
  const CallOptions lease{.lease = true, .lease_ttl = 5s, .lease_wait = 4s};
  const auto start_at = std::chrono::steady_clock::now() + 300ms;

  auto codes = run_processes(4, [&](int) {
    Cache cache(connect(server), CacheOptions{.prefix = prefix});
    std::this_thread::sleep_until(start_at);
    const std::string v = cache.cached(
        "report", ns("org", 1), 1min,
        [&] {
          cache.backend().increment(compute_counter, 1);
          std::this_thread::sleep_for(300ms);  // an expensive compute, so the others must wait
          return std::string("the report");
        },
        lease);
    return v == "the report" ? 0 : 1;
  });
  for (int code : codes) EXPECT_EQ(code, 0);
  EXPECT_EQ(read_counter(*connect(server), compute_counter), 1u)
      << "one compute for the lease period";
}

TEST(Lease, AKilledLeaseHolderDoesNotBlockTheOthersBeyondTheWait) {
  test::MemcachedServer server;
  const std::string prefix = test::random_prefix();
  const CallOptions lease{.lease = true, .lease_ttl = 30s, .lease_wait = 500ms};
  // The holder takes the lease, then dies mid-compute.
  auto holder = run_processes(1, [&](int) {
    Cache cache(connect(server), CacheOptions{.prefix = prefix});
    cache.cached(
        "report", ns("org", 1), 1min,
        []() -> std::string {
          std::raise(SIGKILL);
          return "never";
        },
        lease);
    return 0;
  });
  ASSERT_EQ(holder[0], 128 + SIGKILL);

  const auto started = std::chrono::steady_clock::now();
  auto codes = run_processes(3, [&](int) {
    Cache cache(connect(server), CacheOptions{.prefix = prefix});
    const std::string v = cache.cached(
        "report", ns("org", 1), 1min, [] { return std::string("computed"); }, lease);
    return v == "computed" && cache.stats().lease_waits >= 1 ? 0 : 1;
  });
  const auto took = std::chrono::steady_clock::now() - started;
  for (int code : codes) EXPECT_EQ(code, 0);
  // Bounded by lease_wait (0.5 s) plus process start-up; the lease itself lives 30 s.
  EXPECT_LT(took, 10s);
}

}  // namespace
}  // namespace gencache
