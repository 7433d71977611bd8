// The in-process path of memory:// (a Cache directly on a MemoryBackend): the store's own
// promises, server-free, and the Cache's promises on that path, including beside a Cache
// that reaches the same MemoryBackend through the byte-level Backend API.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "backends/memory/in_process_store.hpp"
#include "gencache/cache.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/testing.hpp"
#include "key_encoding.hpp"
#include "support/backend_calls.hpp"
#include "support/stale_read_oracle.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using detail::CounterState;
using detail::Entry;
using detail::EntryFields;
using detail::InProcessStore;

// ---- the store ----

class Store : public ::testing::Test {
 protected:
  std::uint64_t generation(const std::string& counter) {
    CounterState state{};
    return store_.generation(counter, 0ms, state);
  }
  bool store(const std::string& identity, std::uint64_t generation, std::string_view payload) {
    const std::uint64_t generations[] = {generation};
    return store_.store(identity, std::span(counters_), generations,
                        EntryFields{.created = Clock::time_point(1s), .ttl = 1min}, payload, 1min);
  }
  std::optional<std::string> find(const std::string& identity) {
    std::uint64_t generations[1] = {};
    Entry entry;
    if (!store_.find(identity, generations, entry)) return std::nullopt;
    return entry.payload;
  }

  MemoryBackend backend_;
  InProcessStore store_{backend_};
  std::vector<std::string> counters_{"gc1:n:user:1"};
};

TEST_F(Store, FindReturnsTheEntryStoredUnderTheCurrentGeneration) {
  const std::uint64_t g = generation(counters_[0]);
  ASSERT_TRUE(store("page", g, "body"));
  EXPECT_EQ(find("page"), "body");
  EXPECT_EQ(find("other"), std::nullopt);
}

TEST_F(Store, FindGivesBackTheFieldsAndTheGenerations) {
  const std::uint64_t g = generation(counters_[0]);
  const std::uint64_t generations[] = {g};
  ASSERT_TRUE(store_.store("page", std::span(counters_), generations,
                           EntryFields{.kind = detail::EntryKind::absent,
                                       .created = Clock::time_point(123456789us),
                                       .ttl = 5s,
                                       .compute_time = 42us},
                           "", 1min));
  std::uint64_t found[1] = {};
  Entry entry;
  ASSERT_TRUE(store_.find("page", found, entry));
  EXPECT_EQ(found[0], g);
  EXPECT_EQ(entry.kind, detail::EntryKind::absent);
  EXPECT_EQ(entry.created, Clock::time_point(123456789us));
  EXPECT_EQ(entry.ttl, 5s);
  EXPECT_EQ(entry.compute_time, 42us);
}

// The record keeps a TTL in 4 bytes: exact to the millisecond up to 24.8 days, to the
// second (never longer than asked) beyond, up to checked_ttl's ceiling.
TEST_F(Store, ATtlComesBackExactBelow25DaysAndNeverLongerThanAskedAbove) {
  const std::uint64_t g = generation(counters_[0]);
  const std::uint64_t generations[] = {g};
  const std::chrono::milliseconds ceiling = detail::checked_ttl(std::chrono::hours(1'000'000));
  struct Case {
    std::chrono::milliseconds stored, read;
  };
  const Case cases[] = {{0ms, 0ms},
                        {1ms, 1ms},
                        {std::chrono::milliseconds((std::int64_t{1} << 31) - 1),
                         std::chrono::milliseconds((std::int64_t{1} << 31) - 1)},
                        {std::chrono::milliseconds(std::int64_t{1} << 31), 2147483s},
                        {std::chrono::days(30) + 999ms, std::chrono::days(30)},
                        {ceiling, std::chrono::duration_cast<std::chrono::seconds>(ceiling)}};
  for (const Case& c : cases) {
    ASSERT_TRUE(store_.store("page", std::span(counters_), generations,
                             EntryFields{.ttl = c.stored}, "body", 1min));
    std::uint64_t found[1] = {};
    Entry entry;
    ASSERT_TRUE(store_.find("page", found, entry));
    EXPECT_EQ(entry.ttl, c.read) << "stored " << c.stored.count() << " ms";
    EXPECT_EQ(entry.payload, "body");
  }
}

