#pragma once
// Internal: a cache URL split into its parts, as Cache::from_url reads it (and the
// `gencache` command, which needs the servers of a memcached:// URL).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gencache::detail {

struct CacheUrl {
  std::string scheme;
  std::string_view authority;  ///< into the URL given
  std::string_view path;       ///< into the URL given, with its leading '/'
  std::vector<std::pair<std::string, std::string>> params;  ///< percent-decoded
};

/// Splits `url` (scheme://authority/path?query). Throws gencache::config_error, with any
/// password in the URL masked, when it has no scheme, has a #fragment or a malformed query.
/// The scheme is not checked against the known ones.
CacheUrl split_cache_url(std::string_view url);

}  // namespace gencache::detail
