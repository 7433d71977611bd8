// Promise 6: corrupt bytes read back are a miss, never a wrong value.
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "envelope.hpp"

namespace gencache::detail {
namespace {

Entry sample(EntryKind kind = EntryKind::value, std::string payload = "payload\0bytes") {
  Entry e;
  e.kind = kind;
  e.payload = std::move(payload);
  e.created = Clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  e.ttl = std::chrono::minutes(10);
  e.compute_time = std::chrono::microseconds(2150);
  return e;
}

TEST(Envelope, RoundTripsEveryField) {
  const Entry e = sample();
  const auto decoded = decode_envelope(encode_envelope(e));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->kind, e.kind);
  EXPECT_EQ(decoded->payload, e.payload);
  EXPECT_EQ(decoded->created, e.created);
  EXPECT_EQ(decoded->ttl, e.ttl);
  EXPECT_EQ(decoded->compute_time, e.compute_time);
}

TEST(Envelope, AbsentAndEmptyValuesRoundTrip) {
  EXPECT_EQ(decode_envelope(encode_envelope(sample(EntryKind::absent, "")))->kind,
            EntryKind::absent);
  const auto empty = decode_envelope(encode_envelope(sample(EntryKind::value, "")));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->payload, "");
}

TEST(Envelope, HeaderLayoutIsStable) {
  const std::string bytes = encode_envelope(sample(EntryKind::value, "xy"));
  ASSERT_EQ(bytes.size(), envelope_header_size + 2);
  EXPECT_EQ(bytes.substr(0, 4), std::string("GC\x01\x00", 4));
  EXPECT_EQ(bytes.substr(28, 4), std::string("\x02\x00\x00\x00", 4));
  EXPECT_EQ(bytes.substr(36), "xy");
}

TEST(Envelope, EverySingleBitFlipIsRejected) {
  const std::string good = encode_envelope(sample());
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      EXPECT_FALSE(decode_envelope(bad).has_value()) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(Envelope, TruncatedExtendedAndForeignBytesAreRejected) {
  const std::string good = encode_envelope(sample());
  for (std::size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(decode_envelope(good.substr(0, n))) << n;
  EXPECT_FALSE(decode_envelope(good + "x"));
  EXPECT_FALSE(decode_envelope("12345"));
  EXPECT_FALSE(decode_envelope(std::string(100, '\0')));
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 80, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    EXPECT_FALSE(decode_envelope(junk));
  }
}

TEST(Envelope, AbsentEntryWithPayloadIsRejected) {
  Entry e = sample(EntryKind::absent, "should not be here");
  EXPECT_FALSE(decode_envelope(encode_envelope(e)));
}

}  // namespace
}  // namespace gencache::detail
