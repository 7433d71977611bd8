#include "backends/memory/memory_url.hpp"

#include <bit>
#include <cstdint>

#include <fmt/format.h>

#include "gencache/error.hpp"

namespace gencache::detail {

MemoryOptions memory_options_from_url(UrlOptions& params) {
  MemoryOptions options;
  if (auto max_bytes = params.take_size("max_bytes")) options.max_bytes = *max_bytes;
  if (auto max_item_bytes = params.take_size("max_item_bytes"))
    options.max_item_bytes = *max_item_bytes;
  if (auto shards = params.take_uint("shards", 1, 1024)) {
    if (!std::has_single_bit(*shards))
      throw config_error(fmt::format(
          "memory:// URL: bad value '{}' for parameter 'shards': expected a power of two from 1 "
          "to 1024",
          *shards));
    options.shards = static_cast<std::size_t>(*shards);
  }
  return options;
}

}  // namespace gencache::detail
