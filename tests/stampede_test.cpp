// Issue 4: stampede protection and freshness. Computes are counted, never timed; expiry
// runs on a manual clock.
#include <atomic>
#include <cmath>
#include <deque>
#include <functional>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/cached_call.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/testing.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;

// Waits (bounded) until `done()` holds; returns whether it did.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(100us);
  }
  return true;
}

struct Fixture {
  std::shared_ptr<testing::ManualClock> clock = std::make_shared<testing::ManualClock>();
  std::shared_ptr<MemoryBackend> backend =
      std::make_shared<MemoryBackend>(MemoryOptions{.clock = clock});
  Cache make(CallOptions call = {}) {
    return Cache(backend, CacheOptions{.clock = clock, .call = std::move(call)});
  }
};

TEST(SingleFlight, SixtyFourConcurrentMissesRunComputeOnce) {
  Fixture f;
  Cache cache = f.make();
  constexpr int kThreads = 64;
  std::atomic<int> computes{0};
  std::latch start(kThreads);
  std::vector<std::string> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      results[t] = cache.cached("hot", ns("user", 1), 1min, [&] {
        computes.fetch_add(1);
        // Hold the flight open until every other caller has joined it (bounded).
        eventually([&] { return cache.stats().coalesced >= kThreads - 1; });
        return std::string("rendered");
      });
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(computes.load(), 1);
  EXPECT_EQ(cache.stats().coalesced, static_cast<std::uint64_t>(kThreads - 1));
  for (const auto& r : results) EXPECT_EQ(r, "rendered");
}

TEST(SingleFlight, AThrowingComputeReachesEveryWaiterAndNothingIsCached) {
  Fixture f;
  Cache cache = f.make();
  constexpr int kThreads = 64;
  std::atomic<int> computes{0}, caught{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      try {
        cache.cached("hot", ns("user", 1), 1min, [&]() -> std::string {
          computes.fetch_add(1);
          eventually([&] { return cache.stats().coalesced >= kThreads - 1; });
          throw std::runtime_error("database down");
        });
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()) == "database down") caught.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(computes.load(), 1);
  EXPECT_EQ(caught.load(), kThreads);
  EXPECT_EQ(cache.stats().sets, 0u);
  EXPECT_EQ(cache.get("hot", ns("user", 1)), std::nullopt);
}

TEST(SingleFlight, DifferentKeysDoNotWaitForEachOther) {
  Fixture f;
  Cache cache = f.make();
  std::atomic<bool> b_done{false};
  bool a_saw_b = false;
  std::thread a([&] {
    cache.cached("A", ns("user", 1), 1min, [&] {
      // A's compute finishes only after B's: if B waited for A this would time out.
      a_saw_b = eventually([&] { return b_done.load(); });
      return 1;
    });
  });
  std::thread b([&] {
    eventually([&] { return cache.stats().computes >= 1; });
    cache.cached("B", ns("user", 1), 1min, [] { return 2; });
    b_done = true;
  });
  a.join();
  b.join();
  EXPECT_TRUE(a_saw_b);
}

