// Meta responses are bytes a server (or anything posing as one) controls. Properties:
//   1. ResponseParser never crashes, reads out of bounds or hits undefined behaviour,
//      whatever the bytes and however they are split into pieces;
//   2. every step consumes only bytes it was given, and a response's views lie inside
//      the input it came from;
//   3. the responses do not depend on how the stream was split: read whole and read in
//      pieces, the same bytes give the same responses (or both are violations).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backends/memcached/meta/meta_response.hpp"

namespace {

using gencache::detail::meta::ProtocolViolation;
using gencache::detail::meta::ResponseParser;

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// Every response as "code|flags|value", or a trailing "violation".
std::vector<std::string> read_all(std::string_view stream, std::size_t piece) {
  ResponseParser parser;
  std::vector<std::string> out;
  std::string buffered;
  std::size_t fed = 0;
  try {
    while (true) {
      const auto step = parser.parse(buffered);
      if (step.consumed > buffered.size()) __builtin_trap();
      if (step.response) {
        if (!inside(step.response->flags, buffered) || !inside(step.response->value, buffered))
          __builtin_trap();
        out.push_back(std::to_string(static_cast<int>(step.response->code)) + "|" +
                      std::string(step.response->flags) + "|" + std::string(step.response->value));
        buffered.erase(0, step.consumed);
        continue;
      }
      if (step.consumed != 0) __builtin_trap();
      if (fed == stream.size()) break;
      const std::size_t more = std::min(piece, stream.size() - fed);
      buffered.append(stream.substr(fed, more));
      fed += more;
    }
  } catch (const ProtocolViolation&) {
    out.emplace_back("violation");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  const std::size_t piece = provider.ConsumeIntegralInRange<std::size_t>(1, 64);
  const std::string stream = provider.ConsumeRemainingBytesAsString();
  const auto whole = read_all(stream, stream.size() + 1);
  const auto pieces = read_all(stream, piece);
  if (whole != pieces) __builtin_trap();
  return 0;
}
