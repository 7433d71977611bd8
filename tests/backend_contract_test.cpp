// The Backend contract (include/gencache/backend.hpp): what every backend promises, run
// against memory:// and against real servers started by the tests (Memcached in both
// protocols, Redis), one server per test. What only one backend does (wire format,
// protocol quirks, credentials, pools, clusters, restarts) is in its own suite:
// memory_backend_test, memcached_backend_test, redis_backend_test.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gencache/backend.hpp"
#include "gencache/error.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "support/backend_calls.hpp"
#include "support/backend_kinds.hpp"
#include "support/memcached_server.hpp"
#include "support/redis_server.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using ::testing::HasSubstr;

using test::code_thrown_by;
using test::get;
using test::get_many;
using test::kFailureBound;
using test::kNoTtl;
using test::message_thrown_by;
using test::numbered_keys;
using test::once_each;
using test::RecordingVisitor;
using test::visit_many;
using test::Visits;

// A backend of one of test::backend_kinds(), on a server of this test's own (so the test
// may stop or pause it, and sees no other test's keys).
class BackendContract : public ::testing::TestWithParam<std::string> {
 protected:
  const std::string& kind() const { return GetParam(); }

  // A new backend on this test's server: a new memory:// backend, or a client with its
  // own connections.
  std::shared_ptr<Backend> connect(const test::ClientSettings& settings = {}) const {
    return server_->connect(settings);
  }

  std::unique_ptr<test::TestServer> server_ = test::start_server(kind());
  std::shared_ptr<Backend> backend = connect();
};

// The contract where a server can crash or hang: the server kinds only.
class ServerBackendContract : public BackendContract {
 protected:
  void stop_server() { server_->stop(); }
  void pause_server() { server_->pause(); }
  void resume_server() { server_->resume(); }
};

std::string kind_name(const ::testing::TestParamInfo<std::string>& kind) {
  return kind.param;
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendContract, ::testing::ValuesIn(test::backend_kinds()),
                         kind_name);
INSTANTIATE_TEST_SUITE_P(Servers, ServerBackendContract,
                         ::testing::ValuesIn(test::server_backend_kinds()), kind_name);

// The contract of backends that check connections out of a pool (the meta client
// pipelines instead).
class PooledBackendContract : public ServerBackendContract {};
INSTANTIATE_TEST_SUITE_P(Pooled, PooledBackendContract,
                         ::testing::ValuesIn(test::pooled_backend_kinds()), kind_name);

// --- storage ----------------------------------------------------------------------------

TEST_P(BackendContract, GetManyReturnsValuesAtInputPositionsWithAbsentsAsNullopt) {
  backend->set("a", "1", kNoTtl);
  backend->set("c", "3", kNoTtl);
  std::vector<std::optional<std::string>> values = {"stale", "stale", "stale", "stale", "x"};
  const std::string_view keys[] = {"c", "absent", "a", "c"};
  backend->get_many(keys, values);
  EXPECT_EQ(values, (std::vector<std::optional<std::string>>{"3", std::nullopt, "1", "3"}));
}

