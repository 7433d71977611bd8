// A compute that returns a string literal or a const char* is cached as std::string,
// as set() stores one, instead of failing to build for want of a codec.
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/cached_call.hpp"
#include "gencache/memory_backend.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;

TEST(CStringResults, AStringLiteralIsCachedAsAStdString) {
  Cache cache(std::make_shared<MemoryBackend>());
  int computes = 0;
  const auto compute = [&] {
    ++computes;
    return "hello";
  };
  const auto first = cache.cached("k", ns("n"), 1min, compute);
  static_assert(std::is_same_v<std::remove_const_t<decltype(first)>, std::string>);
  EXPECT_EQ(first, "hello");
  EXPECT_EQ(cache.cached("k", ns("n"), 1min, compute), "hello");
  EXPECT_EQ(computes, 1) << "the second call is a hit";
  EXPECT_EQ(cache.get("k", ns("n")), "hello") << "the same entry get<std::string> reads";
}

TEST(CStringResults, ConstCharPointerResultsAndSetAgree) {
  Cache cache(std::make_shared<MemoryBackend>());
  const char* text = "from a pointer";
  cache.set("k", ns("n"), "from set", 1min);
  EXPECT_EQ(cache.cached("k", ns("n"), 1min, [&] { return text; }), "from set");
  EXPECT_EQ(cache.cached("other", ns("n"), 1min, [&] { return text; }), "from a pointer");
}

TEST(CStringResults, ANullCStringThrowsAndCachesNothing) {
  Cache cache(std::make_shared<MemoryBackend>());
  const char* none = nullptr;
  EXPECT_THROW(cache.cached("k", ns("n"), 1min, [&] { return none; }), std::invalid_argument);
  EXPECT_EQ(cache.get("k", ns("n")), std::nullopt);
}

TEST(CStringResults, CachedManyAndCachedCallAcceptThemToo) {
  Cache cache(std::make_shared<MemoryBackend>());
  const std::vector<std::string> keys{"a", "b"};
  EXPECT_EQ(cache.cached_many(keys, ns("n"), 1min, [](const std::string&) { return "x"; }),
            (std::vector<std::string>{"x", "x"}));
  auto wrapped = cached_call(
      cache, [](int id) { return std::to_string(id); },
      [](int id) { return NamespaceSet(ns("id", id)); }, 1min, [](int) { return "handled"; });
  EXPECT_EQ(wrapped(7), "handled");
}

}  // namespace
}  // namespace gencache
