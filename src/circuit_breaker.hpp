#pragma once
// Internal: the circuit breaker the Cache puts in front of its backend (BreakerOptions).

#include <memory>

#include "breaker_state.hpp"
#include "cache_core.hpp"
#include "gencache/backend.hpp"
#include "gencache/cache.hpp"

namespace gencache::detail {

/// Forwards to `inner` while `state` (BreakerState) admits calls, and tells it how each
/// call went.
class CircuitBreaker final : public Backend {
 public:
  CircuitBreaker(std::shared_ptr<Backend> inner, std::shared_ptr<BreakerState> state);

  void get_many(std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) override;
  void visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) override;
  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool remove(std::string_view key) override;
  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) override;
  std::vector<CounterIncrement> increment_many(std::span<const std::string_view> keys,
                                               std::uint64_t delta) override;
  bool batches_increments() const noexcept override { return inner_->batches_increments(); }
  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override;
  /// Not guarded: an operator asks for statistics most when the backend is in trouble.
  std::vector<ServerStats> server_stats() override { return inner_->server_stats(); }
  std::size_t max_value_size() const noexcept override { return inner_->max_value_size(); }
  std::string describe() const override { return inner_->describe(); }

 private:
  template <class F>
  decltype(auto) guarded(F&& call);

  std::shared_ptr<Backend> inner_;
  std::shared_ptr<BreakerState> state_;
};

}  // namespace gencache::detail
