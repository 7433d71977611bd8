// The key scheme (promise 5) on arbitrary namespace names, keys, prefixes and generations.
// Each input yields two key inputs A and B, B often a near miss of A (a boundary moved
// between components, one byte or generation changed), and checks:
//   1. every key is at most 250 bytes of printable non-space ASCII;
//   2. validate_prefix accepts exactly the documented prefixes;
//   3. injectivity: versioned keys are equal only for equal (prefix, namespaces,
//      generations, key), counter keys only for equal (prefix, namespace), and no counter
//      key equals a versioned key.
// Injectivity is promised per prefix. Across two prefixes it holds when neither is a
// leading substring of the other: with prefixes "" and "gc1:n:", the namespaces
// "gc1:n:x" and "x" do share a counter key (see SECURITY.md, one prefix per application).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gencache/error.hpp"
#include "gencache/namespace.hpp"
#include "key_encoding.hpp"

namespace {

using gencache::Namespace;
using gencache::NamespaceSet;
namespace detail = gencache::detail;

constexpr std::size_t kMaxNamespaces = 4;
constexpr std::size_t kMaxComponent = 320;  // past the 250-byte limit, so digests happen

// One call's worth of key material; `names` sorted and unique, `generations` aligned.
struct KeyInput {
  std::string prefix;
  std::vector<std::string> names;
  std::vector<std::uint64_t> generations;
  std::string key;
  friend bool operator==(const KeyInput&, const KeyInput&) = default;
};

struct Keys {
  std::string versioned;
  std::vector<std::string> counters;  // one per name
};

// The prefix rule as README and CacheOptions document it.
bool documented_prefix(std::string_view prefix) {
  if (prefix.size() > detail::max_prefix) return false;
  return std::all_of(prefix.begin(), prefix.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x21 && c <= 0x7E && std::string_view("%@,|#").find(ch) == std::string_view::npos;
  });
}

bool accepted_prefix(std::string_view prefix) {
  try {
    detail::validate_prefix(prefix);
    return true;
  } catch (const gencache::config_error&) {
    return false;
  }
}

std::string consume_prefix(FuzzedDataProvider& data) {
  std::string raw = data.ConsumeRandomLengthString(80);
  if (accepted_prefix(raw) != documented_prefix(raw)) __builtin_trap();
  if (documented_prefix(raw)) return raw;
  std::string valid;
  for (char c : raw)
    if (documented_prefix(std::string_view(&c, 1))) valid.push_back(c);
  if (valid.size() > detail::max_prefix) valid.resize(detail::max_prefix);
  return valid;
}

// Sorts names (with their generations) as NamespaceSet does and drops repeated names.
void canonicalize(KeyInput& in) {
  std::vector<std::pair<std::string, std::uint64_t>> pairs;
  for (std::size_t i = 0; i < in.names.size(); ++i)
    if (!in.names[i].empty()) pairs.emplace_back(std::move(in.names[i]), in.generations[i]);
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  pairs.erase(std::unique(pairs.begin(), pairs.end(),
                          [](const auto& a, const auto& b) { return a.first == b.first; }),
              pairs.end());
  in.names.clear();
  in.generations.clear();
  for (auto& [name, generation] : pairs) {
    in.names.push_back(std::move(name));
    in.generations.push_back(generation);
  }
}

KeyInput consume_input(FuzzedDataProvider& data) {
  KeyInput in;
  in.prefix = consume_prefix(data);
  const std::size_t n = data.ConsumeIntegralInRange<std::size_t>(0, kMaxNamespaces);
  for (std::size_t i = 0; i < n; ++i) {
    in.names.push_back(data.ConsumeRandomLengthString(kMaxComponent));
    in.generations.push_back(data.ConsumeIntegral<std::uint64_t>());
  }
  in.key = data.ConsumeRandomLengthString(kMaxComponent);
  canonicalize(in);
  return in;
}

