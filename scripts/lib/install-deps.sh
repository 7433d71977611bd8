# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: the Debian 12 packages gencache needs, and a
# function that installs only the missing ones.

# shellcheck disable=SC2034  # the lists are used by the scripts that source this file

# To configure and build the library, the examples, the tests and the benchmarks (the
# top-level CMake project needs GoogleTest and Google Benchmark to configure).
GENCACHE_BUILD_PACKAGES=(
  cmake ninja-build g++ pkg-config
  libmemcached-dev libhiredis-dev libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libfmt-dev libssl-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  python3-dev pybind11-dev
)
# Only to run the tests: they start their own memcached and redis servers; clang and its
# libFuzzer runtime build the fuzz targets (scripts/test fuzz).
GENCACHE_TEST_PACKAGES=(memcached redis-server python3 clang libclang-rt-14-dev)
# The interop test runs a Python client (pymemcache); the package test builds a .deb
# (cpack, dpkg-shlibdeps, file).
GENCACHE_TEST_PACKAGES+=(python3-pymemcache dpkg-dev file)
# The Python module's tests: pytest, and a Django + DRF app (tests/python/).
GENCACHE_TEST_PACKAGES+=(python3-pytest python3-django python3-djangorestframework)
# The TLS tests of the asynchronous Memcached client make their certificate with `openssl req`.
GENCACHE_TEST_PACKAGES+=(openssl)
# The Redis tests: redis-cli makes the clusters, and the interop test's Python client speaks
# to a cluster through redis-py.
GENCACHE_TEST_PACKAGES+=(redis-tools python3-redis)
# The test programs link with lld (tests/CMakeLists.txt says why).
GENCACHE_TEST_PACKAGES+=(lld)
# Only for scripts/bench: the servers, Python for benchmarks/report.py, gnuplot for the
# chart, valgrind for instruction counts.
GENCACHE_BENCH_PACKAGES=(memcached redis-server python3 gnuplot-nox valgrind)
# benchmarks/django_bench.py: Django, and redis-py for the django-redis style pattern delete.
GENCACHE_BENCH_PACKAGES+=(python3-django python3-djangorestframework python3-redis)

# install_missing_packages PACKAGE...: apt-get installs the packages dpkg does not know as
# installed; does nothing (and needs no network) when all are there.
install_missing_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    echo "all ${#} required packages are installed"
    return 0
  fi
  local sudo=()
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
      echo "error: missing packages and not root; run as root:" >&2
      echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  echo "installing missing packages: ${missing[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}
