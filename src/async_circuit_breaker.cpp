#include "async_circuit_breaker.hpp"

#include <utility>

namespace gencache::detail {

AsyncCircuitBreaker::AsyncCircuitBreaker(std::shared_ptr<AsyncBackend> inner,
                                         std::shared_ptr<BreakerState> state)
    : inner_(std::move(inner)), state_(std::move(state)) {}

template <class... Results>
bool AsyncCircuitBreaker::rejected(handler<void(std::exception_ptr, Results...)>& done) {
  if (state_->admits()) return false;
  std::move(done)(std::make_exception_ptr(state_->rejection(inner_->describe())), Results{}...);
  return true;
}

template <class... Results>
AsyncBackend::handler<void(std::exception_ptr, Results...)> AsyncCircuitBreaker::recorded(
    handler<void(std::exception_ptr, Results...)> done) {
  // The state is shared, not borrowed: a completion may outlive this decorator's caller.
  return [state = state_, done = std::move(done)](std::exception_ptr failure,
                                                  Results... results) mutable {
    state->record(failure);
    std::move(done)(std::move(failure), std::move(results)...);
  };
}

void AsyncCircuitBreaker::async_visit_many(std::span<const std::string_view> keys,
                                           ValueVisitor& visitor,
                                           handler<void(std::exception_ptr)> done) {
  if (rejected(done)) return;
  inner_->async_visit_many(keys, visitor, recorded(std::move(done)));
}

void AsyncCircuitBreaker::async_set(std::string_view key, std::string_view value,
                                    std::chrono::milliseconds ttl,
                                    handler<void(std::exception_ptr)> done) {
  if (rejected(done)) return;
  inner_->async_set(key, value, ttl, recorded(std::move(done)));
}

void AsyncCircuitBreaker::async_add(std::string_view key, std::string_view value,
                                    std::chrono::milliseconds ttl,
                                    handler<void(std::exception_ptr, bool)> done) {
  if (rejected(done)) return;
  inner_->async_add(key, value, ttl, recorded(std::move(done)));
}

void AsyncCircuitBreaker::async_remove(std::string_view key,
                                       handler<void(std::exception_ptr, bool)> done) {
  if (rejected(done)) return;
  inner_->async_remove(key, recorded(std::move(done)));
}

void AsyncCircuitBreaker::async_increment(
    std::string_view key, std::uint64_t delta,
    handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) {
  if (rejected(done)) return;
  inner_->async_increment(key, delta, recorded(std::move(done)));
}

void AsyncCircuitBreaker::async_increment_many(
    std::span<const std::string_view> keys, std::uint64_t delta,
    handler<void(std::exception_ptr, std::vector<CounterIncrement>)> done) {
  if (rejected(done)) return;
  inner_->async_increment_many(
      keys, delta,
      [state = state_, done = std::move(done)](std::exception_ptr failure,
                                               std::vector<CounterIncrement> results) mutable {
        // As CircuitBreaker::increment_many: a single counter whose server was unreachable
        // counts like a failed call, however the backend reported it.
        std::error_code unreachable;
        for (const CounterIncrement& result : results) {
          if (!result.failure) continue;
          try {
            std::rethrow_exception(result.failure);
          } catch (const backend_error& e) {
            if (BreakerState::means_unreachable(e.code())) unreachable = e.code();
          } catch (...) {
          }
          if (unreachable) break;
        }
        if (failure || !unreachable)
          state->record(failure);
        else
          state->record(unreachable);
        std::move(done)(std::move(failure), std::move(results));
      });
}

void AsyncCircuitBreaker::async_create_counter(std::string_view key, std::uint64_t initial,
                                               std::chrono::milliseconds ttl,
                                               handler<void(std::exception_ptr, bool)> done) {
  if (rejected(done)) return;
  inner_->async_create_counter(key, initial, ttl, recorded(std::move(done)));
}

}  // namespace gencache::detail
