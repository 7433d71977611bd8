# GENCACHE_BUILD_PYTHON: the Python package (python/), on by default when pybind11
# (Debian: pybind11-dev) and the Python headers (python3-dev) are found. The interpreter
# is Debian's /usr/bin/python3 unless Python3_EXECUTABLE says otherwise, so that the
# module is built for the Python the tests and Django use, not another one first on PATH.
# Sanitizer and fuzzer builds leave it out (the module would need the sanitizer runtime
# preloaded into Python), and so does a project that includes gencache with
# add_subdirectory, as for the tests.

if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "The Python the gencache module is built for")
endif()
find_package(Python3 COMPONENTS Interpreter Development.Module QUIET)
if(Python3_FOUND)
  find_package(pybind11 2.10 CONFIG QUIET)
endif()

set(_gencache_python_default OFF)
if(Python3_FOUND AND pybind11_FOUND AND GENCACHE_TOP_LEVEL AND NOT GENCACHE_SANITIZE
   AND NOT GENCACHE_BUILD_FUZZERS)
  set(_gencache_python_default ON)
endif()
option(GENCACHE_BUILD_PYTHON "Build the gencache Python module (pybind11)" ${_gencache_python_default})

if(GENCACHE_BUILD_PYTHON AND NOT (Python3_FOUND AND pybind11_FOUND))
  message(FATAL_ERROR "GENCACHE_BUILD_PYTHON needs Python 3 with its headers and pybind11: "
                      "apt-get install python3-dev pybind11-dev")
endif()
