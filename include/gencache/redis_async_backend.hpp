#pragma once
/// \file
/// The asynchronous Redis client: pipelined connections on Boost.Asio, TLS optional. It
/// writes RESP itself and parses replies with hiredis's redisReader.

#include <cstddef>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "gencache/async_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "gencache/tls_options.hpp"

namespace gencache {

/// Settings of the asynchronous Redis backend.
struct RedisAsyncOptions {
  /// The server and what the blocking backend also takes from RedisOptions: host, port,
  /// db (SELECT on every new connection), connect_timeout, io_timeout (each request's
  /// deadline), max_item_bytes, username and password (AUTH on every new connection),
  /// wait_replicas and wait_timeout. pool_max and pool_wait are not used.
  RedisOptions server;
  /// Pipelined connections, from 1 to 64; requests take them in turn. Default 1: one
  /// connection carries the requests of every coroutine at once.
  std::size_t connections = 1;
  /// TLS (`rediss://`). Default off.
  TlsOptions tls;
};

/// An AsyncBackend on one Redis server, its completions run on `executor`'s threads.
/// Requests issued in the same turn of the event loop leave in one send; replies come
/// back in order. Each request fails with errc::timeout when its reply is later than
/// io_timeout (the connection is then closed and re-opened, since a late reply cannot be
/// matched any more), with errc::backend_unavailable when the connection is refused or
/// lost (a refused server is retried after a backoff of up to 2 s), and with
/// errc::protocol when AUTH or SELECT is refused (the message says which and why) or a
/// reply has the wrong shape. A certificate that does not verify fails every request
/// with errc::backend_unavailable, "TLS handshake failed: certificate verify failed".
/// Error replies map as for make_redis_backend. Commands are those of the blocking
/// backend (MGET, SET [NX] [PX], DEL, the increment script with EVAL, WAIT).
///
/// Throws gencache::config_error for invalid options, naming the option and what is
/// accepted. Connects lazily.
std::shared_ptr<AsyncBackend> make_redis_async_backend(boost::asio::any_io_executor executor,
                                                       RedisAsyncOptions options);

}  // namespace gencache
