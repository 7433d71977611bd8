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

#include "async_circuit_breaker.hpp"
#include "bump_outbox.hpp"
#include "circuit_breaker.hpp"
#include "coarse_clock.hpp"
#include "core/bump_step.hpp"
#include "core/lease_step.hpp"
#include "core/read_step.hpp"
#include "core/write_step.hpp"
#include "envelope.hpp"
#include "gencache/detail/freshness.hpp"
#include "gencache/memory_backend.hpp"
#include "in_process_path.hpp"
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

// Which owned stripe index each thread holds (StripedStats): taken at a thread's first
// count, given back when it ends. The handover is a release and an acquire, so the next
// owner's plain load sees the last owner's final store.
std::atomic<bool> owned_stripe_taken[StripedStats::kOwnedStripes];

constexpr int kNotClaimed = -2;
constexpr int kNoOwnedStripe = -1;  // all were taken, or this thread is ending
// Trivially destructible, so it can still be read while the thread's other thread_local
// objects are destroyed (one of them may count).
thread_local int this_thread_owned = kNotClaimed;

struct OwnedStripeRelease {
  ~OwnedStripeRelease() {
    if (this_thread_owned >= 0)
      owned_stripe_taken[this_thread_owned].store(false, std::memory_order_release);
    this_thread_owned = kNoOwnedStripe;
  }
};

int claim_owned_stripe() noexcept {
  static thread_local OwnedStripeRelease release;
  for (std::size_t i = 0; i < StripedStats::kOwnedStripes; ++i) {
    bool expected = false;
    if (!owned_stripe_taken[i].load(std::memory_order_relaxed) &&
        owned_stripe_taken[i].compare_exchange_strong(expected, true, std::memory_order_acquire))
      return static_cast<int>(i);
  }
  return kNoOwnedStripe;
}
}  // namespace

// Every Stats field but the outbox_pending gauge comes from the table.
static_assert(sizeof(Stats) == sizeof(std::uint64_t) * (StripedStats::field_count + 1),
              "a Stats field is missing from GENCACHE_STATS_COUNTERS (or the reverse)");

void StripedStats::add(Field field, std::uint64_t n) noexcept {
  if (this_thread_owned == kNotClaimed) [[unlikely]]
    this_thread_owned = claim_owned_stripe();
  if (this_thread_owned >= 0) [[likely]] {
    std::atomic<std::uint64_t>& value = owned_[this_thread_owned].values[field];
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    return;
  }
  shared_[this_thread_stripe() % kSharedStripes].values[field].fetch_add(n,
                                                                         std::memory_order_relaxed);
}

Stats StripedStats::snapshot() const noexcept {
  std::array<std::uint64_t, field_count> sum{};
  const auto add_up = [&sum](const Stripe& stripe) {
    for (std::size_t f = 0; f < field_count; ++f)
      sum[f] += stripe.values[f].load(std::memory_order_relaxed);
  };
  for (const Stripe& stripe : owned_) add_up(stripe);
  for (const Stripe& stripe : shared_) add_up(stripe);
  Stats s;
#define GENCACHE_STATS_COPY(name) s.name = sum[name];
  GENCACHE_STATS_COUNTERS(GENCACHE_STATS_COPY)
#undef GENCACHE_STATS_COPY
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
  in_process_ = InProcessPath::for_backend(*user_backend_, prefix_, counter_ttl_);
  validate_prefix(prefix_);
  validate_cache_options(options);
  validate_call_options(call_defaults_);
  if (options.breaker.failure_threshold > 0) {
    backend_ = std::make_shared<CircuitBreaker>(
        user_backend_, std::make_shared<BreakerState>(options.breaker, clock_, stats_));
  }
  if (options.outbox.enabled) use_outbox(options.outbox, [this](const Namespace& ns) { bump(ns); });
}

