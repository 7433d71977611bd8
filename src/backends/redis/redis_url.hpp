#pragma once
// Internal: reads the authority, path and query parameters of a redis:// URL.

#include <memory>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "gencache/redis_async_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "url_options.hpp"

namespace gencache::detail {

/// `authority` is the part between `redis://` and the path: `[[user]:password@]host[:port]`
/// where host is a name, an IPv4 address or `[IPv6]`, the port defaults to 6379 and the
/// user name and password are percent-decoded. `path` is empty, `/` or `/db` (a database
/// number). Takes `connect_timeout`, `io_timeout` and `pool_wait` (durations), `pool_max`
/// (1..1024), `max_item_bytes` (size), `wait_replicas` (0..255) and `wait_timeout`
/// (duration) from `params`; absent ones keep their
/// RedisOptions defaults. Throws config_error naming the bad part, parameter or value
/// (never a password). The caller calls `params.finish()` afterwards, so other parameters
/// are left in place for it to reject.
RedisOptions redis_options_from_url(std::string_view authority, std::string_view path,
                                    UrlOptions& params);

/// The blocking backend of a redis:// URL: one server, or with `cluster=true` a Redis
/// Cluster whose seed nodes are the servers listed with commas
/// (`redis://[user:password@]h1:p1,h2:p2?cluster=true`; no database path). Takes the
/// parameters of redis_options_from_url and `cluster`, then calls `params.finish()`.
/// Throws config_error as redis_options_from_url does, and for several servers without
/// `cluster=true`.
///
/// `scheme` "rediss" is Redis over TLS (`tls_ca_file`, `tls_cert_file`, `tls_key_file`,
/// `tls_verify`, `tls_server_name`, as redis_async_options_from_url), on one server or a
/// cluster: hiredis 0.14 has no TLS, so the asynchronous client serves it, driven on an
/// I/O thread of its own (AsyncBackendThread).
std::shared_ptr<Backend> redis_backend_from_url(std::string_view scheme, std::string_view authority,
                                                std::string_view path, UrlOptions& params);

/// The AsyncBackend of a redis:// or rediss:// URL, which redis_backend_from_url reads
/// the same way: the asynchronous client on one server, or with `cluster=true` the
/// asynchronous cluster client, its I/O and completions on `executor`.
std::shared_ptr<AsyncBackend> redis_async_backend_from_url(
    const boost::asio::any_io_executor& executor, std::string_view scheme,
    std::string_view authority, std::string_view path, UrlOptions& params);

/// The asynchronous client's options from a `redis://` or `rediss://` URL (one server):
/// what redis_options_from_url takes, plus `connections` (1..64) and, for rediss, TLS on
/// with `tls_ca_file`, `tls_cert_file`, `tls_key_file` (paths), `tls_verify` (bool,
/// default true) and `tls_server_name`. The caller calls `params.finish()`.
RedisAsyncOptions redis_async_options_from_url(std::string_view scheme, std::string_view authority,
                                               std::string_view path, UrlOptions& params);

/// The seeds (every server listed, the first one's user information for all) and the
/// connection settings of a cluster URL; config_error for a database path or an empty
/// server. The caller calls `params.finish()`.
RedisClusterOptions redis_cluster_options_from_url(std::string_view authority,
                                                   std::string_view path, UrlOptions& params);

/// redis_cluster_options_from_url plus `connections` and, for rediss, TLS, as
/// redis_async_options_from_url reads them. The caller calls `params.finish()`.
RedisAsyncClusterOptions redis_async_cluster_options_from_url(std::string_view scheme,
                                                              std::string_view authority,
                                                              std::string_view path,
                                                              UrlOptions& params);

}  // namespace gencache::detail
