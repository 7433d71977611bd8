#include "net/pipelined_connection.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <utility>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>

namespace gencache::net {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kInitialReadBuffer = 16 * 1024;
// A buffer grown for a large value is given back once it is empty again.
constexpr std::size_t kLargestIdleReadBuffer = 1024 * 1024;
constexpr std::chrono::milliseconds kFirstBackoff{50};

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

std::shared_ptr<PipelinedConnection> PipelinedConnection::create(asio::any_io_executor executor,
                                                                 ConnectionSettings settings) {
  return std::make_shared<PipelinedConnection>(std::move(executor), std::move(settings));
}

PipelinedConnection::PipelinedConnection(asio::any_io_executor executor,
                                         ConnectionSettings settings)
    : strand_(asio::make_strand(std::move(executor))),
      settings_(std::move(settings)),
      resolver_(strand_),
      connect_timer_(strand_),
      deadline_timer_(strand_) {}

void PipelinedConnection::submit(std::unique_ptr<PipelinedRequest> request) {
  // What dispatch does on the strand, without what it costs there (a completion submitting
  // its caller's next request): dispatch on a strand of any_io_executor allocates a new
  // executor for each call.
  if (strand_.running_in_this_thread()) return enqueue(std::move(request));
  asio::dispatch(strand_, [self = shared_from_this(), request = std::move(request)]() mutable {
    self->enqueue(std::move(request));
  });
}

void PipelinedConnection::close() {
  asio::dispatch(strand_, [self = shared_from_this()] {
    if (self->state_ == State::closed) return;
    self->state_ = State::closed;
    self->close_socket();
    self->connect_timer_.cancel();
    self->deadline_timer_.cancel();
    self->fail_all(errc::backend_unavailable, "the client was shut down");
  });
}

void PipelinedConnection::enqueue(std::unique_ptr<PipelinedRequest> request) {
  const auto now = clock::now();
  if (state_ == State::closed) {
    request->complete(std::make_exception_ptr(
        backend_error(errc::backend_unavailable,
                      fmt::format("{}: the client was shut down", settings_.description))));
    return;
  }
  if (state_ == State::backing_off) {
    if (now < retry_at_) {
      request->complete(std::make_exception_ptr(backend_error(
          errc::backend_unavailable,
          fmt::format("{}: not tried for {} after a failed connection attempt",
                      settings_.description,
                      std::chrono::ceil<std::chrono::milliseconds>(retry_at_ - now)))));
      return;
    }
    state_ = State::idle;
  }
  auto deadline = now + settings_.io_timeout;
  if (state_ != State::connected) deadline += settings_.connect_timeout;
  request->write(write_buffer_);
  pending_.push_back({std::move(request), deadline});
  arm_deadline();
  if (state_ == State::idle) {
    start_connect();
  } else if (state_ == State::connected) {
    start_read();
    schedule_flush();
  }
}

asio::ip::tcp::socket& PipelinedConnection::lowest_layer() {
  return tls_ ? tls_->next_layer() : *tcp_;
}

template <class Operation>
void PipelinedConnection::with_stream(Operation&& operation) {
  if (tls_)
    operation(*tls_);
  else
    operation(*tcp_);
}

void PipelinedConnection::start_connect() {
  state_ = State::connecting;
  const std::uint64_t epoch = ++epoch_;
  connect_timer_.expires_after(settings_.connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), epoch](boost::system::error_code ec) {
    if (ec || epoch != self->epoch_ || self->state_ != State::connecting) return;
    self->connect_failed(errc::timeout, fmt::format("could not connect within {} (connect_timeout)",
                                                    self->settings_.connect_timeout));
  });
  resolver_.async_resolve(
      settings_.host, std::to_string(settings_.port),
      [self = shared_from_this(), epoch](boost::system::error_code ec,
                                         tcp::resolver::results_type endpoints) {
        if (epoch != self->epoch_ || self->state_ != State::connecting) return;
        if (ec)
          return self->connect_failed(errc::backend_unavailable,
                                      fmt::format("cannot resolve the host: {}", ec.message()));
        if (self->settings_.tls) {
          self->tls_.emplace(self->strand_, *self->settings_.tls);
          self->tcp_.reset();
        } else {
          self->tcp_.emplace(self->strand_);
          self->tls_.reset();
        }
        asio::async_connect(
            self->lowest_layer(), endpoints,
            [self, epoch](boost::system::error_code connect_ec, const tcp::endpoint&) {
              if (epoch != self->epoch_ || self->state_ != State::connecting) return;
              if (connect_ec)
                return self->connect_failed(
                    errc::backend_unavailable,
                    fmt::format("cannot connect: {}", connect_ec.message()));
              self->on_tcp_connected(epoch);
            });
      });
}

