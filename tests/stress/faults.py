#!/usr/bin/env python3
"""Faults around the report: where it goes when it cannot be written, and
that a killed process never leaves a half-written JSON report.

  faults.py CASE --launcher BUILD/reachcheck --prog BUILD/.../rcs_bigreport

Cases:
  unwritable          --json=/nonexistent/dir/x.json: exactly one stderr line
                      naming the path and the private file (mode 0600) the
                      report went to instead; no JSON dumped on stderr
  json_is_dir         --json=<an existing directory>: the same, and no
                      temporary file left beside it
  json_symlink        --json=<a symlink to a file>: the report lands in the
                      target and the symlink stays a symlink
  json_fifo           --json=<a FIFO with a reader>: the reader gets the report
                      and the FIFO stays a FIFO
  kill_during_report  SIGKILL at many points while the (10 MB) report is
                      being written: the report path holds either nothing or
                      a complete, valid report, never half of one
  abort               the program aborts: no report, no temporary file
  kill_running        SIGKILL before exit: no report, no temporary file
"""
import argparse
import glob
import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time


def run(argv, timeout=60, stdin=subprocess.DEVNULL):
    p = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')


def json_lines(err):
    out = []
    for line in err.splitlines():
        if line.startswith('{"tool":"reachcheck"'):
            out.append(json.loads(line))
    return out


