# reachcheck_add_test(NAME <name> COMMAND <program> [args...]
#                     [OPTIONS <key=value>...] [WORKING_DIRECTORY <dir>])
#
# Adds a CTest test that runs <program> under the reachcheck launcher, like
# `reachcheck --key=value ... -- <program> args...`. <program> may be a target
# name (as in add_test). The test fails when the program fails, including
# when reachcheck finds leaks at exit (exit status 23 by default; OPTIONS
# exitcode=N changes it). Example:
#   reachcheck_add_test(NAME unit.leaks COMMAND unit_tests --gtest_brief=1
#                       OPTIONS suppressions=${CMAKE_CURRENT_SOURCE_DIR}/rc.supp)
function(reachcheck_add_test)
  cmake_parse_arguments(RCT "" "NAME;WORKING_DIRECTORY" "COMMAND;OPTIONS" ${ARGN})
  if(NOT RCT_NAME OR NOT RCT_COMMAND)
    message(FATAL_ERROR "reachcheck_add_test: NAME and COMMAND are required")
  endif()
  if(RCT_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "reachcheck_add_test: unknown arguments ${RCT_UNPARSED_ARGUMENTS}")
  endif()
  list(POP_FRONT RCT_COMMAND prog)
  if(TARGET ${prog})
    set(prog $<TARGET_FILE:${prog}>)
  endif()
  set(flags)
  foreach(o IN LISTS RCT_OPTIONS)
    list(APPEND flags --${o})
  endforeach()
  set(wd)
  if(RCT_WORKING_DIRECTORY)
    set(wd WORKING_DIRECTORY ${RCT_WORKING_DIRECTORY})
  endif()
  add_test(NAME ${RCT_NAME} COMMAND $<TARGET_FILE:reachcheck::launcher> ${flags} -- ${prog} ${RCT_COMMAND} ${wd})
  set_property(TEST ${RCT_NAME} APPEND PROPERTY LABELS reachcheck)
endfunction()
