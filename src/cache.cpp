#include "cache_core.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "bump_outbox.hpp"
#include "circuit_breaker.hpp"
#include "envelope.hpp"
#include "key_encoding.hpp"
#include "random.hpp"

namespace gencache {
namespace detail {

// ---- stats -------------------------------------------------------------------------

namespace {
std::size_t this_thread_stripe() noexcept {
  static thread_local const std::size_t stripe =
      std::hash<std::thread::id>{}(std::this_thread::get_id());
  return stripe;
}
}  // namespace

void StripedStats::add(Field field, std::uint64_t n) noexcept {
  stripes_[this_thread_stripe() % kStripes].values[field].fetch_add(n, std::memory_order_relaxed);
}

Stats StripedStats::snapshot() const noexcept {
  std::array<std::uint64_t, field_count> sum{};
  for (const Stripe& stripe : stripes_)
    for (std::size_t f = 0; f < field_count; ++f)
      sum[f] += stripe.values[f].load(std::memory_order_relaxed);
  Stats s;
  s.hits = sum[hits];
  s.misses = sum[misses];
  s.sets = sum[sets];
  s.bumps = sum[bumps];
  s.errors = sum[errors];
  s.corrupt = sum[corrupt];
  s.counter_recreations = sum[counter_recreations];
  s.oversized = sum[oversized];
  s.computes = sum[computes];
  s.round_trips = sum[round_trips];
  s.stale_served = sum[stale_served];
  s.early_refreshes = sum[early_refreshes];
  s.coalesced = sum[coalesced];
  s.lease_waits = sum[lease_waits];
  s.breaker_opens = sum[breaker_opens];
  s.breaker_closes = sum[breaker_closes];
  s.breaker_rejections = sum[breaker_rejections];
  s.outbox_retried = sum[outbox_retried];
  s.outbox_overflows = sum[outbox_overflows];
  return s;
}

// ---- core --------------------------------------------------------------------------

CacheCore::CacheCore(std::shared_ptr<Backend> backend, CacheOptions options)
    : user_backend_(std::move(backend)),
      backend_(user_backend_),
      prefix_(std::move(options.prefix)),
      hash_tags_(user_backend_ != nullptr && user_backend_->wants_hash_tags()),
      clock_(options.clock ? std::move(options.clock) : system_clock()),
      counter_ttl_(options.counter_ttl),
      hints_(options.generation_hints),
      call_defaults_(std::move(options.call)),
      hook_(std::move(options.on_error)) {
  if (!user_backend_) throw std::invalid_argument("gencache::Cache: the backend must not be null");
  if (counter_ttl_.count() < 0)
    throw std::invalid_argument("gencache::Cache: counter_ttl must not be negative");
  validate_prefix(prefix_);
  const CallOptions& c = call_defaults_;
  if (c.early_refresh_beta < 0 || c.ttl_jitter < 0 || c.ttl_jitter >= 1 ||
      c.lease_ttl.count() <= 0 || c.lease_wait.count() < 0 ||
      c.stale_while_revalidate.count() < 0 || c.stale_if_error.count() < 0 ||
      (c.absent_ttl && c.absent_ttl->count() <= 0))
    throw std::invalid_argument(
        "gencache::CallOptions: early_refresh_beta >= 0, 0 <= ttl_jitter < 1, lease_ttl > 0, and "
        "lease_wait, stale_while_revalidate, stale_if_error >= 0, absent_ttl > 0 are required");
  if (options.breaker.failure_threshold > 0) {
    if (options.breaker.cooldown.count() <= 0)
      throw std::invalid_argument("gencache::BreakerOptions: cooldown must be positive");
    backend_ = std::make_shared<CircuitBreaker>(user_backend_, options.breaker, clock_, stats_);
  }
  if (options.outbox.enabled) {
    const OutboxOptions& o = options.outbox;
    if (o.capacity == 0 || o.initial_backoff.count() <= 0 || o.max_backoff < o.initial_backoff)
      throw std::invalid_argument(
          "gencache::OutboxOptions: capacity > 0 and 0 < initial_backoff <= max_backoff are "
          "required");
    outbox_ = std::make_unique<BumpOutbox>(
        o, [this](const Namespace& ns) { bump(ns); },
        [this](const std::exception& e) { report("bump", e); }, stats_);
  }
}

CacheCore::~CacheCore() = default;

bool CacheCore::queue_failed_bump(const Namespace& ns) {
  if (!outbox_) return false;
  outbox_->enqueue(ns);
  return true;
}

bool CacheCore::flush_outbox(std::chrono::milliseconds timeout) {
  return !outbox_ || outbox_->flush(timeout);
}

std::size_t CacheCore::outbox_pending() const {
  return outbox_ ? outbox_->pending() : 0;
}

void CacheCore::report(std::string_view operation, const std::exception& failure) noexcept {
  // Calls the open breaker turned away are counted as rejections, not as new failures.
  if (const auto* be = dynamic_cast<const backend_error*>(&failure);
      be && be->code() == errc::circuit_open)
    return;
  stats_.add(StripedStats::errors);
  try {
    ErrorEvent event;
    event.operation = operation;
    if (const auto* be = dynamic_cast<const backend_error*>(&failure)) {
      event.code = be->code();
    } else {
      event.code = errc::backend_unavailable;
    }
    event.message = failure.what();
    std::shared_lock lock(hook_mutex_);
    if (hook_) hook_(event);
  } catch (...) {
    // A throwing hook must not turn a fail-open path into a failure.
  }
}

void CacheCore::set_hook(ErrorHook hook) {
  std::unique_lock lock(hook_mutex_);
  hook_ = std::move(hook);
}

namespace {

// One backend round trip into `values`. It is handed over empty (only its capacity is
// reused): a backend that sets just the keys it found must not leave another read's
// values in place.
void fetch_into(Backend& backend, StripedStats& stats, std::span<const std::string_view> keys,
                std::vector<std::optional<std::string>>& values) {
  values.clear();
  stats.add(StripedStats::round_trips);
  backend.get_many(keys, values);
  if (values.size() != keys.size())
    throw backend_error(errc::protocol,
                        fmt::format("{}: get_many returned {} values for {} keys",
                                    backend.describe(), values.size(), keys.size()));
}

// What one read's visit_many lends: the counters (keys [0, n)) parsed in place, the
// entries (keys [n, n + count)) decoded in place, so the payload is the only copy made.
// A counter as one read saw it: absent, a generation, or present but not a number
// (poisoned).
struct CounterSlot {
  bool found = false;
  std::optional<std::uint64_t> value;
};

class ReadVisitor final : public ValueVisitor {
 public:
  ReadVisitor(std::span<CounterSlot> counters, std::span<std::optional<Entry>> entries) noexcept
      : counters_(counters), entries_(entries) {}

