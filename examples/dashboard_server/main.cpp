// dashboard_server: the dashboard scenario as a real HTTP service.
//
//   GET  /api/users/{id}/dashboard?page=N&sort=newest|oldest|name|price
//        a per-user page (~2 ms to render), cached under user:{id} and catalog
//   POST /api/users/{id}/items   {"name":"lamp","price_cents":1999}   bumps user:{id}
//   POST /api/catalog            {"banner":"spring sale"}             bumps catalog
//   GET  /metrics                Prometheus text: gencache stats and request latency
//   GET  /healthz
//
// By default a coroutine server on gencache::AsyncCache: every request is an awaitable, and
// the 2 ms render is an awaited timer, as an asynchronous database query would be. With
// --blocking, the same service on the blocking gencache::Cache, each request holding its
// thread for the cache and a sleeping render. The backend comes from GENCACHE_URL (default
// memory://). Stops cleanly on SIGINT or SIGTERM (exit status 0). Run with --help.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <gencache/async_cache.hpp>
#include <gencache/cache.hpp>

#include "async_dashboard_app.hpp"
#include "command_line.hpp"
#include "coroutine_server.hpp"
#include "dashboard_app.hpp"
#include "http_server.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: dashboard_server [options]

  --port N         TCP port; 0 picks a free one (default 8080). The chosen port is
                   printed as "listening on http://ADDRESS:PORT".
  --address A      address to bind (default 127.0.0.1)
  --threads N      io threads handling connections (default 2)
  --blocking       the blocking server on gencache::Cache instead of the coroutine server
                   on gencache::AsyncCache (for comparison)
  --no-cache       render every dashboard, without gencache (for comparison)
  --render-ms N    simulated cost of rendering one dashboard (default 2)
  --ttl-s N        TTL of cached dashboards in seconds (default 600)
  --log-purges     print "purge surrogate-key NAME" for each namespace a write bumped:
                   where a deployment would forward the purge to its CDN
  --help           this text

The cache backend is GENCACHE_URL (default memory://). Entries get a per-run key prefix,
since the "database" lives in this process and starts afresh on every run.
)";

struct ServerOptions {
  std::uint16_t port = 8080;
  std::string address = "127.0.0.1";
  unsigned threads = 2;
  bool blocking = false;
  bool use_cache = true;
  unsigned render_ms = 2;
  unsigned ttl_s = 600;
  bool log_purges = false;
};

ServerOptions parse_options(dashboard::Flags& flags) {
  ServerOptions options;
  while (flags.next()) {
    if (flags.is("--port")) {
      options.port = flags.number<std::uint16_t>(0, 65535);
    } else if (flags.is("--address")) {
      options.address = flags.value();
    } else if (flags.is("--threads")) {
      options.threads = flags.number<unsigned>(1, 64);
    } else if (flags.is("--blocking")) {
      options.blocking = true;
    } else if (flags.is("--no-cache")) {
      options.use_cache = false;
    } else if (flags.is("--render-ms")) {
      options.render_ms = flags.number<unsigned>(0, 10'000);
    } else if (flags.is("--log-purges")) {
      options.log_purges = true;
    } else if (flags.is("--ttl-s")) {
      options.ttl_s = flags.number<unsigned>(1, 30 * 24 * 3600);
    } else {
      flags.reject();
    }
  }
  return options;
}

gencache::CacheOptions cache_options() {
  gencache::CacheOptions options;
  options.prefix = fmt::format("dashboard-{:08x}:", std::random_device{}());
  options.on_error = [](const gencache::ErrorEvent& event) {
    // Reads fail open (the page is rendered instead); show the first few failures.
    static std::atomic<int> shown{0};
    if (shown.fetch_add(1) < 5)
      fmt::print(stderr, "gencache {} failed: {}\n", event.operation, event.message);
  };
  return options;
}

// The backend's scheme as GENCACHE_URL names it: never the rest, which may hold a password.
std::string backend_scheme() {
  const char* url = std::getenv("GENCACHE_URL");
  const std::string_view text = url && *url ? url : "memory://";
  return std::string(text.substr(0, text.find("://"))) + "://";
}

// Runs `server` on `options.threads` threads until SIGINT or SIGTERM; returns the signal.
template <class Server>
int serve(boost::asio::io_context& io, Server& server, const ServerOptions& options,
          std::string_view backend) {
  std::atomic<int> stop_signal{0};
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    stop_signal = signal_number;
    server.stop();
  });

  server.start();
  fmt::print("dashboard_server: listening on http://{}:{} (cache {}, backend {}, {} threads, {})\n",
             options.address, server.port(), options.use_cache ? "on" : "off", backend,
             options.threads, options.blocking ? "blocking" : "coroutines");
  std::fflush(stdout);

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < options.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();  // returns once stop() has closed the acceptor and the last connection
  for (std::thread& thread : threads) thread.join();
  return stop_signal.load();
}

void print_stopped(int signal_number, std::uint64_t requests, const gencache::Stats& stats) {
  fmt::print(
      "dashboard_server: stopped on signal {} after {} requests (hits {}, misses {}, bumps {})\n",
      signal_number, requests, stats.hits, stats.misses, stats.bumps);
}

}  // namespace

int main(int argc, char** argv) {
  const ServerOptions options =
      dashboard::parse_command_line("dashboard_server", kUsage, argc, argv, parse_options);

  try {
    dashboard::AppOptions app_options;
    app_options.use_cache = options.use_cache;
    app_options.render_cost = std::chrono::milliseconds(options.render_ms);
    app_options.ttl = std::chrono::seconds(options.ttl_s);
    if (options.log_purges) {
      // A CDN purge would be sent here (see dashboard::BumpHook); the demo prints it.
      app_options.on_bump = [](std::span<const gencache::Namespace> bumped) {
        for (const gencache::Namespace& ns : bumped)
          fmt::print("dashboard_server: purge surrogate-key {}\n", ns.name());
        std::fflush(stdout);
      };
    }

    boost::asio::io_context io(static_cast<int>(options.threads));
    const boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address(options.address),
                                                  options.port);
    if (options.blocking) {
      gencache::Cache cache = gencache::Cache::from_env(cache_options());
      dashboard::DashboardApp app(cache, app_options);
      dashboard::HttpServer server(io, endpoint, app);
      const int signal_number = serve(io, server, options, cache.backend().describe());
      print_stopped(signal_number, server.requests_served(), cache.stats());
    } else {
      gencache::AsyncCache cache =
          gencache::AsyncCache::from_env(io.get_executor(), cache_options());
      dashboard::AsyncDashboardApp app(cache, app_options);
      dashboard::CoroutineServer server(io, endpoint, app);
      const int signal_number = serve(io, server, options, backend_scheme());
      print_stopped(signal_number, server.requests_served(), cache.stats());
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "dashboard_server: {}\n", e.what());
    return 1;
  }
}
