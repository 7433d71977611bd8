// The behavioural suite: every backend keeps every promise, through both APIs. Runs over
// every kind of the test registry (memory://, Memcached in both protocols, Redis, on
// servers the test starts itself), once through Cache and once through AsyncCache
// (test::CacheUnderTest gives both Cache's call shapes).
#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/testing.hpp"
#include "random.hpp"
#include "support/backend_calls.hpp"
#include "support/backend_kinds.hpp"
#include "support/cache_under_test.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using testing::FaultInjectingBackend;
using testing::Operation;

class CacheBehaviour : public ::testing::TestWithParam<test::KindAndApi> {
 protected:
  void SetUp() override {
    test::TestBackend made = test::make_test_backend(kind());
    prefix_ = made.prefix;
    faulty_ = std::make_shared<FaultInjectingBackend>(made.backend);
    CacheOptions options;
    options.prefix = prefix_;
    options.on_error = [this](const ErrorEvent& e) {
      hook_calls_.fetch_add(1);
      std::lock_guard lock(hook_mutex_);
      last_error_ = e.code;
    };
    cache_ = make_cache(faulty_, std::move(options));
  }

  const std::string& kind() const { return std::get<0>(GetParam()); }
  test::Api api() const { return std::get<1>(GetParam()); }

  // A cache of this test's API on `backend`.
  std::unique_ptr<test::CacheUnderTest> make_cache(std::shared_ptr<Backend> backend,
                                                   CacheOptions options) const {
    return std::make_unique<test::CacheUnderTest>(api(), kind(), std::move(backend),
                                                  std::move(options));
  }

  // A second Cache on the same storage: another process, with its own generation hints
  // (blocking either way: it may run inside an AsyncCache's compute).
  Cache other_process() {
    CacheOptions options;
    options.prefix = prefix_;
    return Cache(faulty_, options);
  }

  std::string counter_key(const Namespace& n) const {
    return testing::counter_key(*faulty_, n, prefix_);
  }

  std::string prefix_;
  std::shared_ptr<FaultInjectingBackend> faulty_;
  std::unique_ptr<test::CacheUnderTest> cache_;
  std::atomic<int> hook_calls_{0};
  std::mutex hook_mutex_;
  std::error_code last_error_;
};

TEST_P(CacheBehaviour, MissComputesOnceThenHits) {
  int computes = 0;
  auto compute = [&] { return "body-" + std::to_string(++computes); };
  EXPECT_EQ(cache_->cached("page?1", ns("user", 1), 1min, compute), "body-1");
  EXPECT_EQ(cache_->cached("page?1", ns("user", 1), 1min, compute), "body-1");
  EXPECT_EQ(computes, 1);
  const Stats s = cache_->stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.sets, 1u);
  EXPECT_EQ(s.computes, 1u);
}

TEST_P(CacheBehaviour, BumpMakesOldEntriesUnreachable) {
  int computes = 0;
  auto compute = [&] { return ++computes; };
  for (int page = 0; page < 5; ++page)
    cache_->cached("p" + std::to_string(page), ns("user", 42), 1min, compute);
  EXPECT_EQ(computes, 5);
  const std::uint64_t before = cache_->generation(ns("user", 42));
  const std::uint64_t after = cache_->bump_namespace(ns("user", 42));
  EXPECT_NE(after, before);
  for (int page = 0; page < 5; ++page)
    cache_->cached("p" + std::to_string(page), ns("user", 42), 1min, compute);
  EXPECT_EQ(computes, 10) << "every page of user 42 was recomputed after the bump";
}

TEST_P(CacheBehaviour, BumpIsSeenByAnotherProcessAtOnce) {
  Cache other = other_process();
  int computes = 0;
  auto compute = [&] { return ++computes; };
  EXPECT_EQ(other.cached("k", ns("user", 7), 1min, compute), 1);
  EXPECT_EQ(other.cached("k", ns("user", 7), 1min, compute), 1);
  cache_->bump_namespace(ns("user", 7));
  EXPECT_EQ(other.cached("k", ns("user", 7), 1min, compute), 2);
}

