#include "backends/redis/cluster_slots.hpp"

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
    const redisReply* master = range->element[2];
    if (master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
        master->element[0]->type != REDIS_REPLY_STRING ||
        !is_integer_in(master->element[1], 1, 65535))
      malformed(server, "expected [host, port, ...] for each master");
    SlotRange parsed;
    parsed.first = static_cast<std::uint16_t>(range->element[0]->integer);
    parsed.last = static_cast<std::uint16_t>(range->element[1]->integer);
    parsed.master.host.assign(master->element[0]->str, master->element[0]->len);
    parsed.master.port = static_cast<std::uint16_t>(master->element[1]->integer);
    if (parsed.master.host.empty()) parsed.master.host = asked.host;
    ranges.push_back(std::move(parsed));
  }
  return ranges;
}

}  // namespace gencache::detail
