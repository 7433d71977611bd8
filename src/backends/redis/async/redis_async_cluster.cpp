// The asynchronous Redis Cluster backend: the slot map, a RedisAsyncNode per node, and
// redirects followed, every step started from the previous one's completion.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "backends/at_home.hpp"
#include "backends/redis/async/redis_async_node.hpp"
#include "backends/redis/cluster_slots.hpp"
#include "backends/redis/redis_config.hpp"
#include "backends/redis/redis_errors.hpp"
#include "gencache/error.hpp"
#include "gencache/redis_async_backend.hpp"

namespace gencache::detail {
// Named, not anonymous: the library is a unity build, and redis_cluster.cpp has the
// blocking client's Topology and limits in an anonymous namespace of gencache::detail.
namespace async_cluster {

using clock = std::chrono::steady_clock;

// The blocking cluster client's limits (redis_cluster.cpp), so both behave alike.
constexpr int kMostRedirects = 5;
constexpr std::chrono::milliseconds kRefreshInterval{100};

template <class Signature>
using handler = AsyncBackend::handler<Signature>;

// The redirect a failure carries, when it is one.
std::optional<RedisRedirect> redirect_in(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const redis_redirect_error& e) {
    return e.redirect();
  } catch (...) {
    return std::nullopt;
  }
}

// Whether a failure says a node cannot be reached now (refused, timed out, CLUSTERDOWN).
bool is_unreachable(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const backend_error& e) {
    return e.code() == errc::backend_unavailable || e.code() == errc::timeout;
  } catch (...) {
    return false;
  }
}

std::string message_of(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an unknown failure";
  }
}

// Which master serves each slot. Immutable once published.
struct Topology {
  SlotMap slots;
  std::vector<std::shared_ptr<RedisAsyncNode>> masters;  // of slots.masters, in its order
};

using TopologyHandler = std::function<void(std::exception_ptr, std::shared_ptr<const Topology>)>;

// What the calls of one backend share: the nodes, the slot map and its refresh. Calls
// hold it while they run, so their completions never outlive it. Thread-safe.
class ClusterState : public std::enable_shared_from_this<ClusterState> {
 public:
  ClusterState(boost::asio::any_io_executor executor, RedisConfig base,
               std::vector<RedisNodeAddress> seeds, std::size_t connections, RedisNodeTls tls,
               std::string description)
      : executor_(std::move(executor)),
        base_(std::move(base)),
        seeds_(std::move(seeds)),
        connections_(connections),
        tls_(std::move(tls)),
        description_(std::move(description)) {}

  const std::string& description() const noexcept { return description_; }
  const boost::asio::any_io_executor& executor() const noexcept { return executor_; }
  const std::vector<RedisNodeAddress>& seeds() const noexcept { return seeds_; }
  std::size_t max_value_size() const noexcept { return base_.max_value_size; }

  // Calls `then` with the slot map: at once when there is one (starting a refresh in the
  // background when a failure asked for one), else once a node has given it or none could.
  void with_topology(TopologyHandler then) {
    std::unique_lock lock(mutex_);
    std::shared_ptr<const Topology> map = topology_;
    bool start = false;
    if (map == nullptr) {
      waiting_.push_back(std::move(then));
      start = !refreshing_;
    } else {
      start = !refreshing_ && refresh_wanted_.load(std::memory_order_relaxed) &&
              clock::now() - last_refresh_ >= kRefreshInterval;
    }
    if (start) begin_refresh_locked();
    std::vector<ClusterNodeAddress> candidates;
    if (start) candidates = candidates_locked();
    lock.unlock();
    if (start)
      ask(std::make_shared<const std::vector<ClusterNodeAddress>>(std::move(candidates)), 0, {});
    if (map != nullptr) then(nullptr, std::move(map));
  }

  // The node at `address`, one per address for the backend's lifetime, so its
  // connections survive a change of map.
  std::shared_ptr<RedisAsyncNode> node_at(const ClusterNodeAddress& address) {
    std::lock_guard lock(mutex_);
    const auto key = std::pair(address.host, address.port);
    if (auto it = nodes_.find(key); it != nodes_.end()) return it->second;
    auto node = std::make_shared<RedisAsyncNode>(
        executor_, redis_cluster_node_config(base_, address.host, address.port), connections_,
        tls_);
    if (closed_) node->close();  // a redirect after the backend went: fails at once
    nodes_.emplace(key, node);
    return node;
  }