TEST_P(CacheBehaviour, BumpLeavesOtherNamespacesCached) {
  int computes = 0;
  auto compute = [&] { return ++computes; };
  cache_->cached("k", ns("user", 1), 1min, compute);
  cache_->cached("k", ns("user", 2), 1min, compute);
  cache_->bump_namespace(ns("user", 1));
  cache_->cached("k", ns("user", 2), 1min, compute);
  EXPECT_EQ(computes, 2);
  cache_->cached("k", ns("user", 1), 1min, compute);
  EXPECT_EQ(computes, 3);
}

TEST_P(CacheBehaviour, EntryDependsOnEveryNamespaceItNames) {
  int computes = 0;
  auto compute = [&] { return ++computes; };
  const NamespaceSet deps{ns("user", 1), ns("org", 7)};
  cache_->cached("dash", deps, 1min, compute);
  cache_->bump_namespace(ns("org", 7));
  cache_->cached("dash", deps, 1min, compute);
  cache_->bump_namespace(ns("user", 1));
  cache_->cached("dash", deps, 1min, compute);
  cache_->cached("dash", deps, 1min, compute);
  EXPECT_EQ(computes, 3);
}

TEST_P(CacheBehaviour, NamespaceOrderAndDuplicatesNameTheSameEntry) {
  int computes = 0;
  auto compute = [&] { return ++computes; };
  cache_->cached("dash", {ns("user", 1), ns("org", 7)}, 1min, compute);
  cache_->cached("dash", {ns("org", 7), ns("user", 1), ns("org", 7)}, 1min, compute);
  EXPECT_EQ(computes, 1);
}

TEST_P(CacheBehaviour, GenerationIsReadBeforeComputeAndTheValueStoredUnderIt) {
  const std::uint64_t g0 = cache_->generation(ns("user", 5));
  // A write commits and bumps while the value is being computed from pre-write data.
  auto slow_compute = [&] {
    other_process().bump_namespace(ns("user", 5));
    return std::string("computed-from-old-data");
  };
  EXPECT_EQ(cache_->cached("k", ns("user", 5), 1min, slow_compute), "computed-from-old-data");
  const std::uint64_t g1 = cache_->generation(ns("user", 5));
  ASSERT_NE(g0, g1);
  // Stored under the generation read before compute, never the later one.
  std::vector<std::optional<std::string>> values;
  const std::string old_key =
      cache_->versioned_key("k", ns("user", 5), std::vector<std::uint64_t>{g0});
  const std::string new_key =
      cache_->versioned_key("k", ns("user", 5), std::vector<std::uint64_t>{g1});
  const std::vector<std::string_view> keys{old_key, new_key};
  faulty_->inner().get_many(keys, values);
  EXPECT_TRUE(values[0].has_value());
  EXPECT_FALSE(values[1].has_value());
  // So the next read computes afresh.
  EXPECT_EQ(cache_->cached("k", ns("user", 5), 1min, [] { return std::string("fresh"); }), "fresh");
}

TEST_P(CacheBehaviour, LostCounterIsRecreatedAtAFreshValue) {
  int computes = 0;
  auto compute = [&] { return ++computes; };
  const std::uint64_t g0 = cache_->generation(ns("user", 9));
  cache_->cached("k", ns("user", 9), 1min, compute);
  const auto recreations_before = cache_->stats().counter_recreations;
  ASSERT_TRUE(faulty_->evict_counter(ns("user", 9), prefix_));
  cache_->cached("k", ns("user", 9), 1min, compute);
  EXPECT_EQ(computes, 2) << "an evicted counter makes old entries unreachable";
  const std::uint64_t g1 = cache_->generation(ns("user", 9));
  EXPECT_NE(g1, g0);
  EXPECT_GE(g1, detail::min_fresh_generation);
  EXPECT_LT(g1, detail::max_fresh_generation);
  EXPECT_EQ(cache_->stats().counter_recreations, recreations_before + 1);
}

TEST_P(CacheBehaviour, BumpOfALostCounterRecreatesItFresh) {
  const std::uint64_t g0 = cache_->generation(ns("org", 3));
  ASSERT_TRUE(faulty_->evict_counter(ns("org", 3), prefix_));
  const std::uint64_t g1 = cache_->bump_namespace(ns("org", 3));
  EXPECT_NE(g1, g0);
  EXPECT_NE(g1, g0 + 1);
  EXPECT_GE(g1, detail::min_fresh_generation);
}

