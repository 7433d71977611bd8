// Must NOT compile: caching a type without a codec is a compile error that says so.
// ctest checks the compiler's message (see CMakeLists.txt here).
#include <chrono>
#include <memory>

#include "gencache/cache.hpp"
#include "gencache/memory_backend.hpp"

struct NoCodec {
  int x = 0;
};

int main() {
  gencache::Cache cache(std::make_shared<gencache::MemoryBackend>());
  cache.cached("k", gencache::ns("n"), std::chrono::minutes(1), [] { return NoCodec{}; });
}
