#include "gencache/memory_backend.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/memory/memory_url.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "gencache/testing.hpp"
#include "url_options.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr std::chrono::milliseconds kNoTtl{0};

std::optional<std::string> get(Backend& backend, std::string_view key) {
  std::vector<std::optional<std::string>> values;
  const std::string_view keys[] = {key};
  backend.get_many(keys, values);
  return values.at(0);
}

class MemoryBackendTest : public ::testing::Test {
 protected:
  std::shared_ptr<testing::ManualClock> clock = std::make_shared<testing::ManualClock>();
  MemoryBackend backend{MemoryOptions{.clock = clock}};
};

// --- basic storage -----------------------------------------------------------------------

TEST_F(MemoryBackendTest, SetThenGetReturnsTheValue) {
  backend.set("k", "v", kNoTtl);
  EXPECT_EQ(get(backend, "k"), "v");
}

TEST_F(MemoryBackendTest, MissingKeyIsAbsent) {
  EXPECT_EQ(get(backend, "nobody"), std::nullopt);
}

TEST_F(MemoryBackendTest, GetManyAnswersEveryKeyInOrderAndClearsStaleOutput) {
  backend.set("a", "1", kNoTtl);
  backend.set("c", "3", kNoTtl);
  std::vector<std::optional<std::string>> values = {"stale", "stale", std::nullopt, "x", "y"};
  const std::string_view keys[] = {"a", "b", "c"};
  backend.get_many(keys, values);
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0], "1");
  EXPECT_EQ(values[1], std::nullopt);
  EXPECT_EQ(values[2], "3");
}

TEST_F(MemoryBackendTest, SetReplacesTheValue) {
  backend.set("k", "first", kNoTtl);
  backend.set("k", "second, and longer", kNoTtl);
  EXPECT_EQ(get(backend, "k"), "second, and longer");
  EXPECT_EQ(backend.usage().items, 1u);
}

TEST_F(MemoryBackendTest, BinaryValuesWithNulRoundTrip) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  binary += std::string("\0\0tail\0", 7);
  backend.set("bin", binary, kNoTtl);
  EXPECT_EQ(get(backend, "bin"), binary);
}

TEST_F(MemoryBackendTest, ZeroLengthValueIsAValue) {
  backend.set("empty", "", kNoTtl);
  const auto value = get(backend, "empty");
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(*value, "");
  EXPECT_FALSE(backend.add("empty", "x", kNoTtl));
}

TEST_F(MemoryBackendTest, DescribeIsTheScheme) {
  EXPECT_EQ(backend.describe(), "memory://");
}

TEST_F(MemoryBackendTest, UsageCountsItemsAndBytesAndRemoveReleasesThem) {
  EXPECT_EQ(backend.usage().items, 0u);
  EXPECT_EQ(backend.usage().bytes, 0u);
  backend.set("a", std::string(100, 'a'), kNoTtl);
  backend.set("b", std::string(100, 'b'), kNoTtl);
  const MemoryUsage two = backend.usage();
  EXPECT_EQ(two.items, 2u);
  EXPECT_GE(two.bytes, 2u * 101u);  // at least keys and values
  EXPECT_TRUE(backend.remove("a"));
  EXPECT_TRUE(backend.remove("b"));
  EXPECT_EQ(backend.usage().items, 0u);
  EXPECT_EQ(backend.usage().bytes, 0u);
}

// --- expiry ----------------------------------------------------------------------------

TEST_F(MemoryBackendTest, ExpiredItemIsAMissAndIsDropped) {
  backend.set("k", "v", 10s);
  clock->advance(11s);
  EXPECT_EQ(get(backend, "k"), std::nullopt);
  const MemoryUsage usage = backend.usage();
  EXPECT_EQ(usage.items, 0u);
  EXPECT_EQ(usage.bytes, 0u);
  EXPECT_EQ(usage.expirations, 1u);
}

TEST_F(MemoryBackendTest, ItemLivesUntilItsFullTtlHasPassed) {
  backend.set("k", "v", 10s);
  clock->advance(10s - 1ms);
  EXPECT_EQ(get(backend, "k"), "v");
  clock->advance(1ms);
  EXPECT_EQ(get(backend, "k"), std::nullopt);
}