TEST_P(CacheBehaviour, APoisonedCounterNeverServesAnOldValueAndIsReplacedFresh) {
  const Namespace n = ns("victim");
  int computes = 0;
  auto compute = [&] { return ++computes; };
  EXPECT_EQ(cache_->cached("k", n, 1min, compute), 1);
  faulty_->set(counter_key(n), "not-a-number", 0ms);

  // The read that finds it cannot know the generation: it fails open, and replaces it.
  const Stats before = cache_->stats();
  EXPECT_EQ(cache_->cached("k", n, 1min, compute), 2) << "fail-open computes";
  EXPECT_EQ(cache_->stats().errors, before.errors + 1);
  EXPECT_EQ(last_error_, make_error_code(errc::corrupt_value));
  const std::optional<std::string> repaired = test::get(*faulty_, counter_key(n));
  ASSERT_TRUE(repaired.has_value());
  const std::uint64_t fresh = std::stoull(*repaired);
  EXPECT_GE(fresh, detail::min_fresh_generation) << "never 0 or 1, never a used value";
  EXPECT_LT(fresh, detail::max_fresh_generation);

  // The value cached before the poisoning is never served again, by this process or another.
  EXPECT_EQ(cache_->get<int>("k", n), std::nullopt);
  EXPECT_EQ(other_process().get<int>("k", n), std::nullopt);
  // Caching and bumping work again.
  EXPECT_EQ(cache_->cached("k", n, 1min, compute), 3);
  EXPECT_EQ(cache_->cached("k", n, 1min, compute), 3) << "a hit again";
  EXPECT_EQ(cache_->bump_namespace(n), fresh + 1);
  EXPECT_EQ(cache_->cached("k", n, 1min, compute), 4);
}

// get, compute, set reads the generations at set time and loses a bump made meanwhile;
// reserve/store reads them first.
TEST_P(CacheBehaviour, BumpBetweenReserveAndStoreNeverLetsTheOldValueBeServed) {
  const Namespace n = ns("user", 42);
  const Ticket ticket = cache_->reserve("profile", n);
  ASSERT_TRUE(ticket.valid());
  const std::string built_from_old_data = "old profile";
  cache_->bump_namespace(n);  // the data changed while the value was being built
  cache_->store(ticket, built_from_old_data, 1min);
  EXPECT_EQ(cache_->get("profile", n), std::nullopt);
  EXPECT_EQ(other_process().get("profile", n), std::nullopt);

  const Ticket fresh = cache_->reserve("profile", n);
  cache_->store(fresh, std::string("new profile"), 1min);
  EXPECT_EQ(cache_->get("profile", n), "new profile") << "without a bump, store is a set";
}

TEST_P(CacheBehaviour, ReserveOnAFailedBackendStoresNothingAndDoesNotThrow) {
  faulty_->fail_always(true);
  const Ticket ticket = cache_->reserve("k", ns("t"));
  EXPECT_FALSE(ticket.valid());
  EXPECT_NO_THROW(cache_->store(ticket, 1, 1min));
  faulty_->fail_always(false);
  EXPECT_EQ(cache_->get<int>("k", ns("t")), std::nullopt);
}

TEST_P(CacheBehaviour, ComputeAskingForItsOwnEntryThrowsInsteadOfDeadlocking) {
  if (api() == test::Api::async)
    GTEST_SKIP()
        << "the facade runs an AsyncCache's compute on its io thread, where a nested "
           "call cannot wait for its own completion (the coroutine form is "
           "AsyncCacheTest.ComputeAwaitingItsOwnEntryFailsWithAClearErrorInsteadOfWaitingForever)";
  const Namespace n = ns("self");
  std::string inner_error;
  auto outer = [&] {
    try {
      return cache_->cached("k", n, 1min, [] { return 1; });
    } catch (const error& e) {
      inner_error = e.what();
      throw;
    }
  };
  EXPECT_THROW(cache_->cached("k", n, 1min, outer), error);
  EXPECT_NE(inner_error.find("same entry"), std::string::npos) << inner_error;
  EXPECT_EQ(cache_->cached("k", n, 1min, [] { return 2; }), 2) << "the key still works";
}

