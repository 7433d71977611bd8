#include "coroutine_server.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace dashboard {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// What stop() needs of a live connection; touched only on the connection's strand.
struct CoroutineServer::Connection {
  Connection(tcp::socket socket, std::uint64_t number) : stream(std::move(socket)), id(number) {}
  beast::tcp_stream stream;
  std::uint64_t id;
  bool reading = false;
  bool stopping = false;
};

CoroutineServer::CoroutineServer(asio::io_context& io, const tcp::endpoint& endpoint,
                                 AsyncDashboardApp& app)
    : io_(io), acceptor_(asio::make_strand(io)), app_(app) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

CoroutineServer::~CoroutineServer() = default;

void CoroutineServer::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
}

asio::awaitable<void> CoroutineServer::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(io_),
                                                        asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // the acceptor was closed by stop()
    std::shared_ptr<Connection> connection;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) co_return;
      connection = std::make_shared<Connection>(std::move(socket), next_connection_++);
      connections_.emplace(connection->id, connection);
    }
    auto executor = connection->stream.get_executor();
    asio::co_spawn(executor, serve(std::move(connection)), asio::detached);
  }
}

asio::awaitable<void> CoroutineServer::serve(std::shared_ptr<Connection> connection) {
  beast::tcp_stream& stream = connection->stream;
  beast::flat_buffer buffer;
  for (;;) {
    if (connection->stopping) break;
    http::request<http::string_body> request;
    connection->reading = true;
    stream.expires_after(std::chrono::seconds(30));  // an idle client is dropped
    auto [read_error, read_bytes] =
        co_await http::async_read(stream, buffer, request, asio::as_tuple(asio::use_awaitable));
    connection->reading = false;
    if (read_error) break;  // end of stream, timeout, cancelled by stop(), or bad input
    stream.expires_never();

    const std::string_view target(request.target().data(), request.target().size());
    const std::string_view method(request.method_string().data(), request.method_string().size());
    const auto started = std::chrono::steady_clock::now();
    const auto if_none_match = request[http::field::if_none_match];
    HttpResult result = co_await app_.handle(method, target, request.body(),
                                             {if_none_match.data(), if_none_match.size()});
    app_.state().observe(DashboardState::route_of(target),
                         std::chrono::steady_clock::now() - started);
    requests_.fetch_add(1, std::memory_order_relaxed);

    http::response<http::string_body> response;
    response.version(request.version());
    response.result(result.status);
    response.set(http::field::server, "gencache-dashboard");
    response.set(http::field::content_type, result.content_type);
    for (const auto& [name, value] : result.headers) response.set(name, value);
    response.body() = std::move(result.body);
    response.keep_alive(request.keep_alive() && !connection->stopping);
    response.prepare_payload();
    auto [write_error, written] =
        co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
    if (write_error || !response.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
  std::lock_guard lock(mutex_);
  connections_.erase(connection->id);
}

void CoroutineServer::stop() {
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
  });
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, weak] : connections_) {
      if (auto connection = weak.lock()) live.push_back(std::move(connection));
    }
    connections_.clear();
  }
  for (auto& connection : live) {
    asio::post(connection->stream.get_executor(), [connection] {
      connection->stopping = true;
      if (connection->reading) connection->stream.cancel();
    });
  }
}

std::uint64_t CoroutineServer::requests_served() const noexcept {
  return requests_.load(std::memory_order_relaxed);
}

}  // namespace dashboard
