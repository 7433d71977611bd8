#pragma once
/// \file
/// The asynchronous Redis client: pipelined connections on Boost.Asio, TLS optional, on
/// one server or a Redis Cluster. It writes RESP itself and parses replies with hiredis's
/// redisReader.

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

/// Settings of the asynchronous Redis Cluster backend.
struct RedisAsyncClusterOptions {
  /// The seed nodes and what every node's connections use, as for
  /// make_redis_cluster_backend: timeouts, max_item_bytes, credentials (AUTH on every new
  /// connection to every node) and wait_replicas (each master waits for its own
  /// replicas). pool_max and pool_wait are not used; db must be 0.
  RedisClusterOptions cluster;
  /// Pipelined connections per node, from 1 to 64. Default 1.
  std::size_t connections = 1;
  /// TLS to every node (`rediss://`), nodes learnt from the slot map included. With
  /// `server_name` empty each node's certificate must name the host the cluster reports
  /// for it (an IP address, unless the nodes announce host names). Default off.
  TlsOptions tls;
};

/// An AsyncBackend on a Redis Cluster: `connections` pipelined connections per node, as
/// make_redis_async_backend has for one server, and the placement of
/// make_redis_cluster_backend (keys to slots as Redis does, the Cache's hash tags, the
/// slot map from CLUSTER SLOTS on first use), so both clients read and write the same
/// keys on the same nodes. A multi-get sends one MGET per slot, all of them at once to
/// their masters, and completes once every reply is in (one round trip of wall time);
/// no CROSSSLOT error can occur. MOVED is followed to the node it names and makes the map
/// be read again; ASK is followed with ASKING on the same connection; a call is
/// redirected at most 5 times. A node that is refused, times out or answers CLUSTERDOWN
/// makes the map be read again (at most every 100 ms, without holding up calls). Failures
/// are those of make_redis_async_backend, naming the node; a call made before any node
/// gave the slot map fails with errc::backend_unavailable, "no node gave the slot map",
/// and each node's reason. async_server_stats gives one entry per node the map names,
/// masters first.
///
/// Throws gencache::config_error for invalid options, naming the option and what is
/// accepted. Connects lazily.
std::shared_ptr<AsyncBackend> make_redis_async_cluster_backend(
    boost::asio::any_io_executor executor, RedisAsyncClusterOptions options);

}  // namespace gencache