// With the outbox on and no reader, a bump that only threw would retry forever.
TEST_P(CacheBehaviour, BumpRepairsAPoisonedCounterItself) {
  const Namespace n = ns("victim");
  int computes = 0;
  auto compute = [&] { return ++computes; };
  EXPECT_EQ(cache_->cached("k", n, 1min, compute), 1);
  faulty_->set(counter_key(n), "not-a-number", 0ms);

  const std::uint64_t generation = cache_->bump_namespace(n);
  EXPECT_GE(generation, detail::min_fresh_generation) << "a fresh value, never 0 or 1";
  EXPECT_LT(generation, detail::max_fresh_generation);
  EXPECT_EQ(test::get(*faulty_, counter_key(n)), std::to_string(generation));
  EXPECT_EQ(other_process().get<int>("k", n), std::nullopt) << "the old value is unreachable";
  EXPECT_EQ(cache_->cached("k", n, 1min, compute), 2);
  EXPECT_EQ(cache_->bump_namespace(n), generation + 1);
}

// A backend where someone else creates the counter just before we do.
class RacingBackend : public FaultInjectingBackend {
 public:
  using FaultInjectingBackend::FaultInjectingBackend;
  std::uint64_t winner = 0x5555'0000'1234;
  bool create_counter(std::string_view key, std::uint64_t initial,
                      std::chrono::milliseconds ttl) override {
    inner().create_counter(key, winner, ttl);
    return FaultInjectingBackend::create_counter(key, initial, ttl);
  }
};

TEST_P(CacheBehaviour, LostRaceToCreateACounterUsesTheWinnersValue) {
  auto racing = std::make_shared<RacingBackend>(faulty_);
  auto cache = make_cache(racing, CacheOptions{.prefix = prefix_});
  EXPECT_EQ(cache->generation(ns("race", 1)), racing->winner);
  EXPECT_EQ(cache->stats().counter_recreations, 0u);
}

TEST_P(CacheBehaviour, CorruptBytesAreACountedMissAndGetOverwritten) {
  cache_->set("k", ns("user", 3), std::string("good"), 1min);
  const std::uint64_t g = cache_->generation(ns("user", 3));
  const std::string key = cache_->versioned_key("k", ns("user", 3), std::vector<std::uint64_t>{g});
  faulty_->inner().set(key, "GC\x01 garbage that is not an envelope", 1min);
  EXPECT_EQ(cache_->cached("k", ns("user", 3), 1min, [] { return std::string("recomputed"); }),
            "recomputed");
  EXPECT_EQ(cache_->stats().corrupt, 1u);
  EXPECT_EQ(cache_->get("k", ns("user", 3)), "recomputed");
}

TEST_P(CacheBehaviour, AValueOfAnotherTypeIsACountedMiss) {
  cache_->set("k", ns("t"), std::string("three bytes"), 1min);
  EXPECT_EQ(cache_->get<std::uint64_t>("k", ns("t")), std::nullopt);
  EXPECT_EQ(cache_->stats().corrupt, 1u);
}

TEST_P(CacheBehaviour, EmptyZeroFalseAndAbsentAreCachedValues) {
  int computes = 0;
  EXPECT_EQ(cache_->cached("s", ns("v"), 1min,
                           [&] {
                             ++computes;
                             return std::string();
                           }),
            "");
  EXPECT_EQ(cache_->cached("s", ns("v"), 1min,
                           [&] {
                             ++computes;
                             return std::string("x");
                           }),
            "");
  EXPECT_EQ(cache_->cached("i", ns("v"), 1min,
                           [&] {
                             ++computes;
                             return 0;
                           }),
            0);
  EXPECT_EQ(cache_->cached("i", ns("v"), 1min,
                           [&] {
                             ++computes;
                             return 1;
                           }),
            0);
  EXPECT_EQ(cache_->cached("b", ns("v"), 1min,
                           [&] {
                             ++computes;
                             return false;
                           }),
            false);
  EXPECT_EQ(cache_->cached("b", ns("v"), 1min,
                           [&] {
                             ++computes;
                             return true;
                           }),
            false);
  using Maybe = std::optional<std::string>;
  EXPECT_EQ(cache_->cached("o", ns("v"), 1min,
                           [&] {
                             ++computes;
                             return Maybe();
                           }),
            std::nullopt);
  EXPECT_EQ(cache_->cached("o", ns("v"), 1min,
                           [&] {
                             ++computes;
                             return Maybe("x");
                           }),
            std::nullopt);
  EXPECT_EQ(computes, 4);
  // get<optional<T>> tells a cached absent value from a miss.
  auto cached_absent = cache_->get<Maybe>("o", ns("v"));
  ASSERT_TRUE(cached_absent.has_value());
  EXPECT_FALSE(cached_absent->has_value());
  EXPECT_FALSE(cache_->get<Maybe>("never-set", ns("v")).has_value());
}

