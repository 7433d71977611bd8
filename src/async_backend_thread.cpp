#include "async_backend_thread.hpp"

#include <future>

namespace gencache::detail {
namespace {

template <class T>
auto settle(std::promise<T>& promise) {
  return [&promise](std::exception_ptr failure, T value) {
    if (failure)
      promise.set_exception(std::move(failure));
    else
      promise.set_value(std::move(value));
  };
}

auto settle_void(std::promise<void>& promise) {
  return [&promise](std::exception_ptr failure) {
    if (failure)
      promise.set_exception(std::move(failure));
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
  std::promise<void> done;
  auto result = done.get_future();
  backend_->async_visit_many(keys, visitor, settle_void(done));
  result.get();
}

void AsyncBackendThread::set(std::string_view key, std::string_view value,
                             std::chrono::milliseconds ttl) {
  std::promise<void> done;
  auto result = done.get_future();
  backend_->async_set(key, value, ttl, settle_void(done));
  result.get();
}

bool AsyncBackendThread::add(std::string_view key, std::string_view value,
                             std::chrono::milliseconds ttl) {
  std::promise<bool> done;
  auto result = done.get_future();
  backend_->async_add(key, value, ttl, settle(done));
  return result.get();
}

bool AsyncBackendThread::remove(std::string_view key) {
  std::promise<bool> done;
  auto result = done.get_future();
  backend_->async_remove(key, settle(done));
  return result.get();
}

std::optional<std::uint64_t> AsyncBackendThread::increment(std::string_view key,
                                                           std::uint64_t delta) {
  std::promise<std::optional<std::uint64_t>> done;
  auto result = done.get_future();
  backend_->async_increment(key, delta, settle(done));
  return result.get();
}

bool AsyncBackendThread::create_counter(std::string_view key, std::uint64_t initial,
                                        std::chrono::milliseconds ttl) {
  std::promise<bool> done;
  auto result = done.get_future();
  backend_->async_create_counter(key, initial, ttl, settle(done));
  return result.get();
}

}  // namespace gencache::detail
