#include "gencache/testing.hpp"

#include <thread>

#include <fmt/format.h>

#include "key_encoding.hpp"

namespace gencache::testing {

ManualClock::ManualClock(time_point start) : nanos_(start.time_since_epoch().count()) {
  static_assert(std::is_same_v<time_point::duration, std::chrono::nanoseconds>,
                "ManualClock stores nanoseconds");
}

Clock::time_point ManualClock::now() const noexcept {
  return time_point(time_point::duration(nanos_.load(std::memory_order_acquire)));
}

void ManualClock::advance(std::chrono::nanoseconds by) noexcept {
  nanos_.fetch_add(by.count(), std::memory_order_acq_rel);
}

void ManualClock::set(time_point to) noexcept {
  nanos_.store(to.time_since_epoch().count(), std::memory_order_release);
}

std::string counter_key(const Namespace& ns, std::string_view prefix) {
  return detail::counter_key(prefix, ns);
}

std::string counter_key(const Backend& backend, const Namespace& ns, std::string_view prefix) {
  if (!backend.wants_hash_tags()) return detail::counter_key(prefix, ns);
  std::string tagged;
  detail::build_hash_tagged_prefix(tagged, prefix, ns);
  return detail::counter_key(tagged, ns);
}

FaultInjectingBackend::FaultInjectingBackend(std::shared_ptr<Backend> inner)
    : inner_(std::move(inner)) {
  if (!inner_)
    throw std::invalid_argument("FaultInjectingBackend: the wrapped backend must not be null");
}

void FaultInjectingBackend::fail_next(std::size_t n, std::error_code code) {
  std::lock_guard lock(mutex_);
  fail_any_ = n;
  fail_any_code_ = code;
}

void FaultInjectingBackend::fail_next(Operation op, std::size_t n, std::error_code code) {
  std::lock_guard lock(mutex_);
  fail_op_[static_cast<std::size_t>(op)] = n;
  fail_op_code_[static_cast<std::size_t>(op)] = code;
}

void FaultInjectingBackend::fail_always(bool on, std::error_code code) {
  std::lock_guard lock(mutex_);
  fail_always_ = on;
  fail_always_code_ = code;
}

void FaultInjectingBackend::delay_next(std::chrono::milliseconds delay, std::size_t n) {
  std::lock_guard lock(mutex_);
  delay_ = delay;
  delay_count_ = n;
}

bool FaultInjectingBackend::evict_counter(const Namespace& ns, std::string_view prefix) {
  return inner_->remove(counter_key(*inner_, ns, prefix));
}

bool FaultInjectingBackend::evict(std::string_view key) {
  return inner_->remove(key);
}

std::uint64_t FaultInjectingBackend::calls(Operation op) const noexcept {
  return calls_[static_cast<std::size_t>(op)].load(std::memory_order_relaxed);
}

std::uint64_t FaultInjectingBackend::calls() const noexcept {
  std::uint64_t total = 0;
  for (const auto& c : calls_) total += c.load(std::memory_order_relaxed);
  return total;
}

std::uint64_t FaultInjectingBackend::injected_failures() const noexcept {
  return injected_.load(std::memory_order_relaxed);
}

void FaultInjectingBackend::reset_counts() noexcept {
  for (auto& c : calls_) c.store(0, std::memory_order_relaxed);
  injected_.store(0, std::memory_order_relaxed);
}

void FaultInjectingBackend::before(Operation op) {
  calls_[static_cast<std::size_t>(op)].fetch_add(1, std::memory_order_relaxed);
  std::chrono::milliseconds delay{0};
  std::error_code failure;
  {
    std::lock_guard lock(mutex_);
    if (delay_count_ > 0) {
      --delay_count_;
      delay = delay_;
    }
    auto& op_count = fail_op_[static_cast<std::size_t>(op)];
    if (fail_always_) {
      failure = fail_always_code_;
    } else if (op_count > 0) {
      --op_count;
      failure = fail_op_code_[static_cast<std::size_t>(op)];
    } else if (fail_any_ > 0) {
      --fail_any_;
      failure = fail_any_code_;
    }
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  if (failure) {
    injected_.fetch_add(1, std::memory_order_relaxed);
    throw backend_error(failure, fmt::format("injected failure ({}) in front of {}",
                                             failure.message(), inner_->describe()));
  }
}

void FaultInjectingBackend::get_many(std::span<const std::string_view> keys,
                                     std::vector<std::optional<std::string>>& values) {
  before(Operation::get_many);
  inner_->get_many(keys, values);
}

void FaultInjectingBackend::set(std::string_view key, std::string_view value,
                                std::chrono::milliseconds ttl) {
  before(Operation::set);
  inner_->set(key, value, ttl);
}

bool FaultInjectingBackend::add(std::string_view key, std::string_view value,
                                std::chrono::milliseconds ttl) {
  before(Operation::add);
  return inner_->add(key, value, ttl);
}

bool FaultInjectingBackend::remove(std::string_view key) {
  before(Operation::remove);
  return inner_->remove(key);
}

std::optional<std::uint64_t> FaultInjectingBackend::increment(std::string_view key,
                                                              std::uint64_t delta) {
  before(Operation::increment);
  return inner_->increment(key, delta);
}

bool FaultInjectingBackend::create_counter(std::string_view key, std::uint64_t initial,
                                           std::chrono::milliseconds ttl) {
  before(Operation::create_counter);
  return inner_->create_counter(key, initial, ttl);
}

std::size_t FaultInjectingBackend::max_value_size() const noexcept {
  return inner_->max_value_size();
}

std::string FaultInjectingBackend::describe() const {
  return inner_->describe();
}

}  // namespace gencache::testing
