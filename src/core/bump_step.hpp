#pragma once
// Internal: the bump as a sans-I/O step (see read_step.hpp for the pattern).
//
//   increment -> the new generation: done
//             -> absent: create it at a fresh value; lost the race: increment theirs
//             -> failed although the server answered: read the counter; when it holds
//                non-numeric bytes, replace it by a fresh value (which is a bump)

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "core/read_step.hpp"

namespace gencache::detail {

class BumpStep {
 public:
  /// Bumps the counter at `counter_key`; `fresh_generation` gives the value a
  /// (re)created counter starts at.
  BumpStep(std::string counter_key, std::uint64_t (*fresh_generation)());

  /// First: increment(key(), 1), then incremented() or increment_failed().
  StepAction start();
  StepAction incremented(std::optional<std::uint64_t> value);
  /// The increment threw with `code`. A `fail` answer without a code of its own means:
  /// rethrow that failure.
  StepAction increment_failed(std::error_code code);
  StepAction counter_created(bool created);
  /// After the visit of the counter that increment_failed() asked for.
  StepAction visited();
  StepAction counter_replaced(bool ok);

  std::string_view key() const noexcept { return key_; }
  std::span<const std::string_view> keys() const noexcept { return {&key_view_, 1}; }
  ValueVisitor& visitor() noexcept { return visitor_; }
  /// The new generation (valid after done).
  std::uint64_t generation() const noexcept { return generation_; }
  /// Whether the bump (re)created the counter (valid after done).
  bool recreated() const noexcept { return recreated_; }
  /// Whether it replaced a counter holding non-numeric bytes (valid after done).
  bool repaired() const noexcept { return repaired_; }
  const std::string& failure() const noexcept { return failure_; }

 private:
  std::string key_;
  std::string_view key_view_;
  std::uint64_t (*fresh_generation_)();
  ReadVisitor visitor_;
  CounterSlot slot_;
  std::string text_;
  int attempts_ = 0;
  bool checked_ = false;
  std::uint64_t candidate_ = 0;
  std::uint64_t generation_ = 0;
  bool recreated_ = false;
  bool repaired_ = false;
  std::error_code increment_error_;
  std::string failure_;
};

/// Whether a failure with `code` proves the server answered (the request reached it and
/// was refused), as opposed to it being unreachable.
bool server_answered(std::error_code code) noexcept;

}  // namespace gencache::detail
