#pragma once
// Internal: the read as a sans-I/O step. It says which backend operation comes next (an
// action, returned as a value) and takes its result; Cache drives it over a Backend,
// AsyncCache over an AsyncBackend. Modelled on Boost.Redis's exec_fsm.
//
//   counters (+ the speculative entry keys at the hinted generations) in one visit
//   -> a poisoned counter: replace it by a fresh value, then fail (the read fails open)
//   -> an absent counter: create it fresh; if another process won, read theirs back
//   -> the hints confirmed: done; otherwise the entries at the read generations, visited

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "gencache/backend.hpp"
#include "gencache/detail/core.hpp"
#include "gencache/error.hpp"
#include "gencache/namespace.hpp"

namespace gencache::detail {

class GenerationHints;
class StripedStats;

/// A counter as one read saw it: absent, a generation, or present but not a number
/// (poisoned).
struct CounterSlot {
  bool found = false;
  std::optional<std::uint64_t> value;
};

/// What the counters (keys [0, n)) and entries (keys [n, n + count)) of one visit lend:
/// counters parsed and entries decoded in place, so the payload is the only copy made.
class ReadVisitor final : public ValueVisitor {
 public:
  ReadVisitor() = default;
  void reset(std::span<CounterSlot> counters, std::span<std::optional<Entry>> entries) noexcept;
  void found(std::size_t index, std::string_view value) noexcept override;

  std::size_t corrupt() const noexcept { return corrupt_; }
  bool failed() const noexcept { return failed_; }

 private:
  std::span<CounterSlot> counters_;
  std::span<std::optional<Entry>> entries_;
  std::size_t corrupt_ = 0;
  bool failed_ = false;
};

/// The working storage of one read. Cache keeps one per thread so that a steady-state
/// read allocates none of it; an AsyncCache read keeps its own in its frame.
struct ReadScratch {
  std::vector<std::string> counter_keys;
  std::vector<std::string_view> keys;
  std::vector<std::uint64_t> generations;
  std::vector<CounterSlot> counters;
  std::string head;
  std::string counter_text;    // a fresh counter value, as the decimal text set() stores
  std::string counter_prefix;  // hash-tagged prefixes, when the backend wants them
  std::string entry_prefix;
  ReadVisitor visitor;

  /// Keeps only the capacity of ordinary reads (inline: every read calls it).
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

/// What the read needs from its cache: no I/O in here.
struct ReadContext {
  std::string_view prefix;
  GenerationHints& hints;
  StripedStats& stats;
  std::uint64_t (*fresh_generation)();  ///< the value a (re)created counter starts at
  /// Keys carry their namespace's hash tag (Backend::wants_hash_tags: a Redis Cluster).
  bool hash_tags = false;
};

/// The prefix of the keys placed by `ns` (its counter; the entries it comes first in):
/// `prefix`, or with `hash_tags` its hash-tagged form, built into `buffer`
/// (docs/PROTOCOL.md, "Redis Cluster").
std::string_view namespace_prefix(std::string_view prefix, bool hash_tags, const Namespace& ns,
                                  std::string& buffer);

/// The next backend operation of a step, or its end.
struct StepAction {
  enum class Kind {
    visit,            ///< visit_many(step.keys(), step.visitor()), then visited()
    create_counter,   ///< create_counter(key, value, counter_ttl), then counter_created(bool)
    replace_counter,  ///< set(key, text, counter_ttl), then counter_replaced(ok)
    increment,        ///< increment(key, 1), then incremented() or increment_failed() (bumps)
    done,             ///< finished; results are in the step
    fail,             ///< finished with `code`; step.failure() says why
  };
  Kind kind = Kind::done;
  std::string_view key{};
  std::uint64_t value = 0;
  std::string_view text{};  ///< replace_counter: `value` in decimal
  std::error_code code{};
};

/// One read of `user_keys` (all of the same `namespaces`): the generations, the versioned
/// keys and (when `fetch_entries`) the entries under them.
class ReadStep {
 public:
  ReadStep(const ReadContext& context, ReadScratch& scratch,
           std::span<const std::string_view> user_keys, const NamespaceSet& namespaces,
           bool fetch_entries, std::span<std::string> versioned_keys,
           std::span<std::optional<Entry>> entries);

  StepAction start();
  /// After a visit: the visitor has seen what the backend found. Throws std::bad_alloc
  /// if decoding ran out of memory.
  StepAction visited();
  StepAction counter_created(bool created);
  StepAction counter_replaced(bool ok);

  std::span<const std::string_view> keys() const noexcept { return scratch_.keys; }
  ValueVisitor& visitor() noexcept { return scratch_.visitor; }
  /// The generations read, in the namespaces' canonical order (valid after done).
  std::span<const std::uint64_t> generations() const noexcept { return scratch_.generations; }
  /// Why the step failed (valid after fail).
  const std::string& failure() const noexcept { return failure_; }

 private:
  enum class Phase { first_visit, create, read_back, repair, second_visit };

  void build_keys();
  StepAction visit(std::span<CounterSlot> counters, std::span<std::optional<Entry>> into);
  StepAction check_counters();  // from counter_ index on
  void record_counter(std::uint64_t value);
  StepAction use_counter(std::uint64_t value);
  StepAction create_current();
  StepAction replace_current();
  StepAction finish();

  ReadContext context_;
  ReadScratch& scratch_;
  std::span<const std::string_view> user_keys_;
  const NamespaceSet& namespaces_;
  bool fetch_entries_;
  std::span<std::string> versioned_keys_;
  std::span<std::optional<Entry>> entries_;

  Phase phase_ = Phase::first_visit;
  bool all_hinted_ = true;
  bool speculate_ = false;
  bool hints_confirmed_ = true;
  std::size_t counter_ = 0;      // the counter being checked
  int create_attempts_ = 0;      // for counter_
  std::uint64_t candidate_ = 0;  // the fresh value offered for counter_
  std::size_t corrupt_ = 0;
  std::string failure_;
  std::string_view entry_prefix_;  // context_.prefix or scratch_.entry_prefix
};

}  // namespace gencache::detail
