// AsyncCache: the core's steps driven over an AsyncBackend, as coroutines. The decisions
// are in src/core/ and shared with Cache; only the sequencing of backend calls is here.
#include "gencache/async_cache.hpp"

#include <atomic>
#include <cstdlib>
#include <future>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <fmt/format.h>

#include "backend_from_url.hpp"
#include "cache_core.hpp"
#include "core/bump_step.hpp"
#include "core/lease_step.hpp"
#include "core/read_step.hpp"
#include "core/write_step.hpp"
#include "in_process_path.hpp"
#include "key_encoding.hpp"
#include "random.hpp"

namespace gencache {
namespace detail {

namespace asio = boost::asio;

namespace {

// ---- AsyncBackend calls as awaitables ----

using use_awaitable_t = asio::use_awaitable_t<>;

// The completion handed to the backend posts the coroutine's resumption to its executor.
// A backend may complete inside the initiating call (memory:// does): resuming there would
// nest every following co_await one level deeper on the stack, and a loop of hits would
// overflow it. (The closures below capture only references: see SpawnInfallible in
// async_cache-inl.hpp for why that matters on GCC 12.)
// The caller's executor counts as having work from the initiation until the resumption is
// posted, so a backend thread never posts into an io_context that ran out of work and is
// being torn down meanwhile (TSan saw that race with the meta client's completions).
template <class Handler>
auto posting(Handler&& handler) {
  auto home = asio::prefer(asio::get_associated_executor(handler),
                           asio::execution::outstanding_work.tracked);
  return [handler = std::forward<Handler>(handler),
          home = std::move(home)](auto... results) mutable {
    asio::post(home, [handler = std::move(handler), ... results = std::move(results)]() mutable {
      std::move(handler)(std::move(results)...);
    });
  };
}

awaitable<void> visit(AsyncBackend& backend, std::span<const std::string_view> keys,
                      ValueVisitor& visitor) {
  co_await asio::async_initiate<const use_awaitable_t, void(std::exception_ptr)>(
      [&](auto handler) { backend.async_visit_many(keys, visitor, posting(std::move(handler))); },
      asio::use_awaitable);
}

awaitable<void> set(AsyncBackend& backend, std::string_view key, std::string_view value,
                    std::chrono::milliseconds ttl) {
  co_await asio::async_initiate<const use_awaitable_t, void(std::exception_ptr)>(
      [&](auto handler) { backend.async_set(key, value, ttl, posting(std::move(handler))); },
      asio::use_awaitable);
}

awaitable<bool> add(AsyncBackend& backend, std::string_view key, std::string_view value,
                    std::chrono::milliseconds ttl) {
  co_return co_await asio::async_initiate<const use_awaitable_t, void(std::exception_ptr, bool)>(
      [&](auto handler) { backend.async_add(key, value, ttl, posting(std::move(handler))); },
      asio::use_awaitable);
}

awaitable<bool> remove(AsyncBackend& backend, std::string_view key) {
  co_return co_await asio::async_initiate<const use_awaitable_t, void(std::exception_ptr, bool)>(
      [&](auto handler) { backend.async_remove(key, posting(std::move(handler))); },
      asio::use_awaitable);
}

awaitable<std::optional<std::uint64_t>> increment(AsyncBackend& backend, std::string_view key,
                                                  std::uint64_t delta) {
  co_return co_await asio::async_initiate<const use_awaitable_t,
                                          void(std::exception_ptr, std::optional<std::uint64_t>)>(
      [&](auto handler) { backend.async_increment(key, delta, posting(std::move(handler))); },
      asio::use_awaitable);
}

awaitable<std::vector<CounterIncrement>> increment_many(AsyncBackend& backend,
                                                        std::span<const std::string_view> keys,
                                                        std::uint64_t delta) {
  co_return co_await asio::async_initiate<const use_awaitable_t,
                                          void(std::exception_ptr, std::vector<CounterIncrement>)>(
      [&](auto handler) { backend.async_increment_many(keys, delta, posting(std::move(handler))); },
      asio::use_awaitable);
}

awaitable<bool> create_counter(AsyncBackend& backend, std::string_view key, std::uint64_t initial,
                               std::chrono::milliseconds ttl) {
  co_return co_await asio::async_initiate<const use_awaitable_t, void(std::exception_ptr, bool)>(
      [&](auto handler) {
        backend.async_create_counter(key, initial, ttl, posting(std::move(handler)));
      },
      asio::use_awaitable);
}

// The one catch policy of the async driver: report the failure, return its code.
std::error_code report_failure(CacheCore& core, std::string_view operation,
                               const std::exception_ptr& failure) noexcept {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    core.report(operation, e);
    return failure_code(e);
  } catch (...) {
    return errc::backend_unavailable;
  }
}

// A read's working storage, from a small per-thread pool: a coroutine may resume on
// another thread, so it cannot borrow the thread's one scratch as Cache does; the pool
// spares a steady-state read its allocations all the same.
class PooledScratch {
 public:
  PooledScratch() {
    auto& free = pool();
    if (free.empty()) {
      scratch_ = std::make_unique<ReadScratch>();
    } else {
      scratch_ = std::move(free.back());
      free.pop_back();
    }
  }
  ~PooledScratch() {
    scratch_->release();
    auto& free = pool();
    if (free.size() < 16) free.push_back(std::move(scratch_));
  }
  PooledScratch(const PooledScratch&) = delete;
  PooledScratch& operator=(const PooledScratch&) = delete;
  ReadScratch& operator*() const noexcept { return *scratch_; }

