# The one family of helpers every tests/*/CMakeLists.txt uses (included once
# by tests/CMakeLists.txt; the label scheme is described there).
#
#   rc_test_program(<target> SOURCES <file>... [SHARED|MODULE|STATIC]
#                   [LIBS <lib>...] [FLAGS <option>...] [CODEGEN <option>...]
#                   [INCLUDES <dir>...] [DEFINES <def>...] [OUTPUT_NAME <name>])
#       A test program (or library) built the way leak tests need:
#       ${RC_TEST_CODEGEN} (-O0 -fno-builtin -fno-inline -fno-omit-frame-pointer:
#       gcc keeps every malloc/free pair and every store, and never inlines
#       the noinline helpers that leak blocks, see tests/rc_test.h), then
#       ${RC_TEST_WARNINGS}, then FLAGS. CODEGEN replaces ${RC_TEST_CODEGEN}
#       (the unwinder's harness is built at -O2/-O3, with and without frame
#       pointers); `CODEGEN` with no value keeps the build type's flags only.
#       tests/ is on the include path (rc_test.h); the program links
#       Threads and libdl besides LIBS. C11 with GNU extensions, C++17.
#
#   rc_test_case(<test> LABELS <label>... [TIMEOUT <s>] [PRELOAD]
#                <run_case.py arguments>...)
#       The program run under the launcher (or LD_PRELOAD'ed with PRELOAD) by
#       tests/run_case.py, which checks exact counts from the JSON report.
#       TIMEOUT defaults to 60 s; run_case.py gets 5 s less, so a hang
#       fails with its message, not as a CTest timeout.
#
#   rc_test_command(<test> LABELS <label>... [TIMEOUT <s>] [ENVIRONMENT <k=v>...]
#                   [FAIL_REGEX <re>...] [WILL_FAIL] [SKIP_RETURN_CODE <n>]
#                   COMMAND <argv>...)
#       Any other test command (a harness script, a program that checks
#       itself). TIMEOUT defaults to 60 s.
#
#   rc_test_labels(<test>... LABELS <label>...)
#       Labels for tests made by other means (reachcheck_add_test of the
#       package, which the API tests exercise as users call it).
#
#   rc_test_line(<var> <file> <tag>)
#       The number of the line of <file> (relative to the current source
#       directory) that contains <tag>, for exact file:line expectations.
#
# Every label must be a layer or a kind (below), and every test needs at
# least one layer label: a typo or a forgotten layer stops the configure.
include_guard(GLOBAL)
find_package(Python3 COMPONENTS Interpreter REQUIRED)
find_package(Threads REQUIRED)

set(RC_TESTS_DIR ${CMAKE_CURRENT_LIST_DIR}/.. CACHE INTERNAL "")
get_filename_component(RC_TESTS_DIR ${RC_TESTS_DIR} ABSOLUTE)