TEST(SingleFlight, CanBeTurnedOffPerCall) {
  Fixture f;
  Cache cache = f.make();
  constexpr int kThreads = 8;
  std::atomic<int> computes{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      start.arrive_and_wait();
      cache.cached(
          "k", ns("u"), 1min,
          [&] {
            computes.fetch_add(1);
            eventually([&] { return computes.load() == kThreads; }, 2s);
            return 1;
          },
          CallOptions{.single_flight = false});
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(computes.load(), kThreads);
}

// An entry whose compute took 10 ms of clock time and lives 1 s.
void write_entry_with_compute_time(Fixture& f, Cache& cache) {
  cache.cached("k", ns("u"), 1s, [&] {
    f.clock->advance(10ms);
    return 0;
  });
}

TEST(EarlyRefresh, RefreshesHappenBeforeExpiryNearTheEnd) {
  Fixture f;
  Cache cache = f.make(CallOptions{.early_refresh_beta = 1.0});
  write_entry_with_compute_time(f, cache);
  // Far from expiry (990 ms left, delta 10 ms): the chance is e^-99 per read.
  for (int i = 0; i < 1000; ++i) cache.cached("k", ns("u"), 1s, [] { return 1; });
  EXPECT_EQ(cache.stats().early_refreshes, 0u);
  // 5 ms before expiry: each read refreshes with probability e^-0.5 ~ 0.61.
  f.clock->advance(995ms);
  int refreshed_values = 0;
  for (int i = 0; i < 200; ++i) {
    if (cache.cached("k", ns("u"), 1s, [] { return 1; }) == 1) ++refreshed_values;
  }
  EXPECT_GE(cache.stats().early_refreshes, 1u);
  EXPECT_EQ(cache.stats().computes, 1 + cache.stats().early_refreshes);
  EXPECT_GT(refreshed_values, 0);
  EXPECT_EQ(cache.stats().misses, 1u) << "no reader ever saw the entry expire";
}

// XFetch refreshes a read at `remaining` before expiry with probability
// exp(-remaining / (delta * beta)); reads far from expiry skip the draw, which must not
// change that law where it matters.
TEST(EarlyRefresh, RefreshProbabilityFollowsXFetch) {
  detail::Entry entry;
  entry.created = Clock::time_point(std::chrono::hours(1000));
  entry.ttl = 1s;
  entry.compute_time = 10ms;
  const auto expiry = entry.created + entry.ttl;
  auto frequency = [&](std::chrono::milliseconds remaining, double beta) {
    int refreshed = 0;
    constexpr int kDraws = 40'000;
    for (int i = 0; i < kDraws; ++i)
      refreshed +=
          detail::refresh_early(entry, expiry - remaining, beta, &detail::uniform_draw) ? 1 : 0;
    return static_cast<double>(refreshed) / kDraws;
  };
  EXPECT_NEAR(frequency(5ms, 1.0), std::exp(-0.5), 0.02);
  EXPECT_NEAR(frequency(20ms, 1.0), std::exp(-2.0), 0.01);
  EXPECT_NEAR(frequency(20ms, 4.0), std::exp(-0.5), 0.02) << "beta scales the head start";
  EXPECT_EQ(frequency(0ms, 1.0), 1.0) << "at expiry every read refreshes";
  EXPECT_EQ(frequency(371ms, 1.0), 0.0) << "beyond 37 compute times no draw can reach expiry";
}

TEST(EarlyRefresh, BetaZeroNeverRefreshesEarly) {
  Fixture f;
  Cache cache = f.make(CallOptions{.early_refresh_beta = 0.0});
  write_entry_with_compute_time(f, cache);
  f.clock->advance(999ms);  // 1 ms before expiry (the clock stands at creation)
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(cache.cached("k", ns("u"), 1s, [] { return 1; }), 0);
  EXPECT_EQ(cache.stats().early_refreshes, 0u);
  f.clock->advance(2ms);
  EXPECT_EQ(cache.cached("k", ns("u"), 1s, [] { return 1; }), 1) << "expired: recomputed";
}

TEST(EarlyRefresh, AFailingEarlyRefreshReturnsTheStillFreshValue) {
  Fixture f;
  Cache cache = f.make(CallOptions{.early_refresh_beta = 1000.0});  // always refresh early
  write_entry_with_compute_time(f, cache);
  EXPECT_EQ(cache.cached("k", ns("u"), 1s, []() -> int { throw std::runtime_error("x"); }), 0);
}

// Collects submitted refreshes so the test decides when they run.
struct ManualExecutor {
  std::shared_ptr<std::deque<std::function<void()>>> tasks =
      std::make_shared<std::deque<std::function<void()>>>();
  std::function<void(std::function<void()>)> submit() {
    return [tasks = tasks](std::function<void()> task) { tasks->push_back(std::move(task)); };
  }
  void run_all() {
    while (!tasks->empty()) {
      auto t = std::move(tasks->front());
      tasks->pop_front();
      t();
    }
  }
};

TEST(StaleWhileRevalidate, ServesStaleOnceExpiredWhileOneRefreshRuns) {
  Fixture f;
  ManualExecutor executor;
  Cache cache = f.make(CallOptions{
      .early_refresh_beta = 0, .stale_while_revalidate = 30s, .executor = executor.submit()});
  int computes = 0;
  auto compute = [&] { return ++computes; };
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, compute), 1);
  f.clock->advance(1min + 10s);  // past the TTL, inside the stale window
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, compute), 1);
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, compute), 1);
  EXPECT_EQ(executor.tasks->size(), 1u) << "one refresh for many stale reads";
  EXPECT_EQ(cache.stats().stale_served, 2u);
  executor.run_all();
  EXPECT_EQ(computes, 2);
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, compute), 2);
}

