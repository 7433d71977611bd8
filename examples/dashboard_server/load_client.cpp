// load_client: drives dashboard_server over real HTTP and reports what a user would see.
//
//   load_client --port P [--mode load]        reads with writes mixed in, for a bounded
//                                             time and number of requests; prints p50/p99
//                                             latency, throughput and the hit rate
//   load_client --port P --mode fresh-after-write
//                                             a write followed at once by a read must show
//                                             the written data (exit status 1 if not)
//
// Every write in load mode is also followed by a read of the written page, which must show
// the new item: "stale" counts the reads that did not. Run with --help for the options.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "command_line.hpp"
#include "http_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kUsage = R"(usage: load_client --port N [options]

  --host H            server address (default 127.0.0.1)
  --port N            server port (required)
  --mode M            load (default) or fresh-after-write
  --connections N     concurrent keep-alive connections, one thread each (default 8)
  --duration-ms N     stop after this long (default 3000)
  --max-requests N    stop after this many requests in all (default 1000000)
  --users N           users read, the first ones far more often (default 100)
  --pages N           pages per user, page 1 most often (default 5); 70% of reads use the
                      default sort, the rest one of the three others
  --write-percent N   requests that add an item, each followed by a checked read (default 1)
  --seed N            random seed (default 1)
  --label TEXT        names this run in the RESULT line (default: the mode)
)";

constexpr std::string_view kSorts[] = {"newest", "oldest", "name", "price"};

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string mode = "load";
  unsigned connections = 8;
  unsigned duration_ms = 3000;
  std::uint64_t max_requests = 1'000'000;
  unsigned users = 100;
  unsigned pages = 5;
  unsigned write_percent = 1;
  std::uint64_t seed = 1;
  std::string label;
};

