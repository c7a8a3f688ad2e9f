# Issue 15's installation: the compatibility headers (gperftools'
# heap-checker.h under include/reachcheck/compat, so it never shadows a
# real gperftools), the man page generated from the option table, the
# reachcheck::gperftools target, and a .deb through CPack
# (`cpack -G DEB` in the build directory). Included at the end of
# cmake/packaging.cmake.

# reachcheck(1): `reachcheck --help-man`, regenerated whenever the launcher is.
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/reachcheck.1
  COMMAND reachcheck --help-man > ${PROJECT_BINARY_DIR}/reachcheck.1
  DEPENDS reachcheck VERBATIM)
add_custom_target(reachcheck_man ALL DEPENDS ${PROJECT_BINARY_DIR}/reachcheck.1)
install(FILES ${PROJECT_BINARY_DIR}/reachcheck.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

set(RC_COMPAT_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/reachcheck/compat)
install(FILES ${PROJECT_SOURCE_DIR}/include/compat/gperftools/heap-checker.h
  DESTINATION ${RC_COMPAT_INCLUDEDIR}/gperftools)

# reachcheck::gperftools: <gperftools/heap-checker.h> from reachcheck, with
# the runtime linked (link reachcheck::headers instead to run under the
# launcher: add the compat include directory yourself).
add_library(reachcheck_gperftools INTERFACE)
set_target_properties(reachcheck_gperftools PROPERTIES EXPORT_NAME gperftools)
target_include_directories(reachcheck_gperftools INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include/compat> $<INSTALL_INTERFACE:${RC_COMPAT_INCLUDEDIR}>)
target_link_libraries(reachcheck_gperftools INTERFACE reachcheck_rt)
add_library(reachcheck::gperftools ALIAS reachcheck_gperftools)
install(TARGETS reachcheck_gperftools EXPORT reachcheckTargets)

# The .deb: everything `cmake --install` puts under /usr.
set(CPACK_PACKAGE_NAME reachcheck)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "reachcheck maintainers <reachcheck@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "conservative reachability-based leak checker for C and C++")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Preloads libreachcheck.so, which owns the heap, records allocation stacks and\n reports blocks no root reaches at exit. Drop-in for LeakSanitizer's interface\n and gperftools' HeapLeakChecker.")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libgc1, libunwind8, libdw1")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
include(CPack)
