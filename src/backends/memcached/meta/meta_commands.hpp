#pragma once
// Internal: the meta-protocol requests of the asynchronous Memcached backend, each a
// net::PipelinedRequest that writes its command and reads its reply.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/memcached/meta/meta_response.hpp"
#include "gencache/async_backend.hpp"
#include "net/pipelined_connection.hpp"

namespace gencache::detail::meta {

/// What every request needs to word its errors: "<servers>: <operation> failed: ...".
struct ErrorContext {
  std::shared_ptr<const std::string> servers;
  std::string_view operation;  // a literal

  /// A backend_error with that wording.
  std::exception_ptr failure(errc code, std::string_view why) const;
  /// `failure` (a connection's backend_error) reworded, keeping its code.
  std::exception_ptr reworded(std::exception_ptr failure) const;
  /// The failure for a response this operation did not expect.
  std::exception_ptr unexpected(const Response& response) const;
};

/// One command whose one response `Interpret` turns into a `Result` (or a failure).
/// `Done` is the AsyncBackend handler; Result void means a handler without a value.
template <class Result>
class SingleCommand final : public net::PipelinedRequest {
 public:
  using Done = AsyncBackend::handler<void(std::exception_ptr, Result)>;
  /// Returns the result, or sets `failure` and returns anything.
  using Interpret = Result (*)(const Response&, const ErrorContext&, std::exception_ptr& failure);

  SingleCommand(std::string command, Interpret interpret, ErrorContext context, Done done)
      : command_(std::move(command)),
        interpret_(interpret),
        context_(std::move(context)),
        done_(std::move(done)) {}

  void write(std::string& out) override { out += command_; }

  net::ReplyProgress read_reply(std::string_view input) override {
    const ResponseParser::Step step = parser_.parse(input);
    if (!step.response) return {};
    result_ = interpret_(*step.response, context_, failure_);
    return {step.consumed, true};
  }

  void complete(std::exception_ptr failure) noexcept override {
    Done done = std::move(done_);
    if (failure) return std::move(done)(context_.reworded(failure), Result{});
    if (failure_) return std::move(done)(failure_, Result{});
    std::move(done)(nullptr, std::move(result_));
  }

 private:
  std::string command_;
  Interpret interpret_;
  ErrorContext context_;
  Done done_;
  ResponseParser parser_;
  Result result_{};
  std::exception_ptr failure_;
};

/// Interpretations for SingleCommand.
struct Stored {};  // set's "result"
Stored interpret_set(const Response&, const ErrorContext&, std::exception_ptr&);
bool interpret_add(const Response&, const ErrorContext&, std::exception_ptr&);
bool interpret_delete(const Response&, const ErrorContext&, std::exception_ptr&);
std::optional<std::uint64_t> interpret_increment(const Response&, const ErrorContext&,
                                                 std::exception_ptr&);
std::uint64_t interpret_increment_or_create(const Response&, const ErrorContext&,
                                            std::exception_ptr&);
AsyncBackend::LeaseRead interpret_lease_read(const Response&, const ErrorContext&,
                                             std::exception_ptr&);

/// One async_visit_many call spread over several servers: hands values to the visitor
/// one at a time (server batches may complete on different threads) and completes the
/// caller once every batch has.
class BatchRead {
 public:
  BatchRead(ValueVisitor& visitor, std::size_t batches, ErrorContext context,
            AsyncBackend::handler<void(std::exception_ptr)> done)
      : visitor_(visitor),
        remaining_(batches),
        context_(std::move(context)),
        done_(std::move(done)) {}

  void found(std::size_t position, std::string_view value) noexcept {
    const std::lock_guard lock(visit_mutex_);
    visitor_.found(position, value);
  }
  /// One server's batch is over; the last one completes the call with the first failure.
  void batch_done(std::exception_ptr failure) noexcept;
  const ErrorContext& context() const noexcept { return context_; }

 private:
  ValueVisitor& visitor_;
  std::mutex visit_mutex_;  // also guards failure_
  std::atomic<std::size_t> remaining_;
  ErrorContext context_;
  std::exception_ptr failure_;
  AsyncBackend::handler<void(std::exception_ptr)> done_;
};

/// One server's share of a BatchRead: `mg <key> v q O<i>` for each key, then `mn`.
class ServerBatch final : public net::PipelinedRequest {
 public:
  ServerBatch(std::shared_ptr<BatchRead> read, std::span<const std::string_view> keys)
      : read_(std::move(read)), keys_(keys) {}

  /// Adds `keys[position]` to this server's batch.
  void add(std::size_t position) { positions_.push_back(position); }

  void write(std::string& out) override;
  net::ReplyProgress read_reply(std::string_view input) override;
  void complete(std::exception_ptr failure) noexcept override;

 private:
  std::shared_ptr<BatchRead> read_;
  std::span<const std::string_view> keys_;
  std::vector<std::size_t> positions_;  // opaque i is keys_[positions_[i]]
  ResponseParser parser_;
  std::exception_ptr failure_;
};

}  // namespace gencache::detail::meta
