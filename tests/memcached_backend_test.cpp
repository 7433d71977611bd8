// The Memcached backend against real memcached servers started by the tests (one or more
// per test, on free loopback ports), in both wire protocols; and its URL, configuration
// and expiry translation without a server. What every backend promises is checked on
// Memcached too, by backend_contract_test; this file holds what only Memcached does.
#include "gencache/memcached_backend.hpp"

#include <libmemcached-1.0/memcached.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/memcached/expiration.hpp"
#include "backends/memcached/memcached_config.hpp"
#include "backends/memcached/memcached_url.hpp"
#include "backends/memcached/mget_keys.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "support/backend_calls.hpp"
#include "support/memcached_server.hpp"
#include "url_options.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using Protocol = MemcachedOptions::Protocol;
using ::testing::HasSubstr;
using ::testing::Not;

using test::code_thrown_by;
using test::get;
using test::get_many;
using test::kFailureBound;
using test::kNoTtl;
using test::loopback_ipv6_available;
using test::message_thrown_by;
using test::numbered_keys;
using test::once_each;
using test::RecordingVisitor;
using test::visit_many;

// How many of `keys` `server` holds, asked over a connection of its own.
std::size_t count_held(const test::MemcachedServer& server, const std::vector<std::string>& keys) {
  const std::string config = "--SERVER=" + server.address();
  detail::MemcachedHandle memc(memcached(config.data(), config.size()));
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  for (const std::string& key : keys) {
    pointers.push_back(key.data());
    lengths.push_back(key.size());
  }
  EXPECT_EQ(memcached_mget(memc.get(), pointers.data(), lengths.data(), keys.size()),
            MEMCACHED_SUCCESS);
  std::size_t held = 0;
  memcached_return_t rc;
  memcached_result_st* result;
  while ((result = memcached_fetch_result(memc.get(), nullptr, &rc)) != nullptr) {
    ++held;
    memcached_result_free(result);
  }
  return held;
}

class MemcachedBackendTest : public ::testing::TestWithParam<Protocol> {
 protected:
  MemcachedOptions options_for(std::initializer_list<const test::MemcachedServer*> servers) {
    MemcachedOptions options;
    options.protocol = GetParam();
    for (const test::MemcachedServer* each : servers) options.servers.push_back(each->address());
    options.io_timeout = 1s;  // ample for sanitizer builds; the failure tests set their own
    return options;
  }

  test::MemcachedServer server;
  std::shared_ptr<Backend> backend = make_memcached_backend(options_for({&server}));
};

INSTANTIATE_TEST_SUITE_P(Protocols, MemcachedBackendTest,
                         ::testing::Values(Protocol::ascii, Protocol::binary),
                         [](const ::testing::TestParamInfo<Protocol>& param_info) {
                           return param_info.param == Protocol::ascii ? "Ascii" : "Binary";
                         });

// --- visit_many -------------------------------------------------------------------------

// A visitor may read another backend (only the one calling it is off limits), and that
// backend may be another Memcached backend on the same thread.
class ReadingVisitor final : public ValueVisitor {
 public:
  explicit ReadingVisitor(Backend& other) : other_(other) {}
  void found(std::size_t index, std::string_view value) noexcept override {
    try {
      const std::vector<std::string> keys = {"x", std::string(value), "y"};
      values[index] = std::string(value) + "->" + get_many(other_, keys)[1].value_or("absent");
    } catch (...) {
      values[index] = "threw";
    }
  }
  std::map<std::size_t, std::string> values;

 private:
  Backend& other_;
};

TEST_P(MemcachedBackendTest, VisitManyOfAVisitorThatReadsAnotherMemcachedBackendKeepsBothApart) {
  test::MemcachedServer other_server;
  auto other = make_memcached_backend(options_for({&other_server}));
  for (int i = 0; i < 20; ++i) {
    backend->set(fmt::format("k{}", i), fmt::format("v{}", i), kNoTtl);
    other->set(fmt::format("v{}", i), fmt::format("w{}", i), kNoTtl);
  }
  std::vector<std::string> keys = numbered_keys("k", 20);
  keys.emplace_back("absent");
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  ReadingVisitor visitor(*other);
  backend->visit_many(views, visitor);
  ASSERT_EQ(visitor.values.size(), 20u);
  for (std::size_t i = 0; i < 20; ++i)
    EXPECT_EQ(visitor.values.at(i), fmt::format("v{}->w{}", i, i));
}

