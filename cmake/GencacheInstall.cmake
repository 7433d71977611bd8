include(CMakePackageConfigHelpers)

install(TARGETS gencache EXPORT gencache-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/gencache DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT gencache-targets NAMESPACE gencache::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gencache)
export(EXPORT gencache-targets NAMESPACE gencache::
       FILE ${PROJECT_BINARY_DIR}/gencache-targets.cmake)

configure_package_config_file(cmake/gencache-config.cmake.in
  ${PROJECT_BINARY_DIR}/gencache-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gencache)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gencache-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gencache-config.cmake
              ${PROJECT_BINARY_DIR}/gencache-config-version.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gencache)

# gencache.pc locates the prefix relative to itself, so a tree installed with
# `cmake --install <build> --prefix <dir>` (or moved) still points at its own headers.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(GENCACHE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(GENCACHE_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(GENCACHE_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _gencache_pc_up "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" _gencache_pc_up "${_gencache_pc_up}")
  set(GENCACHE_PC_PREFIX "\${pcfiledir}/${_gencache_pc_up}")
  set(GENCACHE_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(GENCACHE_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# `pkg-config --libs` (without --static) must be enough to link the static library, so its
# private dependencies are public there; the shared library keeps them private.
get_target_property(_gencache_type gencache TYPE)
if(_gencache_type STREQUAL "STATIC_LIBRARY")
  set(GENCACHE_PC_REQUIRES "Requires: libmemcached libssl libcrypto fmt")
  set(GENCACHE_PC_LIBS "-lboost_json -lboost_url")
  set(GENCACHE_PC_LIBS_PRIVATE "")
else()
  set(GENCACHE_PC_REQUIRES "Requires.private: libmemcached libssl libcrypto fmt")
  set(GENCACHE_PC_LIBS "-lboost_json")
  set(GENCACHE_PC_LIBS_PRIVATE "Libs.private: -lboost_url")
endif()
configure_file(cmake/gencache.pc.in ${PROJECT_BINARY_DIR}/gencache.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/gencache.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
