#include "native_cache.hpp"

#include <pybind11/stl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gencache/cache.hpp>

#include "errors.hpp"

namespace py = pybind11;

namespace gencache::python {
namespace {

// A payload is the encoded bytes of a value; std::nullopt is Python's None, stored as an
// "absent" entry (PROTOCOL.md, "Python values").
using Payload = std::optional<std::string>;

NamespaceSet namespace_set(const std::vector<std::string>& names) {
  std::vector<Namespace> namespaces;
  namespaces.reserve(names.size());
  for (const std::string& name : names) namespaces.emplace_back(name);
  return NamespaceSet(std::move(namespaces));
}

py::object to_python(const Payload& payload) {
  if (!payload) return py::none();
  return py::bytes(*payload);
}

// Keeps a Python object alive from C++ code that may run without the GIL (another thread,
// a destructor): the last owner releases it with the GIL taken.
std::shared_ptr<py::object> hold_with_gil(py::object object) {
  return {new py::object(std::move(object)), [](py::object* held) {
            py::gil_scoped_acquire acquire;
            delete held;
          }};
}

// CacheOptions whose error hook, when `on_error` is not None, calls
// on_error(operation, code, message) with the GIL taken. Hooks must not throw: an
// exception from it goes to sys.unraisablehook and the cache carries on.
CacheOptions options_with_hook(const py::object& on_error) {
  CacheOptions options;
  if (on_error.is_none()) return options;
  options.on_error = [hook = hold_with_gil(on_error)](const ErrorEvent& event) {
    py::gil_scoped_acquire acquire;
    try {
      (*hook)(std::string(event.operation), error_code_name(event.code), event.message);
    } catch (py::error_already_set& error) {
      error.discard_as_unraisable("gencache error hook");
    } catch (const std::exception&) {
      // A conversion failed; nothing useful to report from inside the hook.
    }
  };
  return options;
}

// A Python exception raised by a compute function, carried through the C++ Cache as a C++
// exception. Single-flight rethrows one exception in every waiting thread, and pybind11's
// error_already_set may be restored only once, so each thread re-raises it from these
// saved objects instead. The objects are released with the GIL held.
struct ComputeRaised {
  std::shared_ptr<py::object> type, value, trace;

  explicit ComputeRaised(const py::error_already_set& error)
      : type(hold_with_gil(error.type())),
        value(hold_with_gil(error.value())),
        trace(hold_with_gil(error.trace())) {}

