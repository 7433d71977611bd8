// Counter values as stored (decimal text, Memcached's trailing padding) are parsed exactly;
// anything else is refused, so a poisoned counter is never read as a generation.
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "cache_core.hpp"

namespace gencache {
namespace {

using detail::parse_counter_text;

TEST(CounterText, DecimalValuesParseExactlyUpToTwoToThe64) {
  EXPECT_EQ(parse_counter_text("0"), 0u);
  EXPECT_EQ(parse_counter_text("1"), 1u);
  EXPECT_EQ(parse_counter_text("9999999999999999999"), 9'999'999'999'999'999'999u) << "19 digits";
  EXPECT_EQ(parse_counter_text("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(parse_counter_text("00000000000000000000042"), 42u) << "leading zeros";
  std::mt19937_64 rng(3);
  for (int i = 0; i < 10'000; ++i) {
    const std::uint64_t value = rng() >> (rng() % 64);
    EXPECT_EQ(parse_counter_text(std::to_string(value)), value);
  }
}

TEST(CounterText, MemcachedPaddingIsStripped) {
  EXPECT_EQ(parse_counter_text("4294967296   "), 4'294'967'296u);
  EXPECT_EQ(parse_counter_text("7\r\n"), 7u);
}

TEST(CounterText, AnythingElseIsRefused) {
  for (const std::string& text : std::initializer_list<std::string>{
           "", " ", "-1", "+1", " 1", "1 2", "12a", "a12", "0x10", "1.5", "18446744073709551616",
           "99999999999999999999", std::string("1\0", 2), "\xef\xbc\x91"}) {
    EXPECT_EQ(parse_counter_text(text), std::nullopt) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace gencache
