#pragma once
// A blocking HTTP/1.1 client on one keep-alive connection (Boost.Beast), for the load
// client and the server check. Reconnects when the server closed the connection.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace dashboard {

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::string etag;           ///< the ETag header, or empty
  std::string surrogate_key;  ///< the Surrogate-Key header, or empty
};

class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port);

  /// Sends one request and waits for the reply. Throws boost::system::system_error when
  /// the server cannot be reached or the connection breaks twice in a row.
  HttpReply get(std::string_view target) { return request("GET", target, ""); }
  /// A conditional GET: sends `If-None-Match: if_none_match`.
  HttpReply get(std::string_view target, std::string_view if_none_match) {
    return request("GET", target, "", if_none_match);
  }
  HttpReply post(std::string_view target, std::string_view json) {
    return request("POST", target, json);
  }

 private:
  HttpReply request(std::string_view method, std::string_view target, std::string_view body,
                    std::string_view if_none_match = {});
  HttpReply exchange(std::string_view method, std::string_view target, std::string_view body,
                     std::string_view if_none_match);
  void connect();

  std::string host_;
  std::uint16_t port_;
  boost::asio::io_context io_;
  std::optional<boost::beast::tcp_stream> stream_;
};

/// The value of the Prometheus sample `name` (a line `name value`) in `metrics`, or
/// std::nullopt when absent.
std::optional<double> metric_value(std::string_view metrics, std::string_view name);

}  // namespace dashboard