TEST_P(BackendContract, GetManyOfManyKeysAnswersEachOne) {
  const auto keys = numbered_keys("many:", 500);
  for (std::size_t i = 0; i < keys.size(); i += 2) backend->set(keys[i], keys[i], kNoTtl);
  const auto values = get_many(*backend, keys);
  ASSERT_EQ(values.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(values[i], i % 2 == 0 ? std::optional(keys[i]) : std::nullopt) << keys[i];
}

TEST_P(BackendContract, SetReplacesTheValue) {
  backend->set("k", "old", kNoTtl);
  backend->set("k", "new", kNoTtl);
  EXPECT_EQ(get(*backend, "k"), "new");
}

TEST_P(BackendContract, AddRefusesAnExistingKeyAndKeepsItsValue) {
  EXPECT_TRUE(backend->add("k", "first", kNoTtl));
  EXPECT_FALSE(backend->add("k", "second", kNoTtl));
  EXPECT_EQ(get(*backend, "k"), "first");
}

TEST_P(BackendContract, RemoveReportsWhetherTheKeyExisted) {
  backend->set("k", "v", kNoTtl);
  EXPECT_TRUE(backend->remove("k"));
  EXPECT_FALSE(backend->remove("k"));
  EXPECT_EQ(get(*backend, "k"), std::nullopt);
}

TEST_P(BackendContract, BinaryValuesWithNulAndZeroLengthValuesRoundTrip) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  // Values that read like a reply of each wire protocol.
  const std::string memcached_lookalike = "VALUE k 0 3\r\nEND\r\n\0tail"s;
  const std::string redis_lookalike = "$3\r\nEND\r\n-ERR x\r\n*1\r\n\0tail"s;
  backend->set("bytes", every_byte, kNoTtl);
  backend->set("memcached_lookalike", memcached_lookalike, kNoTtl);
  backend->set("redis_lookalike", redis_lookalike, kNoTtl);
  backend->set("empty", "", kNoTtl);
  EXPECT_TRUE(backend->add("empty_added", std::string_view(), kNoTtl));
  const auto values = get_many(
      *backend, {"bytes", "memcached_lookalike", "redis_lookalike", "empty", "empty_added"});
  EXPECT_EQ(values[0], every_byte);
  EXPECT_EQ(values[1], memcached_lookalike);
  EXPECT_EQ(values[2], redis_lookalike);
  EXPECT_EQ(values[3], std::optional<std::string>(""));
  EXPECT_EQ(values[4], std::optional<std::string>(""));
}

// --- visit_many: get_many without copies -------------------------------------------------
// The order of the visits is not promised: the tests look at what each index was handed.

TEST_P(BackendContract, VisitManyVisitsEachPresentKeyOnceAtItsIndexWithItsBytes) {
  const std::string with_nul = "n\0l\r\nEND\r\n"s;
  backend->set("a", "alpha", kNoTtl);
  backend->set("b", with_nul, kNoTtl);
  backend->set("c", "", kNoTtl);
  const RecordingVisitor seen = visit_many(*backend, {"c", "b", "a"});
  EXPECT_EQ(seen.visits, once_each({0, 1, 2}));
  EXPECT_EQ(seen.values,
            (std::map<std::size_t, std::string>{{0, ""}, {1, with_nul}, {2, "alpha"}}));
}

TEST_P(BackendContract, VisitManyVisitsEachPresentKeyAtItsIndexAndSkipsAbsentOnes) {
  backend->set("a", "1", kNoTtl);
  backend->set("c", "3", kNoTtl);
  EXPECT_EQ(visit_many(*backend, {"absent", "c", "other-absent", "a"}).by_index(),
            (Visits{{1, "3"}, {3, "1"}}));
  EXPECT_EQ(visit_many(*backend, {"absent", "other-absent"}).by_index(), Visits{});
}

TEST_P(BackendContract, VisitManyLeavesAbsentKeysUnvisited) {
  backend->set("present", "v", kNoTtl);
  backend->set("removed", "v", kNoTtl);
  ASSERT_TRUE(backend->remove("removed"));
  const RecordingVisitor seen = visit_many(*backend, {"absent", "present", "removed", "other"});
  EXPECT_EQ(seen.visits, once_each({1}));
  EXPECT_EQ(seen.values.at(1), "v");
  EXPECT_TRUE(visit_many(*backend, {"absent", "removed"}).visits.empty());
}

TEST_P(BackendContract, VisitManyVisitsAKeyListedTwiceAtBothIndices) {
  backend->set("a", "1", kNoTtl);
  EXPECT_EQ(visit_many(*backend, {"a", "b", "a", "a"}).by_index(),
            (Visits{{0, "1"}, {2, "1"}, {3, "1"}}));
}

