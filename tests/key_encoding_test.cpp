// Promise 5: keys are injective and safe.
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gencache/error.hpp"
#include "gencache/namespace.hpp"
#include "key_encoding.hpp"

namespace gencache {
namespace {

using detail::counter_key;
using detail::versioned_key;

std::string vkey(const NamespaceSet& set, std::vector<std::uint64_t> gens, std::string_view key,
                 std::string_view prefix = "") {
  return versioned_key(prefix, set, gens, key);
}

void expect_valid_memcached_key(const std::string& key) {
  EXPECT_LE(key.size(), detail::max_backend_key) << key;
  EXPECT_FALSE(key.empty());
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x21 && u <= 0x7E) << "byte " << int(u) << " in key " << key;
  }
}

TEST(KeyEncoding, NamespaceAndKeyBoundaryCannotBeShifted) {
  // user "1_2" + key "x"  vs  user "1" + key "2_x"
  EXPECT_NE(vkey({ns("user", "1_2")}, {5}, "x"), vkey({ns("user", "1")}, {5}, "2_x"));
  // The separators themselves inside a name or key cannot forge structure.
  EXPECT_NE(vkey({Namespace("a@5|b")}, {5}, "c"), vkey({Namespace("a")}, {5}, "b|c"));
  EXPECT_NE(vkey({Namespace("a"), Namespace("b")}, {1, 2}, "k"),
            vkey({Namespace("a@1,b")}, {2}, "k"));
  EXPECT_NE(vkey({Namespace("a")}, {12}, "k"), vkey({Namespace("a@1")}, {2}, "k"));
}

TEST(KeyEncoding, KeysThatDifferOnlyInAnEscapedByteDiffer) {
  const std::vector<std::string> variants = {"a b",
                                             "a\rb",
                                             "a\nb",
                                             std::string("a\0b", 3),
                                             "a%20b",
                                             "a%b",
                                             "a\x7f"
                                             "b",
                                             "a\xff"
                                             "b",
                                             "a@b",
                                             "a,b",
                                             "a|b",
                                             "a#b",
                                             "a%2",
                                             "a%25b",
                                             "a+b",
                                             "a_b",
                                             "ab"};
  std::set<std::string> seen;
  for (const auto& v : variants) {
    const std::string key = vkey({ns("user", 1)}, {7}, v);
    expect_valid_memcached_key(key);
    EXPECT_TRUE(seen.insert(key).second) << "collision for key variant " << v;
    // The same byte in the namespace name also stays distinct.
    EXPECT_TRUE(seen.insert(vkey({Namespace(v)}, {7}, "k")).second)
        << "collision for ns variant " << v;
  }
}

TEST(KeyEncoding, GenerationsArePartOfTheKey) {
  EXPECT_NE(vkey({ns("user", 1)}, {7}, "k"), vkey({ns("user", 1)}, {8}, "k"));
  EXPECT_NE(vkey({ns("a"), ns("b")}, {1, 2}, "k"), vkey({ns("a"), ns("b")}, {2, 1}, "k"));
}

TEST(KeyEncoding, CounterKeysNeverEqualEntryKeys) {
  EXPECT_NE(counter_key("", Namespace("x")), vkey({}, {}, "x"));
  EXPECT_NE(counter_key("", Namespace("k:|x")), vkey({}, {}, "x"));
  EXPECT_NE(counter_key("", ns("user", 1)), counter_key("", ns("user", 2)));
}

TEST(KeyEncoding, PrefixIsKeptAndValidated) {
  EXPECT_EQ(vkey({}, {}, "k", "app1:").rfind("app1:", 0), 0u);
  EXPECT_NE(vkey({}, {}, "k", "app1:"), vkey({}, {}, "k", "app2:"));
  EXPECT_THROW(detail::validate_prefix("has space"), config_error);
  EXPECT_THROW(detail::validate_prefix("has|bar"), config_error);
  EXPECT_THROW(detail::validate_prefix(std::string(65, 'p')), config_error);
  EXPECT_NO_THROW(detail::validate_prefix("my-app.v2:"));
}

TEST(KeyEncoding, LongInputIsDigestedWithinTheLimitAndStaysDistinct) {
  const std::string base(64 * 1024, 'k');
  std::string other = base;
  other.back() = 'j';
  const std::string a = vkey({ns("user", 42)}, {9}, base);
  const std::string b = vkey({ns("user", 42)}, {9}, other);
  expect_valid_memcached_key(a);
  expect_valid_memcached_key(b);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), detail::max_backend_key);
  EXPECT_NE(a.find("user:42"), std::string::npos) << "a readable head is kept: " << a;
  // A 1 MiB namespace name and a 1 MiB key with hostile bytes.
  std::string hostile(1 << 20, '\n');
  hostile[17] = '\0';
  expect_valid_memcached_key(vkey({Namespace(hostile)}, {1}, hostile));
  expect_valid_memcached_key(counter_key("pfx:", Namespace(hostile)));
  expect_valid_memcached_key(vkey({ns("u", 1)}, {1}, hostile, std::string(64, 'p')));
}

