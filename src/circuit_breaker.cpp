#include "circuit_breaker.hpp"

namespace gencache::detail {

CircuitBreaker::CircuitBreaker(std::shared_ptr<Backend> inner, std::shared_ptr<BreakerState> state)
    : inner_(std::move(inner)), state_(std::move(state)) {}

template <class F>
decltype(auto) CircuitBreaker::guarded(F&& call) {
  if (!state_->admits()) throw state_->rejection(inner_->describe());
  try {
    if constexpr (std::is_void_v<decltype(call())>) {
      call();
      state_->record(std::error_code());
    } else {
      auto result = call();
      state_->record(std::error_code());
      return result;
    }
  } catch (const backend_error& e) {
    state_->record(e.code());
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
      if (BreakerState::means_unreachable(e.code())) {
        state_->record(e.code());
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
