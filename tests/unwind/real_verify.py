#!/usr/bin/env python3
"""Real programs under reachcheck with RC_UNWIND_VERIFY=1: the runtime checks
every allocation stack of rc_unwind against libunwind and aborts on the first
difference. Prints, per program, the runtime's counters summed over its
processes (captures, fallbacks and why, cache misses).

  real_verify.py --launcher BUILD/reachcheck --cxx BUILD/tests/real/rc_real_cxx [--only a,b]
"""
import argparse
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'real'))
import compare  # noqa: E402  (the program set of tests/real)

STATS_RE = re.compile(r'^reachcheck: unwind \[pid (\d+)\]: (.*)$', re.M)
DEFAULT = 'python3,python3_malloc,perl,git_commit,git_log,cmake,tclsh,sqlite3,cxx_heavy,sort,awk,tar,bash,gdb_batch'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--launcher', required=True)
    ap.add_argument('--cxx', required=True)
    ap.add_argument('--only', default=DEFAULT)
    a = ap.parse_args()
    ctx = {'inputs': compare.INPUTS, 'launcher': os.path.abspath(a.launcher), 'cxx': os.path.abspath(a.cxx)}
    work = tempfile.mkdtemp(prefix='rc_unw_')
    failed = False
    total = {}
    print('| program | processes | captures | verified equal | fallbacks | fallback % | misses | reasons |')
    print('|---|---|---|---|---|---|---|---|')
    for name in a.only.split(','):
        p = compare.BY_NAME[name]
        if not os.path.exists(p['argv'][0]) and not p['argv'][0].startswith('{'):
            print('| %s | skipped: not installed |||||||' % name)
            continue
        jdir = os.path.join(work, 'json')
        os.makedirs(jdir, exist_ok=True)
        r = compare.run_one(p, ctx, work, wrap=compare.rc_wrap(ctx['launcher'], jdir),
                            extra_env={'RC_UNWIND_VERIFY': '1'})
        sums, procs = {}, 0
        for m in STATS_RE.finditer(r.err):
            procs += 1
            for kv in m.group(2).split(';'):
                if '=' in kv:
                    k, v = kv.strip().rsplit('=', 1)
                    sums[k] = sums.get(k, 0) + int(v)
                    total[k] = total.get(k, 0) + int(v)
        caps, fb = sums.get('captures', 0), sums.get('fallbacks', 0)
        why = ', '.join('%s %d' % (k[len('fallback: '):], v) for k, v in sorted(sums.items())
                        if k.startswith('fallback: ') and v)
        stale = sums.get('unw_backtrace stale (unw_step agreed)', 0)
        if stale:
            why += (', ' if why else '') + 'unw_backtrace stale %d' % stale
        print('| %s | %d | %d | %d | %d | %.3f | %d | %s |' % (name, procs, caps, sums.get('verified', 0), fb,
                                                            100.0 * fb / max(caps, 1), sums.get('cache misses', 0),
                                                            why or '-'))
        bad = 'RC_UNWIND_VERIFY:' in r.err or r.rc < 0 or r.timed_out or not procs or not caps
        if bad:
            failed = True
            i = r.err.find('RC_UNWIND_VERIFY:')
            sys.stderr.write('%s: status %s%s\n%s\n' % (name, r.rc, ' (timeout)' if r.timed_out else '',
                                                       r.err[i:i + 4000] if i >= 0 else r.err[-2000:]))
    caps, fb = total.get('captures', 0), total.get('fallbacks', 0)
    print('| **all** | | %d | %d | %d | %.3f | %d | |' % (caps, total.get('verified', 0), fb, 100.0 * fb / max(caps, 1),
                                                     total.get('cache misses', 0)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