// Entries pack their record after the key with no padding: every key length, and several
// namespaces, read back whole.
TEST_F(Store, EveryKeyLengthAndNamespaceCountReadsBackWhole) {
  std::vector<std::string> counters;
  std::vector<std::uint64_t> generations;
  for (int n = 0; n < 5; ++n) {
    counters.push_back("gc1:n:user:" + std::to_string(100 + n));
    CounterState state{};
    generations.push_back(store_.generation(counters.back(), 0ms, state));
  }
  for (std::size_t key_size = 1; key_size <= 17; ++key_size) {
    for (std::size_t namespaces = 1; namespaces <= counters.size(); namespaces += 2) {
      const std::string identity(key_size, static_cast<char>('a' + namespaces));
      const std::string payload = "payload of " + identity;
      ASSERT_TRUE(store_.store(
          identity, std::span(counters).first(namespaces), std::span(generations).first(namespaces),
          EntryFields{.created = Clock::time_point(7ms), .ttl = 9s, .compute_time = 11us}, payload,
          1min));
      std::vector<std::uint64_t> found(namespaces);
      Entry entry;
      ASSERT_TRUE(store_.find(identity, found, entry)) << key_size << " " << namespaces;
      EXPECT_EQ(entry.payload, payload);
      EXPECT_EQ(entry.created, Clock::time_point(7ms));
      EXPECT_EQ(entry.ttl, 9s);
      EXPECT_EQ(entry.compute_time, 11us);
      EXPECT_EQ(found,
                std::vector<std::uint64_t>(generations.begin(), generations.begin() + namespaces));
    }
  }
  backend_.increment(counters[2], 1);
  Entry entry;
  std::vector<std::uint64_t> found(3);
  EXPECT_FALSE(store_.find(std::string(5, 'a' + 3), found, entry))
      << "a bump of its third namespace makes it unreachable";
}

TEST_F(Store, ABumpThroughTheBackendApiMakesTheEntryUnreachable) {
  const std::uint64_t g = generation(counters_[0]);
  ASSERT_TRUE(store("page", g, "body"));
  EXPECT_EQ(backend_.increment(counters_[0], 1), g + 1);
  EXPECT_EQ(find("page"), std::nullopt);
  EXPECT_EQ(generation(counters_[0]), g + 1);
}

TEST_F(Store, AValueComputedBeforeABumpIsNotStored) {
  const std::uint64_t g = generation(counters_[0]);
  backend_.increment(counters_[0], 1);
  EXPECT_FALSE(store("page", g, "computed under the old generation"));
  EXPECT_EQ(find("page"), std::nullopt);
}

TEST_F(Store, ALostCounterTakesItsEntriesAndComesBackAtAFreshValue) {
  const std::uint64_t g = generation(counters_[0]);
  ASSERT_TRUE(store("page", g, "body"));
  ASSERT_TRUE(backend_.remove(counters_[0]));
  EXPECT_EQ(find("page"), std::nullopt);
  CounterState state{};
  const std::uint64_t fresh = store_.generation(counters_[0], 0ms, state);
  EXPECT_EQ(state, CounterState::created);
  EXPECT_NE(fresh, g);
  EXPECT_NE(fresh, g + 1) << "never the lost cell's next value";
  EXPECT_GE(fresh, std::uint64_t{1} << 32) << "fresh values are random, far from 0 and 1";
}

TEST_F(Store, ACounterIsDecimalTextThroughTheBackendApi) {
  const std::uint64_t g = generation(counters_[0]);
  EXPECT_EQ(test::get(backend_, counters_[0]), std::to_string(g));
  EXPECT_FALSE(backend_.create_counter(counters_[0], 7, 0ms)) << "it exists";
}