TEST_F(MemoryBackendTest, SubMillisecondStartStillGivesTheFullTtl) {
  clock->advance(500us);
  backend.set("k", "v", 1ms);
  clock->advance(999us);
  EXPECT_EQ(get(backend, "k"), "v");
}

TEST_F(MemoryBackendTest, ZeroTtlNeverExpires) {
  backend.set("k", "v", kNoTtl);
  clock->advance(std::chrono::hours(24 * 365 * 100));
  EXPECT_EQ(get(backend, "k"), "v");
}

TEST_F(MemoryBackendTest, NegativeTtlStoresNothingVisible) {
  backend.set("k", "v", kNoTtl);
  backend.set("k", "w", -1s);
  EXPECT_EQ(get(backend, "k"), std::nullopt);
}

TEST_F(MemoryBackendTest, AddSucceedsOverAnExpiredItem) {
  backend.set("k", "old", 1s);
  clock->advance(2s);
  EXPECT_TRUE(backend.add("k", "new", kNoTtl));
  EXPECT_EQ(get(backend, "k"), "new");
  EXPECT_EQ(backend.usage().expirations, 1u);
}

TEST_F(MemoryBackendTest, RemoveOfAnExpiredItemReportsAbsent) {
  backend.set("k", "v", 1s);
  clock->advance(1s);
  EXPECT_FALSE(backend.remove("k"));
}

TEST_F(MemoryBackendTest, SetRenewsTheTtl) {
  backend.set("k", "v1", 10s);
  clock->advance(8s);
  backend.set("k", "v2", 10s);
  clock->advance(8s);
  EXPECT_EQ(get(backend, "k"), "v2");
}

// --- counters --------------------------------------------------------------------------

TEST_F(MemoryBackendTest, CounterIsReadableAsDecimalText) {
  EXPECT_TRUE(backend.create_counter("c", 42, kNoTtl));
  EXPECT_EQ(get(backend, "c"), "42");
}

TEST_F(MemoryBackendTest, IncrementAddsAndReturnsTheNewValue) {
  backend.create_counter("c", 5, kNoTtl);
  EXPECT_EQ(backend.increment("c", 3), 8u);
  EXPECT_EQ(backend.increment("c", 0), 8u);
  EXPECT_EQ(get(backend, "c"), "8");
}

TEST_F(MemoryBackendTest, IncrementOfAMissingCounterIsAbsentAndCreatesNothing) {
  EXPECT_EQ(backend.increment("c", 1), std::nullopt);
  EXPECT_EQ(get(backend, "c"), std::nullopt);
  EXPECT_EQ(backend.usage().items, 0u);
}

TEST_F(MemoryBackendTest, IncrementWorksOnAValueStoredBySet) {
  backend.set("c", "41", kNoTtl);
  EXPECT_EQ(backend.increment("c", 1), 42u);
}

TEST_F(MemoryBackendTest, IncrementGrowsTheDecimalText) {
  backend.create_counter("c", 9, kNoTtl);
  EXPECT_EQ(backend.increment("c", 1), 10u);
  EXPECT_EQ(backend.increment("c", 89), 99u);
  EXPECT_EQ(backend.increment("c", 1), 100u);
  EXPECT_EQ(get(backend, "c"), "100");
  EXPECT_EQ(backend.usage().items, 1u);
}

TEST_F(MemoryBackendTest, IncrementWrapsAroundModulo2To64) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  backend.create_counter("c", kMax - 1, kNoTtl);
  EXPECT_EQ(backend.increment("c", 1), kMax);
  EXPECT_EQ(get(backend, "c"), "18446744073709551615");
  EXPECT_EQ(backend.increment("c", 3), 2u);
  EXPECT_EQ(get(backend, "c"), "2");
}

TEST_F(MemoryBackendTest, IncrementOfANonNumericValueThrowsBackendError) {
  backend.set("text", "hello", kNoTtl);
  backend.set("empty", "", kNoTtl);
  backend.set("too_big", "18446744073709551616", kNoTtl);
  for (std::string_view key : {"text", "empty", "too_big"}) {
    try {
      backend.increment(key, 1);
      ADD_FAILURE() << "no exception for " << key;
    } catch (const backend_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(std::string(key)));
    }
  }
  EXPECT_EQ(get(backend, "text"), "hello");
}

