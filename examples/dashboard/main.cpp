// The dashboard demo: a per-user, paginated API endpoint whose responses are cached with
// gencache, and a write that invalidates exactly one user's pages with one counter bump.
//
// The cache comes from GENCACHE_URL (default memory://), so the same program runs against
// Memcached: GENCACHE_URL=memcached://127.0.0.1:11211 ./dashboard
//
// The program checks what it prints and exits with status 1 if a claim does not hold.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gencache/cache.hpp>
#include <gencache/cached_call.hpp>
#include <gencache/json_codec.hpp>
#include <gencache/namespace.hpp>
#include <gencache/url_key.hpp>

namespace {

constexpr int kUsers = 50;
constexpr int kPages = 5;
constexpr int kRoundsBeforeWrite = 3;
constexpr int kRoundsAfterWrite = 2;
constexpr int kWrittenUser = 42;
constexpr auto kHandlerCost = std::chrono::milliseconds(2);
constexpr int kErrorsShown = 3;  // backend errors printed; stats() counts them all

// ---- the application --------------------------------------------------------------

// The user is known from the session, not from the URL: the same path serves every user.
struct Request {
  int user_id = 0;
  int page = 1;
  std::string path_and_query;
};

struct Response {
  int status = 200;
  std::string body;
};
// Described structs are cached as JSON by <gencache/json_codec.hpp>.
BOOST_DESCRIBE_STRUCT(Response, (), (status, body))

// Stands in for the database: each user's data version goes up on every write.
std::vector<int> user_data_version(kUsers + 1, 1);
// How often the handler really ran, per user: the evidence of what was recomputed.
std::vector<int> handler_runs(kUsers + 1, 0);

Response dashboard_handler(const Request& request) {
  ++handler_runs[request.user_id];
  std::this_thread::sleep_for(kHandlerCost);  // the queries and rendering being cached
  const int version = user_data_version[request.user_id];
  std::string items;
  for (int i = 1; i <= 10; ++i) {
    items += fmt::format("{}\"order-{}-{}-v{}\"", i == 1 ? "" : ",", request.user_id,
                         (request.page - 1) * 10 + i, version);
  }
  return {200, fmt::format(R"({{"user":{},"page":{},"data_version":{},"items":[{}]}})",
                           request.user_id, request.page, version, items)};
}

Request make_request(int user_id, int page) {
  return {user_id, page, fmt::format("/dashboard?page={}", page)};
}

// ---- the workload -----------------------------------------------------------------

struct PassResult {
  int requests = 0;
  int handler_calls = 0;
  std::chrono::nanoseconds total{0};
  std::vector<std::string> written_user_page_one;  // its body as served, round by round
  gencache::Stats before;
  gencache::Stats after;
};

int total_handler_runs() {
  int sum = 0;
  for (int runs : handler_runs) sum += runs;
  return sum;
}

// Reads pages 1..kPages of users 1..kUsers, `rounds` times, through `serve`.
template <class Serve>
PassResult run_pass(const gencache::Cache& cache, int rounds, Serve&& serve) {
  PassResult result;
  result.before = cache.stats();
  const int runs_before = total_handler_runs();
  for (int round = 0; round < rounds; ++round) {
    for (int user = 1; user <= kUsers; ++user) {
      for (int page = 1; page <= kPages; ++page) {
        const Request request = make_request(user, page);
        const auto started = std::chrono::steady_clock::now();
        const Response response = serve(request);
        const auto took = std::chrono::steady_clock::now() - started;
        if (response.status != 200) throw std::runtime_error("handler failed");
        ++result.requests;
        result.total += took;
        if (user == kWrittenUser && page == 1)
          result.written_user_page_one.push_back(response.body);
      }
    }
  }
  result.handler_calls = total_handler_runs() - runs_before;
  result.after = cache.stats();
  return result;
}

// ---- reporting --------------------------------------------------------------------

double mean_ms(std::chrono::nanoseconds total, int count) {
  return count == 0 ? 0.0 : std::chrono::duration<double, std::milli>(total).count() / count;
}

void print_row(std::string_view label, const PassResult& pass, bool cached) {
  const auto hits = pass.after.hits - pass.before.hits;
  const auto misses = pass.after.misses - pass.before.misses;
  const std::string hit_rate = cached && hits + misses > 0
                                   ? fmt::format("{:.1f}%", 100.0 * static_cast<double>(hits) /
                                                                static_cast<double>(hits + misses))
                                   : std::string("-");
  fmt::print("  {:<36} {:>8} {:>6} {:>8} {:>8} {:>10.3f} ms\n", label, pass.requests,
             cached ? fmt::to_string(hits) : "-", pass.handler_calls, hit_rate,
             mean_ms(pass.total, pass.requests));
}

// The body without its item list, which adds nothing to the story.
std::string abbreviated(const std::string& body) {
  return body.substr(0, body.find(",\"items\"")) + ",...}";
}

int failures = 0;

void check(bool ok, std::string_view claim) {
  if (!ok) {
    ++failures;
    fmt::print(stderr, "UNEXPECTED: {}\n", claim);
  }
}

std::uint32_t random_run_id() {
  return std::random_device{}();
}

}  // namespace