void PipelinedConnection::on_tcp_connected(std::uint64_t epoch) {
  boost::system::error_code ignored;
  lowest_layer().set_option(tcp::no_delay(true), ignored);
  if (!tls_) {
    // So that flush() can try a send that returns at once (would_block) rather than wait.
    tcp_->non_blocking(true, ignored);
    return on_connected();
  }
  const std::string& name =
      settings_.tls_server_name.empty() ? settings_.host : settings_.tls_server_name;
  if (!is_ip_address(name)) SSL_set_tlsext_host_name(tls_->native_handle(), name.c_str());
  if (settings_.tls_verify) {
    tls_->set_verify_mode(asio::ssl::verify_peer);
    tls_->set_verify_callback(asio::ssl::host_name_verification(name));
  } else {
    tls_->set_verify_mode(asio::ssl::verify_none);
  }
  tls_->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this(),
                                                         epoch](boost::system::error_code ec) {
    if (epoch != self->epoch_ || self->state_ != State::connecting) return;
    if (ec)
      return self->connect_failed(errc::backend_unavailable,
                                  fmt::format("TLS handshake failed: {}", ec.message()));
    self->on_connected();
  });
}

void PipelinedConnection::on_connected() {
  connect_timer_.cancel();
  state_ = State::connected;
  backoff_ = std::chrono::milliseconds(0);
  if (read_buffer_.size() != kInitialReadBuffer) read_buffer_.assign(kInitialReadBuffer, '\0');
  read_begin_ = read_end_ = 0;
  if (settings_.greeting) {
    // Ahead of everything queued while connecting; deadlines must not decrease along the queue.
    std::unique_ptr<PipelinedRequest> greeting = settings_.greeting();
    std::string bytes;
    greeting->write(bytes);
    write_buffer_.insert(0, bytes);
    auto deadline = clock::now() + settings_.io_timeout;
    if (!pending_.empty()) deadline = std::min(deadline, pending_.front().deadline);
    pending_.push_front({std::move(greeting), deadline});
    arm_deadline();
  }
  start_read();
  schedule_flush();
}

void PipelinedConnection::connect_failed(errc code, const std::string& why) {
  close_socket();
  ++epoch_;
  if (settings_.retry_timeout.count() > 0) {
    backoff_ = backoff_.count() == 0 ? std::min(kFirstBackoff, settings_.retry_timeout)
                                     : std::min(backoff_ * 2, settings_.retry_timeout);
    retry_at_ = clock::now() + backoff_;
    state_ = State::backing_off;
  } else {
    state_ = State::idle;
  }
  fail_all(code, why);
}

void PipelinedConnection::connection_lost(errc code, const std::string& why) {
  close_socket();
  ++epoch_;
  state_ = State::idle;  // the next request reconnects at once
  fail_all(code, why);
}

void PipelinedConnection::fail_all(errc code, const std::string& why) {
  std::deque<Pending> doomed;
  doomed.swap(pending_);
  write_buffer_.clear();
  sending_.clear();
  sending_now_ = false;
  flush_after_replies_ = false;
  reading_ = false;  // the socket was closed: its read, if any, ends aborted
  read_begin_ = read_end_ = 0;
  if (doomed.empty()) return;
  const auto failure = std::make_exception_ptr(
      backend_error(code, fmt::format("{}: {}", settings_.description, why)));
  for (Pending& pending : doomed) pending.request->complete(failure);
}

void PipelinedConnection::close_socket() {
  boost::system::error_code ignored;
  resolver_.cancel();
  if (tcp_ || tls_) lowest_layer().close(ignored);
}