TEST_F(MemoryBackendTest, IncrementKeepsTheTtl) {
  backend.create_counter("c", 9, 10s);
  clock->advance(5s);
  EXPECT_EQ(backend.increment("c", 1), 10u);  // grows to a new block
  EXPECT_EQ(backend.increment("c", 1), 11u);  // rewritten in place
  clock->advance(5s);
  EXPECT_EQ(get(backend, "c"), std::nullopt);
}

TEST_F(MemoryBackendTest, IncrementOfAnExpiredCounterIsAbsent) {
  backend.create_counter("c", 1, 1s);
  clock->advance(1s);
  EXPECT_EQ(backend.increment("c", 1), std::nullopt);
  EXPECT_EQ(backend.usage().expirations, 1u);
}

TEST_F(MemoryBackendTest, CreateCounterLosesRaceToExistingCounter) {
  EXPECT_TRUE(backend.create_counter("c", 7, kNoTtl));
  backend.increment("c", 1);
  EXPECT_FALSE(backend.create_counter("c", 0, kNoTtl));
  EXPECT_EQ(get(backend, "c"), "8");
}

TEST_F(MemoryBackendTest, ExactlyOneConcurrentCreateCounterWins) {
  constexpr int kThreads = 8;
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      if (backend.create_counter("c", static_cast<std::uint64_t>(t), kNoTtl)) ++winners;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(winners.load(), 1);
}

// --- limits ----------------------------------------------------------------------------

TEST_F(MemoryBackendTest, OversizedValueIsRefused) {
  const std::size_t limit = backend.max_value_size();
  EXPECT_EQ(limit, std::size_t{1} << 20);
  // The limit is on the value; the bytes stored may hold the Cache's entry header too.
  const std::size_t stored_limit = limit + kEntryHeaderAllowance;
  backend.set("at_limit", std::string(stored_limit, 'x'), kNoTtl);
  EXPECT_EQ(get(backend, "at_limit")->size(), stored_limit);

  const std::string too_big(stored_limit + 1, 'x');
  try {
    backend.set("k", too_big, kNoTtl);
    FAIL() << "set accepted a value above max_value_size() plus the entry header";
  } catch (const backend_error& e) {
    EXPECT_EQ(e.code(), errc::value_too_large);
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(stored_limit + 1)));
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(limit)));
  }
  EXPECT_THROW(backend.add("k", too_big, kNoTtl), backend_error);
  EXPECT_EQ(get(backend, "k"), std::nullopt);
}

TEST(MemoryBackendLimits, MaxValueSizeIsLoweredToAQuarterOfAShard) {
  MemoryBackend backend(MemoryOptions{.max_bytes = 1 << 20, .shards = 4});
  EXPECT_EQ(backend.max_value_size(), (std::size_t{1} << 20) / 4 / 4);
}

TEST(MemoryBackendLimits, ExplicitMaxItemBytesIsKeptWhenItFits) {
  MemoryBackend backend(MemoryOptions{.max_item_bytes = 1500});
  EXPECT_EQ(backend.max_value_size(), 1500u);
  EXPECT_THROW(backend.set("k", std::string(1501 + kEntryHeaderAllowance, 'x'), kNoTtl),
               backend_error);
}