TEST(StaleWhileRevalidate, InlineRefreshReturnsFreshToTheRefresherAndStaleToOthers) {
  Fixture f;
  Cache cache = f.make(CallOptions{.early_refresh_beta = 0, .stale_while_revalidate = 30s});
  std::atomic<int> computes{0};
  cache.cached("k", ns("u"), 1min, [&] { return ++computes; });
  f.clock->advance(1min + 1s);
  int refresher_got = 0, other_got = 0;
  std::thread refresher([&] {
    refresher_got = cache.cached("k", ns("u"), 1min, [&] {
      ++computes;
      eventually([&] { return cache.stats().stale_served >= 1; });
      return 2;
    });
  });
  eventually([&] { return computes.load() == 2; });
  other_got = cache.cached("k", ns("u"), 1min, [&] { return ++computes; });
  refresher.join();
  EXPECT_EQ(refresher_got, 2);
  EXPECT_EQ(other_got, 1);
  EXPECT_EQ(computes.load(), 2);
}

TEST(StaleWhileRevalidate, NeverServesStalePastTheHardTtl) {
  Fixture f;
  ManualExecutor executor;
  Cache cache = f.make(CallOptions{
      .early_refresh_beta = 0, .stale_while_revalidate = 30s, .executor = executor.submit()});
  int computes = 0;
  cache.cached("k", ns("u"), 1min, [&] { return ++computes; });
  f.clock->advance(1min + 31s);
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, [&] { return ++computes; }), 2);
  EXPECT_EQ(cache.stats().stale_served, 0u);
}

TEST(StaleWhileRevalidate, NeverServesStaleAcrossABump) {
  Fixture f;
  ManualExecutor executor;
  Cache cache = f.make(CallOptions{.early_refresh_beta = 0,
                                   .stale_while_revalidate = 30s,
                                   .stale_if_error = 1h,
                                   .executor = executor.submit()});
  cache.cached("k", ns("u"), 1min, [] { return 1; });
  f.clock->advance(1min + 1s);
  cache.bump_namespace(ns("u"));
  EXPECT_EQ(cache.cached("k", ns("u"), 1min, [] { return 2; }), 2);
  EXPECT_THROW(cache.cached("k2", ns("u"), 1min, []() -> int { throw std::runtime_error("x"); }),
               std::runtime_error);
  EXPECT_EQ(cache.stats().stale_served, 0u);
}

TEST(StaleIfError, ServesStaleWhenComputeThrowsOnlyIfConfigured) {
  Fixture f;
  Cache plain = f.make(CallOptions{.early_refresh_beta = 0});
  Cache tolerant = f.make(CallOptions{.early_refresh_beta = 0, .stale_if_error = 10min});
  tolerant.cached("k", ns("u"), 1min, [] { return 7; });
  f.clock->advance(2min);
  auto failing = []() -> int { throw std::runtime_error("database down"); };
  EXPECT_THROW(plain.cached("k", ns("u"), 1min, failing), std::runtime_error);
  EXPECT_EQ(tolerant.cached("k", ns("u"), 1min, failing), 7);
  EXPECT_EQ(tolerant.stats().stale_served, 1u);
  f.clock->advance(9min);  // 11 min after writing: past TTL + stale_if_error
  EXPECT_THROW(tolerant.cached("k", ns("u"), 1min, failing), std::runtime_error);
  EXPECT_EQ(tolerant.stats().stale_served, 1u);
}

TEST(StaleIfError, AStaleValueIsNotAHitForGet) {
  Fixture f;
  Cache cache = f.make(CallOptions{.stale_if_error = 10min});
  cache.cached("k", ns("u"), 1min, [] { return 7; });
  f.clock->advance(2min);
  EXPECT_EQ(cache.get<int>("k", ns("u")), std::nullopt);
}

