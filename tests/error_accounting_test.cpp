// One rule for what counts as an error: a backend failure a caller's operation met is
// counted in Stats::errors and reaches the hook; a value over the size limit is not a
// failure (Stats::oversized only); reads and writes the open breaker skipped are
// rejections, but a bump it skipped is a failed invalidation, counted and reported.
// (The breaker half is CircuitBreaker.ABumpTheOpenBreakerRejectedIsCountedAndReachesTheHook.)
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/testing.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;

TEST(ErrorAccounting, AValueOfExactlyTheLimitIsCachedOnMemory) {
  std::vector<std::string> hooked;
  Cache cache = Cache::from_url("memory://", CacheOptions{.on_error = [&](const ErrorEvent& e) {
                                  hooked.push_back(e.message);
                                }});
  ASSERT_EQ(cache.backend().max_value_size(), std::size_t{1} << 20) << "the documented default";
  const std::string mebibyte(std::size_t{1} << 20, 'm');
  cache.set("exact", ns("n"), mebibyte, 1min);
  EXPECT_EQ(cache.get("exact", ns("n")), mebibyte)
      << "the limit is on the value, not value + header";
  EXPECT_EQ(cache.stats().oversized, 0u);
  EXPECT_TRUE(hooked.empty());
}

TEST(ErrorAccounting, AnOversizedValueIsNotAnErrorAndFiresNoHook) {
  std::vector<std::string> hooked;
  Cache cache = Cache::from_url("memory://", CacheOptions{.on_error = [&](const ErrorEvent& e) {
                                  hooked.push_back(e.message);
                                }});
  const std::string over((std::size_t{1} << 20) + 1, 'o');
  EXPECT_EQ(cache.cached("over", ns("n"), 1min, [&] { return over; }), over);
  EXPECT_EQ(cache.get("over", ns("n")), std::nullopt);
  EXPECT_EQ(cache.stats().oversized, 1u);
  EXPECT_EQ(cache.stats().errors, 0u);
  EXPECT_TRUE(hooked.empty());
}

// The hook runs inside the failed read, on its thread, while that read holds the thread's
// read buffers: a read from the hook, of the same Cache, gets storage of its own, and the
// thread's buffers serve the next read.
TEST(ErrorAccounting, AnErrorHookMayReadTheCacheWhoseReadFailed) {
  auto faults = std::make_shared<testing::FaultInjectingBackend>(std::make_shared<MemoryBackend>());
  const std::vector<std::string> keys{"page:1", "page:2", "page:3"};
  const NamespaceSet namespaces{ns("user", 1)};
  std::vector<std::vector<std::optional<std::string>>> read_in_hook;
  Cache* self = nullptr;
  Cache cache(faults, CacheOptions{.on_error = [&](const ErrorEvent&) {
                read_in_hook.push_back(self->get_many<std::string>(keys, namespaces));
              }});
  self = &cache;
  for (const std::string& key : keys) cache.set(key, namespaces, "value of " + key, 1h);

  faults->fail_next(testing::Operation::get_many, 1);
  std::error_code ec;
  const auto failed = cache.get_many<std::string>(keys, namespaces, ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(failed, (std::vector<std::optional<std::string>>(3)));
  ASSERT_EQ(read_in_hook.size(), 1u) << "the hook ran once, for the one failed read";
  const std::vector<std::optional<std::string>> all{"value of page:1", "value of page:2",
                                                     "value of page:3"};
  EXPECT_EQ(read_in_hook[0], all) << "the read from the hook saw every entry";
  EXPECT_EQ(cache.get_many<std::string>(keys, namespaces), all) << "and so does the next read";
}

}  // namespace
}  // namespace gencache
