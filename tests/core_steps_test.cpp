// The core's sans-I/O steps, driven by hand with scripted backend answers: no backend,
// no server. Each test checks the actions a step asks for and what it concludes.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "cache_core.hpp"
#include "core/bump_step.hpp"
#include "core/lease_step.hpp"
#include "core/read_step.hpp"
#include "core/write_step.hpp"
#include "envelope.hpp"
#include "generation_hints.hpp"
#include "key_encoding.hpp"

namespace gencache::detail {
namespace {

using namespace std::chrono_literals;
using Kind = StepAction::Kind;

constexpr std::uint64_t kFresh = 5'000'000'000;
std::uint64_t scripted_fresh() {
  return kFresh;
}

std::string envelope_of(std::string payload) {
  Entry entry;
  entry.payload = std::move(payload);
  entry.created = Clock::time_point(1h);
  entry.ttl = 1min;
  return encode_envelope(entry);
}

struct ReadFixture {
  GenerationHints hints{1024};
  StripedStats stats;
  ReadScratch scratch;
  NamespaceSet namespaces{ns("user", 7)};
  std::string_view key = "profile";
  std::string versioned;
  std::optional<Entry> entry;
  ReadContext context{"", hints, stats, &scripted_fresh};

  ReadStep make() {
    return ReadStep(context, scratch, std::span(&key, 1), namespaces, true,
                    std::span(&versioned, 1), std::span(&entry, 1));
  }
  std::string counter() const { return counter_key("", namespaces[0]); }
  std::string key_at(std::uint64_t generation) const {
    return versioned_key("", namespaces, std::span(&generation, 1), key);
  }
};

TEST(ReadStep, ColdStartCreatesTheCounterFreshThenFetchesTheEntry) {
  ReadFixture f;
  ReadStep step = f.make();
  StepAction action = step.start();
  ASSERT_EQ(action.kind, Kind::visit);
  ASSERT_EQ(step.keys().size(), 1u) << "no hint: the counter alone";
  EXPECT_EQ(step.keys()[0], f.counter());
  action = step.visited();  // nothing found
  ASSERT_EQ(action.kind, Kind::create_counter);
  EXPECT_EQ(action.key, f.counter());
  EXPECT_EQ(action.value, kFresh);
  action = step.counter_created(true);
  ASSERT_EQ(action.kind, Kind::visit);
  ASSERT_EQ(step.keys().size(), 1u);
  EXPECT_EQ(step.keys()[0], f.key_at(kFresh));
  const std::string bytes = envelope_of("v");
  step.visitor().found(0, bytes);
  EXPECT_EQ(step.visited().kind, Kind::done);
  EXPECT_EQ(step.generations()[0], kFresh);
  EXPECT_EQ(f.versioned, f.key_at(kFresh));
  ASSERT_TRUE(f.entry);
  EXPECT_EQ(f.entry->payload, "v");
  EXPECT_EQ(f.stats.snapshot().counter_recreations, 1u);
}

TEST(ReadStep, ConfirmedHintNeedsOneVisitForCounterAndEntry) {
  ReadFixture f;
  f.hints.remember(f.counter(), 42);
  ReadStep step = f.make();
  ASSERT_EQ(step.start().kind, Kind::visit);
  ASSERT_EQ(step.keys().size(), 2u);
  EXPECT_EQ(step.keys()[1], f.key_at(42)) << "the entry is fetched speculatively";
  const std::string bytes = envelope_of("hit");
  step.visitor().found(0, "42");
  step.visitor().found(1, bytes);
  EXPECT_EQ(step.visited().kind, Kind::done);
  ASSERT_TRUE(f.entry);
  EXPECT_EQ(f.entry->payload, "hit");
}

TEST(ReadStep, StaleHintDiscardsTheSpeculativeEntryAndFetchesAtTheNewGeneration) {
  ReadFixture f;
  f.hints.remember(f.counter(), 42);
  ReadStep step = f.make();
  ASSERT_EQ(step.start().kind, Kind::visit);
  const std::string old_bytes = envelope_of("old");
  step.visitor().found(0, "43");  // bumped since the hint
  step.visitor().found(1, old_bytes);
  ASSERT_EQ(step.visited().kind, Kind::visit);
  EXPECT_FALSE(f.entry) << "the entry at the old generation must not be served";
  ASSERT_EQ(step.keys().size(), 1u);
  EXPECT_EQ(step.keys()[0], f.key_at(43));
  EXPECT_EQ(step.visited().kind, Kind::done);
  EXPECT_FALSE(f.entry);
  EXPECT_EQ(f.hints.find(f.counter()), 43u);
}

TEST(ReadStep, PoisonedCounterIsReplacedFreshAndTheReadFails) {
  ReadFixture f;
  ReadStep step = f.make();
  step.start();
  step.visitor().found(0, "not a number");
  const StepAction action = step.visited();
  ASSERT_EQ(action.kind, Kind::replace_counter);
  EXPECT_EQ(action.key, f.counter());
  EXPECT_EQ(action.text, std::to_string(kFresh));
  const StepAction end = step.counter_replaced(true);
  EXPECT_EQ(end.kind, Kind::fail);
  EXPECT_EQ(end.code, errc::corrupt_value);
  EXPECT_NE(step.failure().find("non-numeric"), std::string::npos) << step.failure();
}

TEST(ReadStep, LostCreateRaceUsesTheWinnersValue) {
  ReadFixture f;
  ReadStep step = f.make();
  step.start();
  ASSERT_EQ(step.visited().kind, Kind::create_counter);
  ASSERT_EQ(step.counter_created(false).kind, Kind::visit);
  ASSERT_EQ(step.keys().size(), 1u);
  EXPECT_EQ(step.keys()[0], f.counter()) << "the winner's counter is read back";
  step.visitor().found(0, "77");
  ASSERT_EQ(step.visited().kind, Kind::visit);
  EXPECT_EQ(step.keys()[0], f.key_at(77));
  EXPECT_EQ(step.visited().kind, Kind::done);
  EXPECT_EQ(step.generations()[0], 77u);
  EXPECT_EQ(f.stats.snapshot().counter_recreations, 0u);
}

TEST(ReadStep, CounterThatKeepsVanishingFailsAfterThreeAttempts) {
  ReadFixture f;
  ReadStep step = f.make();
  step.start();
  StepAction action = step.visited();
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSERT_EQ(action.kind, Kind::create_counter) << attempt;
    ASSERT_EQ(step.counter_created(false).kind, Kind::visit);
    action = step.visited();  // evicted again before the read-back
  }
  EXPECT_EQ(action.kind, Kind::fail);
  EXPECT_EQ(action.code, errc::protocol);
}

TEST(ReadStep, GenerationOnlyReadVisitsNoEntry) {
  ReadFixture f;
  ReadStep step(f.context, f.scratch, {}, f.namespaces, false, {}, {});
  ASSERT_EQ(step.start().kind, Kind::visit);
  step.visitor().found(0, "9");
  EXPECT_EQ(step.visited().kind, Kind::done);
  EXPECT_EQ(step.generations()[0], 9u);
}

TEST(BumpStep, IncrementReturnsTheNewGeneration) {
  BumpStep step("c", &scripted_fresh);
  const StepAction action = step.start();
  ASSERT_EQ(action.kind, Kind::increment);
  EXPECT_EQ(action.key, "c");
  EXPECT_EQ(action.value, 1u);
  EXPECT_EQ(step.incremented(11).kind, Kind::done);
  EXPECT_EQ(step.generation(), 11u);
  EXPECT_FALSE(step.recreated());
}

TEST(BumpStep, AbsentCounterIsCreatedAtAFreshValueNeverZeroOrOne) {
  BumpStep step("c", &scripted_fresh);
  step.start();
  const StepAction action = step.incremented(std::nullopt);
  ASSERT_EQ(action.kind, Kind::create_counter);
  EXPECT_EQ(action.value, kFresh);
  EXPECT_EQ(step.counter_created(true).kind, Kind::done);
  EXPECT_EQ(step.generation(), kFresh);
  EXPECT_TRUE(step.recreated());
}

TEST(BumpStep, LostCreateRaceIncrementsTheWinnersCounter) {
  BumpStep step("c", &scripted_fresh);
  step.start();
  step.incremented(std::nullopt);
  EXPECT_EQ(step.counter_created(false).kind, Kind::increment);
  EXPECT_EQ(step.incremented(78).kind, Kind::done);
  EXPECT_EQ(step.generation(), 78u);
}

TEST(BumpStep, PoisonedCounterIsRepairedByTheBumpItself) {
  BumpStep step("c", &scripted_fresh);
  step.start();
  ASSERT_EQ(step.increment_failed(errc::not_stored).kind, Kind::visit);
  EXPECT_EQ(step.keys()[0], "c");
  step.visitor().found(0, "garbage");
  const StepAction action = step.visited();
  ASSERT_EQ(action.kind, Kind::replace_counter);
  EXPECT_EQ(action.text, std::to_string(kFresh));
  EXPECT_EQ(step.counter_replaced(true).kind, Kind::done);
  EXPECT_EQ(step.generation(), kFresh);
  EXPECT_TRUE(step.repaired());
}

TEST(BumpStep, UnreachableServerFailureIsRethrownWithoutProbing) {
  BumpStep step("c", &scripted_fresh);
  step.start();
  const StepAction action = step.increment_failed(errc::timeout);
  EXPECT_EQ(action.kind, Kind::fail);
  EXPECT_FALSE(action.code) << "no code of its own: the driver rethrows the backend's failure";
}

TEST(BumpStep, NumericCounterAfterAFailureKeepsTheFailure) {
  BumpStep step("c", &scripted_fresh);
  step.start();
  ASSERT_EQ(step.increment_failed(errc::protocol).kind, Kind::visit);
  step.visitor().found(0, "12");
  EXPECT_EQ(step.visited().kind, Kind::fail);
}

TEST(BumpStep, CounterThatKeepsVanishingFails) {
  BumpStep step("c", &scripted_fresh);
  StepAction action = step.start();
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSERT_EQ(action.kind, Kind::increment) << attempt;
    ASSERT_EQ(step.incremented(std::nullopt).kind, Kind::create_counter);
    action = step.counter_created(false);
  }
  EXPECT_EQ(action.kind, Kind::fail);
  EXPECT_EQ(action.code, errc::protocol);
}