  void found(std::size_t index, std::string_view value) noexcept override {
    if (index < counters_.size()) {
      counters_[index] = {.found = true, .value = parse_counter_text(value)};
      return;
    }
    index -= counters_.size();
    if (index >= entries_.size()) return;
    try {
      entries_[index] = decode_envelope(value);
      if (!entries_[index]) ++corrupt_;
    } catch (...) {  // only std::bad_alloc
      entries_[index].reset();
      failed_ = true;
    }
  }

  std::size_t corrupt() const noexcept { return corrupt_; }
  bool failed() const noexcept { return failed_; }

 private:
  std::span<CounterSlot> counters_;
  std::span<std::optional<Entry>> entries_;
  std::size_t corrupt_ = 0;
  bool failed_ = false;
};

// The working storage of one read, kept per thread so that a steady-state read does not
// allocate it anew. A nested read on the same thread (from the error hook) gets fresh
// storage instead.
struct ReadScratch {
  std::vector<std::string> counter_keys;
  std::vector<std::string_view> keys;
  std::vector<std::uint64_t> generations;
  std::vector<CounterSlot> counters;
  std::string head;
  std::string counter_prefix;  // hash-tagged prefixes, when the backend wants them
  std::string entry_prefix;
  bool in_use = false;

  // Only the capacity of ordinary reads is kept.
  void release() noexcept {
    constexpr std::size_t kKeepKeys = 256;
    if (counter_keys.size() > kKeepKeys) {
      counter_keys.clear();
      counter_keys.shrink_to_fit();
    }
    keys.clear();
    if (keys.capacity() > kKeepKeys) keys.shrink_to_fit();
  }
};

class ScratchLease {
 public:
  ScratchLease() {
    static thread_local ReadScratch shared;
    if (!shared.in_use) {
      scratch_ = &shared;
      shared.in_use = true;
    } else {
      owned_ = std::make_unique<ReadScratch>();
      scratch_ = owned_.get();
    }
  }
  ~ScratchLease() {
    if (owned_) return;
    scratch_->release();
    scratch_->in_use = false;
  }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  ReadScratch* operator->() const noexcept { return scratch_; }

