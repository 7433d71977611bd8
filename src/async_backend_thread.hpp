#pragma once
// Internal: a blocking Backend that drives an AsyncBackend on an I/O thread of its own, for
// what only the asynchronous client can serve (Redis over TLS, where hiredis 0.14 has none).

#include <functional>
#include <memory>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "gencache/async_backend.hpp"
#include "gencache/backend.hpp"

namespace gencache::detail {

/// Each call starts the asynchronous one and waits for its handler, rethrowing its
/// failure: the async backend's deadlines bound the wait. Thread-safe as the async
/// backend is; concurrent callers share its pipelined connections.
class AsyncBackendThread final : public Backend {
 public:
  using Factory = std::function<std::shared_ptr<AsyncBackend>(boost::asio::any_io_executor)>;

  /// Starts the I/O thread and builds the async backend on its executor; throws what
  /// `make` throws (config_error for bad options).
  explicit AsyncBackendThread(const Factory& make);
  ~AsyncBackendThread() override;
  AsyncBackendThread(const AsyncBackendThread&) = delete;
  AsyncBackendThread& operator=(const AsyncBackendThread&) = delete;

  void get_many(std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) override;
  void visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) override;
  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  bool remove(std::string_view key) override;
  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) override;
  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override;
  /// The async backend's async_server_stats, waited for.
  std::vector<ServerStats> server_stats() override;
  std::size_t max_value_size() const noexcept override { return backend_->max_value_size(); }
  bool wants_hash_tags() const noexcept override { return backend_->wants_hash_tags(); }
  std::string describe() const override { return backend_->describe(); }

  /// The backend it drives (its handlers run on this object's I/O thread).
  const std::shared_ptr<AsyncBackend>& async_backend() const noexcept { return backend_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<AsyncBackend> backend_;
  std::thread thread_;
};

}  // namespace gencache::detail
