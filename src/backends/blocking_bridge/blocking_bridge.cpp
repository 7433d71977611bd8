// The blocking bridge: each AsyncBackend operation becomes one blocking Backend call on
// a thread of the bridge's pool, completed back on the handler's own executor.

#include "gencache/blocking_bridge.hpp"

#include <atomic>
#include <exception>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "backends/at_home.hpp"
#include "backends/complete_with.hpp"
#include "gencache/error.hpp"

namespace gencache {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kMaxThreads = 256;

class BlockingBridge final : public AsyncBackend {
 public:
  BlockingBridge(std::shared_ptr<Backend> backend, BlockingBridgeOptions options)
      : backend_(std::move(backend)),
        options_(options),
        description_(backend_->describe()),
        pool_(options.threads) {}

  // Lets every queued call run and complete: a handler is never dropped uncalled.
  ~BlockingBridge() override { pool_.join(); }

  void async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                        handler<void(std::exception_ptr)> done) override {
    run(std::move(done), [this, keys, &visitor] { backend_->visit_many(keys, visitor); });
  }

  void async_set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr)> done) override {
    run(std::move(done), [this, key, value, ttl] { backend_->set(key, value, ttl); });
  }

  void async_add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr, bool)> done) override {
    run(std::move(done), [this, key, value, ttl] { return backend_->add(key, value, ttl); });
  }

  void async_remove(std::string_view key, handler<void(std::exception_ptr, bool)> done) override {
    run(std::move(done), [this, key] { return backend_->remove(key); });
  }

  void async_increment(
      std::string_view key, std::uint64_t delta,
      handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) override {
    run(std::move(done), [this, key, delta] { return backend_->increment(key, delta); });
  }

  void async_create_counter(std::string_view key, std::uint64_t initial,
                            std::chrono::milliseconds ttl,
                            handler<void(std::exception_ptr, bool)> done) override {
    run(std::move(done),
        [this, key, initial, ttl] { return backend_->create_counter(key, initial, ttl); });
  }

  // Not counted against max_queued: an operator's question, asked rarely.
  void async_server_stats(handler<void(std::vector<ServerStats>)> done) override {
    asio::post(pool_,
               [this, done = detail::at_home(std::move(done), pool_.get_executor())]() mutable {
                 std::move(done)(stats_of(*backend_));
               });
  }

  std::size_t max_value_size() const noexcept override { return backend_->max_value_size(); }
  bool wants_hash_tags() const noexcept override { return backend_->wants_hash_tags(); }

  std::string describe() const override { return description_; }

 private:
  // A Backend's server_stats must not throw; a user's that does has none to show.
  static std::vector<ServerStats> stats_of(Backend& backend) {
    try {
      return backend.server_stats();
    } catch (...) {
    }
    return {};
  }

  // Queues `call` for a pool thread, or fails `done` at once when max_queued calls wait.
  template <class... Result, class Call>
  void run(handler<void(std::exception_ptr, Result...)> done, Call call) {
    // Tracked, so the caller's io_context does not run out of work while a call is away.
    // Moved, not copied, into the wrapper: one owner, released on the thread that completes.
    handler<void(std::exception_ptr, Result...)> at_home =
        detail::at_home(std::move(done), pool_.get_executor());
    if (queued_.fetch_add(1, std::memory_order_relaxed) >= options_.max_queued) {
      queued_.fetch_sub(1, std::memory_order_relaxed);
      std::move(at_home)(std::make_exception_ptr(backend_error(
                             errc::backend_unavailable,
                             fmt::format("{}: {} calls already wait for the blocking bridge's {} "
                                         "threads (max_queued); not queued",
                                         description_, options_.max_queued, options_.threads))),
                         Result{}...);
      return;
    }
    asio::post(pool_, [this, call = std::move(call), at_home = std::move(at_home)]() mutable {
      queued_.fetch_sub(1, std::memory_order_relaxed);
      detail::complete_with(std::move(at_home), *backend_, std::move(call));
    });
  }

  std::shared_ptr<Backend> backend_;
  BlockingBridgeOptions options_;
  std::string description_;
  std::atomic<std::size_t> queued_{0};
  asio::thread_pool pool_;  // last: joined before the members its calls use go away
};

}  // namespace

std::shared_ptr<AsyncBackend> make_blocking_bridge(std::shared_ptr<Backend> backend,
                                                   BlockingBridgeOptions options) {
  if (!backend) throw config_error("make_blocking_bridge: backend must not be null");
  if (options.threads < 1 || options.threads > kMaxThreads)
    throw config_error(
        fmt::format("blocking bridge: threads (async_threads) must be from 1 to {}, not {}",
                    kMaxThreads, options.threads));
  if (options.max_queued < 1)
    throw config_error("blocking bridge: max_queued must be at least 1, not 0");
  return std::make_shared<BlockingBridge>(std::move(backend), options);
}

}  // namespace gencache