  // Where a redirect sends the call next; a MOVED also says the map is out of date.
  std::pair<std::shared_ptr<RedisAsyncNode>, Asking> follow(const RedisRedirect& redirect) {
    if (!redirect.ask) want_refresh();
    return {node_at({redirect.host, redirect.port}), redirect.ask ? Asking::yes : Asking::no};
  }

  // After a failure the caller gets: a node out of reach may mean a failover.
  void note_failure(const std::exception_ptr& failure) {
    if (is_unreachable(failure)) want_refresh();
  }
  void want_refresh() { refresh_wanted_.store(true, std::memory_order_relaxed); }

  // `failure` (the slot map could not be read), told as a failure of `operation`.
  std::exception_ptr as_call_failure(std::string_view operation,
                                     const std::exception_ptr& failure) const {
    errc code = errc::backend_unavailable;
    try {
      std::rethrow_exception(failure);
    } catch (const backend_error& e) {
      code = static_cast<errc>(e.code().value());
    } catch (...) {
    }
    return std::make_exception_ptr(
        backend_error(code, fmt::format("{}: {} failed: {}", description_,
                                        redis_operation_words(operation), message_of(failure))));
  }

  // Fails what is pending on every node and refuses what follows.
  void close() {
    std::vector<std::shared_ptr<RedisAsyncNode>> nodes;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      for (const auto& [address, node] : nodes_) nodes.push_back(node);
    }
    for (const auto& node : nodes) node->close();
  }

 private:
  void begin_refresh_locked() {
    refreshing_ = true;
    last_refresh_ = clock::now();
    refresh_wanted_.store(false, std::memory_order_relaxed);
  }

  std::vector<ClusterNodeAddress> candidates_locked() const {
    return slot_map_candidates(
        topology_ != nullptr ? topology_->slots.masters : std::vector<ClusterNodeAddress>(),
        seeds_);
  }

  // Asks candidates[next] for CLUSTER SLOTS, and the next one if it does not answer.
  void ask(std::shared_ptr<const std::vector<ClusterNodeAddress>> candidates, std::size_t next,
           std::string failures) {
    if (next == candidates->size()) {
      want_refresh();
      return published(nullptr, std::make_exception_ptr(backend_error(
                                    errc::backend_unavailable,
                                    fmt::format("no node gave the slot map: {}", failures))));
    }
    std::shared_ptr<RedisAsyncNode> node = node_at((*candidates)[next]);
    RedisAsyncNode& asked = *node;
    asked.cluster_slots(
        [self = shared_from_this(), candidates, next, node = std::move(node),
         failures = std::move(failures)](std::exception_ptr failure, Reply reply) mutable {
          std::shared_ptr<const Topology> map;
          if (!failure) map = self->topology_from(*reply, (*candidates)[next], *node, failure);
          if (map != nullptr) return self->published(std::move(map), nullptr);
          failures += failures.empty() ? "" : "; ";
          failures += message_of(failure);
          self->ask(std::move(candidates), next + 1, std::move(failures));
        });
  }

  // The map a CLUSTER SLOTS reply gives; null, and `failure` set, when it gives none.
  std::shared_ptr<const Topology> topology_from(const redisReply& reply,
                                                const ClusterNodeAddress& asked,
                                                const RedisAsyncNode& node,
                                                std::exception_ptr& failure) {
    try {
      auto map = std::make_shared<Topology>();
      map->slots = read_slot_map(reply, asked, node.config().description);
      for (const ClusterNodeAddress& master : map->slots.masters)
        map->masters.push_back(node_at(master));
      return map;
    } catch (...) {
      failure = std::current_exception();
    }
    return nullptr;
  }

  // Ends a refresh: publishes `map` (when one was read) and hands the current map, or
  // `failure` when there is none, to every call that waited for it.
  void published(std::shared_ptr<const Topology> map, const std::exception_ptr& failure) {
    std::vector<TopologyHandler> woken;
    std::shared_ptr<const Topology> current;
    {
      std::lock_guard lock(mutex_);
      refreshing_ = false;
      if (map != nullptr) topology_ = std::move(map);
      current = topology_;
      woken.swap(waiting_);
    }
    for (TopologyHandler& then : woken) {
      if (current != nullptr)
        then(nullptr, current);
      else
        then(failure, nullptr);
    }
  }

  const boost::asio::any_io_executor executor_;
  const RedisConfig base_;
  const std::vector<RedisNodeAddress> seeds_;
  const std::size_t connections_;
  const RedisNodeTls tls_;
  const std::string description_;
  std::atomic<bool> refresh_wanted_{false};
  std::mutex mutex_;  // guards what follows
  std::map<std::pair<std::string, std::uint16_t>, std::shared_ptr<RedisAsyncNode>> nodes_;
  std::shared_ptr<const Topology> topology_;  // null until a node gave it
  bool refreshing_ = false;
  bool closed_ = false;
  clock::time_point last_refresh_{};
  std::vector<TopologyHandler> waiting_;  // calls that wait for the first map
};

