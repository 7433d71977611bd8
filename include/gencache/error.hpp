#pragma once
/// \file
/// Errors: one small exception tree plus std::error_code support.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "gencache/namespace.hpp"

namespace gencache {

/// Error conditions gencache reports, usable as std::error_code.
enum class errc {
  backend_unavailable = 1,  ///< the server could not be reached or the connection broke
  timeout,                  ///< a call exceeded the configured connect or I/O timeout
  protocol,                 ///< the server answered something gencache did not expect
  value_too_large,          ///< the value exceeds the backend's item size limit
  corrupt_value,            ///< bytes read back are not a valid gencache envelope
  not_stored,               ///< the backend refused to store the item
  config,                   ///< a configuration (URL or option) is invalid
  circuit_open,             ///< the circuit breaker is open: the backend was not called
  outbox_full,              ///< a failed bump could not be queued for retry
};

/// The category of gencache::errc.
const std::error_category& error_category() noexcept;

/// Lets `std::error_code ec = gencache::errc::timeout;` work.
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Base of every exception gencache throws itself.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A URL or option is invalid. The message names the bad input and what is accepted.
class config_error : public error {
 public:
  using error::error;
};

/// A backend call failed. `code()` tells why (see gencache::errc).
class backend_error : public error {
 public:
  backend_error(std::error_code code, const std::string& what) : error(what), code_(code) {}
  std::error_code code() const noexcept { return code_; }

 private:
  std::error_code code_;
};

/// Cache::bump_namespaces could not bump some of its namespaces. `code()` and `what()`
/// are those of the first failure; not_bumped() lists exactly the namespaces whose bump
/// failed (each may or may not have taken effect: retry them), and generations() holds
/// the new generation of every namespace in the order asked, 0 for those not bumped.
class bump_namespaces_error : public backend_error {
 public:
  bump_namespaces_error(std::error_code code, const std::string& what,
                        std::vector<Namespace> not_bumped, std::vector<std::uint64_t> generations)
      : backend_error(code, what),
        not_bumped_(std::move(not_bumped)),
        generations_(std::move(generations)) {}
  const std::vector<Namespace>& not_bumped() const noexcept { return not_bumped_; }
  const std::vector<std::uint64_t>& generations() const noexcept { return generations_; }

 private:
  std::vector<Namespace> not_bumped_;
  std::vector<std::uint64_t> generations_;
};

}  // namespace gencache

template <>
struct std::is_error_code_enum<gencache::errc> : std::true_type {};
