// The asynchronous Memcached backend: meta commands over pipelined connections.

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include "backends/memcached/expiration.hpp"
#include "backends/memcached/memcached_config.hpp"
#include "backends/memcached/meta/meta_commands.hpp"
#include "backends/memcached/meta/meta_request.hpp"
#include "backends/memcached/meta/server_selection.hpp"
#include "backends/memcached/server_address.hpp"
#include "gencache/error.hpp"
#include "gencache/memcached_async_backend.hpp"
#include "net/pipelined_connection.hpp"
#include "net/tls_context.hpp"

namespace gencache {
namespace {

using detail::ServerAddress;
namespace meta = detail::meta;

constexpr std::size_t kMostConnections = 64;

// The connections to one server; requests take them in turn.
struct Server {
  std::vector<std::shared_ptr<net::PipelinedConnection>> connections;
  std::atomic<std::size_t> next{0};

  net::PipelinedConnection& pick() {
    return *connections[next.fetch_add(1, std::memory_order_relaxed) % connections.size()];
  }
};

std::time_t expiration(std::chrono::milliseconds ttl) {
  return detail::memcached_expiration(ttl, std::chrono::system_clock::now());
}

class MemcachedAsyncBackend final : public AsyncBackend {
 public:
  MemcachedAsyncBackend(boost::asio::any_io_executor executor, MemcachedAsyncOptions options,
                        std::vector<ServerAddress> servers, std::string description)
      : description_(std::make_shared<const std::string>(std::move(description))),
        max_value_size_(options.max_item_bytes - detail::kMemcachedItemOverhead),
        selection_(servers, options.ketama.value_or(servers.size() > 1)),
        servers_(servers.size()),
        client_executor_(executor) {
    std::shared_ptr<boost::asio::ssl::context> tls;
    if (options.tls.enabled) tls = net::make_tls_context(options.tls, "memcached");
    for (std::size_t i = 0; i < servers.size(); ++i) {
      net::ConnectionSettings settings;
      settings.host = servers[i].host;
      settings.port = servers[i].port;
      settings.description = servers[i].to_string();
      settings.connect_timeout = options.connect_timeout;
      settings.io_timeout = options.io_timeout;
      settings.retry_timeout = options.retry_timeout;
      settings.tls = tls;
      settings.tls_server_name =
          options.tls.server_name.empty() ? servers[i].host : options.tls.server_name;
      settings.tls_verify = options.tls.verify;
      for (std::size_t c = 0; c < options.connections; ++c)
        servers_[i].connections.push_back(net::PipelinedConnection::create(executor, settings));
    }
  }

  ~MemcachedAsyncBackend() override {
    for (Server& server : servers_)
      for (auto& connection : server.connections) connection->close();
  }

  void async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                        handler<void(std::exception_ptr)> caller_done) override {
    detail::AtHome done(std::move(caller_done), client_executor_);
    const meta::ErrorContext context{description_, "visit_many"};
    if (keys.empty()) return std::move(done)(nullptr);
    for (std::string_view key : keys)
      if (!meta::is_sendable_key(key)) return std::move(done)(bad_key(context, key));
    if (servers_.size() == 1)
      return servers_[0].pick().submit(
          std::make_unique<meta::ServerRead>(keys, visitor, context, std::move(done)));
    std::vector<std::size_t> server_of(keys.size());
    std::vector<bool> used(servers_.size());
    std::size_t used_count = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      server_of[i] = selection_.server_for(keys[i]);
      if (used[server_of[i]]) continue;
      used[server_of[i]] = true;
      ++used_count;
    }
    if (used_count == 1)
      return servers_[server_of[0]].pick().submit(
          std::make_unique<meta::ServerRead>(keys, visitor, context, std::move(done)));
    // One batch per server that holds any of the keys.
    auto read = std::make_shared<meta::BatchRead>(visitor, used_count, context, std::move(done));
    std::vector<std::unique_ptr<meta::ServerBatch>> batches(servers_.size());
    for (std::size_t s = 0; s < servers_.size(); ++s)
      if (used[s]) batches[s] = std::make_unique<meta::ServerBatch>(read, keys);
    for (std::size_t i = 0; i < keys.size(); ++i) batches[server_of[i]]->add(i);
    for (std::size_t s = 0; s < servers_.size(); ++s)
      if (batches[s]) servers_[s].pick().submit(std::move(batches[s]));
  }

