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

  /// "host:port" of each server; at least one.
  std::vector<std::string> servers;
  /// Wire protocol. Default ascii.
  Protocol protocol = Protocol::ascii;
  /// Time allowed to connect to a server. Default 50 ms.
  std::chrono::milliseconds connect_timeout{50};
  /// Time allowed for one send or receive. Default 100 ms.
  std::chrono::milliseconds io_timeout{100};
  /// Connections kept in the pool; a call waits for a free one at most io_timeout.
  /// Default 16.
  std::size_t pool_max = 16;
  /// How long a failed server is skipped before it is tried again. Default 2 s.
  std::chrono::seconds retry_timeout{2};
  /// Consistent (ketama) distribution. Default: on when there are several servers.
  std::optional<bool> ketama;
  /// SASL credentials (binary protocol only). Never printed.
  std::string username;
  std::string password;
};

/// Connects lazily (the first call opens connections). Throws gencache::config_error for
/// invalid options.
std::shared_ptr<Backend> make_memcached_backend(MemcachedOptions options);

}  // namespace gencache
