#include "gencache/async_backend.hpp"

#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "gencache/error.hpp"

namespace gencache {
namespace {

constexpr int kIncrementOrCreateAttempts = 3;

// The default async_increment_or_create: increment, else create, else (a lost race)
// increment again, each step started from the previous one's completion.
struct IncrementOrCreate : std::enable_shared_from_this<IncrementOrCreate> {
  AsyncBackend& backend;
  std::string_view key;
  std::uint64_t delta;
  std::uint64_t fresh;
  std::chrono::milliseconds ttl;
  AsyncBackend::handler<void(std::exception_ptr, std::uint64_t)> done;
  int attempts = 0;

  IncrementOrCreate(AsyncBackend& b, std::string_view k, std::uint64_t d, std::uint64_t f,
                    std::chrono::milliseconds t,
                    AsyncBackend::handler<void(std::exception_ptr, std::uint64_t)> h)
      : backend(b), key(k), delta(d), fresh(f), ttl(t), done(std::move(h)) {}

  void finish(std::exception_ptr failure, std::uint64_t value) {
    auto handler = std::move(done);
    std::move(handler)(std::move(failure), value);
  }

  void increment() {
    if (++attempts > kIncrementOrCreateAttempts)
      return finish(std::make_exception_ptr(backend_error(
                        errc::not_stored,
                        fmt::format("{}: the counter {} vanished {} times while being bumped",
                                    backend.describe(), key, kIncrementOrCreateAttempts))),
                    0);
    backend.async_increment(key, delta,
                            [self = shared_from_this()](std::exception_ptr failure,
                                                        std::optional<std::uint64_t> value) {
                              if (failure) return self->finish(std::move(failure), 0);
                              if (value) return self->finish(nullptr, *value);
                              self->create();
                            });
  }

  void create() {
    backend.async_create_counter(
        key, fresh, ttl, [self = shared_from_this()](std::exception_ptr failure, bool created) {
          if (failure) return self->finish(std::move(failure), 0);
          if (created) return self->finish(nullptr, self->fresh);
          self->increment();  // another client created it first
        });
  }
};

// The default async_read_with_lease's visitor: keeps the value it is shown.
struct CopyOne final : ValueVisitor {
  std::optional<std::string> value;
  void found(std::size_t, std::string_view found_value) noexcept override {
    try {
      value.emplace(found_value);
    } catch (...) {
      value.reset();  // out of memory: reported as absent, which is only a miss
    }
  }
};

}  // namespace

void AsyncBackend::async_increment_or_create(
    std::string_view key, std::uint64_t delta, std::uint64_t fresh, std::chrono::milliseconds ttl,
    handler<void(std::exception_ptr, std::uint64_t)> done) {
  std::make_shared<IncrementOrCreate>(*this, key, delta, fresh, ttl, std::move(done))->increment();
}

void AsyncBackend::async_server_stats(handler<void(std::vector<ServerStats>)> done) {
  std::move(done)(std::vector<ServerStats>{});
}

void AsyncBackend::async_read_with_lease(std::string_view key, std::chrono::milliseconds,
                                         handler<void(std::exception_ptr, LeaseRead)> done) {
  struct State {
    // Constructed, never assigned: Boost 1.81's any_completion_handler move assignment
    // recurses without end.
    State(std::string_view k, handler<void(std::exception_ptr, LeaseRead)> d)
        : key(k), done(std::move(d)) {}
    std::string_view key;
    CopyOne visitor;
    handler<void(std::exception_ptr, LeaseRead)> done;
  };
  auto state = std::make_shared<State>(key, std::move(done));
  async_visit_many(std::span<const std::string_view>(&state->key, 1), state->visitor,
                   [state](std::exception_ptr failure) {
                     LeaseRead read;
                     read.value = std::move(state->visitor.value);
                     auto callback = std::move(state->done);
                     std::move(callback)(std::move(failure), std::move(read));
                   });
}

}  // namespace gencache
