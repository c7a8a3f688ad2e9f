#!/usr/bin/env python3
"""Run one program of the API tests and check its exit status and output.

Usage:
  run_api.py [--launcher PATH] [--option KEY=VALUE]... [--env NAME=VALUE]...
             [expectations] -- PROGRAM ARGS...

Without --launcher the program runs as it is (linked with libreachcheck, or
with no runtime at all). Options go to the launcher as --KEY=VALUE; with
--option sarif=@ the SARIF report goes to a fresh temporary directory and is
checked with --sarif-* expectations (see check_sarif.py).

Expectations (all repeatable):
  --exit N             exit status (a negative N is a signal: -6 is SIGABRT)
  --stdout-re RE / --stderr-re RE           RE matches somewhere (re.M)
  --stdout-not-re RE / --stderr-not-re RE   RE matches nowhere
  --stdout-count RE=N / --stderr-count RE=N RE matches exactly N times
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_sarif  # noqa: E402


def count_arg(s):
    if '=' not in s:
        raise argparse.ArgumentTypeError('want RE=N, got %r' % s)
    rx, n = s.rsplit('=', 1)
    return rx, int(n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--launcher')
    ap.add_argument('--option', action='append', default=[])
    ap.add_argument('--env', action='append', default=[])
    ap.add_argument('--unset-env', action='append', default=[])
    ap.add_argument('--timeout', type=float, default=120)
    ap.add_argument('--exit', type=int, action='append', default=[])
    for stream in ('stdout', 'stderr'):
        ap.add_argument('--%s-re' % stream, action='append', default=[])
        ap.add_argument('--%s-not-re' % stream, action='append', default=[])
        ap.add_argument('--%s-count' % stream, action='append', default=[], type=count_arg)
    check_sarif.add_arguments(ap)
    ap.add_argument('cmd', nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == '--' else a.cmd
    if not cmd:
        ap.error('no program')

    tmp = tempfile.mkdtemp(prefix='rc-api-')
    sarif_path = None
    opts = []
    for o in a.option:
        if o == 'sarif=@':
            sarif_path = os.path.join(tmp, 'report.%p.sarif')
            o = 'sarif=' + sarif_path
        opts.append('--' + o)
    if a.launcher:
        cmd = [a.launcher] + opts + ['--'] + cmd
    elif opts:
        ap.error('--option needs --launcher')
    env = dict(os.environ)
    for name in a.unset_env + ['REACHCHECK_OPTIONS', 'LD_PRELOAD']:
        env.pop(name, None)
    for e in a.env:
        k, v = e.split('=', 1)
        env[k] = v

    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=a.timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        print('FAIL: timed out after %ss: %s' % (a.timeout, ' '.join(cmd)))
        return 1
    out = p.stdout.decode('utf-8', 'replace')
    err = p.stderr.decode('utf-8', 'replace')
    sys.stdout.write('---- command: %s\n---- exit: %d\n---- stdout:\n%s\n---- stderr:\n%s\n' %
                     (' '.join(cmd), p.returncode, out, err))
    fails = []
    if a.exit and p.returncode not in a.exit:
        fails.append('exit status %d, want %s' % (p.returncode, ' or '.join(map(str, a.exit))))
    for stream, text in (('stdout', out), ('stderr', err)):
        for rx in getattr(a, stream + '_re'):
            if not re.search(rx, text, re.M):
                fails.append('%s does not match %r' % (stream, rx))
        for rx in getattr(a, stream + '_not_re'):
            if re.search(rx, text, re.M):
                fails.append('%s matches %r' % (stream, rx))
        for rx, n in getattr(a, stream + '_count'):
            got = len(re.findall(rx, text, re.M))
            if got != n:
                fails.append('%s matches %r %d time(s), want %d' % (stream, rx, got, n))
    if sarif_path:
        files = sorted(os.listdir(tmp))
        if len(files) != 1:
            fails.append('want exactly one SARIF file, found %s' % files)
        else:
            fails += check_sarif.check(os.path.join(tmp, files[0]), a)
    shutil.rmtree(tmp, ignore_errors=True)
    for f in fails:
        print('FAIL: ' + f)
    if not fails:
        print('PASS')
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