  void async_set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr)> caller_done) override {
    detail::AtHome done(std::move(caller_done), client_executor_);
    const meta::ErrorContext context{description_, "set"};
    if (auto refused = check_store(context, key, value)) return std::move(done)(refused);
    submit<meta::Stored>(
        key,
        [key, value, expires = expiration(ttl)](std::string& out) {
          meta::append_store(out, key, value, expires, meta::StoreMode::set);
        },
        meta::interpret_set, context,
        [done = std::move(done)](std::exception_ptr failure, meta::Stored) mutable {
          std::move(done)(std::move(failure));
        });
  }

  void async_add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr, bool)> caller_done) override {
    detail::AtHome done(std::move(caller_done), client_executor_);
    const meta::ErrorContext context{description_, "add"};
    if (auto refused = check_store(context, key, value)) return std::move(done)(refused, false);
    submit<bool>(
        key,
        [key, value, expires = expiration(ttl)](std::string& out) {
          meta::append_store(out, key, value, expires, meta::StoreMode::add);
        },
        meta::interpret_add, context, std::move(done));
  }

  void async_remove(std::string_view key,
                    handler<void(std::exception_ptr, bool)> caller_done) override {
    detail::AtHome done(std::move(caller_done), client_executor_);
    const meta::ErrorContext context{description_, "remove"};
    if (!meta::is_sendable_key(key)) return std::move(done)(bad_key(context, key), false);
    submit<bool>(
        key, [key](std::string& out) { meta::append_delete(out, key); }, meta::interpret_delete,
        context, std::move(done));
  }

  void async_increment(
      std::string_view key, std::uint64_t delta,
      handler<void(std::exception_ptr, std::optional<std::uint64_t>)> caller_done) override {
    detail::AtHome done(std::move(caller_done), client_executor_);
    const meta::ErrorContext context{description_, "increment"};
    if (!meta::is_sendable_key(key)) return std::move(done)(bad_key(context, key), std::nullopt);
    submit<std::optional<std::uint64_t>>(
        key, [key, delta](std::string& out) { meta::append_increment(out, key, delta); },
        meta::interpret_increment, context, std::move(done));
  }

  // Every `ma` is queued in this one call, so each server's share goes out in one send and
  // the servers answer in parallel: one round trip of wall time for all the counters.
  void async_increment_many(
      std::span<const std::string_view> keys, std::uint64_t delta,
      handler<void(std::exception_ptr, std::vector<CounterIncrement>)> caller_done) override {
    detail::AtHome done(std::move(caller_done), client_executor_);
    if (keys.empty()) return std::move(done)(nullptr, std::vector<CounterIncrement>());
    struct Gathered {
      // `done` is move-constructed here, never move-assigned: assigning one
      // any_completion_handler to another recurses without end in Boost 1.81.
      Gathered(std::size_t count,
               detail::AtHome<std::exception_ptr, std::vector<CounterIncrement>> handler)
          : results(count), remaining(count), done(std::move(handler)) {}
      std::vector<CounterIncrement> results;
      std::atomic<std::size_t> remaining;
      detail::AtHome<std::exception_ptr, std::vector<CounterIncrement>> done;
      void finish_one() {
        if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1)
          std::move(done)(nullptr, std::move(results));
      }
    };
    auto gathered = std::make_shared<Gathered>(keys.size(), std::move(done));
    const meta::ErrorContext context{description_, "increment"};
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!meta::is_sendable_key(keys[i])) {
        gathered->results[i].failure = bad_key(context, keys[i]);
        gathered->finish_one();
        continue;
      }
      submit<std::optional<std::uint64_t>>(
          keys[i],
          [key = keys[i], delta](std::string& out) { meta::append_increment(out, key, delta); },
          meta::interpret_increment, context,
          [gathered, i](std::exception_ptr failure, std::optional<std::uint64_t> value) {
            gathered->results[i] = {value, failure};
            gathered->finish_one();
          });
    }
  }

  bool batches_async_increments() const noexcept override { return true; }

  void async_create_counter(std::string_view key, std::uint64_t initial,
                            std::chrono::milliseconds ttl,
                            handler<void(std::exception_ptr, bool)> caller_done) override {
    detail::AtHome done(std::move(caller_done), client_executor_);
    const meta::ErrorContext context{description_, "create_counter"};
    if (!meta::is_sendable_key(key)) return std::move(done)(bad_key(context, key), false);
    submit<bool>(
        key,
        [key, initial, expires = expiration(ttl)](std::string& out) {
          meta::append_store(out, key, std::to_string(initial), expires, meta::StoreMode::add);
        },
        meta::interpret_add, context, std::move(done));
  }

  void async_increment_or_create(
      std::string_view key, std::uint64_t delta, std::uint64_t fresh, std::chrono::milliseconds ttl,
      handler<void(std::exception_ptr, std::uint64_t)> caller_done) override {
    detail::AtHome done(std::move(caller_done), client_executor_);
    const meta::ErrorContext context{description_, "increment_or_create"};
    if (!meta::is_sendable_key(key)) return std::move(done)(bad_key(context, key), 0);
    submit<std::uint64_t>(
        key,
        [key, delta, fresh, expires = expiration(ttl)](std::string& out) {
          meta::append_increment_or_create(out, key, delta, fresh, expires);
        },
        meta::interpret_increment_or_create, context, std::move(done));
  }

  void async_read_with_lease(std::string_view key, std::chrono::milliseconds lease_ttl,
                             handler<void(std::exception_ptr, LeaseRead)> caller_done) override {
    detail::AtHome done(std::move(caller_done), client_executor_);
    const meta::ErrorContext context{description_, "read_with_lease"};
    if (!meta::is_sendable_key(key)) return std::move(done)(bad_key(context, key), LeaseRead{});
    // A lease always expires: a zero TTL would make the placeholder item permanent.
    submit<LeaseRead>(
        key,
        [key, expires = expiration(std::max(lease_ttl, std::chrono::milliseconds(1)))](
            std::string& out) { meta::append_lease_get(out, key, expires); },
        meta::interpret_lease_read, context, std::move(done));
  }

  std::size_t max_value_size() const noexcept override { return max_value_size_; }

  std::string describe() const override { return *description_; }

 private:
  template <class Result, class Write, class Done>
  void submit(std::string_view key, Write write, meta::Interpret<Result> interpret,
              const meta::ErrorContext& context, Done done) {
    servers_[selection_.server_for(key)].pick().submit(
        std::make_unique<meta::SingleCommand<Result, Write, Done>>(std::move(write), interpret,
                                                                   context, std::move(done)));
  }

  static std::exception_ptr bad_key(const meta::ErrorContext& context, std::string_view key) {
    return context.failure(errc::protocol,
                           fmt::format("the key '{}' is not 1 to 250 printable ASCII bytes "
                                       "without spaces",
                                       key.substr(0, 60)));
  }

  std::exception_ptr check_store(const meta::ErrorContext& context, std::string_view key,
                                 std::string_view value) const {
    if (!meta::is_sendable_key(key)) return bad_key(context, key);
    // The item overhead left room for the entry header too (see kMemcachedItemOverhead).
    if (value.size() > max_value_size_ + kEntryHeaderAllowance)
      return context.failure(
          errc::value_too_large,
          fmt::format("a value of {} bytes is over the limit of {} bytes "
                      "(max_item_bytes minus {} for the key and item header)",
                      value.size(), max_value_size_, detail::kMemcachedItemOverhead));
    return nullptr;
  }

  std::shared_ptr<const std::string> description_;
  std::size_t max_value_size_;
  meta::ServerSelection selection_;
  std::vector<Server> servers_;
  detail::ClientExecutor client_executor_;  // every connection's strand runs on it
};

}  // namespace

