#!/bin/sh
# Run one libFuzzer target for a bounded time on a scratch copy of its corpus
# (CI never rewrites the repository). New crashes are left in the scratch
# directory, whose path is printed. Usage: run_fuzz.sh FUZZER CORPUS SECONDS
set -eu
fuzzer=$1 corpus=$2 secs=$3
work=$(mktemp -d /tmp/rc_fuzz.XXXXXX)
mkdir -p "$work/corpus"
cp "$corpus"/* "$work/corpus/" 2>/dev/null || true
cd "$work"
if "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
     "$work/corpus" > "$work/log" 2>&1; then
  tail -n 12 "$work/log"
  rm -rf "$work"
  exit 0
fi
tail -n 60 "$work/log"
echo "fuzzer failed; crash inputs and log kept in $work"
exit 1
