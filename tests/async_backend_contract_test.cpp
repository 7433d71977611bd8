// The AsyncBackend contract (include/gencache/async_backend.hpp) on every backend kind of
// the test registry, as AsyncCache drives each one: memory:// completing inline, the
// server kinds through the blocking bridge. Same results as the blocking calls, failures
// as backend_error in bounded time, completions on the handler's executor.

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gencache/async_backend.hpp"
#include "gencache/error.hpp"
#include "support/backend_calls.hpp"
#include "support/backend_kinds.hpp"

namespace gencache {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::kNoTtl;

// Records what async_visit_many found, by index.
struct CollectingVisitor final : ValueVisitor {
  explicit CollectingVisitor(std::size_t n) : values(n) {}
  void found(std::size_t index, std::string_view value) noexcept override {
    values[index] = std::string(value);
  }
  std::vector<std::optional<std::string>> values;
};

// The code of the backend_error in `failure`; a test failure if it holds something else.
std::error_code code_of(const std::exception_ptr& failure) {
  if (!failure) return {};
  try {
    std::rethrow_exception(failure);
  } catch (const backend_error& error) {
    return error.code();
  } catch (...) {
    ADD_FAILURE() << "the failure is not a backend_error";
  }
  return {};
}

class AsyncBackendContract : public ::testing::TestWithParam<std::string> {
 protected:
  // Starts one operation with a handler bound to io_, and runs io_ until it completed
  // (at most test::kCacheCallBound); returns what the handler got, and checks it ran on
  // this thread, the one running io_.
  template <class... Result, class Start>
  std::tuple<std::exception_ptr, Result...> call(Start start) {
    std::optional<std::tuple<std::exception_ptr, Result...>> outcome;
    std::thread::id ran_on;
    start(asio::bind_executor(io_, [&](std::exception_ptr failure, Result... result) {
      ran_on = std::this_thread::get_id();
      outcome.emplace(failure, std::move(result)...);
    }));
    const auto deadline = std::chrono::steady_clock::now() + test::kCacheCallBound;
    while (!outcome && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(5ms);
    }
    if (!outcome) {
      ADD_FAILURE() << "no completion within " << test::kCacheCallBound.count() << " s";
      return {};
    }
    EXPECT_EQ(ran_on, std::this_thread::get_id()) << "completed on another thread";
    return std::move(*outcome);
  }

  std::exception_ptr set(std::string_view key, std::string_view value) {
    return std::get<0>(call([&](auto done) { backend_->async_set(key, value, kNoTtl, done); }));
  }

  std::optional<std::string> get(std::string_view key) {
    CollectingVisitor visitor(1);
    const std::string_view keys[] = {key};
    auto [failure] = call([&](auto done) { backend_->async_visit_many(keys, visitor, done); });
    EXPECT_FALSE(failure);
    return visitor.values[0];
  }

  // Prefixed, so that tests on the shared servers never see each other's keys.
  std::string key(std::string_view name) const { return prefix_ + std::string(name); }

