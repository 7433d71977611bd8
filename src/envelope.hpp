#pragma once
// Internal: the value envelope (specified byte for byte in docs/PROTOCOL.md).
//
//   offset size field
//   0      2    magic "GC"
//   2      1    format version (1)
//   3      1    kind: 0 value, 1 absent (an empty std::optional, cached)
//   4      8    creation time, Unix milliseconds, signed little-endian
//   12     8    TTL in milliseconds, signed little-endian
//   20     8    compute duration in microseconds, signed little-endian
//   28     4    payload length, unsigned little-endian
//   32     4    CRC-32 (IEEE) of bytes 0..31 followed by the payload
//   36     n    payload
//
// Anything else (short, wrong magic or version, unknown kind, length or CRC mismatch, an
// absent entry with a payload) does not decode.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "gencache/detail/core.hpp"

namespace gencache::detail {

inline constexpr std::size_t envelope_header_size = 36;
inline constexpr unsigned char envelope_version = 1;

std::string encode_envelope(const Entry& entry);
std::optional<Entry> decode_envelope(std::string_view bytes);

}  // namespace gencache::detail
