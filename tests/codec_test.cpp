#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/codec.hpp"
#include "gencache/json_codec.hpp"
#include "gencache/memory_backend.hpp"

namespace app {
struct Profile {
  std::string name;
  int age = 0;
  std::vector<std::string> tags;
  friend bool operator==(const Profile&, const Profile&) = default;
};
BOOST_DESCRIBE_STRUCT(Profile, (), (name, age, tags))

// Two versions of one struct, as the old and the new build of a rolling deploy see it.
namespace v1 {
struct Address {
  std::string city;
};
BOOST_DESCRIBE_STRUCT(Address, (), (city))
struct User {
  std::string name;
  Address address;
};
BOOST_DESCRIBE_STRUCT(User, (), (name, address))
}  // namespace v1
namespace v2 {
struct Address {
  std::string city;
  std::string zip;  // new
};
BOOST_DESCRIBE_STRUCT(Address, (), (city, zip))
struct User {
  std::string name;
  Address address;
  int plan = 0;                      // new, required
  std::optional<std::string> email;  // new, optional
};
BOOST_DESCRIBE_STRUCT(User, (), (name, address, plan, email))
struct UserWithOptionalOnly {
  std::string name;
  v1::Address address;
  std::optional<std::string> email;  // new, optional
};
BOOST_DESCRIBE_STRUCT(UserWithOptionalOnly, (), (name, address, email))
}  // namespace v2
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

TEST(JsonCodec, AnOldReaderIgnoresFieldsANewWriterAdded) {
  const app::v2::User written{"Ada", {"Paris", "75001"}, 3, "ada@example.org"};
  const auto read = codec<app::v1::User>::decode(codec<app::v2::User>::encode(written));
  ASSERT_TRUE(read.has_value()) << "unknown fields, nested ones too, are ignored";
  EXPECT_EQ(read->name, "Ada");
  EXPECT_EQ(read->address.city, "Paris");
}

TEST(JsonCodec, ANewReaderMissesAnOldEntryLackingARequiredField) {
  const app::v1::User written{"Ada", {"Paris"}};
  EXPECT_FALSE(codec<app::v2::User>::decode(codec<app::v1::User>::encode(written)).has_value())
      << "plan and address.zip are missing: the entry is recomputed, never half-filled";
}

TEST(JsonCodec, AMissingOptionalFieldIsEmpty) {
  const app::v1::User written{"Ada", {"Paris"}};
  const auto read =
      codec<app::v2::UserWithOptionalOnly>::decode(codec<app::v1::User>::encode(written));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->name, "Ada");
  EXPECT_EQ(read->email, std::nullopt);
  const auto with_email = codec<app::v2::UserWithOptionalOnly>::decode(
      R"({"name":"Ada","address":{"city":"Paris"},"email":"ada@example.org"})");
  ASSERT_TRUE(with_email.has_value());
  EXPECT_EQ(with_email->email, "ada@example.org");
}

TEST(JsonCodec, AFieldOfAnotherTypeIsAMiss) {
  EXPECT_FALSE(codec<app::v1::User>::decode(R"({"name":"Ada","address":"Paris"})").has_value());
  EXPECT_FALSE(
      codec<app::v1::User>::decode(R"({"name":7,"address":{"city":"Paris"}})").has_value());
  EXPECT_FALSE(codec<app::v1::User>::decode(R"(["Ada"])").has_value());
}

TEST(JsonCodec, BothBuildsOfARollingDeployShareOneCacheWithoutCorruption) {
  using namespace std::chrono_literals;
  auto backend = std::make_shared<MemoryBackend>();
  Cache old_build(backend);
  Cache new_build(backend);
  const Namespace user = ns("user", 42);
  new_build.set("profile", user, app::v2::User{"Ada", {"Paris", "75001"}, 3, std::nullopt}, 1h);
  const auto old_read = old_build.get<app::v1::User>("profile", user);
  ASSERT_TRUE(old_read.has_value()) << "the old build reads the new build's entry";
  EXPECT_EQ(old_read->address.city, "Paris");

  old_build.set("other", user, app::v1::User{"Bob", {"Rome"}}, 1h);
  EXPECT_FALSE(new_build.get<app::v2::User>("other", user).has_value())
      << "the new build misses (recomputes) the old build's entry, lacking required fields";
  EXPECT_EQ(old_build.stats().corrupt, 0u);
}

static_assert(has_codec<std::string>);
static_assert(has_codec<double>);
static_assert(has_codec<app::Profile>);
static_assert(has_codec<std::vector<std::byte>>);

}  // namespace
}  // namespace gencache