// One key's call: sent to the master of the key's slot, then wherever redirects point.
template <class... Result>
class KeyCall : public std::enable_shared_from_this<KeyCall<Result...>> {
 public:
  using Done = handler<void(std::exception_ptr, Result...)>;
  using Send = std::function<void(RedisAsyncNode&, Asking, Done)>;

  KeyCall(std::shared_ptr<ClusterState> cluster, std::uint16_t slot, std::string_view operation,
          Send send, Done done)
      : cluster_(std::move(cluster)),
        slot_(slot),
        operation_(operation),
        send_(std::move(send)),
        done_(std::move(done)) {}

  void start() {
    cluster_->with_topology([self = this->shared_from_this()](std::exception_ptr failure,
                                                              std::shared_ptr<const Topology> map) {
      if (failure) return self->fail(self->cluster_->as_call_failure(self->operation_, failure));
      const std::uint16_t owner = map->slots.owner[self->slot_];
      if (owner == SlotMap::kNoMaster) {
        self->cluster_->want_refresh();
        return self->fail(self->cluster_->as_call_failure(
            self->operation_,
            std::make_exception_ptr(backend_error(
                errc::backend_unavailable,
                fmt::format("no master serves slot {} in the slot map", self->slot_)))));
      }
      self->send_to(map->masters[owner], Asking::no);
    });
  }

 private:
  void send_to(std::shared_ptr<RedisAsyncNode> node, Asking asking) {
    RedisAsyncNode& target = *node;
    send_(target, asking,
          [self = this->shared_from_this(), node = std::move(node)](std::exception_ptr failure,
                                                                    Result... result) mutable {
            if (failure) {
              if (auto redirect = redirect_in(failure);
                  redirect && self->redirects_ < kMostRedirects) {
                ++self->redirects_;
                auto [next, next_asking] = self->cluster_->follow(*redirect);
                return self->send_to(std::move(next), next_asking);
              }
              self->cluster_->note_failure(failure);
            }
            self->finish(std::move(failure), std::move(result)...);
          });
  }

  void fail(std::exception_ptr failure) { finish(std::move(failure), Result{}...); }
  void finish(std::exception_ptr failure, Result... values) {
    Done done = std::move(done_);
    std::move(done)(std::move(failure), std::move(values)...);
  }

  std::shared_ptr<ClusterState> cluster_;
  std::uint16_t slot_;
  std::string_view operation_;
  Send send_;
  Done done_;
  int redirects_ = 0;  // one step runs at a time: no lock
};

// A multi-get: one MGET per slot, all sent at once, each to its slot's master and then
// wherever redirects point; the values are visited once every reply is in and checked.
class Read : public std::enable_shared_from_this<Read> {
 public:
  Read(std::shared_ptr<ClusterState> cluster, std::span<const std::string_view> keys,
       ValueVisitor& visitor, handler<void(std::exception_ptr)> done)
      : cluster_(std::move(cluster)), keys_(keys), visitor_(visitor), done_(std::move(done)) {}

  void start() {
    cluster_->with_topology([self = shared_from_this()](std::exception_ptr failure,
                                                        std::shared_ptr<const Topology> map) {
      if (failure) return self->finish(self->cluster_->as_call_failure("visit_many", failure));
      self->send_all(*map);
    });
  }

 private:
  struct Group {
    std::uint16_t slot = 0;
    std::vector<std::size_t> indices;  // positions in the caller's keys
    std::vector<std::string_view> keys;
    Reply reply;
    std::exception_ptr failure;
    int redirects = 0;
  };