CacheCore::CacheCore(std::shared_ptr<AsyncBackend> backend, CacheOptions options)
    : async_backend_(std::move(backend)),
      prefix_(std::move(options.prefix)),
      hash_tags_(async_backend_ != nullptr && async_backend_->wants_hash_tags()),
      clock_(options.clock ? std::move(options.clock) : system_clock()),
      counter_ttl_(options.counter_ttl),
      hints_(options.generation_hints),
      call_defaults_(std::move(options.call)),
      hook_(std::move(options.on_error)) {
  if (!async_backend_)
    throw std::invalid_argument("gencache::AsyncCache: the backend must not be null");
  // memory:// is an in-process store whose calls never block: the async driver calls it
  // as the blocking one does, so a hit completes without suspending at all.
  if (auto* memory = dynamic_cast<MemoryBackend*>(async_backend_.get())) {
    user_backend_ = std::shared_ptr<Backend>(async_backend_, memory);
    backend_ = user_backend_;
    in_process_ = InProcessPath::for_backend(*user_backend_, prefix_, counter_ttl_);
  }
  validate_prefix(prefix_);
  validate_cache_options(options);
  validate_call_options(call_defaults_);
  if (options.breaker.failure_threshold > 0) {
    // One breaker for both paths of memory://: the in-place blocking calls and the async ones.
    auto breaker = std::make_shared<BreakerState>(options.breaker, clock_, stats_);
    async_backend_ = std::make_shared<AsyncCircuitBreaker>(std::move(async_backend_), breaker);
    if (backend_) backend_ = std::make_shared<CircuitBreaker>(user_backend_, std::move(breaker));
  }
}

CacheCore::~CacheCore() = default;

void CacheCore::use_outbox(OutboxOptions options, std::function<void(const Namespace&)> retry) {
  outbox_ = std::make_unique<BumpOutbox>(
      options, std::move(retry), [this](const std::exception& e) { report("bump", e); }, stats_);
}

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
  const std::error_code code = failure_code(failure);
  // Reads and writes the open breaker turned away are counted as rejections only: the
  // failures that opened it were reported. A bump it turned away is an invalidation that
  // did not happen, so it is counted and reported like any failed bump.
  if (code == errc::circuit_open && operation != "bump") return;
  stats_.add(StripedStats::errors);
  try {
    ErrorEvent event;
    event.operation = operation;
    event.code = code;
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

// Keeps a thread's buffers from growing without bound between reads.
void release(ReadScratch& scratch) {
  scratch.release();
}

constexpr std::size_t kKeptKeyBuffers = 1024;
void release(std::vector<std::string>& keys) {
  if (keys.size() <= kKeptKeyBuffers) return;
  keys.resize(kKeptKeyBuffers);
  keys.shrink_to_fit();
}

// The thread's storage of one kind, lent to one read at a time. A nested read on the same
// thread (from the error hook) gets fresh storage instead.
template <class Storage>
class ThreadLease {
 public:
  ThreadLease() {
    static thread_local Shared shared;
    if (!shared.in_use) {
      storage_ = &shared.storage;
      in_use_ = &shared.in_use;
      shared.in_use = true;
    } else {
      owned_ = std::make_unique<Storage>();
      storage_ = owned_.get();
    }
  }
  ~ThreadLease() {
    if (owned_) return;
    release(*storage_);
    *in_use_ = false;
  }
  ThreadLease(const ThreadLease&) = delete;
  ThreadLease& operator=(const ThreadLease&) = delete;
  Storage& operator*() const noexcept { return *storage_; }

 private:
  struct Shared {
    Storage storage;
    bool in_use = false;
  };
  Storage* storage_ = nullptr;
  bool* in_use_ = nullptr;
  std::unique_ptr<Storage> owned_;
};

using ScratchLease = ThreadLease<ReadScratch>;

}  // namespace

std::string_view CacheCore::key_prefix(const Namespace& ns, std::string& buffer) const {
  return namespace_prefix(prefix_, hash_tags_, ns, buffer);
}