def expect_one_line_and_fallback(fails, err, path, blocks):
    lines = [l for l in err.splitlines() if 'cannot write JSON report' in l]
    if len(lines) != 1:
        fails.append('expected exactly one "cannot write JSON report" line, got %d' % len(lines))
        return
    if path not in lines[0]:
        fails.append('the line does not name %s: %r' % (path, lines[0]))
    if json_lines(err):
        fails.append('the JSON report was dumped on stderr')
    m = re.search(r'wrote it to (\S+)$', lines[0])
    if not m:
        fails.append('the line does not say where the report went: %r' % lines[0])
        return
    fb = m.group(1)
    try:
        st = os.lstat(fb)
        if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != 0o600 or st.st_uid != os.geteuid():
            fails.append('fallback %s: mode %o uid %d, expected a regular file 0600 of ours' %
                         (fb, stat.S_IMODE(st.st_mode), st.st_uid))
        with open(fb) as f:
            rep = json.load(f)
        if rep['summary']['direct']['blocks'] != blocks:
            fails.append('fallback: direct.blocks %r, expected %d' % (rep['summary']['direct']['blocks'], blocks))
        os.unlink(fb)
    except (OSError, ValueError) as ex:
        fails.append('fallback %s unreadable: %s' % (fb, ex))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('case')
    ap.add_argument('--launcher', required=True)
    ap.add_argument('--prog', required=True)
    a = ap.parse_args()
    L, P = a.launcher, a.prog
    tmp = tempfile.mkdtemp(prefix='rc_fault_')
    fails = []
    NLEAK = 4096

    if a.case == 'unwritable':
        path = '/nonexistent/dir/x.json'
        rc, out, err = run([L, '--json=' + path, '--max_leaks=1', '--', P, 'exit'])
        if rc != 23:
            fails.append('exit status %s, expected 23' % rc)
        expect_one_line_and_fallback(fails, err, path, NLEAK)
        if os.path.exists('/nonexistent'):
            fails.append('/nonexistent was created')

    elif a.case == 'json_is_dir':
        d = os.path.join(tmp, 'adir')
        os.mkdir(d)
        rc, out, err = run([L, '--json=' + d, '--max_leaks=1', '--', P, 'exit'])
        expect_one_line_and_fallback(fails, err, d, NLEAK)
        left = [f for f in os.listdir(tmp) if f != 'adir'] + os.listdir(d)
        if left:
            fails.append('files left behind: %s' % left)

    elif a.case == 'json_symlink':
        target = os.path.join(tmp, 'target.json')
        link = os.path.join(tmp, 'link.json')
        with open(target, 'w') as f:
            f.write('old')
        os.symlink('target.json', link)
        rc, out, err = run([L, '--json=' + link, '--max_leaks=1', '--', P, 'exit'])
        if not os.path.islink(link):
            fails.append('the symlink %s was replaced by a regular file (rename over it)' % link)
        try:
            with open(target) as f:
                rep = json.load(f)
            if rep['summary']['direct']['blocks'] != NLEAK:
                fails.append('target: direct.blocks %r' % rep['summary']['direct']['blocks'])
        except (OSError, ValueError) as ex:
            fails.append('the symlink target does not hold the report: %s' % ex)

    elif a.case == 'json_fifo':
        fifo = os.path.join(tmp, 'fifo')
        os.mkfifo(fifo)
        got = {}

        def reader():
            with open(fifo, 'rb') as f:   # blocks until the writer opens it
                got['data'] = f.read()
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        rc, out, err = run([L, '--json=' + fifo, '--max_leaks=1', '--', P, 'exit'])
        t.join(5)
        if t.is_alive():
            fails.append('the FIFO reader never got an end of file (report renamed over the FIFO?)')
            with open(fifo, 'wb'):   # unblock the reader if the FIFO is still one
                pass
        elif not got.get('data'):
            fails.append('the FIFO reader got nothing')
        else:
            try:
                rep = json.loads(got['data'])
                if rep['summary']['direct']['blocks'] != NLEAK:
                    fails.append('fifo: direct.blocks %r' % rep['summary']['direct']['blocks'])
            except ValueError as ex:
                fails.append('the FIFO got invalid JSON: %s' % ex)
        if not stat.S_ISFIFO(os.lstat(fifo).st_mode):
            fails.append('the FIFO was replaced by a regular file')

    elif a.case == 'kill_during_report':
        # Poll for the temporary file and kill at increasing delays after it
        # appears; then the final path must be absent or complete.
        killed_mid = 0
        for i, delay in enumerate([0, 0.001, 0.003, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4, 0.8]):
            d = os.path.join(tmp, 'k%d' % i)
            os.mkdir(d)
            path = os.path.join(d, 'r.json')
            p = subprocess.Popen([L, '--json=' + path, '--max_leaks=1', '--', P, 'exit'],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t0 = time.time()
            while p.poll() is None and not glob.glob(os.path.join(d, '.r.json.*.tmp')) and time.time() - t0 < 60:
                time.sleep(0.0005)
            time.sleep(delay)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                killed_mid += 1
            p.wait()
            if os.path.exists(path):
                try:
                    with open(path) as f:
                        rep = json.load(f)
                    if rep['summary']['direct']['blocks'] != NLEAK:
                        fails.append('%s: complete-looking report with wrong counts' % path)
                except ValueError as ex:
                    fails.append('delay %.3f: %s is half-written: %s' % (delay, path, ex))
        if killed_mid < 3:
            fails.append('only %d of 10 runs were killed while writing: the test is not testing' % killed_mid)
        print('%d runs killed while the report was being written' % killed_mid)

    elif a.case in ('abort', 'kill_running'):
        path = os.path.join(tmp, 'r.json')
        if a.case == 'abort':
            rc, out, err = run([L, '--json=' + path, '--', P, 'abort'])
            if rc != -signal.SIGABRT:
                fails.append('status %s, expected SIGABRT' % rc)
        else:
            p = subprocess.Popen([L, '--json=' + path, '--', 'sh', '-c', 'sleep 30'],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            p.kill()
            p.wait()
        left = os.listdir(tmp)
        if left:
            fails.append('files left behind: %s' % left)
    else:
        ap.error('unknown case %s' % a.case)

    subprocess.run(['rm', '-rf', tmp])
    for f in fails:
        print('FAIL %s: %s' % (a.case, f))
    if not fails:
        print('PASS %s' % a.case)
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
