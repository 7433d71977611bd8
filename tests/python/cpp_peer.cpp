// python_peer: a C++ service's side of the Python value tests (test_cpp_values.py). It
// writes and reads entries through the real gencache::Cache with natural C++ types, so
// the tests check that Python and C++ read each other's values.
//
//   python_peer URL write TYPE KEY NAMESPACE VALUE
//   python_peer URL read TYPE KEY NAMESPACE        prints the value; exit 3 on a miss
//
// TYPE      C++ type                           VALUE as written and printed
// string    std::string                        the text
// bytes     std::vector<std::byte>             hex
// profile   struct Profile (BOOST_DESCRIBE)    JSON {"name":...,"age":...}
// optional  std::optional<std::string>         the text, or "absent" (write: VALUE absent)
// py-int    python_value<std::int64_t>         decimal
// py-float  python_value<double>               %.17g
// py-bool   python_value<bool>                 true / false
// py-bytes  python_value<std::vector<std::byte>>  hex
//
// gencache::python_value<T> (<gencache/python_value.hpp>) is the codec for the values the
// Python module tags (docs/PROTOCOL.md, "Python values").

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <gencache/cache.hpp>
#include <gencache/json_codec.hpp>
#include <gencache/python_value.hpp>

struct Profile {
  std::string name;
  int age = 0;
};
BOOST_DESCRIBE_STRUCT(Profile, (), (name, age))

namespace {

constexpr int kMiss = 3;
constexpr auto kTtl = std::chrono::minutes(10);

std::string to_hex(const std::vector<std::byte>& bytes) {
  std::string out;
  for (std::byte b : bytes) out += fmt::format("{:02x}", static_cast<unsigned>(b));
  return out;
}

std::vector<std::byte> from_hex(std::string_view hex) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    unsigned byte = 0;
    std::from_chars(hex.data() + i, hex.data() + i + 2, byte, 16);
    out.push_back(static_cast<std::byte>(byte));
  }
  return out;
}

template <class T>
int read_as(gencache::Cache& cache, const std::string& key, const gencache::NamespaceSet& ns,
            auto print) {
  auto value = cache.get<T>(key, ns);
  if (!value) return kMiss;
  fmt::print("{}", print(*value));
  return 0;
}

int read(gencache::Cache& cache, std::string_view type, const std::string& key,
         const gencache::NamespaceSet& ns) {
  if (type == "string") return read_as<std::string>(cache, key, ns, [](auto& v) { return v; });
  if (type == "bytes")
    return read_as<std::vector<std::byte>>(cache, key, ns, [](auto& v) { return to_hex(v); });
  if (type == "profile")
    return read_as<Profile>(
        cache, key, ns, [](auto& v) { return boost::json::serialize(boost::json::value_from(v)); });
  if (type == "optional")
    return read_as<std::optional<std::string>>(
        cache, key, ns, [](auto& v) { return v ? *v : std::string("absent"); });
  if (type == "py-int")
    return read_as<gencache::python_value<std::int64_t>>(
        cache, key, ns, [](auto& v) { return std::to_string(v.value); });
  if (type == "py-float")
    return read_as<gencache::python_value<double>>(
        cache, key, ns, [](auto& v) { return fmt::format("{:.17g}", v.value); });
  if (type == "py-bool")
    return read_as<gencache::python_value<bool>>(
        cache, key, ns, [](auto& v) { return std::string(v.value ? "true" : "false"); });
  if (type == "py-bytes")
    return read_as<gencache::python_value<std::vector<std::byte>>>(
        cache, key, ns, [](auto& v) { return to_hex(v.value); });
  throw std::invalid_argument(fmt::format("unknown type '{}'", type));
}

void write(gencache::Cache& cache, std::string_view type, const std::string& key,
           const gencache::NamespaceSet& ns, const std::string& text) {
  if (type == "string") return cache.set(key, ns, text, kTtl);
  if (type == "bytes") return cache.set(key, ns, from_hex(text), kTtl);
  if (type == "profile")
    return cache.set(key, ns, boost::json::value_to<Profile>(boost::json::parse(text)), kTtl);
  if (type == "optional")
    return cache.set(key, ns, text == "absent" ? std::optional<std::string>() : std::optional(text),
                     kTtl);
  if (type == "py-int")
    return cache.set(key, ns, gencache::python_value<std::int64_t>{std::stoll(text)}, kTtl);
  if (type == "py-float")
    return cache.set(key, ns, gencache::python_value<double>{std::stod(text)}, kTtl);
  if (type == "py-bool")
    return cache.set(key, ns, gencache::python_value<bool>{text == "true"}, kTtl);
  if (type == "py-bytes")
    return cache.set(key, ns, gencache::python_value<std::vector<std::byte>>{from_hex(text)}, kTtl);
  throw std::invalid_argument(fmt::format("unknown type '{}'", type));
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 5 || (args[1] == "write") != (args.size() == 6)) {
    fmt::print(stderr, "usage: python_peer URL (read TYPE KEY NS | write TYPE KEY NS VALUE)\n");
    return 2;
  }
  try {
    gencache::Cache cache = gencache::Cache::from_url(args[0]);
    const gencache::NamespaceSet ns{gencache::Namespace(args[4])};
    if (args[1] == "write") {
      write(cache, args[2], args[3], ns, args[5]);
      return cache.stats().sets == 1 ? 0 : 1;
    }
    return read(cache, args[2], args[3], ns);
  } catch (const std::exception& e) {
    fmt::print(stderr, "python_peer: {}\n", e.what());
    return 1;
  }
}
