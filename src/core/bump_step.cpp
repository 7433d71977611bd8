#include "core/bump_step.hpp"

#include <charconv>

#include <fmt/format.h>

namespace gencache::detail {

bool server_answered(std::error_code code) noexcept {
  return code != errc::backend_unavailable && code != errc::timeout && code != errc::circuit_open;
}

BumpStep::BumpStep(std::string counter_key, std::uint64_t (*fresh_generation)())
    : key_(std::move(counter_key)), key_view_(key_), fresh_generation_(fresh_generation) {}

StepAction BumpStep::start() {
  return {.kind = StepAction::Kind::increment, .key = key_, .value = 1};
}

// A counter can vanish between our calls (eviction, restart); each attempt either
// increments it or re-creates it at a fresh value, which invalidates just as well.
StepAction BumpStep::incremented(std::optional<std::uint64_t> value) {
  if (value) {
    generation_ = *value;
    return {.kind = StepAction::Kind::done};
  }
  candidate_ = fresh_generation_();
  return {.kind = StepAction::Kind::create_counter, .key = key_, .value = candidate_};
}

StepAction BumpStep::counter_created(bool created) {
  if (created) {
    generation_ = candidate_;
    recreated_ = true;
    return {.kind = StepAction::Kind::done};
  }
  // Someone else created it first: increment theirs.
  if (++attempts_ == 3) {
    failure_ = fmt::format("generation counter {} kept vanishing during a bump", key_);
    return {.kind = StepAction::Kind::fail, .code = errc::protocol};
  }
  return start();
}

StepAction BumpStep::increment_failed(std::error_code code) {
  // Only a server that answered can hold a poisoned counter; and look only once.
  if (checked_ || !server_answered(code)) return {.kind = StepAction::Kind::fail};
  checked_ = true;
  slot_ = {};
  visitor_.reset(std::span(&slot_, 1), {});
  return {.kind = StepAction::Kind::visit};
}

StepAction BumpStep::visited() {
  if (!slot_.found) return start();  // vanished meanwhile: increment creates it afresh
  if (slot_.value) return {.kind = StepAction::Kind::fail};  // numeric: the failure stands
  // Non-numeric bytes say no generation: a fresh value, never used before, is a bump.
  candidate_ = fresh_generation_();
  text_.resize(20);
  const auto end = std::to_chars(text_.data(), text_.data() + text_.size(), candidate_).ptr;
  text_.resize(static_cast<std::size_t>(end - text_.data()));
  return {
      .kind = StepAction::Kind::replace_counter, .key = key_, .value = candidate_, .text = text_};
}

StepAction BumpStep::counter_replaced(bool ok) {
  if (!ok) return {.kind = StepAction::Kind::fail};
  generation_ = candidate_;
  recreated_ = true;
  repaired_ = true;
  return {.kind = StepAction::Kind::done};
}

}  // namespace gencache::detail
