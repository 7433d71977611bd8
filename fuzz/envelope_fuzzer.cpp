// Value envelopes read back from a server are attacker-reachable bytes. Properties:
//   1. decode_envelope never crashes, reads out of bounds or hits undefined behaviour;
//   2. whatever decodes re-encodes to exactly the same bytes (one encoding per entry, so
//      nothing but a real envelope is ever accepted);
//   3. every entry the Cache could write round-trips through encode and decode.
// A fuzzer cannot guess a CRC, so each input is also decoded with its length and CRC
// fields set right: the header fields behind the checksum get fuzzed too.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/crc.hpp>

#include "envelope.hpp"

namespace {

using gencache::detail::decode_envelope;
using gencache::detail::encode_envelope;
using gencache::detail::Entry;
using gencache::detail::EntryKind;

void decoded_bytes_re_encode_identically(std::string_view bytes) {
  const auto entry = decode_envelope(bytes);
  if (!entry) return;
  if (encode_envelope(*entry) != bytes) __builtin_trap();
}

// `bytes` with the payload length (offset 28) and CRC (offset 32) fields made consistent.
std::string with_valid_checksum(std::string_view bytes) {
  std::string fixed(bytes);
  if (fixed.size() < gencache::detail::envelope_header_size) return fixed;
  auto put_u32 = [&](std::size_t offset, std::uint32_t value) {
    for (std::size_t i = 0; i < 4; ++i) fixed[offset + i] = static_cast<char>(value >> (8 * i));
  };
  put_u32(28, static_cast<std::uint32_t>(fixed.size() - gencache::detail::envelope_header_size));
  boost::crc_32_type crc;
  crc.process_bytes(fixed.data(), 32);
  crc.process_bytes(fixed.data() + 36, fixed.size() - 36);
  put_u32(32, crc.checksum());
  return fixed;
}

void built_entries_round_trip(FuzzedDataProvider& data) {
  Entry entry;
  entry.kind = data.ConsumeBool() ? EntryKind::absent : EntryKind::value;
  // Entries as the Cache writes them: whole milliseconds within about 139 years of 1970,
  // TTLs up to its 10^12 ms cap (with room for jitter), compute times it can measure.
  constexpr std::int64_t kRange = std::int64_t{1} << 42;
  const auto created_ms = data.ConsumeIntegralInRange<std::int64_t>(-kRange, kRange);
  entry.created = gencache::Clock::time_point(std::chrono::milliseconds(created_ms));
  entry.ttl = std::chrono::milliseconds(data.ConsumeIntegralInRange<std::int64_t>(0, kRange / 2));
  entry.compute_time =
      std::chrono::microseconds(data.ConsumeIntegralInRange<std::int64_t>(0, kRange / 2));
  if (entry.kind == EntryKind::value) entry.payload = data.ConsumeRemainingBytesAsString();

  const std::string bytes = encode_envelope(entry);
  const auto decoded = decode_envelope(bytes);
  if (!decoded || decoded->kind != entry.kind || decoded->payload != entry.payload ||
      decoded->created != entry.created || decoded->ttl != entry.ttl ||
      decoded->compute_time != entry.compute_time)
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  decoded_bytes_re_encode_identically(bytes);
  decoded_bytes_re_encode_identically(with_valid_checksum(bytes));
  FuzzedDataProvider provider(data, size);
  built_entries_round_trip(provider);
  return 0;
}
