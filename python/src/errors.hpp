#pragma once
// The Python exception classes gencache's C++ exceptions become.

#include <pybind11/pybind11.h>

namespace gencache::python {

/// Registers gencache.Error and its subclasses ConfigError and BackendError on `module`,
/// translating gencache::error, config_error and backend_error with their C++ messages.
void register_errors(pybind11::module_& module);

}  // namespace gencache::python
