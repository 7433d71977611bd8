#pragma once
// Internal: Redis Cluster's key-to-slot function and its slot map (CLUSTER SLOTS).

#include <hiredis/hiredis.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gencache::detail {

inline constexpr std::uint16_t kClusterSlots = 16384;

/// The slot Redis Cluster keeps `key` in: CRC16 (XMODEM) mod 16384 of its hash tag, the
/// bytes between its first '{' and the first '}' after that when there are any, else of
/// the whole key. What `CLUSTER KEYSLOT key` answers.
std::uint16_t cluster_key_slot(std::string_view key) noexcept;

/// A node's address as the cluster reports it (IPv6 without brackets).
struct ClusterNodeAddress {
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const ClusterNodeAddress&) const = default;
};

/// Slots `first` to `last` (inclusive) and the master that serves them.
struct SlotRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  ClusterNodeAddress master;
};

/// The ranges in a CLUSTER SLOTS reply. A master listed with an empty host (a node that
/// does not know its own address) is at `asked`, the node that answered. Throws
/// backend_error(errc::protocol) naming `server` when the reply is not of that shape.
std::vector<SlotRange> parse_cluster_slots(const redisReply& reply, const ClusterNodeAddress& asked,
                                           std::string_view server);

}  // namespace gencache::detail