std::error_code failure_code(const std::exception& failure) noexcept {
  if (const auto* be = dynamic_cast<const backend_error*>(&failure)) return be->code();
  return errc::backend_unavailable;
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

// The blocking driver of the core's steps: each action is one backend call (one round
// trip), its result goes back into the step. A `fail` without a code of its own rethrows
// the backend's last failure.
template <class Step>
void CacheCore::drive(Step& step, StepAction action) {
  std::exception_ptr last_failure;
  while (true) {
    switch (action.kind) {
      case StepAction::Kind::visit:
        stats_.add(StripedStats::round_trips);
        backend_->visit_many(step.keys(), step.visitor());
        action = step.visited();
        break;
      case StepAction::Kind::create_counter:
        stats_.add(StripedStats::round_trips);
        action =
            step.counter_created(backend_->create_counter(action.key, action.value, counter_ttl_));
        break;
      case StepAction::Kind::replace_counter: {
        stats_.add(StripedStats::round_trips);
        bool replaced = true;
        try {
          backend_->set(action.key, action.text, counter_ttl_);
        } catch (const std::exception&) {
          replaced = false;
          last_failure = std::current_exception();
        }
        action = step.counter_replaced(replaced);
        break;
      }
      case StepAction::Kind::increment:
        if constexpr (std::is_same_v<Step, BumpStep>) {
          stats_.add(StripedStats::round_trips);
          try {
            const auto value = backend_->increment(action.key, action.value);
            action = step.incremented(value);
          } catch (const std::exception& e) {
            last_failure = std::current_exception();
            action = step.increment_failed(failure_code(e));
          }
          break;
        }
        [[fallthrough]];
      case StepAction::Kind::fail:
        if (!action.code && last_failure) std::rethrow_exception(last_failure);
        throw backend_error(action.code ? action.code : make_error_code(errc::protocol),
                            fmt::format("{}: {}", backend_->describe(), step.failure()));
      case StepAction::Kind::done:
        return;
    }
  }
}

bool CacheCore::read_into(std::span<const std::string_view> user_keys,
                          const NamespaceSet& namespaces, bool fetch_entries,
                          std::span<std::string> versioned_keys,
                          std::span<std::optional<Entry>> entries,
                          std::span<std::uint64_t> generations, std::error_code& error) {
  error.clear();
  try {
    if (in_process_) {
      in_process_->read(user_keys, namespaces, fetch_entries, versioned_keys, entries, generations,
                        stats_);
      return true;
    }
    ScratchLease scratch;
    ReadStep step(read_context(), *scratch, user_keys, namespaces, fetch_entries, versioned_keys,
                  entries);
    drive(step, step.start());
    if (!generations.empty())
      std::copy(step.generations().begin(), step.generations().end(), generations.begin());
    return true;
  } catch (const std::exception& e) {
    read_failed(e, entries, error);
    return false;
  }
}

void CacheCore::read_failed(const std::exception& failure, std::span<std::optional<Entry>> entries,
                            std::error_code& error) {
  report("read", failure);
  error = failure_code(failure);
  for (auto& entry : entries) entry.reset();
}

ReadContext CacheCore::read_context() noexcept {
  return {prefix_, hints_, stats_, &fresh_generation, hash_tags_};
}

ReadBatch CacheCore::read_batch(std::span<const std::string_view> user_keys,
                                const NamespaceSet& namespaces, bool fetch_entries) {
  ReadBatch batch;
  batch.versioned_keys.resize(user_keys.size());
  batch.entries.resize(user_keys.size());
  batch.backend_ok = read_into(user_keys, namespaces, fetch_entries, batch.versioned_keys,
                               batch.entries, {}, batch.error);
  if (!batch.backend_ok) batch.versioned_keys.clear();
  return batch;
}

std::vector<std::optional<Entry>> CacheCore::read_entries_only(
    std::span<const std::string_view> user_keys, const NamespaceSet& namespaces,
    std::error_code& error) {
  std::vector<std::optional<Entry>> entries(user_keys.size());
  // The versioned keys are needed only during the read: they are built in the thread's
  // buffers, which keep their capacity, so a steady-state batch allocates no key.
  const ThreadLease<std::vector<std::string>> lease;
  std::vector<std::string>& keys = *lease;
  if (keys.size() < user_keys.size()) keys.resize(user_keys.size());
  read_into(user_keys, namespaces, true, std::span(keys.data(), user_keys.size()), entries, {},
            error);
  return entries;
}

ReadResult CacheCore::read(std::string_view key, const NamespaceSet& namespaces, bool fetch_entry) {
  ReadResult result;
  if (in_process_) {
    // memory://: one lookup, and nothing to fail but an allocation. Not through
    // read_into: its batch bookkeeping was a tenth of a hit's instructions (1,354 against
    // 1,249 per hit with it, hot_path_profile cached_hit_1ns).
    try {
      in_process_->read_one(key, namespaces, fetch_entry, result.versioned_key, result.entry,
                            stats_);
      result.backend_ok = true;
    } catch (const std::exception& e) {
      read_failed(e, std::span(&result.entry, 1), result.error);
      result.versioned_key.clear();
    }
    return result;
  }
  result.backend_ok =
      read_into(std::span(&key, 1), namespaces, fetch_entry, std::span(&result.versioned_key, 1),
                std::span(&result.entry, 1), {}, result.error);
  if (!result.backend_ok) result.versioned_key.clear();
  return result;
}

FreshRead CacheCore::read_fresh(std::string_view key, const NamespaceSet& namespaces,
                                const CallOptions& options, EntryKind& kind,
                                std::string& payload) noexcept {
  if (!in_process_) return FreshRead::undecided;
  // One reading of the coarse clock serves the store's expiry checks and the freshness.
  const CoarseNow coarse(*clock_);
  EntryFields fields;
  try {
    if (!in_process_->find_current(key, namespaces, coarse, fields, payload))
      return FreshRead::absent;
  } catch (const std::exception&) {
    return FreshRead::undecided;  // std::bad_alloc: read() meets it again, and reports it
  }
  // Fresh at a time surely not before now is fresh now; the precise clock is left to the
  // entries within a second of their expiry (or of an early refresh), which read() takes.
  if (!fresh_without_draw(fields.created, fields.ttl, fields.compute_time, coarse.upper_bound(),
                          options))
    return FreshRead::undecided;
  kind = fields.kind;
  return FreshRead::fresh;
}

void CacheCore::write(const ReadResult& read, EntryKind kind, std::string_view payload,
                      std::chrono::milliseconds ttl, std::chrono::milliseconds storage_ttl,
                      std::chrono::microseconds compute_time) {
  if (!read.backend_ok) return;
  try {
    if (in_process_) {
      const EntryFields fields{
          .kind = kind, .created = clock_->now(), .ttl = ttl, .compute_time = compute_time};
      if (in_process_->write(read.versioned_key, fields, payload, std::max(ttl, storage_ttl)))
        stats_.add(StripedStats::sets);
      return;
    }
    Entry entry;
    entry.kind = kind;
    entry.payload.assign(payload);
    entry.created = clock_->now();
    entry.ttl = ttl;
    entry.compute_time = compute_time;
    const EntryWrite plan =
        plan_entry_write(entry, read.versioned_key, storage_ttl, backend_->max_value_size());
    if (plan.refused)
      throw backend_error(plan.refused, fmt::format("{}: {}", backend_->describe(), plan.failure));
    stats_.add(StripedStats::round_trips);
    backend_->set(read.versioned_key, plan.bytes, plan.storage_ttl);
    stats_.add(StripedStats::sets);
  } catch (const std::exception& e) {
    // Too large for us or for the server: the caller still gets the computed value. That
    // is the value's size, not a backend failure: counted as oversized, not reported.
    if (failure_code(e) == errc::value_too_large) {
      stats_.add(StripedStats::oversized);
      return;
    }
    report("write", e);
  }
}

std::uint64_t CacheCore::bump(const Namespace& ns) {
  std::string tagged;
  BumpStep step(counter_key(key_prefix(ns, tagged), ns), &fresh_generation);
  drive(step, step.start());
  if (step.recreated()) stats_.add(StripedStats::counter_recreations);
  if (step.repaired()) stats_.add(StripedStats::corrupt);
  hints_.remember(step.key(), step.generation());
  stats_.add(StripedStats::bumps);
  return step.generation();
}

std::uint64_t CacheCore::generation(const Namespace& ns) {
  const NamespaceSet one(ns);
  // The same read as an entry's, for no entry: a lost counter is created fresh, a
  // poisoned one replaced (and reported as a failure).
  ScratchLease scratch;
  ReadStep step(read_context(), *scratch, {}, one, false, {}, {});
  drive(step, step.start());
  return step.generations()[0];
}

std::vector<std::uint64_t> CacheCore::generations(const NamespaceSet& namespaces) {
  ScratchLease scratch;
  ReadStep step(read_context(), *scratch, {}, namespaces, false, {}, {});
  drive(step, step.start());
  return {step.generations().begin(), step.generations().end()};
}

// ---- detail/core.hpp entry points ----------------------------------------------------

ReadResult read_entry(CacheCore& core, std::string_view key, const NamespaceSet& namespaces) {
  return core.read(key, namespaces, true);
}

FreshRead read_fresh(CacheCore& core, std::string_view key, const NamespaceSet& namespaces,
                     const CallOptions& options, EntryKind& kind, std::string& payload) noexcept {
  return core.read_fresh(key, namespaces, options, kind, payload);
}

ReadBatch read_entries(CacheCore& core, std::span<const std::string_view> keys,
                       const NamespaceSet& namespaces) {
  return core.read_batch(keys, namespaces, true);
}

std::vector<std::optional<Entry>> read_entries_only(CacheCore& core,
                                                    std::span<const std::string_view> keys,
                                                    const NamespaceSet& namespaces,
                                                    std::error_code& error) {
  return core.read_entries_only(keys, namespaces, error);
}

ReadResult resolve_key(CacheCore& core, std::string_view key, const NamespaceSet& namespaces) {
  return core.read(key, namespaces, false);
}

void complete_read(CacheCore& core, ReadResult& read, std::string_view key,
                   const NamespaceSet& namespaces) {
  if (!read.backend_ok || !read.versioned_key.empty()) return;
  ReadResult where = core.read(key, namespaces, false);
  read.backend_ok = where.backend_ok;
  read.error = where.error;
  read.versioned_key = std::move(where.versioned_key);
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

namespace {
// One table per process, so that every Cache and AsyncCache in it coalesce: a versioned
// key names one entry at one set of generations, which (with generations drawn at random
// per counter) is one entry of one storage.
struct alignas(64) FlightShard {
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<Flight>> running;
};
std::array<FlightShard, 16>& flight_table() {
  static std::array<FlightShard, 16> table;
  return table;
}
FlightShard& flight_shard(const std::string& key) {
  auto& table = flight_table();
  return table[std::hash<std::string>{}(key) % table.size()];
}
}  // namespace

FlightTicket CacheCore::flight(const std::string& key, bool join_running) {
  FlightShard& shard = flight_shard(key);
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
  FlightShard& shard = flight_shard(key);
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
  std::vector<std::pair<std::uint64_t, std::function<void()>>> wake;
  {
    std::lock_guard lock(flight->mutex);
    flight->value = std::move(value);
    flight->type = type;
    flight->error = std::move(error);
    flight->done = true;
    wake.swap(flight->async_waiters);
  }
  flight->finished.notify_all();
  for (auto& [id, waiter] : wake) waiter();
}

std::optional<std::uint64_t> on_flight_done(Flight& flight, std::function<void()> wake) {
  {
    std::lock_guard lock(flight.mutex);
    if (!flight.done) {
      const std::uint64_t id = flight.next_waiter++;
      flight.async_waiters.emplace_back(id, std::move(wake));
      return id;
    }
  }
  wake();
  return std::nullopt;
}

bool cancel_flight_wait(Flight& flight, std::uint64_t id) {
  std::lock_guard lock(flight.mutex);
  auto& waiters = flight.async_waiters;
  auto it = std::find_if(waiters.begin(), waiters.end(), [&](auto& w) { return w.first == id; });
  if (it == waiters.end()) return false;
  waiters.erase(it);
  return true;
}

std::shared_ptr<const void> flight_result(Flight& flight, const std::type_info& type) {
  std::lock_guard lock(flight.mutex);
  if (flight.error) std::rethrow_exception(flight.error);
  if (flight.type == nullptr || *flight.type != type) return nullptr;
  return flight.value;
}

namespace {
// The flights whose compute runs on this thread now (nested when a compute calls cached()).
thread_local std::vector<const Flight*> flights_led_here;
}  // namespace

LeadingOnThisThread::LeadingOnThisThread(const Flight& flight) {
  flights_led_here.push_back(&flight);
}

LeadingOnThisThread::~LeadingOnThisThread() {
  flights_led_here.pop_back();
}

void check_not_own_flight(const Flight& flight, std::string_view key) {
  if (std::find(flights_led_here.begin(), flights_led_here.end(), &flight) !=
      flights_led_here.end())
    throw own_flight_error(key);
}

error own_flight_error(std::string_view key) {
  return error(fmt::format(
      "gencache: the compute of entry {} called cached() for that same entry on a miss; it "
      "would wait for its own result forever (compute the value directly instead)",
      key));
}

std::shared_ptr<const void> wait_flight(Flight& flight, const std::type_info& type) {
  std::unique_lock lock(flight.mutex);
  flight.finished.wait(lock, [&] { return flight.done; });
  if (flight.error) std::rethrow_exception(flight.error);
  if (flight.type == nullptr || *flight.type != type) return nullptr;
  return flight.value;
}

// ---- leases ----

Lease CacheCore::acquire_lease(const ReadResult& read, std::chrono::milliseconds ttl) {
  try {
    stats_.add(StripedStats::round_trips);
    return backend_->add(lease_key(prefix_, read.versioned_key), "1", ttl) ? Lease::acquired
                                                                           : Lease::held_elsewhere;
  } catch (const std::exception& e) {
    report("lease", e);
    return Lease::unavailable;
  }
}

void CacheCore::release_lease(const ReadResult& read) noexcept {
  try {
    stats_.add(StripedStats::round_trips);
    backend_->remove(lease_key(prefix_, read.versioned_key));
  } catch (const std::exception& e) {
    report("lease", e);  // it expires by itself after lease_ttl
  }
}

std::optional<Entry> CacheCore::poll(const ReadResult& read, std::chrono::milliseconds wait) {
  LeasePoll poll(wait, std::chrono::steady_clock::now());
  const std::string_view key = read.versioned_key;
  while (const auto delay = poll.next_delay(std::chrono::steady_clock::now())) {
    std::this_thread::sleep_for(*delay);
    try {
      if (in_process_) {
        if (auto entry = in_process_->find(key)) return entry;
        continue;
      }
      std::optional<Entry> entry;
      ReadVisitor visitor;
      visitor.reset({}, std::span(&entry, 1));
      stats_.add(StripedStats::round_trips);
      backend_->visit_many(std::span(&key, 1), visitor);
      if (entry) return entry;
    } catch (const std::exception& e) {
      report("read", e);
      return std::nullopt;
    }
  }
  return std::nullopt;
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

std::chrono::milliseconds jittered(std::chrono::milliseconds ttl, double jitter) {
  if (jitter <= 0) return ttl;
  const double factor = 1.0 + jitter * (2.0 * uniform_draw() - 1.0);
  return std::max(std::chrono::milliseconds(1), std::chrono::milliseconds(static_cast<std::int64_t>(
                                                    static_cast<double>(ttl.count()) * factor)));
}

}  // namespace detail

// ---- Cache -------------------------------------------------------------------------

Ticket detail::make_ticket(std::string versioned_key, bool valid) {
  return Ticket(std::move(versioned_key), valid);
}

Cache::Cache(std::shared_ptr<Backend> backend, CacheOptions options)
    : core_(std::make_shared<detail::CacheCore>(std::move(backend), std::move(options))) {}

namespace {
// The one catch policy of the throwing entry points: the failure is reported, then
// reaches the caller as a backend_error (anything else becomes backend_unavailable).
template <class F>
auto reported(detail::CacheCore& core, std::string_view operation, F&& call,
              const Namespace* failed_bump = nullptr) {
  try {
    return call();
  } catch (const std::exception& e) {
    core.report(operation, e);
    if (failed_bump != nullptr) core.queue_failed_bump(*failed_bump);
    if (dynamic_cast<const backend_error*>(&e) != nullptr) throw;
    throw backend_error(detail::failure_code(e), e.what());
  }
}
}  // namespace

std::uint64_t Cache::bump_namespace(const Namespace& ns) {
  return reported(
      *core_, "bump", [&] { return core_->bump(ns); }, &ns);
}

bool Cache::flush_pending_bumps(std::chrono::milliseconds timeout) {
  return core_->flush_outbox(timeout);
}

std::uint64_t Cache::bump_namespace(const Namespace& ns, std::error_code& ec) noexcept {
  ec.clear();
  try {
    return bump_namespace(ns);
  } catch (const std::exception& e) {
    ec = detail::failure_code(e);
  } catch (...) {
    ec = errc::backend_unavailable;
  }
  return 0;
}

std::uint64_t Cache::generation(const Namespace& ns) {
  return reported(*core_, "generation", [&] { return core_->generation(ns); });
}

Ticket Cache::reserve(std::string_view key, const NamespaceSet& namespaces) {
  detail::ReadResult read = detail::resolve_key(*core_, key, namespaces);
  return detail::make_ticket(std::move(read.versioned_key), read.backend_ok);
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
