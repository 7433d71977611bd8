#include "backends/memcached/memcached_errors.hpp"

#include <cctype>
#include <string>

#include <fmt/format.h>

namespace gencache::detail {
namespace {

// The pieces of a libmemcached error text such as
// "(0x55e4) CONNECTION FAILURE(Connection refused),  host: 127.0.0.1:1 -> ./src/io.cc:145".
struct LibmemcachedAccount {
  std::string_view host;    // "127.0.0.1:1", or empty
  std::string_view detail;  // "Connection refused", or empty
};

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == ',')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == ',')) text.remove_suffix(1);
  return text;
}

LibmemcachedAccount parse_account(std::string_view text) {
  text = without_handle_address(text);
  if (const auto location = text.find(" -> "); location != std::string_view::npos)
    text = text.substr(0, location);
  LibmemcachedAccount account;
  if (const auto host = text.rfind("host: "); host != std::string_view::npos) {
    account.host = trimmed(text.substr(host + 6));
    text = text.substr(0, host);
  }
  text = trimmed(text);
  // What the system said: "(Connection refused)" right after the code name, or the text
  // after its first comma ("HOSTNAME LOOKUP FAILURE, Name or service not known").
  auto open = text.find('(');
  while (open != std::string_view::npos && text.substr(open).starts_with("()"))
    open = text.find('(', open + 2);  // "getaddrinfo()" names a function, not a reason
  if (open != std::string_view::npos) {
    if (const auto close = text.find(')', open); close != std::string_view::npos)
      account.detail = trimmed(text.substr(open + 1, close - open - 1));
  } else if (const auto comma = text.find(','); comma != std::string_view::npos) {
    account.detail = trimmed(text.substr(comma + 1));
  }
  return account;
}

std::string lowered_first(std::string_view text) {
  std::string out(text);
  if (!out.empty() && out.size() > 1 && std::islower(static_cast<unsigned char>(out[1])))
    out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

std::string with_detail(std::string sentence, std::string_view detail) {
  if (!detail.empty()) sentence += fmt::format(" ({})", lowered_first(detail));
  return sentence;
}

std::string server_name(std::string_view host) {
  return host.empty() ? std::string("the server") : std::string(host);
}

}  // namespace

std::string_view without_handle_address(std::string_view message) noexcept {
  if (message.starts_with("(0x")) {
    if (const auto end = message.find(") "); end != std::string_view::npos)
      message.remove_prefix(end + 2);
  }
  return message;
}

errc memcached_errc(memcached_return_t rc) noexcept {
  switch (rc) {
    case MEMCACHED_TIMEOUT:
      return errc::timeout;
    case MEMCACHED_HOST_LOOKUP_FAILURE:
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_CONNECTION_BIND_FAILURE:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_ERRNO:
    case MEMCACHED_FAIL_UNIX_SOCKET:
    case MEMCACHED_NO_SERVERS:
    case MEMCACHED_SOME_ERRORS:
    case MEMCACHED_SERVER_MARKED_DEAD:
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
    case MEMCACHED_AUTH_PROBLEM:
    case MEMCACHED_AUTH_FAILURE:
    case MEMCACHED_AUTH_CONTINUE:
    case MEMCACHED_IN_PROGRESS:
      return errc::backend_unavailable;
    case MEMCACHED_E2BIG:
      return errc::value_too_large;
    case MEMCACHED_NOTSTORED:
    case MEMCACHED_DATA_EXISTS:
    case MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE:
      return errc::not_stored;
    default:
      // Unexpected replies (UNKNOWN_READ_FAILURE, PROTOCOL_ERROR, CLIENT_ERROR,
      // SERVER_ERROR, PARTIAL_READ, ...) and requests libmemcached refused.
      return errc::protocol;
  }
}

std::string memcached_failure_reason(memcached_return_t rc, std::string_view last_error) {
  const LibmemcachedAccount account = parse_account(last_error);
  const std::string server = server_name(account.host);
  switch (rc) {
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_CONNECTION_BIND_FAILURE:
    case MEMCACHED_FAIL_UNIX_SOCKET:
      return with_detail(fmt::format("cannot connect to {}", server), account.detail);
    case MEMCACHED_HOST_LOOKUP_FAILURE:
      return with_detail(fmt::format("the host name of {} does not resolve", server),
                         account.detail);
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
    case MEMCACHED_SERVER_MARKED_DEAD:
      return fmt::format("{} failed recently and is skipped until retry_timeout has passed",
                         server);
    case MEMCACHED_TIMEOUT:
      return fmt::format("{} did not answer within the timeout", server);
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_ERRNO:
    case MEMCACHED_PARTIAL_READ:
      return with_detail(fmt::format("the connection to {} broke", server), account.detail);
    case MEMCACHED_NO_SERVERS:
      return "no server is configured";
    case MEMCACHED_AUTH_PROBLEM:
    case MEMCACHED_AUTH_FAILURE:
    case MEMCACHED_AUTH_CONTINUE:
      return fmt::format("{} refused the user name or password", server);
    case MEMCACHED_E2BIG:
      return "the server refused the value as larger than its item size limit (-I)";
    case MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE:
      return fmt::format("{} is out of memory", server);
    case MEMCACHED_NOTSTORED:
    case MEMCACHED_DATA_EXISTS:
      return "the server did not store the item";
    case MEMCACHED_PROTOCOL_ERROR:
    case MEMCACHED_CLIENT_ERROR:
    case MEMCACHED_SERVER_ERROR:
      return with_detail(fmt::format("{} answered with an error", server), account.detail);
    default:
      // Codes a gencache call should never meet: libmemcached's own name for it, as the
      // one clue left, still without the source location.
      return with_detail(
          fmt::format("unexpected libmemcached result '{}'", memcached_strerror(nullptr, rc)),
          account.detail);
  }
}

void throw_memcached_error(std::string_view servers, std::string_view operation,
                           const memcached_st* memc, memcached_return_t rc) {
  // E2BIG and NOTSTORED leave no last error; the code alone then says it.
  const std::string_view last_error =
      memc != nullptr && memcached_last_error(memc) != MEMCACHED_SUCCESS
          ? memcached_last_error_message(memc)
          : std::string_view();
  throw backend_error(memcached_errc(rc), fmt::format("{}: {} failed: {}", servers, operation,
                                                      memcached_failure_reason(rc, last_error)));
}

}  // namespace gencache::detail