  void send_all(const Topology& map) {
    std::vector<std::pair<std::uint16_t, std::size_t>> slots(keys_.size());
    for (std::size_t i = 0; i < keys_.size(); ++i) slots[i] = {cluster_key_slot(keys_[i]), i};
    std::sort(slots.begin(), slots.end());
    std::vector<std::shared_ptr<RedisAsyncNode>> masters;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (i == 0 || slots[i].first != slots[i - 1].first) {
        const std::uint16_t owner = map.slots.owner[slots[i].first];
        if (owner == SlotMap::kNoMaster) {
          cluster_->want_refresh();
          return finish(cluster_->as_call_failure(
              "visit_many",
              std::make_exception_ptr(backend_error(
                  errc::backend_unavailable,
                  fmt::format("no master serves slot {} in the slot map", slots[i].first)))));
        }
        groups_.emplace_back().slot = slots[i].first;
        masters.push_back(map.masters[owner]);
      }
      groups_.back().indices.push_back(slots[i].second);
      groups_.back().keys.push_back(keys_[slots[i].second]);
    }
    const std::size_t count = groups_.size();
    remaining_.store(count, std::memory_order_relaxed);
    for (std::size_t g = 0; g < count; ++g) send(g, std::move(masters[g]), Asking::no);
  }

  void send(std::size_t g, std::shared_ptr<RedisAsyncNode> node, Asking asking) {
    RedisAsyncNode& target = *node;
    target.mget(groups_[g].keys, asking,
                [self = shared_from_this(), g, node = std::move(node)](std::exception_ptr failure,
                                                                       Reply reply) mutable {
                  Group& group = self->groups_[g];
                  if (failure) {
                    if (auto redirect = redirect_in(failure);
                        redirect && group.redirects < kMostRedirects) {
                      ++group.redirects;
                      auto [next, next_asking] = self->cluster_->follow(*redirect);
                      return self->send(g, std::move(next), next_asking);
                    }
                    self->cluster_->note_failure(failure);
                    group.failure = std::move(failure);
                  } else {
                    group.reply = std::move(reply);
                  }
                  // The last group in finishes; acq_rel makes the others' replies visible.
                  if (self->remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1)
                    self->finish_read();
                });
  }

  void finish_read() {
    for (const Group& group : groups_)
      if (group.failure) return finish(group.failure);
    for (const Group& group : groups_)
      for (std::size_t j = 0; j < group.keys.size(); ++j) {
        const redisReply& element = *group.reply->element[j];
        if (element.type == REDIS_REPLY_STRING)
          visitor_.found(group.indices[j], {element.str, element.len});
      }
    finish(nullptr);
  }

  void finish(std::exception_ptr failure) {
    handler<void(std::exception_ptr)> done = std::move(done_);
    std::move(done)(std::move(failure));
  }

  std::shared_ptr<ClusterState> cluster_;
  std::span<const std::string_view> keys_;
  ValueVisitor& visitor_;
  handler<void(std::exception_ptr)> done_;
  std::vector<Group> groups_;  // sized before the first MGET leaves, never after
  std::atomic<std::size_t> remaining_{0};
};

// Every node's INFO, gathered in the map's order as the replies come in.
struct StatsGathering {
  explicit StatsGathering(handler<void(std::vector<ServerStats>)> d) : done(std::move(d)) {}
  std::vector<ServerStats> stats;
  std::atomic<std::size_t> remaining{0};
  handler<void(std::vector<ServerStats>)> done;

  void finish() {
    handler<void(std::vector<ServerStats>)> callback = std::move(done);
    std::move(callback)(std::move(stats));
  }
};

class RedisAsyncCluster final : public AsyncBackend {
 public:
  explicit RedisAsyncCluster(std::shared_ptr<ClusterState> state) : state_(std::move(state)) {}
  ~RedisAsyncCluster() override { state_->close(); }
  RedisAsyncCluster(const RedisAsyncCluster&) = delete;
  RedisAsyncCluster& operator=(const RedisAsyncCluster&) = delete;