TEST_F(Store, ACounterSetAsTextKeepsItsValueAndItsOldEntriesDie) {
  const std::uint64_t g = generation(counters_[0]);
  ASSERT_TRUE(store("page", g, "body"));
  backend_.set(counters_[0], std::to_string(g), 0ms);  // the same number, as a new item
  EXPECT_EQ(find("page"), std::nullopt) << "the cell the entry depends on was replaced";
  CounterState state{};
  EXPECT_EQ(store_.generation(counters_[0], 0ms, state), g);
  EXPECT_EQ(state, CounterState::existed);
}

TEST_F(Store, ACounterHoldingTextThatIsNoNumberIsReplacedFresh) {
  backend_.set(counters_[0], "not-a-number", 0ms);
  CounterState state{};
  const std::uint64_t g = store_.generation(counters_[0], 0ms, state);
  EXPECT_EQ(state, CounterState::repaired);
  EXPECT_EQ(test::get(backend_, counters_[0]), std::to_string(g));
}

TEST_F(Store, EntriesAndByteKeysNeverCollide) {
  const std::uint64_t g = generation(counters_[0]);
  backend_.set("page", "bytes", 0ms);
  ASSERT_TRUE(store("page", g, "entry"));
  EXPECT_EQ(find("page"), "entry");
  EXPECT_EQ(test::get(backend_, "page"), "bytes");
}

TEST(StoreEviction, StaysWithinMaxBytesAndKeepsTheCountersEntriesDependOn) {
  MemoryOptions options;
  options.max_bytes = 64 * 1024;
  options.shards = 1;
  MemoryBackend backend(options);
  InProcessStore store(backend);
  const std::vector<std::string> counters{"gc1:n:user:1"};
  CounterState state{};
  const std::uint64_t g = store.generation(counters[0], 0ms, state);
  const std::uint64_t generations[] = {g};
  const std::string payload(200, 'v');
  for (int i = 0; i < 5000; ++i)
    store.store("page" + std::to_string(i), counters, generations,
                EntryFields{.created = Clock::time_point(1s), .ttl = 1min}, payload, 1min);
  const MemoryUsage usage = backend.usage();
  EXPECT_GT(usage.evictions, 4000u) << "the test must evict";
  EXPECT_LE(usage.bytes, options.max_bytes);
  EXPECT_EQ(store.generation(counters[0], 0ms, state), g);
  EXPECT_EQ(state, CounterState::existed) << "the counter survived the evictions of entries";
  std::uint64_t found[1] = {};
  Entry entry;
  EXPECT_TRUE(store.find("page4999", found, entry)) << "the newest entry is still there";
}

TEST(StoreEviction, StaleEntriesAreReclaimed) {
  MemoryOptions options;
  options.max_bytes = 64 * 1024;
  options.shards = 1;
  MemoryBackend backend(options);
  InProcessStore store(backend);
  const std::vector<std::string> counters{"gc1:n:user:1"};
  const std::string payload(200, 'v');
  for (int round = 0; round < 50; ++round) {
    CounterState state{};
    const std::uint64_t generations[] = {store.generation(counters[0], 0ms, state)};
    for (int i = 0; i < 100; ++i)
      store.store("page" + std::to_string(i), counters, generations,
                  EntryFields{.created = Clock::time_point(1s), .ttl = 1min}, payload, 1min);
    backend.increment(counters[0], 1);
  }
  EXPECT_LE(backend.usage().bytes, options.max_bytes);
}

// ---- the Cache on this path ----

TEST(InProcessPath, ACacheOnAMemoryBackendStoresNoVersionedKeyOrEnvelope) {
  auto backend = std::make_shared<MemoryBackend>();
  Cache cache(backend);
  cache.set("page", ns("user", 1), std::string("body"), 1min);
  EXPECT_EQ(cache.get("page", ns("user", 1)), "body");
  const std::uint64_t generations[] = {cache.generation(ns("user", 1))};
  EXPECT_EQ(test::get(*backend, cache.versioned_key("page", ns("user", 1), generations)),
            std::nullopt);
}