TEST_P(BackendContract, VisitManyVisitsEveryPositionOfAKeyListedSeveralTimes) {
  backend->set("a", "1", kNoTtl);
  backend->set("b", "2", kNoTtl);
  const RecordingVisitor seen = visit_many(*backend, {"a", "b", "a", "absent", "a", "absent", "b"});
  EXPECT_EQ(seen.visits, once_each({0, 1, 2, 4, 6}));
  EXPECT_EQ(seen.values,
            (std::map<std::size_t, std::string>{{0, "1"}, {1, "2"}, {2, "1"}, {4, "1"}, {6, "2"}}));
  // get_many may be built on visit_many: each position gets its copy.
  EXPECT_EQ(get_many(*backend, {"b", "b", "absent", "a"}),
            (std::vector<std::optional<std::string>>{"2", "2", std::nullopt, "1"}));
}

TEST_P(BackendContract, VisitManyOfAThousandKeysVisitsEachPresentOneWithItsValue) {
  // Every third key is absent, and the values differ in length, so a value handed to the
  // wrong index, or the tail of a longer one left in a reused buffer, shows.
  const auto keys = numbered_keys("thousand:", 1000);
  std::vector<std::size_t> present;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i % 3 == 2) continue;
    backend->set(keys[i], fmt::format("{}={}", keys[i], std::string(i % 97, 'x')), kNoTtl);
    present.push_back(i);
  }
  const RecordingVisitor seen = visit_many(*backend, keys);
  EXPECT_EQ(seen.visits, once_each(present));
  for (std::size_t i : present)
    EXPECT_EQ(seen.values.at(i), fmt::format("{}={}", keys[i], std::string(i % 97, 'x')));
}

TEST_P(BackendContract, VisitManyLendsBinaryAndZeroLengthValuesWhole) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  const std::string large(300 * 1024, 'L');  // arrives in many reads from a server
  backend->set("bytes", every_byte, kNoTtl);
  backend->set("empty", "", kNoTtl);
  backend->set("large", large, kNoTtl);
  EXPECT_EQ(visit_many(*backend, {"bytes", "empty", "large"}).by_index(),
            (Visits{{0, every_byte}, {1, ""}, {2, large}}));
}

