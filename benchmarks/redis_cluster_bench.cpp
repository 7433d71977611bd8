// Redis Cluster and failover-safe bumps, side by side in one run, on servers the program
// starts itself (persistence off, loopback):
//
//   reads:  a raw GET of a 512 B value on one cluster node vs a gencache hit on a
//           3-master cluster with 1 namespace (one MGET to one node) and with 3
//           namespaces whose keys live on 3 different nodes (one MGET per node, sent
//           together), through the blocking hiredis client and through the asynchronous
//           one driven on an I/O thread (what Cache::from_url makes of
//           rediss://...?cluster=true, here without TLS)
//   bumps:  bump_namespace on a master with one replica, wait_replicas=0 vs 1 (INCR
//           script plus WAIT 1), beside a raw INCR
#include <hiredis/hiredis.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "async_backend_thread.hpp"
#include "backends/redis/cluster_slots.hpp"
#include "gencache/cache.hpp"
#include "gencache/redis_async_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "gencache/testing.hpp"
#include "page_reads.hpp"
#include "raw_redis.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"

namespace {

using namespace std::chrono_literals;
using gencache::bench::HitCheck;
using gencache::bench::kValueSize;
using gencache::bench::RawRedis;
using gencache::bench::Reply;

constexpr const char* kRoundTrips = "round_trips";

// Namespaces whose counters live on `count` different masters of `cluster`.
gencache::NamespaceSet spread_namespaces(const gencache::test::RedisClusterServers& cluster,
                                         const gencache::Backend& backend, std::size_t count) {
  std::map<std::uint16_t, gencache::Namespace> by_master;
  for (int i = 0; by_master.size() < count && i < 10000; ++i) {
    const gencache::Namespace candidate = gencache::ns("spread", i);
    const auto slot =
        gencache::detail::cluster_key_slot(gencache::testing::counter_key(backend, candidate));
    by_master.emplace(cluster.master_of(slot).port(), candidate);
  }
  std::vector<gencache::Namespace> names;
  for (const auto& [port, name] : by_master) names.push_back(name);
  return gencache::NamespaceSet(names);
}

// Everything the benchmarks use, started on first use from the main thread (the fixtures
// require the thread that starts them to outlive them) and killed at exit.
struct World {
  gencache::test::RedisClusterServers cluster{{.masters = 3}};
  gencache::Cache cache{make_redis_cluster_backend(cluster.options())};
  // The same entries, read by the asynchronous client: both place keys alike.
  gencache::Cache async_cache{std::make_shared<gencache::detail::AsyncBackendThread>(
      [this](boost::asio::any_io_executor executor) {
        return gencache::make_redis_async_cluster_backend(std::move(executor),
                                                          {.cluster = cluster.options()});
      })};
  gencache::NamespaceSet one = gencache::ns("user", 42);
  gencache::NamespaceSet three = spread_namespaces(cluster, cache.backend(), 3);
  std::vector<std::string> raw_keys = gencache::bench::page_keys("raw:");
  std::unique_ptr<RawRedis> raw;  // on the node that holds the first raw key

  gencache::test::RedisServer master;
  std::unique_ptr<gencache::test::RedisServer> replica = gencache::test::start_replica_of(master);
  gencache::Cache no_wait = bump_cache(0);
  gencache::Cache wait_one = bump_cache(1);
  RawRedis raw_master{master.port()};

  World() {
    // Every raw key in one slot, so one node answers them all, as one server would.
    for (std::string& key : raw_keys) key = "{raw}" + key;
    raw = std::make_unique<RawRedis>(
        cluster.master_of(gencache::detail::cluster_key_slot(raw_keys[0])).port());
    for (int page = 0; page < gencache::bench::kPages; ++page) {
      raw->run({"SET", raw_keys[page], gencache::bench::value_512()});
      cache.set(gencache::bench::page_key(page), one, gencache::bench::value_512(), 1h);
      cache.set(gencache::bench::page_key(page), three, gencache::bench::value_512(), 1h);
    }
    raw_master.run({"SET", "raw:counter", "4242"});
  }

  gencache::Cache bump_cache(std::uint32_t replicas) const {
    gencache::RedisOptions options;
    options.port = master.port();
    // Generous bounds: an acknowledged WAIT returns in microseconds, so they change no
    // figure, but the smoke run shares a loaded machine with the whole test suite.
    options.io_timeout = 3s;
    options.wait_replicas = replicas;
    options.wait_timeout = 2s;
    return gencache::Cache(gencache::make_redis_backend(options));
  }
};

World& world() {
  static World instance;
  return instance;
}

// ---- reads -------------------------------------------------------------------------------

void BM_RawGetOneNode(benchmark::State& state) {
  World& w = world();
  std::size_t i = 0;
  for (auto _ : state) {
    const Reply reply = w.raw->run({"GET", w.raw_keys[i++ % w.raw_keys.size()]});
    if (reply->type != REDIS_REPLY_STRING || reply->len != kValueSize) {
      state.SkipWithError("raw GET missed");
      break;
    }
    benchmark::DoNotOptimize(reply->str);
  }
}
BENCHMARK(BM_RawGetOneNode);

void BM_ClusterHit(benchmark::State& state) {
  World& w = world();
  const gencache::NamespaceSet& set = state.range(0) == 1 ? w.one : w.three;
  gencache::Cache& cache = state.range(1) == 0 ? w.cache : w.async_cache;
  const std::vector<std::string> keys = gencache::bench::page_keys();
  HitCheck check(state, cache, kRoundTrips);
  std::size_t i = 0;
  for (auto _ : state) {
    std::string value =
        cache.cached(keys[i++ % keys.size()], set, 1h, [] { return std::string("computed"); });
    benchmark::DoNotOptimize(value.data());
  }
}
BENCHMARK(BM_ClusterHit)
    ->ArgNames({"namespaces_on_nodes", "async_client"})
    ->Args({1, 0})
    ->Args({3, 0})
    ->Args({1, 1})
    ->Args({3, 1});

// ---- bumps -------------------------------------------------------------------------------

void BM_RawIncr(benchmark::State& state) {
  RawRedis& raw = world().raw_master;
  for (auto _ : state) {
    const Reply reply = raw.run({"INCR", "raw:counter"});
    benchmark::DoNotOptimize(reply->integer);
  }
}
BENCHMARK(BM_RawIncr);

void BM_Bump(benchmark::State& state) {
  World& w = world();
  gencache::Cache& cache = state.range(0) == 0 ? w.no_wait : w.wait_one;
  HitCheck check(state, cache, kRoundTrips);
  for (auto _ : state) benchmark::DoNotOptimize(cache.bump_namespace(gencache::ns("user", 7)));
}
BENCHMARK(BM_Bump)->ArgName("wait_replicas")->Arg(0)->Arg(1);

}  // namespace