  void async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                        handler<void(std::exception_ptr)> done) override {
    if (keys.empty()) return std::move(done)(nullptr);
    std::make_shared<Read>(state_, keys, visitor, home(std::move(done)))->start();
  }

  void async_set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr)> done) override {
    on_key(
        key, "set",
        [key, value, ttl](RedisAsyncNode& node, Asking asking,
                          handler<void(std::exception_ptr)> then) {
          node.set(key, value, ttl, asking, std::move(then));
        },
        std::move(done));
  }

  void async_add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                 handler<void(std::exception_ptr, bool)> done) override {
    on_key(
        key, "add",
        [key, value, ttl](RedisAsyncNode& node, Asking asking,
                          handler<void(std::exception_ptr, bool)> then) {
          node.add(key, value, ttl, asking, std::move(then));
        },
        std::move(done));
  }

  void async_remove(std::string_view key, handler<void(std::exception_ptr, bool)> done) override {
    on_key(
        key, "remove",
        [key](RedisAsyncNode& node, Asking asking, handler<void(std::exception_ptr, bool)> then) {
          node.remove(key, asking, std::move(then));
        },
        std::move(done));
  }

  void async_increment(
      std::string_view key, std::uint64_t delta,
      handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) override {
    on_key(
        key, "increment",
        [key, delta](RedisAsyncNode& node, Asking asking,
                     handler<void(std::exception_ptr, std::optional<std::uint64_t>)> then) {
          node.increment(key, delta, asking, std::move(then));
        },
        std::move(done));
  }

  void async_create_counter(std::string_view key, std::uint64_t initial,
                            std::chrono::milliseconds ttl,
                            handler<void(std::exception_ptr, bool)> done) override {
    on_key(
        key, "create_counter",
        [key, initial, ttl](RedisAsyncNode& node, Asking asking,
                            handler<void(std::exception_ptr, bool)> then) {
          node.create_counter(key, initial, ttl, asking, std::move(then));
        },
        std::move(done));
  }

  void async_server_stats(handler<void(std::vector<ServerStats>)> done) override {
    auto gathering = std::make_shared<StatsGathering>(home(std::move(done)));
    state_->with_topology([state = state_, gathering](std::exception_ptr failure,
                                                      std::shared_ptr<const Topology> map) {
      if (failure) {
        for (const RedisNodeAddress& seed : state->seeds())
          gathering->stats.push_back({fmt::format("{}:{}", seed.host, seed.port),
                                      {},
                                      message_of(state->as_call_failure("stats", failure))});
        return gathering->finish();
      }
      std::vector<std::shared_ptr<RedisAsyncNode>> nodes = map->masters;
      for (const ClusterNodeAddress& replica : map->slots.replicas)
        nodes.push_back(state->node_at(replica));
      gathering->stats.resize(nodes.size());
      gathering->remaining.store(nodes.size(), std::memory_order_relaxed);
      if (nodes.empty()) return gathering->finish();
      for (std::size_t i = 0; i < nodes.size(); ++i)
        nodes[i]->server_stats([gathering, i](ServerStats stats) {
          gathering->stats[i] = std::move(stats);
          if (gathering->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1)
            gathering->finish();
        });
    });
  }

  std::size_t max_value_size() const noexcept override { return state_->max_value_size(); }
  bool wants_hash_tags() const noexcept override { return true; }
  std::string describe() const override { return state_->description(); }

 private:
  template <class... Result, class Send>
  void on_key(std::string_view key, std::string_view operation, Send send,
              handler<void(std::exception_ptr, Result...)> done) {
    std::make_shared<KeyCall<Result...>>(state_, cluster_key_slot(key), operation, std::move(send),
                                         home(std::move(done)))
        ->start();
  }

  // Completions come on the nodes' connection strands: each call's is taken to its
  // handler's own executor (or the backend's).
  template <class... Args>
  handler<void(Args...)> home(handler<void(Args...)> done) const {
    return at_home(std::move(done), state_->executor());
  }

  std::shared_ptr<ClusterState> state_;
};

}  // namespace async_cluster
}  // namespace gencache::detail

namespace gencache {

std::shared_ptr<AsyncBackend> make_redis_async_cluster_backend(
    boost::asio::any_io_executor executor, RedisAsyncClusterOptions options) {
  detail::check_redis_async_connections(options.connections);
  detail::RedisConfig base = detail::make_redis_cluster_config(options.cluster);
  std::string description = detail::describe_redis_cluster(
      options.cluster.seeds, options.tls.enabled ? "rediss" : "redis");
  auto state = std::make_shared<detail::async_cluster::ClusterState>(
      std::move(executor), std::move(base), std::move(options.cluster.seeds), options.connections,
      detail::make_redis_node_tls(options.tls), std::move(description));
  return std::make_shared<detail::async_cluster::RedisAsyncCluster>(std::move(state));
}

}  // namespace gencache
