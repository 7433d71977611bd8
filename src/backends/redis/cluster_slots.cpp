#include "backends/redis/cluster_slots.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "backends/redis/redis_errors.hpp"
#include "crc16.hpp"

namespace gencache::detail {
namespace {

[[noreturn]] void malformed(std::string_view server, std::string_view what) {
  throw_redis_error(server, "reading the slot map", errc::protocol,
                    fmt::format("CLUSTER SLOTS: {}", what));
}

bool is_integer_in(const redisReply* reply, long long min, long long max) {
  return reply != nullptr && reply->type == REDIS_REPLY_INTEGER && reply->integer >= min &&
         reply->integer <= max;
}

// [host, port, ...], as CLUSTER SLOTS lists a master or a replica.
ClusterNodeAddress listed_node(const redisReply* node, std::string_view server,
                               std::string_view role) {
  if (node == nullptr || node->type != REDIS_REPLY_ARRAY || node->elements < 2 ||
      node->element[0]->type != REDIS_REPLY_STRING || !is_integer_in(node->element[1], 1, 65535))
    malformed(server, fmt::format("expected [host, port, ...] for each {}", role));
  return {std::string(node->element[0]->str, node->element[0]->len),
          static_cast<std::uint16_t>(node->element[1]->integer)};
}

}  // namespace

std::uint16_t cluster_key_slot(std::string_view key) noexcept {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return static_cast<std::uint16_t>(crc16_xmodem(key) % kClusterSlots);
}

std::vector<SlotRange> parse_cluster_slots(const redisReply& reply, const ClusterNodeAddress& asked,
                                           std::string_view server) {
  if (reply.type == REDIS_REPLY_ERROR)
    throw_redis_error(server, "reading the slot map", redis_reply_errc({reply.str, reply.len}),
                      {reply.str, reply.len});
  if (reply.type != REDIS_REPLY_ARRAY) malformed(server, "expected an array of slot ranges");
  std::vector<SlotRange> ranges;
  ranges.reserve(reply.elements);
  for (std::size_t i = 0; i < reply.elements; ++i) {
    const redisReply* range = reply.element[i];
    // [first, last, [host, port, id, ...], replicas...]
    if (range == nullptr || range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
        !is_integer_in(range->element[0], 0, kClusterSlots - 1) ||
        !is_integer_in(range->element[1], range->element[0]->integer, kClusterSlots - 1))
      malformed(server, "expected [first slot, last slot, master, ...] for each range");
    SlotRange parsed;
    parsed.first = static_cast<std::uint16_t>(range->element[0]->integer);
    parsed.last = static_cast<std::uint16_t>(range->element[1]->integer);
    parsed.master = listed_node(range->element[2], server, "master");
    if (parsed.master.host.empty()) parsed.master.host = asked.host;
    for (std::size_t r = 3; r < range->elements; ++r) {
      ClusterNodeAddress replica = listed_node(range->element[r], server, "replica");
      if (!replica.host.empty()) parsed.replicas.push_back(std::move(replica));
    }
    ranges.push_back(std::move(parsed));
  }
  return ranges;
}

SlotMap read_slot_map(const redisReply& reply, const ClusterNodeAddress& asked,
                      std::string_view server) {
  SlotMap map;
  map.owner.fill(SlotMap::kNoMaster);
  const auto index_of = [](std::vector<ClusterNodeAddress>& nodes, const ClusterNodeAddress& node) {
    auto known = std::find(nodes.begin(), nodes.end(), node);
    if (known == nodes.end()) known = nodes.insert(nodes.end(), node);
    return static_cast<std::uint16_t>(known - nodes.begin());
  };
  for (const SlotRange& range : parse_cluster_slots(reply, asked, server)) {
    const std::uint16_t master = index_of(map.masters, range.master);
    std::fill(map.owner.begin() + range.first, map.owner.begin() + range.last + 1, master);
    for (const ClusterNodeAddress& replica : range.replicas) index_of(map.replicas, replica);
  }
  return map;
}

std::vector<ClusterNodeAddress> slot_map_candidates(std::vector<ClusterNodeAddress> known,
                                                    std::span<const RedisNodeAddress> seeds) {
  for (const RedisNodeAddress& seed : seeds) {
    ClusterNodeAddress address{seed.host, seed.port};
    if (std::find(known.begin(), known.end(), address) == known.end())
      known.push_back(std::move(address));
  }
  return known;
}

}  // namespace gencache::detail
