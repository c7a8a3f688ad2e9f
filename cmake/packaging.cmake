# Install rules, the exported CMake package (find_package(reachcheck):
# reachcheck::reachcheck, reachcheck::launcher, reachcheck_add_test()) and
# the pkg-config file. Included from the top-level CMakeLists.txt after the
# reachcheck_rt and reachcheck targets are defined.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The launcher looks for the runtime in ../lib next to bin/ (tools/launcher.c),
# so the library goes to lib/, not to Debian's multiarch libdir.
set(RC_INSTALL_LIBDIR lib CACHE STRING "where libreachcheck.so is installed (relative to the prefix)")
set(RC_INSTALL_CMAKEDIR ${RC_INSTALL_LIBDIR}/cmake/reachcheck)

# Exported names: reachcheck::reachcheck (the library), reachcheck::launcher.
# Consumers that link the library call the API directly (REACHCHECK_LINKED).
set_target_properties(reachcheck_rt PROPERTIES EXPORT_NAME reachcheck)
set_target_properties(reachcheck PROPERTIES EXPORT_NAME launcher)
target_compile_definitions(reachcheck_rt INTERFACE REACHCHECK_LINKED=1)
# reachcheck::headers: the headers alone, for programs run under the
# launcher; the RC_* macros find the runtime at run time.
add_library(reachcheck_headers INTERFACE)
set_target_properties(reachcheck_headers PROPERTIES EXPORT_NAME headers)
target_include_directories(reachcheck_headers INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(reachcheck_headers INTERFACE ${CMAKE_DL_LIBS})
add_library(reachcheck::reachcheck ALIAS reachcheck_rt)
add_library(reachcheck::headers ALIAS reachcheck_headers)
add_executable(reachcheck::launcher ALIAS reachcheck)

install(TARGETS reachcheck_rt reachcheck reachcheck_headers EXPORT reachcheckTargets
  LIBRARY DESTINATION ${RC_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES
  ${PROJECT_SOURCE_DIR}/include/reachcheck.h
  ${PROJECT_SOURCE_DIR}/include/reachcheck_cmocka.h
  ${PROJECT_SOURCE_DIR}/include/reachcheck_check.h
  ${PROJECT_SOURCE_DIR}/include/reachcheck_gtest.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/api.md DESTINATION ${CMAKE_INSTALL_DOCDIR} OPTIONAL)

# Package files for the install tree and for the build tree (so a consumer
# can point reachcheck_DIR at the build directory without installing).
install(EXPORT reachcheckTargets NAMESPACE reachcheck:: DESTINATION ${RC_INSTALL_CMAKEDIR})
export(EXPORT reachcheckTargets NAMESPACE reachcheck:: FILE ${PROJECT_BINARY_DIR}/reachcheckTargets.cmake)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/reachcheckConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
configure_file(${CMAKE_CURRENT_LIST_DIR}/reachcheckConfig.cmake ${PROJECT_BINARY_DIR}/reachcheckConfig.cmake COPYONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/reachcheckFunctions.cmake ${PROJECT_BINARY_DIR}/reachcheckFunctions.cmake
  COPYONLY)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/reachcheckConfig.cmake ${CMAKE_CURRENT_LIST_DIR}/reachcheckFunctions.cmake
  ${PROJECT_BINARY_DIR}/reachcheckConfigVersion.cmake DESTINATION ${RC_INSTALL_CMAKEDIR})

# pkg-config: `pkg-config --cflags --libs reachcheck`; the launcher's path is
# `pkg-config --variable=launcher reachcheck`.
# Relocatable: the prefix is found from the .pc file's own directory, so
# `cmake --install build --prefix DIR` gives a working file.
file(RELATIVE_PATH RC_PC_TO_PREFIX /rc-prefix/${RC_INSTALL_LIBDIR}/pkgconfig /rc-prefix)
configure_file(${CMAKE_CURRENT_LIST_DIR}/reachcheck.pc.in ${PROJECT_BINARY_DIR}/install-files/reachcheck.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/install-files/reachcheck.pc DESTINATION ${RC_INSTALL_LIBDIR}/pkgconfig)

# reachcheck_add_test() for this project's own tests.
include(${CMAKE_CURRENT_LIST_DIR}/reachcheckFunctions.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/packaging_compat.cmake)
