#pragma once
// Internal: reads the query parameters of a memory:// URL into MemoryOptions.

#include "gencache/memory_backend.hpp"
#include "url_options.hpp"

namespace gencache::detail {

/// Takes `max_bytes` (size), `max_item_bytes` (size) and `shards` (a power of two from 1
/// to 1024) from `params`; absent ones keep their MemoryOptions defaults. Throws
/// config_error on a bad value. The caller calls `params.finish()` afterwards, so other
/// parameters are left in place for it to reject.
MemoryOptions memory_options_from_url(UrlOptions& params);

}  // namespace gencache::detail