TEST_P(CacheBehaviour, BinaryValuesWithNulRoundTrip) {
  const std::string binary("\0\r\nEND\r\n\xff\0", 10);
  cache_->set("bin", ns("v"), binary, 1min);
  EXPECT_EQ(cache_->get("bin", ns("v")), binary);
}

TEST_P(CacheBehaviour, ComputeExceptionReachesTheCallerAndNothingIsCached) {
  int calls = 0;
  struct Boom : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  EXPECT_THROW(cache_->cached("k", ns("e"), 1min,
                              [&]() -> std::string {
                                ++calls;
                                throw Boom("boom");
                              }),
               Boom);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(cache_->stats().sets, 0u);
  EXPECT_EQ(cache_->get("k", ns("e")), std::nullopt);
}

TEST_P(CacheBehaviour, BackendFailureFallsBackToComputeOnceAndIsReported) {
  faulty_->fail_always(true, errc::timeout);
  int computes = 0;
  EXPECT_EQ(cache_->cached("k", ns("user", 1), 1min, [&] { return ++computes; }), 1);
  EXPECT_EQ(computes, 1);
  EXPECT_EQ(faulty_->calls(Operation::set), 0u) << "nothing is written after a failed read";
  EXPECT_GE(cache_->stats().errors, 1u);
  EXPECT_GE(hook_calls_.load(), 1);
  {
    std::lock_guard lock(hook_mutex_);
    EXPECT_EQ(last_error_, errc::timeout);
  }
  EXPECT_EQ(cache_->get("k", ns("user", 1)), std::nullopt);
  EXPECT_NO_THROW(cache_->set("k", ns("user", 1), std::string("v"), 1min));
  faulty_->fail_always(false);
  EXPECT_EQ(cache_->cached("k", ns("user", 1), 1min, [&] { return ++computes; }), 2);
  EXPECT_EQ(cache_->cached("k", ns("user", 1), 1min, [&] { return ++computes; }), 2);
}