TEST_P(BackendContract, VisitManyHandsOverValuesAtTheItemLimitBesideSmallOnes) {
  std::string large(backend->max_value_size(), '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 131 % 251);
  std::string other_large = large;
  std::reverse(other_large.begin(), other_large.end());
  backend->set("large", large, kNoTtl);
  backend->set("small", "s", kNoTtl);
  backend->set("other_large", other_large, kNoTtl);
  const RecordingVisitor seen = visit_many(*backend, {"large", "small", "other_large", "absent"});
  EXPECT_EQ(seen.visits, once_each({0, 1, 2}));
  // Not EXPECT_EQ on the strings: a mismatch would print megabytes.
  EXPECT_TRUE(seen.values.at(0) == large) << "length " << seen.values.at(0).size();
  EXPECT_EQ(seen.values.at(1), "s");
  EXPECT_TRUE(seen.values.at(2) == other_large) << "length " << seen.values.at(2).size();
}

// --- counters ---------------------------------------------------------------------------

TEST_P(BackendContract, IncrementOfAnAbsentCounterIsNulloptAndCreatesNothing) {
  EXPECT_EQ(backend->increment("counter", 1), std::nullopt);
  EXPECT_EQ(get(*backend, "counter"), std::nullopt);
}

TEST_P(BackendContract, IncrementAddsA64BitDeltaAndReturnsTheNewValue) {
  ASSERT_TRUE(backend->create_counter("counter", 10, kNoTtl));
  EXPECT_EQ(backend->increment("counter", 5), 15u);
  const std::uint64_t big = std::uint64_t{1} << 40;
  EXPECT_EQ(backend->increment("counter", big), 15 + big);
  EXPECT_EQ(get(*backend, "counter"), std::to_string(15 + big)) << "decimal text, as reads see it";
}

TEST_P(BackendContract, CreateCounterRefusesAnExistingCounterAndKeepsItsValue) {
  EXPECT_TRUE(backend->create_counter("counter", 7, kNoTtl));
  EXPECT_FALSE(backend->create_counter("counter", 99, kNoTtl));
  EXPECT_EQ(get(*backend, "counter"), "7");
}

TEST_P(BackendContract, CreateCounterRaceHasExactlyOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    const std::string key = fmt::format("race:{}", round);
    std::latch start(kThreads);
    std::atomic<int> winners{0};
    std::atomic<int> winning_initial{-1};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        if (backend->create_counter(key, static_cast<std::uint64_t>(100 + t), kNoTtl)) {
          ++winners;
          winning_initial = 100 + t;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(winners.load(), 1) << key;
    EXPECT_EQ(get(*backend, key), std::to_string(winning_initial.load())) << key;
  }
}

// --- TTL --------------------------------------------------------------------------------

TEST_P(BackendContract, NegativeTtlStoresNothingAsAnItemAlreadyExpired) {
  backend->set("k", "v", kNoTtl);
  backend->set("k", "expired", -1ms);
  EXPECT_EQ(get(*backend, "k"), std::nullopt);
  EXPECT_TRUE(backend->add("free", "v", -1ms)) << "the key was free";
  EXPECT_EQ(get(*backend, "free"), std::nullopt);
  backend->set("taken", "v", kNoTtl);
  EXPECT_FALSE(backend->add("taken", "other", -1ms));
  EXPECT_EQ(get(*backend, "taken"), "v");
  EXPECT_TRUE(backend->create_counter("counter", 1, -1ms));
  EXPECT_EQ(backend->increment("counter", 1), std::nullopt);
}

// --- value size limit -------------------------------------------------------------------

TEST_P(BackendContract, ValueAtTheLimitIsStoredUnderTheLongestKey) {
  const std::string key(250, 'k');
  // The limit plus the room a Cache's entry header takes.
  const std::string value(backend->max_value_size() + kEntryHeaderAllowance, 'v');
  backend->set(key, value, kNoTtl);
  EXPECT_EQ(get(*backend, key), value);
}

TEST_P(BackendContract, ValueAboveTheLimitThrowsValueTooLargeAndIsNotStored) {
  backend->set("k", "small", kNoTtl);
  const std::string too_large(backend->max_value_size() + kEntryHeaderAllowance + 1, 'x');
  EXPECT_EQ(code_thrown_by([&] { backend->set("k", too_large, kNoTtl); }), errc::value_too_large);
  EXPECT_EQ(code_thrown_by([&] { backend->add("new", too_large, kNoTtl); }), errc::value_too_large);
  EXPECT_THAT(message_thrown_by([&] { backend->set("k", too_large, kNoTtl); }),
              HasSubstr("max_item_bytes"));
  EXPECT_EQ(get(*backend, "k"), "small");
  EXPECT_EQ(get(*backend, "new"), std::nullopt);
}

// --- sharing ----------------------------------------------------------------------------

TEST_P(BackendContract, OneBackendIsSafeToShareAcrossThreads) {
  // Fewer connections than threads, where there are connections: calls wait for each other.
  auto shared = connect({.pool_max = 4});
  ASSERT_TRUE(shared->create_counter("hits", 0, kNoTtl));
  constexpr int kThreads = 8;
  constexpr int kCalls = 100;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const std::string key = fmt::format("t{}:{}", t, i % 10);
        const std::string value = fmt::format("{}:{}", t, i);
        shared->set(key, value, kNoTtl);
        if (get(*shared, key) != value) ++wrong;
        shared->increment("hits", 1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(get(*shared, "hits"), std::to_string(kThreads * kCalls));
}

// --- a server down or hung --------------------------------------------------------------

TEST_P(ServerBackendContract, GetManyOfNoKeysReturnsNothingWithoutAskingTheServer) {
  stop_server();
  std::vector<std::optional<std::string>> values = {"stale"};
  backend->get_many({}, values);
  EXPECT_TRUE(values.empty());
}

TEST_P(ServerBackendContract, VisitManyOfNoKeysVisitsNothingWithoutAskingTheServer) {
  stop_server();
  RecordingVisitor visitor;
  backend->visit_many({}, visitor);
  EXPECT_TRUE(visitor.in_order.empty());
}

TEST_P(ServerBackendContract, HungServerMakesCallsTimeOutWithinTheBoundAndResumeRecovers) {
  auto hung = connect({.timeouts = test::kFailureTimeouts});
  hung->set("k", "before", kNoTtl);
  hung->create_counter("counter", 1, kNoTtl);

  pause_server();
  // Each call, and the plain words its failure message uses for it.
  const std::vector<std::pair<std::string, std::function<void()>>> calls = {
      {"read", [&] { get(*hung, "k"); }},
      {"write", [&] { hung->set("k", "during", kNoTtl); }},
      {"add", [&] { hung->add("other", "v", kNoTtl); }},
      {"delete", [&] { hung->remove("other"); }},
      {"counter increment", [&] { hung->increment("counter", 1); }},
      {"counter creation", [&] { hung->create_counter("other_counter", 1, kNoTtl); }},
  };
  for (const auto& [name, call] : calls) {
    const auto started = std::chrono::steady_clock::now();
    std::string message;
    EXPECT_EQ(code_thrown_by([&] {
                try {
                  call();
                } catch (const backend_error& e) {
                  message = e.what();
                  throw;
                }
              }),
              errc::timeout)
        << name;
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_LT(took, kFailureBound) << name;
    EXPECT_GE(took, 90ms) << name << " gave up before io_timeout";
    // AsyncBackend has only visit_many, which the adapter's get_many calls.
    const std::string operation =
        (kind() == "memcached_meta" || kind() == "redis_async") && name == "get_many" ? "visit_many"
                                                                                      : name;
    const std::string failed = fmt::format("{}: {} failed: ", hung->describe(), operation);
    EXPECT_THAT(message, HasSubstr(failed));
    // After that, libmemcached words a timeout its own way; the Redis backend says this.
    if (kind() == "redis") {
      EXPECT_THAT(message, HasSubstr(failed + "no reply within io_timeout 100ms"));
    }
  }
  resume_server();

  // Late replies to the timed-out calls must not be read as answers to new ones.
  hung->set("fresh", "after", kNoTtl);
  const auto values = get_many(*hung, {"fresh", "k", "absent"});
  EXPECT_EQ(values[0], "after");
  ASSERT_TRUE(values[1].has_value());
  EXPECT_TRUE(*values[1] == "before" || *values[1] == "during") << *values[1];
  EXPECT_EQ(values[2], std::nullopt);
  const auto counter = hung->increment("counter", 10);
  ASSERT_TRUE(counter.has_value());
  EXPECT_TRUE(*counter == 11 || *counter == 12) << *counter;  // the timed-out +1 may have landed
}

// --- connection pools --------------------------------------------------------------------

TEST_P(PooledBackendContract, ExhaustedPoolThrowsTimeoutAfterPoolWait) {
  auto single = connect({.timeouts = test::kFunctionalTimeouts, .pool_max = 1, .pool_wait = 50ms});
  single->set("k", "v", kNoTtl);

  pause_server();
  std::thread holder([&] {  // holds the only connection until io_timeout
    try {
      get(*single, "k");
    } catch (const backend_error&) {
    }
  });
  std::this_thread::sleep_for(200ms);
  std::optional<backend_error> thrown;
  const auto started = std::chrono::steady_clock::now();
  try {
    single->set("other", "v", kNoTtl);
  } catch (const backend_error& e) {
    thrown = e;
  }
  const auto took = std::chrono::steady_clock::now() - started;
  resume_server();
  holder.join();

  ASSERT_TRUE(thrown.has_value());
  EXPECT_EQ(thrown->code(), errc::timeout);
  EXPECT_THAT(thrown->what(), HasSubstr("no free connection"));
  if (kind() == "redis") {
    EXPECT_THAT(thrown->what(), HasSubstr("within pool_wait 50ms"));
  }
  EXPECT_LT(took, 700ms) << "waited for io_timeout rather than pool_wait";
  single->set("other", "v", kNoTtl);  // the connection came back to the pool
}

}  // namespace
}  // namespace gencache