 private:
  static std::vector<std::unique_ptr<ReadScratch>>& pool() {
    static thread_local std::vector<std::unique_ptr<ReadScratch>> free;
    return free;
  }
  std::unique_ptr<ReadScratch> scratch_;
};

// The async driver of the core's steps, as CacheCore::drive is the blocking one.
template <class Step>
awaitable<void> drive(CacheCore& core, Step& step, StepAction action) {
  AsyncBackend& backend = *core.async_backend();
  std::exception_ptr last_failure;
  while (true) {
    switch (action.kind) {
      case StepAction::Kind::visit:
        core.stats().add(StripedStats::round_trips);
        co_await visit(backend, step.keys(), step.visitor());
        action = step.visited();
        break;
      case StepAction::Kind::create_counter: {
        core.stats().add(StripedStats::round_trips);
        const bool created =
            co_await create_counter(backend, action.key, action.value, core.counter_ttl());
        action = step.counter_created(created);
        break;
      }
      case StepAction::Kind::replace_counter: {
        core.stats().add(StripedStats::round_trips);
        bool replaced = true;
        try {
          co_await set(backend, action.key, action.text, core.counter_ttl());
        } catch (...) {
          replaced = false;
          last_failure = std::current_exception();
        }
        action = step.counter_replaced(replaced);
        break;
      }
      case StepAction::Kind::increment:
        if constexpr (std::is_same_v<Step, BumpStep>) {
          core.stats().add(StripedStats::round_trips);
          std::optional<std::uint64_t> value;
          std::error_code failed;
          try {
            value = co_await increment(backend, action.key, action.value);
          } catch (const std::exception& e) {
            last_failure = std::current_exception();
            failed = failure_code(e);
          }
          action = failed ? step.increment_failed(failed) : step.incremented(value);
          break;
        }
        [[fallthrough]];
      case StepAction::Kind::fail:
        if (!action.code && last_failure) std::rethrow_exception(last_failure);
        throw backend_error(action.code ? action.code : make_error_code(errc::protocol),
                            fmt::format("{}: {}", backend.describe(), step.failure()));
      case StepAction::Kind::done:
        co_return;
    }
  }
}

awaitable<bool> read_into(CacheCore& core, std::span<const std::string_view> user_keys,
                          const NamespaceSet& namespaces, bool fetch_entries,
                          std::span<std::string> versioned_keys,
                          std::span<std::optional<Entry>> entries, std::error_code& error) {
  error.clear();
  std::exception_ptr failure;
  try {
    PooledScratch scratch;
    ReadStep step(core.read_context(), *scratch, user_keys, namespaces, fetch_entries,
                  versioned_keys, entries);
    co_await drive(core, step, step.start());
  } catch (...) {
    failure = std::current_exception();
  }
  if (!failure) co_return true;
  error = report_failure(core, "read", failure);
  for (auto& entry : entries) entry.reset();
  co_return false;
}

// A failure of a bump or generation reaches the caller as a backend_error.
[[noreturn]] void throw_reported(CacheCore& core, std::string_view operation,
                                 const std::exception_ptr& failure) {
  const std::error_code code = report_failure(core, operation, failure);
  try {
    std::rethrow_exception(failure);
  } catch (const backend_error&) {
    throw;
  } catch (const std::exception& e) {
    throw backend_error(code, e.what());
  }
}

}  // namespace

awaitable<ReadResult> async_read_entry(CacheCore& core, std::string_view key,
                                       const NamespaceSet& namespaces, bool fetch_entry) {
  if (core.serves_inline()) co_return core.read(key, namespaces, fetch_entry);
  ReadResult result;
  result.backend_ok = co_await read_into(core, std::span(&key, 1), namespaces, fetch_entry,
                                         std::span(&result.versioned_key, 1),
                                         std::span(&result.entry, 1), result.error);
  if (!result.backend_ok) result.versioned_key.clear();
  co_return result;
}

awaitable<ReadBatch> async_read_entries(CacheCore& core, std::span<const std::string_view> keys,
                                        const NamespaceSet& namespaces) {
  if (core.serves_inline()) co_return core.read_batch(keys, namespaces, true);
  ReadBatch batch;
  batch.versioned_keys.resize(keys.size());
  batch.entries.resize(keys.size());
  batch.backend_ok = co_await read_into(core, keys, namespaces, true, batch.versioned_keys,
                                        batch.entries, batch.error);
  if (!batch.backend_ok) batch.versioned_keys.clear();
  co_return batch;
}

awaitable<void> async_write_entry(CacheCore& core, const ReadResult& read, EntryKind kind,
                                  std::string payload, std::chrono::milliseconds ttl,
                                  std::chrono::milliseconds storage_ttl,
                                  std::chrono::microseconds compute_time) {
  if (!read.backend_ok) co_return;
  if (core.serves_inline()) {
    core.write(read, kind, payload, ttl, storage_ttl, compute_time);
    co_return;
  }
  AsyncBackend& backend = *core.async_backend();
  std::exception_ptr failure;
  try {
    Entry entry;
    entry.kind = kind;
    entry.payload = std::move(payload);
    entry.created = core.clock().now();
    entry.ttl = ttl;
    entry.compute_time = compute_time;
    const EntryWrite plan =
        plan_entry_write(entry, read.versioned_key, storage_ttl, backend.max_value_size());
    if (plan.refused)
      throw backend_error(plan.refused, fmt::format("{}: {}", backend.describe(), plan.failure));
    core.stats().add(StripedStats::round_trips);
    co_await set(backend, read.versioned_key, plan.bytes, plan.storage_ttl);
    core.stats().add(StripedStats::sets);
  } catch (...) {
    failure = std::current_exception();
  }
  if (!failure) co_return;
  // Too large for us or for the server: the caller still gets the computed value. That
  // is the value's size, not a backend failure: counted as oversized, not reported.
  bool oversized = false;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    oversized = failure_code(e) == errc::value_too_large;
  } catch (...) {
  }
  if (oversized)
    core.stats().add(StripedStats::oversized);
  else
    report_failure(core, "write", failure);
}

