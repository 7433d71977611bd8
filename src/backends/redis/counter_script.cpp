#include "backends/redis/counter_script.hpp"

#include <openssl/evp.h>

#include <fmt/format.h>

namespace gencache::detail {

std::string script_sha1(std::string_view script) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(script.data(), script.size(), digest, &length, EVP_sha1(), nullptr) != 1)
    return {};
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace gencache::detail