void PipelinedConnection::schedule_flush() {
  if (flush_posted_ || sending_now_ || write_buffer_.empty()) return;
  if (handing_out_) {
    // Submitted by a completion (say, a coroutine's next request): the read handler sends
    // it, with whatever the other completions of this receive submit, once they have all
    // run. This saves a trip through the event loop (a post, and a poll of the reactor)
    // on every request at low concurrency.
    flush_after_replies_ = true;
    return;
  }
  flush_posted_ = true;
  // Posted, not run: whatever else is queued in this turn of the event loop adds its
  // requests first, and they all go out in one send.
  asio::post(strand_, [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void PipelinedConnection::flush() {
  if (state_ != State::connected || sending_now_ || write_buffer_.empty()) return;
  std::size_t sent = 0;
  if (!tls_) {
    // Most sends fit in the socket's buffer at once: sent here, they need no completion
    // handler (nor the event loop's turn it costs). What does not fit goes out below,
    // from where this send stopped.
    boost::system::error_code ec;
    sent = tcp_->write_some(asio::buffer(write_buffer_), ec);
    if (ec && ec != asio::error::would_block)
      return connection_lost(errc::backend_unavailable,
                             fmt::format("send failed: {}", ec.message()));
    if (sent == write_buffer_.size()) return write_buffer_.clear();
  }
  sending_.swap(write_buffer_);
  write_buffer_.clear();
  sending_now_ = true;
  const std::uint64_t epoch = epoch_;
  with_stream([&](auto& stream) {
    asio::async_write(
        stream, asio::buffer(sending_) + sent,
        [self = shared_from_this(), epoch](boost::system::error_code ec, std::size_t) {
          if (epoch != self->epoch_) return;
          self->sending_now_ = false;
          self->sending_.clear();
          if (ec)
            return self->connection_lost(errc::backend_unavailable,
                                         fmt::format("send failed: {}", ec.message()));
          self->flush();
        });
  });
}

void PipelinedConnection::start_read() {
  // Only while replies are due: an idle connection leaves its event loop no work, so
  // io_context::run() can return. A server that closed it meanwhile is noticed by the
  // next request (which fails as backend_unavailable; the one after reconnects).
  // While replies are being handed out, the receive waits until they are (the buffer's
  // offsets still move); the read handler starts it afterwards.
  if (reading_ || handing_out_ || pending_.empty() || state_ != State::connected) return;
  if (read_end_ == read_buffer_.size()) {
    if (read_begin_ > 0) {
      std::copy(read_buffer_.begin() + static_cast<std::ptrdiff_t>(read_begin_),
                read_buffer_.begin() + static_cast<std::ptrdiff_t>(read_end_),
                read_buffer_.begin());
      read_end_ -= read_begin_;
      read_begin_ = 0;
    } else {
      read_buffer_.resize(read_buffer_.size() * 2);
    }
  }
  const std::uint64_t epoch = epoch_;
  reading_ = true;
  with_stream([&](auto& stream) {
    stream.async_read_some(
        asio::buffer(read_buffer_.data() + read_end_, read_buffer_.size() - read_end_),
        [self = shared_from_this(), epoch](boost::system::error_code ec, std::size_t received) {
          if (epoch != self->epoch_) return;
          self->reading_ = false;
          if (ec)
            return self->connection_lost(errc::backend_unavailable,
                                         ec == asio::error::eof
                                             ? std::string("the server closed the connection")
                                             : fmt::format("receive failed: {}", ec.message()));
          self->read_end_ += received;
          self->process_replies();
          if (epoch != self->epoch_) return;
          if (std::exchange(self->flush_after_replies_, false)) self->flush();
          if (epoch == self->epoch_) self->start_read();
        });
  });
}

void PipelinedConnection::process_replies() {
  const std::uint64_t epoch = epoch_;
  handing_out_ = true;
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{handing_out_};
  while (read_begin_ < read_end_) {
    if (pending_.empty())
      return connection_lost(errc::protocol, "the server sent a reply nothing asked for");
    ReplyProgress progress;
    try {
      progress = pending_.front().request->read_reply(
          {read_buffer_.data() + read_begin_, read_end_ - read_begin_});
    } catch (const std::exception& bad_reply) {
      return connection_lost(errc::protocol, bad_reply.what());
    }
    read_begin_ += progress.consumed;
    if (progress.done) {
      std::unique_ptr<PipelinedRequest> finished = std::move(pending_.front().request);
      pending_.pop_front();
      finished->complete(nullptr);
      if (epoch != epoch_) return;  // the completion closed this connection
    } else if (progress.consumed == 0) {
      break;  // the rest of this reply is still on its way
    }
  }
  // Nothing due: no deadline either, so the idle connection holds no work on the loop.
  if (pending_.empty() && deadline_armed_) deadline_timer_.cancel();
  if (read_begin_ == read_end_) {
    read_begin_ = read_end_ = 0;
    if (read_buffer_.size() > kLargestIdleReadBuffer) {
      read_buffer_.assign(kInitialReadBuffer, '\0');
      read_buffer_.shrink_to_fit();
    }
  }
}

void PipelinedConnection::arm_deadline() {
  if (deadline_armed_ || pending_.empty() || state_ == State::closed) return;
  deadline_armed_ = true;
  deadline_timer_.expires_at(pending_.front().deadline);
  deadline_timer_.async_wait([self = shared_from_this()](boost::system::error_code) {
    self->deadline_armed_ = false;
    self->on_deadline();
  });
}

void PipelinedConnection::on_deadline() {
  if (state_ == State::closed) return;
  // Deadlines grow along the queue, so only the oldest request can be late.
  if (!pending_.empty() && pending_.front().deadline <= clock::now())
    connection_lost(
        errc::timeout,
        state_ == State::connected
            ? fmt::format("no reply within {} (io_timeout)", settings_.io_timeout)
            : fmt::format("no connection within {} (connect_timeout)", settings_.connect_timeout));
  arm_deadline();
}

}  // namespace gencache::net