# The layers: the folders of the code (tests/lint/layers.py ranks them), so
# a new folder is a new label, and rc.lint.labels wants a test for it.
file(GLOB _rc_core_dirs LIST_DIRECTORIES true RELATIVE ${PROJECT_SOURCE_DIR}/core ${PROJECT_SOURCE_DIR}/core/*)
set(RC_TEST_LAYERS scanners symbols tools)
foreach(d IN LISTS _rc_core_dirs)
  if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/core/${d})
    list(APPEND RC_TEST_LAYERS ${d})
  endif()
endforeach()
# The kinds: how a test runs (`make stress` is -L stress, `make test` -LE stress).
set(RC_TEST_KINDS case api real unwind fault hostile fuzz asan stress lint reachcheck compat)

set(RC_TEST_CODEGEN -O0 -g -fno-builtin -fno-inline -fno-omit-frame-pointer)
set(RC_TEST_WARNINGS -Wall -Wno-unused-variable -Wno-unused-but-set-variable -Wno-deprecated-declarations
    -Wno-free-nonheap-object -Wno-use-after-free -Wno-alloc-size-larger-than -Wno-infinite-recursion
    -Wno-unused-result)
set(RC_RUN_CASE ${Python3_EXECUTABLE} ${RC_TESTS_DIR}/run_case.py)

function(_rc_test_check_labels test)
  set(layer FALSE)
  foreach(l IN LISTS ARGN)
    if(l IN_LIST RC_TEST_LAYERS)
      set(layer TRUE)
    elseif(NOT l IN_LIST RC_TEST_KINDS)
      message(FATAL_ERROR "test ${test}: label '${l}' is neither a layer (${RC_TEST_LAYERS}) nor a kind "
                          "(${RC_TEST_KINDS}); see tests/CMakeLists.txt")
    endif()
  endforeach()
  if(NOT layer)
    message(FATAL_ERROR "test ${test}: no layer label (one of ${RC_TEST_LAYERS}); see tests/CMakeLists.txt")
  endif()
endfunction()

function(rc_test_program target)
  cmake_parse_arguments(P "SHARED;MODULE;STATIC" "OUTPUT_NAME" "SOURCES;LIBS;FLAGS;CODEGEN;INCLUDES;DEFINES" ${ARGN})
  if(P_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "rc_test_program(${target}): unexpected ${P_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "rc_test_program(${target}): no SOURCES")
  endif()
  if(P_SHARED)
    add_library(${target} SHARED ${P_SOURCES})
  elseif(P_MODULE)
    add_library(${target} MODULE ${P_SOURCES})
  elseif(P_STATIC)
    add_library(${target} STATIC ${P_SOURCES})
  else()
    add_executable(${target} ${P_SOURCES})
  endif()
  if(DEFINED P_CODEGEN OR "CODEGEN" IN_LIST P_KEYWORDS_MISSING_VALUES)
    set(codegen ${P_CODEGEN})
  else()
    set(codegen ${RC_TEST_CODEGEN})
  endif()
  target_compile_options(${target} PRIVATE ${codegen} ${RC_TEST_WARNINGS} ${P_FLAGS})
  target_include_directories(${target} PRIVATE ${RC_TESTS_DIR} ${P_INCLUDES})
  if(P_DEFINES)
    target_compile_definitions(${target} PRIVATE ${P_DEFINES})
  endif()
  target_link_libraries(${target} PRIVATE ${P_LIBS} Threads::Threads ${CMAKE_DL_LIBS})
  set_target_properties(${target} PROPERTIES C_STANDARD 11 C_EXTENSIONS ON CXX_STANDARD 17)
  if(P_OUTPUT_NAME)
    set_target_properties(${target} PROPERTIES OUTPUT_NAME ${P_OUTPUT_NAME})
  endif()
endfunction()

function(rc_test_command test)
  cmake_parse_arguments(T "WILL_FAIL" "TIMEOUT;SKIP_RETURN_CODE" "LABELS;ENVIRONMENT;FAIL_REGEX;COMMAND" ${ARGN})
  if(T_UNPARSED_ARGUMENTS OR NOT T_COMMAND)
    message(FATAL_ERROR "rc_test_command(${test}): want LABELS ... COMMAND ..., got ${T_UNPARSED_ARGUMENTS}")
  endif()
  _rc_test_check_labels(${test} ${T_LABELS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_test(NAME ${test} COMMAND ${T_COMMAND})
  set_tests_properties(${test} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}")
  if(T_ENVIRONMENT)
    set_tests_properties(${test} PROPERTIES ENVIRONMENT "${T_ENVIRONMENT}")
  endif()
  if(T_FAIL_REGEX)
    set_tests_properties(${test} PROPERTIES FAIL_REGULAR_EXPRESSION "${T_FAIL_REGEX}")
  endif()
  if(T_WILL_FAIL)
    set_tests_properties(${test} PROPERTIES WILL_FAIL TRUE)
  endif()
  if(T_SKIP_RETURN_CODE)
    set_tests_properties(${test} PROPERTIES SKIP_RETURN_CODE ${T_SKIP_RETURN_CODE})
  endif()
endfunction()

function(rc_test_case test)
  # LABELS takes the lower-case words that follow it; TIMEOUT and PRELOAD may
  # come before or after them; the first other argument starts run_case.py's.
  set(labels)
  set(timeout 60)
  set(how --launcher $<TARGET_FILE:reachcheck>)
  set(args)
  set(mode keywords)
  foreach(a IN LISTS ARGN)
    if(mode STREQUAL "args")
      list(APPEND args "${a}")
    elseif(mode STREQUAL "timeout")
      set(timeout ${a})
      set(mode keywords)
    elseif(a STREQUAL "LABELS")
      set(mode labels)
    elseif(a STREQUAL "TIMEOUT")
      set(mode timeout)
    elseif(a STREQUAL "PRELOAD")
      set(how --preload $<TARGET_FILE:reachcheck_rt>)
      set(mode keywords)
    elseif(mode STREQUAL "labels" AND a MATCHES "^[a-z_]+$")
      list(APPEND labels ${a})
    else()
      set(mode args)
      list(APPEND args "${a}")
    endif()
  endforeach()
  math(EXPR inner "${timeout} - 5")
  rc_test_command(${test} LABELS ${labels} TIMEOUT ${timeout}
                  COMMAND ${RC_RUN_CASE} ${how} --timeout ${inner} ${args})
endfunction()

function(rc_test_labels)
  cmake_parse_arguments(L "" "" "LABELS" ${ARGN})
  foreach(test IN LISTS L_UNPARSED_ARGUMENTS)
    _rc_test_check_labels(${test} ${L_LABELS})
    set_property(TEST ${test} APPEND PROPERTY LABELS ${L_LABELS})
  endforeach()
endfunction()

function(rc_test_line var file tag)
  file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/${file} lines)
  set(n 0)
  foreach(l IN LISTS lines)
    math(EXPR n "${n} + 1")
    string(FIND "${l}" "${tag}" at)
    if(NOT at EQUAL -1)
      set(${var} ${n} PARENT_SCOPE)
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "no ${tag} in ${file}")
endfunction()
