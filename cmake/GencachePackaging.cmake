# A Debian package of everything `cmake --install` puts in place: the headers,
# libgencache.a, the CMake package, gencache.pc and the `gencache` command. Build it in a
# build tree with `cpack -G DEB`; it installs under /usr.
set(GENCACHE_PACKAGE_MAINTAINER "gencache maintainers <gencache@localhost>"
    CACHE STRING "The Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME gencache)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "C++20 cache with ${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "gencache caches expensive results such as API responses in memory or Memcached, and "
    "invalidates every entry of a namespace (user:42, catalog) with one atomic counter "
    "increment. This package holds the C++ headers, the static library with its CMake and "
    "pkg-config files, and the gencache command-line tool.")
set(CPACK_PACKAGE_CONTACT "${GENCACHE_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${GENCACHE_PACKAGE_MAINTAINER}")

# The static library is linked by its users, so they need the development packages of its
# dependencies (keep in step with cmake/GencacheDependencies.cmake). The gencache command's
# run-time libraries are added by dpkg-shlibdeps where it is installed (dpkg-dev).
set(_gencache_deb_depends
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libfmt-dev libssl-dev
    libmemcached-dev)
if(TARGET PkgConfig::hiredis)
  list(APPEND _gencache_deb_depends libhiredis-dev)
endif()
list(JOIN _gencache_deb_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "cmake, pkg-config")
find_program(GENCACHE_DPKG_SHLIBDEPS dpkg-shlibdeps)
mark_as_advanced(GENCACHE_DPKG_SHLIBDEPS)
if(GENCACHE_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()

# `cpack --config CPackSourceConfig.cmake`: the sources without build trees or Git data.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build/" "/\\\\.cache/")

include(CPack)