  std::unique_ptr<test::TestServer> server_ = test::start_server(GetParam());
  std::string prefix_ = test::random_prefix();
  asio::io_context io_;
  std::shared_ptr<AsyncBackend> backend_ =
      test::as_async_backend(GetParam(), server_->connect({.timeouts = test::kFailureTimeouts}));
};

TEST_P(AsyncBackendContract, SetThenVisitSeesTheValueAndSkipsAbsentKeys) {
  const std::string binary("\0\r\nEND\r\n\xff", 9);
  EXPECT_FALSE(set(key("a"), "one"));
  EXPECT_FALSE(set(key("b"), binary));
  const std::string a = key("a"), absent = key("absent"), b = key("b");
  const std::string_view keys[] = {a, absent, b};
  CollectingVisitor visitor(3);
  auto [failure] = call([&](auto done) { backend_->async_visit_many(keys, visitor, done); });
  EXPECT_FALSE(failure);
  EXPECT_EQ(visitor.values[0], "one");
  EXPECT_EQ(visitor.values[1], std::nullopt);
  EXPECT_EQ(visitor.values[2], binary);
}

TEST_P(AsyncBackendContract, AddStoresOnlyWhenAbsent) {
  const std::string k = key("add");
  auto [first_failure, first] =
      call<bool>([&](auto done) { backend_->async_add(k, "first", kNoTtl, done); });
  auto [second_failure, second] =
      call<bool>([&](auto done) { backend_->async_add(k, "second", kNoTtl, done); });
  EXPECT_FALSE(first_failure);
  EXPECT_FALSE(second_failure);
  EXPECT_TRUE(first);
  EXPECT_FALSE(second) << "add of a present key reports that it existed";
  EXPECT_EQ(get(k), "first");
}

TEST_P(AsyncBackendContract, RemoveReportsWhetherTheKeyWasThere) {
  const std::string k = key("remove");
  set(k, "v");
  auto [failure, removed] = call<bool>([&](auto done) { backend_->async_remove(k, done); });
  EXPECT_FALSE(failure);
  EXPECT_TRUE(removed);
  auto [again_failure, again] = call<bool>([&](auto done) { backend_->async_remove(k, done); });
  EXPECT_FALSE(again);
  EXPECT_EQ(get(k), std::nullopt);
}

TEST_P(AsyncBackendContract, CountersAreCreatedOnceAndIncrementedAtomically) {
  const std::string k = key("counter");
  using Count = std::optional<std::uint64_t>;
  auto [absent_failure, absent] =
      call<Count>([&](auto done) { backend_->async_increment(k, 1, done); });
  EXPECT_FALSE(absent_failure);
  EXPECT_EQ(absent, std::nullopt) << "increment must not create an absent counter";
  EXPECT_EQ(get(k), std::nullopt);

  auto [created_failure, created] =
      call<bool>([&](auto done) { backend_->async_create_counter(k, 1u << 20, kNoTtl, done); });
  auto [again_failure, created_again] =
      call<bool>([&](auto done) { backend_->async_create_counter(k, 5, kNoTtl, done); });
  EXPECT_TRUE(created);
  EXPECT_FALSE(created_again) << "a second create keeps the first value";
  auto [failure, value] = call<Count>([&](auto done) { backend_->async_increment(k, 3, done); });
  EXPECT_FALSE(failure);
  EXPECT_EQ(value, (1u << 20) + 3);
  EXPECT_EQ(get(k), std::to_string((1u << 20) + 3)) << "a counter reads as decimal text";
}

TEST_P(AsyncBackendContract, DescribesItselfAndItsLimit) {
  EXPECT_GE(backend_->max_value_size(), 1024u);
  EXPECT_FALSE(backend_->describe().empty());
}

// Where a server can crash or hang: the server kinds only.
using AsyncServerBackendContract = AsyncBackendContract;

TEST_P(AsyncServerBackendContract, AStoppedServerFailsAsBackendErrorInBoundedTime) {
  server_->stop();
  const auto started = std::chrono::steady_clock::now();
  auto failure = set(key("down"), "v");
  EXPECT_TRUE(code_of(failure)) << "a set on a stopped server must fail";
  using Count = std::optional<std::uint64_t>;
  // The key outlives the call, as the AsyncBackend contract asks (ASan caught a temporary).
  const std::string down = key("down");
  auto [increment_failure, value] =
      call<Count>([&](auto done) { backend_->async_increment(down, 1, done); });
  EXPECT_TRUE(code_of(increment_failure));
  EXPECT_LT(std::chrono::steady_clock::now() - started, test::kCacheCallBound);
  server_->start();
}

TEST_P(AsyncServerBackendContract, AHungServerNeverBlocksTheCallersThread) {
  server_->pause();
  std::chrono::steady_clock::duration largest_gap{0};
  auto last = std::chrono::steady_clock::now();
  asio::steady_timer ticker(io_);
  bool done = false;
  std::function<void()> tick = [&] {
    ticker.expires_after(2ms);
    ticker.async_wait([&](boost::system::error_code) {
      const auto now = std::chrono::steady_clock::now();
      largest_gap = std::max(largest_gap, now - last);
      last = now;
      if (!done) tick();
    });
  };
  tick();
  auto failure = set(key("hung"), "v");
  done = true;
  server_->resume();
  EXPECT_EQ(code_of(failure), errc::timeout) << "a hung server times out";
  EXPECT_LT(largest_gap, test::kTickGapBound) << "the caller's io_context was blocked";
}

std::string kind_name(const ::testing::TestParamInfo<std::string>& kind) {
  return kind.param;
}

INSTANTIATE_TEST_SUITE_P(Backends, AsyncBackendContract, ::testing::ValuesIn(test::backend_kinds()),
                         kind_name);
INSTANTIATE_TEST_SUITE_P(Servers, AsyncServerBackendContract,
                         ::testing::ValuesIn(test::server_backend_kinds()), kind_name);

}  // namespace
}  // namespace gencache
