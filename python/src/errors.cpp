#include "errors.hpp"

#include <gencache/error.hpp>

namespace py = pybind11;

namespace gencache::python {

void register_errors(py::module_& module) {
  // pybind11 tries the most recently registered translator first, so the base class goes
  // first and each subclass is caught as itself.
  auto& base = py::register_exception<gencache::error>(module, "Error");
  py::register_exception<gencache::config_error>(module, "ConfigError", base);
  py::register_exception<gencache::backend_error>(module, "BackendError", base);
}

}  // namespace gencache::python
