#pragma once
// Internal: memcached's `stats`, asked of each server on a connection of its own.

#include <vector>

#include "gencache/backend.hpp"
#include "gencache/memcached_backend.hpp"

namespace gencache::detail {

/// One ServerStats per server of `options`, in their order. Each server is asked over a
/// handle of its own: libmemcached gives up on a whole handle when one of its servers is
/// down, and that server is the one an operator most needs to see. Never throws for a
/// server that does not answer (its entry's `error` says why).
std::vector<ServerStats> memcached_server_stats(const MemcachedOptions& options);

}  // namespace gencache::detail
