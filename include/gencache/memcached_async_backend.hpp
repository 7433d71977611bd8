#pragma once
/// \file
/// The asynchronous Memcached backend: memcached's meta protocol over Boost.Asio,
/// pipelined, optionally over TLS. AsyncCache drives it; Cache keeps libmemcached.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "gencache/async_backend.hpp"
#include "gencache/tls_options.hpp"

namespace gencache {

/// Settings of the asynchronous Memcached backend. The fields shared with
/// MemcachedOptions mean the same and have the same defaults and ranges; `memcached://`
/// URL parameters of the same name fill them.
struct MemcachedAsyncOptions {
  /// Each server as "host:port", "host" (port 11211) or "[IPv6]:port"; at least one.
  std::vector<std::string> servers{};
  /// Time allowed to connect (and finish the TLS handshake), 1 ms to 10 min. Default 50 ms.
  std::chrono::milliseconds connect_timeout{50};
  /// Longest wait for a reply, 1 ms to 10 min. Default 100 ms.
  std::chrono::milliseconds io_timeout{100};
  /// Longest time a server that refused a connection is skipped (calls fail at once with
  /// errc::backend_unavailable), 0 to 1 day; the wait starts at 50 ms and doubles with
  /// each failed attempt up to this. Default 2 s.
  std::chrono::milliseconds retry_timeout{2000};
  /// Consistent (ketama) distribution, exactly libmemcached's `--DISTRIBUTION=consistent`
  /// with its default hash, so both backends put a key on the same server. Default: on
  /// when there are several servers.
  std::optional<bool> ketama{};
  /// The servers' item size limit (memcached `-I`), 1 KiB to 1 GiB. Default 1 MiB.
  std::size_t max_item_bytes = std::size_t{1} << 20;
  /// Pipelined connections kept to each server, 1 to 64; requests are spread over them
  /// in turn. Default 1: one connection carries the most requests per send, which
  /// measured fastest against a memcached with one worker thread (benchmarks/meta_bench.cpp,
  /// in_flight:64 at 1 and 2 connections); more help an event loop on several threads or a
  /// server with many worker threads.
  std::size_t connections = 1;
  /// TLS for every connection (memcached -Z). Default off.
  TlsOptions tls{};
};

/// A Memcached backend for AsyncCache, on memcached's meta protocol (memcached 1.6 or
/// later). Its I/O runs on `executor`, which must be running while calls are pending;
/// handlers run there too. Thread-safe.
///
/// Every request shares a few connections per server: requests started in one turn of
/// the event loop go out in one send, and replies are matched in order. Two requests are
/// ordered only when the second starts after the first completed (they may take
/// different connections), as with any pool of connections. A batch read is
/// one pipelined `mg <key> v O<i>` per key, answered in order; async_increment_or_create is
/// one `ma ... N J`; async_read_with_lease is one `mg ... N` (memcached's W and Z
/// flags). Keys stay on their server while it is down (no auto-eject), as in the
/// blocking backend, and the server choice is libmemcached's, so both backends share
/// entries.
///
/// Failures complete with gencache::backend_error naming the servers, the operation and
/// the cause: errc::timeout (no reply within io_timeout: every request on that
/// connection fails and it is reopened; or no connection within connect_timeout),
/// errc::backend_unavailable (refused, lost, a TLS handshake or certificate that failed,
/// or a server skipped after a failed connect), errc::value_too_large, errc::not_stored,
/// errc::protocol. Nothing is sent in plaintext when TLS is asked for. Connects lazily.
/// An idle connection waits for nothing, so it keeps no work on the executor (a
/// run() returns once the program's own work is done); a server that closed it meanwhile
/// is noticed by the next request, which fails as backend_unavailable (the one after
/// reconnects), as with libmemcached.
/// Throws gencache::config_error for invalid options (or unreadable TLS files), naming
/// the option and what is accepted.
std::shared_ptr<AsyncBackend> make_memcached_async_backend(boost::asio::any_io_executor executor,
                                                           MemcachedAsyncOptions options);

/// The options a `memcached://` URL describes for the asynchronous backend: the servers
/// and parameters of the blocking backend's URL (except protocol, pool_max, pool_wait and
/// credentials, which it refuses with a config_error saying why) plus `connections`,
/// `tls`, `tls_ca_file`, `tls_cert_file`, `tls_key_file`, `tls_verify` and
/// `tls_server_name`. Throws config_error naming the bad part.
MemcachedAsyncOptions memcached_async_options_from_url(std::string_view url);

}  // namespace gencache
