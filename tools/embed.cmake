# Embeds a text file in the program as a NUL-terminated C array, at build time
# (tools/sources.cmake runs it):
#   cmake -DIN=page.html -DOUT=page.c -DNAME=symbol -P embed.cmake
# Every "@FILE@" in IN (FILE a name like treemap.css, looked up next to IN) is
# replaced by that file's text first, so a page's style and script are kept
# and edited as the files they are and still end up in one self-contained page.
foreach(v IN ITEMS IN OUT NAME)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "embed.cmake: -D${v}= is missing")
  endif()
endforeach()
get_filename_component(dir "${IN}" DIRECTORY)
file(READ "${IN}" text)

# The inclusions, each file once; the template's own text decides which.
string(REGEX MATCHALL "@[A-Za-z0-9_.-]+\\.[a-z]+@" refs "${text}")
list(REMOVE_DUPLICATES refs)
foreach(ref IN LISTS refs)
  string(REGEX REPLACE "^@(.*)@$" "\\1" name "${ref}")
  if(NOT EXISTS "${dir}/${name}")
    message(FATAL_ERROR "embed.cmake: ${IN} includes ${ref}, but ${dir}/${name} does not exist")
  endif()
  file(READ "${dir}/${name}" part)
  string(REGEX REPLACE "\n$" "" part "${part}")   # the template has the line break
  string(REPLACE "${ref}" "${part}" text "${text}")
endforeach()

string(LENGTH "${text}" len)
string(HEX "${text}" hex)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
set(byte "0x[0-9a-f][0-9a-f],")
string(REPEAT "${byte}" 16 line)
string(REGEX REPLACE "(${line})" "\\1\n  " bytes "${bytes}")   # 16 bytes a line
get_filename_component(in_name "${IN}" NAME)
set(c "/* Generated from ${in_name} by tools/embed.cmake at build time: edit the source, not this file. */\n")
string(APPEND c "extern const char ${NAME}[];   /* ${len} bytes and a NUL */\n")
string(APPEND c "const char ${NAME}[] = {\n  ${bytes}0x00};\n")
file(WRITE "${OUT}" "${c}")