TEST(WriteStep, OversizedEnvelopeIsRefusedBeforeAnySet) {
  Entry entry;
  entry.payload = std::string(100, 'x');
  entry.ttl = 1min;
  const EntryWrite write = plan_entry_write(entry, "k", 2min, 50);
  EXPECT_EQ(write.refused, errc::value_too_large);
  EXPECT_TRUE(write.bytes.empty());
  EXPECT_NE(write.failure.find("exceed"), std::string::npos);
}

TEST(WriteStep, StorageTtlCoversTheStaleWindowsAndNeverLessThanTheTtl) {
  Entry entry;
  entry.payload = "v";
  entry.ttl = 1min;
  const EntryWrite write = plan_entry_write(entry, "k", 3min, 1 << 20);
  EXPECT_FALSE(write.refused);
  EXPECT_EQ(write.storage_ttl, 3min);
  EXPECT_EQ(decode_envelope(write.bytes)->payload, "v");
  EXPECT_EQ(plan_entry_write(entry, "k", 1s, 1 << 20).storage_ttl, 1min);
}

TEST(LeasePoll, BackoffDoublesToFiftyMillisecondsAndStopsAtTheDeadline) {
  const auto start = std::chrono::steady_clock::time_point(1h);
  LeasePoll poll(100ms, start);
  std::vector<std::chrono::steady_clock::duration> delays;
  auto now = start;
  while (auto delay = poll.next_delay(now)) {
    delays.push_back(*delay);
    now += *delay;
  }
  ASSERT_GE(delays.size(), 6u);
  EXPECT_EQ(delays[0], 1ms);
  EXPECT_EQ(delays[1], 2ms);
  EXPECT_EQ(delays[5], 32ms);
  EXPECT_EQ(now, start + 100ms) << "the last delay ends exactly at the deadline";
}

TEST(LeasePoll, LeaseKeyDependsOnTheVersionedKeyAndPrefix) {
  EXPECT_NE(lease_key("", "a"), lease_key("", "b"));
  EXPECT_NE(lease_key("p:", "a"), lease_key("", "a"));
  EXPECT_TRUE(lease_key("p:", "a").starts_with("p:gc1:l:"));
}

}  // namespace
}  // namespace gencache::detail
