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

#include "backends/at_home.hpp"
#include "backends/memcached/meta/meta_response.hpp"
#include "gencache/async_backend.hpp"
#include "net/pipelined_connection.hpp"
#include "net/recycled.hpp"

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

/// How a SingleCommand reads its response: returns the result, or sets `failure` and
/// returns anything.
template <class Result>
using Interpret = Result (*)(const Response&, const ErrorContext&, std::exception_ptr& failure);

/// One command whose one response `interpret` turns into a `Result` (or a failure).
/// `write(out)` appends the command; it may read the caller's key and value, which outlive
/// the request (AsyncBackend's contract), so nothing is copied for it. `done(failure,
/// result)` is called once.
template <class Result, class Write, class Done>
class SingleCommand final : public net::PipelinedRequest {
 public:
  SingleCommand(Write write, Interpret<Result> interpret, ErrorContext context, Done done)
      : write_(std::move(write)),
        interpret_(interpret),
        context_(std::move(context)),
        done_(std::move(done)) {}

  void write(std::string& out) override { write_(out); }

  net::ReplyProgress read_reply(std::string_view input) override {
    const ResponseParser::Step step = parser_.parse(input);
    if (!step.response) return {};
    result_ = interpret_(*step.response, context_, failure_);
    return {step.consumed, true};
  }

  void complete(std::exception_ptr failure) noexcept override {
    if (failure) return std::move(done_)(context_.reworded(failure), Result{});
    if (failure_) return std::move(done_)(failure_, Result{});
    std::move(done_)(nullptr, std::move(result_));
  }

 private:
  Write write_;
  Interpret<Result> interpret_;
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
            AtHome<std::exception_ptr> done)
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
  AtHome<std::exception_ptr> done_;
};

/// Whether an answer must carry its opaque token: a VA must; memcached returns it on an EN
/// too, which is checked when present.
enum class OpaqueRequired { no, yes };
/// Throws ProtocolViolation unless `response` answers the batch's key `index`: its opaque
/// token is O<index> (or it has none, and none is required).
void check_opaque(const Response& response, std::size_t index, OpaqueRequired required);

/// Reads a batch's answers (`mg <key> v O<i>` for each i below `count`, answered in
/// order), going on after the `answered` already read: `found(i, value)` for each VA.
/// Every VA names its key by its opaque token, and so does an EN if the server returns
/// one; anything but a VA or an EN is an error for one key, which sets `failure` (the
/// first one) while the batch still runs to its last answer. Throws ProtocolViolation for
/// bytes that are no such answer.
template <class Found>
net::ReplyProgress read_batch(ResponseParser& parser, std::string_view input, std::size_t count,
                              std::size_t& answered, const ErrorContext& context,
                              std::exception_ptr& failure, Found&& found) {
  net::ReplyProgress progress;
  while (answered < count) {
    const ResponseParser::Step step = parser.parse(input.substr(progress.consumed));
    if (!step.response) return progress;
    progress.consumed += step.consumed;
    const Response& response = *step.response;
    const std::size_t index = answered++;
    if (response.code == Code::value) {
      check_opaque(response, index, OpaqueRequired::yes);
      found(index, response.value);
    } else if (response.code == Code::miss) {
      check_opaque(response, index, OpaqueRequired::no);
    } else if (!failure) {
      failure = context.unexpected(response);
    }
  }
  progress.done = true;
  return progress;
}

/// A read whose keys are all on one server (always so with one server), as one request:
/// `mg <key> v O<i>` for each keys[i]. Values go to the visitor as they are read; the
/// caller completes after the last answer.
class ServerRead final : public net::PipelinedRequest, public net::Recycled<ServerRead> {
 public:
  ServerRead(std::span<const std::string_view> keys, ValueVisitor& visitor, ErrorContext context,
             AtHome<std::exception_ptr> done)
      : keys_(keys), visitor_(visitor), context_(std::move(context)), done_(std::move(done)) {}

  void write(std::string& out) override;
  net::ReplyProgress read_reply(std::string_view input) override;
  void complete(std::exception_ptr failure) noexcept override;

 private:
  std::span<const std::string_view> keys_;
  ValueVisitor& visitor_;
  ErrorContext context_;
  AtHome<std::exception_ptr> done_;
  ResponseParser parser_;
  std::size_t answered_ = 0;
  std::exception_ptr failure_;
};

/// One server's share of a BatchRead: `mg <key> v O<i>` for each of its keys.
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
  std::size_t answered_ = 0;
  std::exception_ptr failure_;
};

}  // namespace gencache::detail::meta
