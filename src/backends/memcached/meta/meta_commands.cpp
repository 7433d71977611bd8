#include "backends/memcached/meta/meta_commands.hpp"

#include <charconv>

#include <fmt/format.h>

#include "backends/memcached/meta/meta_request.hpp"

namespace gencache::detail::meta {
namespace {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::value:
      return "VA";
    case Code::done:
      return "HD";
    case Code::miss:
      return "EN";
    case Code::not_found:
      return "NF";
    case Code::not_stored:
      return "NS";
    case Code::exists:
      return "EX";
    case Code::noop:
      return "MN";
    case Code::error:
      return "ERROR";
    case Code::client_error:
      return "CLIENT_ERROR";
    case Code::server_error:
      return "SERVER_ERROR";
  }
  return "?";
}

std::optional<std::uint64_t> parse_counter(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A store the server refused for want of memory is not stored, not a broken server.
bool is_out_of_memory(const Response& response) {
  return response.code == Code::server_error &&
         response.value.find("out of memory") != std::string_view::npos;
}

// The call in the words every backend's messages use (the libmemcached backend's own):
// the reader of an error hook did a read, a write or a bump, never a "visit_many".
std::string_view operation_words(std::string_view operation) {
  if (operation == "get_many" || operation == "visit_many") return "read";
  if (operation == "set") return "write";
  if (operation == "remove") return "delete";
  if (operation == "increment") return "counter increment";
  if (operation == "create_counter") return "counter creation";
  return operation;
}

}  // namespace

std::exception_ptr ErrorContext::failure(errc code, std::string_view why) const {
  return std::make_exception_ptr(backend_error(
      code, fmt::format("{}: {} failed: {}", *servers, operation_words(operation), why)));
}

std::exception_ptr ErrorContext::reworded(std::exception_ptr failure) const {
  try {
    std::rethrow_exception(failure);
  } catch (const backend_error& error) {
    return this->failure(static_cast<errc>(error.code().value()), error.what());
  } catch (...) {
    return failure;
  }
}

std::exception_ptr ErrorContext::unexpected(const Response& response) const {
  if (is_out_of_memory(response))
    return failure(errc::not_stored, fmt::format("SERVER_ERROR {}", response.value));
  return failure(errc::protocol, fmt::format("unexpected reply {}{}{}", code_name(response.code),
                                             response.value.empty() ? "" : " ", response.value));
}

Stored interpret_set(const Response& response, const ErrorContext& context,
                     std::exception_ptr& failure) {
  if (response.code == Code::done) return {};
  if (response.code == Code::not_stored)
    failure = context.failure(errc::not_stored, "the server did not store the item (NS)");
  else
    failure = context.unexpected(response);
  return {};
}

bool interpret_add(const Response& response, const ErrorContext& context,
                   std::exception_ptr& failure) {
  if (response.code == Code::done) return true;
  if (response.code == Code::not_stored) return false;  // it exists
  failure = context.unexpected(response);
  return false;
}

bool interpret_delete(const Response& response, const ErrorContext& context,
                      std::exception_ptr& failure) {
  if (response.code == Code::done) return true;
  if (response.code == Code::not_found) return false;
  failure = context.unexpected(response);
  return false;
}

std::optional<std::uint64_t> interpret_increment(const Response& response,
                                                 const ErrorContext& context,
                                                 std::exception_ptr& failure) {
  if (response.code == Code::not_found) return std::nullopt;
  if (response.code == Code::value) {
    if (auto value = parse_counter(response.value)) return value;
    failure = context.failure(
        errc::protocol,
        fmt::format("the counter's new value '{}' is not a number", response.value.substr(0, 40)));
    return std::nullopt;
  }
  // A non-numeric item: memcached says CLIENT_ERROR, as incr does.
  failure = context.unexpected(response);
  return std::nullopt;
}

std::uint64_t interpret_increment_or_create(const Response& response, const ErrorContext& context,
                                            std::exception_ptr& failure) {
  if (response.code == Code::value) {
    if (auto value = parse_counter(response.value)) return *value;
    failure = context.failure(
        errc::protocol,
        fmt::format("the counter's value '{}' is not a number", response.value.substr(0, 40)));
    return 0;
  }
  failure = context.unexpected(response);
  return 0;
}

AsyncBackend::LeaseRead interpret_lease_read(const Response& response, const ErrorContext& context,
                                             std::exception_ptr& failure) {
  using Lease = AsyncBackend::LeaseRead::Lease;
  AsyncBackend::LeaseRead read;
  if (response.code != Code::value) {
    failure = context.unexpected(response);
    return read;
  }
  // W: this reader won the lease on an item memcached just created empty; Z: another
  // reader holds it. An empty value alongside either is that placeholder, not a value.
  const bool won = response.has_flag('W');
  const bool held = response.has_flag('Z');
  read.lease = won ? Lease::won : held ? Lease::held : Lease::not_needed;
  if (read.lease == Lease::not_needed || !response.value.empty())
    read.value.emplace(response.value);
  return read;
}

void BatchRead::batch_done(std::exception_ptr failure) noexcept {
  {
    const std::lock_guard lock(visit_mutex_);
    if (failure && !failure_) failure_ = std::move(failure);
  }
  if (remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  auto done = std::move(done_);
  std::move(done)(failure_);
}

void check_opaque(const Response& response, std::size_t index, OpaqueRequired required) {
  const auto opaque = response.flag_token('O');
  if (!opaque && required == OpaqueRequired::no) return;
  std::size_t named = 0;
  const auto [end, ec] =
      opaque ? std::from_chars(opaque->data(), opaque->data() + opaque->size(), named)
             : std::from_chars_result{nullptr, std::errc::invalid_argument};
  if (!opaque || ec != std::errc() || end != opaque->data() + opaque->size() || named != index)
    throw ProtocolViolation(
        fmt::format("memcached answered a key other than the one asked for (flags '{}', "
                    "expected O{})",
                    response.flags.substr(0, 40), index));
}

void ServerRead::write(std::string& out) {
  for (std::size_t i = 0; i < keys_.size(); ++i) append_get(out, keys_[i], i);
}

net::ReplyProgress ServerRead::read_reply(std::string_view input) {
  return read_batch(
      parser_, input, keys_.size(), answered_, context_, failure_,
      [this](std::size_t index, std::string_view value) { visitor_.found(index, value); });
}

void ServerRead::complete(std::exception_ptr failure) noexcept {
  std::move(done_)(failure ? context_.reworded(failure) : failure_);
}

void ServerBatch::write(std::string& out) {
  for (std::size_t i = 0; i < positions_.size(); ++i) append_get(out, keys_[positions_[i]], i);
}

net::ReplyProgress ServerBatch::read_reply(std::string_view input) {
  return read_batch(parser_, input, positions_.size(), answered_, read_->context(), failure_,
                    [this](std::size_t index, std::string_view value) {
                      read_->found(positions_[index], value);
                    });
}

void ServerBatch::complete(std::exception_ptr failure) noexcept {
  read_->batch_done(failure ? read_->context().reworded(failure) : failure_);
}

}  // namespace gencache::detail::meta