// --- TTL --------------------------------------------------------------------------------

TEST_P(MemcachedBackendTest, SixtyDayTtlIsStoredAndReadable) {
  // Sent as a relative 5184000 s, Memcached would read it as a date in 1970: gone at once.
  backend->set("long", "lived", std::chrono::days(60));
  EXPECT_TRUE(backend->add("long_added", "lived", std::chrono::days(60)));
  EXPECT_TRUE(backend->create_counter("long_counter", 1, std::chrono::days(60)));
  EXPECT_EQ(get(*backend, "long"), "lived");
  EXPECT_EQ(get(*backend, "long_added"), "lived");
  EXPECT_EQ(backend->increment("long_counter", 1), 2u);
}

TEST_P(MemcachedBackendTest, OneSecondTtlExpires) {
  backend->set("short", "lived", 1ms);  // rounded up to one second
  EXPECT_EQ(get(*backend, "short"), "lived");
  // Memcached's clock ticks in whole seconds, so expiry comes one to two seconds later.
  const auto deadline = std::chrono::steady_clock::now() + 4s;
  while (get(*backend, "short").has_value() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(get(*backend, "short"), std::nullopt);
}

// --- item size limit --------------------------------------------------------------------

TEST_P(MemcachedBackendTest, MaxValueSizeIsTheItemLimitMinusRoomForKeyAndHeader) {
  EXPECT_EQ(backend->max_value_size(), (std::size_t{1} << 20) - detail::kMemcachedItemOverhead);
}

TEST_P(MemcachedBackendTest, ServerRefusingAnItemAsTooLargeThrowsValueTooLarge) {
  // The backend believes in 4 MiB items; the server allows its default 1 MiB.
  MemcachedOptions options = options_for({&server});
  options.max_item_bytes = std::size_t{4} << 20;
  auto believer = make_memcached_backend(options);
  const std::string two_mib(std::size_t{2} << 20, 'x');
  EXPECT_EQ(code_thrown_by([&] { believer->set("big", two_mib, kNoTtl); }), errc::value_too_large);
  // The refusal leaves the connection usable.
  believer->set("small", "fine", kNoTtl);
  EXPECT_EQ(get(*believer, "small"), "fine");
  EXPECT_EQ(get(*believer, "big"), std::nullopt);
}

// --- failures ---------------------------------------------------------------------------

TEST_P(MemcachedBackendTest, StoppedServerFailsFastAndStartRecoversAfterRetryTimeout) {
  MemcachedOptions options = options_for({&server});
  options.retry_timeout = 1s;
  auto backend_of_crashed = make_memcached_backend(options);
  backend_of_crashed->set("k", "v", kNoTtl);

  server.stop();
  const auto first_failure = std::chrono::steady_clock::now();
  test::expect_calls_fail_fast_while_down(*backend_of_crashed);

  server.start();
  // Within retry_timeout the server is still skipped, without a connection attempt.
  if (std::chrono::steady_clock::now() - first_failure < 900ms) {
    EXPECT_EQ(code_thrown_by([&] { get(*backend_of_crashed, "k"); }), errc::backend_unavailable);
  }
  const auto deadline = first_failure + options.retry_timeout + 3s;
  bool recovered = false;
  while (!recovered && std::chrono::steady_clock::now() < deadline) {
    try {
      backend_of_crashed->set("k", "after restart", kNoTtl);
      recovered = true;
    } catch (const backend_error& e) {
      EXPECT_EQ(e.code(), errc::backend_unavailable) << e.what();
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_TRUE(recovered) << "no recovery within retry_timeout plus 3 s";
  EXPECT_EQ(get(*backend_of_crashed, "k"), "after restart");
}

TEST_P(MemcachedBackendTest, GetManyThrowsRatherThanReportAFailedServersKeysAbsent) {
  test::MemcachedServer second;
  auto both = make_memcached_backend(options_for({&server, &second}));
  const auto keys = numbered_keys("spread:", 40);
  for (const std::string& key : keys) both->set(key, "v", kNoTtl);
  ASSERT_GT(count_held(second, keys), 0u);

  second.stop();
  // The first call finds the connection broken; later ones find the server skipped
  // during retry_timeout, which libmemcached's mget passes over silently.
  for (int call = 0; call < 3; ++call)
    EXPECT_EQ(code_thrown_by([&] { get_many(*both, keys); }), errc::backend_unavailable) << call;
}

TEST_P(MemcachedBackendTest, VisitManyThrowsRatherThanReportAStoppedServersKeysAbsent) {
  test::MemcachedServer second;
  test::MemcachedServer third;
  auto three = make_memcached_backend(options_for({&server, &second, &third}));
  const auto keys = numbered_keys("cluster:", 60);
  for (const std::string& key : keys) three->set(key, key, kNoTtl);
  std::vector<std::string> on_the_others;
  for (const std::string& key : keys)
    if (count_held(third, {key}) == 0) on_the_others.push_back(key);
  ASSERT_LT(on_the_others.size(), keys.size()) << "the third server holds none of the keys";
  std::vector<std::size_t> all(keys.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  ASSERT_EQ(visit_many(*three, keys).visits, once_each(all));

  third.stop();
  // The first call finds its connection broken; later ones find the server skipped
  // during retry_timeout, which libmemcached's mget passes over silently. Those are known
  // before any reply is read, so nothing is visited either.
  for (int call = 0; call < 3; ++call) {
    RecordingVisitor visitor;
    const std::vector<std::string_view> views(keys.begin(), keys.end());
    EXPECT_EQ(code_thrown_by([&] { three->visit_many(views, visitor); }), errc::backend_unavailable)
        << call;
    if (call > 0) {
      EXPECT_TRUE(visitor.visits.empty()) << call;
    }
  }
  // The other servers' keys are still read, over the connections the failed calls used.
  std::vector<std::size_t> all_others(on_the_others.size());
  std::iota(all_others.begin(), all_others.end(), std::size_t{0});
  const RecordingVisitor others = visit_many(*three, on_the_others);
  EXPECT_EQ(others.visits, once_each(all_others));
  for (std::size_t i = 0; i < on_the_others.size(); ++i)
    EXPECT_EQ(others.values.at(i), on_the_others[i]);
}

TEST_P(MemcachedBackendTest, KeysOfAFailedServerAreNeverMovedToAnother) {
  test::MemcachedServer second;
  const MemcachedOptions options = options_for({&server, &second});
  auto both = make_memcached_backend(options);
  const auto keys = numbered_keys("stay:", 40);
  for (const std::string& key : keys) both->set(key, "v", kNoTtl);
  std::vector<std::string> on_second;
  for (const std::string& key : keys)
    if (count_held(second, {key}) == 1) on_second.push_back(key);
  ASSERT_FALSE(on_second.empty());

  second.stop();
  for (const std::string& key : on_second) {
    EXPECT_EQ(code_thrown_by([&] { both->set(key, "moved", kNoTtl); }), errc::backend_unavailable);
    EXPECT_EQ(code_thrown_by([&] { both->increment(key, 1); }), errc::backend_unavailable);
  }
  // libmemcached would eject a server only past its failure limit (several retry periods):
  // reach it at once on a connection configured like the pool's, and still see no move.
  const detail::MemcachedHandle memc =
      detail::make_memcached_handle(detail::make_memcached_config(options));
  ASSERT_EQ(memcached_behavior_set(memc.get(), MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 1),
            MEMCACHED_SUCCESS);
  for (int pass = 0; pass < 3; ++pass) {
    for (const std::string& key : on_second)
      EXPECT_NE(memcached_set(memc.get(), key.data(), key.size(), "moved", 5, 0, 0),
                MEMCACHED_SUCCESS)
          << key;
  }
  EXPECT_EQ(count_held(server, on_second), 0u) << "a key of the failed server landed on another";
}

TEST_P(MemcachedBackendTest, KetamaSpreadsKeysOverAllThreeServers) {
  test::MemcachedServer second;
  test::MemcachedServer third;
  auto three = make_memcached_backend(options_for({&server, &second, &third}));
  const auto keys = numbered_keys("ketama:", 300);
  for (const std::string& key : keys) three->set(key, "v", kNoTtl);

  const std::size_t held[] = {count_held(server, keys), count_held(second, keys),
                              count_held(third, keys)};
  for (std::size_t n : held)
    EXPECT_GT(n, 30u) << "servers hold " << held[0] << ", " << held[1] << ", " << held[2];
  EXPECT_EQ(held[0] + held[1] + held[2], keys.size()) << "each key on exactly one server";
  for (const auto& value : get_many(*three, keys)) EXPECT_EQ(value, "v");
}

TEST_P(MemcachedBackendTest, Ipv6ServersAreReachable) {
  if (!loopback_ipv6_available()) GTEST_SKIP() << "this host has no IPv6 loopback";
  test::MemcachedServer v6({.extra_args = {"-l", "::1"}});  // also listens on ::1
  MemcachedOptions options = options_for({});
  options.servers = {fmt::format("[::1]:{}", v6.port())};
  auto backend_v6 = make_memcached_backend(options);
  EXPECT_EQ(backend_v6->describe(), fmt::format("memcached://[::1]:{}", v6.port()));
  backend_v6->set("k", "over IPv6", kNoTtl);
  EXPECT_EQ(get(*backend_v6, "k"), "over IPv6");
}

// --- sharing --------------------------------------------------------------------------

// The pool-exhaustion test is ServerBackendContract.ExhaustedPoolThrowsTimeoutAfterPoolWait.

// --- description and messages -----------------------------------------------------------

TEST_P(MemcachedBackendTest, DescribeAndErrorsNameTheServersButNeverTheCredentials) {
  test::MemcachedServer second;
  MemcachedOptions options = options_for({&server, &second});
  options.protocol = Protocol::binary;
  options.username = "alice";
  options.password = "s3cret-pw";
  auto with_credentials = make_memcached_backend(options);
  const std::string expected = fmt::format("memcached://{},{}", server.address(), second.address());
  EXPECT_EQ(with_credentials->describe(), expected);

  server.stop();
  second.stop();
  const std::string message = message_thrown_by([&] { with_credentials->set("k", "v", kNoTtl); });
  EXPECT_THAT(message, HasSubstr(expected));
  EXPECT_THAT(message, HasSubstr("write failed"));
  EXPECT_THAT(message, Not(HasSubstr("s3cret-pw")));
  EXPECT_THAT(message, Not(HasSubstr("alice")));
}

TEST_P(MemcachedBackendTest, ConnectionsCarryTheConfiguredTimeoutsAndNeverEjectServers) {
  test::MemcachedServer second;
  MemcachedOptions options = options_for({&server, &second});
  options.connect_timeout = 70ms;
  options.io_timeout = 120ms;
  options.retry_timeout = 3s;
  const detail::MemcachedConfig config = detail::make_memcached_config(options);
  const detail::MemcachedHandle prototype = detail::make_memcached_handle(config);
  // The pool hands out clones of the prototype: check a clone too.
  const detail::MemcachedHandle clone(memcached_clone(nullptr, prototype.get()));
  for (memcached_st* memc : {prototype.get(), clone.get()}) {
    EXPECT_EQ(memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT), 70u);
    EXPECT_EQ(memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT), 120u);
    EXPECT_EQ(memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT), 120'000u);
    EXPECT_EQ(memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_SND_TIMEOUT), 120'000u);
    EXPECT_EQ(memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT), 3u);
    EXPECT_GE(memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT), 1u);
    EXPECT_EQ(memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS), 0u);
    EXPECT_EQ(memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS), 0u);
    EXPECT_EQ(memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_DISTRIBUTION),
              static_cast<std::uint64_t>(MEMCACHED_DISTRIBUTION_CONSISTENT));
    EXPECT_EQ(memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_TCP_NODELAY), 1u);
    EXPECT_EQ(memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL),
              GetParam() == Protocol::binary ? 1u : 0u);
    EXPECT_EQ(memcached_server_count(memc), 2u);
  }
}

