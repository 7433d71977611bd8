// AsyncBackend::async_increment_many's default: one async_increment per key, in turn.
#include <memory>
#include <utility>

#include "gencache/async_backend.hpp"

namespace gencache {
namespace {

// The loop's state, shared by the completions that carry it from one key to the next.
struct IncrementEach {
  AsyncBackend& backend;
  std::span<const std::string_view> keys;
  std::uint64_t delta;
  std::vector<CounterIncrement> results;
  AsyncBackend::handler<void(std::exception_ptr, std::vector<CounterIncrement>)> done;

  static void next(std::shared_ptr<IncrementEach> self) {
    const std::size_t i = self->results.size();
    if (i == self->keys.size()) {
      auto done = std::move(self->done);
      std::move(done)(nullptr, std::move(self->results));
      return;
    }
    AsyncBackend& backend = self->backend;
    backend.async_increment(
        self->keys[i], self->delta,
        [self](std::exception_ptr failure, std::optional<std::uint64_t> value) mutable {
          self->results.push_back(CounterIncrement{value, std::move(failure)});
          next(std::move(self));
        });
  }
};

}  // namespace

void AsyncBackend::async_increment_many(
    std::span<const std::string_view> keys, std::uint64_t delta,
    handler<void(std::exception_ptr, std::vector<CounterIncrement>)> done) {
  auto state =
      std::make_shared<IncrementEach>(IncrementEach{*this, keys, delta, {}, std::move(done)});
  state->results.reserve(keys.size());
  IncrementEach::next(std::move(state));
}

}  // namespace gencache
