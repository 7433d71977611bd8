#include "envelope.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define GENCACHE_CRC32_CLMUL 1
#endif

namespace gencache::detail {
namespace {

template <class T>
void put_le(std::string& out, T value) {
  auto v = static_cast<std::uint64_t>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

template <class T>
T get_le(std::string_view in, std::size_t offset) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= std::uint64_t{static_cast<unsigned char>(in[offset + i])} << (8 * i);
  return static_cast<T>(v);
}

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), the checksum zlib and
// boost::crc_32_type compute. Every read of an entry checks it over the whole value, so it
// is computed 8 bytes per step from tables, and 64 bytes per step with carry-less
// multiplication where the CPU has it. `state` is the running register (before the final
// inversion).
constexpr std::uint32_t kCrcPolynomial = 0xEDB88320u;

using CrcTables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr CrcTables make_crc_tables() {
  CrcTables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ ((c & 1u) != 0 ? kCrcPolynomial : 0u);
    t[0][i] = c;
  }
  for (std::size_t i = 0; i < 256; ++i)
    for (std::size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
  return t;
}

constexpr CrcTables kCrcTables = make_crc_tables();

// Slicing-by-8: little-endian loads, as on every platform gencache builds for.
std::uint32_t crc_update_tables(std::uint32_t state, const unsigned char* p,
                                std::size_t n) noexcept {
  const auto& t = kCrcTables;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint32_t low = 0;
    std::uint32_t high = 0;
    std::memcpy(&low, p, 4);
    std::memcpy(&high, p + 4, 4);
    low ^= state;
    state = t[7][low & 0xFFu] ^ t[6][(low >> 8) & 0xFFu] ^ t[5][(low >> 16) & 0xFFu] ^
            t[4][low >> 24] ^ t[3][high & 0xFFu] ^ t[2][(high >> 8) & 0xFFu] ^
            t[1][(high >> 16) & 0xFFu] ^ t[0][high >> 24];
  }
  for (; n > 0; ++p, --n) state = (state >> 8) ^ t[0][(state ^ *p) & 0xFFu];
  return state;
}

#ifdef GENCACHE_CRC32_CLMUL
#define GENCACHE_CLMUL_TARGET __attribute__((target("pclmul,sse4.1")))

GENCACHE_CLMUL_TARGET inline __m128i load16(const unsigned char* at) noexcept {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
}

// acc * x^(128 bits) folded onto `next`, with k = (x^(128+64) mod P, x^128 mod P) reflected.
GENCACHE_CLMUL_TARGET inline __m128i fold16(__m128i acc, __m128i next, __m128i k) noexcept {
  const __m128i low = _mm_clmulepi64_si128(acc, k, 0x00);
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x11), next), low);
}

// Folding with PCLMULQDQ (Gopal et al., "Fast CRC Computation for Generic Polynomials
// Using PCLMULQDQ Instruction", Intel 2009), with the bit-reflected constants for this
// polynomial given there. `n` is at least 64 and a multiple of 16.
GENCACHE_CLMUL_TARGET std::uint32_t crc_update_clmul(std::uint32_t state, const unsigned char* p,
                                                     std::size_t n) noexcept {
  const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
  const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
  const __m128i k5k0 = _mm_set_epi64x(0, 0x0163cd6124);
  const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);

  // Four lanes of 16 bytes, folded 64 bytes ahead at a time.
  __m128i x1 = _mm_xor_si128(load16(p), _mm_cvtsi32_si128(static_cast<int>(state)));
  __m128i x2 = load16(p + 16);
  __m128i x3 = load16(p + 32);
  __m128i x4 = load16(p + 48);
  for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
    x1 = fold16(x1, load16(p), k1k2);
    x2 = fold16(x2, load16(p + 16), k1k2);
    x3 = fold16(x3, load16(p + 32), k1k2);
    x4 = fold16(x4, load16(p + 48), k1k2);
  }
  x1 = fold16(fold16(fold16(x1, x2, k3k4), x3, k3k4), x4, k3k4);
  for (; n >= 16; p += 16, n -= 16) x1 = fold16(x1, load16(p), k3k4);

  // 128 bits to 64, then Barrett reduction to 32.
  const __m128i mask32 = _mm_setr_epi32(~0, 0, ~0, 0);
  __m128i x = _mm_xor_si128(_mm_srli_si128(x1, 8), _mm_clmulepi64_si128(x1, k3k4, 0x10));
  x = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x, mask32), k5k0, 0x00),
                    _mm_srli_si128(x, 4));
  __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x, mask32), poly, 0x10);
  t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), poly, 0x00);
  return static_cast<std::uint32_t>(_mm_extract_epi32(_mm_xor_si128(x, t), 1));
}