// ---- the Cache's fast hit (read_fresh): what it serves and what it leaves to the full read

TEST(InProcessPath, AFreshHitIsOneHitAndComputesNothing) {
  Cache cache(std::make_shared<MemoryBackend>());
  int computes = 0;
  auto compute = [&] { return std::string("v") + std::to_string(++computes); };
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, compute), "v1");
  const Stats before = cache.stats();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, compute), "v1");
  const Stats after = cache.stats();
  EXPECT_EQ(after.hits - before.hits, 10u);
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_EQ(computes, 1);
}

TEST(InProcessPath, AMissIsOneMissAndItsValueIsThenServed) {
  // The fast hit finds nothing, so the read goes on to the generations only (the value is
  // stored under them); get() of nothing is one miss as well.
  Cache cache(std::make_shared<MemoryBackend>());
  EXPECT_EQ(cache.get<int>("page", ns("user", 1)), std::nullopt);
  EXPECT_EQ(cache.stats().misses, 1u);
  int computes = 0;
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, [&] { return ++computes; }), 1);
  EXPECT_EQ(cache.stats().misses, 2u);
  EXPECT_EQ(cache.get<int>("page", ns("user", 1)), 1);
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, [&] { return ++computes; }), 1);
  EXPECT_EQ(cache.stats().hits, 2u);
  EXPECT_EQ(computes, 1);
}

TEST(InProcessPath, KeysAndNamesAcrossTheOneByteLengthBoundaryAreFoundAndKeptApart) {
  // An identity's lengths take one byte below 128 and more from 128 on; its size is
  // computed apart for the two cases. Every pair is stored, then every pair read back.
  Cache cache(std::make_shared<MemoryBackend>());
  const std::size_t sizes[] = {1, 127, 128, 129, 300, 1000};
  auto value_of = [](std::size_t k, std::size_t m) {
    return std::to_string(k) + "/" + std::to_string(m);
  };
  for (const std::size_t k : sizes)
    for (const std::size_t m : sizes)
      cache.set(std::string(k, 'k'), Namespace(std::string(m, 'n')), value_of(k, m), 1min);
  for (const std::size_t k : sizes) {
    for (const std::size_t m : sizes) {
      const std::string key(k, 'k');
      const Namespace name(std::string(m, 'n'));
      EXPECT_EQ(cache.cached(key, name, 1min, [] { return std::string("computed"); }),
                value_of(k, m));
      EXPECT_EQ(cache.get(key, name), value_of(k, m));
    }
  }
  EXPECT_EQ(cache.stats().computes, 0u);
}

TEST(InProcessPath, OnTheSystemClockAnEntryStillExpiresAtItsTtl) {
  // Within a second of its expiry an entry is not decided on the coarse clock: the read
  // that follows reads the precise one.
  Cache cache(std::make_shared<MemoryBackend>());
  int computes = 0;
  auto compute = [&] { return ++computes; };
  EXPECT_EQ(cache.cached("page", ns("user", 1), 300ms, compute), 1);
  EXPECT_EQ(cache.cached("page", ns("user", 1), 300ms, compute), 1);
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(cache.cached("page", ns("user", 1), 300ms, compute), 2);
}

TEST(InProcessPath, AnEntryThatIsNotATIsCorruptAndRecomputedNotServed) {
  Cache cache(std::make_shared<MemoryBackend>());
  cache.set("page", ns("user", 1), std::string("not a number"), 1min);
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, [] { return 7; }), 7);
  EXPECT_EQ(cache.stats().corrupt, 1u);
  EXPECT_EQ(cache.stats().hits, 0u);
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, [] { return 8; }), 7);
}

TEST(InProcessPath, AnAbsentValueIsAHitToo) {
  Cache cache(std::make_shared<MemoryBackend>());
  int computes = 0;
  auto compute = [&]() -> std::optional<int> {
    ++computes;
    return std::nullopt;
  };
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, compute), std::nullopt);
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, compute), std::nullopt);
  EXPECT_EQ(computes, 1);
  EXPECT_EQ(cache.stats().hits, 1u);
}

