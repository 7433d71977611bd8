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

configure_file(cmake/gencache.pc.in ${PROJECT_BINARY_DIR}/gencache.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/gencache.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