TEST(KeyEncoding, ADigestedKeyNeverEqualsAnUndigestedOne) {
  // A key whose escaped form is exactly at the limit is kept; one byte more is digested;
  // a user key that spells out a digest cannot equal it because '#' is always escaped.
  const std::string prefix_part = vkey({}, {}, "");
  const std::string fits(detail::max_backend_key - prefix_part.size(), 'x');
  EXPECT_EQ(vkey({}, {}, fits), prefix_part + fits);
  const std::string digested = vkey({}, {}, fits + "x");
  EXPECT_NE(digested.find('#'), std::string::npos);
  const std::string forged = digested.substr(prefix_part.size());
  EXPECT_NE(vkey({}, {}, forged), digested);
}

// The escaper scans 16 bytes at a time where it can: every byte value, at every position
// of a block and of the tail, must be escaped exactly as the byte-by-byte rule says.
TEST(KeyEncoding, EveryByteAtEveryPositionIsEscapedByTheRule) {
  auto reference = [](std::string_view text) {
    std::string out;
    for (const char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      const bool plain =
          c >= 0x21 && c <= 0x7E && c != '%' && c != '@' && c != ',' && c != '|' && c != '#';
      if (plain)
        out.push_back(ch);
      else
        out += fmt::format("%{:02X}", c);
    }
    return out;
  };
  for (std::size_t length : {1, 15, 16, 17, 31, 32, 33, 47, 64}) {
    for (std::size_t at = 0; at < length; ++at) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string text(length, 'a');
        text[at] = static_cast<char>(byte);
        std::string escaped;
        detail::append_escaped(escaped, text);
        ASSERT_EQ(escaped, reference(text))
            << "length " << length << ", byte " << byte << " at " << at;
      }
    }
  }
  std::mt19937 rng(11);
  for (int round = 0; round < 2000; ++round) {
    std::string text(rng() % 80, '\0');
    for (char& c : text) c = static_cast<char>(rng() % 4 == 0 ? rng() : 'a' + rng() % 26);
    std::string escaped = "keep:";
    detail::append_escaped(escaped, text);
    ASSERT_EQ(escaped, "keep:" + reference(text));
  }
}

TEST(KeyEncoding, BuildersReuseTheirBufferAndMatchTheReturningForms) {
  const NamespaceSet set{ns("user", 1), ns("org", "a b")};
  const std::vector<std::uint64_t> gens{7, 8};
  std::string out = std::string(300, 'x');  // a previous, longer key
  detail::build_versioned_key(out, "p:", set, gens, "k");
  EXPECT_EQ(out, versioned_key("p:", set, gens, "k"));
  detail::build_versioned_key(out, "p:", set, gens, std::string(400, 'z'));
  EXPECT_EQ(out, versioned_key("p:", set, gens, std::string(400, 'z'))) << "digested form";
  detail::build_counter_key(out, "p:", ns("user", 1));
  EXPECT_EQ(out, counter_key("p:", ns("user", 1)));

  // A batch builds the head once and finishes each key from it.
  std::string head;
  detail::build_versioned_head(head, "p:", set, gens);
  for (const std::string& key :
       std::initializer_list<std::string>{"k", "a|b@c,d%e#f", std::string(400, 'z'), ""}) {
    detail::finish_versioned_key(out, head, "p:", key);
    EXPECT_EQ(out, versioned_key("p:", set, gens, key)) << key;
  }
}

TEST(KeyEncoding, RandomPairsNeverCollide) {
  std::mt19937_64 rng(20261126);
  const std::string alphabet = std::string("ab:%@,|# \r\n\x01\xff_") + std::string(1, '\0');
  auto random_text = [&](std::size_t max_len) {
    std::string s(rng() % (max_len + 1), ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    return s;
  };
  std::map<std::string, std::tuple<std::vector<std::string>, std::uint64_t, std::string>> seen;
  for (int i = 0; i < 20000; ++i) {
    std::vector<Namespace> list;
    std::vector<std::string> names;
    const std::size_t count = rng() % 3;
    for (std::size_t j = 0; j < count; ++j) {
      std::string name = random_text(6);
      if (name.empty()) name = "n";
      list.emplace_back(name);
    }
    NamespaceSet set(list);
    for (const auto& n : set) names.push_back(n.name());
    std::vector<std::uint64_t> gens(set.size(), rng() % 3);
    const std::string key = random_text(8);
    const std::string encoded = versioned_key("", set, gens, key);
    expect_valid_memcached_key(encoded);
    auto identity = std::make_tuple(names, set.empty() ? 0 : gens[0], key);
    auto [it, inserted] = seen.emplace(encoded, identity);
    if (!inserted) {
      // Same encoding is fine only for the same input (gens are all equal per entry).
      EXPECT_EQ(it->second, identity) << "collision on " << encoded;
    }
  }
}

}  // namespace
}  // namespace gencache
