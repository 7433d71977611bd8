// url_key on arbitrary request targets (a server hands it whatever a client sent):
//   1. it returns a key or throws std::invalid_argument, nothing else, and never crashes;
//   2. a key is its own canonical form: url_key(url_key(t)) == url_key(t);
//   3. a key is printable ASCII (no control byte can reach a log line or a backend);
//   4. the message of a rejection holds no control byte either.
// The first input byte chooses whether the tracking parameters are dropped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "gencache/url_key.hpp"

namespace {

bool printable(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const gencache::UrlKeyOptions options =
      data[0] & 1 ? gencache::UrlKeyOptions::without_tracking() : gencache::UrlKeyOptions{};
  const std::string_view target(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string key;
  try {
    key = gencache::url_key(target, options);
  } catch (const std::invalid_argument& e) {
    if (!printable(e.what())) std::abort();
    return 0;
  }
  if (!printable(key)) std::abort();
  if (gencache::url_key(key, options) != key) std::abort();
  return 0;
}
