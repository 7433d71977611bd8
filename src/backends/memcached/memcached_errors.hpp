#pragma once
// Internal: libmemcached return codes as gencache errors.

#include <libmemcached-1.0/memcached.h>

#include <string>
#include <string_view>

#include "gencache/error.hpp"

namespace gencache::detail {

/// `message` without the "(0x55d0c3a0) " handle address libmemcached starts it with.
std::string_view without_handle_address(std::string_view message) noexcept;

/// What a failed libmemcached call means to a caller.
errc memcached_errc(memcached_return_t rc) noexcept;

/// Why a call failed, in words an operator acts on ("cannot connect to 10.0.0.1:11211:
/// connection refused"): `rc` chooses the sentence; the server and the system's reason
/// come from libmemcached's `last_error` text, whose handle address, upper-case code
/// names and source locations (" -> ./src/libmemcached/get.cc:233") are left out.
std::string memcached_failure_reason(memcached_return_t rc, std::string_view last_error);

/// Throws backend_error(memcached_errc(rc)) for a failed `operation` on `memc`, with the
/// message "<servers>: <operation> failed: <memcached_failure_reason>". `servers` is a
/// description, never credentials; `operation` is what was asked in plain words
/// ("read", "write", "counter increment").
[[noreturn]] void throw_memcached_error(std::string_view servers, std::string_view operation,
                                        const memcached_st* memc, memcached_return_t rc);

}  // namespace gencache::detail
