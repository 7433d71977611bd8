// Expiry with an injected clock: deterministic, no sleeps.
#include <memory>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/testing.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;

struct ClockedCache {
  std::shared_ptr<testing::ManualClock> clock = std::make_shared<testing::ManualClock>();
  std::shared_ptr<MemoryBackend> backend =
      std::make_shared<MemoryBackend>(MemoryOptions{.clock = clock});
  Cache cache{backend, CacheOptions{.clock = clock}};
};

TEST(CacheExpiry, EntriesLiveForTheirTtlAndNoLonger) {
  ClockedCache c;
  int computes = 0;
  auto compute = [&] { return ++computes; };
  c.cache.cached("k", ns("u"), 10min, compute);
  c.clock->advance(10min - 1ms);
  EXPECT_EQ(c.cache.cached("k", ns("u"), 10min, compute), 1);
  c.clock->advance(2ms);
  EXPECT_EQ(c.cache.cached("k", ns("u"), 10min, compute), 2);
}

TEST(CacheExpiry, CountersDoNotExpireByDefault) {
  ClockedCache c;
  const auto g = c.cache.generation(ns("u"));
  c.clock->advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(c.cache.generation(ns("u")), g);
}

TEST(CacheExpiry, CounterTtlMakesCountersExpireAndRecreateFresh) {
  auto clock = std::make_shared<testing::ManualClock>();
  auto backend = std::make_shared<MemoryBackend>(MemoryOptions{.clock = clock});
  Cache cache(backend, CacheOptions{.clock = clock, .counter_ttl = 1h});
  int computes = 0;
  cache.cached("k", ns("u"), 2h, [&] { return ++computes; });
  const auto g = cache.generation(ns("u"));
  clock->advance(61min);
  EXPECT_NE(cache.generation(ns("u")), g);
  EXPECT_EQ(cache.cached("k", ns("u"), 2h, [&] { return ++computes; }), 2)
      << "an expired counter invalidates like a bump";
}

TEST(CacheExpiry, EnvelopeRecordsCreationTtlAndComputeTime) {
  ClockedCache c;
  // Envelopes are the byte path's: a Cache directly on a MemoryBackend stores typed
  // entries (see in_process_path_test), one through the Backend API stores envelopes.
  Cache bytes(std::make_shared<testing::FaultInjectingBackend>(c.backend),
              CacheOptions{.clock = c.clock});
  bytes.cached("k", ns("u"), 5min, [&] {
    c.clock->advance(2ms);  // the compute "takes" 2 ms of clock time
    return 1;
  });
  const std::string key =
      bytes.versioned_key("k", ns("u"), std::vector<std::uint64_t>{bytes.generation(ns("u"))});
  std::vector<std::optional<std::string>> values;
  const std::string_view keys[] = {key};
  c.backend->get_many(keys, values);
  ASSERT_TRUE(values[0]);
  // Compute duration (microseconds) at offset 20, TTL (ms) at offset 12.
  auto le64 = [&](std::size_t off) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>((*values[0])[off + i]);
    return v;
  };
  EXPECT_EQ(le64(12), 300000u);
  EXPECT_EQ(le64(20), 2000u);
  EXPECT_EQ(le64(4),
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           c.clock->now().time_since_epoch())
                                           .count()))
      << "created is the time the entry was stored, after the compute";
}

TEST(CacheStats, CountsFromManyThreadsAddUp) {
  Cache cache(std::make_shared<MemoryBackend>());
  cache.set("k", ns("u"), 1, 1min);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) cache.get<int>("k", ns("u"));
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(cache.stats().hits, 4000u);
}

}  // namespace
}  // namespace gencache
