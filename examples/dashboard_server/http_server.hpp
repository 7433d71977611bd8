#pragma once
// A small HTTP/1.1 server on Boost.Beast: keep-alive connections, each on its own strand,
// handled by a DashboardApp on the io_context's threads, and a graceful stop.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "dashboard_app.hpp"

namespace dashboard {

class Session;

class HttpServer {
 public:
  /// Binds and listens on `endpoint` (port 0: a free port). Throws boost::system::system_error.
  HttpServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
             DashboardApp& app);

  /// The port actually bound.
  std::uint16_t port() const { return port_; }

  /// Starts accepting connections.
  void start();

  /// Stops accepting, closes idle connections and lets each busy one finish its current
  /// response. Once the last connection is gone the io_context runs out of work.
  void stop();

  std::uint64_t requests_served() const noexcept;

 private:
  friend class Session;
  void accept();
  void forget(std::uint64_t id);
  void count_request() noexcept;

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  DashboardApp& app_;
  std::uint16_t port_ = 0;

  std::mutex mutex_;
  bool stopping_ = false;
  std::uint64_t next_session_ = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions_;
  std::atomic<std::uint64_t> requests_{0};
};

}  // namespace dashboard
