# Configure, build and test the sanitized self-test project in BIN.
# cmake -DSRC=... -DBIN=... -DRC_SRC=... -P run.cmake
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${BIN} -DRC_SRC=${RC_SRC} -DCMAKE_BUILD_TYPE=Debug
                RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "configure failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BIN} -j 2 RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "build failed")
endif()
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --output-on-failure WORKING_DIRECTORY ${BIN} RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "sanitized tests failed")
endif()
