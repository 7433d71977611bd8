#pragma once
// The HTTP/1.1 server on coroutines: one awaitable per keep-alive connection, each on its
// own strand, answered by an AsyncDashboardApp. While a request awaits the cache or its
// render, the thread serves the other connections.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "async_dashboard_app.hpp"

namespace dashboard {

class CoroutineServer {
 public:
  /// Binds and listens on `endpoint` (port 0: a free port). Throws boost::system::system_error.
  CoroutineServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
                  AsyncDashboardApp& app);
  ~CoroutineServer();

  /// The port actually bound.
  std::uint16_t port() const { return port_; }

  /// Starts accepting connections.
  void start();

  /// Stops accepting, closes idle connections and lets each busy one finish its current
  /// response. Once the last connection is gone the io_context runs out of work.
  void stop();

  std::uint64_t requests_served() const noexcept;

 private:
  struct Connection;

  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(std::shared_ptr<Connection> connection);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  AsyncDashboardApp& app_;
  std::uint16_t port_ = 0;

  std::mutex mutex_;
  bool stopping_ = false;
  std::uint64_t next_connection_ = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> connections_;
  std::atomic<std::uint64_t> requests_{0};
};

}  // namespace dashboard
