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
# issue 13: http= refusals, and reachcheck pprof/top/list on good and hostile files
check 2 "$L" --http=10.0.0.1:80 -- true
check 2 "$L" --http=127.0.0.1:99999 -- true
check 2 "$L" --http=unix: -- true
# The offline tools exit right after their work and leave their tables to the
# exit (tool_common.c's tmodel_free says so): memory errors are checked, leaks not.
saved_asan=${ASAN_OPTIONS:-}
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
d=$(mktemp -d)
cat > "$d/rep.json" <<'JSON'
{"tool":"reachcheck","version":"1.0.0","pid":7,"summary":{},"leaks":[{"kind":"direct","blocks":2,"bytes":64,"suppressed":false,
"stack":[{"function":"leaf","file":"/nonexistent/a.c","line":3,"module":"/bin/true","offset":"0x10","pc":"0x1010"},
{"function":"main","file":"/nonexistent/a.c","line":9,"module":"/bin/true","offset":"0x20","pc":"0x1020"}]}],
"retainers":[{"root":{"kind":"global","name":"g","module":"/bin/true","thread":null},"retained":{"blocks":1,"bytes":8},
"top_sites":[{"blocks":1,"bytes":8,"stack":[{"function":"keep","file":"/nonexistent/a.c","line":5,"module":"/bin/true","offset":"0x30","pc":"0x1030"}]}]}],
"retention":{"reachable":{"blocks":1,"bytes":8},"shared":{"blocks":0,"bytes":0},"roots":1,"ms":0,"complete":true},"why":[]}
JSON
check 0 "$L" pprof "$d/rep.json" -o "$d/p.pb.gz"
check 0 "$L" top "$d/p.pb.gz"
check 0 "$L" top "$d/p.pb.gz" --sample_index=leaked_space --nodecount=1
check 0 "$L" top "$d/p.pb.gz" --base="$d/p.pb.gz"
check 0 "$L" list leaf "$d/p.pb.gz"
check 1 "$L" list nothing_matches "$d/p.pb.gz"
check 2 "$L" list "(" "$d/p.pb.gz"
check 2 "$L" top
check 2 "$L" pprof "$d/rep.json"
check 1 "$L" top "$d"
check 1 "$L" top "$d/missing"
check 1 "$L" top http://127.0.0.1:1/debug/pprof/heap
: > "$d/empty"
check 1 "$L" top "$d/empty"
head -c 3000 /dev/urandom > "$d/rand"
check 1 "$L" top "$d/rand"
gzip -c "$d/rand" > "$d/rand.gz"
check 1 "$L" top "$d/rand.gz"
head -c 40 "$d/p.pb.gz" > "$d/trunc.gz"
check 1 "$L" top "$d/trunc.gz"
# 200 mutants of the decoded profile (a byte flipped at spread positions, or
# cut short), re-gzip'ed or raw: never a crash or a sanitizer report
gunzip -c "$d/p.pb.gz" > "$d/raw"
python3 - "$d" <<'PY'
import gzip, os, random, sys
d = sys.argv[1]
raw = open(os.path.join(d, "raw"), "rb").read()
rnd = random.Random(13)
for k in range(200):
    b = bytearray(raw)
    if k % 10 == 9:
        b = b[:rnd.randrange(len(b))]
    else:
        i = (k * len(b)) // 200
        b[i] ^= 1 << rnd.randrange(8) if k % 2 else 0xff
    data = gzip.compress(bytes(b)) if k % 3 else bytes(b)
    open(os.path.join(d, "mut%03d" % k), "wb").write(data)
PY
for m in "$d"/mut*; do
  "$L" top "$m" > /dev/null 2> /tmp/rc_asan_err.$$
  st=$?
  if [ $st -gt 1 ] || grep -q -E "AddressSanitizer|runtime error|LeakSanitizer" /tmp/rc_asan_err.$$; then
    echo "FAIL: top on mutant $m: status $st"; cat /tmp/rc_asan_err.$$; fail=1
  fi
done
rm -rf "$d"
export ASAN_OPTIONS="$saved_asan"
rm -f /tmp/rc_asan_out.$$ /tmp/rc_asan_err.$$
[ $fail = 0 ] && echo "launcher: ok"
exit $fail
