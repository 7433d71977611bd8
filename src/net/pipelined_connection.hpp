#pragma once
// Internal: one pipelined client connection over TCP or TLS, protocol-agnostic, shared by
// the asynchronous Memcached client (and later a Redis one).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "gencache/error.hpp"

namespace gencache::net {

/// How far a request got through the bytes received for it.
struct ReplyProgress {
  std::size_t consumed = 0;  ///< bytes of its reply read (they are dropped)
  bool done = false;         ///< its whole reply has been read
};

/// One request: the bytes it sends and the reader of its reply. Replies come back in the
/// order requests were sent, so the connection hands received bytes to the oldest one.
class PipelinedRequest {
 public:
  virtual ~PipelinedRequest() = default;
  /// Appends the request's bytes to `out`.
  virtual void write(std::string& out) = 0;
  /// Reads as much of its reply as the start of `input` holds. Views into `input` are
  /// valid only during the call. Throws (any std::exception) for bytes that cannot be its
  /// reply; the connection then closes, since nothing after them can be trusted.
  virtual ReplyProgress read_reply(std::string_view input) = 0;
  /// Called exactly once: with null after read_reply said done, or with a
  /// gencache::backend_error. May submit further requests.
  virtual void complete(std::exception_ptr failure) noexcept = 0;
};

/// Settings of a connection; the caller checks the ranges.
struct ConnectionSettings {
  std::string host;
  std::uint16_t port = 0;
  std::string description;  ///< "host:port", for messages
  std::chrono::milliseconds connect_timeout{50};
  std::chrono::milliseconds io_timeout{100};
  /// Longest wait before a server that refused a connection is tried again; the wait
  /// starts at 50 ms (or this, if smaller) and doubles with each failed attempt.
  std::chrono::milliseconds retry_timeout{2000};
  std::shared_ptr<boost::asio::ssl::context> tls;  ///< null: plaintext
  std::string tls_server_name;                     ///< certificate name and SNI
  bool tls_verify = true;
  /// Makes the request sent first on every new connection, before any other (Redis AUTH
  /// and SELECT); empty for none. Its reply is read like any other; if read_reply throws,
  /// the connection closes and its requests fail.
  std::function<std::unique_ptr<PipelinedRequest>()> greeting;
};

/// A connection that many requests share at once. Requests submitted in one turn of the
/// event loop go out in one send, and so do those that the completions of one receive
/// submit (more queue while a send is under way; a plaintext send that the socket takes
/// at once completes without a handler). It connects lazily and again after a failure.
/// Every request has a deadline of io_timeout from its
/// submission (plus connect_timeout when it had to wait for a connection): a reply that
/// is late means the server hung, so every request on the connection fails with
/// errc::timeout and the connection is closed (a late reply can no longer be matched).
/// A lost connection fails its requests with errc::backend_unavailable; after a failed
/// connect, requests fail at once with errc::backend_unavailable until the backoff ends.
/// Thread-safe: all work runs on the connection's strand.
class PipelinedConnection : public std::enable_shared_from_this<PipelinedConnection> {
 public:
  static std::shared_ptr<PipelinedConnection> create(boost::asio::any_io_executor executor,
                                                     ConnectionSettings settings);

  /// Queues `request`; it completes exactly once (see PipelinedRequest::complete),
  /// possibly inside this call.
  void submit(std::unique_ptr<PipelinedRequest> request);

  /// Fails everything pending with errc::backend_unavailable and stops for good.
  void close();

  PipelinedConnection(boost::asio::any_io_executor executor, ConnectionSettings settings);

 private:
  using clock = std::chrono::steady_clock;
  using tcp = boost::asio::ip::tcp;
  enum class State { idle, connecting, connected, backing_off, closed };
  struct Pending {
    std::unique_ptr<PipelinedRequest> request;
    clock::time_point deadline;
  };

  void enqueue(std::unique_ptr<PipelinedRequest> request);
  void start_connect();
  void on_tcp_connected(std::uint64_t epoch);
  void on_connected();
  void connect_failed(errc code, const std::string& why);
  void connection_lost(errc code, const std::string& why);
  void fail_all(errc code, const std::string& why);
  void close_socket();
  void schedule_flush();
  void flush();
  void start_read();
  void process_replies();
  void arm_deadline();
  void on_deadline();
  tcp::socket& lowest_layer();
  template <class Operation>
  void with_stream(Operation&& operation);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  ConnectionSettings settings_;
  tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer deadline_timer_;
  std::optional<tcp::socket> tcp_;
  std::optional<boost::asio::ssl::stream<tcp::socket>> tls_;

  State state_ = State::idle;
  std::uint64_t epoch_ = 0;  // one per socket, so handlers of a closed one do nothing
  std::deque<Pending> pending_;
  std::string write_buffer_;  // requests not yet handed to a send
  std::string sending_;       // the send under way
  bool sending_now_ = false;
  bool flush_posted_ = false;
  bool flush_after_replies_ = false;  // a completion submitted: the read handler sends
  bool deadline_armed_ = false;
  bool reading_ = false;      // a receive is under way
  bool handing_out_ = false;  // process_replies is running (completions may submit)
  std::vector<char> read_buffer_;
  std::size_t read_begin_ = 0;
  std::size_t read_end_ = 0;
  clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
};

}  // namespace gencache::net
