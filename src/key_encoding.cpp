#include "key_encoding.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/evp.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "crc16.hpp"
#include "gencache/error.hpp"

namespace gencache::detail {
namespace {

constexpr std::string_view kVersionTag = "gc1:";
constexpr std::size_t kDigestHex = 64;

constexpr bool is_plain_byte(unsigned char c) {
  return c >= 0x21 && c <= 0x7E && c != '%' && c != '@' && c != ',' && c != '|' && c != '#';
}

// Every key of every read is escaped, so the test is one table lookup per byte.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> table{};
  for (std::size_t c = 0; c < table.size(); ++c)
    table[c] = is_plain_byte(static_cast<unsigned char>(c));
  return table;
}();

bool is_plain(unsigned char c) {
  return kPlain[c];
}

// Keeps `full` if it fits; otherwise replaces it by a readable head of it plus its digest.
void fit_length(std::string& full, std::string_view prefix) {
  if (full.size() <= max_backend_key) return;
  const std::string digest = sha256_hex(full);
  // <prefix>gc1:h:<head>#<digest>, head taken from the part after <prefix>gc1:?:
  const std::size_t fixed = prefix.size() + kVersionTag.size() + 2 + 1 + kDigestHex;
  const std::size_t head_len = max_backend_key - fixed;
  std::string out;
  out.reserve(max_backend_key);
  out.append(prefix).append(kVersionTag).append("h:");
  out.append(std::string_view(full).substr(prefix.size() + kVersionTag.size() + 2, head_len));
  out.push_back('#');
  out.append(digest);
  full = std::move(out);
}

// The length of the run of plain bytes at the start of [p, end).
std::size_t plain_run(const char* p, const char* end) {
  const char* const start = p;
#if defined(__SSE2__)
  // 16 bytes at a time: plain means 0x21..0x7E (as signed bytes: > 0x20, which also
  // excludes 0x80..0xFF) and none of the five separators.
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7F);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i printable = _mm_and_si128(_mm_cmpgt_epi8(v, space), _mm_cmplt_epi8(v, del));
    __m128i separator = _mm_cmpeq_epi8(v, _mm_set1_epi8('%'));
    for (const char c : {'@', ',', '|', '#'})
      separator = _mm_or_si128(separator, _mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
    const auto special = static_cast<unsigned>((~_mm_movemask_epi8(printable) & 0xFFFF) |
                                               _mm_movemask_epi8(separator));
    if (special != 0) return static_cast<std::size_t>(p - start) + std::countr_zero(special);
    p += 16;
  }
#endif
  while (p != end && is_plain(static_cast<unsigned char>(*p))) ++p;
  return static_cast<std::size_t>(p - start);
}

}  // namespace

void append_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  // Runs of plain bytes (usually the whole text) are appended in one piece.
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p != end) {
    const std::size_t run = plain_run(p, end);
    out.append(p, run);
    p += run;
    if (p == end) break;
    const auto c = static_cast<unsigned char>(*p++);
    const char escaped[3] = {'%', kHex[c >> 4], kHex[c & 0xF]};
    out.append(escaped, 3);
  }
}

void validate_prefix(std::string_view prefix) {
  bool ok = prefix.size() <= max_prefix;
  for (char c : prefix) ok = ok && is_plain(static_cast<unsigned char>(c));
  if (!ok)
    throw config_error(fmt::format(
        "key prefix '{}' is invalid: expected at most {} bytes of printable ASCII without "
        "spaces or any of % @ , | #",
        prefix, max_prefix));
}

void build_counter_key(std::string& out, std::string_view prefix, const Namespace& ns) {
  out.clear();
  out.append(prefix).append(kVersionTag).append("n:");
  append_escaped(out, ns.name());
  fit_length(out, prefix);
}

std::string counter_key(std::string_view prefix, const Namespace& ns) {
  std::string out;
  out.reserve(prefix.size() + 6 + ns.name().size());
  build_counter_key(out, prefix, ns);
  return out;
}

void build_versioned_head(std::string& out, std::string_view prefix, const NamespaceSet& namespaces,
                          std::span<const std::uint64_t> generations) {
  if (generations.size() != namespaces.size())
    throw std::invalid_argument("versioned_key: one generation per namespace is required");
  out.clear();
  out.reserve(prefix.size() + 8 + namespaces.size() * 32);
  out.append(prefix).append(kVersionTag).append("k:");
  for (std::size_t i = 0; i < namespaces.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_escaped(out, namespaces[i].name());
    out.push_back('@');
    char digits[20];  // any uint64
    const auto end = std::to_chars(digits, digits + sizeof digits, generations[i]).ptr;
    out.append(digits, static_cast<std::size_t>(end - digits));
  }
  out.push_back('|');
}

void finish_versioned_key(std::string& out, std::string_view head, std::string_view prefix,
                          std::string_view key) {
  out.clear();
  out.reserve(head.size() + key.size() + 8);
  out.append(head);
  append_escaped(out, key);
  fit_length(out, prefix);
}

void build_versioned_key(std::string& out, std::string_view prefix, const NamespaceSet& namespaces,
                         std::span<const std::uint64_t> generations, std::string_view key) {
  out.clear();
  out.reserve(prefix.size() + 8 + key.size() + namespaces.size() * 32);  // one allocation
  build_versioned_head(out, prefix, namespaces, generations);
  append_escaped(out, key);
  fit_length(out, prefix);
}

std::string versioned_key(std::string_view prefix, const NamespaceSet& namespaces,
                          std::span<const std::uint64_t> generations, std::string_view key) {
  std::string out;
  build_versioned_key(out, prefix, namespaces, generations, key);
  return out;
}

void build_hash_tagged_prefix(std::string& out, std::string_view prefix, const Namespace& ns) {
  // The tag comes first, so a '{' in the user's prefix can never become the tag.
  static constexpr char kHex[] = "0123456789abcdef";
  const std::uint16_t crc = crc16_xmodem(ns.name());
  const char tag[6] = {
      '{', kHex[crc >> 12], kHex[(crc >> 8) & 0xF], kHex[(crc >> 4) & 0xF], kHex[crc & 0xF], '}'};
  out.assign(tag, sizeof tag);
  out.append(prefix);
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed in libcrypto");
  std::string hex;
  hex.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) fmt::format_to(std::back_inserter(hex), "{:02x}", md[i]);
  return hex;
}

}  // namespace gencache::detail
