#include "support/redis_cluster.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace gencache::test {
namespace {

// The lines of CLUSTER NODES: "<id> <ip:port@bus> <flags> <master id> ... <slots>".
struct NodeLine {
  std::string id;
  std::string master_id;  // "-" for a master
  std::uint16_t port = 0;
  bool master = false;
  bool failed = false;
  std::vector<std::pair<int, int>> slots;
};

std::vector<NodeLine> parse_cluster_nodes(const std::string& text) {
  std::vector<NodeLine> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, address, flags, master, ping, pong, epoch, link;
    if (!(fields >> id >> address >> flags >> master >> ping >> pong >> epoch >> link)) continue;
    NodeLine node;
    node.id = id;
    node.master_id = master;
    const auto colon = address.find(':');
    const auto at = address.find('@');
    if (colon == std::string::npos || at == std::string::npos) continue;
    node.port = static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1, at - colon - 1)));
    node.master = flags.find("master") != std::string::npos;
    node.failed = flags.find("fail") != std::string::npos;
    std::string range;
    while (fields >> range) {
      if (range.starts_with('[')) continue;  // a slot being migrated
      const auto dash = range.find('-');
      const int first = std::stoi(range.substr(0, dash));
      const int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
      node.slots.emplace_back(first, last);
    }
    lines.push_back(std::move(node));
  }
  return lines;
}

void require_redis_cli() {
  if (std::system("command -v redis-cli > /dev/null 2>&1") != 0)
    throw std::runtime_error("redis-cli binary not found: apt-get install redis-tools");
}

}  // namespace

RedisClusterServers::RedisClusterServers(Options options) {
  require_redis_cli();
  char pattern[] = "/tmp/gencache-cluster-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  directory_ = pattern;
  const int count = options.masters * (1 + options.replicas_per_master);
  for (int i = 0; i < count; ++i) {
    const std::string dir = fmt::format("{}/node{}", directory_, i);
    std::filesystem::create_directory(dir);
    std::vector<std::string> args = {"--cluster-enabled",
                                     "yes",
                                     "--cluster-config-file",
                                     "nodes.conf",
                                     "--dir",
                                     dir,
                                     "--cluster-node-timeout",
                                     "1000",
                                     "--repl-diskless-sync-delay",
                                     "0",
                                     "--cluster-replica-validity-factor",
                                     "0"};
    if (options.tls != nullptr) {
      // The bus listens on the TLS port + 10000: that port is the cluster's to pick.
      tls_ports_.push_back(free_cluster_port());
      const TestCertificates& certs = *options.tls;
      args.insert(args.end(),
                  {"--tls-port", std::to_string(tls_ports_.back()), "--tls-cluster", "yes",
                   "--tls-replication", "yes", "--tls-cert-file", certs.file("server.pem"),
                   "--tls-key-file", certs.file("server.key"), "--tls-ca-cert-file",
                   certs.file("ca.pem"), "--tls-auth-clients", "no"});
    }
    nodes_.push_back(std::make_unique<RedisServer>(
        RedisServer::Options{.extra_args = std::move(args), .cluster_port = true}));
  }
  // Bounded: redis-cli waits without end for nodes that cannot meet (once seen when a
  // node's bus port was lost to a parallel test), and a hung fixture costs CI its timeout.
  std::string command = "timeout 60 redis-cli --cluster create";
  for (const auto& node : nodes_) command += " " + node->address();
  command += fmt::format(" --cluster-replicas {} --cluster-yes > {}/create.log 2>&1",
                         options.replicas_per_master, directory_);
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error(fmt::format(
        "redis-cli --cluster create failed or took over 60 s; see {}/create.log", directory_));
  if (!wait_until_healthy())
    throw std::runtime_error(
        fmt::format("the Redis Cluster in {} did not become healthy", directory_));
}

RedisClusterServers::~RedisClusterServers() {
  nodes_.clear();  // stops them
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

bool RedisClusterServers::wait_until_healthy(int seconds) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    bool healthy = true;
    for (const auto& node : nodes_) {
      if (!node->running()) continue;
      try {
        if (node->command({"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
          healthy = false;
          break;
        }
        const std::string replication = node->command({"INFO", "replication"});
        if (replication.find("role:slave") != std::string::npos &&
            replication.find("master_link_status:up") == std::string::npos) {
          healthy = false;
          break;
        }
      } catch (const std::runtime_error&) {
        healthy = false;
        break;
      }
    }
    if (healthy) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

RedisServer& RedisClusterServers::master_of(std::uint16_t slot) const {
  for (const auto& asked : nodes_) {
    if (!asked->running()) continue;
    for (const NodeLine& line : parse_cluster_nodes(asked->command({"CLUSTER", "NODES"}))) {
      if (!line.master || line.failed) continue;
      for (const auto& [first, last] : line.slots)
        if (slot >= first && slot <= last)
          for (const auto& node : nodes_)
            if (node->port() == line.port) return *node;
    }
  }
  throw std::runtime_error(fmt::format("no running master serves slot {}", slot));
}

RedisServer& RedisClusterServers::replica_of(const RedisServer& master) const {
  for (const auto& asked : nodes_) {
    if (!asked->running()) continue;
    const std::vector<NodeLine> lines = parse_cluster_nodes(asked->command({"CLUSTER", "NODES"}));
    for (const NodeLine& line : lines) {
      if (line.port != master.port()) continue;
      for (const NodeLine& other : lines)
        if (other.master_id == line.id && !other.failed)
          for (const auto& node : nodes_)
            if (node->port() == other.port) return *node;
    }
  }
  throw std::runtime_error(fmt::format("the master on port {} has no replica", master.port()));
}

std::vector<std::uint16_t> RedisClusterServers::master_ports() const {
  for (const auto& asked : nodes_) {
    if (!asked->running()) continue;
    std::vector<std::uint16_t> ports;
    for (const NodeLine& line : parse_cluster_nodes(asked->command({"CLUSTER", "NODES"})))
      if (line.master && !line.failed && !line.slots.empty()) ports.push_back(line.port);
    return ports;
  }
  throw std::runtime_error("no node of the cluster is running");
}

std::string RedisClusterServers::url(std::string_view query) const {
  std::string text = "redis://";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (i != 0) text += ',';
    text += nodes_[i]->address();
  }
  text += "?cluster=true";
  if (!query.empty()) {
    text += '&';
    text += query;
  }
  return text;
}

RedisClusterOptions RedisClusterServers::options() const {
  RedisClusterOptions options;
  for (const auto& node : nodes_) options.seeds.push_back({"127.0.0.1", node->port()});
  options.connection.io_timeout = std::chrono::seconds(1);
  options.connection.connect_timeout = std::chrono::seconds(1);
  return options;
}

RedisClusterOptions RedisClusterServers::tls_options() const {
  RedisClusterOptions options = this->options();  // a seed per node, in their order
  for (std::size_t i = 0; i < nodes_.size(); ++i) options.seeds[i].port = tls_port(*nodes_[i]);
  return options;
}

std::uint16_t RedisClusterServers::tls_port(const RedisServer& node) const {
  for (std::size_t i = 0; i < tls_ports_.size(); ++i)
    if (nodes_[i].get() == &node) return tls_ports_[i];
  throw std::logic_error("the Redis Cluster was made without TLS");
}

}  // namespace gencache::test
