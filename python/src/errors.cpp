#include "errors.hpp"

#include <string>
#include <system_error>

#include <pybind11/stl.h>

#include <gencache/error.hpp>
#include <gencache/namespace.hpp>

namespace py = pybind11;

namespace gencache::python {

// So Python code can tell failures apart without parsing messages.
std::string error_code_name(const std::error_code& code) {
  if (code.category() != error_category()) return code.message();
  switch (static_cast<errc>(code.value())) {
    case errc::backend_unavailable:
      return "backend_unavailable";
    case errc::timeout:
      return "timeout";
    case errc::protocol:
      return "protocol";
    case errc::value_too_large:
      return "value_too_large";
    case errc::corrupt_value:
      return "corrupt_value";
    case errc::not_stored:
      return "not_stored";
    case errc::config:
      return "config";
    case errc::circuit_open:
      return "circuit_open";
    case errc::outbox_full:
      return "outbox_full";
  }
  return code.message();
}

void register_errors(py::module_& module) {
  // pybind11 tries the most recently registered translator first, so the base class goes
  // first and each subclass is caught as itself.
  auto& base = py::register_exception<gencache::error>(module, "Error");
  py::register_exception<gencache::config_error>(module, "ConfigError", base);
  // Kept for the life of the process (translators run until the interpreter exits).
  static py::handle backend_error_type =
      py::exception<gencache::backend_error>(module, "BackendError", base).release();
  py::register_exception_translator([](std::exception_ptr raised) {
    try {
      if (raised) std::rethrow_exception(raised);
    } catch (const gencache::bump_namespaces_error& error) {
      // Exactly which namespaces were not bumped, and the generations of the others
      // (0 where not bumped), so the caller can retry just those.
      py::object instance = backend_error_type(error.what());
      instance.attr("code") = error_code_name(error.code());
      py::list not_bumped;
      for (const Namespace& ns : error.not_bumped()) not_bumped.append(ns.name());
      instance.attr("not_bumped") = not_bumped;
      instance.attr("generations") = py::cast(error.generations());
      PyErr_SetObject(backend_error_type.ptr(), instance.ptr());
    } catch (const gencache::backend_error& error) {
      py::object instance = backend_error_type(error.what());
      instance.attr("code") = error_code_name(error.code());
      PyErr_SetObject(backend_error_type.ptr(), instance.ptr());
    }
  });
}

}  // namespace gencache::python