TEST(InProcessPath, AnEntryWhereAnEarlyRefreshCanBeDrawnStillRefreshesEarly) {
  auto clock = std::make_shared<testing::ManualClock>();
  auto backend = std::make_shared<MemoryBackend>(MemoryOptions{.clock = clock});
  // A beta this large refreshes every read within reach of the draw.
  Cache cache(backend, CacheOptions{.clock = clock, .call = {.early_refresh_beta = 1e12}});
  int computes = 0;
  auto compute = [&] {
    clock->advance(10ms);  // the compute time XFetch weighs
    return ++computes;
  };
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, compute), 1);
  clock->advance(30s);
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, compute), 2);
  EXPECT_EQ(cache.stats().early_refreshes, 1u);
}

TEST(InProcessPath, HitsFromMoreThreadsThanStatsStripesAreAllCounted) {
  // More threads than own a stats stripe, in two waves, so that stripes are handed from
  // threads that ended to new ones and the last threads share the rest.
  Cache cache(std::make_shared<MemoryBackend>());
  cache.set("page", ns("user", 1), std::string("v"), 1h);
  constexpr int kThreads = 40;
  constexpr int kHits = 500;
  for (int wave = 0; wave < 2; ++wave) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < kHits; ++i)
          cache.cached("page", ns("user", 1), 1h, [] { return std::string("computed"); });
      });
    for (auto& thread : threads) thread.join();
  }
  EXPECT_EQ(cache.stats().hits, std::uint64_t{2} * kThreads * kHits);
  EXPECT_EQ(cache.stats().computes, 0u);
}

TEST(InProcessPath, ABumpThroughAnotherCacheOnTheByteApiIsSeenAtOnce) {
  auto backend = std::make_shared<MemoryBackend>();
  Cache in_process(backend);
  Cache byte_level(std::make_shared<testing::FaultInjectingBackend>(backend));
  int computes = 0;
  auto compute = [&] { return ++computes; };
  EXPECT_EQ(in_process.cached("page", ns("user", 1), 1min, compute), 1);
  EXPECT_EQ(in_process.cached("page", ns("user", 1), 1min, compute), 1);
  EXPECT_EQ(byte_level.generation(ns("user", 1)), in_process.generation(ns("user", 1)));
  byte_level.bump_namespace(ns("user", 1));
  EXPECT_EQ(in_process.cached("page", ns("user", 1), 1min, compute), 2);
  in_process.bump_namespace(ns("user", 1));
  EXPECT_EQ(byte_level.generation(ns("user", 1)), in_process.generation(ns("user", 1)));
}

TEST(InProcessPath, AValueComputedAcrossABumpIsNeverServed) {
  auto backend = std::make_shared<MemoryBackend>();
  Cache cache(backend);
  int computes = 0;
  auto bumping_compute = [&] {
    cache.bump_namespace(ns("user", 1));  // lands between the read and the write
    return ++computes;
  };
  EXPECT_EQ(cache.cached("page", ns("user", 1), 1min, bumping_compute), 1);
  EXPECT_EQ(cache.get<int>("page", ns("user", 1)), std::nullopt);
}

TEST(InProcessPath, BumpBetweenReserveAndStoreNeverLetsTheOldValueBeServed) {
  auto backend = std::make_shared<MemoryBackend>();
  Cache cache(backend);
  const Ticket ticket = cache.reserve("profile", ns("user", 1));
  ASSERT_TRUE(ticket.valid());
  cache.bump_namespace(ns("user", 1));
  cache.store(ticket, std::string("built from old data"), 1min);
  EXPECT_EQ(cache.get("profile", ns("user", 1)), std::nullopt);
  cache.store(cache.reserve("profile", ns("user", 1)), std::string("new"), 1min);
  EXPECT_EQ(cache.get("profile", ns("user", 1)), "new");
}

