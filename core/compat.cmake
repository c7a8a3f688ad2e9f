# Issue 15's runtime sources (precision at exit, program-made mappings as
# roots, LeakSanitizer's and gperftools' interfaces), added to the runtime
# target from here so the top-level source list stays as it is. Included
# from the top-level CMakeLists.txt right after reachcheck_rt is defined.
target_sources(reachcheck_rt PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/stackbound.c
  ${CMAKE_CURRENT_LIST_DIR}/mappings.c
  ${CMAKE_CURRENT_LIST_DIR}/compat_lsan.c
  ${CMAKE_CURRENT_LIST_DIR}/compat_gperf.c)
