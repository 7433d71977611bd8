#pragma once
// Internal: which server holds a key, chosen exactly as libmemcached chooses it, so the
// blocking backend and the meta client find each other's entries on any cluster.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/memcached/server_address.hpp"

namespace gencache::detail::meta {

/// libmemcached's default key hash (hashkit's one-at-a-time, MEMCACHED_HASH_DEFAULT).
std::uint32_t one_at_a_time_hash(std::string_view bytes) noexcept;

/// libmemcached's server choice for its default hash with MEMCACHED_DISTRIBUTION_CONSISTENT
/// (`--DISTRIBUTION=consistent`, unweighted: 100 points a server, each the hash of
/// "host-i", or "host:port-i" for a port other than 11211) or, with `consistent` false,
/// MEMCACHED_DISTRIBUTION_MODULA (hash modulo the number of servers). The order of
/// `servers` matters as it does to libmemcached: every client lists them alike.
class ServerSelection {
 public:
  ServerSelection(const std::vector<ServerAddress>& servers, bool consistent);

  /// The index in `servers` of the server that holds `key`.
  std::size_t server_for(std::string_view key) const noexcept;

 private:
  std::size_t server_count_;
  bool consistent_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> continuum_;  // (point, server), sorted
};

}  // namespace gencache::detail::meta
