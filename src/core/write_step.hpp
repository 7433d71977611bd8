#pragma once
// Internal: the write as a sans-I/O step: the envelope bytes and the size check, decided
// before the one set() the driver then makes.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include "gencache/detail/core.hpp"

namespace gencache::detail {

struct EntryWrite {
  std::string bytes;                        ///< the envelope to set (empty when refused)
  std::chrono::milliseconds storage_ttl{};  ///< how long the backend keeps it
  std::error_code refused{};  ///< errc::value_too_large: do not set; `failure` says why
  std::string failure;
};

/// The set() that stores `entry` under `versioned_key` for `storage_ttl` (at least the
/// entry's own ttl: the stale windows come on top), or why it must not be made.
EntryWrite plan_entry_write(const Entry& entry, std::string_view versioned_key,
                            std::chrono::milliseconds storage_ttl, std::size_t max_value_size);

}  // namespace gencache::detail