namespace {

// The bump itself; a failure is thrown as it came, neither reported nor queued.
awaitable<std::uint64_t> async_bump_unreported(CacheCore& core, const Namespace& ns) {
  if (core.serves_inline()) co_return core.bump(ns);
  std::string tagged;
  BumpStep step(counter_key(core.key_prefix(ns, tagged), ns), &fresh_generation);
  co_await drive(core, step, step.start());
  if (step.recreated()) core.stats().add(StripedStats::counter_recreations);
  if (step.repaired()) core.stats().add(StripedStats::corrupt);
  core.hints().remember(step.key(), step.generation());
  core.stats().add(StripedStats::bumps);
  co_return step.generation();
}

// The outbox's retry of a failed bump, on the outbox's thread: the same coroutine, run to
// completion on a private io_context, so a retry needs neither the AsyncCache's executor
// nor one of its threads (flush_pending_bumps may block one). A failure is thrown and not
// reported again: the bump that failed first was.
void retry_bump(CacheCore& core, const Namespace& ns) {
  asio::io_context context(1);
  std::future<std::uint64_t> bumped =
      asio::co_spawn(context, async_bump_unreported(core, ns), asio::use_future);
  context.run();
  bumped.get();
}

}  // namespace

awaitable<std::uint64_t> async_bump(CacheCore& core, const Namespace& ns) {
  std::exception_ptr failure;
  try {
    co_return co_await async_bump_unreported(core, ns);
  } catch (...) {
    failure = std::current_exception();
  }
  // As Cache::bump_namespace: reported, queued for retry when the outbox is on, and thrown.
  const std::error_code code = report_failure(core, "bump", failure);
  core.queue_failed_bump(ns);
  try {
    std::rethrow_exception(failure);
  } catch (const backend_error&) {
    throw;
  } catch (const std::exception& e) {
    throw backend_error(code, e.what());
  }
}

