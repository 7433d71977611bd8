#include "gencache/backend.hpp"

#include <fmt/format.h>

#include "gencache/error.hpp"

namespace gencache {

void Backend::visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) {
  std::vector<std::optional<std::string>> values;
  get_many(keys, values);
  if (values.size() != keys.size())
    throw backend_error(errc::protocol, fmt::format("{}: get_many returned {} values for {} keys",
                                                    describe(), values.size(), keys.size()));
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (values[i]) visitor.found(i, *values[i]);
}

std::vector<CounterIncrement> Backend::increment_many(std::span<const std::string_view> keys,
                                                      std::uint64_t delta) {
  std::vector<CounterIncrement> results(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    try {
      results[i].value = increment(keys[i], delta);
    } catch (const backend_error&) {
      // The other counters may live on servers that answer: a bump of them still counts.
      results[i].failure = std::current_exception();
    }
  }
  return results;
}

std::vector<ServerStats> Backend::server_stats() {
  return {};
}

}  // namespace gencache
