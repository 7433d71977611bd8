#pragma once
// Internal: CRC-16/XMODEM, the checksum Redis Cluster maps keys to slots with, and the one
// the cluster hash tag of a namespace is made of (docs/PROTOCOL.md, "Redis Cluster").

#include <cstdint>
#include <string_view>

namespace gencache::detail {

/// CRC-16/XMODEM (polynomial 0x1021, initial value 0, no reflection, no final XOR) of
/// `bytes`: Redis's crc16(), Python's binascii.crc_hqx(bytes, 0).
std::uint16_t crc16_xmodem(std::string_view bytes) noexcept;

}  // namespace gencache::detail