int main() {
  // A shared server may hold entries from an earlier run that simulated another database:
  // a per-run key prefix keeps this run's entries apart.
  gencache::CacheOptions options;
  options.prefix = fmt::format("dashboard-{:08x}:", random_run_id());
  // Reads fail open: a request is still served, by the handler, when the backend fails.
  options.on_error = [](const gencache::ErrorEvent& event) {
    static std::atomic<int> reported{0};
    if (reported.fetch_add(1) < kErrorsShown)
      fmt::print(stderr, "gencache {} failed: {}\n", event.operation, event.message);
  };
  gencache::Cache cache = gencache::Cache::from_env(std::move(options));

  // Every page depends on its user's data and on the shared catalog.
  auto cached_dashboard = gencache::cached_call(
      cache, [](const Request& r) { return gencache::url_key(r.path_and_query); },
      [](const Request& r) {
        return gencache::NamespaceSet{gencache::ns("user", r.user_id), gencache::ns("catalog")};
      },
      std::chrono::minutes(10), &dashboard_handler);

  fmt::print("gencache dashboard demo on {}\n", cache.backend().describe());
  fmt::print("workload: {} users x {} pages; the handler takes ~{} ms when it runs\n\n", kUsers,
             kPages, kHandlerCost.count());

  const PassResult uncached = run_pass(cache, 1, &dashboard_handler);
  const PassResult cold = run_pass(cache, 1, cached_dashboard);
  const PassResult warm = run_pass(cache, kRoundsBeforeWrite - 1, cached_dashboard);

  // The write: commit to the database first, then invalidate the user's namespace.
  const std::vector<int> runs_before_write = handler_runs;
  const int old_version = user_data_version[kWrittenUser];
  ++user_data_version[kWrittenUser];
  std::uint64_t generation = 0;
  try {
    generation = cache.bump_namespace(gencache::ns("user", kWrittenUser));
  } catch (const gencache::backend_error& e) {
    // Never silent: until a bump succeeds, user 42's cached pages may still be served.
    fmt::print(stderr, "the write's invalidation failed, so the demo stops here: {}\n", e.what());
    return 1;
  }
  const PassResult after_write = run_pass(cache, kRoundsAfterWrite, cached_dashboard);

  fmt::print("  {:<36} {:>8} {:>6} {:>8} {:>8} {:>13}\n", "pass", "requests", "hits", "computes",
             "hit rate", "mean latency");
  print_row("uncached (handler called directly)", uncached, false);
  print_row("cached, round 1 (cold cache)", cold, true);
  print_row(fmt::format("cached, rounds 2-{}", kRoundsBeforeWrite), warm, true);
  print_row(fmt::format("after the write, {} rounds", kRoundsAfterWrite), after_write, true);

  const double uncached_ms = mean_ms(uncached.total, uncached.requests);
  const double hit_ms = mean_ms(warm.total, warm.requests);
  const auto warm_trips = static_cast<double>(warm.after.round_trips - warm.before.round_trips);
  fmt::print(
      "\n  a cache hit is {:.0f}x faster than the handler and costs {:.2f} backend round trip(s)\n",
      hit_ms > 0 ? uncached_ms / hit_ms : 0.0, warm_trips / warm.requests);

  int written_user_recomputed = 0;
  int others_recomputed = 0;
  for (int user = 1; user <= kUsers; ++user) {
    const int recomputed = handler_runs[user] - runs_before_write[user];
    if (user == kWrittenUser) {
      written_user_recomputed += recomputed;
    } else {
      others_recomputed += recomputed;
    }
  }
  fmt::print(
      "\nwrite to user {}: data version {} -> {}, then bump_namespace({}) -> generation {}\n",
      kWrittenUser, old_version, user_data_version[kWrittenUser],
      gencache::ns("user", kWrittenUser).name(), generation);
  fmt::print(
      "  recomputed after the write: user {}: {} of {} pages; the other {} users: {} of {} pages\n",
      kWrittenUser, written_user_recomputed, kPages, kUsers - 1, others_recomputed,
      (kUsers - 1) * kPages);
  const std::string& page_one = after_write.written_user_page_one.front();
  fmt::print("  user {} page 1, last read before the write: {}\n", kWrittenUser,
             abbreviated(warm.written_user_page_one.back()));
  fmt::print("  user {} page 1, first read after the write: {}\n", kWrittenUser,
             abbreviated(page_one));

  const gencache::Stats total = cache.stats();
  fmt::print("\ncache.stats(): hits={} misses={} sets={} bumps={} errors={} round_trips={}\n",
             total.hits, total.misses, total.sets, total.bumps, total.errors, total.round_trips);

  const std::string fresh = fmt::format("\"data_version\":{}", user_data_version[kWrittenUser]);
  check(page_one.find(fresh) != std::string::npos,
        "user 42's first page after the write shows the new data version");
  check(written_user_recomputed == kPages, "each of user 42's pages is recomputed once");
  check(others_recomputed == 0, "no other user's page is recomputed");
  check(cold.handler_calls == kUsers * kPages && warm.handler_calls == 0,
        "only the first cached round computes");
  check(total.errors == 0, "no backend errors");
  if (failures > 0) {
    fmt::print(stderr, "{} claim(s) did not hold\n", failures);
    return 1;
  }
  return 0;
}
