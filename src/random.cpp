#include "random.hpp"

#include <random>

#include <openssl/rand.h>

namespace gencache::detail {

std::uint64_t fresh_generation() {
  std::uint64_t raw = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&raw), sizeof raw) != 1) {
    // libcrypto's generator failed (no entropy source); fall back to the OS's.
    std::random_device device;
    raw = (std::uint64_t{device()} << 32) ^ device();
  }
  return min_fresh_generation + raw % (max_fresh_generation - min_fresh_generation);
}

}  // namespace gencache::detail