// --- the keys of a multi-get -------------------------------------------------------------

std::vector<std::string> distinct_keys(const detail::MgetKeys& requested) {
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < requested.distinct(); ++i)
    keys.emplace_back(requested.pointers()[i], requested.lengths()[i]);
  return keys;
}

std::vector<std::size_t> positions_of(detail::MgetKeys& requested, std::string_view key) {
  std::vector<std::size_t> positions;
  const std::size_t found = requested.find(key);
  if (found == detail::MgetKeys::npos) return positions;
  requested.for_each_position(found, [&](std::size_t p) { positions.push_back(p); });
  std::sort(positions.begin(), positions.end());
  return positions;
}

TEST(MgetKeys, SendsEachKeyOnceInTheOrderFirstAskedFor) {
  const std::string_view keys[] = {"b", "a", "b", "c", "a", "b"};
  detail::MgetKeys requested;
  requested.prepare(keys);
  EXPECT_EQ(distinct_keys(requested), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(positions_of(requested, "b"), (std::vector<std::size_t>{0, 2, 5}));
  EXPECT_EQ(positions_of(requested, "a"), (std::vector<std::size_t>{1, 4}));
  EXPECT_EQ(positions_of(requested, "c"), (std::vector<std::size_t>{3}));
}

TEST(MgetKeys, FindsKeysInAnyOrderAndNotOnesNeverAskedFor) {
  const auto owned = numbered_keys("key:", 300);
  const std::vector<std::string_view> keys(owned.begin(), owned.end());
  detail::MgetKeys requested;
  requested.prepare(keys);
  ASSERT_EQ(requested.distinct(), keys.size());
  // In order (the expected-next guess), backwards and skipping (the hash table), mixed.
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(requested.find(keys[i]), i);
  for (std::size_t i = keys.size(); i-- > 0;) EXPECT_EQ(requested.find(keys[i]), i);
  for (std::size_t i = 0; i < keys.size(); i += 7) EXPECT_EQ(requested.find(keys[i]), i);
  for (const std::string_view stranger : {"key:300", "key:", "key:1 ", "", "key:00", "ke"})
    EXPECT_EQ(requested.find(stranger), detail::MgetKeys::npos) << stranger;
}

TEST(MgetKeys, APreparedCallForgetsThePreviousOnesKeys) {
  detail::MgetKeys requested;
  const auto big = numbered_keys("big:", 5000);  // past what trim() keeps
  const std::vector<std::string_view> big_views(big.begin(), big.end());
  requested.prepare(big_views);
  requested.trim();
  const std::string_view first[] = {"x", "y", "x"};
  requested.prepare(first);
  const std::string_view second[] = {"y", "z"};
  requested.prepare(second);
  EXPECT_EQ(distinct_keys(requested), (std::vector<std::string>{"y", "z"}));
  EXPECT_EQ(requested.find("x"), detail::MgetKeys::npos);
  EXPECT_EQ(requested.find("big:1"), detail::MgetKeys::npos);
  EXPECT_EQ(positions_of(requested, "y"), (std::vector<std::size_t>{0}));
  EXPECT_EQ(positions_of(requested, "z"), (std::vector<std::size_t>{1}));
}

// --- expiry translation -----------------------------------------------------------------

class MemcachedExpirationTest : public ::testing::Test {
 protected:
  // 2024-01-01T00:00:00.250Z
  const std::chrono::system_clock::time_point now =
      std::chrono::system_clock::time_point(1'704'067'200s) + 250ms;
  const std::time_t now_seconds = 1'704'067'200;

  std::time_t expiration(std::chrono::milliseconds ttl) const {
    return detail::memcached_expiration(ttl, now);
  }
};

TEST_F(MemcachedExpirationTest, ZeroTtlNeverExpires) {
  EXPECT_EQ(expiration(0ms), 0);
}

TEST_F(MemcachedExpirationTest, MillisecondsRoundUpToWholeSeconds) {
  EXPECT_EQ(expiration(1ms), 1);
  EXPECT_EQ(expiration(1000ms), 1);
  EXPECT_EQ(expiration(1001ms), 2);
}

TEST_F(MemcachedExpirationTest, UpToThirtyDaysIsSentRelative) {
  EXPECT_EQ(expiration(std::chrono::days(30)), 2'592'000);
}

TEST_F(MemcachedExpirationTest, BeyondThirtyDaysIsSentAsAUnixTimeAtLeastTheTtlAhead) {
  EXPECT_EQ(expiration(std::chrono::days(30) + 1s), now_seconds + 1 + 2'592'001);
  EXPECT_EQ(expiration(std::chrono::days(60)), now_seconds + 1 + 5'184'000);
}

TEST_F(MemcachedExpirationTest, FarFutureIsCappedAtTheProtocolsLastSecond) {
  EXPECT_EQ(expiration(std::chrono::days(365 * 100)), 2'147'483'647);
  EXPECT_EQ(expiration(std::chrono::milliseconds::max()), 2'147'483'647);
}

TEST_F(MemcachedExpirationTest, NegativeTtlIsAUnixTimeLongPast) {
  const std::time_t long_past = expiration(-1ms);
  EXPECT_GT(long_past, 2'592'000) << "must read as absolute, not relative";
  EXPECT_LT(long_past, now_seconds);
}

// --- configuration ----------------------------------------------------------------------

MemcachedOptions options_with_servers(std::vector<std::string> servers) {
  MemcachedOptions options;
  options.servers = std::move(servers);
  return options;
}

TEST(MemcachedConfig, ConfigStringCarriesEveryOption) {
  MemcachedOptions options = options_with_servers({"10.0.0.1:11211", "cache-b.internal:11300"});
  options.protocol = Protocol::binary;
  options.connect_timeout = 40ms;
  options.io_timeout = 250ms;
  options.retry_timeout = 5s;
  options.pool_max = 8;
  EXPECT_EQ(detail::make_memcached_config(options).config_string,
            "--SERVER=10.0.0.1:11211 --SERVER=cache-b.internal:11300 --BINARY-PROTOCOL "
            "--CONNECT-TIMEOUT=40 --POLL-TIMEOUT=250 --SND-TIMEOUT=250000 --RCV-TIMEOUT=250000 "
            "--RETRY-TIMEOUT=5 --DISTRIBUTION=consistent --TCP-NODELAY --POOL-MAX=8");
}

TEST(MemcachedConfig, KetamaIsOnForSeveralServersUnlessTurnedOff) {
  EXPECT_THAT(detail::make_memcached_config(options_with_servers({"a.b:1"})).config_string,
              Not(HasSubstr("--DISTRIBUTION")));
  EXPECT_THAT(detail::make_memcached_config(options_with_servers({"a.b:1", "c.d:1"})).config_string,
              HasSubstr("--DISTRIBUTION=consistent"));
  MemcachedOptions modula = options_with_servers({"a.b:1", "c.d:1"});
  modula.ketama = false;
  EXPECT_THAT(detail::make_memcached_config(modula).config_string,
              Not(HasSubstr("--DISTRIBUTION")));
}

TEST(MemcachedConfig, GarbageFailsValidationWithLibmemcachedsExplanation) {
  for (const std::string garbage :
       {"--SERVER=127.0.0.1:11211 --NOT-AN-OPTION", "--POLL-TIMEOUT=soon", "SERVER 1.2.3.4"}) {
    const std::string message =
        message_thrown_by([&] { detail::check_memcached_configuration(garbage); });
    EXPECT_THAT(message, HasSubstr("libmemcached rejected the configuration")) << garbage;
    EXPECT_THAT(message, HasSubstr(garbage));
  }
  EXPECT_NO_THROW(detail::check_memcached_configuration("--SERVER=127.0.0.1:11211 --TCP-NODELAY"));
}

TEST(MemcachedConfig, OutOfRangeOptionsAreRejectedNamingThem) {
  const std::vector<std::pair<std::string, std::function<void(MemcachedOptions&)>>> cases = {
      {"servers", [](MemcachedOptions& o) { o.servers.clear(); }},
      {"servers", [](MemcachedOptions& o) { o.servers.push_back("10.0.0.1:11211"); }},
      {"connect_timeout", [](MemcachedOptions& o) { o.connect_timeout = 0ms; }},
      {"io_timeout", [](MemcachedOptions& o) { o.io_timeout = 0ms; }},
      {"io_timeout", [](MemcachedOptions& o) { o.io_timeout = 11min; }},
      {"pool_max", [](MemcachedOptions& o) { o.pool_max = 0; }},
      {"pool_max", [](MemcachedOptions& o) { o.pool_max = 1025; }},
      {"pool_wait", [](MemcachedOptions& o) { o.pool_wait = -1ms; }},
      {"retry_timeout", [](MemcachedOptions& o) { o.retry_timeout = 48h; }},
      {"max_item_bytes", [](MemcachedOptions& o) { o.max_item_bytes = 100; }},
      {"username", [](MemcachedOptions& o) { o.username = "alice"; }},  // ascii
      {"password", [](MemcachedOptions& o) { o.password = "pw"; }},
  };
  for (const auto& [name, change] : cases) {
    MemcachedOptions options = options_with_servers({"10.0.0.1:11211"});
    change(options);
    const std::string message = message_thrown_by([&] { make_memcached_backend(options); });
    EXPECT_THAT(message, HasSubstr(name));
  }
}

TEST(MemcachedConfig, SaslCredentialsAreAcceptedWithTheBinaryProtocol) {
  MemcachedOptions options = options_with_servers({"10.0.0.1:11211"});
  options.protocol = Protocol::binary;
  options.username = "alice";
  options.password = "s3cret";
  EXPECT_NO_THROW(make_memcached_backend(options));
}

TEST(MemcachedConfig, ServersTheGrammarCannotNameAreAddedDirectly) {
  const detail::MemcachedConfig config = detail::make_memcached_config(
      options_with_servers({"10.0.0.1", "[::1]:11300", "db:11400", "end:11500", "cache.local"}));
  EXPECT_EQ(config.description,
            "memcached://10.0.0.1:11211,[::1]:11300,db:11400,end:11500,cache.local:11211");
  EXPECT_THAT(config.config_string, HasSubstr("--SERVER=10.0.0.1:11211"));
  EXPECT_THAT(config.config_string, HasSubstr("--SERVER=cache.local:11211"));
  EXPECT_THAT(config.config_string, Not(HasSubstr("::1")));
  EXPECT_THAT(config.config_string, Not(HasSubstr("db:")));
  EXPECT_THAT(config.config_string, Not(HasSubstr("end:")));

  const detail::MemcachedHandle handle = detail::make_memcached_handle(config);
  ASSERT_EQ(memcached_server_count(handle.get()), 5u);
  std::vector<std::string> names;
  for (std::uint32_t i = 0; i < 5; ++i) {
    const memcached_instance_st* instance = memcached_server_instance_by_position(handle.get(), i);
    names.push_back(
        fmt::format("{}:{}", memcached_server_name(instance), memcached_server_port(instance)));
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("10.0.0.1:11211", "::1:11300", "db:11400",
                                                     "end:11500", "cache.local:11211"));
}

// --- URL parsing ------------------------------------------------------------------------

detail::UrlOptions params(std::vector<std::pair<std::string, std::string>> list = {}) {
  return detail::UrlOptions("memcached", std::move(list));
}

TEST(MemcachedUrl, ParametersMapToOptions) {
  auto query = params({{"protocol", "binary"},
                       {"connect_timeout", "20ms"},
                       {"io_timeout", "1s"},
                       {"pool_max", "32"},
                       {"pool_wait", "5ms"},
                       {"retry_timeout", "1500ms"},
                       {"ketama", "off"},
                       {"max_item_bytes", "4MiB"}});
  const MemcachedOptions options =
      detail::memcached_options_from_url("10.0.0.1:11211,10.0.0.2:11300", query);
  EXPECT_NO_THROW(query.finish());
  EXPECT_EQ(options.servers, (std::vector<std::string>{"10.0.0.1:11211", "10.0.0.2:11300"}));
  EXPECT_EQ(options.protocol, Protocol::binary);
  EXPECT_EQ(options.connect_timeout, 20ms);
  EXPECT_EQ(options.io_timeout, 1s);
  EXPECT_EQ(options.pool_max, 32u);
  EXPECT_EQ(options.pool_wait, std::optional(5ms));
  EXPECT_EQ(options.retry_timeout, 2s) << "rounded up to whole seconds";
  EXPECT_EQ(options.ketama, std::optional(false));
  EXPECT_EQ(options.max_item_bytes, std::size_t{4} << 20);
  EXPECT_TRUE(options.username.empty());
}

TEST(MemcachedUrl, AbsentParametersKeepTheDefaultsAndPortDefaultsTo11211) {
  auto query = params();
  const MemcachedOptions options = detail::memcached_options_from_url("cache.local", query);
  const MemcachedOptions defaults;
  EXPECT_EQ(options.servers, (std::vector<std::string>{"cache.local:11211"}));
  EXPECT_EQ(options.protocol, defaults.protocol);
  EXPECT_EQ(options.connect_timeout, defaults.connect_timeout);
  EXPECT_EQ(options.io_timeout, defaults.io_timeout);
  EXPECT_EQ(options.pool_max, defaults.pool_max);
  EXPECT_EQ(options.pool_wait, std::nullopt);
  EXPECT_EQ(options.retry_timeout, defaults.retry_timeout);
  EXPECT_EQ(options.ketama, std::nullopt);
  EXPECT_EQ(options.max_item_bytes, defaults.max_item_bytes);
}

TEST(MemcachedUrl, SubMillisecondTimeoutsRoundUpToAMillisecond) {
  auto query = params({{"io_timeout", "250us"}});
  EXPECT_EQ(detail::memcached_options_from_url("h.example", query).io_timeout, 1ms);
}

TEST(MemcachedUrl, UserInformationIsPercentDecoded) {
  auto query = params({{"protocol", "binary"}});
  const MemcachedOptions options =
      detail::memcached_options_from_url("ali%40ce:p%3Ass%25w@10.0.0.1:11211", query);
  EXPECT_EQ(options.username, "ali@ce");
  EXPECT_EQ(options.password, "p:ss%w");
  EXPECT_EQ(options.servers, (std::vector<std::string>{"10.0.0.1:11211"}));
}

TEST(MemcachedUrl, Ipv6HostsKeepTheirBrackets) {
  auto query = params();
  EXPECT_EQ(detail::memcached_options_from_url("[::1]:11300,[fe80::1]", query).servers,
            (std::vector<std::string>{"[::1]:11300", "[fe80::1]:11211"}));
}

TEST(MemcachedUrl, EmptyAuthorityIsRejected) {
  for (const std::string_view authority : {"", "alice:pw@"}) {
    auto query = params();
    EXPECT_THAT(message_thrown_by([&] { detail::memcached_options_from_url(authority, query); }),
                HasSubstr("no server"));
  }
}

TEST(MemcachedUrl, MalformedServersAreRejectedNamingThem) {
  for (const std::string_view server :
       {"host:0", "host:65536", "host:port", "host:", "[::1", "[not-v6]:11211", "[::1]x",
        "bad host", "a/b:11211", ":11211"}) {
    auto query = params();
    EXPECT_THAT(message_thrown_by([&] { detail::memcached_options_from_url(server, query); }),
                HasSubstr(fmt::format("'{}'", server)));
  }
  auto query = params();
  EXPECT_THAT(message_thrown_by([&] { detail::memcached_options_from_url("a.b:1,,c.d:2", query); }),
              HasSubstr("host is empty"));
}

TEST(MemcachedUrl, MalformedValuesAreRejectedNamingTheParameterAndValue) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"protocol", "udp"},        {"connect_timeout", "50"}, {"io_timeout", "0ms"},
      {"io_timeout", "fast"},     {"pool_max", "0"},         {"pool_max", "2000"},
      {"pool_max", "many"},       {"pool_wait", "11m"},      {"retry_timeout", "2d"},
      {"ketama", "maybe"},        {"max_item_bytes", "100"}, {"max_item_bytes", "2GiB"},
      {"max_item_bytes", "lots"},
  };
  for (const auto& [name, value] : cases) {
    auto query = params({{name, value}});
    const std::string message =
        message_thrown_by([&] { detail::memcached_options_from_url("10.0.0.1", query); });
    EXPECT_THAT(message, HasSubstr(fmt::format("'{}'", name))) << value;
    EXPECT_THAT(message, HasSubstr("memcached://")) << name << "=" << value;
  }
}

TEST(MemcachedUrl, PasswordIsNeverQuotedInMessages) {
  auto query = params();
  const std::string message = message_thrown_by(
      [&] { detail::memcached_options_from_url("alice:s3cret%zz@10.0.0.1", query); });
  EXPECT_THAT(message, HasSubstr("password"));
  EXPECT_THAT(message, Not(HasSubstr("s3cret")));
}

TEST(MemcachedUrl, UnknownParametersAreLeftForFinishToReject) {
  auto query = params({{"io_timeout", "50ms"}, {"colour", "blue"}});
  detail::memcached_options_from_url("10.0.0.1", query);
  const std::string message = message_thrown_by([&] { query.finish(); });
  EXPECT_THAT(message, HasSubstr("colour"));
  EXPECT_THAT(message, HasSubstr("io_timeout"));  // listed among the accepted names
}

TEST(MemcachedUrl, CacheFromUrlRejectsUnknownSchemesAndParametersNamingThem) {
  EXPECT_THAT(message_thrown_by([] { Cache::from_url("memcache://127.0.0.1:11211"); }),
              HasSubstr("'memcache'"));
  EXPECT_THAT(message_thrown_by([] { Cache::from_url("memcached://127.0.0.1:11211?colour=blue"); }),
              HasSubstr("colour"));
}

TEST(MemcachedUrl, CacheFromUrlBuildsAWorkingMemcachedBackend) {
  test::MemcachedServer server;
  const Cache cache =
      Cache::from_url(test::memcached_url({&server}, "protocol=binary&io_timeout=1s"));
  EXPECT_EQ(cache.backend().describe(), "memcached://" + server.address());
  cache.backend().set("k", "v", kNoTtl);
  EXPECT_EQ(get(cache.backend(), "k"), "v");
}

}  // namespace
}  // namespace gencache