awaitable<std::uint64_t> async_generation(CacheCore& core, const Namespace& ns) {
  std::exception_ptr failure;
  try {
    if (core.serves_inline()) co_return core.generation(ns);
    const NamespaceSet one(ns);
    PooledScratch scratch;
    ReadStep step(core.read_context(), *scratch, {}, one, false, {}, {});
    co_await drive(core, step, step.start());
    co_return step.generations()[0];
  } catch (...) {
    failure = std::current_exception();
  }
  throw_reported(core, "generation", failure);
}

namespace {

using BumpFailures = std::vector<std::pair<std::size_t, std::exception_ptr>>;

// CacheCore::bump_many over the AsyncBackend: every counter in one async_increment_many,
// then the one-namespace bump for each counter that was absent or refused by a server that
// answered. Failures go to `failures`, neither reported nor queued.
awaitable<std::vector<std::uint64_t>> async_bump_many(CacheCore& core,
                                                      const std::vector<Namespace>& namespaces,
                                                      BumpFailures& failures) {
  AsyncBackend& backend = *core.async_backend();
  std::vector<std::string> keys;
  keys.reserve(namespaces.size());
  std::string tagged;
  for (const Namespace& ns : namespaces)
    keys.push_back(counter_key(core.key_prefix(ns, tagged), ns));
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<std::uint64_t> generations(namespaces.size(), 0);
  if (namespaces.empty()) co_return generations;

  core.stats().add(StripedStats::round_trips,
                   backend.batches_async_increments() ? 1 : namespaces.size());
  std::vector<CounterIncrement> results;
  try {
    results = co_await increment_many(backend, views, 1);
    if (results.size() != namespaces.size())
      throw backend_error(
          errc::protocol,
          fmt::format("{}: async_increment_many returned {} results for {} counters",
                      backend.describe(), results.size(), namespaces.size()));
  } catch (const std::exception&) {
    // The call failed as a whole: every counter may or may not have moved.
    results.assign(namespaces.size(), CounterIncrement{std::nullopt, std::current_exception()});
  }
  for (std::size_t i = 0; i < namespaces.size(); ++i) {
    CounterIncrement& result = results[i];
    if (result.value) {
      generations[i] = *result.value;
      core.hints().remember(keys[i], *result.value);
      core.stats().add(StripedStats::bumps);
      continue;
    }
    // As bump_many: an unreachable server is not asked again, so N namespaces cost one
    // timeout, not N.
    bool retry = !result.failure;
    if (result.failure) {
      try {
        std::rethrow_exception(result.failure);
      } catch (const std::exception& e) {
        retry = server_answered(failure_code(e));
      } catch (...) {
      }
    }
    if (retry) {
      try {
        generations[i] = co_await async_bump_unreported(core, namespaces[i]);
        continue;
      } catch (...) {
        result.failure = std::current_exception();
      }
    }
    failures.emplace_back(i, result.failure);
  }
  co_return generations;
}

}  // namespace

awaitable<std::vector<std::uint64_t>> async_bump_namespaces(CacheCore& core,
                                                            std::vector<Namespace> namespaces) {
  BumpFailures failures;
  std::vector<std::uint64_t> generations;
  if (core.serves_inline())
    generations = core.bump_many(namespaces, failures);
  else
    generations = co_await async_bump_many(core, namespaces, failures);
  std::vector<Namespace> not_bumped;
  std::error_code first_code;
  std::string first_message;
  // As Cache::bump_namespaces: each failure reported and queued for retry.
  for (const auto& [index, failure] : failures) {
    not_bumped.push_back(namespaces[index]);
    const std::error_code code = report_failure(core, "bump", failure);
    core.queue_failed_bump(namespaces[index]);
    if (!first_code) {
      first_code = code;
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        first_message = e.what();
      } catch (...) {
      }
    }
  }
  if (not_bumped.empty()) co_return generations;
  std::string names;
  for (const Namespace& ns : not_bumped)
    names += fmt::format("{}'{}'", names.empty() ? "" : ", ", ns.name());
  const std::string message =
      fmt::format("{} of {} namespaces not bumped ({}): {}", not_bumped.size(), namespaces.size(),
                  names, first_message);
  throw bump_namespaces_error(first_code, message, std::move(not_bumped), std::move(generations));
}

