#include "async_backend_thread.hpp"

#include <future>
#include <optional>
#include <string>
#include <system_error>

#include "gencache/error.hpp"

namespace gencache::detail {
namespace {

// A call's failure as plain data. The exception itself stays on the I/O thread and a new
// one is thrown on the caller's: an exception_ptr handed across threads is released by
// whichever drops it last, through libstdc++'s reference count, which ThreadSanitizer
// cannot see, so every failure would be reported as a race.
struct Failure {
  std::error_code code;
  std::string message;
};

Failure failure_of(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const backend_error& e) {
    return {e.code(), e.what()};
  } catch (const std::exception& e) {
    return {make_error_code(errc::backend_unavailable), e.what()};
  } catch (...) {
    return {make_error_code(errc::backend_unavailable), "unknown failure"};
  }
}

template <class T>
struct Outcome {
  std::optional<Failure> failure;
  T value{};
};
struct Nothing {};

template <class T>
auto settle(std::promise<Outcome<T>>& promise) {
  return [&promise](std::exception_ptr failure, T value) {
    Outcome<T> outcome;
    if (failure)
      outcome.failure = failure_of(failure);
    else
      outcome.value = std::move(value);
    promise.set_value(std::move(outcome));
  };
}

auto settle_void(std::promise<Outcome<Nothing>>& promise) {
  return [&promise](std::exception_ptr failure) {
    Outcome<Nothing> outcome;
    if (failure) outcome.failure = failure_of(failure);
    promise.set_value(std::move(outcome));
  };
}

template <class T>
T wait_for(std::promise<Outcome<T>>& promise) {
  Outcome<T> outcome = promise.get_future().get();
  if (outcome.failure) throw backend_error(outcome.failure->code, outcome.failure->message);
  return std::move(outcome.value);
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

AsyncBackendThread::AsyncBackendThread(const Factory& make)
    : work_(boost::asio::make_work_guard(io_)), backend_(make(io_.get_executor())) {
  thread_ = std::thread([this] { io_.run(); });
}

AsyncBackendThread::~AsyncBackendThread() {
  backend_.reset();  // closes its connections, on the event loop
  work_.reset();
  thread_.join();
}

void AsyncBackendThread::get_many(std::span<const std::string_view> keys,
                                  std::vector<std::optional<std::string>>& values) {
  values.assign(keys.size(), std::nullopt);
  CopyingVisitor copier(values);
  visit_many(keys, copier);
}

void AsyncBackendThread::visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) {
  std::promise<Outcome<Nothing>> done;
  backend_->async_visit_many(keys, visitor, settle_void(done));
  wait_for(done);
}

void AsyncBackendThread::set(std::string_view key, std::string_view value,
                             std::chrono::milliseconds ttl) {
  std::promise<Outcome<Nothing>> done;
  backend_->async_set(key, value, ttl, settle_void(done));
  wait_for(done);
}

bool AsyncBackendThread::add(std::string_view key, std::string_view value,
                             std::chrono::milliseconds ttl) {
  std::promise<Outcome<bool>> done;
  backend_->async_add(key, value, ttl, settle(done));
  return wait_for(done);
}

bool AsyncBackendThread::remove(std::string_view key) {
  std::promise<Outcome<bool>> done;
  backend_->async_remove(key, settle(done));
  return wait_for(done);
}

std::optional<std::uint64_t> AsyncBackendThread::increment(std::string_view key,
                                                           std::uint64_t delta) {
  std::promise<Outcome<std::optional<std::uint64_t>>> done;
  backend_->async_increment(key, delta, settle(done));
  return wait_for(done);
}

bool AsyncBackendThread::create_counter(std::string_view key, std::uint64_t initial,
                                        std::chrono::milliseconds ttl) {
  std::promise<Outcome<bool>> done;
  backend_->async_create_counter(key, initial, ttl, settle(done));
  return wait_for(done);
}

std::vector<ServerStats> AsyncBackendThread::server_stats() {
  std::promise<std::vector<ServerStats>> done;
  backend_->async_server_stats(
      [&done](std::vector<ServerStats> stats) { done.set_value(std::move(stats)); });
  return done.get_future().get();
}

}  // namespace gencache::detail
