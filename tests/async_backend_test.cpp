// The AsyncBackend implementations: memory:// completing inline, and the blocking bridge
// completing on the caller's executor, failing as backend_error, and never blocking the
// caller's io_context while a server hangs.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gencache/blocking_bridge.hpp"
#include "gencache/error.hpp"
#include "gencache/memory_backend.hpp"
#include "support/backend_kinds.hpp"
#include "support/memcached_server.hpp"

namespace gencache {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Records what async_visit_many found, by index.
struct CollectingVisitor final : ValueVisitor {
  explicit CollectingVisitor(std::size_t n) : values(n) {}
  void found(std::size_t index, std::string_view value) noexcept override {
    values[index] = std::string(value);
  }
  std::vector<std::optional<std::string>> values;
};

// The error code of a backend_error held by `failure`, or a default code for none.
std::error_code code_of(const std::exception_ptr& failure) {
  if (!failure) return {};
  try {
    std::rethrow_exception(failure);
  } catch (const backend_error& error) {
    return error.code();
  } catch (...) {
    ADD_FAILURE() << "failure is not a backend_error";
  }
  return {};
}

TEST(MemoryAsyncBackend, CompletesInsideTheInitiatingCall) {
  MemoryBackend memory;
  AsyncBackend& backend = memory;
  bool set_done = false;
  backend.async_set("k", "v", 0ms, [&](std::exception_ptr failure) {
    EXPECT_FALSE(failure);
    set_done = true;
  });
  EXPECT_TRUE(set_done);

  std::optional<bool> added;
  backend.async_add("k", "w", 0ms, [&](std::exception_ptr, bool result) { added = result; });
  EXPECT_EQ(added, false) << "add of a present key must report it existed";

  const std::string_view keys[] = {"k", "absent"};
  CollectingVisitor visitor(2);
  bool visited = false;
  backend.async_visit_many(keys, visitor, [&](std::exception_ptr failure) {
    EXPECT_FALSE(failure);
    visited = true;
  });
  ASSERT_TRUE(visited);
  EXPECT_EQ(visitor.values[0], "v");
  EXPECT_EQ(visitor.values[1], std::nullopt);
}

TEST(MemoryAsyncBackend, CountersBehaveAsTheBlockingCalls) {
  MemoryBackend memory;
  AsyncBackend& backend = memory;
  std::optional<std::uint64_t> incremented = 1;
  backend.async_increment("c", 1, [&](std::exception_ptr failure, auto value) {
    EXPECT_FALSE(failure);
    incremented = value;
  });
  EXPECT_EQ(incremented, std::nullopt) << "increment must not create an absent counter";

  std::optional<bool> created;
  backend.async_create_counter("c", 41, 0ms,
                               [&](std::exception_ptr, bool result) { created = result; });
  EXPECT_EQ(created, true);
  backend.async_increment("c", 1, [&](std::exception_ptr, auto value) { incremented = value; });
  EXPECT_EQ(incremented, 42u);
  EXPECT_EQ(memory.increment("c", 0), 42u) << "async and blocking calls share the store";

  std::optional<bool> removed;
  backend.async_remove("c", [&](std::exception_ptr, bool result) { removed = result; });
  EXPECT_EQ(removed, true);
}

TEST(MemoryAsyncBackend, FailureArrivesAsBackendErrorInTheHandler) {
  MemoryBackend memory;
  AsyncBackend& backend = memory;
  const std::string too_large(backend.max_value_size() + kEntryHeaderAllowance + 1, 'x');
  std::exception_ptr failure;
  backend.async_set("big", too_large, 0ms, [&](std::exception_ptr e) { failure = e; });
  EXPECT_EQ(code_of(failure), errc::value_too_large);

  memory.set("text", "not a number", 0ms);
  failure = nullptr;
  backend.async_increment("text", 1, [&](std::exception_ptr e, auto) { failure = e; });
  EXPECT_EQ(code_of(failure), errc::not_stored);
}

// Runs `io` until `done` holds, at most `bound`.
void run_until(asio::io_context& io, const std::atomic<bool>& done, std::chrono::seconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    io.run_for(10ms);
    io.restart();
  }
}

TEST(BlockingBridge, CompletesOnTheHandlersExecutorNotTheCallersThread) {
  auto bridge = make_blocking_bridge(std::make_shared<MemoryBackend>(), {.threads = 2});
  asio::io_context io;
  std::atomic<bool> done = false;
  std::thread::id completed_on;
  bridge->async_set("k", "v", 0ms, asio::bind_executor(io, [&](std::exception_ptr failure) {
                      EXPECT_FALSE(failure);
                      completed_on = std::this_thread::get_id();
                      done = true;
                    }));
  EXPECT_FALSE(done) << "the bridge must not complete inside the initiating call";
  io.run_for(5s);  // returns when the call completed: the bridge holds work on `io`
  ASSERT_TRUE(done);
  EXPECT_EQ(completed_on, std::this_thread::get_id());

  const std::string_view keys[] = {"k"};
  CollectingVisitor visitor(1);
  done = false;
  bridge->async_visit_many(keys, visitor,
                           asio::bind_executor(io, [&](std::exception_ptr) { done = true; }));
  io.restart();
  io.run_for(5s);
  ASSERT_TRUE(done);
  EXPECT_EQ(visitor.values[0], "v");
}

