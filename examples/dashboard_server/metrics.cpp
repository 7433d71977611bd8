#include "metrics.hpp"

#include <iterator>

#include <fmt/format.h>

namespace dashboard {

std::string_view route_name(Route route) noexcept {
  switch (route) {
    case Route::dashboard:
      return "dashboard";
    case Route::add_item:
      return "add_item";
    case Route::catalog:
      return "catalog";
    case Route::metrics:
      return "metrics";
    case Route::other:
      return "other";
  }
  return "other";
}

void LatencyHistogram::observe(std::chrono::nanoseconds took) noexcept {
  const double seconds = std::chrono::duration<double>(took).count();
  std::size_t bucket = 0;
  while (bucket < bounds.size() && seconds > bounds[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(took.count()), std::memory_order_relaxed);
}

void LatencyHistogram::render(std::string& out, std::string_view name,
                              std::string_view labels) const {
  auto line = std::back_inserter(out);
  // Prometheus buckets are cumulative.
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    fmt::format_to(line, "{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, bounds[i], cumulative);
  }
  cumulative += buckets_[bounds.size()].load(std::memory_order_relaxed);
  fmt::format_to(line, "{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, cumulative);
  fmt::format_to(line, "{}_sum{{{}}} {:.9f}\n", name, labels,
                 static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) * 1e-9);
  fmt::format_to(line, "{}_count{{{}}} {}\n", name, labels, cumulative);
}

namespace {

void counter(std::string& out, std::string_view name, std::string_view help, std::uint64_t value) {
  fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name,
                 help, value);
}

}  // namespace

std::string Metrics::render(const gencache::Stats& stats, std::uint64_t renders,
                            bool cache_enabled) const {
  std::string out;
  out.reserve(8192);
  counter(out, "gencache_hits_total", "Reads that found a valid entry.", stats.hits);
  counter(out, "gencache_misses_total", "Reads that found nothing usable.", stats.misses);
  counter(out, "gencache_sets_total", "Entries written.", stats.sets);
  counter(out, "gencache_bumps_total", "Successful namespace bumps.", stats.bumps);
  counter(out, "gencache_errors_total", "Backend failures absorbed or reported.", stats.errors);
  counter(out, "gencache_corrupt_total", "Entries whose bytes did not decode.", stats.corrupt);
  counter(out, "gencache_counter_recreations_total",
          "Generation counters found absent and created at a fresh value.",
          stats.counter_recreations);
  counter(out, "gencache_oversized_total", "Values not cached because they were too large.",
          stats.oversized);
  counter(out, "gencache_computes_total", "Compute functions run by cached calls.", stats.computes);
  counter(out, "gencache_round_trips_total", "Backend calls made.", stats.round_trips);
  counter(out, "gencache_stale_served_total", "Stale values returned.", stats.stale_served);
  counter(out, "gencache_early_refreshes_total", "Recomputes started before expiry (XFetch).",
          stats.early_refreshes);
  counter(out, "gencache_coalesced_total", "Misses that waited for another caller's compute.",
          stats.coalesced);
  counter(out, "gencache_lease_waits_total", "Misses that waited for another process's lease.",
          stats.lease_waits);
  counter(out, "dashboard_renders_total",
          "Dashboards actually rendered (cache misses or no cache).", renders);
  fmt::format_to(std::back_inserter(out),
                 "# HELP dashboard_cache_enabled 1 when responses go through gencache.\n"
                 "# TYPE dashboard_cache_enabled gauge\ndashboard_cache_enabled {}\n",
                 cache_enabled ? 1 : 0);

  constexpr std::string_view histogram = "dashboard_request_duration_seconds";
  fmt::format_to(std::back_inserter(out),
                 "# HELP {0} Time from a parsed request to its response, per route.\n"
                 "# TYPE {0} histogram\n",
                 histogram);
  for (std::size_t route = 0; route < route_count; ++route) {
    latency_[route].render(out, histogram,
                           fmt::format("route=\"{}\"", route_name(static_cast<Route>(route))));
  }
  return out;
}

}  // namespace dashboard
