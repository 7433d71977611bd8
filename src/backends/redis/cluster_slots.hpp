#pragma once
// Internal: Redis Cluster's key-to-slot function and its slot map (CLUSTER SLOTS).

#include <hiredis/hiredis.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gencache/redis_backend.hpp"

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

/// Slots `first` to `last` (inclusive), the master that serves them and its replicas.
struct SlotRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  ClusterNodeAddress master;
  std::vector<ClusterNodeAddress> replicas;  ///< those whose address the cluster knows
};

/// The ranges in a CLUSTER SLOTS reply. A master listed with an empty host (a node that
/// does not know its own address) is at `asked`, the node that answered; a replica listed
/// so is left out. Throws
/// backend_error(errc::protocol) naming `server` when the reply is not of that shape.
std::vector<SlotRange> parse_cluster_slots(const redisReply& reply, const ClusterNodeAddress& asked,
                                           std::string_view server);

/// A slot map as both cluster clients keep it: the master serving each slot, by its
/// place in `masters`, and every node the map names.
struct SlotMap {
  static constexpr std::uint16_t kNoMaster = 0xFFFF;
  std::array<std::uint16_t, kClusterSlots> owner{};  ///< index into masters, or kNoMaster
  std::vector<ClusterNodeAddress> masters;           ///< each once
  std::vector<ClusterNodeAddress> replicas;          ///< each once, for server_stats
};

/// The SlotMap of a CLUSTER SLOTS reply; throws as parse_cluster_slots does.
SlotMap read_slot_map(const redisReply& reply, const ClusterNodeAddress& asked,
                      std::string_view server);

/// Whom to ask for the slot map, in turn: `known` (the current map's masters), then the
/// seeds not among them.
std::vector<ClusterNodeAddress> slot_map_candidates(std::vector<ClusterNodeAddress> known,
                                                    std::span<const RedisNodeAddress> seeds);

}  // namespace gencache::detail
