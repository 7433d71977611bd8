#pragma once
// Internal: libmemcached return codes as gencache errors.

#include <libmemcached-1.0/memcached.h>

#include <string_view>

#include "gencache/error.hpp"

namespace gencache::detail {

/// `message` without the "(0x55d0c3a0) " handle address libmemcached starts it with.
std::string_view without_handle_address(std::string_view message) noexcept;

/// What a failed libmemcached call means to a caller.
errc memcached_errc(memcached_return_t rc) noexcept;

/// Throws backend_error(memcached_errc(rc)) for a failed `operation` on `memc`, with a
/// message naming `servers` (a description, never credentials) and libmemcached's account.
[[noreturn]] void throw_memcached_error(std::string_view servers, std::string_view operation,
                                        const memcached_st* memc, memcached_return_t rc);

}  // namespace gencache::detail
