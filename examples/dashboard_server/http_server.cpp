#include "http_server.hpp"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>

namespace dashboard {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// One connection: read a request, answer it, repeat while the client keeps it alive.
// Every handler runs on the connection's strand, so the session needs no locks.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer& server, std::uint64_t id)
      : stream_(std::move(socket)), server_(server), id_(id) {}

  void start() {
    boost::asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  /// Closes the connection if it is waiting for a request; a busy one closes after its
  /// response (the server is stopping, so it answers with `Connection: close`).
  void stop() {
    boost::asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->stopping_ = true;
      if (self->reading_) self->stream_.cancel();
    });
  }

  ~Session() { server_.forget(id_); }

 private:
  void read() {
    if (stopping_) return close();
    request_ = {};
    reading_ = true;
    stream_.expires_after(std::chrono::seconds(30));  // an idle client is dropped
    http::async_read(stream_, buffer_, request_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (ec) return close();  // end of stream, timeout, cancelled by stop(), or bad input

    const std::string_view target(request_.target().data(), request_.target().size());
    const auto started = std::chrono::steady_clock::now();
    const std::string_view method(request_.method_string().data(), request_.method_string().size());
    const auto if_none_match = request_[http::field::if_none_match];
    HttpResult result = server_.app_.handle(method, target, request_.body(),
                                            {if_none_match.data(), if_none_match.size()});
    server_.app_.state().observe(DashboardState::route_of(target),
                                 std::chrono::steady_clock::now() - started);
    server_.count_request();

    response_ = {};
    response_.version(request_.version());
    response_.result(result.status);
    response_.set(http::field::server, "gencache-dashboard");
    response_.set(http::field::content_type, result.content_type);
    for (const auto& [name, value] : result.headers) response_.set(name, value);
    response_.body() = std::move(result.body);
    response_.keep_alive(request_.keep_alive() && !stopping_);
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec || !response_.keep_alive()) return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  HttpServer& server_;
  std::uint64_t id_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  bool reading_ = false;
  bool stopping_ = false;
};

HttpServer::HttpServer(boost::asio::io_context& io, const tcp::endpoint& endpoint,
                       DashboardApp& app)
    : io_(io), acceptor_(boost::asio::make_strand(io)), app_(app) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(boost::asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

void HttpServer::start() {
  boost::asio::dispatch(acceptor_.get_executor(), [this] { accept(); });
}

void HttpServer::accept() {
  acceptor_.async_accept(boost::asio::make_strand(io_),
                         [this](beast::error_code ec, tcp::socket socket) {
                           if (ec) return;  // the acceptor was closed by stop()
                           std::shared_ptr<Session> session;
                           {
                             std::lock_guard lock(mutex_);
                             if (stopping_) return;
                             const std::uint64_t id = next_session_++;
                             session = std::make_shared<Session>(std::move(socket), *this, id);
                             sessions_.emplace(id, session);
                           }
                           session->start();
                           accept();
                         });
}

void HttpServer::stop() {
  boost::asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
  });
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, weak] : sessions_) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  for (auto& session : live) session->stop();
}

void HttpServer::forget(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
}

void HttpServer::count_request() noexcept {
  requests_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t HttpServer::requests_served() const noexcept {
  return requests_.load(std::memory_order_relaxed);
}

}  // namespace dashboard
