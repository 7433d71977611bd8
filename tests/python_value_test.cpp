// gencache::python_value<T>: the codec for the values the Python module tags
// (docs/PROTOCOL.md, "Python values"). Python's side is tests/python/test_cpp_values.py.

#include <gencache/python_value.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

using gencache::codec;
using gencache::python_value;

TEST(PythonValue, IntIsTagByteLetterThenEightBytesLittleEndian) {
  const std::string payload = codec<python_value<std::int64_t>>::encode({-2});
  EXPECT_EQ(payload, std::string("\xff"
                                 "i\xfe\xff\xff\xff\xff\xff\xff\xff",
                                 10));
}

TEST(PythonValue, FloatBoolAndBytesCarryTheirOwnLetters) {
  EXPECT_EQ(codec<python_value<double>>::encode({1.0}),
            std::string("\xff"
                        "f\x00\x00\x00\x00\x00\x00\xf0\x3f",
                        10));
  EXPECT_EQ(codec<python_value<bool>>::encode({true}), std::string("\xff"
                                                                   "t\x01",
                                                                   3));
  const std::vector<std::byte> bytes{std::byte{0}, std::byte{0xff}};
  EXPECT_EQ(codec<python_value<std::vector<std::byte>>>::encode({bytes}), std::string("\xff"
                                                                                      "b\x00\xff",
                                                                                      4));
}

TEST(PythonValue, EveryTypeRoundTrips) {
  EXPECT_EQ(codec<python_value<std::int64_t>>::decode(
                codec<python_value<std::int64_t>>::encode({INT64_MIN})),
            python_value<std::int64_t>{INT64_MIN});
  EXPECT_EQ(codec<python_value<double>>::decode(codec<python_value<double>>::encode({-0.5})),
            python_value<double>{-0.5});
  EXPECT_EQ(codec<python_value<bool>>::decode(codec<python_value<bool>>::encode({false})),
            python_value<bool>{false});
  const std::vector<std::byte> empty;
  EXPECT_EQ(codec<python_value<std::vector<std::byte>>>::decode(
                codec<python_value<std::vector<std::byte>>>::encode({empty})),
            python_value<std::vector<std::byte>>{empty});
}

TEST(PythonValue, AnotherTypesTagOrUntaggedBytesDoNotDecode) {
  const std::string an_int = codec<python_value<std::int64_t>>::encode({7});
  EXPECT_FALSE(codec<python_value<double>>::decode(an_int));
  EXPECT_FALSE(codec<python_value<std::int64_t>>::decode(an_int.substr(1)));
  EXPECT_FALSE(codec<python_value<std::int64_t>>::decode(an_int.substr(0, 9)));  // short
  EXPECT_FALSE(
      codec<python_value<bool>>::decode(std::string("\xff"
                                                    "t\x02",
                                                    3)));
  EXPECT_FALSE(codec<python_value<std::int64_t>>::decode("12345678"));
  EXPECT_FALSE(codec<python_value<std::int64_t>>::decode(""));
}

}  // namespace
