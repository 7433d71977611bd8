#include "http_client.hpp"

#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace dashboard {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

HttpClient::HttpClient(std::string host, std::uint16_t port)
    : host_(std::move(host)), port_(port) {}

void HttpClient::connect() {
  tcp::resolver resolver(io_);
  stream_.emplace(io_);
  stream_->expires_after(std::chrono::seconds(10));
  stream_->connect(resolver.resolve(host_, std::to_string(port_)));
  stream_->socket().set_option(tcp::no_delay(true));
}

HttpReply HttpClient::exchange(std::string_view method, std::string_view target,
                               std::string_view body, std::string_view if_none_match) {
  http::request<http::string_body> request(http::string_to_verb({method.data(), method.size()}),
                                           {target.data(), target.size()}, 11);
  request.set(http::field::host, host_);
  if (!if_none_match.empty())
    request.set(http::field::if_none_match, {if_none_match.data(), if_none_match.size()});
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = std::string(body);
  }
  request.prepare_payload();
  stream_->expires_after(std::chrono::seconds(10));
  http::write(*stream_, request);

  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(*stream_, buffer, response);
  if (!response.keep_alive()) stream_.reset();
  return {response.result_int(), std::move(response.body()),
          std::string(response[http::field::etag]), std::string(response["Surrogate-Key"])};
}

HttpReply HttpClient::request(std::string_view method, std::string_view target,
                              std::string_view body, std::string_view if_none_match) {
  const bool reused = stream_.has_value();
  if (!reused) connect();
  try {
    return exchange(method, target, body, if_none_match);
  } catch (const boost::system::system_error&) {
    stream_.reset();
    if (!reused) throw;
  }
  // The server closed the idle connection between requests: once more on a new one.
  connect();
  return exchange(method, target, body, if_none_match);
}

std::optional<double> metric_value(std::string_view metrics, std::string_view name) {
  std::size_t at = 0;
  while (at < metrics.size()) {
    std::size_t end = metrics.find('\n', at);
    if (end == std::string_view::npos) end = metrics.size();
    const std::string_view line = metrics.substr(at, end - at);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ' ')
      return std::strtod(std::string(line.substr(name.size() + 1)).c_str(), nullptr);
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace dashboard
