#!/usr/bin/env python3
"""LSAN_OPTIONS=log_path=PREFIX: the report goes to PREFIX.PID and not to
stderr; a run with nothing to say leaves no file.
usage: log_path_test.py LAUNCHER USE_SWITCHES_PROGRAM"""
import glob
import os
import re
import subprocess
import sys
import tempfile

launcher, prog = sys.argv[1:3]
tmp = tempfile.mkdtemp(prefix='rc-logpath-')
prefix = os.path.join(tmp, 'leaks')
env = dict(os.environ, LSAN_OPTIONS='log_path=%s:use_stacks=0' % prefix)
env.pop('REACHCHECK_OPTIONS', None)
p = subprocess.run([launcher, '--', prog, 'stacks'], env=env, capture_output=True, text=True, timeout=50)
fail = []
files = glob.glob(prefix + '.*')
if p.returncode != 23:
    fail.append('exit status %d, expected 23' % p.returncode)
if p.stderr.strip():
    fail.append('stderr is not empty: %r' % p.stderr[:300])
if len(files) != 1 or not re.fullmatch(re.escape(prefix) + r'\.\d+', files[0]):
    fail.append('expected one file %s.PID, found %s' % (prefix, files))
else:
    text = open(files[0]).read()
    for want in (r'(?m)^Direct leak of 77 byte\(s\) in 1 object', r'(?m)^Direct leak of 42 byte\(s\) in 1 object',
                 r'(?m)^SUMMARY: reachcheck: 2 direct \(119 bytes\)'):
        if not re.search(want, text):
            fail.append('%s: no match for %r' % (files[0], want))
    os.unlink(files[0])
# Nothing to report: no file.
q = subprocess.run([launcher, '--', 'true'], env=env, capture_output=True, text=True, timeout=50)
if q.returncode != 0 or glob.glob(prefix + '.*'):
    fail.append('a clean run: exit %d, files %s (want 0 and none)' % (q.returncode, glob.glob(prefix + '.*')))
if fail:
    print('FAIL:\n  ' + '\n  '.join(fail))
    sys.exit(1)
print('ok')
