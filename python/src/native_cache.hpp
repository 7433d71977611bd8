#pragma once
// gencache._native.Cache: the C++ Cache with values as payload bytes. The Python package
// (python/gencache/cache.py) maps Python values to payloads; this layer only moves bytes
// and manages the GIL: it is released for every backend call and while a single-flight
// follower waits, and held only while Python code (the compute function) runs.

#include <pybind11/pybind11.h>

namespace gencache::python {

/// Registers the Cache class on `module`.
void register_cache(pybind11::module_& module);

}  // namespace gencache::python