TEST_P(CacheBehaviour, GetTellsABackendFailureFromAMiss) {
  cache_->set("k", ns("g"), std::string("v"), 1min);
  std::error_code ec = make_error_code(errc::protocol);  // cleared by a good read
  EXPECT_EQ(cache_->get("k", ns("g"), ec), "v");
  EXPECT_FALSE(ec);
  ec = make_error_code(errc::protocol);
  EXPECT_EQ(cache_->get("absent", ns("g"), ec), std::nullopt);
  EXPECT_FALSE(ec) << "an ordinary miss is not an error";

  faulty_->fail_next(Operation::get_many, 1, errc::timeout);
  EXPECT_EQ(cache_->get("k", ns("g"), ec), std::nullopt);
  EXPECT_EQ(ec, make_error_code(errc::timeout));
  EXPECT_EQ(hook_calls_.load(), 1) << "still reported to the hook";

  const std::vector<std::string> keys{"k", "absent"};
  faulty_->fail_next(Operation::get_many, 1, errc::backend_unavailable);
  const auto failed = cache_->get_many(std::span<const std::string>(keys), ns("g"), ec);
  EXPECT_EQ(ec, make_error_code(errc::backend_unavailable));
  EXPECT_EQ(failed, (std::vector<std::optional<std::string>>{std::nullopt, std::nullopt}));
  const auto read = cache_->get_many(std::span<const std::string>(keys), ns("g"), ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(read, (std::vector<std::optional<std::string>>{"v", std::nullopt}));
}

TEST_P(CacheBehaviour, FailureWhileWritingStillReturnsTheComputedValue) {
  faulty_->fail_next(Operation::set, 1);
  EXPECT_EQ(cache_->cached("k", ns("w"), 1min, [] { return std::string("v1"); }), "v1");
  EXPECT_EQ(cache_->stats().errors, 1u);
  EXPECT_EQ(cache_->cached("k", ns("w"), 1min, [] { return std::string("v2"); }), "v2");
  EXPECT_EQ(cache_->cached("k", ns("w"), 1min, [] { return std::string("v3"); }), "v2");
}

TEST_P(CacheBehaviour, AThrowingErrorHookDoesNotBreakTheCaller) {
  cache_->set_error_hook([](const ErrorEvent&) { throw std::runtime_error("hook bug"); });
  faulty_->fail_always(true);
  EXPECT_EQ(cache_->cached("k", ns("h"), 1min, [] { return 5; }), 5);
}

TEST_P(CacheBehaviour, FailedBumpIsNeverSilent) {
  faulty_->fail_always(true, errc::backend_unavailable);
  try {
    cache_->bump_namespace(ns("user", 1));
    ADD_FAILURE() << "bump_namespace returned although the backend failed";
  } catch (const backend_error& e) {
    EXPECT_EQ(e.code(), errc::backend_unavailable);
  }
  std::error_code ec;
  EXPECT_EQ(cache_->bump_namespace(ns("user", 1), ec), 0u);
  EXPECT_EQ(ec, errc::backend_unavailable);
  EXPECT_THROW(cache_->generation(ns("user", 1)), backend_error);
  EXPECT_EQ(cache_->stats().bumps, 0u);
  faulty_->fail_always(false);
  EXPECT_NE(cache_->bump_namespace(ns("user", 1), ec), 0u);
  EXPECT_FALSE(ec);
}

TEST_P(CacheBehaviour, NonPositiveTtlIsRejected) {
  EXPECT_THROW(cache_->cached("k", ns("t"), 0s, [] { return 1; }), config_error);
  EXPECT_THROW(cache_->cached("k", ns("t"), -5min, [] { return 1; }), config_error);
  EXPECT_THROW(cache_->set("k", ns("t"), 1, 0ms), config_error);
}

TEST_P(CacheBehaviour, SteadyStateReadIsOneRoundTripAndTwoAfterABump) {
  const NamespaceSet deps{ns("user", 1), ns("org", 1)};
  cache_->cached("dash", deps, 1min, [] { return 1; });  // cold: counters, then entry
  faulty_->reset_counts();
  cache_->cached("dash", deps, 1min, [] { return 2; });
  EXPECT_EQ(faulty_->calls(), 1u) << "a steady-state hit is one multi-get";
  other_process().bump_namespace(ns("org", 1));
  faulty_->reset_counts();
  cache_->cached("dash", deps, 1min, [] { return 3; });
  EXPECT_EQ(faulty_->calls(Operation::get_many), 2u)
      << "right after a bump: counters+guess, then the entry";
  EXPECT_EQ(faulty_->calls(Operation::set), 1u);
  faulty_->reset_counts();
  EXPECT_EQ(cache_->cached("dash", deps, 1min, [] { return 4; }), 3);
  EXPECT_EQ(faulty_->calls(), 1u);
  // A miss in steady state is final after one round trip too (plus the write).
  faulty_->reset_counts();
  cache_->cached("other-page", deps, 1min, [] { return 5; });
  EXPECT_EQ(faulty_->calls(Operation::get_many), 1u);
}

TEST_P(CacheBehaviour, HintsOffStillKeepsThePromises) {
  auto cache = make_cache(faulty_, CacheOptions{.prefix = prefix_, .generation_hints = 0});
  int computes = 0;
  cache->cached("k", ns("u"), 1min, [&] { return ++computes; });
  cache->cached("k", ns("u"), 1min, [&] { return ++computes; });
  cache->bump_namespace(ns("u"));
  cache->cached("k", ns("u"), 1min, [&] { return ++computes; });
  EXPECT_EQ(computes, 2);
}

TEST_P(CacheBehaviour, OversizedValueIsReturnedButNotCached) {
  const std::string huge(faulty_->max_value_size() + 1, 'x');
  int computes = 0;
  auto compute = [&] {
    ++computes;
    return huge;
  };
  for (int call = 0; call < 2; ++call)
    EXPECT_EQ(cache_->cached("big", ns("v"), 1min, compute).size(), huge.size()) << call;
  EXPECT_EQ(computes, 2);
  EXPECT_EQ(cache_->stats().oversized, 2u);
  EXPECT_FALSE(last_error_) << "an oversized value is not a backend failure: no hook";
  EXPECT_EQ(cache_->stats().errors, 0u);
  EXPECT_EQ(cache_->get("big", ns("v")), std::nullopt);
}

TEST_P(CacheBehaviour, HostileKeysAndNamespacesAreStoredSafelyAndApart) {
  const std::vector<std::string> hostile = {"a b",
                                            "a\r\nset x 0 0 1\r\n",
                                            std::string("n\0ul", 4),
                                            std::string(64 * 1024, 'k'),
                                            "\xff\xfe invalid utf8",
                                            std::string(1 << 20, '\n')};
  int i = 0;
  for (const auto& text : hostile) {
    const int expected = ++i;
    EXPECT_EQ(cache_->cached(text, Namespace(text), 1min, [&] { return expected; }), expected);
  }
  i = 0;
  for (const auto& text : hostile) {
    ++i;
    EXPECT_EQ(cache_->get<int>(text, Namespace(text)), i) << "entry " << i;
  }
  EXPECT_EQ(cache_->stats().errors, 0u);
}

TEST_P(CacheBehaviour, GetAndSetShareEntriesWithCached) {
  cache_->set("k", {ns("a"), ns("b")}, "v", 30s);
  EXPECT_EQ(cache_->get("k", {ns("b"), ns("a")}), "v");
  EXPECT_EQ(cache_->cached("k", {ns("a"), ns("b")}, 30s, [] { return std::string("computed"); }),
            "v");
  cache_->bump_namespace(ns("b"));
  EXPECT_EQ(cache_->get("k", {ns("a"), ns("b")}), std::nullopt);
}

TEST_P(CacheBehaviour, EntriesWithoutNamespacesWork) {
  int computes = 0;
  cache_->cached("plain", {}, 1min, [&] { return ++computes; });
  EXPECT_EQ(cache_->cached("plain", {}, 1min, [&] { return ++computes; }), 1);
}

TEST_P(CacheBehaviour, GetManyReadsEveryKeyInOneRoundTripInSteadyState) {
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back("item:" + std::to_string(i));
  for (int i = 0; i < 100; i += 2) cache_->set(keys[i], ns("list", 1), i, 1min);
  faulty_->reset_counts();
  const std::vector<std::optional<int>> values = cache_->get_many<int>(keys, ns("list", 1));
  EXPECT_EQ(faulty_->calls(), 1u) << "100 entries and the counter in one multi-get";
  ASSERT_EQ(values.size(), keys.size());
  for (int i = 0; i < 100; ++i) {
    if (i % 2 == 0)
      EXPECT_EQ(values[i], i) << i;
    else
      EXPECT_EQ(values[i], std::nullopt) << i;
  }
  other_process().bump_namespace(ns("list", 1));
  faulty_->reset_counts();
  for (const auto& v : cache_->get_many<int>(keys, ns("list", 1))) EXPECT_EQ(v, std::nullopt);
  EXPECT_EQ(faulty_->calls(Operation::get_many), 2u)
      << "after a bump: counters+guesses, then the entries";
}

TEST_P(CacheBehaviour, CachedManyComputesOnlyTheMissesAndCachesThem) {
  const std::vector<std::string> keys = {"a", "b", "c", "d"};
  cache_->set("b", ns("n"), std::string("cached-b"), 1min);
  std::vector<std::string> computed;
  auto compute = [&](const std::string& key) {
    computed.push_back(key);
    return "computed-" + key;
  };
  EXPECT_EQ(cache_->cached_many(keys, ns("n"), 1min, compute),
            (std::vector<std::string>{"computed-a", "cached-b", "computed-c", "computed-d"}));
  EXPECT_EQ(computed, (std::vector<std::string>{"a", "c", "d"}));
  EXPECT_EQ(cache_->cached_many(keys, ns("n"), 1min, compute),
            (std::vector<std::string>{"computed-a", "cached-b", "computed-c", "computed-d"}));
  EXPECT_EQ(computed.size(), 3u);
}

TEST_P(CacheBehaviour, GetManyFailsOpenAsMisses) {
  cache_->set("a", ns("n"), std::string("v"), 1min);
  faulty_->reset_counts();
  faulty_->fail_always(true);
  const std::vector<std::string> keys = {"a", "b"};
  EXPECT_EQ(cache_->get_many(keys, ns("n")),
            (std::vector<std::optional<std::string>>{std::nullopt, std::nullopt}));
  EXPECT_EQ(cache_->cached_many(keys, ns("n"), 1min, [](const std::string& k) { return k; }),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(faulty_->calls(Operation::set), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, CacheBehaviour, ::testing::ValuesIn(test::kinds_and_apis()),
                         test::kind_and_api_name);

}  // namespace
}  // namespace gencache
