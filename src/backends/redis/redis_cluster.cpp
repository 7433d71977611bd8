// The Redis Cluster backend: a slot map, a RedisNode per master, and redirects followed.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "backends/redis/cluster_slots.hpp"
#include "backends/redis/redis_config.hpp"
#include "backends/redis/redis_errors.hpp"
#include "backends/redis/redis_node.hpp"
#include "gencache/error.hpp"
#include "gencache/redis_backend.hpp"

namespace gencache::detail {
namespace {

// A call follows at most this many MOVED or ASK redirects before it gives up.
constexpr int kMostRedirects = 5;
// The slot map is read again at most this often after failures.
constexpr std::chrono::milliseconds kRefreshInterval{100};

bool is_unreachable(const std::error_code& code) {
  return code == errc::backend_unavailable || code == errc::timeout;
}

// Which master serves each slot. Immutable once published.
struct Topology {
  SlotMap slots;
  std::vector<std::shared_ptr<RedisNode>> masters;  // of slots.masters, in its order
};

// The keys of one slot within a read, and what their MGET brought back.
struct SlotGroup {
  std::vector<std::size_t> indices;  // positions in the caller's keys
  std::vector<std::string_view> keys;
  std::shared_ptr<RedisNode> node;
  Asking asking = Asking::no;
  Reply reply;
};

class RedisCluster final : public Backend {
 public:
  RedisCluster(RedisConfig base, std::vector<RedisNodeAddress> seeds, std::string description)
      : base_(std::move(base)), seeds_(std::move(seeds)), description_(std::move(description)) {}

  void get_many(std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) override {
    values.assign(keys.size(), std::nullopt);
    struct Copier final : ValueVisitor {
      std::vector<std::optional<std::string>>& out;
      explicit Copier(std::vector<std::optional<std::string>>& values) : out(values) {}
      void found(std::size_t index, std::string_view value) noexcept override {
        out[index].emplace(value);
      }
    } copier(values);
    read(keys, copier, "get_many");
  }

  void visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) override {
    read(keys, visitor, "visit_many");
  }

  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    on_key(key, "set", [&](RedisNode& node, Asking asking) { node.set(key, value, ttl, asking); });
  }

  bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    return on_key(key, "add", [&](RedisNode& node, Asking asking) {
      return node.add(key, value, ttl, asking);
    });
  }

  bool remove(std::string_view key) override {
    return on_key(key, "remove",
                  [&](RedisNode& node, Asking asking) { return node.remove(key, asking); });
  }

  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) override {
    return on_key(key, "increment", [&](RedisNode& node, Asking asking) {
      return node.increment(key, delta, asking);
    });
  }

  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override {
    return on_key(key, "create_counter", [&](RedisNode& node, Asking asking) {
      return node.create_counter(key, initial, ttl, asking);
    });
  }

  // One entry per node of the slot map, masters first; each seed's, saying why, when no
  // node gave the map.
  std::vector<ServerStats> server_stats() override {
    std::shared_ptr<const Topology> map;
    std::vector<ServerStats> stats;
    try {
      map = topology("stats");
    } catch (const backend_error& e) {
      for (const RedisNodeAddress& seed : seeds_)
        stats.push_back({fmt::format("{}:{}", seed.host, seed.port), {}, e.what()});
      return stats;
    }
    for (const auto& master : map->masters)
      for (ServerStats& one : master->server_stats()) stats.push_back(std::move(one));
    for (const ClusterNodeAddress& replica : map->slots.replicas)
      for (ServerStats& one : node_at(replica)->server_stats()) stats.push_back(std::move(one));
    return stats;
  }

  std::size_t max_value_size() const noexcept override { return base_.max_value_size; }
  bool wants_hash_tags() const noexcept override { return true; }
  std::string describe() const override { return description_; }

 private:
  // The master serving `slot`, reading the slot map first if it is due.
  std::shared_ptr<RedisNode> master_of(std::uint16_t slot, std::string_view operation) {
    const std::shared_ptr<const Topology> map = topology(operation);
    const std::uint16_t owner = map->slots.owner[slot];
    if (owner == SlotMap::kNoMaster) {
      refresh_wanted_ = true;
      throw_redis_error(description_, operation, errc::backend_unavailable,
                        fmt::format("no master serves slot {} in the slot map", slot));
    }
    return map->masters[owner];
  }

  // A call on the node serving `key`'s slot, following redirects.
  template <class Call>
  std::invoke_result_t<Call&, RedisNode&, Asking> on_key(std::string_view key,
                                                         std::string_view operation, Call&& call) {
    std::shared_ptr<RedisNode> node = master_of(cluster_key_slot(key), operation);
    Asking asking = Asking::no;
    for (int redirects = 0;; ++redirects) {
      try {
        return call(*node, asking);
      } catch (const redis_redirect_error& e) {
        if (redirects == kMostRedirects) throw;
        std::tie(node, asking) = follow(e.redirect());
      } catch (const backend_error& e) {
        if (is_unreachable(e.code())) refresh_wanted_ = true;
        throw;
      }
    }
  }

  std::pair<std::shared_ptr<RedisNode>, Asking> follow(const RedisRedirect& redirect) {
    if (!redirect.ask) refresh_wanted_ = true;  // a slot moved: others may have too
    return {node_at({redirect.host, redirect.port}), redirect.ask ? Asking::yes : Asking::no};
  }

  // Reads `keys`: one MGET per slot, all sent before any reply is read; values are visited
  // only once every reply has arrived and been checked.
  void read(std::span<const std::string_view> keys, ValueVisitor& visitor,
            std::string_view operation) {
    if (keys.empty()) return;
    std::vector<SlotGroup> groups = group_by_slot(keys, operation);
    std::vector<SlotGroup*> unanswered;
    for (SlotGroup& group : groups) unanswered.push_back(&group);
    for (int round = 0; !unanswered.empty(); ++round) {
      if (round > kMostRedirects)
        throw_redis_error(description_, operation, errc::protocol,
                          fmt::format("still redirected after {} redirects", kMostRedirects));
      try {
        send_and_receive(unanswered, operation);
      } catch (const backend_error& e) {
        if (is_unreachable(e.code())) refresh_wanted_ = true;
        throw;
      }
      // send_and_receive let only redirects through: those groups go again, elsewhere.
      std::vector<SlotGroup*> redirected;
      for (SlotGroup* group : unanswered) {
        const redisReply& reply = *group->reply;
        if (reply.type != REDIS_REPLY_ERROR) continue;
        std::tie(group->node, group->asking) =
            follow(*parse_redis_redirect({reply.str, reply.len}));
        redirected.push_back(group);
      }
      unanswered = std::move(redirected);
    }
    for (const SlotGroup& group : groups)
      for (std::size_t j = 0; j < group.keys.size(); ++j) {
        const redisReply& element = *group.reply->element[j];
        if (element.type == REDIS_REPLY_STRING)
          visitor.found(group.indices[j], {element.str, element.len});
      }
  }

  std::vector<SlotGroup> group_by_slot(std::span<const std::string_view> keys,
                                       std::string_view operation) {
    std::vector<std::pair<std::uint16_t, std::size_t>> slots(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) slots[i] = {cluster_key_slot(keys[i]), i};
    std::sort(slots.begin(), slots.end());
    std::vector<SlotGroup> groups;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (i == 0 || slots[i].first != slots[i - 1].first) {
        groups.emplace_back();
        groups.back().node = master_of(slots[i].first, operation);
      }
      groups.back().indices.push_back(slots[i].second);
      groups.back().keys.push_back(keys[slots[i].second]);
    }
    return groups;
  }

  // One connection per node involved: every node's MGETs are written before any reply is
  // read. Error replies other than redirects throw; so does a reply of the wrong shape.
  void send_and_receive(std::span<SlotGroup* const> groups, std::string_view operation) {
    std::vector<std::pair<RedisNode*, std::unique_ptr<RedisPool::Lease>>> connections;
    auto connection_to = [&](RedisNode& node) -> RedisConnection& {
      for (auto& [known, lease] : connections)
        if (known == &node) return **lease;
      connections.emplace_back(&node, std::unique_ptr<RedisPool::Lease>(
                                          new RedisPool::Lease(node.pool().acquire(operation))));
      return **connections.back().second;
    };
    try {
      for (SlotGroup* group : groups) {
        RedisConnection& connection = connection_to(*group->node);
        if (group->asking == Asking::yes) connection.ask_next();
        RedisNode::write_mget(connection, group->keys);
      }
      for (auto& [node, lease] : connections) (*lease)->send(operation);
      for (SlotGroup* group : groups) {
        RedisConnection& connection = connection_to(*group->node);
        group->reply = connection.receive(operation);
        const redisReply& reply = *group->reply;
        if (reply.type == REDIS_REPLY_ERROR && parse_redis_redirect({reply.str, reply.len}))
          continue;
        group->node->check_mget_reply(connection, reply, group->keys.size(), operation);
      }
    } catch (...) {
      // Replies may be left unread on any of them.
      for (auto& [node, lease] : connections) (*lease)->mark_broken();
      throw;
    }
  }

  // The current slot map, read again first when it is missing or a failure asked for it.
  std::shared_ptr<const Topology> topology(std::string_view operation) {
    std::shared_ptr<const Topology> current;
    {
      std::lock_guard lock(topology_mutex_);
      current = topology_;
    }
    if (current == nullptr) return refresh(operation, nullptr);
    if (refresh_wanted_.load(std::memory_order_relaxed)) {
      std::unique_lock refreshing(refresh_mutex_, std::try_to_lock);
      // Another thread reading the map: use the current one meanwhile.
      if (refreshing.owns_lock() &&
          std::chrono::steady_clock::now() - last_refresh_ >= kRefreshInterval) {
        try {
          return refresh_locked(operation);
        } catch (const backend_error&) {
          return current;  // no node answered: the old map is the best guess
        }
      }
    }
    return current;
  }

  std::shared_ptr<const Topology> refresh(std::string_view operation, std::nullptr_t) {
    std::lock_guard refreshing(refresh_mutex_);
    {
      std::lock_guard lock(topology_mutex_);
      if (topology_ != nullptr) return topology_;  // another thread read it meanwhile
    }
    return refresh_locked(operation);
  }

  // Asks the known masters, then the seeds, for CLUSTER SLOTS until one answers, and
  // publishes the map it gives. Holds refresh_mutex_.
  std::shared_ptr<const Topology> refresh_locked(std::string_view operation) {
    last_refresh_ = std::chrono::steady_clock::now();
    refresh_wanted_ = false;
    std::vector<ClusterNodeAddress> known;
    {
      std::lock_guard lock(topology_mutex_);
      if (topology_ != nullptr) known = topology_->slots.masters;
    }
    const std::vector<ClusterNodeAddress> candidates =
        slot_map_candidates(std::move(known), seeds_);

    std::string failures;
    for (const ClusterNodeAddress& candidate : candidates) {
      try {
        std::shared_ptr<RedisNode> node = node_at(candidate);
        RedisConnection connection(node->config(), operation);
        connection.command().begin(2).arg("CLUSTER").arg("SLOTS");
        const Reply reply = connection.round_trip(operation);
        auto map = std::make_shared<Topology>();
        map->slots = read_slot_map(*reply, candidate, node->config().description);
        for (const ClusterNodeAddress& master : map->slots.masters)
          map->masters.push_back(node_at(master));
        std::lock_guard lock(topology_mutex_);
        topology_ = map;
        return map;
      } catch (const backend_error& e) {
        failures += failures.empty() ? "" : "; ";
        failures += e.what();
      }
    }
    refresh_wanted_ = true;
    throw_redis_error(description_, operation, errc::backend_unavailable,
                      fmt::format("no node gave the slot map: {}", failures));
  }

  // The node at `address`, one per address for the backend's lifetime, so its pooled
  // connections survive a change of map.
  std::shared_ptr<RedisNode> node_at(const ClusterNodeAddress& address) {
    std::lock_guard lock(nodes_mutex_);
    const auto key = std::pair(address.host, address.port);
    auto it = nodes_.find(key);
    if (it != nodes_.end()) return it->second;
    auto node =
        std::make_shared<RedisNode>(redis_cluster_node_config(base_, address.host, address.port));
    nodes_.emplace(key, node);
    return node;
  }

  const RedisConfig base_;
  const std::vector<RedisNodeAddress> seeds_;
  const std::string description_;
  std::mutex nodes_mutex_;
  std::map<std::pair<std::string, std::uint16_t>, std::shared_ptr<RedisNode>> nodes_;
  std::mutex topology_mutex_;
  std::shared_ptr<const Topology> topology_;  // null until first read
  std::mutex refresh_mutex_;                  // one thread reads the map at a time
  std::chrono::steady_clock::time_point last_refresh_;
  std::atomic<bool> refresh_wanted_{false};
};

}  // namespace
}  // namespace gencache::detail

namespace gencache {

std::shared_ptr<Backend> make_redis_cluster_backend(RedisClusterOptions options) {
  detail::RedisConfig base = detail::make_redis_cluster_config(options);
  std::string description = detail::describe_redis_cluster(options.seeds);
  return std::make_shared<detail::RedisCluster>(std::move(base), std::move(options.seeds),
                                                std::move(description));
}

}  // namespace gencache
