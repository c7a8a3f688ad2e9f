# find_package(reachcheck): imports reachcheck::reachcheck (link it to check
# a program without the launcher; defines REACHCHECK_LINKED), the launcher
# reachcheck::launcher, and the CTest helper reachcheck_add_test().
include(CMakeFindDependencyMacro)
include(${CMAKE_CURRENT_LIST_DIR}/reachcheckTargets.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/reachcheckFunctions.cmake)
set(reachcheck_LAUNCHER reachcheck::launcher)
