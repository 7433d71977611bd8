#include "core/read_step.hpp"

#include <charconv>
#include <new>

#include <fmt/format.h>

#include "cache_core.hpp"
#include "envelope.hpp"
#include "generation_hints.hpp"
#include "key_encoding.hpp"

namespace gencache::detail {

void ReadVisitor::reset(std::span<CounterSlot> counters,
                        std::span<std::optional<Entry>> entries) noexcept {
  counters_ = counters;
  entries_ = entries;
  corrupt_ = 0;
  failed_ = false;
}

void ReadVisitor::found(std::size_t index, std::string_view value) noexcept {
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

ReadStep::ReadStep(const ReadContext& context, ReadScratch& scratch,
                   std::span<const std::string_view> user_keys, const NamespaceSet& namespaces,
                   bool fetch_entries, std::span<std::string> versioned_keys,
                   std::span<std::optional<Entry>> entries)
    : context_(context),
      scratch_(scratch),
      user_keys_(user_keys),
      namespaces_(namespaces),
      fetch_entries_(fetch_entries),
      versioned_keys_(versioned_keys),
      entries_(entries) {}

std::string_view namespace_prefix(std::string_view prefix, bool hash_tags, const Namespace& ns,
                                  std::string& buffer) {
  if (!hash_tags) return prefix;
  build_hash_tagged_prefix(buffer, prefix, ns);
  return buffer;
}

void ReadStep::build_keys() {
  // The namespaces-and-generations head of the versioned keys is built once per read.
  if (user_keys_.size() == 1) {
    build_versioned_key(versioned_keys_[0], entry_prefix_, namespaces_, scratch_.generations,
                        user_keys_[0]);
    return;
  }
  build_versioned_head(scratch_.head, entry_prefix_, namespaces_, scratch_.generations);
  for (std::size_t k = 0; k < user_keys_.size(); ++k)
    finish_versioned_key(versioned_keys_[k], scratch_.head, entry_prefix_, user_keys_[k]);
}

StepAction ReadStep::visit(std::span<CounterSlot> counters, std::span<std::optional<Entry>> into) {
  for (auto& entry : into) entry.reset();
  scratch_.visitor.reset(counters, into);
  return {.kind = StepAction::Kind::visit};
}

StepAction ReadStep::start() {
  const std::size_t n = namespaces_.size();
  std::vector<std::string>& counter_keys = scratch_.counter_keys;
  if (counter_keys.size() < n) counter_keys.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    build_counter_key(counter_keys[i],
                      namespace_prefix(context_.prefix, context_.hash_tags, namespaces_[i],
                                       scratch_.counter_prefix),
                      namespaces_[i]);
  // The entries are placed by their first namespace (none: the plain prefix).
  entry_prefix_ = n == 0 ? context_.prefix
                         : namespace_prefix(context_.prefix, context_.hash_tags, namespaces_[0],
                                            scratch_.entry_prefix);

  scratch_.keys.assign(counter_keys.begin(), counter_keys.begin() + static_cast<std::ptrdiff_t>(n));
  scratch_.generations.assign(n, 0);
  for (std::size_t i = 0; i < n && all_hinted_; ++i) {
    if (auto hint = context_.hints.find(counter_keys[i]))
      scratch_.generations[i] = *hint;
    else
      all_hinted_ = false;
  }
  hints_confirmed_ = all_hinted_;
  // Steady state: the counters and the entries at the hinted generations, in one round
  // trip. The answer stands only if every counter read matches its hint.
  speculate_ = all_hinted_ && (fetch_entries_ || n == 0);
  if (speculate_) {
    build_keys();
    if (fetch_entries_)
      scratch_.keys.insert(scratch_.keys.end(), versioned_keys_.begin(), versioned_keys_.end());
  }
  scratch_.counters.assign(n, CounterSlot{});
  phase_ = Phase::first_visit;
  if (scratch_.keys.empty()) return finish();
  return visit(scratch_.counters,
               speculate_ && fetch_entries_ ? entries_ : std::span<std::optional<Entry>>());
}

StepAction ReadStep::visited() {
  if (scratch_.visitor.failed()) throw std::bad_alloc();
  corrupt_ += scratch_.visitor.corrupt();
  switch (phase_) {
    case Phase::first_visit:
      counter_ = 0;
      return check_counters();
    case Phase::read_back: {
      const CounterSlot& slot = scratch_.counters[counter_];
      if (slot.found && !slot.value) return replace_current();
      if (slot.value) return use_counter(*slot.value);
      // Created and evicted again between our add and get: try once more.
      return create_current();
    }
    case Phase::second_visit:
      return finish();
    default:
      return {.kind = StepAction::Kind::fail, .code = errc::protocol};
  }
}

StepAction ReadStep::check_counters() {
  for (; counter_ < namespaces_.size(); ++counter_) {
    const CounterSlot& slot = scratch_.counters[counter_];
    if (slot.found && !slot.value) return replace_current();
    if (!slot.value) {
      create_attempts_ = 0;
      return create_current();
    }
    record_counter(*slot.value);
  }
  if (!(hints_confirmed_ && speculate_)) {
    // Cold start or right after a bump: the keys at the generations just read, fetched
    // in a second round trip.
    if (!user_keys_.empty()) build_keys();
    scratch_.keys.assign(versioned_keys_.begin(), versioned_keys_.end());
    if (fetch_entries_ && !scratch_.keys.empty()) {
      phase_ = Phase::second_visit;
      return visit({}, entries_);
    }
    for (auto& entry : entries_) entry.reset();
  }
  return finish();
}

void ReadStep::record_counter(std::uint64_t value) {
  std::uint64_t& generation = scratch_.generations[counter_];
  if (value != generation) hints_confirmed_ = false;
  generation = value;
  if (!all_hinted_ || !hints_confirmed_)
    context_.hints.remember(scratch_.counter_keys[counter_], value);
}

// A counter created or read back after the first visit: go on with the next one.
StepAction ReadStep::use_counter(std::uint64_t value) {
  record_counter(value);
  phase_ = Phase::first_visit;
  ++counter_;
  return check_counters();
}

// A lost or never-created counter starts at a fresh random value, never a used one; when
// another process wins the race to create it, its value is read back and used.
StepAction ReadStep::create_current() {
  if (create_attempts_++ == 3) {
    failure_ =
        fmt::format("generation counter {} could not be created", scratch_.counter_keys[counter_]);
    return {.kind = StepAction::Kind::fail, .code = errc::protocol};
  }
  phase_ = Phase::create;
  candidate_ = context_.fresh_generation();
  return {.kind = StepAction::Kind::create_counter,
          .key = scratch_.counter_keys[counter_],
          .value = candidate_};
}

StepAction ReadStep::counter_created(bool created) {
  if (created) {
    context_.stats.add(StripedStats::counter_recreations);
    return use_counter(candidate_);
  }
  phase_ = Phase::read_back;
  scratch_.keys.assign(1, scratch_.counter_keys[counter_]);
  scratch_.counters[counter_] = {};
  scratch_.visitor.reset(std::span(&scratch_.counters[counter_], 1), {});
  return {.kind = StepAction::Kind::visit};
}

// A counter holding anything but a number cannot say which generation is current. It is
// replaced by a fresh value, never used before, which invalidates its namespace as a bump
// would; the read that found it fails open (its caller computes and nothing is stored), so
// no value is ever stored under a generation this read did not see as current.
StepAction ReadStep::replace_current() {
  context_.stats.add(StripedStats::corrupt);
  phase_ = Phase::repair;
  candidate_ = context_.fresh_generation();
  scratch_.counter_text.resize(20);
  const auto end =
      std::to_chars(scratch_.counter_text.data(), scratch_.counter_text.data() + 20, candidate_)
          .ptr;
  scratch_.counter_text.resize(static_cast<std::size_t>(end - scratch_.counter_text.data()));
  return {.kind = StepAction::Kind::replace_counter,
          .key = scratch_.counter_keys[counter_],
          .value = candidate_,
          .text = scratch_.counter_text};
}

StepAction ReadStep::counter_replaced(bool ok) {
  if (ok) context_.stats.add(StripedStats::counter_recreations);
  failure_ = fmt::format("the generation counter {} held non-numeric bytes ({})",
                         scratch_.counter_keys[counter_],
                         ok ? "replaced by a fresh generation" : "not replaced");
  return {.kind = StepAction::Kind::fail, .code = errc::corrupt_value};
}

StepAction ReadStep::finish() {
  if (corrupt_ != 0) context_.stats.add(StripedStats::corrupt, corrupt_);
  corrupt_ = 0;
  return {.kind = StepAction::Kind::done};
}

}  // namespace gencache::detail
