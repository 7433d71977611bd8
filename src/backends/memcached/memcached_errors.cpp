#include "backends/memcached/memcached_errors.hpp"

#include <string>

#include <fmt/format.h>

namespace gencache::detail {
namespace {

std::string libmemcached_account(const memcached_st* memc, memcached_return_t rc) {
  if (memc == nullptr || memcached_last_error(memc) == MEMCACHED_SUCCESS)
    return memcached_strerror(memc, rc);  // E2BIG and NOTSTORED leave no last error
  return std::string(without_handle_address(memcached_last_error_message(memc)));
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

void throw_memcached_error(std::string_view servers, std::string_view operation,
                           const memcached_st* memc, memcached_return_t rc) {
  throw backend_error(memcached_errc(rc), fmt::format("{}: {} failed: {}", servers, operation,
                                                      libmemcached_account(memc, rc)));
}

}  // namespace gencache::detail
