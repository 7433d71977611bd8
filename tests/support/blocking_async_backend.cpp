#include "support/blocking_async_backend.hpp"

#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <system_error>

#include "gencache/error.hpp"

namespace gencache::test {
namespace {

// A generous bound: every call of a correct backend completes far sooner (its own
// deadlines fire first); this only keeps a broken one from hanging the test run.
constexpr auto kLongestWait = std::chrono::seconds(60);

struct Nothing {};

// What a handler got, handed to the waiting thread by value. A backend_error crosses as
// its code and message and is thrown anew there: an exception object shared by the two
// threads would be destroyed by whichever dropped it last, through a reference count
// inside libstdc++ that ThreadSanitizer cannot see (a false report of a race).
template <class T>
struct Outcome {
  T value{};
  bool failed = false;
  std::error_code code{};
  std::string message{};
  std::exception_ptr other{};  // anything but a backend_error (a broken backend)
};

template <class T>
Outcome<T> outcome_of(std::exception_ptr failure, T value) {
  Outcome<T> outcome;
  if (!failure) {
    outcome.value = std::move(value);
    return outcome;
  }
  try {
    std::rethrow_exception(failure);
  } catch (const backend_error& error) {
    outcome.failed = true;
    outcome.code = error.code();
    outcome.message = error.what();
  } catch (...) {
    outcome.other = std::current_exception();
  }
  return outcome;
}

template <class T>
T wait_for(std::future<Outcome<T>>& future) {
  if (future.wait_for(kLongestWait) != std::future_status::ready)
    throw std::runtime_error("an AsyncBackend call never completed");
  Outcome<T> outcome = future.get();
  if (outcome.failed) throw backend_error(outcome.code, outcome.message);
  if (outcome.other) std::rethrow_exception(outcome.other);
  return std::move(outcome.value);
}

template <class T>
auto completer(std::promise<Outcome<T>>& promise) {
  return [&promise](std::exception_ptr failure, T value) {
    promise.set_value(outcome_of(std::move(failure), std::move(value)));
  };
}

auto void_completer(std::promise<Outcome<Nothing>>& promise) {
  return [&promise](std::exception_ptr failure) {
    promise.set_value(outcome_of(std::move(failure), Nothing{}));
  };
}

class CopyingVisitor final : public ValueVisitor {
 public:
  explicit CopyingVisitor(std::vector<std::optional<std::string>>& values) : values_(values) {}
  void found(std::size_t index, std::string_view value) noexcept override {
    values_[index].emplace(value);
  }

 private:
  std::vector<std::optional<std::string>>& values_;
};

}  // namespace

BlockingAsyncBackend::BlockingAsyncBackend(const Factory& make)
    : work_(boost::asio::make_work_guard(io_)), backend_(make(io_.get_executor())) {
  thread_ = std::thread([this] { io_.run(); });
}

BlockingAsyncBackend::~BlockingAsyncBackend() {
  backend_.reset();  // closes its connections, on the event loop
  work_.reset();
  thread_.join();
}

void BlockingAsyncBackend::get_many(std::span<const std::string_view> keys,
                                    std::vector<std::optional<std::string>>& values) {
  values.assign(keys.size(), std::nullopt);
  CopyingVisitor copier(values);
  visit_many(keys, copier);
}

void BlockingAsyncBackend::visit_many(std::span<const std::string_view> keys,
                                      ValueVisitor& visitor) {
  std::promise<Outcome<Nothing>> done;
  auto future = done.get_future();
  backend_->async_visit_many(keys, visitor, void_completer(done));
  wait_for(future);
}

void BlockingAsyncBackend::set(std::string_view key, std::string_view value,
                               std::chrono::milliseconds ttl) {
  std::promise<Outcome<Nothing>> done;
  auto future = done.get_future();
  backend_->async_set(key, value, ttl, void_completer(done));
  wait_for(future);
}

bool BlockingAsyncBackend::add(std::string_view key, std::string_view value,
                               std::chrono::milliseconds ttl) {
  std::promise<Outcome<bool>> done;
  auto future = done.get_future();
  backend_->async_add(key, value, ttl, completer(done));
  return wait_for(future);
}

bool BlockingAsyncBackend::remove(std::string_view key) {
  std::promise<Outcome<bool>> done;
  auto future = done.get_future();
  backend_->async_remove(key, completer(done));
  return wait_for(future);
}

std::optional<std::uint64_t> BlockingAsyncBackend::increment(std::string_view key,
                                                             std::uint64_t delta) {
  std::promise<Outcome<std::optional<std::uint64_t>>> done;
  auto future = done.get_future();
  backend_->async_increment(key, delta, completer(done));
  return wait_for(future);
}

bool BlockingAsyncBackend::create_counter(std::string_view key, std::uint64_t initial,
                                          std::chrono::milliseconds ttl) {
  std::promise<Outcome<bool>> done;
  auto future = done.get_future();
  backend_->async_create_counter(key, initial, ttl, completer(done));
  return wait_for(future);
}

std::uint64_t BlockingAsyncBackend::increment_or_create(std::string_view key, std::uint64_t delta,
                                                        std::uint64_t fresh,
                                                        std::chrono::milliseconds ttl) {
  std::promise<Outcome<std::uint64_t>> done;
  auto future = done.get_future();
  backend_->async_increment_or_create(key, delta, fresh, ttl, completer(done));
  return wait_for(future);
}

AsyncBackend::LeaseRead BlockingAsyncBackend::read_with_lease(std::string_view key,
                                                              std::chrono::milliseconds ttl) {
  std::promise<Outcome<AsyncBackend::LeaseRead>> done;
  auto future = done.get_future();
  backend_->async_read_with_lease(key, ttl, completer(done));
  return wait_for(future);
}

}  // namespace gencache::test