// The components in key order: names..., key. Prefix and generations are handled apart.
std::vector<std::string*> components(KeyInput& in) {
  std::vector<std::string*> out;
  for (std::string& name : in.names) out.push_back(&name);
  out.push_back(&in.key);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// At `at`: "%XX" becomes the byte 0xXX, or a byte becomes the text "%XX", so a component
// holding an escape's spelling meets one holding the escaped byte.
void respell(std::string& part, std::size_t at, bool lowercase) {
  if (at >= part.size()) return;
  if (part[at] == '%' && at + 2 < part.size() && hex_value(part[at + 1]) >= 0 &&
      hex_value(part[at + 2]) >= 0) {
    part.replace(at, 3, 1,
                 static_cast<char>(hex_value(part[at + 1]) * 16 + hex_value(part[at + 2])));
    return;
  }
  const char* digits = lowercase ? "0123456789abcdef" : "0123456789ABCDEF";
  const auto c = static_cast<unsigned char>(part[at]);
  part.replace(at, 1, {'%', digits[c >> 4], digits[c & 0xF]});
}

// B: a near miss of A, the pairs most likely to collide under a flawed scheme.
KeyInput consume_neighbour(FuzzedDataProvider& data, const KeyInput& a) {
  KeyInput b = a;
  std::vector<std::string*> parts = components(b);
  const std::size_t which = data.ConsumeIntegralInRange<std::size_t>(0, parts.size() - 1);
  std::string& part = *parts[which];
  switch (data.ConsumeIntegralInRange<int>(0, 6)) {
    case 0:
      return consume_input(data);
    case 1: {  // move a boundary: the tail of one component becomes the head of the next
      if (which + 1 >= parts.size()) break;
      const std::size_t n = data.ConsumeIntegralInRange<std::size_t>(0, part.size());
      parts[which + 1]->insert(0, part.substr(part.size() - n));
      part.resize(part.size() - n);
      break;
    }
    case 2: {  // change one byte
      if (part.empty()) break;
      part[data.ConsumeIntegralInRange<std::size_t>(0, part.size() - 1)] =
          data.ConsumeIntegral<char>();
      break;
    }
    case 3: {  // insert bytes (escape sequences, separators, ...)
      const std::size_t at = data.ConsumeIntegralInRange<std::size_t>(0, part.size());
      part.insert(at, data.ConsumeRandomLengthString(8));
      break;
    }
    case 4: {  // change a generation
      if (b.generations.empty()) break;
      auto& g =
          b.generations[data.ConsumeIntegralInRange<std::size_t>(0, b.generations.size() - 1)];
      g = data.ConsumeBool() ? g + 1 : data.ConsumeIntegral<std::uint64_t>();
      break;
    }
    case 5:  // another prefix
      b.prefix = consume_prefix(data);
      break;
    default:  // spell a byte as its escape "%XX", or an escape as its byte
      respell(part, data.ConsumeIntegralInRange<std::size_t>(0, part.size()), data.ConsumeBool());
      break;
  }
  canonicalize(b);
  return b;
}

void check_shape(std::string_view key) {
  if (key.empty() || key.size() > detail::max_backend_key) __builtin_trap();
  for (char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7E) __builtin_trap();
  }
}

Keys keys_of(const KeyInput& in) {
  std::vector<Namespace> list;
  for (const std::string& name : in.names) list.emplace_back(name);
  const NamespaceSet set(std::move(list));
  // The set's canonical order is the one canonicalize() chose.
  if (set.size() != in.names.size()) __builtin_trap();
  for (std::size_t i = 0; i < set.size(); ++i)
    if (set[i].name() != in.names[i]) __builtin_trap();

  Keys keys;
  keys.versioned = detail::versioned_key(in.prefix, set, in.generations, in.key);
  check_shape(keys.versioned);
  for (const Namespace& ns : set) {
    keys.counters.push_back(detail::counter_key(in.prefix, ns));
    check_shape(keys.counters.back());
  }
  return keys;
}

bool comparable(std::string_view p, std::string_view q) {
  return p == q || (!p.starts_with(q) && !q.starts_with(p));
}

void check_injective(const KeyInput& a, const Keys& ka, const KeyInput& b, const Keys& kb) {
  if (!comparable(a.prefix, b.prefix)) return;
  if ((ka.versioned == kb.versioned) != (a == b)) __builtin_trap();
  for (std::size_t i = 0; i < a.names.size(); ++i) {
    if (ka.counters[i] == kb.versioned) __builtin_trap();
    for (std::size_t j = 0; j < b.names.size(); ++j) {
      const bool same_counter = a.prefix == b.prefix && a.names[i] == b.names[j];
      if ((ka.counters[i] == kb.counters[j]) != same_counter) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  const KeyInput a = consume_input(provider);
  const KeyInput b = consume_neighbour(provider, a);
  const Keys ka = keys_of(a);
  const Keys kb = keys_of(b);
  check_injective(a, ka, b, kb);
  check_injective(b, kb, a, ka);
  check_injective(a, ka, a, ka);
  return 0;
}