TEST(NegativeCaching, AbsentResultsLiveForAbsentTtl) {
  Fixture f;
  Cache cache = f.make(CallOptions{.early_refresh_beta = 0, .absent_ttl = 5s});
  int computes = 0;
  auto lookup = [&]() -> std::optional<std::string> {
    ++computes;
    return std::nullopt;
  };
  EXPECT_EQ(cache.cached("user-by-email", ns("users"), 1h, lookup), std::nullopt);
  EXPECT_EQ(cache.cached("user-by-email", ns("users"), 1h, lookup), std::nullopt);
  EXPECT_EQ(computes, 1);
  f.clock->advance(6s);
  cache.cached("user-by-email", ns("users"), 1h, lookup);
  EXPECT_EQ(computes, 2);
  // Present values keep the call's TTL.
  cache.cached("present", ns("users"), 1h, [] { return std::optional<int>(1); });
  f.clock->advance(30min);
  EXPECT_EQ(cache.get<std::optional<int>>("present", ns("users")), std::optional<int>(1));
}

TEST(TtlJitter, SpreadsTtlsWithinTheBound) {
  Fixture f;
  Cache cache = f.make(CallOptions{.early_refresh_beta = 0, .ttl_jitter = 0.2});
  for (int i = 0; i < 200; ++i)
    cache.cached("k" + std::to_string(i), ns("u"), 100s, [] { return 1; });
  f.clock->advance(85s);  // before the earliest possible expiry (80 s)? no: 80 s is the bound
  int alive_at_85 = 0;
  for (int i = 0; i < 200; ++i)
    alive_at_85 += cache.get<int>("k" + std::to_string(i), ns("u")).has_value();
  f.clock->advance(30s);  // 115 s: between 80 and 120 some live, some not
  int alive_at_115 = 0;
  for (int i = 0; i < 200; ++i)
    alive_at_115 += cache.get<int>("k" + std::to_string(i), ns("u")).has_value();
  EXPECT_GT(alive_at_85, 0);
  EXPECT_LT(alive_at_85, 200) << "some entries expired before the nominal TTL";
  EXPECT_GT(alive_at_115, 0) << "some entries outlived the nominal TTL";
  f.clock->advance(6s);  // 121 s: past the upper bound
  int alive_at_121 = 0;
  for (int i = 0; i < 200; ++i)
    alive_at_121 += cache.get<int>("k" + std::to_string(i), ns("u")).has_value();
  EXPECT_EQ(alive_at_121, 0);
}

TEST(CallOptionsValidation, InvalidDefaultsAreRejected) {
  auto backend = std::make_shared<MemoryBackend>();
  EXPECT_THROW(Cache(backend, CacheOptions{.call = {.ttl_jitter = 1.5}}), config_error);
  EXPECT_THROW(Cache(backend, CacheOptions{.call = {.early_refresh_beta = -1}}), config_error);
  EXPECT_THROW(Cache(backend, CacheOptions{.counter_ttl = -1ms}), config_error);
}

// The error names the option and its value, so the caller knows what to fix.
std::string rejection(const std::function<void()>& call) {
  try {
    call();
  } catch (const config_error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(CallOptionsValidation, PerCallOptionsAreCheckedWhereTheyEnter) {
  Fixture f;
  Cache cache = f.make();
  int computes = 0;
  auto compute = [&] { return ++computes; };
  // A 0 ms lease would reach add() as "never expires": a dead holder would block the key.
  const std::string zero_lease = rejection([&] {
    cache.cached("k", ns("u"), 1min, compute, CallOptions{.lease = true, .lease_ttl = 0ms});
  });
  EXPECT_NE(zero_lease.find("lease_ttl"), std::string::npos) << zero_lease;
  EXPECT_NE(zero_lease.find("0 ms"), std::string::npos) << zero_lease;
  EXPECT_EQ(computes, 0) << "rejected before any compute";
  EXPECT_NE(rejection([&] {
              cache.cached("k", ns("u"), 1min, compute, CallOptions{.ttl_jitter = -0.5});
            }).find("ttl_jitter"),
            std::string::npos);
  EXPECT_NE(rejection([&] {
              cached_call(
                  cache, [](int) { return std::string("k"); }, [](int) { return ns("u"); }, 1min,
                  [](int x) { return x; }, CallOptions{.stale_if_error = -1s});
            }).find("stale_if_error"),
            std::string::npos)
      << "cached_call checks its options at wrap time";
}

TEST(CallOptionsValidation, NonPositiveTtlNamesTheTtl) {
  Fixture f;
  Cache cache = f.make();
  const std::string message = rejection([&] { cache.cached("k", ns("u"), 0s, [] { return 1; }); });
  EXPECT_NE(message.find("ttl"), std::string::npos) << message;
}

}  // namespace
}  // namespace gencache
