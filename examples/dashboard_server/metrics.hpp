#pragma once
// The server's own metrics (a request latency histogram per route) and the Prometheus
// text exposition of them together with gencache::Stats.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <gencache/cache.hpp>

namespace dashboard {

enum class Route : std::size_t { dashboard, add_item, catalog, metrics, other };
inline constexpr std::size_t route_count = 5;
std::string_view route_name(Route route) noexcept;

/// A Prometheus histogram of durations: fixed buckets, lock-free observation.
class LatencyHistogram {
 public:
  /// Upper bounds in seconds, as Prometheus `le` labels; +Inf is implicit.
  static constexpr std::array<double, 13> bounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

  void observe(std::chrono::nanoseconds took) noexcept;
  /// Appends `name_bucket`, `name_sum` and `name_count` lines with `labels` (`k="v"`).
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};  // last: +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

/// Everything /metrics reports besides the cache's own Stats.
class Metrics {
 public:
  void observe(Route route, std::chrono::nanoseconds took) noexcept {
    latency_[static_cast<std::size_t>(route)].observe(took);
  }

  /// The Prometheus text format (version 0.0.4) of `stats`, the latency histograms,
  /// `renders` (dashboards actually rendered) and whether the cache is in use.
  std::string render(const gencache::Stats& stats, std::uint64_t renders, bool cache_enabled) const;

 private:
  std::array<LatencyHistogram, route_count> latency_;
};

}  // namespace dashboard
