# Drives the consumer tests (see CMakeLists.txt beside this file). Run with cmake -P:
#   -DSTEP=install       -DBUILD_DIR=<gencache build tree> -DCONFIG=<config> -DPREFIX=<dir>
#   -DSTEP=find_package  -DPREFIX=<dir> -DSOURCE_DIR=<find_package/> -DWORK_DIR=<dir>
#                        -DGENERATOR=<gen> -DCXX=<compiler> -DCXX_FLAGS=<flags>
#   -DSTEP=pkg_config    -DPREFIX=<dir> -DLIBDIR=<lib> -DSOURCE=<main.cpp> -DWORK_DIR=<dir>
#                        -DCXX=<compiler> -DCXX_FLAGS=<flags> -DPKG_CONFIG=<pkg-config>
#   -DSTEP=add_subdirectory  -DGENCACHE_SOURCE_DIR=<repo> -DSOURCE_DIR=<add_subdirectory/>
#                        -DWORK_DIR=<dir> -DGENERATOR=<gen> -DCXX=<compiler>
#   -DSTEP=deb           -DBUILD_DIR=<gencache build tree> -DCPACK=<cpack> -DWORK_DIR=<dir>
#                        -DVERSION=<x.y.z> -DWITH_CLI=<ON|OFF>
cmake_minimum_required(VERSION 3.25)

# Runs a command, echoing it; any failure fails the test.
function(run)
  execute_process(COMMAND ${ARGN} COMMAND_ECHO STDOUT RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "consumer test: '${command}' failed: ${status}")
  endif()
endfunction()

separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS}")

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE "${PREFIX}")
  run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --config "${CONFIG}" --prefix "${PREFIX}")

elseif(STEP STREQUAL "find_package")
  file(REMOVE_RECURSE "${WORK_DIR}")
  run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}" -G "${GENERATOR}"
      "-DCMAKE_PREFIX_PATH=${PREFIX}" "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
  # The package must come from the scratch prefix, not from a copy installed elsewhere.
  file(STRINGS "${WORK_DIR}/CMakeCache.txt" found REGEX "^gencache_DIR:")
  string(FIND "${found}" "${PREFIX}/" at)
  if(NOT at GREATER 0)
    message(FATAL_ERROR "consumer test: find_package found '${found}', not the copy in ${PREFIX}")
  endif()
  run("${CMAKE_COMMAND}" --build "${WORK_DIR}")
  run("${WORK_DIR}/consumer")

elseif(STEP STREQUAL "pkg_config")
  file(REMOVE_RECURSE "${WORK_DIR}")
  file(MAKE_DIRECTORY "${WORK_DIR}")
  set(ENV{PKG_CONFIG_PATH} "${PREFIX}/${LIBDIR}/pkgconfig")
  execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs gencache
                  OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "consumer test: pkg-config --cflags --libs gencache failed: ${status}")
  endif()
  message(STATUS "pkg-config --cflags --libs gencache: ${flags}")
  string(FIND "${flags}" "-I${PREFIX}/" at)
  if(at LESS 0)
    message(FATAL_ERROR "consumer test: gencache.pc does not point into ${PREFIX}: ${flags}")
  endif()
  # The consumer picks its language standard; a -std= here would silently override a
  # C++23 build's (the CMake target states cxx_std_20 as a minimum instead).
  string(FIND "${flags}" "-std=" forced)
  if(NOT forced LESS 0)
    message(FATAL_ERROR "consumer test: gencache.pc forces a language standard: ${flags}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run("${CXX}" -std=c++2b ${cxx_flags} "${SOURCE}" ${flags} -o "${WORK_DIR}/consumer")
  run("${WORK_DIR}/consumer")

elseif(STEP STREQUAL "add_subdirectory")
  # What is particular to a subproject is checked: that gencache configures inside another
  # project (its CMakeLists.txt uses no top-level-only variable, and builds none of its
  # tests, examples, benchmarks or tools there: the consumer's CMakeLists.txt checks), and
  # that gencache::gencache gives a consumer's source what it needs to compile (include
  # directories, C++20). The library itself is not built again: the same CMakeLists.txt
  # builds and links it in the enclosing build, whose test programs link the same target,
  # and building it here took a minute of the test stage.
  file(REMOVE_RECURSE "${WORK_DIR}")
  run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}" -G "${GENERATOR}"
      "-DGENCACHE_SOURCE_DIR=${GENCACHE_SOURCE_DIR}" "-DCMAKE_CXX_COMPILER=${CXX}")
  if(NOT GENERATOR STREQUAL "Ninja")
    message(FATAL_ERROR "consumer test: the add_subdirectory step expects Ninja, not ${GENERATOR}")
  endif()
  # The consumer's object file, named as the Ninja generator names it.
  file(STRINGS "${WORK_DIR}/build.ninja" object_rule REGEX "^build [^:]*consumer\\.dir[^:]*main\\.cpp\\.o:")
  if(NOT object_rule MATCHES "^build ([^:]+):")
    message(FATAL_ERROR "consumer test: no rule for the consumer's main.cpp.o in ${WORK_DIR}/build.ninja")
  endif()
  run("${CMAKE_COMMAND}" --build "${WORK_DIR}" --target "${CMAKE_MATCH_1}")

elseif(STEP STREQUAL "deb")
  file(REMOVE_RECURSE "${WORK_DIR}")
  run("${CPACK}" -G DEB -B "${WORK_DIR}" --config "${BUILD_DIR}/CPackConfig.cmake")
  file(GLOB debs "${WORK_DIR}/*.deb")
  list(LENGTH debs count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "consumer test: cpack made ${count} .deb files in ${WORK_DIR}, expected 1")
  endif()
  execute_process(COMMAND dpkg-deb -c "${debs}" OUTPUT_VARIABLE contents RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "consumer test: dpkg-deb -c ${debs} failed: ${status}")
  endif()
  message(STATUS "dpkg-deb -c ${debs}:\n${contents}")
  set(expected
      "./usr/include/gencache/gencache.hpp" "./usr/include/gencache/cache.hpp"
      "./usr/lib/libgencache.a" "./usr/lib/cmake/gencache/gencache-config.cmake"
      "./usr/lib/cmake/gencache/gencache-config-version.cmake"
      "./usr/lib/cmake/gencache/gencache-targets.cmake" "./usr/lib/pkgconfig/gencache.pc")
  if(WITH_CLI)
    list(APPEND expected "./usr/bin/gencache")
  endif()
  foreach(path ${expected})
    string(FIND "${contents}" " ${path}\n" at)
    if(at LESS 0)
      message(FATAL_ERROR "consumer test: the package lacks ${path}")
    endif()
  endforeach()
  foreach(field Version Depends)
    execute_process(COMMAND dpkg-deb -f "${debs}" ${field} OUTPUT_VARIABLE value
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    message(STATUS "${field}: ${value}")
    set(deb_${field} "${value}")
  endforeach()
  if(NOT deb_Version STREQUAL VERSION)
    message(FATAL_ERROR "consumer test: the package has version '${deb_Version}', expected ${VERSION}")
  endif()
  string(FIND "${deb_Depends}" "libmemcached-dev" at)
  if(at LESS 0)
    message(FATAL_ERROR "consumer test: the package does not depend on libmemcached-dev: ${deb_Depends}")
  endif()

else()
  message(FATAL_ERROR "consumer test: STEP must be install, find_package, pkg_config, add_subdirectory or deb, not '${STEP}'")
endif()
