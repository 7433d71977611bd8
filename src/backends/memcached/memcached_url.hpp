#pragma once
// Internal: reads the authority and query parameters of a memcached:// URL.

#include <string_view>

#include "gencache/memcached_backend.hpp"
#include "url_options.hpp"

namespace gencache::detail {

/// `authority` is the part between `memcached://` and `?`: `[user[:password]@]server,...`
/// where each server is `host[:port]` or `[IPv6][:port]` (port 11211 by default) and the
/// user name and password are percent-decoded. Takes `protocol` (ascii|binary),
/// `connect_timeout`, `io_timeout`, `pool_wait` and `retry_timeout` (durations),
/// `pool_max` (1..1024), `ketama` (bool) and `max_item_bytes` (size) from `params`;
/// absent ones keep their MemcachedOptions defaults. Throws config_error naming the bad
/// server, parameter or value (never a password). The caller calls `params.finish()`
/// afterwards, so other parameters are left in place for it to reject.
MemcachedOptions memcached_options_from_url(std::string_view authority, UrlOptions& params);

}  // namespace gencache::detail
