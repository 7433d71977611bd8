// gencache._native: the compiled half of the `gencache` Python package.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include <gencache/namespace.hpp>

#include "errors.hpp"
#include "native_cache.hpp"

namespace py = pybind11;

namespace {

// gencache::ns with its parts already turned into text (integers in decimal by the
// Python side, as std::to_string writes them), so the escaping rule is the C++ one.
std::string namespace_name(const std::string& kind, const std::vector<std::string>& parts) {
  std::string name;
  gencache::detail::append_namespace_part(name, kind);
  for (const std::string& part : parts) {
    name.push_back(':');
    gencache::detail::append_namespace_part(name, part);
  }
  return gencache::Namespace(std::move(name)).name();
}

}  // namespace

PYBIND11_MODULE(_native, module) {
  module.doc() = "gencache's C++ core; import the `gencache` package instead.";
  module.attr("__version__") = GENCACHE_PYTHON_VERSION;
  gencache::python::register_errors(module);
  gencache::python::register_cache(module);
  module.def("namespace_name", &namespace_name, py::arg("kind"), py::arg("parts"),
             "gencache::ns(kind, parts...) with every part given as text.");
}