  // Sets the Python error again (the GIL must be held); pybind11 then raises it.
  [[noreturn]] void raise() const {
    PyErr_Restore(type->inc_ref().ptr(), value->inc_ref().ptr(), trace->inc_ref().ptr());
    throw py::error_already_set();
  }
};

py::tuple get(Cache& cache, const std::string& key, const std::vector<std::string>& names) {
  std::optional<Payload> found;
  {
    py::gil_scoped_release release;
    found = cache.get<Payload>(key, namespace_set(names));
  }
  if (!found) return py::make_tuple(false, py::none());
  return py::make_tuple(true, to_python(*found));
}

py::object cached(Cache& cache, const std::string& key, const std::vector<std::string>& names,
                  std::int64_t ttl_ms, const py::function& compute) {
  // Runs on this thread only, when this caller computes; the GIL is taken just for it, so
  // other Python threads (single-flight followers included) never wait on it otherwise.
  auto compute_payload = [&compute]() -> Payload {
    py::gil_scoped_acquire acquire;
    py::object result;
    try {
      result = compute();
    } catch (const py::error_already_set& error) {
      throw ComputeRaised(error);
    }
    if (result.is_none()) return std::nullopt;
    if (!py::isinstance<py::bytes>(result))
      throw py::type_error("gencache: the compute wrapper must return bytes or None");
    return result.cast<std::string>();
  };
  Payload payload;
  try {
    py::gil_scoped_release release;
    payload =
        cache.cached(key, namespace_set(names), std::chrono::milliseconds(ttl_ms), compute_payload);
  } catch (const ComputeRaised& raised) {
    raised.raise();  // the GIL is held again here: `release` has been destroyed
  }
  return to_python(payload);
}

void set(Cache& cache, const std::string& key, const std::vector<std::string>& names,
         const Payload& payload, std::int64_t ttl_ms) {
  py::gil_scoped_release release;
  cache.set(key, namespace_set(names), payload, std::chrono::milliseconds(ttl_ms));
}

py::dict stats_dict(const Stats& s) {
  py::dict d;
  d["hits"] = s.hits;
  d["misses"] = s.misses;
  d["sets"] = s.sets;
  d["bumps"] = s.bumps;
  d["errors"] = s.errors;
  d["corrupt"] = s.corrupt;
  d["counter_recreations"] = s.counter_recreations;
  d["oversized"] = s.oversized;
  d["computes"] = s.computes;
  d["round_trips"] = s.round_trips;
  d["stale_served"] = s.stale_served;
  d["early_refreshes"] = s.early_refreshes;
  d["coalesced"] = s.coalesced;
  d["lease_waits"] = s.lease_waits;
  d["breaker_opens"] = s.breaker_opens;
  d["breaker_closes"] = s.breaker_closes;
  d["breaker_rejections"] = s.breaker_rejections;
  d["outbox_retried"] = s.outbox_retried;
  d["outbox_overflows"] = s.outbox_overflows;
  d["outbox_pending"] = s.outbox_pending;
  return d;
}

}  // namespace

void register_cache(py::module_& module) {
  using without_gil = py::call_guard<py::gil_scoped_release>;
  py::class_<Cache>(module, "Cache",
                    "The C++ gencache::Cache, values as payload bytes; use gencache.Cache.")
      .def_static(
          "from_url",
          [](const std::string& url, const py::object& on_error) {
            CacheOptions options = options_with_hook(on_error);
            py::gil_scoped_release unlocked;
            return Cache::from_url(url, std::move(options));
          },
          py::arg("url"), py::arg("on_error") = py::none(),
          "Cache::from_url; raises ConfigError naming what is wrong in the URL.")
      .def_static(
          "from_env",
          [](const py::object& on_error) {
            CacheOptions options = options_with_hook(on_error);
            py::gil_scoped_release unlocked;
            return Cache::from_env(std::move(options));
          },
          py::arg("on_error") = py::none(),
          "Cache::from_env: GENCACHE_URL, or memory:// when it is unset or empty.")
      .def("get", &get, py::arg("key"), py::arg("namespaces"),
           "(found, payload): payload None for a cached None; (False, None) on a miss or a "
           "backend failure.")
      .def("cached", &cached, py::arg("key"), py::arg("namespaces"), py::arg("ttl_ms"),
           py::arg("compute"),
           "Cache::cached; compute returns the payload (bytes, or None for None).")
      .def("set", &set, py::arg("key"), py::arg("namespaces"), py::arg("payload"),
           py::arg("ttl_ms"), "Cache::set; a backend failure leaves the cache unchanged.")
      .def(
          "bump_namespace",
          [](Cache& cache, const std::string& name) {
            return cache.bump_namespace(Namespace(name));
          },
          py::arg("name"), without_gil(), "Cache::bump_namespace; raises BackendError on failure.")
      .def(
          "bump_namespaces",
          [](Cache& cache, const std::vector<std::string>& names) {
            std::vector<Namespace> namespaces(names.begin(), names.end());
            py::gil_scoped_release unlocked;
            return cache.bump_namespaces(namespaces);
          },
          py::arg("names"),
          "Cache::bump_namespaces; raises BackendError (with not_bumped and generations) when "
          "any failed.")
      .def(
          "generation",
          [](Cache& cache, const std::string& name) { return cache.generation(Namespace(name)); },
          py::arg("name"), without_gil(), "Cache::generation; raises BackendError on failure.")
      .def(
          "flush_pending_bumps",
          [](Cache& cache, double timeout_s) {
            return cache.flush_pending_bumps(
                std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000)));
          },
          py::arg("timeout_s"), without_gil(), "Cache::flush_pending_bumps.")
      .def(
          "stats", [](const Cache& cache) { return stats_dict(cache.stats()); },
          "Cache::stats as a dict of counter name to value.")
      .def(
          "describe", [](const Cache& cache) { return cache.backend().describe(); },
          "The backend, as Backend::describe says it (credentials redacted).");
}

}  // namespace gencache::python