awaitable<std::string> async_etag(CacheCore& core, std::string key, NamespaceSet namespaces) {
  std::exception_ptr failure;
  try {
    PooledScratch scratch;
    ReadStep step(core.read_context(), *scratch, {}, namespaces, false, {}, {});
    co_await drive(core, step, step.start());
    const std::vector<std::uint64_t> generations(step.generations().begin(),
                                                 step.generations().end());
    co_return etag_of(core.prefix(), namespaces, generations, key);
  } catch (...) {
    failure = std::current_exception();
  }
  throw_reported(core, "generation", failure);
}

awaitable<Lease> async_acquire_lease(CacheCore& core, const ReadResult& read,
                                     std::chrono::milliseconds ttl) {
  if (core.serves_inline()) co_return core.acquire_lease(read, ttl);
  std::exception_ptr failure;
  try {
    core.stats().add(StripedStats::round_trips);
    const bool taken =
        co_await add(*core.async_backend(), lease_key(core.prefix(), read.versioned_key), "1", ttl);
    co_return taken ? Lease::acquired : Lease::held_elsewhere;
  } catch (...) {
    failure = std::current_exception();
  }
  report_failure(core, "lease", failure);
  co_return Lease::unavailable;
}

awaitable<void> async_release_lease(CacheCore& core, const ReadResult& read) {
  if (core.serves_inline()) {
    core.release_lease(read);
    co_return;
  }
  std::exception_ptr failure;
  try {
    core.stats().add(StripedStats::round_trips);
    co_await remove(*core.async_backend(), lease_key(core.prefix(), read.versioned_key));
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) report_failure(core, "lease", failure);  // it expires by itself after lease_ttl
}

awaitable<std::optional<Entry>> async_poll_for_entry(CacheCore& core, const ReadResult& read,
                                                     std::chrono::milliseconds wait) {
  LeasePoll poll(wait, std::chrono::steady_clock::now());
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const std::string_view key = read.versioned_key;
  while (const auto delay = poll.next_delay(std::chrono::steady_clock::now())) {
    timer.expires_after(*delay);
    co_await timer.async_wait(asio::use_awaitable);
    std::exception_ptr failure;
    try {
      // memory://'s in-process entries are not visible as bytes (see in_process_path.hpp).
      if (InProcessPath* path = core.in_process()) {
        if (auto entry = path->find(key)) co_return entry;
        continue;
      }
      std::optional<Entry> entry;
      ReadVisitor visitor;
      visitor.reset({}, std::span(&entry, 1));
      core.stats().add(StripedStats::round_trips);
      co_await visit(*core.async_backend(), std::span(&key, 1), visitor);
      if (entry) co_return entry;
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      report_failure(core, "read", failure);
      co_return std::nullopt;
    }
  }
  co_return std::nullopt;
}

namespace {

// One suspended waiter of a flight. Whichever comes first, the leader's wake-up or the
// waiter's cancellation, completes it; the other finds it done.
struct FlightWaiter {
  // Built in place: Boost 1.81's any_completion_handler move-assignment recurses forever.
  template <class Handler>
  explicit FlightWaiter(Handler&& h)
      : executor(asio::get_associated_executor(h)), handler(std::forward<Handler>(h)) {}

  asio::any_io_executor executor;
  asio::any_completion_handler<void(boost::system::error_code)> handler;
  std::atomic<bool> completed{false};
  std::uint64_t id = 0;

  static void complete(const std::shared_ptr<FlightWaiter>& self, boost::system::error_code ec) {
    if (self->completed.exchange(true)) return;
    // Posted, never run inline: the leader may be another thread (a blocking Cache) or in
    // the middle of finishing the flight.
    asio::post(self->executor,
               [handler = std::move(self->handler), ec]() mutable { std::move(handler)(ec); });
  }
};

}  // namespace

