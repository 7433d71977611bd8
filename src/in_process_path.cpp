#include "in_process_path.hpp"

#include <algorithm>
#include <cstring>

#include "cache_core.hpp"
#include "key_encoding.hpp"

namespace gencache::detail {

namespace {

// The identity of an entry: LEB128 lengths before each part, so that it is injective.
//   count of namespaces, prefix, key, then each namespace's name in canonical order
// A handle is the identity followed by one 8-byte generation per namespace.
constexpr std::size_t length_size(std::size_t n) noexcept {
  std::size_t bytes = 1;
  for (; n >= 0x80; n >>= 7) ++bytes;
  return bytes;
}

char* write_length(char* out, std::size_t n) noexcept {
  for (; n >= 0x80; n >>= 7) *out++ = static_cast<char>((n & 0x7f) | 0x80);
  *out++ = static_cast<char>(n);
  return out;
}

char* write_part(char* out, std::string_view part) noexcept {
  out = write_length(out, part.size());
  if (!part.empty()) std::memcpy(out, part.data(), part.size());
  return out + part.size();
}

// Writes the identity at the start of `buffer`, growing it only when it is too short (a
// thread's scratch buffer keeps its size), and returns it. Inlined: it is most of a hit's
// own work, and GCC stops inlining it once it has a second caller.
[[gnu::always_inline]] inline std::string_view build_identity(std::string& buffer,
                                                              std::string_view prefix,
                                                              std::string_view key,
                                                              const NamespaceSet& namespaces) {
  const std::size_t n = namespaces.size();
  // Every length below 128 (the usual case) takes one byte: the size is a plain sum. The
  // lengths OR-ed together are below 128 exactly when each of them is.
  std::size_t size = 3 + prefix.size() + key.size() + n;
  std::size_t lengths_ored = n | prefix.size() | key.size();
  for (const Namespace& ns : namespaces) {
    size += ns.name().size();
    lengths_ored |= ns.name().size();
  }
  if (lengths_ored >= 0x80) {
    size = length_size(n) + length_size(prefix.size()) + prefix.size() + length_size(key.size()) +
           key.size();
    for (const Namespace& ns : namespaces) size += length_size(ns.name().size()) + ns.name().size();
  }
  if (buffer.size() < size) buffer.resize(std::max(size, 2 * buffer.size()));
  char* at = write_length(buffer.data(), n);
  at = write_part(at, prefix);
  at = write_part(at, key);
  for (const Namespace& ns : namespaces) at = write_part(at, ns.name());
  return {buffer.data(), size};
}

void append_generations(std::string& out, std::span<const std::uint64_t> generations) {
  const std::size_t at = out.size();
  out.resize(at + generations.size() * sizeof(std::uint64_t));
  if (!generations.empty())
    std::memcpy(out.data() + at, generations.data(), generations.size() * sizeof(std::uint64_t));
}

// Reads what write_length wrote; false on a malformed handle.
bool read_length(std::string_view& in, std::size_t& n) {
  n = 0;
  for (unsigned shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    n |= static_cast<std::size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool read_part(std::string_view& in, std::string_view& part) {
  std::size_t n = 0;
  if (!read_length(in, n) || n > in.size()) return false;
  part = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

/// A handle taken apart: the identity, the namespaces' names and their generations.
struct ParsedHandle {
  std::string_view identity;
  std::vector<std::string_view> names;
  std::vector<std::uint64_t> generations;
};

bool parse_handle(std::string_view handle, ParsedHandle& out) {
  std::string_view in = handle;
  std::size_t count = 0;
  std::string_view part;
  if (!read_length(in, count) || !read_part(in, part) || !read_part(in, part)) return false;
  out.names.clear();
  for (std::size_t i = 0; i < count; ++i) {
    if (!read_part(in, part)) return false;
    out.names.push_back(part);
  }
  if (in.size() != count * sizeof(std::uint64_t)) return false;
  out.identity = handle.substr(0, handle.size() - in.size());
  out.generations.resize(count);
  if (count != 0) std::memcpy(out.generations.data(), in.data(), in.size());
  return true;
}

// Per-thread working storage, so a steady-state hit allocates only the value it returns
// and its handle.
struct PathScratch {
  std::string identity;
  std::vector<std::uint64_t> generations;
  std::vector<std::uint64_t> found;
  std::vector<std::string> counter_keys;
  ParsedHandle parsed;
};

PathScratch& scratch() {
  static thread_local PathScratch s;
  return s;
}

}  // namespace

std::unique_ptr<InProcessPath> InProcessPath::for_backend(Backend& backend, std::string prefix,
                                                          std::chrono::milliseconds counter_ttl) {
  auto* memory = dynamic_cast<MemoryBackend*>(&backend);
  if (memory == nullptr) return nullptr;
  return std::make_unique<InProcessPath>(*memory, std::move(prefix), counter_ttl);
}

InProcessPath::InProcessPath(MemoryBackend& backend, std::string prefix,
                             std::chrono::milliseconds counter_ttl)
    : store_(backend), prefix_(std::move(prefix)), counter_ttl_(counter_ttl) {}

std::uint64_t InProcessPath::current_generation(const Namespace& ns, StripedStats& stats) {
  std::string key;
  build_counter_key(key, prefix_, ns);
  CounterState state = CounterState::existed;
  const std::uint64_t generation = store_.generation(key, counter_ttl_, state);
  if (state != CounterState::existed) stats.add(StripedStats::counter_recreations);
  if (state == CounterState::repaired) stats.add(StripedStats::corrupt);
  return generation;
}

void InProcessPath::resolve(const NamespaceSet& namespaces, StripedStats& stats) {
  PathScratch& s = scratch();
  const std::size_t n = namespaces.size();
  // Read before any value is computed: the caller stores under exactly these.
  s.generations.resize(n);
  for (std::size_t i = 0; i < n; ++i) s.generations[i] = current_generation(namespaces[i], stats);
}

void InProcessPath::read_key(std::string_view key, const NamespaceSet& namespaces, bool fetch_entry,
                             std::string& handle, std::optional<Entry>& entry, bool& resolved,
                             StripedStats& stats) {
  // A nested read (from an error hook) would share the scratch: this path calls none.
  PathScratch& s = scratch();
  const std::string_view identity = build_identity(s.identity, prefix_, key, namespaces);
  if (fetch_entry) {
    if (!entry) entry.emplace();
    s.found.resize(namespaces.size());
    // A hit leaves its handle empty: only a refresh needs it (see complete_read()).
    if (store_.find(identity, s.found, *entry)) {
      handle.clear();
      return;
    }
    entry.reset();
  }
  if (!resolved) resolve(namespaces, stats);
  resolved = true;
  handle.reserve(identity.size() + s.generations.size() * sizeof(std::uint64_t));
  handle.assign(identity);
  append_generations(handle, s.generations);
}

void InProcessPath::read(std::span<const std::string_view> keys, const NamespaceSet& namespaces,
                         bool fetch_entries, std::span<std::string> handles,
                         std::span<std::optional<Entry>> entries,
                         std::span<std::uint64_t> generations, StripedStats& stats) {
  bool resolved = false;  // the scratch holds the namespaces' current generations
  for (std::size_t k = 0; k < keys.size(); ++k)
    read_key(keys[k], namespaces, fetch_entries, handles[k], entries[k], resolved, stats);
  if (!generations.empty()) {
    if (!resolved) resolve(namespaces, stats);
    const PathScratch& s = scratch();
    std::copy(s.generations.begin(), s.generations.end(), generations.begin());
  }
}

void InProcessPath::read_one(std::string_view key, const NamespaceSet& namespaces, bool fetch_entry,
                             std::string& handle, std::optional<Entry>& entry,
                             StripedStats& stats) {
  bool resolved = false;
  read_key(key, namespaces, fetch_entry, handle, entry, resolved, stats);
}

bool InProcessPath::find_current(std::string_view key, const NamespaceSet& namespaces,
                                 const CoarseNow& coarse, EntryFields& fields,
                                 std::string& payload) {
  PathScratch& s = scratch();
  return store_.find(build_identity(s.identity, prefix_, key, namespaces), namespaces.size(),
                     coarse, fields, payload);
}

bool InProcessPath::write(std::string_view handle, const EntryFields& fields,
                          std::string_view payload, std::chrono::milliseconds storage_ttl) {
  PathScratch& s = scratch();
  if (!parse_handle(handle, s.parsed)) return false;
  const std::size_t n = s.parsed.names.size();
  if (s.counter_keys.size() < n) s.counter_keys.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    build_counter_key(s.counter_keys[i], prefix_, Namespace(std::string(s.parsed.names[i])));
  return store_.store(s.parsed.identity, std::span(s.counter_keys.data(), n), s.parsed.generations,
                      fields, payload, storage_ttl);
}

std::string InProcessPath::identity(std::string_view prefix, std::string_view key,
                                    const NamespaceSet& namespaces) {
  std::string out;
  out.resize(build_identity(out, prefix, key, namespaces).size());
  return out;
}

std::optional<Entry> InProcessPath::find(std::string_view handle) {
  PathScratch& s = scratch();
  if (!parse_handle(handle, s.parsed)) return std::nullopt;
  s.found.resize(s.parsed.generations.size());
  Entry entry;
  if (!store_.find(s.parsed.identity, s.found, entry) || s.found != s.parsed.generations)
    return std::nullopt;
  return entry;
}

}  // namespace gencache::detail
