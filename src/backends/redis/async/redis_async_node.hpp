#pragma once
// Internal: one Redis server on pipelined connections, as an AsyncBackend (what
// make_redis_async_backend returns), with what the asynchronous cluster client builds on:
// ASKING before a call, MGET replies handed back whole, CLUSTER SLOTS and INFO.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>

#include "backends/redis/redis_config.hpp"
#include "backends/redis/redis_connection.hpp"
#include "backends/redis/redis_errors.hpp"
#include "gencache/async_backend.hpp"
#include "gencache/tls_options.hpp"
#include "net/pipelined_connection.hpp"

namespace gencache::detail {

/// TLS as every connection of a client uses it: one context for all its servers.
struct RedisNodeTls {
  std::shared_ptr<boost::asio::ssl::context> context;  ///< null: plaintext
  std::string server_name;                             ///< empty: each server's host
  bool verify = true;
};

/// The RedisNodeTls of `options` (config_error for a file that cannot be read).
RedisNodeTls make_redis_node_tls(const TlsOptions& options);

/// `connections` pipelined connections to the server of `config`, taken in turn, and the
/// commands of every AsyncBackend call on them (see make_redis_async_backend). A MOVED or
/// ASK error reply fails the call with redis_redirect_error, which a cluster client
/// follows; to anyone else it is an errc::protocol backend_error.
class RedisAsyncNode final : public AsyncBackend {
 public:
  RedisAsyncNode(boost::asio::any_io_executor executor, RedisConfig config, std::size_t connections,
                 const RedisNodeTls& tls);
  ~RedisAsyncNode() override;
  RedisAsyncNode(const RedisAsyncNode&) = delete;
  RedisAsyncNode& operator=(const RedisAsyncNode&) = delete;

  void async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                        handler<void(std::exception_ptr)> done) override;
  void async_set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr)> done) override {
    set(key, value, ttl, Asking::no, std::move(done));
  }
  void async_add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr, bool)> done) override {
    add(key, value, ttl, Asking::no, std::move(done));
  }
  void async_remove(std::string_view key, handler<void(std::exception_ptr, bool)> done) override {
    remove(key, Asking::no, std::move(done));
  }
  void async_increment(
      std::string_view key, std::uint64_t delta,
      handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) override {
    increment(key, delta, Asking::no, std::move(done));
  }
  void async_create_counter(std::string_view key, std::uint64_t initial,
                            std::chrono::milliseconds ttl,
                            handler<void(std::exception_ptr, bool)> done) override {
    create_counter(key, initial, ttl, Asking::no, std::move(done));
  }
  void async_server_stats(handler<void(std::vector<ServerStats>)> done) override;
  std::size_t max_value_size() const noexcept override { return config_.max_value_size; }
  std::string describe() const override { return *description_; }

  /// MGET of `keys`; completes with its reply once it is known to hold a bulk string or
  /// nil for each key (values are the caller's to visit, when it has every reply it waits
  /// for).
  void mget(std::span<const std::string_view> keys, Asking asking,
            handler<void(std::exception_ptr, Reply)> done);
  // The single-key calls, sent after ASKING when `asking` says so.
  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
           Asking asking, handler<void(std::exception_ptr)> done);
  void add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
           Asking asking, handler<void(std::exception_ptr, bool)> done);
  void remove(std::string_view key, Asking asking, handler<void(std::exception_ptr, bool)> done);
  void increment(std::string_view key, std::uint64_t delta, Asking asking,
                 handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done);
  void create_counter(std::string_view key, std::uint64_t initial, std::chrono::milliseconds ttl,
                      Asking asking, handler<void(std::exception_ptr, bool)> done);
  /// CLUSTER SLOTS; completes with the reply as it came (parse_cluster_slots judges it).
  void cluster_slots(handler<void(std::exception_ptr, Reply)> done);
  /// This server's INFO, as one ServerStats ("host:port"); never fails (`error` says why
  /// it has no values).
  void server_stats(handler<void(ServerStats)> done);

  /// Fails everything pending with errc::backend_unavailable and refuses what follows.
  void close();

  const RedisConfig& config() const noexcept { return config_; }

 private:
  // Sends `command` (after ASKING when `asking` says so), which gets `replies` replies;
  // `finish(context, failure, replies)` reads them.
  template <class Finish>
  void send(std::string_view operation, std::string command, std::size_t replies, Asking asking,
            Finish finish);
  std::size_t append_wait(std::string& command) const;
  std::exception_ptr check_value_size(std::string_view operation, std::string_view value) const;
  void store_if_absent(std::string_view operation, std::string_view key, std::string_view value,
                       std::chrono::milliseconds ttl, bool counter, Asking asking,
                       handler<void(std::exception_ptr, bool)> done);

  const RedisConfig config_;
  std::shared_ptr<const std::string> description_;
  // What the connections start their messages with; shared, as they may outlive us.
  std::shared_ptr<const std::string> connection_description_;
  std::string wait_replicas_;
  std::string wait_timeout_;
  std::vector<std::shared_ptr<net::PipelinedConnection>> connections_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace gencache::detail
