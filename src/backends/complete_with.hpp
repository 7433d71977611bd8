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
  std::move(done)(failure);
}

/// Runs `call()` and completes `done` with its result, or with the failure and a
/// value-initialized result.
template <class Result, class Call>
void complete_with(AsyncBackend::handler<void(std::exception_ptr, Result)> done,
                   const Backend& backend, Call&& call) {
  Result result{};
  std::exception_ptr failure;
  try {
    result = std::forward<Call>(call)();
  } catch (...) {
    failure = as_backend_failure(backend.describe());
  }
  std::move(done)(failure, std::move(result));
}

}  // namespace gencache::detail
