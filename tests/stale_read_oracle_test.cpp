// Promise 1 under concurrency, eviction and lost counters, on every backend kind of the
// test registry, through Cache and through AsyncCache.
#include <random>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>

#include "gencache/memory_backend.hpp"
#include "gencache/testing.hpp"
#include "support/backend_kinds.hpp"
#include "support/cache_under_test.hpp"
#include "support/stale_read_oracle.hpp"

namespace gencache {
namespace {

void expect_no_stale_reads(const test::OracleResult& r) {
  EXPECT_EQ(r.stale_reads, 0u) << "of " << r.reads << " reads";
  EXPECT_GT(r.bumps, 0u);
  // With counters evicted every 0.5 ms and a sanitizer slowing every read, a run may serve
  // few reads from the cache and still mean something: at least 5% in an optimized build,
  // 2% in an unoptimized or sanitized one (TSan served 4.8% of 20,000 over AsyncCache).
  const std::uint64_t least_hits = r.reads / (GENCACHE_TEST_SLOW_BUILD ? 50 : 20);
  EXPECT_GT(r.cache_hits, least_hits)
      << "the cache must actually serve reads for the test to mean anything";
  std::printf("[ oracle   ] reads=%lu stale=%lu bumps=%lu failed_bumps=%lu hits=%lu\n",
              static_cast<unsigned long>(r.reads), static_cast<unsigned long>(r.stale_reads),
              static_cast<unsigned long>(r.bumps), static_cast<unsigned long>(r.failed_bumps),
              static_cast<unsigned long>(r.cache_hits));
}

// The oracle's size: 4 readers of 5,000 reads against 2 writers of 500 bumps in an
// optimized build. The builds scripts/test runs it in (on every kind, over both APIs: 28
// runs) are slower: 2,000 and 200 in the unoptimized dev build, 1,000 and 100 under TSan,
// which still interleave every reader with a hundred bumps or more.
test::OracleConfig oracle_config() {
  test::OracleConfig config;
  if (GENCACHE_TEST_SANITIZED) {
    config.reads_per_reader = 1000;
    config.bumps_per_writer = 100;
  } else if (GENCACHE_TEST_SLOW_BUILD) {
    config.reads_per_reader = 2000;
    config.bumps_per_writer = 200;
  }
  return config;
}

class StaleReadOracle : public ::testing::TestWithParam<test::KindAndApi> {
 protected:
  const std::string& kind() const { return std::get<0>(GetParam()); }
  test::Api api() const { return std::get<1>(GetParam()); }
};

TEST_P(StaleReadOracle, NoReadAfterABumpSeesOlderData) {
  test::TestBackend made = test::make_test_backend(kind());
  test::CacheUnderTest cache(api(), kind(), made.backend, CacheOptions{.prefix = made.prefix});
  test::CacheUnderTest writer(api(), kind(), made.backend, CacheOptions{.prefix = made.prefix});
  expect_no_stale_reads(test::run_stale_read_oracle(cache, writer, oracle_config()));
}

TEST_P(StaleReadOracle, NoStaleReadWhileCountersAreEvicted) {
  test::TestBackend made = test::make_test_backend(kind());
  auto faulty = std::make_shared<testing::FaultInjectingBackend>(made.backend);
  test::CacheUnderTest cache(api(), kind(), faulty, CacheOptions{.prefix = made.prefix});
  test::CacheUnderTest writer(api(), kind(), faulty, CacheOptions{.prefix = made.prefix});
  test::OracleConfig config = oracle_config();
  std::atomic<int> evicted{0};
  config.chaos = [&](const std::atomic<bool>& done) {
    std::mt19937 rng(3);
    while (!done) {
      try {
        if (faulty->evict_counter(ns("oracle", rng() % 4), made.prefix)) evicted.fetch_add(1);
      } catch (const backend_error&) {
        // A slow moment on a loaded machine: this eviction simply did not happen.
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  };
  const auto result = test::run_stale_read_oracle(cache, writer, config);
  expect_no_stale_reads(result);
  EXPECT_GT(evicted.load(), 0);
  EXPECT_GT(cache.stats().counter_recreations, 4u) << "counters were lost and re-created";
}

INSTANTIATE_TEST_SUITE_P(Backends, StaleReadOracle, ::testing::ValuesIn(test::kinds_and_apis()),
                         test::kind_and_api_name);

TEST(StaleReadOracleMemory, NoStaleReadUnderMemoryPressureEvictions) {
  MemoryOptions options;
  options.max_bytes = 96 * 1024;  // far less than the working set: constant eviction
  options.shards = 4;
  auto backend = std::make_shared<MemoryBackend>(options);
  Cache cache(backend);
  Cache writer(backend);
  test::OracleConfig config;
  config.keys_per_namespace = 200;
  const auto result = test::run_stale_read_oracle(cache, writer, config);
  EXPECT_EQ(result.stale_reads, 0u);
  EXPECT_GT(backend->usage().evictions, 1000u) << "the test must actually evict";
  EXPECT_LE(backend->usage().bytes, options.max_bytes);
}

}  // namespace
}  // namespace gencache
