#pragma once
// Internal: the circuit breaker AsyncCache puts in front of its AsyncBackend
// (BreakerOptions), deciding as Cache's does (one BreakerState, breaker_state.hpp).

#include <memory>

#include "breaker_state.hpp"
#include "gencache/async_backend.hpp"

namespace gencache::detail {

/// Forwards to `inner` while `state` admits calls and tells it how each call went. A call
/// the open breaker turns away completes at once, inside the initiating call, with
/// backend_error(errc::circuit_open) and without reaching `inner`.
class AsyncCircuitBreaker final : public AsyncBackend {
 public:
  AsyncCircuitBreaker(std::shared_ptr<AsyncBackend> inner, std::shared_ptr<BreakerState> state);

  void async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                        handler<void(std::exception_ptr)> done) override;
  void async_set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr)> done) override;
  void async_add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr, bool)> done) override;
  void async_remove(std::string_view key, handler<void(std::exception_ptr, bool)> done) override;
  void async_increment(
      std::string_view key, std::uint64_t delta,
      handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) override;
  void async_increment_many(
      std::span<const std::string_view> keys, std::uint64_t delta,
      handler<void(std::exception_ptr, std::vector<CounterIncrement>)> done) override;
  bool batches_async_increments() const noexcept override {
    return inner_->batches_async_increments();
  }
  void async_create_counter(std::string_view key, std::uint64_t initial,
                            std::chrono::milliseconds ttl,
                            handler<void(std::exception_ptr, bool)> done) override;
  /// Not guarded: an operator asks the servers even while the breaker is open.
  void async_server_stats(handler<void(std::vector<ServerStats>)> done) override {
    inner_->async_server_stats(std::move(done));
  }
  std::size_t max_value_size() const noexcept override { return inner_->max_value_size(); }
  bool wants_hash_tags() const noexcept override { return inner_->wants_hash_tags(); }
  std::string describe() const override { return inner_->describe(); }

 private:
  // Completes `done` with the rejection and returns true when the breaker is open.
  template <class... Results>
  bool rejected(handler<void(std::exception_ptr, Results...)>& done);
  // `done`, first telling the breaker how the call went.
  template <class... Results>
  handler<void(std::exception_ptr, Results...)> recorded(
      handler<void(std::exception_ptr, Results...)> done);

  std::shared_ptr<AsyncBackend> inner_;
  std::shared_ptr<BreakerState> state_;
};

}  // namespace gencache::detail
