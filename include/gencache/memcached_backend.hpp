#pragma once
/// \file
/// The Memcached backend (`memcached://host:port[,host:port...][?options]`), through
/// libmemcached with a libmemcachedutil connection pool.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gencache/backend.hpp"

namespace gencache {

/// Settings of the Memcached backend. Every field has the default documented here and in
/// the README; `memcached://` URL parameters of the same name fill them.
struct MemcachedOptions {
  enum class Protocol { ascii, binary };

  /// Each server as "host:port", "host" (port 11211) or "[IPv6]:port"; at least one.
  /// Hosts are names, IPv4 addresses or bracketed IPv6 addresses.
  std::vector<std::string> servers{};
  /// Wire protocol. Default ascii.
  Protocol protocol = Protocol::ascii;
  /// Time allowed to connect to a server, from 1 ms to 10 min. Default 50 ms.
  std::chrono::milliseconds connect_timeout{50};
  /// Time allowed for one send or receive, from 1 ms to 10 min; a hung server makes a
  /// call throw errc::timeout after about this long. Default 100 ms.
  std::chrono::milliseconds io_timeout{100};
  /// Connections kept in the pool, from 1 to 1024; one per concurrent call. Default 16.
  std::size_t pool_max = 16;
  /// Longest a call waits for a free pooled connection before it throws errc::timeout.
  /// Default (unset): io_timeout.
  std::optional<std::chrono::milliseconds> pool_wait{};
  /// How long a server that refused a connection is skipped (calls that map to it fail
  /// at once with errc::backend_unavailable) before it is tried again, up to 1 day.
  /// Memcached counts whole seconds, so the retry comes up to a second later. Default 2 s.
  std::chrono::seconds retry_timeout{2};
  /// Consistent (ketama) distribution of keys over servers, so adding or removing a
  /// server moves few keys. Default: on when there are several servers. With it off,
  /// every client must list the servers in the same order.
  std::optional<bool> ketama{};
  /// The servers' item size limit (memcached `-I`), from 1 KiB to 1 GiB. Values longer
  /// than this minus 512 bytes (room for the key and the item header) are refused with
  /// errc::value_too_large before being sent; see Backend::max_value_size(). Default 1 MiB,
  /// Memcached's own default.
  std::size_t max_item_bytes = std::size_t{1} << 20;
  /// SASL credentials. A username requires the binary protocol and a server started with
  /// SASL (`memcached -S`). Never printed.
  std::string username{};
  std::string password{};
};

/// A Memcached backend. Thread-safe: each call borrows a connection from a pool.
///
/// Keys are never moved to another server while one is down (no auto-eject), because a
/// namespace counter that moved and then came back would resurface stale entries; calls
/// that map to a failed server throw instead. TTLs are rounded up to whole seconds, and
/// TTLs above 30 days are sent as an absolute Unix time, as Memcached requires (so the
/// client and server clocks should agree); a negative TTL stores an already-expired item.
///
/// Failures throw gencache::backend_error whose code() is errc::timeout (a hung server
/// or no free pooled connection), errc::backend_unavailable (connection refused or lost,
/// or a server skipped during retry_timeout), errc::value_too_large, errc::not_stored or
/// errc::protocol; the message names the servers and the libmemcached error. `get_many`
/// and `visit_many` throw when any server they needed failed, rather than reporting its
/// keys absent. `visit_many` hands each value to the visitor straight from libmemcached's
/// result buffer, without a copy; when a server fails in the middle of a call, the
/// visitor may have seen other servers' values before the call throws (a server already
/// known to be down fails the call before anything is visited).
///
/// Connects lazily (the first call opens connections). Throws gencache::config_error for
/// invalid options, naming the option and what is accepted.
std::shared_ptr<Backend> make_memcached_backend(MemcachedOptions options);

}  // namespace gencache