namespace {
// Stateless, the flight passed as an argument: see SpawnInfallible in async_cache-inl.hpp.
struct WaitForFlight {
  template <class Handler>
  void operator()(Handler&& handler, std::shared_ptr<Flight> flight) const {
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto waiter = std::make_shared<FlightWaiter>(std::forward<Handler>(handler));
    const auto id = on_flight_done(*flight, [waiter] { FlightWaiter::complete(waiter, {}); });
    if (id && slot.is_connected()) {
      slot.assign([waiter, flight = flight, id = *id](asio::cancellation_type) {
        // Only this waiter leaves; the flight and its other waiters go on.
        if (cancel_flight_wait(*flight, id))
          FlightWaiter::complete(waiter, asio::error::operation_aborted);
      });
    }
  }
};
}  // namespace

awaitable<void> async_wait_flight(const std::shared_ptr<Flight>& flight) {
  co_await asio::async_initiate<const use_awaitable_t, void(boost::system::error_code)>(
      WaitForFlight{}, asio::use_awaitable, flight);
}

void mark_async_leader(Flight& flight, const asio::cancellation_slot& compute_slot) {
  auto identity = std::make_shared<const asio::cancellation_slot>(compute_slot);
  std::lock_guard lock(flight.mutex);
  flight.async_leader = std::move(identity);
}

void check_not_own_async_flight(Flight& flight, const asio::cancellation_slot& slot,
                                std::string_view key) {
  // Unconnected slots all compare equal: they identify no thread.
  if (!slot.is_connected()) return;
  std::shared_ptr<const void> leader;
  {
    std::lock_guard lock(flight.mutex);
    leader = flight.async_leader;
  }
  if (leader && *static_cast<const asio::cancellation_slot*>(leader.get()) == slot)
    throw own_flight_error(key);
}

boost::system::error_code failure_code_of(const std::exception_ptr& failure) noexcept {
  if (!failure) return {};
  try {
    std::rethrow_exception(failure);
  } catch (const boost::system::system_error& e) {
    return e.code();
  } catch (const std::exception& e) {
    return boost::system::error_code(failure_code(e));
  } catch (...) {
    return boost::system::error_code(make_error_code(errc::backend_unavailable));
  }
}

bool serves_inline(const CacheCore& core) noexcept {
  return core.serves_inline();
}

std::shared_ptr<CacheCore> make_async_core(std::shared_ptr<AsyncBackend> backend,
                                           CacheOptions options) {
  const OutboxOptions outbox = options.outbox;
  auto core = std::make_shared<CacheCore>(std::move(backend), std::move(options));
  if (outbox.enabled)
    core->use_outbox(outbox, [raw = core.get()](const Namespace& ns) { retry_bump(*raw, ns); });
  return core;
}

}  // namespace detail

AsyncCache::AsyncCache(executor_type executor, std::shared_ptr<AsyncBackend> backend,
                       CacheOptions options)
    : executor_(std::move(executor)),
      core_(detail::make_async_core(std::move(backend), std::move(options))) {}

AsyncCache AsyncCache::from_url(executor_type executor, std::string_view url,
                                CacheOptions options) {
  std::shared_ptr<AsyncBackend> backend = detail::make_async_backend(url, options, executor);
  return AsyncCache(std::move(executor), std::move(backend), std::move(options));
}

AsyncCache AsyncCache::from_env(executor_type executor, CacheOptions options) {
  const char* url = std::getenv("GENCACHE_URL");
  return from_url(std::move(executor),
                  url && *url ? std::string_view(url) : std::string_view("memory://"),
                  std::move(options));
}

const CallOptions& AsyncCache::call_defaults() const noexcept {
  return core_->call_defaults();
}

Stats AsyncCache::stats() const {
  Stats s = core_->stats().snapshot();
  s.outbox_pending = core_->outbox_pending();
  return s;
}

bool AsyncCache::flush_pending_bumps(std::chrono::milliseconds timeout) {
  return core_->flush_outbox(timeout);
}

void AsyncCache::set_error_hook(ErrorHook hook) {
  core_->set_hook(std::move(hook));
}

}  // namespace gencache