// A user's Backend that throws something other than backend_error.
struct ThrowingBackend final : MemoryBackend {
  bool remove(std::string_view) override { throw std::runtime_error("disk on fire"); }
  std::string describe() const override { return "throwing://"; }
};

TEST(BlockingBridge, AnyFailureArrivesAsBackendErrorNamingTheBackend) {
  auto bridge = make_blocking_bridge(std::make_shared<ThrowingBackend>());
  asio::io_context io;
  std::atomic<bool> done = false;
  std::exception_ptr failure;
  bridge->async_remove("k", asio::bind_executor(io, [&](std::exception_ptr e, bool) {
                         failure = e;
                         done = true;
                       }));
  run_until(io, done, 5s);
  ASSERT_TRUE(done);
  EXPECT_EQ(code_of(failure), errc::backend_unavailable);
  try {
    std::rethrow_exception(failure);
  } catch (const backend_error& error) {
    EXPECT_STREQ(error.what(), "throwing:// failed: disk on fire");
  }
}

TEST(BlockingBridge, RejectsBadOptionsNamingThem) {
  auto memory = std::make_shared<MemoryBackend>();
  EXPECT_THROW(make_blocking_bridge(nullptr), config_error);
  try {
    make_blocking_bridge(memory, {.threads = 0});
    FAIL() << "0 threads accepted";
  } catch (const config_error& error) {
    EXPECT_NE(std::string(error.what()).find("async_threads"), std::string::npos) << error.what();
  }
  EXPECT_THROW(make_blocking_bridge(memory, {.threads = 1, .max_queued = 0}), config_error);
}

// With the server hung, every call waits out io_timeout on a bridge thread; the calls
// beyond threads + max_queued fail at once, and the caller's io_context keeps running.
TEST(BlockingBridge, HungServerNeverBlocksTheCallersIoContext) {
  test::MemcachedServer server;
  auto bridge = make_blocking_bridge(
      test::connect_memcached({server.address()}, false, test::kFailureTimeouts),
      {.threads = 2, .max_queued = 4});
  asio::io_context io;
  server.pause();

  constexpr int kCalls = 10;
  std::atomic<int> completed = 0;
  std::atomic<int> rejected_at_once = 0;
  std::vector<std::error_code> codes(kCalls);
  std::vector<std::string> keys(kCalls);
  std::vector<std::unique_ptr<CollectingVisitor>> visitors;
  for (int i = 0; i < kCalls; ++i) {
    keys[i] = "hung" + std::to_string(i);
    visitors.push_back(std::make_unique<CollectingVisitor>(1));
  }
  std::vector<std::string_view> key_views(keys.begin(), keys.end());

  std::chrono::milliseconds largest_gap{0};
  auto last_tick = std::chrono::steady_clock::now();
  asio::steady_timer ticker(io);
  std::function<void()> tick = [&] {
    ticker.expires_after(2ms);
    ticker.async_wait([&](boost::system::error_code) {
      const auto now = std::chrono::steady_clock::now();
      largest_gap = std::max(
          largest_gap, std::chrono::duration_cast<std::chrono::milliseconds>(now - last_tick));
      last_tick = now;
      if (completed < kCalls) tick();
    });
  };
  tick();

  for (int i = 0; i < kCalls; ++i) {
    bridge->async_visit_many(std::span(&key_views[i], 1), *visitors[i],
                             asio::bind_executor(io, [&, i](std::exception_ptr failure) {
                               codes[i] = code_of(failure);
                               ++completed;
                             }));
  }
  // Rejections complete through io: count them before any timeout could have passed.
  io.run_for(50ms);
  rejected_at_once = completed.load();
  io.restart();
  const auto started = std::chrono::steady_clock::now();
  while (completed < kCalls && std::chrono::steady_clock::now() - started < 10s) {
    io.run_for(10ms);
    io.restart();
  }
  server.resume();

  ASSERT_EQ(completed, kCalls);
  // Whether the first two calls had left the queue for a thread when the others came is
  // up to the scheduler; either way no more than threads + max_queued were accepted.
  EXPECT_GE(rejected_at_once, kCalls - 2 - 4) << "calls beyond threads + max_queued must fail "
                                                 "at once, not queue";
  EXPECT_LE(rejected_at_once, kCalls - 4) << "max_queued calls must be accepted";
  for (int i = 0; i < kCalls; ++i) EXPECT_TRUE(codes[i]) << "call " << i << " did not fail";
  std::printf("[ bridge   ] largest timer gap with a hung server: %lld ms\n",
              static_cast<long long>(largest_gap.count()));
  EXPECT_LT(largest_gap, test::kTickGapBound) << "the caller's io_context was blocked";
}

}  // namespace
}  // namespace gencache
