#include "support/blocking_async_backend.hpp"

#include <chrono>
#include <future>
#include <stdexcept>

namespace gencache::test {
namespace {

// A generous bound: every call of a correct backend completes far sooner (its own
// deadlines fire first); this only keeps a broken one from hanging the test run.
constexpr auto kLongestWait = std::chrono::seconds(60);

template <class T>
T wait_for(std::future<T>& future) {
  if (future.wait_for(kLongestWait) != std::future_status::ready)
    throw std::runtime_error("an AsyncBackend call never completed");
  return future.get();
}

template <class T>
auto completer(std::promise<T>& promise) {
  return [&promise](std::exception_ptr failure, T value) {
    if (failure)
      promise.set_exception(failure);
    else
      promise.set_value(std::move(value));
  };
}

auto void_completer(std::promise<void>& promise) {
  return [&promise](std::exception_ptr failure) {
    if (failure)
      promise.set_exception(failure);
    else
      promise.set_value();
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
  std::promise<void> done;
  auto future = done.get_future();
  backend_->async_visit_many(keys, visitor, void_completer(done));
  wait_for(future);
}

void BlockingAsyncBackend::set(std::string_view key, std::string_view value,
                               std::chrono::milliseconds ttl) {
  std::promise<void> done;
  auto future = done.get_future();
  backend_->async_set(key, value, ttl, void_completer(done));
  wait_for(future);
}

bool BlockingAsyncBackend::add(std::string_view key, std::string_view value,
                               std::chrono::milliseconds ttl) {
  std::promise<bool> done;
  auto future = done.get_future();
  backend_->async_add(key, value, ttl, completer(done));
  return wait_for(future);
}

bool BlockingAsyncBackend::remove(std::string_view key) {
  std::promise<bool> done;
  auto future = done.get_future();
  backend_->async_remove(key, completer(done));
  return wait_for(future);
}

std::optional<std::uint64_t> BlockingAsyncBackend::increment(std::string_view key,
                                                             std::uint64_t delta) {
  std::promise<std::optional<std::uint64_t>> done;
  auto future = done.get_future();
  backend_->async_increment(key, delta, completer(done));
  return wait_for(future);
}

bool BlockingAsyncBackend::create_counter(std::string_view key, std::uint64_t initial,
                                          std::chrono::milliseconds ttl) {
  std::promise<bool> done;
  auto future = done.get_future();
  backend_->async_create_counter(key, initial, ttl, completer(done));
  return wait_for(future);
}

std::uint64_t BlockingAsyncBackend::increment_or_create(std::string_view key, std::uint64_t delta,
                                                        std::uint64_t fresh,
                                                        std::chrono::milliseconds ttl) {
  std::promise<std::uint64_t> done;
  auto future = done.get_future();
  backend_->async_increment_or_create(key, delta, fresh, ttl, completer(done));
  return wait_for(future);
}

AsyncBackend::LeaseRead BlockingAsyncBackend::read_with_lease(std::string_view key,
                                                              std::chrono::milliseconds ttl) {
  std::promise<AsyncBackend::LeaseRead> done;
  auto future = done.get_future();
  backend_->async_read_with_lease(key, ttl, completer(done));
  return wait_for(future);
}

}  // namespace gencache::test
