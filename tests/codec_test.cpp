#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gencache/codec.hpp"
#include "gencache/json_codec.hpp"

namespace app {
struct Profile {
  std::string name;
  int age = 0;
  std::vector<std::string> tags;
  friend bool operator==(const Profile&, const Profile&) = default;
};
BOOST_DESCRIBE_STRUCT(Profile, (), (name, age, tags))
}  // namespace app

namespace gencache {
namespace {

template <class T>
T round_trip(const T& value) {
  auto decoded = codec<T>::decode(codec<T>::encode(value));
  EXPECT_TRUE(decoded.has_value());
  return decoded.value_or(T{});
}

TEST(Codec, StringsRoundTripIncludingEmptyAndBinary) {
  EXPECT_EQ(round_trip(std::string()), "");
  const std::string binary("a\0b\r\n\xff", 6);
  EXPECT_EQ(round_trip(binary), binary);
}

TEST(Codec, ByteVectorsRoundTrip) {
  const std::vector<std::byte> bytes{std::byte{0}, std::byte{0xff}, std::byte{7}};
  EXPECT_EQ(round_trip(bytes), bytes);
  const std::vector<unsigned char> empty;
  EXPECT_EQ(round_trip(empty), empty);
  EXPECT_EQ(round_trip(std::vector<char>{'x', '\0'}), (std::vector<char>{'x', '\0'}));
}

TEST(Codec, ArithmeticTypesRoundTripAtTheirLimits) {
  EXPECT_EQ(round_trip(0), 0);
  EXPECT_EQ(round_trip(std::numeric_limits<std::int64_t>::min()),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(round_trip(std::numeric_limits<std::uint64_t>::max()),
            std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(round_trip(false), false);
  EXPECT_EQ(round_trip(true), true);
  EXPECT_EQ(round_trip(-0.5), -0.5);
  EXPECT_EQ(round_trip(3.25f), 3.25f);
}

TEST(Codec, ArithmeticRejectsWrongSizeAndNonBooleanBytes) {
  EXPECT_FALSE(codec<int>::decode("abc").has_value());
  EXPECT_FALSE(codec<std::uint64_t>::decode("").has_value());
  EXPECT_FALSE(codec<bool>::decode(std::string(1, '\x02')).has_value());
}

TEST(Codec, ArithmeticEncodingIsLittleEndian) {
  EXPECT_EQ(codec<std::uint32_t>::encode(0x01020304u), std::string("\x04\x03\x02\x01", 4));
}

TEST(Codec, DescribedStructsRoundTripAsJson) {
  const app::Profile p{"Ada", 36, {"admin", "ops"}};
  EXPECT_EQ(round_trip(p), p);
  EXPECT_EQ(codec<app::Profile>::encode(p), R"({"name":"Ada","age":36,"tags":["admin","ops"]})");
}

TEST(Codec, DescribedStructsRejectForeignJsonAndGarbage) {
  EXPECT_FALSE(codec<app::Profile>::decode("not json").has_value());
  EXPECT_FALSE(codec<app::Profile>::decode(R"({"name":1})").has_value());
  EXPECT_FALSE(codec<app::Profile>::decode("").has_value());
}

static_assert(has_codec<std::string>);
static_assert(has_codec<double>);
static_assert(has_codec<app::Profile>);
static_assert(has_codec<std::vector<std::byte>>);

}  // namespace
}  // namespace gencache
