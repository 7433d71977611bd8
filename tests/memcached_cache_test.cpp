// The Cache on real memcached servers under what only Memcached deployments see: a
// cluster, and counter eviction by Memcached's LRU. Promise 1 is checked by the stale-read
// oracle throughout. A restart, a hung server and the rest that Redis shares are in
// server_cache_test.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/memcached_backend.hpp"
#include "support/backend_kinds.hpp"
#include "support/memcached_server.hpp"
#include "support/stale_read_oracle.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using test::connect_memcached;
using test::print_oracle_result;

TEST(MemcachedCache, ClusterOfThreeWithKetamaHasNoStaleReads) {
  test::MemcachedServer a, b, c;
  auto backend = connect_memcached({a.address(), b.address(), c.address()});
  Cache readers(backend), writers(backend);
  const auto result = test::run_stale_read_oracle(readers, writers, {});
  print_oracle_result("cluster", result, readers.stats());
  EXPECT_EQ(result.stale_reads, 0u);
  EXPECT_GT(result.cache_hits, result.reads / 10);
  EXPECT_EQ(readers.stats().errors, 0u);
}

TEST(MemcachedCache, EvictedCountersAreRecreatedAndNothingStaleIsRead) {
  // 1 MiB of memory (memcached's smallest), plain LRU (whose 60 s bump interval leaves
  // busy counters at the tail), and a write-heavy filler of counter-sized items.
  test::MemcachedServer server(test::MemcachedServer::Options{
      .memory_mb = 1, .max_item_size = "512k", .extra_args = {"-o", "no_lru_maintainer"}});
  auto backend = connect_memcached({server.address()});
  Cache readers(backend), writers(backend);
  test::OracleConfig config;
  config.reads_per_reader = 8000;
  std::uint64_t filler_writes = 0;
  config.chaos = [&](const std::atomic<bool>& done) {
    while (!done) {
      try {
        for (int i = 0; i < 200; ++i, ++filler_writes)
          backend->set("filler:" + std::to_string(filler_writes), "4611686018427387904", 0ms);
      } catch (const backend_error&) {
        // A timeout on a loaded machine: keep filling.
      }
    }
  };
  auto result = test::run_stale_read_oracle(readers, writers, config);
  // A slow build (sanitizers) may finish the run before the filler has cycled the LRU:
  // fill once more, synchronously, then read again so evicted counters are re-created.
  for (int i = 0; i < 30000; ++i, ++filler_writes) {
    try {
      backend->set("filler:" + std::to_string(filler_writes), "4611686018427387904", 0ms);
    } catch (const backend_error&) {
    }
  }
  config.chaos = nullptr;
  config.reads_per_reader = 500;
  const auto second = test::run_stale_read_oracle(readers, writers, config);
  result.reads += second.reads;
  result.stale_reads += second.stale_reads;
  const Stats s = readers.stats();
  print_oracle_result("eviction", result, s);
  std::printf("[ eviction ] filler writes=%lu\n", static_cast<unsigned long>(filler_writes));
  EXPECT_EQ(result.stale_reads, 0u);
  // Each namespace's counter is created once at first use; anything beyond that is a
  // counter that was evicted and re-created under load.
  EXPECT_GT(s.counter_recreations + writers.stats().counter_recreations,
            static_cast<std::uint64_t>(config.namespaces))
      << "the tiny server must actually have evicted counters for this test to mean anything";
}

}  // namespace
}  // namespace gencache
