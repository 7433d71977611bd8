#pragma once
// A Backend that drives an AsyncBackend and waits: lets the Backend contract, the Cache
// suites and the stale-read oracle run over an asynchronous client before AsyncCache
// exists to drive it.

#include <functional>
#include <memory>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "gencache/async_backend.hpp"
#include "gencache/backend.hpp"

namespace gencache::test {

/// Each call starts the asynchronous one and blocks until its handler runs (on the
/// adapter's own event-loop thread), rethrowing its failure. Thread-safe as the
/// backend is.
class BlockingAsyncBackend final : public Backend {
 public:
  using Factory = std::function<std::shared_ptr<AsyncBackend>(boost::asio::any_io_executor)>;

  explicit BlockingAsyncBackend(const Factory& make);
  ~BlockingAsyncBackend() override;

  AsyncBackend& async() { return *backend_; }

  void get_many(std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) override;
  void visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) override;
  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool remove(std::string_view key) override;
  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) override;
  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override;
  std::size_t max_value_size() const noexcept override { return backend_->max_value_size(); }
  std::string describe() const override { return backend_->describe(); }

  /// The extra capabilities, blocking.
  std::uint64_t increment_or_create(std::string_view key, std::uint64_t delta, std::uint64_t fresh,
                                    std::chrono::milliseconds ttl);
  AsyncBackend::LeaseRead read_with_lease(std::string_view key, std::chrono::milliseconds ttl);

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<AsyncBackend> backend_;
  std::thread thread_;
};

}  // namespace gencache::test
