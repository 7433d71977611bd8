#pragma once
// The Python exception classes gencache's C++ exceptions become.

#include <pybind11/pybind11.h>

#include <string>
#include <system_error>

namespace gencache::python {

/// Registers gencache.Error and its subclasses ConfigError and BackendError on `module`,
/// translating gencache::error, config_error and backend_error with their C++ messages.
void register_errors(pybind11::module_& module);

/// The gencache::errc name of `code` ("timeout", "circuit_open", ...), what
/// BackendError.code and the error hook's `code` argument hold; the message of a code of
/// another category.
std::string error_code_name(const std::error_code& code);

}  // namespace gencache::python
