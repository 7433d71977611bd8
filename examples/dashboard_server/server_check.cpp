// server_check: the dashboard_server's end-to-end test over real HTTP (run by ctest).
//
//   server_check PATH/TO/dashboard_server [SERVER_FLAGS...]
//
// SERVER_FLAGS (such as --blocking) are passed on to the server after `--port 0`.
//
// Starts the server on a free port, checks that a read right after a write returns fresh
// data, that /metrics moved, and that SIGTERM stops the server with exit status 0 while a
// keep-alive connection is still open. Exit status 1 names each claim that did not hold.

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "http_client.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;

int failures = 0;

void expect(bool ok, std::string_view claim) {
  fmt::print("  {} {}\n", ok ? "ok  " : "FAIL", claim);
  if (!ok) ++failures;
}

// The server as a child process whose stdout we read.
class ServerProcess {
 public:
  ServerProcess(const char* binary, std::vector<char*> flags) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe() failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    char port_flag[] = "--port";
    char port_any[] = "0";
    char log_purges[] = "--log-purges";
    std::vector<char*> argv = {const_cast<char*>(binary), port_flag, port_any, log_purges};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, binary, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    output_ = fds[0];
    if (rc != 0) throw std::runtime_error(fmt::format("could not start {}: error {}", binary, rc));
  }

  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(output_);
  }

  /// The port from the "listening on http://ADDRESS:PORT" line, read within 10 s.
  std::uint16_t wait_for_port() {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto at = text_.find("listening on http://");
      const auto eol = text_.find('\n', at == std::string::npos ? 0 : at);
      if (at != std::string::npos && eol != std::string::npos) {
        std::string address = text_.substr(at, eol - at);
        address = address.substr(0, address.find(' ', std::string_view("listening on ").size()));
        return static_cast<std::uint16_t>(std::stoul(address.substr(address.rfind(':') + 1)));
      }
      if (!read_some(100)) break;
    }
    throw std::runtime_error("the server did not print its port within 10 s:\n" + text_);
  }

  /// Sends `signal` and waits at most `limit` for the exit; the exit status, or nullopt.
  std::optional<int> stop(int signal, std::chrono::milliseconds limit) {
    kill(pid_, signal);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        while (read_some(100)) {
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

  const std::string& output() const { return text_; }

 private:
  bool read_some(int timeout_ms) {
    pollfd fd{output_, POLLIN, 0};
    if (poll(&fd, 1, timeout_ms) <= 0) return true;  // nothing yet
    char buffer[4096];
    const ssize_t n = read(output_, buffer, sizeof buffer);
    if (n <= 0) return false;  // the server closed its stdout
    text_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int output_ = -1;
  std::string text_;
};

double metric(dashboard::HttpClient& client, std::string_view name) {
  return dashboard::metric_value(client.get("/metrics").body, name).value_or(-1);
}

boost::json::object page_of(const dashboard::HttpReply& reply) {
  if (reply.status != 200) return {};
  return boost::json::parse(reply.body).as_object();
}

void run_checks(std::uint16_t port) {
  dashboard::HttpClient client("127.0.0.1", port);
  expect(client.get("/healthz").status == 200, "GET /healthz answers 200");

  const std::string page1 = "/api/users/7/dashboard?page=1&sort=newest";
  const dashboard::HttpReply first = client.get(page1);
  expect(first.status == 200 && page_of(first).at("total_items").as_int64() == 23,
         "GET " + page1 + " answers 200 with the 23 seeded items");
  const dashboard::HttpReply reordered = client.get("/api/users/7/dashboard?sort=%6Eewest&page=1");
  expect(reordered.body == first.body,
         "the same query in another order and spelling returns the same page");
  expect(metric(client, "gencache_hits_total") >= 1,
         "the second read was a hit (gencache_hits_total >= 1)");
  expect(metric(client, "dashboard_renders_total") == 1,
         "the page was rendered once (dashboard_renders_total == 1)");

  // HTTP validators from generations: ETag, 304, Surrogate-Key.
  expect(first.etag.size() == 34 && first.etag.front() == '"' && first.etag.back() == '"',
         "a cached GET carries a strong, quoted ETag (" + first.etag + ")");
  expect(first.surrogate_key == "catalog user:7",
         "a cached GET carries Surrogate-Key: its namespaces (" + first.surrogate_key + ")");
  expect(reordered.etag == first.etag, "the same query in another order has the same ETag");
  const dashboard::HttpReply unchanged = client.get(page1, first.etag);
  expect(unchanged.status == 304 && unchanged.body.empty() && unchanged.etag == first.etag,
         "a GET with a matching If-None-Match answers 304 with no body");
  expect(client.get(page1, "\"other\", W/" + first.etag).status == 304,
         "If-None-Match matches within a list and weakly (W/)");
  expect(client.get(page1, "\"other\"").status == 200,
         "a GET with a stale If-None-Match answers 200");
  expect(metric(client, "dashboard_renders_total") == 1,
         "the 304s rendered nothing (dashboard_renders_total still 1)");
  const std::string other_user = "/api/users/9/dashboard";
  const std::string other_etag = client.get(other_user).etag;

  const dashboard::HttpReply posted =
      client.post("/api/users/7/items", R"({"name":"fresh lamp","price_cents":1999})");
  expect(posted.status == 201, "POST /api/users/7/items answers 201");
  const dashboard::HttpReply after_post = client.get(page1, first.etag);
  const boost::json::object after = page_of(after_post);
  expect(!after.empty() && after.at("total_items").as_int64() == 24 &&
             after.at("items").as_array().front().at("name").as_string() == "fresh lamp",
         "the GET right after the POST shows the new item first (fresh after write)");
  expect(after_post.status == 200 && !after_post.etag.empty() && after_post.etag != first.etag,
         "after a POST to the user, the old ETag gets 200 with a new ETag");
  expect(client.get(page1, after_post.etag).status == 304, "the new ETag then answers 304");
  expect(client.get(other_user, other_etag).status == 304,
         "another user's ETag is unchanged by the POST (304)");

  const std::string other = "/api/users/8/dashboard?page=2&sort=name";
  const dashboard::HttpReply before_catalog = client.get(other);
  const dashboard::HttpReply catalog = client.post("/api/catalog", R"({"banner":"spring sale"})");
  expect(catalog.status == 200, "POST /api/catalog answers 200");
  const boost::json::object after_catalog = page_of(client.get(other));
  expect(before_catalog.status == 200 && !after_catalog.empty() &&
             after_catalog.at("catalog").at("banner").as_string() == "spring sale",
         "a catalog write is visible on another user's page at once");

  expect(client.get("/api/users/7/dashboard?page=0").status == 400, "page=0 answers 400");
  expect(client.get("/api/users/7/dashboard?color=red").status == 400,
         "an unknown parameter answers 400");
  expect(client.get("/api/users/0/dashboard").status == 404, "user 0 answers 404");
  expect(client.post("/api/users/7/dashboard", "").status == 405,
         "POST to a dashboard answers 405");
  expect(client.get("/nowhere").status == 404, "an unknown path answers 404");

  const std::string metrics = client.get("/metrics").body;
  auto value = [&](std::string_view name) {
    return dashboard::metric_value(metrics, name).value_or(-1);
  };
  expect(value("gencache_bumps_total") == 2,
         "/metrics: gencache_bumps_total == 2 (item and catalog)");
  expect(value("gencache_misses_total") >= 3, "/metrics: gencache_misses_total >= 3");
  expect(value("gencache_computes_total") == value("dashboard_renders_total"),
         "/metrics: every render was a gencache compute");
  expect(value("gencache_errors_total") == 0, "/metrics: gencache_errors_total == 0");
  expect(value("dashboard_request_duration_seconds_count{route=\"dashboard\"}") >= 6,
         "/metrics: the dashboard latency histogram counted the reads");
  expect(metrics.find("# TYPE dashboard_request_duration_seconds histogram") != std::string::npos,
         "/metrics: the latency histogram is typed for Prometheus");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: server_check PATH/TO/dashboard_server [SERVER_FLAGS...]\n");
    return 2;
  }
  try {
    ServerProcess server(argv[1], std::vector<char*>(argv + 2, argv + argc));
    const std::uint16_t port = server.wait_for_port();
    fmt::print("dashboard_server on port {}\n", port);
    {
      // Kept open and idle across the SIGTERM: a graceful stop must not wait for it.
      dashboard::HttpClient idle("127.0.0.1", port);
      run_checks(port);
      expect(idle.get("/healthz").status == 200, "a second keep-alive connection is served");
      const std::optional<int> status = server.stop(SIGTERM, 10s);
      expect(status == 0, status
                              ? fmt::format("SIGTERM stops the server with exit status {}", *status)
                              : std::string("SIGTERM stops the server within 10 s"));
    }
    fmt::print("server output:\n{}", server.output());
    expect(server.output().find("purge surrogate-key user:7\n") != std::string::npos,
           "the on-bump hook forwarded the purge of user:7");
    expect(server.output().find("purge surrogate-key catalog\n") != std::string::npos,
           "the on-bump hook forwarded the purge of catalog");
  } catch (const std::exception& e) {
    fmt::print(stderr, "server_check: {}\n", e.what());
    return 1;
  }
  if (failures > 0) {
    fmt::print(stderr, "{} claim(s) did not hold\n", failures);
    return 1;
  }
  return 0;
}