std::shared_ptr<AsyncBackend> make_memcached_async_backend(boost::asio::any_io_executor executor,
                                                           MemcachedAsyncOptions options) {
  if (options.servers.empty())
    throw config_error(
        "memcached option servers: no server given; expected at least one, such as "
        "127.0.0.1:11211");
  std::vector<ServerAddress> servers;
  std::vector<std::string> names;
  for (const std::string& text : options.servers) {
    ServerAddress server = detail::parse_server_address(text);
    std::string name = server.to_string();
    if (std::find(names.begin(), names.end(), name) != names.end())
      throw config_error(fmt::format("memcached option servers: {} is listed twice", name));
    names.push_back(std::move(name));
    servers.push_back(std::move(server));
  }
  using std::chrono::milliseconds;
  detail::check_memcached_range("connect_timeout", options.connect_timeout, milliseconds(1),
                                milliseconds(detail::kMemcachedLongestTimeout));
  detail::check_memcached_range("io_timeout", options.io_timeout, milliseconds(1),
                                milliseconds(detail::kMemcachedLongestTimeout));
  detail::check_memcached_range("retry_timeout", options.retry_timeout, milliseconds(0),
                                milliseconds(detail::kMemcachedLongestRetryTimeout));
  detail::check_memcached_range("max_item_bytes", options.max_item_bytes,
                                detail::kMemcachedSmallestItem, detail::kMemcachedLargestItem);
  detail::check_memcached_range("connections", options.connections, std::size_t{1},
                                kMostConnections);
  std::string description =
      fmt::format("memcached://{}{}", fmt::join(names, ","), options.tls.enabled ? " (TLS)" : "");
  return std::make_shared<MemcachedAsyncBackend>(std::move(executor), std::move(options),
                                                 std::move(servers), std::move(description));
}

}  // namespace gencache
