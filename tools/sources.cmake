# The command-line tools' sources, for tools/CMakeLists.txt and for any other
# build of them (the sanitized one in tests/fuzz/asan): include() this file,
# then rc_tools_sources(VAR) sets VAR to the sources, the generated treemap
# page (assets/, inlined by embed.cmake when one of its files changes)
# included. They need core/base (with its profile.proto writer: zlib),
# symbols/dw.c and dwfl_local.c (libdw's loader and callbacks) and libdw.
set(RC_TOOLS_DIR ${CMAKE_CURRENT_LIST_DIR})

function(rc_tools_sources var)
  set(page ${CMAKE_CURRENT_BINARY_DIR}/treemap_page.c)
  add_custom_command(OUTPUT ${page}
    COMMAND ${CMAKE_COMMAND} -DIN=${RC_TOOLS_DIR}/assets/treemap.html -DOUT=${page} -DNAME=rc_treemap_html
            -P ${RC_TOOLS_DIR}/embed.cmake
    DEPENDS ${RC_TOOLS_DIR}/assets/treemap.html ${RC_TOOLS_DIR}/assets/treemap.css ${RC_TOOLS_DIR}/assets/treemap.js
            ${RC_TOOLS_DIR}/assets/timeline.js
            ${RC_TOOLS_DIR}/embed.cmake
    COMMENT "Inlining the treemap page (tools/assets)" VERBATIM)
  set(src launcher.c tool_diff.c tool_graph.c model.c tsym.c tjson.c tmap.c tool_common.c json_read.c
      pprof_read.c tool_pprof.c tool_top.c)
  list(TRANSFORM src PREPEND ${RC_TOOLS_DIR}/)
  set(${var} ${src} ${page} PARENT_SCOPE)
endfunction()
