#include "envelope.hpp"

#include <cstdint>
#include <limits>
#include <stdexcept>

#include <boost/crc.hpp>

namespace gencache::detail {
namespace {

template <class T>
void put_le(std::string& out, T value) {
  auto v = static_cast<std::uint64_t>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

template <class T>
T get_le(std::string_view in, std::size_t offset) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= std::uint64_t{static_cast<unsigned char>(in[offset + i])} << (8 * i);
  return static_cast<T>(v);
}

std::uint32_t crc_of(std::string_view header, std::string_view payload) {
  boost::crc_32_type crc;
  crc.process_bytes(header.data(), header.size());
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

}  // namespace

std::string encode_envelope(const Entry& entry) {
  if (entry.payload.size() > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("gencache: a value larger than 4 GiB cannot be cached");
  std::string out;
  out.reserve(envelope_header_size + entry.payload.size());
  out.append("GC");
  out.push_back(static_cast<char>(envelope_version));
  out.push_back(static_cast<char>(entry.kind));
  put_le<std::int64_t>(out, std::chrono::duration_cast<std::chrono::milliseconds>(
                                entry.created.time_since_epoch())
                                .count());
  put_le<std::int64_t>(out, entry.ttl.count());
  put_le<std::int64_t>(out, entry.compute_time.count());
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(entry.payload.size()));
  put_le<std::uint32_t>(out, crc_of(out, entry.payload));
  out.append(entry.payload);
  return out;
}

std::optional<Entry> decode_envelope(std::string_view bytes) {
  if (bytes.size() < envelope_header_size) return std::nullopt;
  if (bytes[0] != 'G' || bytes[1] != 'C') return std::nullopt;
  if (static_cast<unsigned char>(bytes[2]) != envelope_version) return std::nullopt;
  const auto kind = static_cast<unsigned char>(bytes[3]);
  if (kind > static_cast<unsigned char>(EntryKind::absent)) return std::nullopt;
  const auto length = get_le<std::uint32_t>(bytes, 28);
  if (length != bytes.size() - envelope_header_size) return std::nullopt;
  const std::string_view payload = bytes.substr(envelope_header_size);
  if (get_le<std::uint32_t>(bytes, 32) != crc_of(bytes.substr(0, 32), payload)) return std::nullopt;
  if (kind == static_cast<unsigned char>(EntryKind::absent) && length != 0) return std::nullopt;

  Entry entry;
  entry.kind = static_cast<EntryKind>(kind);
  entry.created = Clock::time_point(std::chrono::milliseconds(get_le<std::int64_t>(bytes, 4)));
  entry.ttl = std::chrono::milliseconds(get_le<std::int64_t>(bytes, 12));
  entry.compute_time = std::chrono::microseconds(get_le<std::int64_t>(bytes, 20));
  entry.payload.assign(payload);
  return entry;
}

}  // namespace gencache::detail