Options parse_options(dashboard::Flags& flags) {
  Options o;
  while (flags.next()) {
    if (flags.is("--host")) {
      o.host = flags.value();
    } else if (flags.is("--port")) {
      o.port = flags.number<std::uint16_t>(1, 65535);
    } else if (flags.is("--mode")) {
      o.mode = flags.value();
      if (o.mode != "load" && o.mode != "fresh-after-write")
        throw dashboard::UsageError{
            fmt::format("--mode '{}' is invalid: expected load or fresh-after-write", o.mode)};
    } else if (flags.is("--connections")) {
      o.connections = flags.number<unsigned>(1, 256);
    } else if (flags.is("--duration-ms")) {
      o.duration_ms = flags.number<unsigned>(1, 600'000);
    } else if (flags.is("--max-requests")) {
      o.max_requests = flags.number<std::uint64_t>(1, 1'000'000'000);
    } else if (flags.is("--users")) {
      o.users = flags.number<unsigned>(1, 1'000'000);
    } else if (flags.is("--pages")) {
      o.pages = flags.number<unsigned>(1, 100);
    } else if (flags.is("--write-percent")) {
      o.write_percent = flags.number<unsigned>(0, 100);
    } else if (flags.is("--seed")) {
      o.seed = flags.number<std::uint64_t>(0, UINT64_MAX);
    } else if (flags.is("--label")) {
      o.label = flags.value();
    } else {
      flags.reject();
    }
  }
  if (o.port == 0) throw dashboard::UsageError{"--port is required"};
  if (o.label.empty()) o.label = o.mode;
  return o;
}

// ---- requests ------------------------------------------------------------------------

// Query parameters in either order: the server must treat both as one cache entry.
std::string dashboard_target(unsigned user, unsigned page, std::string_view sort, bool sort_first) {
  return sort_first ? fmt::format("/api/users/{}/dashboard?sort={}&page={}", user, sort, page)
                    : fmt::format("/api/users/{}/dashboard?page={}&sort={}", user, page, sort);
}

// The name of the first item on a dashboard page, or "" when it has none.
std::string first_item_name(const std::string& body) {
  const boost::json::value page = boost::json::parse(body);
  const boost::json::array& items = page.at("items").as_array();
  return items.empty() ? std::string() : std::string(items.front().at("name").as_string());
}

// Whether a dashboard page lists an item called `name`.
bool page_lists(const std::string& body, std::string_view name) {
  const boost::json::value page = boost::json::parse(body);
  for (const boost::json::value& item : page.at("items").as_array())
    if (item.at("name").as_string() == name) return true;
  return false;
}

struct Scrape {
  double hits = 0;
  double misses = 0;
  double renders = 0;
  bool cache_enabled = false;
};

Scrape scrape(dashboard::HttpClient& client) {
  const dashboard::HttpReply reply = client.get("/metrics");
  if (reply.status != 200)
    throw std::runtime_error(fmt::format("GET /metrics answered {}", reply.status));
  Scrape s;
  s.hits = dashboard::metric_value(reply.body, "gencache_hits_total").value_or(0);
  s.misses = dashboard::metric_value(reply.body, "gencache_misses_total").value_or(0);
  s.renders = dashboard::metric_value(reply.body, "dashboard_renders_total").value_or(0);
  s.cache_enabled = dashboard::metric_value(reply.body, "dashboard_cache_enabled").value_or(0) == 1;
  return s;
}

// ---- load mode -----------------------------------------------------------------------

struct WorkerResult {
  std::vector<std::uint32_t> read_latency_us;
  std::uint64_t requests = 0;
  std::uint64_t writes = 0;
  std::uint64_t errors = 0;
  std::uint64_t stale = 0;
  std::string first_error;
};

void run_worker(const Options& o, unsigned index, Clock::time_point deadline,
                std::atomic<std::int64_t>& budget, WorkerResult& result) {
  dashboard::HttpClient client(o.host, o.port);
  std::mt19937_64 rng(o.seed * 1'000'003 + index);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  // Hot users: the square of a uniform number puts most reads on the first users.
  auto pick_user = [&] {
    return 1 + static_cast<unsigned>(unit(rng) * unit(rng) * o.users) % o.users;
  };
  auto take = [&] {
    return budget.fetch_sub(1, std::memory_order_relaxed) > 0 && Clock::now() < deadline;
  };
  auto fail = [&](std::string what) {
    ++result.errors;
    if (result.first_error.empty()) result.first_error = std::move(what);
  };
  auto timed_get = [&](const std::string& target) {
    const auto started = Clock::now();
    dashboard::HttpReply reply = client.get(target);
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    result.read_latency_us.push_back(static_cast<std::uint32_t>(took.count()));
    ++result.requests;
    if (reply.status != 200)
      fail(fmt::format("GET {} answered {}: {}", target, reply.status, reply.body));
    return reply;
  };

  std::uint64_t written = 0;
  while (take()) {
    try {
      const unsigned user = pick_user();
      if (rng() % 100 < o.write_percent) {
        const std::string name = fmt::format("w{}-{}-{}", o.seed, index, ++written);
        const dashboard::HttpReply posted =
            client.post(fmt::format("/api/users/{}/items", user),
                        fmt::format(R"({{"name":"{}","price_cents":100}})", name));
        ++result.requests;
        ++result.writes;
        if (posted.status != 201) {
          fail(fmt::format("POST item answered {}: {}", posted.status, posted.body));
          continue;
        }
        // The read right after the write must already show it (on page 1 of the newest
        // items: other connections may have added a few to the same user meanwhile).
        const dashboard::HttpReply page =
            timed_get(dashboard_target(user, 1, "newest", rng() % 2 == 0));
        if (page.status == 200 && !page_lists(page.body, name)) ++result.stale;
      } else {
        // Most people look at the first pages in the default order.
        const unsigned page = 1 + static_cast<unsigned>(unit(rng) * unit(rng) * o.pages) % o.pages;
        const std::string_view sort =
            rng() % 10 < 7 ? kSorts[0] : kSorts[1 + rng() % (std::size(kSorts) - 1)];
        timed_get(dashboard_target(user, page, sort, rng() % 2 == 0));
      }
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }
}

double percentile_ms(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[rank] / 1000.0;
}

int run_load(const Options& o) {
  dashboard::HttpClient metrics_client(o.host, o.port);
  const Scrape before = scrape(metrics_client);

  std::atomic<std::int64_t> budget{static_cast<std::int64_t>(o.max_requests)};
  std::vector<WorkerResult> results(o.connections);
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::milliseconds(o.duration_ms);
  {
    std::vector<std::jthread> workers;
    for (unsigned i = 0; i < o.connections; ++i)
      workers.emplace_back([&, i] { run_worker(o, i, deadline, budget, results[i]); });
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const Scrape after = scrape(metrics_client);

  WorkerResult total;
  for (WorkerResult& r : results) {
    total.read_latency_us.insert(total.read_latency_us.end(), r.read_latency_us.begin(),
                                 r.read_latency_us.end());
    total.requests += r.requests;
    total.writes += r.writes;
    total.errors += r.errors;
    total.stale += r.stale;
    if (total.first_error.empty()) total.first_error = r.first_error;
  }
  std::sort(total.read_latency_us.begin(), total.read_latency_us.end());
  const double p50 = percentile_ms(total.read_latency_us, 0.50);
  const double p99 = percentile_ms(total.read_latency_us, 0.99);
  const double rps = static_cast<double>(total.requests) / seconds;
  const double hits = after.hits - before.hits;
  const double lookups = hits + (after.misses - before.misses);
  const std::string hit_rate =
      after.cache_enabled && lookups > 0 ? fmt::format("{:.1f}", 100.0 * hits / lookups) : "-";

  fmt::print("load '{}': {} connections, {:.2f} s, {} users x {} pages x {} sorts, {}% writes\n",
             o.label, o.connections, seconds, o.users, o.pages, std::size(kSorts), o.write_percent);
  fmt::print("  requests {} (reads {}, writes {}), errors {}, stale reads after a write {}\n",
             total.requests, total.read_latency_us.size(), total.writes, total.errors, total.stale);
  const double max = total.read_latency_us.empty() ? 0 : total.read_latency_us.back() / 1000.0;
  fmt::print(
      "  throughput {:.0f} req/s; read latency p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms; "
      "hit rate {}{}; dashboards rendered {:.0f}\n",
      rps, p50, p99, max, hit_rate, hit_rate == "-" ? "" : "%", after.renders - before.renders);
  if (!total.first_error.empty()) fmt::print(stderr, "  first error: {}\n", total.first_error);
  fmt::print(
      "RESULT label={} requests={} writes={} seconds={:.2f} rps={:.0f} p50_ms={:.3f} p99_ms={:.3f} "
      "max_ms={:.3f} hit_rate={} renders={:.0f} errors={} stale={}\n",
      o.label, total.requests, total.writes, seconds, rps, p50, p99, max, hit_rate,
      after.renders - before.renders, total.errors, total.stale);
  std::fflush(stdout);
  return total.errors == 0 && total.stale == 0 ? 0 : 1;
}

// ---- fresh-after-write mode ------------------------------------------------------------

int run_fresh_after_write(const Options& o) {
  dashboard::HttpClient client(o.host, o.port);
  int failures = 0;
  auto expect = [&](bool ok, const std::string& claim) {
    fmt::print("  {} {}\n", ok ? "ok  " : "FAIL", claim);
    if (!ok) ++failures;
  };

  const unsigned user = 1 + static_cast<unsigned>(o.seed % o.users);
  const std::string target = dashboard_target(user, 1, "newest", false);
  const std::string reordered = dashboard_target(user, 1, "newest", true);
  fmt::print("fresh-after-write on user {}:\n", user);

  const Scrape start = scrape(client);
  const dashboard::HttpReply first = client.get(target);
  const dashboard::HttpReply again = client.get(reordered);
  const Scrape warmed = scrape(client);
  expect(first.status == 200 && again.body == first.body,
         fmt::format("GET {} twice (parameters in either order) returns the same page", target));
  if (warmed.cache_enabled)
    expect(warmed.hits - start.hits >= 1,
           "the second GET was a cache hit (gencache_hits_total moved)");

  const std::string name = fmt::format("fresh-{}", std::random_device{}());
  const dashboard::HttpReply posted = client.post(fmt::format("/api/users/{}/items", user),
                                                  fmt::format(R"({{"name":"{}"}})", name));
  expect(posted.status == 201,
         fmt::format("POST /api/users/{}/items {{\"name\":\"{}\"}} answered {}", user, name,
                     posted.status));
  const dashboard::HttpReply after_write = client.get(reordered);
  expect(after_write.status == 200 && first_item_name(after_write.body) == name,
         fmt::format("the next GET already shows '{}' first (it shows '{}')", name,
                     after_write.status == 200 ? first_item_name(after_write.body) : "an error"));

  const std::string banner = fmt::format("banner-{}", std::random_device{}());
  const dashboard::HttpReply catalog =
      client.post("/api/catalog", fmt::format(R"({{"banner":"{}"}})", banner));
  expect(catalog.status == 200, fmt::format("POST /api/catalog answered {}", catalog.status));
  const dashboard::HttpReply after_catalog = client.get(target);
  const bool banner_shown =
      after_catalog.status == 200 &&
      boost::json::parse(after_catalog.body).at("catalog").at("banner").as_string() == banner;
  expect(banner_shown, fmt::format("the next GET shows the new catalog banner '{}'", banner));

  const Scrape end = scrape(client);
  fmt::print("  /metrics moved: hits +{:.0f}, misses +{:.0f}, dashboards rendered +{:.0f}\n",
             end.hits - start.hits, end.misses - start.misses, end.renders - start.renders);
  fmt::print("RESULT label={} fresh={}\n", o.label, failures == 0 ? "yes" : "no");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options =
      dashboard::parse_command_line("load_client", kUsage, argc, argv, parse_options);
  try {
    return options.mode == "load" ? run_load(options) : run_fresh_after_write(options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "load_client: {}\n", e.what());
    return 1;
  }
}
