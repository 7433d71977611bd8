#pragma once
// A real Redis Cluster for tests: redis-server nodes on free loopback ports (at most
// 55535, bus port + 10000), joined with `redis-cli --cluster create`, stopped in the
// destructor. Failover is quick and certain: node timeout 1 s, diskless sync at once,
// and any replica may be promoted (replica validity factor 0).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gencache/redis_backend.hpp"
#include "support/redis_server.hpp"
#include "support/test_certificates.hpp"

namespace gencache::test {

class RedisClusterServers {
 public:
  struct Options {
    int masters = 3;
    int replicas_per_master = 0;
    /// When set, every node also speaks TLS with these certificates on a port of its own
    /// (tls_port), its cluster bus and replication too; CLUSTER SLOTS and redirects name
    /// the TLS ports to a client on TLS and the plaintext ones to the others. Must outlive
    /// the cluster.
    const TestCertificates* tls = nullptr;
  };

  /// Starts the nodes, creates the cluster and waits (at most 30 s) until every node says
  /// cluster_state:ok and every replica's link to its master is up. Throws
  /// std::runtime_error if redis-server or redis-cli is missing (naming the package to
  /// install) or the cluster does not form.
  explicit RedisClusterServers(Options options);
  RedisClusterServers(const RedisClusterServers&) = delete;
  RedisClusterServers& operator=(const RedisClusterServers&) = delete;
  ~RedisClusterServers();

  /// Every node, masters and replicas, in start order.
  const std::vector<std::unique_ptr<RedisServer>>& nodes() const { return nodes_; }
  /// The node that is the master of `slot` now (asked of a running node).
  RedisServer& master_of(std::uint16_t slot) const;
  /// A replica of `master` now (asked of a running node).
  RedisServer& replica_of(const RedisServer& master) const;
  /// The ports of the nodes that are masters now.
  std::vector<std::uint16_t> master_ports() const;

  /// Waits (at most `seconds`) until every running node says cluster_state:ok and every
  /// replica's link is up; false if not.
  bool wait_until_healthy(int seconds = 30) const;

  /// "redis://127.0.0.1:P1,127.0.0.1:P2,...?cluster=true" plus "&query" when not empty.
  std::string url(std::string_view query = "") const;
  /// Seeds for every node, with 1 s timeouts.
  RedisClusterOptions options() const;
  /// The same on the nodes' TLS ports (Options::tls set).
  RedisClusterOptions tls_options() const;
  /// The TLS port of `node` (Options::tls set).
  std::uint16_t tls_port(const RedisServer& node) const;

 private:
  std::string directory_;  // the nodes' nodes.conf files
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<std::uint16_t> tls_ports_;  // of nodes_, in order; empty without TLS
};

}  // namespace gencache::test
