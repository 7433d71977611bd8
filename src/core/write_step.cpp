#include "core/write_step.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "envelope.hpp"
#include "gencache/backend.hpp"
#include "gencache/error.hpp"

namespace gencache::detail {

EntryWrite plan_entry_write(const Entry& entry, std::string_view versioned_key,
                            std::chrono::milliseconds storage_ttl, std::size_t max_value_size) {
  EntryWrite write;
  static_assert(envelope_header_size <= kEntryHeaderAllowance,
                "backends accept only kEntryHeaderAllowance bytes beyond a value's limit");
  write.storage_ttl = std::max(entry.ttl, storage_ttl);
  // The limit is on the value, not on value plus header: a value of exactly the limit
  // is cached.
  if (entry.payload.size() > max_value_size) {
    write.refused = errc::value_too_large;
    write.failure =
        fmt::format("entry {} not cached: its value of {} bytes exceeds the limit of {}",
                    versioned_key, entry.payload.size(), max_value_size);
    return write;
  }
  write.bytes = encode_envelope(entry);
  return write;
}

}  // namespace gencache::detail
