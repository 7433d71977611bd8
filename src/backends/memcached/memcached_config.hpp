#pragma once
// Internal: MemcachedOptions checked and translated into libmemcached terms.

#include <libmemcached-1.0/memcached.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/memcached/server_address.hpp"
#include "gencache/memcached_backend.hpp"

namespace gencache::detail {

/// Room left in an item for the key (up to 250 bytes), Memcached's item header and the
/// Cache's entry header (kEntryHeaderAllowance): a value of max_item_bytes minus this
/// always fits (measured: 309 bytes with a 250-byte key, plus 36 for the entry header).
inline constexpr std::size_t kMemcachedItemOverhead = 512;

// Accepted ranges, shared by option and URL checks.
inline constexpr std::chrono::milliseconds kMemcachedLongestTimeout = std::chrono::minutes(10);
inline constexpr std::chrono::seconds kMemcachedLongestRetryTimeout = std::chrono::hours(24);
inline constexpr std::size_t kMemcachedLargestPool = 1024;
inline constexpr std::size_t kMemcachedSmallestItem = std::size_t{1} << 10;
inline constexpr std::size_t kMemcachedLargestItem = std::size_t{1} << 30;

struct MemcachedFree {
  void operator()(memcached_st* memc) const noexcept { memcached_free(memc); }
};
using MemcachedHandle = std::unique_ptr<memcached_st, MemcachedFree>;

/// Checked options, resolved to what the backend and libmemcached need.
struct MemcachedConfig {
  std::vector<ServerAddress> servers;
  /// A libmemcached configuration string holding every behavior and every server its
  /// grammar can name (no IPv6 literals, no names under three characters or equal to one
  /// of its keywords: make_memcached_handle adds those). No credentials.
  std::string config_string;
  std::string description;  ///< "memcached://host:port,..." for messages
  std::size_t pool_max = 0;
  std::chrono::milliseconds pool_wait{0};
  std::size_t max_value_size = 0;
  std::string username;
  std::string password;
};

/// Throws config_error naming the bad option, its value and the accepted range.
MemcachedConfig make_memcached_config(const MemcachedOptions& options);

/// Whether a `--SERVER=` in a configuration string can name `server`.
bool config_string_can_name(const ServerAddress& server);

/// Throws config_error quoting `config_string` and libmemcached's explanation unless
/// libmemcached accepts it.
void check_memcached_configuration(std::string_view config_string);

/// An unconnected handle set up as `config` says: behaviors, all servers, SASL. The pool
/// clones it for each connection. Throws config_error.
MemcachedHandle make_memcached_handle(const MemcachedConfig& config);

}  // namespace gencache::detail
