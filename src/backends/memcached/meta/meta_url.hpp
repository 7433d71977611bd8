#pragma once
// Internal: reads a memcached:// URL for the asynchronous (meta-protocol) backend.

#include <string_view>

#include "gencache/memcached_async_backend.hpp"
#include "url_options.hpp"

namespace gencache::detail {

/// As memcached_options_from_url (same servers, timeouts, ketama, max_item_bytes), plus
/// `connections` (1..64) and the TLS parameters (`tls`, `tls_ca_file`, `tls_cert_file`,
/// `tls_key_file`, `tls_verify`, `tls_server_name`). Refuses `protocol`, `pool_max`,
/// `pool_wait` and credentials with a config_error saying why. The caller calls
/// `params.finish()` afterwards.
MemcachedAsyncOptions memcached_async_options_from_url(std::string_view authority,
                                                       UrlOptions& params);

/// Takes the TLS parameters from `params` into `tls`.
void take_tls_options(UrlOptions& params, TlsOptions& tls);

}  // namespace gencache::detail
