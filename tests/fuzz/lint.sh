#!/bin/sh
# Static analysis of the runtime (core/, core/profile/ and scanners/) with the project's
# configuration: .clang-tidy and .cppcheck-suppressions.xml at the repository root.
# Usage: lint.sh clang_tidy|cppcheck REPO_ROOT. Exit 1 on any finding.
set -u
tool=$1 root=$2
cd "$root" || exit 2
files=$(ls core/*.c core/profile/*.c scanners/*.c | grep -v '^scanners/test_')
flags="-std=gnu11 -Icore -Iinclude -DRC_RUNTIME=1 $(pkg-config --cflags bdw-gc libunwind libdw 2>/dev/null)"
case $tool in
clang_tidy)
  tidy=$(command -v clang-tidy-14 || command -v clang-tidy) || { echo "clang-tidy not installed"; exit 2; }
  out=$(mktemp)
  # shellcheck disable=SC2086
  echo $files | tr ' ' '\n' | xargs -P 2 -I{} sh -c "$tidy --quiet {} -- $flags 2>/dev/null" > "$out"
  n=$(grep -c -E ': (warning|error):' "$out")
  cat "$out"
  rm -f "$out"
  echo "clang-tidy: $n finding(s) in $(echo $files | wc -w) files"
  [ "$n" = 0 ]
  ;;
cppcheck)
  command -v cppcheck > /dev/null || { echo "cppcheck not installed"; exit 2; }
  # shellcheck disable=SC2086
  cppcheck -q --std=c11 --library=posix --enable=warning,performance,portability --inline-suppr \
    --suppress-xml=.cppcheck-suppressions.xml --error-exitcode=1 -j 2 \
    -D__x86_64__ -D__linux__ -D_GNU_SOURCE -DRC_RUNTIME=1 -Icore -Iinclude \
    --template='{file}:{line}: {severity}: {message} [{id}]' $files
  st=$?
  echo "cppcheck: exit $st on $(echo $files | wc -w) files"
  exit $st
  ;;
*) echo "usage: lint.sh clang_tidy|cppcheck ROOT"; exit 2 ;;
esac
