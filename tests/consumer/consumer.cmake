# Drives the consumer tests (see CMakeLists.txt beside this file). Run with cmake -P:
#   -DSTEP=install       -DBUILD_DIR=<gencache build tree> -DCONFIG=<config> -DPREFIX=<dir>
#   -DSTEP=find_package  -DPREFIX=<dir> -DSOURCE_DIR=<find_package/> -DWORK_DIR=<dir>
#                        -DGENERATOR=<gen> -DCXX=<compiler> -DCXX_FLAGS=<flags>
#   -DSTEP=pkg_config    -DPREFIX=<dir> -DLIBDIR=<lib> -DSOURCE=<main.cpp> -DWORK_DIR=<dir>
#                        -DCXX=<compiler> -DCXX_FLAGS=<flags> -DPKG_CONFIG=<pkg-config>
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
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run("${CXX}" ${cxx_flags} "${SOURCE}" ${flags} -o "${WORK_DIR}/consumer")
  run("${WORK_DIR}/consumer")

else()
  message(FATAL_ERROR "consumer test: STEP must be install, find_package or pkg_config, not '${STEP}'")
endif()
