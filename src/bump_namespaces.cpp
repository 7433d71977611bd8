// Cache::bump_namespaces: many namespaces in one Backend::increment_many, and exactly
// which ones failed.
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cache_core.hpp"
#include "core/bump_step.hpp"
#include "gencache/cache.hpp"
#include "key_encoding.hpp"

namespace gencache {
namespace detail {

std::vector<std::uint64_t> CacheCore::bump_many(
    std::span<const Namespace> namespaces,
    std::vector<std::pair<std::size_t, std::exception_ptr>>& failures) {
  std::vector<std::string> keys;
  keys.reserve(namespaces.size());
  std::string tagged;
  for (const Namespace& ns : namespaces) keys.push_back(counter_key(key_prefix(ns, tagged), ns));
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<std::uint64_t> generations(namespaces.size(), 0);
  if (namespaces.empty()) return generations;

  stats_.add(StripedStats::round_trips, backend_->batches_increments() ? 1 : namespaces.size());
  std::vector<CounterIncrement> results;
  try {
    results = backend_->increment_many(views, 1);
    if (results.size() != namespaces.size())
      throw backend_error(errc::protocol,
                          fmt::format("{}: increment_many returned {} results for {} counters",
                                      backend_->describe(), results.size(), namespaces.size()));
  } catch (const std::exception&) {
    // The call failed as a whole: every counter may or may not have moved.
    results.assign(namespaces.size(), CounterIncrement{std::nullopt, std::current_exception()});
  }

  for (std::size_t i = 0; i < namespaces.size(); ++i) {
    CounterIncrement& result = results.at(i);
    if (result.value) {
      generations[i] = *result.value;
      hints_.remember(keys[i], *result.value);
      stats_.add(StripedStats::bumps);
      continue;
    }
    // Absent (first use, evicted) or refused by a server that answered (a counter holding
    // text): the one-namespace bump creates or repairs it. An unreachable server is not
    // asked again, so a bump of N namespaces costs one timeout, not N.
    bool retry = !result.failure;
    if (result.failure) {
      try {
        std::rethrow_exception(result.failure);
      } catch (const std::exception& e) {
        retry = server_answered(failure_code(e));
      }
    }
    if (retry) {
      try {
        generations[i] = bump(namespaces[i]);
        continue;
      } catch (const std::exception&) {
        result.failure = std::current_exception();
      }
    }
    failures.emplace_back(i, result.failure);
  }
  return generations;
}

}  // namespace detail

std::vector<std::uint64_t> Cache::bump_namespaces(std::span<const Namespace> namespaces) {
  std::vector<std::pair<std::size_t, std::exception_ptr>> failures;
  std::vector<std::uint64_t> generations = core_->bump_many(namespaces, failures);
  if (failures.empty()) return generations;

  std::vector<Namespace> not_bumped;
  std::error_code first_code;
  std::string first_message;
  for (const auto& [index, failure] : failures) {
    not_bumped.push_back(namespaces[index]);
    core_->queue_failed_bump(namespaces[index]);
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      core_->report("bump", e);
      if (!first_code) {
        first_code = detail::failure_code(e);
        first_message = e.what();
      }
    }
  }
  std::string names;
  for (const Namespace& ns : not_bumped)
    names += fmt::format("{}'{}'", names.empty() ? "" : ", ", ns.name());
  std::string message = fmt::format("{} of {} namespaces not bumped ({}): {}", not_bumped.size(),
                                    namespaces.size(), names, first_message);
  throw bump_namespaces_error(first_code, message, std::move(not_bumped), std::move(generations));
}

std::vector<std::uint64_t> Cache::bump_namespaces(std::span<const Namespace> namespaces,
                                                  std::error_code& ec) noexcept {
  ec.clear();
  try {
    return bump_namespaces(namespaces);
  } catch (const bump_namespaces_error& e) {
    ec = e.code();
    try {
      return e.generations();
    } catch (...) {
    }
  } catch (const std::exception& e) {
    ec = detail::failure_code(e);
  } catch (...) {
    ec = errc::backend_unavailable;
  }
  try {
    return std::vector<std::uint64_t>(namespaces.size(), 0);
  } catch (...) {
    return {};
  }
}

}  // namespace gencache