 private:
  ReadScratch* scratch_ = nullptr;
  std::unique_ptr<ReadScratch> owned_;
};

}  // namespace

std::string_view CacheCore::key_prefix(const Namespace& ns, std::string& buffer) const {
  if (!hash_tags_) return prefix_;
  build_hash_tagged_prefix(buffer, prefix_, ns);
  return buffer;
}

std::vector<std::optional<std::string>> CacheCore::fetch(std::span<const std::string_view> keys) {
  std::vector<std::optional<std::string>> values;
  fetch_into(*backend_, stats_, keys, values);
  return values;
}

std::optional<std::uint64_t> parse_counter_text(std::string_view text) noexcept {
  // Memcached pads a counter that shrank in width with trailing spaces.
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  std::uint64_t value = 0;
  if (!text.empty() && text.size() <= 19) {
    // Every read parses its counters: up to 19 digits cannot overflow, so no check per digit.
    for (const char c : text) {
      const auto digit = static_cast<unsigned>(static_cast<unsigned char>(c) - '0');
      if (digit > 9) return std::nullopt;
      value = value * 10 + digit;
    }
    return value;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::uint64_t> CacheCore::parse_counter(const std::string& counter_key,
                                                      const std::optional<std::string>& raw) {
  if (!raw) return std::nullopt;
  if (auto value = parse_counter_text(*raw)) return value;
  throw_poisoned_counter(counter_key);
}

// A counter holding anything but a number cannot say which generation is current. It is
// replaced by a fresh value, never used before, which invalidates its namespace as a bump
// would; the read that found it fails open (its caller computes and nothing is stored), so
// no value is ever stored under a generation this read did not see as current.
void CacheCore::throw_poisoned_counter(const std::string& counter_key) {
  stats_.add(StripedStats::corrupt);
  std::string repair = "not replaced";
  try {
    char digits[20];
    const auto end = std::to_chars(digits, digits + sizeof digits, fresh_generation()).ptr;
    stats_.add(StripedStats::round_trips);
    backend_->set(counter_key, std::string_view(digits, static_cast<std::size_t>(end - digits)),
                  counter_ttl_);
    stats_.add(StripedStats::counter_recreations);
    repair = "replaced by a fresh generation";
  } catch (const std::exception& e) {
    repair = fmt::format("not replaced: {}", e.what());
  }
  throw backend_error(errc::corrupt_value,
                      fmt::format("{}: the generation counter {} held non-numeric bytes ({})",
                                  backend_->describe(), counter_key, repair));
}

// A lost or never-created counter starts at a fresh random value, never a used one; when
// another process wins the race to create it, its value is read back and used.
std::uint64_t CacheCore::ensure_counter(const std::string& counter_key) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::uint64_t initial = fresh_generation();
    stats_.add(StripedStats::round_trips);
    if (backend_->create_counter(counter_key, initial, counter_ttl_)) {
      stats_.add(StripedStats::counter_recreations);
      return initial;
    }
    const std::string_view key = counter_key;
    auto values = fetch(std::span(&key, 1));
    if (auto winner = parse_counter(counter_key, values[0])) return *winner;
    // Created and evicted again between our add and get: try once more.
  }
  throw backend_error(errc::protocol, fmt::format("{}: generation counter {} could not be created",
                                                  backend_->describe(), counter_key));
}

bool CacheCore::read_into(std::span<const std::string_view> user_keys,
                          const NamespaceSet& namespaces, bool fetch_entries,
                          std::span<std::string> versioned_keys,
                          std::span<std::optional<Entry>> entries, std::error_code& error) {
  error.clear();
  try {
    const std::size_t n = namespaces.size();
    const std::size_t count = user_keys.size();
    ScratchLease scratch;
    std::vector<std::string>& counter_keys = scratch->counter_keys;
    if (counter_keys.size() < n) counter_keys.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      build_counter_key(counter_keys[i], key_prefix(namespaces[i], scratch->counter_prefix),
                        namespaces[i]);
    const std::string_view entry_prefix = this->entry_prefix(namespaces, scratch->entry_prefix);

    std::vector<std::string_view>& keys = scratch->keys;
    keys.assign(counter_keys.begin(), counter_keys.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<std::uint64_t>& generations = scratch->generations;
    generations.assign(n, 0);
    bool all_hinted = true;
    for (std::size_t i = 0; i < n && all_hinted; ++i) {
      auto hint = hints_.find(counter_keys[i]);
      if (hint)
        generations[i] = *hint;
      else
        all_hinted = false;
    }

    // Steady state: the counters and the entries at the hinted generations, in one round
    // trip. The answer stands only if every counter read matches its hint.
    const bool speculate = all_hinted && (fetch_entries || n == 0);
    // The namespaces-and-generations head of the versioned keys is built once per read.
    std::string& head = scratch->head;
    auto build_keys = [&] {
      if (count == 1) {
        build_versioned_key(versioned_keys[0], entry_prefix, namespaces, generations, user_keys[0]);
        return;
      }
      build_versioned_head(head, entry_prefix, namespaces, generations);
      for (std::size_t k = 0; k < count; ++k)
        finish_versioned_key(versioned_keys[k], head, entry_prefix, user_keys[k]);
    };
    if (speculate) {
      build_keys();
      if (fetch_entries) keys.insert(keys.end(), versioned_keys.begin(), versioned_keys.end());
    }
    std::vector<CounterSlot>& counters = scratch->counters;
    counters.assign(n, CounterSlot{});
    std::size_t corrupt = 0;
    // One round trip: `keys` holds the counters in `counter_slots` (if any), then the
    // entries that go to `into`.
    auto visit = [&](std::span<CounterSlot> counter_slots, std::span<std::optional<Entry>> into) {
      for (auto& entry : into) entry.reset();
      ReadVisitor visitor(counter_slots, into);
      stats_.add(StripedStats::round_trips);
      backend_->visit_many(keys, visitor);
      if (visitor.failed()) throw std::bad_alloc();
      corrupt += visitor.corrupt();
    };
    if (!keys.empty())
      visit(counters, speculate && fetch_entries ? entries : std::span<std::optional<Entry>>());

    bool hints_confirmed = all_hinted;
    for (std::size_t i = 0; i < n; ++i) {
      if (counters[i].found && !counters[i].value) throw_poisoned_counter(counter_keys[i]);
      std::optional<std::uint64_t> current = counters[i].value;
      if (!current) current = ensure_counter(counter_keys[i]);
      if (*current != generations[i]) hints_confirmed = false;
      generations[i] = *current;
      if (!all_hinted || !hints_confirmed) hints_.remember(counter_keys[i], *current);
    }

    if (!(hints_confirmed && speculate)) {
      // Cold start or right after a bump: the keys at the generations just read, fetched
      // in a second round trip.
      build_keys();
      keys.assign(versioned_keys.begin(), versioned_keys.end());
      if (fetch_entries && !keys.empty()) {
        visit({}, entries);
      } else {
        for (auto& entry : entries) entry.reset();
      }
    }
    if (corrupt != 0) stats_.add(StripedStats::corrupt, corrupt);
    return true;
  } catch (const std::exception& e) {
    report("read", e);
    const auto* be = dynamic_cast<const backend_error*>(&e);
    error = be != nullptr ? be->code() : make_error_code(errc::backend_unavailable);
    for (auto& entry : entries) entry.reset();
    return false;
  }
}

ReadBatch CacheCore::read_batch(std::span<const std::string_view> user_keys,
                                const NamespaceSet& namespaces, bool fetch_entries) {
  ReadBatch batch;
  batch.versioned_keys.resize(user_keys.size());
  batch.entries.resize(user_keys.size());
  batch.backend_ok = read_into(user_keys, namespaces, fetch_entries, batch.versioned_keys,
                               batch.entries, batch.error);
  if (!batch.backend_ok) batch.versioned_keys.clear();
  return batch;
}

ReadResult CacheCore::read(std::string_view key, const NamespaceSet& namespaces, bool fetch_entry) {
  ReadResult result;
  result.backend_ok =
      read_into(std::span(&key, 1), namespaces, fetch_entry, std::span(&result.versioned_key, 1),
                std::span(&result.entry, 1), result.error);
  if (!result.backend_ok) result.versioned_key.clear();
  return result;
}

void CacheCore::write(const ReadResult& read, EntryKind kind, std::string_view payload,
                      std::chrono::milliseconds ttl, std::chrono::milliseconds storage_ttl,
                      std::chrono::microseconds compute_time) {
  if (!read.backend_ok) return;
  try {
    Entry entry;
    entry.kind = kind;
    entry.payload.assign(payload);
    entry.created = clock_->now();
    entry.ttl = ttl;
    entry.compute_time = compute_time;
    const std::string bytes = encode_envelope(entry);
    if (bytes.size() > backend_->max_value_size()) {
      throw backend_error(errc::value_too_large,
                          fmt::format("{}: entry {} not cached: {} bytes exceed the limit of {}",
                                      backend_->describe(), read.versioned_key, bytes.size(),
                                      backend_->max_value_size()));
    }
    stats_.add(StripedStats::round_trips);
    backend_->set(read.versioned_key, bytes, std::max(ttl, storage_ttl));
    stats_.add(StripedStats::sets);
  } catch (const backend_error& e) {
    // Too large for us or for the server: the caller still gets the computed value.
    if (e.code() == errc::value_too_large) stats_.add(StripedStats::oversized);
    report("write", e);
  } catch (const std::exception& e) {
    report("write", e);
  }
}

std::uint64_t CacheCore::bump(const Namespace& ns) {
  std::string tagged;
  const std::string key = counter_key(key_prefix(ns, tagged), ns);
  std::optional<std::uint64_t> generation;
  // A counter can vanish between our calls (eviction, restart); each attempt either
  // increments it or re-creates it at a fresh value, which invalidates just as well.
  for (int attempt = 0; attempt < 3 && !generation; ++attempt) {
    stats_.add(StripedStats::round_trips);
    generation = backend_->increment(key, 1);
    if (generation) break;
    const std::uint64_t initial = fresh_generation();
    stats_.add(StripedStats::round_trips);
    if (backend_->create_counter(key, initial, counter_ttl_)) {
      stats_.add(StripedStats::counter_recreations);
      generation = initial;
    }
    // Otherwise someone else created it first: increment theirs on the next attempt.
  }
  if (!generation)
    throw backend_error(errc::protocol,
                        fmt::format("{}: generation counter {} kept vanishing during a bump",
                                    backend_->describe(), key));
  hints_.remember(key, *generation);
  stats_.add(StripedStats::bumps);
  return *generation;
}

std::uint64_t CacheCore::generation(const Namespace& ns) {
  std::string tagged;
  const std::string key = counter_key(key_prefix(ns, tagged), ns);
  const std::string_view view = key;
  auto values = fetch(std::span(&view, 1));
  std::optional<std::uint64_t> current = parse_counter(key, values[0]);
  if (!current) current = ensure_counter(key);
  hints_.remember(key, *current);
  return *current;
}

// ---- detail/core.hpp entry points ----------------------------------------------------

ReadResult read_entry(CacheCore& core, std::string_view key, const NamespaceSet& namespaces) {
  return core.read(key, namespaces, true);
}

ReadBatch read_entries(CacheCore& core, std::span<const std::string_view> keys,
                       const NamespaceSet& namespaces) {
  return core.read_batch(keys, namespaces, true);
}

ReadResult resolve_key(CacheCore& core, std::string_view key, const NamespaceSet& namespaces) {
  return core.read(key, namespaces, false);
}

void write_entry(CacheCore& core, const ReadResult& read, EntryKind kind, std::string_view payload,
                 std::chrono::milliseconds ttl, std::chrono::milliseconds storage_ttl,
                 std::chrono::microseconds compute_time) {
  core.write(read, kind, payload, ttl, storage_ttl, compute_time);
}

void count(CacheCore& core, Event event) noexcept {
  // The stats field of each Event, in the Event's order.
  static constexpr StripedStats::Field kFields[] = {
      StripedStats::hits,      StripedStats::misses,       StripedStats::corrupt,
      StripedStats::computes,  StripedStats::stale_served, StripedStats::early_refreshes,
      StripedStats::coalesced, StripedStats::lease_waits};
  static_assert(std::size(kFields) == static_cast<std::size_t>(Event::lease_wait) + 1,
                "one stats field per Event");
  core.stats().add(kFields[static_cast<std::size_t>(event)]);
}

Clock::time_point now(const CacheCore& core) noexcept {
  return core.clock().now();
}

// ---- single-flight ----

FlightTicket CacheCore::flight(const std::string& key, bool join_running) {
  FlightShard& shard = flights_[std::hash<std::string>{}(key) % flights_.size()];
  std::lock_guard lock(shard.mutex);
  auto [it, inserted] = shard.running.try_emplace(key);
  if (inserted) {
    it->second = std::make_shared<Flight>();
    return {it->second, true};
  }
  if (!join_running) return {};
  return {it->second, false};
}

void CacheCore::retire(const std::string& key, const std::shared_ptr<Flight>& flight) {
  FlightShard& shard = flights_[std::hash<std::string>{}(key) % flights_.size()];
  std::lock_guard lock(shard.mutex);
  auto it = shard.running.find(key);
  if (it != shard.running.end() && it->second == flight) shard.running.erase(it);
}

FlightTicket join_flight(CacheCore& core, const std::string& key) {
  return core.flight(key, true);
}

FlightTicket try_lead(CacheCore& core, const std::string& key) {
  return core.flight(key, false);
}

void finish_flight(CacheCore& core, const std::string& key, const std::shared_ptr<Flight>& flight,
                   std::shared_ptr<const void> value, const std::type_info* type,
                   std::exception_ptr error) {
  // Retire first: a caller arriving from now on starts a new flight and reads the backend,
  // where the value already is.
  core.retire(key, flight);
  {
    std::lock_guard lock(flight->mutex);
    flight->value = std::move(value);
    flight->type = type;
    flight->error = std::move(error);
    flight->done = true;
  }
  flight->finished.notify_all();
}

std::shared_ptr<const void> wait_flight(Flight& flight, const std::type_info& type) {
  std::unique_lock lock(flight.mutex);
  flight.finished.wait(lock, [&] { return flight.done; });
  if (flight.error) std::rethrow_exception(flight.error);
  if (flight.type == nullptr || *flight.type != type) return nullptr;
  return flight.value;
}

// ---- leases ----

namespace {
std::string lease_key_for(const std::string& prefix, const std::string& versioned) {
  return prefix + "gc1:l:" + sha256_hex(versioned);
}
}  // namespace

Lease CacheCore::acquire_lease(const ReadResult& read, std::chrono::milliseconds ttl) {
  try {
    stats_.add(StripedStats::round_trips);
    return backend_->add(lease_key_for(prefix_, read.versioned_key), "1", ttl)
               ? Lease::acquired
               : Lease::held_elsewhere;
  } catch (const std::exception& e) {
    report("lease", e);
    return Lease::unavailable;
  }
}

void CacheCore::release_lease(const ReadResult& read) noexcept {
  try {
    stats_.add(StripedStats::round_trips);
    backend_->remove(lease_key_for(prefix_, read.versioned_key));
  } catch (const std::exception& e) {
    report("lease", e);  // it expires by itself after lease_ttl
  }
}

std::optional<Entry> CacheCore::poll(const ReadResult& read, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  auto backoff = std::chrono::milliseconds(1);
  const std::string_view key = read.versioned_key;
  while (true) {
    const auto remaining = deadline - std::chrono::steady_clock::now();
    if (remaining <= remaining.zero()) return std::nullopt;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(backoff, remaining));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
    try {
      auto values = fetch(std::span(&key, 1));
      if (values[0]) {
        if (auto entry = decode_envelope(*values[0])) return entry;
      }
    } catch (const std::exception& e) {
      report("read", e);
      return std::nullopt;
    }
  }
}

Lease acquire_lease(CacheCore& core, const ReadResult& read, std::chrono::milliseconds ttl) {
  return core.acquire_lease(read, ttl);
}

void release_lease(CacheCore& core, const ReadResult& read) noexcept {
  core.release_lease(read);
}

std::optional<Entry> poll_for_entry(CacheCore& core, const ReadResult& read,
                                    std::chrono::milliseconds wait) {
  return core.poll(read, wait);
}

// ---- freshness ----

namespace {
double uniform_open01() {
  static thread_local std::mt19937_64 rng(fresh_generation());
  // (0, 1]: never 0, so log() is finite.
  return (static_cast<double>(rng() >> 11) + 1.0) * 0x1.0p-53;
}
}  // namespace

bool refresh_early(const Entry& entry, Clock::time_point now, double beta) {
  if (beta <= 0 || entry.compute_time.count() <= 0) return false;
  const double delta_us = static_cast<double>(entry.compute_time.count());
  // -log(u) for u in (0, 1] drawn as below is at most 53 ln 2 < 37: when even that head
  // start cannot reach the expiry, the draw cannot either, and is skipped (the usual case:
  // a hit far from its expiry, on every read).
  const auto expiry = entry.created + entry.ttl;
  const double most_us = delta_us * beta * 37.0;
  if (most_us < 1e15 &&
      now + std::chrono::microseconds(static_cast<std::int64_t>(most_us)) < expiry)
    return false;
  const auto head_start = std::chrono::microseconds(
      static_cast<std::int64_t>(-delta_us * beta * std::log(uniform_open01())));
  return now + head_start >= entry.created + entry.ttl;
}

std::chrono::milliseconds jittered(std::chrono::milliseconds ttl, double jitter) {
  if (jitter <= 0) return ttl;
  const double factor = 1.0 + jitter * (2.0 * uniform_open01() - 1.0);
  return std::max(std::chrono::milliseconds(1), std::chrono::milliseconds(static_cast<std::int64_t>(
                                                    static_cast<double>(ttl.count()) * factor)));
}

std::chrono::milliseconds checked_ttl(std::chrono::nanoseconds ttl) {
  if (ttl <= ttl.zero())
    throw std::invalid_argument(
        fmt::format("gencache: a TTL must be positive, got {} ns", ttl.count()));
  return std::chrono::ceil<std::chrono::milliseconds>(ttl);
}

}  // namespace detail

// ---- Cache -------------------------------------------------------------------------

Cache::Cache(std::shared_ptr<Backend> backend, CacheOptions options)
    : core_(std::make_shared<detail::CacheCore>(std::move(backend), std::move(options))) {}

std::uint64_t Cache::bump_namespace(const Namespace& ns) {
  try {
    return core_->bump(ns);
  } catch (const backend_error& e) {
    core_->report("bump", e);
    core_->queue_failed_bump(ns);
    throw;
  } catch (const std::exception& e) {
    core_->report("bump", e);
    core_->queue_failed_bump(ns);
    throw backend_error(errc::backend_unavailable, e.what());
  }
}

bool Cache::flush_pending_bumps(std::chrono::milliseconds timeout) {
  return core_->flush_outbox(timeout);
}

std::uint64_t Cache::bump_namespace(const Namespace& ns, std::error_code& ec) noexcept {
  ec.clear();
  try {
    return bump_namespace(ns);
  } catch (const backend_error& e) {
    ec = e.code();
  } catch (...) {
    ec = errc::backend_unavailable;
  }
  return 0;
}

std::uint64_t Cache::generation(const Namespace& ns) {
  try {
    return core_->generation(ns);
  } catch (const backend_error& e) {
    core_->report("generation", e);
    throw;
  } catch (const std::exception& e) {
    core_->report("generation", e);
    throw backend_error(errc::backend_unavailable, e.what());
  }
}

Stats Cache::stats() const {
  Stats s = core_->stats().snapshot();
  s.outbox_pending = core_->outbox_pending();
  return s;
}

const CallOptions& Cache::call_defaults() const noexcept {
  return core_->call_defaults();
}

void Cache::set_error_hook(ErrorHook hook) {
  core_->set_hook(std::move(hook));
}

Backend& Cache::backend() const noexcept {
  return core_->backend();
}

std::string Cache::versioned_key(std::string_view key, const NamespaceSet& namespaces,
                                 std::span<const std::uint64_t> generations) const {
  std::string tagged;
  return detail::versioned_key(core_->entry_prefix(namespaces, tagged), namespaces, generations,
                               key);
}

Cache Cache::from_env(CacheOptions options) {
  const char* url = std::getenv("GENCACHE_URL");
  return from_url(url && *url ? std::string_view(url) : std::string_view("memory://"),
                  std::move(options));
}

}  // namespace gencache