bool has_clmul() noexcept {
  static const bool yes = [] {
    __builtin_cpu_init();  // may run before the constructor that would have called it
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  }();
  return yes;
}
#endif

std::uint32_t crc_update(std::uint32_t state, std::string_view data) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
#ifdef GENCACHE_CRC32_CLMUL
  if (n >= 64 && has_clmul()) {
    const std::size_t folded = n & ~std::size_t{15};
    state = crc_update_clmul(state, p, folded);
    p += folded;
    n -= folded;
  }
#endif
  return crc_update_tables(state, p, n);
}

std::uint32_t crc_of(std::string_view header, std::string_view payload) {
  return ~crc_update(crc_update(0xFFFFFFFFu, header), payload);
}

}  // namespace

std::string encode_envelope(const Entry& entry) {
  if (entry.payload.size() > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("gencache: a value larger than 4 GiB cannot be cached");
  std::string out;
  out.reserve(envelope_header_size + entry.payload.size());
  out.append("GC");
  out.push_back(static_cast<char>(envelope_version));
  out.push_back(static_cast<char>(entry.kind));
  put_le<std::int64_t>(
      out, std::chrono::duration_cast<std::chrono::milliseconds>(entry.created.time_since_epoch())
               .count());
  put_le<std::int64_t>(out, entry.ttl.count());
  put_le<std::int64_t>(out, entry.compute_time.count());
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(entry.payload.size()));
  put_le<std::uint32_t>(out, crc_of(out, entry.payload));
  out.append(entry.payload);
  return out;
}

std::optional<Entry> decode_envelope(std::string_view bytes) {
  if (bytes.size() < envelope_header_size) return std::nullopt;
  if (bytes[0] != 'G' || bytes[1] != 'C') return std::nullopt;
  if (static_cast<unsigned char>(bytes[2]) != envelope_version) return std::nullopt;
  const auto kind = static_cast<unsigned char>(bytes[3]);
  if (kind > static_cast<unsigned char>(EntryKind::absent)) return std::nullopt;
  const auto length = get_le<std::uint32_t>(bytes, 28);
  if (length != bytes.size() - envelope_header_size) return std::nullopt;
  const std::string_view payload = bytes.substr(envelope_header_size);
  if (get_le<std::uint32_t>(bytes, 32) != crc_of(bytes.substr(0, 32), payload)) return std::nullopt;
  if (kind == static_cast<unsigned char>(EntryKind::absent) && length != 0) return std::nullopt;

  // Times the Cache can write (within about 139 years of 1970, TTLs and compute times
  // below 2^42): anything else is foreign bytes, and would overflow time arithmetic.
  constexpr std::int64_t kTimeLimit = std::int64_t{1} << 42;
  const auto created_ms = get_le<std::int64_t>(bytes, 4);
  const auto ttl_ms = get_le<std::int64_t>(bytes, 12);
  const auto compute_us = get_le<std::int64_t>(bytes, 20);
  if (created_ms < -kTimeLimit || created_ms > kTimeLimit || ttl_ms < 0 || ttl_ms > kTimeLimit ||
      compute_us < 0 || compute_us > kTimeLimit)
    return std::nullopt;

  Entry entry;
  entry.kind = static_cast<EntryKind>(kind);
  entry.created = Clock::time_point(std::chrono::milliseconds(get_le<std::int64_t>(bytes, 4)));
  entry.ttl = std::chrono::milliseconds(get_le<std::int64_t>(bytes, 12));
  entry.compute_time = std::chrono::microseconds(get_le<std::int64_t>(bytes, 20));
  entry.payload.assign(payload);
  return entry;
}

}  // namespace gencache::detail
