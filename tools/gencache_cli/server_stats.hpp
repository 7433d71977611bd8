#pragma once
// `gencache stats`: statistics straight from the servers behind a cache URL.

#include <cstdio>
#include <string_view>

namespace gencache::cli {

/// Prints each memcached server's statistics for a memcached:// `url` to `out`, or a note
/// for backends that have no servers to ask. Failures go to `err`. Returns the exit
/// status: 0 when every server answered, 1 otherwise. Throws gencache::config_error for a
/// bad URL.
int print_server_stats(std::string_view url, std::FILE* out, std::FILE* err);

}  // namespace gencache::cli
