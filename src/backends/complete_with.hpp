#pragma once
// Internal: runs one blocking Backend call and completes an AsyncBackend handler with
// its result. The memory backend does this inline, the blocking bridge on its threads.

#include <exception>
#include <string>
#include <utility>

#include "gencache/async_backend.hpp"
#include "gencache/error.hpp"

namespace gencache::detail {

// The AsyncBackend contract is "fails with a backend_error": a user's Backend may throw
// anything, so anything else becomes backend_unavailable naming the backend.
inline std::exception_ptr as_backend_failure(const std::string& backend) {
  try {
    throw;
  } catch (const backend_error&) {
    return std::current_exception();
  } catch (const std::exception& failure) {
    return std::make_exception_ptr(backend_error(
        errc::backend_unavailable, backend + " failed: " + std::string(failure.what())));
  } catch (...) {
    return std::make_exception_ptr(backend_error(
        errc::backend_unavailable, backend + " failed with a non-standard exception"));
  }
}

/// Runs `call()` and completes `done` with a null exception_ptr, or the failure.
template <class Call>
void complete_with(AsyncBackend::handler<void(std::exception_ptr)> done, const Backend& backend,
                   Call&& call) {
  std::exception_ptr failure;
  try {
    std::forward<Call>(call)();
  } catch (...) {
    failure = as_backend_failure(backend.describe());
  }
  std::move(done)(std::move(failure));
}

/// `call()`'s result; or, when it throws, a value-initialized Result and the failure in
/// `failure`.
///
/// The value-initialized result is made in the handler, not before the `try`: GCC 12 at
/// -O1 with -fsanitize=thread drops the initialization of a `Result result{};` declared
/// before a `try { result = call(); }` whose call throws, so an absent counter
/// (std::optional) arrived engaged with a stack address as its value, and a failed bump
/// looked like a successful one.
template <class Result, class Call>
Result result_or_failure(Call&& call, const Backend& backend, std::exception_ptr& failure) {
  try {
    return std::forward<Call>(call)();
  } catch (...) {
    failure = as_backend_failure(backend.describe());
  }
  return Result{};
}

/// Runs `call()` and completes `done` with its result, or with the failure and a
/// value-initialized result.
template <class Result, class Call>
void complete_with(AsyncBackend::handler<void(std::exception_ptr, Result)> done,
                   const Backend& backend, Call&& call) {
  std::exception_ptr failure;
  Result result = result_or_failure<Result>(std::forward<Call>(call), backend, failure);
  // Moved, not copied: the bridge thread that runs this keeps no reference to the
  // failure once the handler has it (its refcount is invisible to TSan in libstdc++).
  std::move(done)(std::move(failure), std::move(result));
}

}  // namespace gencache::detail