TEST(MemoryBackendLimits, OverlongKeyIsRefused) {
  MemoryBackend backend;
  try {
    backend.set(std::string(70'000, 'k'), "v", kNoTtl);
    FAIL() << "a 70000-byte key was accepted";
  } catch (const backend_error& e) {
    EXPECT_EQ(e.code(), errc::value_too_large);
    EXPECT_THAT(e.what(), HasSubstr("70000"));
  }
}

// --- configuration ---------------------------------------------------------------------

TEST(MemoryBackendConfig, ZeroMaxBytesIsAConfigError) {
  try {
    MemoryBackend backend(MemoryOptions{.max_bytes = 0});
    FAIL() << "max_bytes = 0 was accepted";
  } catch (const config_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("max_bytes"));
  }
}

// A limit too small for any entry would turn every write into an error and every read
// into a compute: refused, as memcached:// and redis:// refuse it.
TEST(MemoryBackendConfig, MaxItemBytesUnderOneKibIsAConfigError) {
  for (const std::size_t bytes : {std::size_t{0}, std::size_t{16}, std::size_t{1023}}) {
    try {
      MemoryBackend backend(MemoryOptions{.max_item_bytes = bytes});
      ADD_FAILURE() << "max_item_bytes = " << bytes << " was accepted";
    } catch (const config_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("max_item_bytes must be at least 1024"));
    }
  }
  EXPECT_EQ(MemoryBackend(MemoryOptions{.max_item_bytes = 1024}).max_value_size(), 1024u);
  EXPECT_THROW(Cache::from_url("memory://?max_item_bytes=16"), config_error);
}

TEST(MemoryBackendConfig, NonPowerOfTwoShardsIsAConfigError) {
  try {
    MemoryBackend backend(MemoryOptions{.shards = 12});
    FAIL() << "shards = 12 was accepted";
  } catch (const config_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("power of two"));
    EXPECT_THAT(e.what(), HasSubstr("12"));
  }
  EXPECT_THROW(MemoryBackend(MemoryOptions{.shards = 2048}), config_error);
}

TEST(MemoryBackendConfig, ShardsTooSmallForMaxBytesIsAConfigError) {
  try {
    MemoryBackend backend(MemoryOptions{.max_bytes = 4096, .shards = 16});
    FAIL() << "256-byte shards were accepted";
  } catch (const config_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("4096"));
    EXPECT_THAT(e.what(), HasSubstr("16 shards"));
  }
}

TEST(MemoryBackendConfig, DefaultShardsAdaptToASmallMaxBytes) {
  MemoryBackend backend(MemoryOptions{.max_bytes = 4096});
  backend.set("k", "v", kNoTtl);
  EXPECT_EQ(get(backend, "k"), "v");
  EXPECT_EQ(backend.max_value_size(), 1024u);  // one 4 KiB shard
}

// --- eviction --------------------------------------------------------------------------

