include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS stealpool stealpool_static
  EXPORT stealpoolTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT stealpoolTargets
  NAMESPACE stealpool::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stealpool)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/stealpoolConfig.cmake.in
  ${PROJECT_BINARY_DIR}/stealpoolConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stealpool)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/stealpoolConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/stealpoolConfig.cmake
  ${PROJECT_BINARY_DIR}/stealpoolConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stealpool)

# Static linking needs the libraries behind the runtime; the public headers
# need none of them.
set(SP_PC_LIBS_PRIVATE "-lck -lpthread")
if(SP_USE_JEMALLOC)
  string(PREPEND SP_PC_LIBS_PRIVATE "-ljemalloc ")
endif()
file(RELATIVE_PATH SP_PC_PREFIX_FROM_PCDIR
  "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" SP_PC_PREFIX_FROM_PCDIR "${SP_PC_PREFIX_FROM_PCDIR}")

configure_file(${PROJECT_SOURCE_DIR}/cmake/stealpool.pc.in
  ${PROJECT_BINARY_DIR}/stealpool.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/stealpool.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
