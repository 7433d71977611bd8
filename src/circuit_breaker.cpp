#include "circuit_breaker.hpp"

#include <fmt/format.h>

namespace gencache::detail {
namespace {

bool means_unreachable(std::error_code code) {
  return code == errc::timeout || code == errc::backend_unavailable;
}

}  // namespace

CircuitBreaker::CircuitBreaker(std::shared_ptr<Backend> inner, BreakerOptions options,
                               std::shared_ptr<const Clock> clock, StripedStats& stats)
    : inner_(std::move(inner)), options_(options), clock_(std::move(clock)), stats_(stats) {}

std::int64_t CircuitBreaker::now_ns() const noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->now().time_since_epoch())
      .count();
}

void CircuitBreaker::admit() {
  const std::int64_t until = open_until_ns_.load(std::memory_order_acquire);
  if (until == 0) return;
  // Open: after the cool-down exactly one caller probes; everyone else is turned away.
  if (now_ns() >= until && !probing_.exchange(true, std::memory_order_acq_rel)) return;
  stats_.add(StripedStats::breaker_rejections);
  throw backend_error(
      errc::circuit_open,
      fmt::format("{}: circuit breaker open after {} consecutive failures; backend skipped",
                  inner_->describe(), options_.failure_threshold));
}

void CircuitBreaker::on_success() noexcept {
  // Written only when it changes: a store on every call would bounce this cache line
  // between the cores of every thread using the Cache.
  if (consecutive_failures_.load(std::memory_order_relaxed) != 0)
    consecutive_failures_.store(0, std::memory_order_relaxed);
  if (open_until_ns_.load(std::memory_order_acquire) != 0) {
    open_until_ns_.store(0, std::memory_order_release);
    probing_.store(false, std::memory_order_release);
    stats_.add(StripedStats::breaker_closes);
  }
}

void CircuitBreaker::on_failure() noexcept {
  const std::int64_t reopen_at =
      now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(options_.cooldown).count();
  if (open_until_ns_.load(std::memory_order_acquire) != 0) {
    // A failed probe: stay open for another cool-down.
    open_until_ns_.store(reopen_at, std::memory_order_release);
    probing_.store(false, std::memory_order_release);
    return;
  }
  if (consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1 >=
      options_.failure_threshold) {
    std::int64_t closed = 0;
    if (open_until_ns_.compare_exchange_strong(closed, reopen_at, std::memory_order_acq_rel))
      stats_.add(StripedStats::breaker_opens);
  }
}

template <class F>
decltype(auto) CircuitBreaker::guarded(F&& call) {
  admit();
  try {
    if constexpr (std::is_void_v<decltype(call())>) {
      call();
      on_success();
    } else {
      auto result = call();
      on_success();
      return result;
    }
  } catch (const backend_error& e) {
    if (means_unreachable(e.code()))
      on_failure();
    else
      on_success();
    throw;
  }
}

void CircuitBreaker::get_many(std::span<const std::string_view> keys,
                              std::vector<std::optional<std::string>>& values) {
  guarded([&] { inner_->get_many(keys, values); });
}

void CircuitBreaker::visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) {
  guarded([&] { inner_->visit_many(keys, visitor); });
}

void CircuitBreaker::set(std::string_view key, std::string_view value,
                         std::chrono::milliseconds ttl) {
  guarded([&] { inner_->set(key, value, ttl); });
}

bool CircuitBreaker::add(std::string_view key, std::string_view value,
                         std::chrono::milliseconds ttl) {
  return guarded([&] { return inner_->add(key, value, ttl); });
}

bool CircuitBreaker::remove(std::string_view key) {
  return guarded([&] { return inner_->remove(key); });
}

std::optional<std::uint64_t> CircuitBreaker::increment(std::string_view key, std::uint64_t delta) {
  return guarded([&] { return inner_->increment(key, delta); });
}

std::vector<CounterIncrement> CircuitBreaker::increment_many(std::span<const std::string_view> keys,
                                                             std::uint64_t delta) {
  std::vector<CounterIncrement> results =
      guarded([&] { return inner_->increment_many(keys, delta); });
  // Single counters that failed (one server of several down) count like a failed call:
  // the breaker learns of an unreachable server however the backend reported it.
  for (const CounterIncrement& result : results) {
    if (!result.failure) continue;
    try {
      std::rethrow_exception(result.failure);
    } catch (const backend_error& e) {
      if (means_unreachable(e.code())) {
        on_failure();
        break;
      }
    } catch (...) {
    }
  }
  return results;
}

bool CircuitBreaker::create_counter(std::string_view key, std::uint64_t initial,
                                    std::chrono::milliseconds ttl) {
  return guarded([&] { return inner_->create_counter(key, initial, ttl); });
}

}  // namespace gencache::detail
