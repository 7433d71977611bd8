// Cache::etag: an HTTP validator that changes exactly when a namespace it depends on is
// bumped, read from the counters alone.
#include <openssl/evp.h>

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cache_core.hpp"
#include "gencache/cache.hpp"
#include "key_encoding.hpp"

namespace gencache {
namespace {

// 128 bits of SHA-256: collisions between the ETags of one URL are out of reach, and the
// header stays short.
constexpr unsigned kEtagDigestBytes = 16;

std::string quoted_digest(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("gencache: libcrypto could not compute SHA-256");
  std::string etag = "\"";
  for (unsigned i = 0; i < kEtagDigestBytes && i < length; ++i)
    etag += fmt::format("{:02x}", digest[i]);
  etag += '"';
  return etag;
}

}  // namespace

namespace detail {
std::string etag_of(std::string_view prefix, const NamespaceSet& namespaces,
                    std::span<const std::uint64_t> generations, std::string_view key) {
  // The versioned key is the entry's identity: the same in every process that shares the
  // backend and prefix, and different after any bump of its namespaces.
  return quoted_digest(versioned_key(prefix, namespaces, generations, key));
}
}  // namespace detail

std::string Cache::etag(std::string_view key, const NamespaceSet& namespaces) {
  std::vector<std::uint64_t> generations;
  try {
    generations = core_->generations(namespaces);
  } catch (const std::exception& e) {
    core_->report("generation", e);
    if (dynamic_cast<const backend_error*>(&e) != nullptr) throw;
    throw backend_error(detail::failure_code(e), e.what());
  }
  return detail::etag_of(core_->prefix(), namespaces, generations, key);
}

std::string Cache::etag(std::string_view key, const NamespaceSet& namespaces,
                        std::error_code& ec) noexcept {
  ec.clear();
  try {
    return etag(key, namespaces);
  } catch (const std::exception& e) {
    ec = detail::failure_code(e);
  } catch (...) {
    ec = errc::backend_unavailable;
  }
  return {};
}

}  // namespace gencache