TEST(InProcessPath, EntriesDependOnEveryNamespaceAndPrefixesStayApart) {
  auto backend = std::make_shared<MemoryBackend>();
  Cache a(backend, CacheOptions{.prefix = "a:"});
  Cache b(backend, CacheOptions{.prefix = "b:"});
  const NamespaceSet both{ns("user", 1), ns("org", 2)};
  a.set("page", both, std::string("from a"), 1min);
  EXPECT_EQ(b.get("page", both), std::nullopt);
  b.set("page", both, std::string("from b"), 1min);
  EXPECT_EQ(a.get("page", both), "from a");
  a.bump_namespace(ns("org", 2));
  EXPECT_EQ(a.get("page", both), std::nullopt);
  EXPECT_EQ(b.get("page", both), "from b");
}

TEST(InProcessPath, GetManyAndCachedManyShareEntriesWithCached) {
  auto backend = std::make_shared<MemoryBackend>();
  Cache cache(backend);
  const std::vector<std::string> keys{"a", "b", "c"};
  cache.set("b", ns("user", 1), std::string("B"), 1min);
  int computes = 0;
  const auto values = cache.cached_many(keys, ns("user", 1), 1min, [&](const std::string& key) {
    ++computes;
    return key + "!";
  });
  EXPECT_EQ(values, (std::vector<std::string>{"a!", "B", "c!"}));
  EXPECT_EQ(computes, 2);
  const auto again = cache.get_many(keys, ns("user", 1));
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0], "a!");
  EXPECT_EQ(again[1], "B");
  EXPECT_EQ(again[2], "c!");
}

TEST(InProcessPath, OversizedValueIsReturnedButNotCached) {
  auto backend = std::make_shared<MemoryBackend>();
  Cache cache(backend);
  const std::string huge(backend->max_value_size() + 1, 'x');
  EXPECT_EQ(cache.cached("big", ns("user", 1), 1min, [&] { return huge; }), huge);
  EXPECT_EQ(cache.get("big", ns("user", 1)), std::nullopt);
  EXPECT_EQ(cache.stats().oversized, 1u);
}

TEST(InProcessPath, AnExpiredCounterInvalidatesItsEntriesBeforeAnyoneTouchesIt) {
  auto clock = std::make_shared<testing::ManualClock>();
  auto backend = std::make_shared<MemoryBackend>(MemoryOptions{.clock = clock});
  Cache cache(backend, CacheOptions{.clock = clock, .counter_ttl = 1h});
  cache.set("page", ns("user", 1), std::string("body"), 2h);
  EXPECT_EQ(cache.get("page", ns("user", 1)), "body");
  clock->advance(61min);
  EXPECT_EQ(cache.get("page", ns("user", 1)), std::nullopt);
}

TEST(InProcessPath, NoStaleReadWhileCountersAreLost) {
  auto backend = std::make_shared<MemoryBackend>();
  Cache readers(backend);
  Cache writers(backend);
  test::OracleConfig config;
  std::atomic<int> removed{0};
  config.chaos = [&](const std::atomic<bool>& done) {
    std::mt19937 rng(5);
    while (!done) {
      if (backend->remove(detail::counter_key("", ns("oracle", rng() % 4)))) removed.fetch_add(1);
      std::this_thread::sleep_for(500us);
    }
  };
  const test::OracleResult result = test::run_stale_read_oracle(readers, writers, config);
  EXPECT_EQ(result.stale_reads, 0u);
  EXPECT_GT(result.cache_hits, 0u);
  EXPECT_GT(removed.load(), 0);
}

TEST(InProcessPath, NoStaleReadWhenBumpsComeThroughTheByteApi) {
  auto backend = std::make_shared<MemoryBackend>();
  Cache readers(backend);
  Cache writers(std::make_shared<testing::FaultInjectingBackend>(backend));
  const test::OracleResult result = test::run_stale_read_oracle(readers, writers, {});
  EXPECT_EQ(result.stale_reads, 0u);
  EXPECT_GT(result.cache_hits, 0u);
}

}  // namespace
}  // namespace gencache