TEST(MemoryBackendEviction, StaysWithinMaxBytesUnderChurn) {
  constexpr std::size_t kMaxBytes = 64 << 10;
  MemoryBackend backend(MemoryOptions{.max_bytes = kMaxBytes, .shards = 4});
  for (int i = 0; i < 20'000; ++i) {
    const std::size_t size = static_cast<std::size_t>(i * 37 % 700);
    backend.set(fmt::format("key:{}", i), std::string(size, 'v'), kNoTtl);
    if (i % 97 == 0) {
      ASSERT_LE(backend.usage().bytes, kMaxBytes) << "after " << i << " sets";
    }
  }
  const MemoryUsage usage = backend.usage();
  EXPECT_LE(usage.bytes, kMaxBytes);
  EXPECT_GT(usage.bytes, kMaxBytes / 2);  // eviction frees only what it must
  EXPECT_GT(usage.evictions, 0u);
  EXPECT_EQ(get(backend, "key:19999"), std::string(19'999 * 37 % 700, 'v'));
}

TEST(MemoryBackendEviction, HotItemsSurviveEvictionOfColdOnes) {
  MemoryBackend backend(MemoryOptions{.max_bytes = 16 << 10, .shards = 1});
  const std::string value(100, 'v');
  // Fill the cache, then read a few of the items (setting their CLOCK bit).
  int filled = 0;
  while (backend.usage().evictions == 0) {
    backend.set(fmt::format("item:{}", filled++), value, kNoTtl);
  }
  const std::vector<std::string> hot = {"item:1", "item:5", "item:20", "item:40"};
  auto touch_hot = [&] {
    for (const auto& key : hot) ASSERT_TRUE(get(backend, key).has_value()) << key;
  };
  touch_hot();
  // Half a cache of new items: the hand passes the hot ones, clearing their bit once,
  // and evicts cold ones instead.
  for (int i = 0; i < filled / 2; ++i) backend.set(fmt::format("new:{}", i), value, kNoTtl);
  touch_hot();
  for (int i = 0; i < filled / 2; ++i) backend.set(fmt::format("newer:{}", i), value, kNoTtl);
  touch_hot();
  EXPECT_EQ(get(backend, "item:2"), std::nullopt);  // cold, evicted
}

TEST(MemoryBackendEviction, RecentItemsOutliveOlderColdOnes) {
  MemoryBackend backend(MemoryOptions{.max_bytes = 16 << 10, .shards = 1});
  const std::string value(100, 'v');
  int filled = 0;
  while (backend.usage().evictions == 0)
    backend.set(fmt::format("old:{}", filled++), value, kNoTtl);
  for (int i = 0; i < filled / 2; ++i) backend.set(fmt::format("new:{}", i), value, kNoTtl);
  for (int i = 0; i < filled / 2; ++i) {
    EXPECT_TRUE(get(backend, fmt::format("new:{}", i)).has_value()) << "new:" << i;
  }
  EXPECT_EQ(get(backend, "old:1"), std::nullopt);
}

TEST(MemoryBackendEviction, EvictionReclaimsExpiredItemsAsExpirations) {
  auto clock = std::make_shared<testing::ManualClock>();
  MemoryBackend backend(MemoryOptions{.max_bytes = 16 << 10, .shards = 1, .clock = clock});
  const std::string value(100, 'v');
  for (int i = 0; i < 1000 && backend.usage().evictions == 0; ++i)
    backend.set(fmt::format("short:{}", i), value, 1s);
  const std::uint64_t evictions_when_full = backend.usage().evictions;
  clock->advance(2s);
  for (int i = 0; i < 20; ++i) backend.set(fmt::format("fresh:{}", i), value, kNoTtl);
  const MemoryUsage usage = backend.usage();
  EXPECT_EQ(usage.evictions, evictions_when_full);
  EXPECT_GE(usage.expirations, 20u);
}

// --- concurrency -----------------------------------------------------------------------

TEST(MemoryBackendThreads, IncrementIsAtomicAcrossThreads) {
  MemoryBackend backend;
  backend.create_counter("counter", 0, kNoTtl);
  constexpr int kThreads = 4;
  constexpr int kIncrements = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) backend.increment("counter", 1);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(get(backend, "counter"), std::to_string(kThreads * kIncrements));
}

TEST(MemoryBackendThreads, MixedOperationsOnOverlappingKeysKeepCountersExact) {
  // Four shards so that threads meet on the same locks; large enough that nothing is
  // evicted, so every increment must be visible in the end.
  MemoryBackend backend(MemoryOptions{.shards = 4});
  constexpr int kThreads = 4;
  constexpr int kRounds = 20'000;
  constexpr int kCounters = 8;
  for (int c = 0; c < kCounters; ++c)
    backend.create_counter(fmt::format("counter:{}", c), 0, kNoTtl);

  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> increments{0};
  std::atomic<bool> corrupt{false};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::optional<std::string>> values;
      std::uint64_t mine = 0;
      for (int i = 0; i < kRounds; ++i) {
        const std::string key = fmt::format("shared:{}", (i * 7 + t) % 64);
        const std::string value(static_cast<std::size_t>(16 + (i + t) % 200),
                                static_cast<char>('a' + t));
        switch ((i + t) % 5) {
          case 0:
            backend.set(key, value, kNoTtl);
            break;
          case 1:
            backend.add(key, value, kNoTtl);
            break;
          case 2:
            backend.remove(key);
            break;
          case 3: {
            const std::string counter = fmt::format("counter:{}", i % kCounters);
            if (backend.increment(counter, 1)) ++mine;
            break;
          }
          default: {
            const std::string counter = fmt::format("counter:{}", (i + 1) % kCounters);
            const std::string_view keys[] = {key, counter};
            backend.get_many(keys, values);
            // A value is always one writer's letter repeated: never torn.
            if (values[0] && values[0]->find_first_not_of(values[0]->front()) != std::string::npos)
              corrupt = true;
            // A counter read while others increment it in place is always a whole number.
            if (!values[1] || values[1]->empty() ||
                values[1]->find_first_not_of("0123456789") != std::string::npos)
              corrupt = true;
          }
        }
      }
      increments += mine;
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_FALSE(corrupt.load());
  std::uint64_t total = 0;
  for (int c = 0; c < kCounters; ++c) {
    const auto text = get(backend, fmt::format("counter:{}", c));
    ASSERT_TRUE(text.has_value()) << "counter " << c << " was evicted";
    total += std::stoull(*text);
  }
  EXPECT_EQ(total, increments.load());
  EXPECT_EQ(increments.load(), std::uint64_t{kThreads} * kRounds / 5);
}

TEST(MemoryBackendThreads, ConcurrentChurnStaysWithinMaxBytes) {
  constexpr std::size_t kMaxBytes = 64 << 10;
  MemoryBackend backend(MemoryOptions{.max_bytes = kMaxBytes, .shards = 2});
  constexpr int kThreads = 4;
  std::atomic<bool> corrupt{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::optional<std::string>> values;
      for (int i = 0; i < 10'000; ++i) {
        const std::string key = fmt::format("churn:{}", i % 3000);
        backend.set(key,
                    std::string(static_cast<std::size_t>(50 + i % 400), static_cast<char>('a' + t)),
                    kNoTtl);
        const std::string_view keys[] = {key};
        backend.get_many(keys, values);
        if (values[0] && values[0]->find_first_not_of(values[0]->front()) != std::string::npos)
          corrupt = true;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_FALSE(corrupt.load());
  const MemoryUsage usage = backend.usage();
  EXPECT_LE(usage.bytes, kMaxBytes);
  EXPECT_GT(usage.evictions, 0u);
}

// --- URL options -----------------------------------------------------------------------

detail::UrlOptions url(std::vector<std::pair<std::string, std::string>> params) {
  return detail::UrlOptions("memory", std::move(params));
}

TEST(MemoryUrl, EmptyQueryKeepsTheDefaults) {
  auto params = url({});
  const MemoryOptions options = detail::memory_options_from_url(params);
  EXPECT_EQ(options.max_bytes, MemoryOptions{}.max_bytes);
  EXPECT_EQ(options.max_item_bytes, MemoryOptions{}.max_item_bytes);
  EXPECT_EQ(options.shards, 0u);
  params.finish();
}

TEST(MemoryUrl, ReadsSizesAndShards) {
  auto params = url({{"max_bytes", "128MiB"}, {"max_item_bytes", "512KiB"}, {"shards", "32"}});
  const MemoryOptions options = detail::memory_options_from_url(params);
  EXPECT_EQ(options.max_bytes, std::size_t{128} << 20);
  EXPECT_EQ(options.max_item_bytes, std::size_t{512} << 10);
  EXPECT_EQ(options.shards, 32u);
  EXPECT_NO_THROW(params.finish());
}

TEST(MemoryUrl, UrlRejectsNonPowerOfTwoShards) {
  auto params = url({{"shards", "12"}});
  try {
    detail::memory_options_from_url(params);
    FAIL() << "shards=12 was accepted";
  } catch (const config_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("shards"));
    EXPECT_THAT(e.what(), HasSubstr("'12'"));
    EXPECT_THAT(e.what(), HasSubstr("power of two"));
  }
}

TEST(MemoryUrl, UrlRejectsShardsOutOfRange) {
  for (const char* shards : {"0", "2048", "-1", "many"}) {
    auto params = url({{"shards", shards}});
    EXPECT_THROW(detail::memory_options_from_url(params), config_error) << shards;
  }
}

TEST(MemoryUrl, UrlRejectsABadSize) {
  auto params = url({{"max_bytes", "lots"}});
  EXPECT_THROW(detail::memory_options_from_url(params), config_error);
}

TEST(MemoryUrl, LeavesUnknownParametersForFinishToReject) {
  auto params = url({{"max_bytes", "1MiB"}, {"colour", "blue"}});
  EXPECT_NO_THROW(detail::memory_options_from_url(params));
  try {
    params.finish();
    FAIL() << "an unknown parameter was accepted";
  } catch (const config_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("colour"));
    EXPECT_THAT(e.what(), HasSubstr("max_item_bytes"));
  }
}

}  // namespace
}  // namespace gencache
