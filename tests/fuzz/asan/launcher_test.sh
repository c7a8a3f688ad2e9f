#!/bin/sh
# The sanitized launcher's own paths: help, version, bad flags and options,
# no program, a program that cannot be run. (It looks for libreachcheck.so
# next to itself; the sanitized build has none, which is one of the paths.)
set -u
L=$1
fail=0
check() {   # check WANT_STATUS CMD...
  want=$1; shift
  "$@" > /tmp/rc_asan_out.$$ 2> /tmp/rc_asan_err.$$
  st=$?
  if [ "$st" != "$want" ]; then echo "FAIL: $* -> status $st, want $want"; cat /tmp/rc_asan_err.$$; fail=1; fi
  if grep -q -E "AddressSanitizer|runtime error|LeakSanitizer" /tmp/rc_asan_err.$$; then
    echo "FAIL: $*: sanitizer report"; cat /tmp/rc_asan_err.$$; fail=1
  fi
}
check 0 "$L" --help
check 0 "$L" --help-markdown
check 0 "$L" --version
check 2 "$L"
check 2 "$L" --exitcode=abc -- true
check 2 "$L" --no_such=1 -- true
check 2 "$L" -x -- true
check 2 "$L" --report=1:json=x -- true
check 2 "$L" --suppressions=/nonexistent/supp -- true
check 2 "$L" --exitcode=0 -- true
long=$(printf 'x%.0s' $(seq 1 70000))
check 2 "$L" "--json=$long" -- true
REACHCHECK_OPTIONS="exitcode=1:bogus=1" check 2 "$L" -- true
rm -f /tmp/rc_asan_out.$$ /tmp/rc_asan_err.$$
[ $fail = 0 ] && echo "launcher: ok"
exit $fail
