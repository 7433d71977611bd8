#include "core/write_step.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "envelope.hpp"
#include "gencache/error.hpp"

namespace gencache::detail {

EntryWrite plan_entry_write(const Entry& entry, std::string_view versioned_key,
                            std::chrono::milliseconds storage_ttl, std::size_t max_value_size) {
  EntryWrite write;
  write.bytes = encode_envelope(entry);
  write.storage_ttl = std::max(entry.ttl, storage_ttl);
  if (write.bytes.size() > max_value_size) {
    write.refused = errc::value_too_large;
    write.failure = fmt::format("entry {} not cached: {} bytes exceed the limit of {}",
                                versioned_key, write.bytes.size(), max_value_size);
    write.bytes.clear();
  }
  return write;
}

}  // namespace gencache::detail
