// Must NOT compile: a class described with private members picks the JSON codec, which
// can read public members only; the build says so in one static_assert.
#include <chrono>
#include <memory>
#include <string>

#include <boost/describe.hpp>

#include "gencache/cache.hpp"
#include "gencache/json_codec.hpp"
#include "gencache/memory_backend.hpp"

class Account {
 public:
  Account() = default;
  int id = 0;

 private:
  std::string secret_;
  BOOST_DESCRIBE_CLASS(Account, (), (id), (), (secret_))
};

int main() {
  gencache::Cache cache(std::make_shared<gencache::MemoryBackend>());
  cache.cached("k", gencache::ns("n"), std::chrono::minutes(1), [] { return Account{}; });
}
