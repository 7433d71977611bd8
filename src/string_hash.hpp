#pragma once
// Internal: a fast 64-bit hash of short byte strings (the structure of wyhash): the memory
// backend's shards and index, the Cache's generation hints, and the Memcached
// backend's multi-get key index (MgetKeys).

#include <cstdint>
#include <cstring>
#include <string_view>

namespace gencache::detail {

namespace string_hash_detail {

// __extension__: unsigned __int128 is a GCC/Clang extension, and -Wpedantic says so.
__extension__ typedef unsigned __int128 uint128;

constexpr std::uint64_t kSecret0 = 0xa0761d6478bd642full;
constexpr std::uint64_t kSecret1 = 0xe7037ed1a0b428dbull;

inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
  const uint128 product = static_cast<uint128>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::uint64_t load4(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::uint64_t load_up_to_3(const char* p, std::size_t n) noexcept {
  const auto byte = [p](std::size_t i) {
    return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i]));
  };
  return (byte(0) << 16) | (byte(n >> 1) << 8) | byte(n - 1);
}

}  // namespace string_hash_detail

/// Hashes `text`; every bit of the result depends on every byte of the input.
inline std::uint64_t hash_string(std::string_view text) noexcept {
  using namespace string_hash_detail;
  const char* p = text.data();
  const std::size_t n = text.size();
  std::uint64_t seed = mix(kSecret0, kSecret1);
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  if (n <= 16) {
    if (n >= 4) {
      const std::size_t middle = (n >> 3) << 2;
      a = (load4(p) << 32) | load4(p + middle);
      b = (load4(p + n - 4) << 32) | load4(p + n - 4 - middle);
    } else if (n > 0) {
      a = load_up_to_3(p, n);
    }
  } else {
    std::size_t left = n;
    while (left > 16) {
      seed = mix(load8(p) ^ kSecret1, load8(p + 8) ^ seed);
      p += 16;
      left -= 16;
    }
    a = load8(p + left - 16);
    b = load8(p + left - 8);
  }
  const uint128 product = static_cast<uint128>(a ^ kSecret1) * (b ^ seed);
  return mix(static_cast<std::uint64_t>(product) ^ kSecret0 ^ n,
             static_cast<std::uint64_t>(product >> 64) ^ kSecret1);
}

}  // namespace gencache::detail
