#!/usr/bin/env python3
"""The output-file writer (core/base/fileout.c) against files another user
planted: reachcheck running as root must never write through a symbolic link
someone else made, nor replace someone else's file in a sticky
world-writable directory (/tmp). Runs as root (exit 77, skipped, otherwise);
the other user is `nobody`, and every planted file is made as nobody.

  planted.py CASE --launcher BUILD/reachcheck --prog BUILD/.../rct_planted

Cases (the program leaks exactly 77 + 33 bytes, direct, and exits 0, so 23):
  json            nobody's link report.json -> a root-owned victim, in a 1777
                  directory owned by root (like /tmp) and in one owned by
                  nobody (where the kernel's protected_symlinks would not
                  stop a write through it): --json= that link
  sarif           the same with --sarif=
  other_file      nobody's regular file report.json in the sticky directory:
                  --json= and --sarif= it
  own_link_sticky root's own link in the sticky directory: not followed either
                  (fileout.h: only links outside sticky world-writable
                  directories are written through)
  foreign_link    nobody's link in nobody's own 0755 directory: not followed
  snapshot        reachcheck_snapshot(link) and the snapshot_signal snapshot
                  to snapshot_path=link: refused (snapshots have no fallback):
                  -1 with errno ELOOP, and the log line says so
For each: the victim (or other user's file) is byte for byte, inode and
mtime unchanged, the link is still nobody's link to the same target, nothing
else appears in the directory, stderr has exactly one line naming the path,
saying why and where the report went instead: a private fallback file (mode
0600, owned by root, in XDG_RUNTIME_DIR, here a fresh 0700 directory) holding
the complete report with the exact leaks; and no report is dumped on stderr.
"""
import argparse
import errno
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading

VICTIM = b'root-owned file: must never change\n'
OTHERS = b'nobody\'s own file: must never change\n'
LEAKS = [(1, 33), (1, 77)]          # (blocks, bytes) of each direct leak group
FAILS = []


def fail(msg):
    FAILS.append(msg)


class Env:
    def __init__(self, a):
        self.a = a
        self.nobody = pwd.getpwnam('nobody')
        self.tmp = tempfile.mkdtemp(prefix='rc_planted_')
        os.chmod(self.tmp, 0o755)                 # nobody must reach the directories below
        self.victim = os.path.join(self.tmp, 'victim')
        with open(self.victim, 'wb') as f:
            f.write(VICTIM)
        os.chmod(self.victim, 0o644)
        self.sticky = self.mkdir('sticky', 0o1777)                       # like /tmp
        self.sticky_nobody = self.mkdir('sticky_nobody', 0o1777, owner=self.nobody)
        self.private_nobody = self.mkdir('private_nobody', 0o755, owner=self.nobody)
        self.xdg = self.mkdir('xdg', 0o700)      # where the private fallback goes

    def mkdir(self, name, mode, owner=None):
        d = os.path.join(self.tmp, name)
        os.mkdir(d)
        os.chmod(d, mode)                         # not masked by the umask
        if owner:
            os.chown(d, owner.pw_uid, owner.pw_gid)
        return d

    def as_nobody(self, argv):
        if shutil.which('setpriv'):
            pre = ['setpriv', '--reuid=%d' % self.nobody.pw_uid, '--regid=%d' % self.nobody.pw_gid, '--clear-groups']
        else:
            pre = ['runuser', '-u', 'nobody', '--']
        p = subprocess.run(pre + argv, capture_output=True, text=True, timeout=30)
        if p.returncode:
            sys.exit('cannot run %s as nobody: %s' % (argv, p.stderr))

    def plant_link(self, d, name, target):
        link = os.path.join(d, name)
        self.as_nobody(['ln', '-s', target, link])
        st = os.lstat(link)
        if not stat.S_ISLNK(st.st_mode) or st.st_uid != self.nobody.pw_uid:
            sys.exit('setup: %s is not nobody\'s link' % link)
        return link

    def plant_file(self, d, name):
        path = os.path.join(d, name)
        self.as_nobody(['sh', '-c', 'printf "%s\\n" "$1" > "$2"', 'sh', OTHERS.decode().rstrip('\n'), path])
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != self.nobody.pw_uid:
            sys.exit('setup: %s is not nobody\'s file' % path)
        return path

    def run(self, opts, args=(), env=None, stdin_after=None):
        """The program under the launcher; stdin_after(stderr_so_far) -> bool says when to let it exit."""
        e = dict(os.environ)
        e.pop('REACHCHECK_OPTIONS', None)
        e.pop('LD_PRELOAD', None)
        e['XDG_RUNTIME_DIR'] = self.xdg
        e.update(env or {})
        argv = [self.a.launcher] + ['--' + o for o in opts] + ['--', self.a.prog] + list(args)
        p = subprocess.Popen(argv, env=e, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if stdin_after is None:
            out, err = p.communicate(b'go\n', timeout=60)
            return p.returncode, out.decode(errors='replace'), err.decode(errors='replace')
        # Read stderr as it comes; let the program go once the snapshot is logged.
        chunks, seen = [], threading.Event()

        def reader():
            for line in p.stderr:
                chunks.append(line.decode(errors='replace'))
                if stdin_after(''.join(chunks)):
                    seen.set()
            seen.set()
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        if not seen.wait(30):
            fail('the snapshot was never logged on stderr within 30 s')
        try:
            p.stdin.write(b'go\n')
            p.stdin.close()
        except BrokenPipeError:
            pass
        out = p.stdout.read()
        p.wait(timeout=60)
        t.join(10)
        return p.returncode, out.decode(errors='replace'), ''.join(chunks)

    def fallbacks(self):
        return sorted(os.listdir(self.xdg))


def snap(path):
    st = os.lstat(path)
    with open(path, 'rb') as f:
        data = f.read()
    return (st.st_ino, st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns, data)


def unchanged(what, path, before):
    after = snap(path)
    if after != before:
        fail('%s %s was changed: (inode, mode, uid, size, mtime) %r -> %r, content now %r' %
             (what, path, before[:5], after[:5], after[5][:80]))


def link_unchanged(env, link, target):
    st = os.lstat(link)
    if not stat.S_ISLNK(st.st_mode) or st.st_uid != env.nobody.pw_uid or os.readlink(link) != target:
        fail('the planted link %s was replaced or changed' % link)


def only_these(d, names):
    got = sorted(os.listdir(d))
    if got != sorted(names):
        fail('%s holds %s, expected only %s (a temporary file left behind?)' % (d, got, sorted(names)))


def check_json_report(path):
    with open(path) as f:
        rep = json.load(f)
    s = rep['summary']
    if (s['direct']['blocks'], s['direct']['bytes']) != (2, 110) or \
            (s['indirect']['blocks'], s['indirect']['bytes']) != (0, 0):
        fail('%s: summary direct %s indirect %s, expected 2 blocks/110 bytes and 0/0' %
             (path, s['direct'], s['indirect']))
    groups = sorted((g['blocks'], g['bytes']) for g in rep['leaks'] if g['kind'] == 'direct')
    if groups != LEAKS:
        fail('%s: direct leak groups %s, expected %s' % (path, groups, LEAKS))


def check_sarif_report(path):
    with open(path) as f:
        rep = json.load(f)
    if rep.get('version') != '2.1.0':
        fail('%s: SARIF version %r' % (path, rep.get('version')))
    res = rep['runs'][0]['results']
    got = sorted((r['ruleId'], r['properties']['blocks'], r['properties']['bytes']) for r in res)
    want = sorted(('direct-leak', b, n) for b, n in LEAKS)
    if got != want:
        fail('%s: SARIF results %s, expected %s' % (path, got, want))


def expect_fallback(env, kind, err, asked, why_re, check):
    """One stderr line naming `asked`, why, and a private fallback holding the report."""
    named = [l for l in err.splitlines() if asked in l]
    if len(named) != 1:
        fail('%s: expected exactly one stderr line naming %s, got %d: %r' % (kind, asked, len(named), named))
        return
    line = named[0]
    m = re.search(r"cannot write %s report '(.*)' \((.*)\); wrote it to (\S+)$" % kind, line)
    if not m or m.group(1) != asked:
        fail('%s: the line does not say where the report went instead: %r' % (kind, line))
        return
    if not re.search(why_re, m.group(2)):
        fail('%s: the reason %r does not match %r' % (kind, m.group(2), why_re))
    fb = m.group(3)
    if os.path.dirname(fb) != env.xdg:
        fail('%s: fallback %s is not in the private directory %s' % (kind, fb, env.xdg))
    try:
        st = os.lstat(fb)
    except OSError as ex:
        fail('%s: fallback %s: %s' % (kind, fb, ex))
        return
    if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != 0o600 or st.st_uid != os.geteuid() \
            or st.st_nlink != 1:
        fail('%s: fallback %s: mode %o uid %d links %d, expected a regular file 0600 of uid %d' %
             (kind, fb, st.st_mode, st.st_uid, st.st_nlink, os.geteuid()))
    try:
        check(fb)
    except (OSError, ValueError, KeyError, IndexError, TypeError) as ex:
        fail('%s: fallback %s is not a complete report: %s' % (kind, fb, ex))
    os.unlink(fb)


def no_report_on_stderr(err):
    for l in err.splitlines():
        if l.lstrip().startswith('{') or '"tool":"reachcheck"' in l or '"$schema"' in l:
            fail('a report was dumped on stderr: %r' % l[:200])
            return


def run_refused(env, kind, opt, path, why_re, check, keep):
    """--opt=path must go to the fallback; `keep` maps paths to their snap() before."""
    rc, out, err = env.run([opt + '=' + path])
    if rc != 23:
        fail('%s=%s: exit status %d, expected 23; stderr:\n%s' % (opt, path, rc, err))
    if 'done' not in out:
        fail('%s=%s: the program did not run to its end: %r' % (opt, path, out))
    expect_fallback(env, kind, err, path, why_re, check)
    no_report_on_stderr(err)
    for p, before in keep.items():
        unchanged('the file', p, before)
    if env.fallbacks():
        fail('more fallback files than reported: %s' % env.fallbacks())


LINK_WHY = r'symbolic link this user does not own, or in a sticky world-writable directory'


def case_json_or_sarif(env, kind, opt, name, check):
    for d in (env.sticky, env.sticky_nobody):
        link = env.plant_link(d, name, env.victim)
        before = snap(env.victim)
        run_refused(env, kind, opt, link, LINK_WHY, check, {env.victim: before})
        link_unchanged(env, link, env.victim)
        only_these(d, [name])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('case', choices=['json', 'sarif', 'other_file', 'own_link_sticky', 'foreign_link', 'snapshot'])
    ap.add_argument('--launcher', required=True)
    ap.add_argument('--prog', required=True)
    ap.add_argument('--keep', action='store_true')
    a = ap.parse_args()
    if os.geteuid() != 0:
        print('SKIP: needs root (it plants files as nobody and runs reachcheck as root)')
        return 77
    env = Env(a)
    try:
        if a.case == 'json':
            case_json_or_sarif(env, 'JSON', 'json', 'report.json', check_json_report)
        elif a.case == 'sarif':
            case_json_or_sarif(env, 'SARIF', 'sarif', 'report.sarif', check_sarif_report)
        elif a.case == 'other_file':
            for kind, opt, name, check in (('JSON', 'json', 'report.json', check_json_report),
                                           ('SARIF', 'sarif', 'report.sarif', check_sarif_report)):
                path = env.plant_file(env.sticky, name)
                before = snap(path)
                if before[-1] != OTHERS:
                    sys.exit('setup: %s holds %r' % (path, before[-1]))
                run_refused(env, kind, opt, path, r"another user's file in a sticky world-writable directory",
                            check, {path: before, env.victim: snap(env.victim)})
            only_these(env.sticky, ['report.json', 'report.sarif'])
        elif a.case == 'own_link_sticky':
            link = os.path.join(env.sticky, 'report.json')
            os.symlink(env.victim, link)
            before = snap(env.victim)
            run_refused(env, 'JSON', 'json', link, LINK_WHY, check_json_report, {env.victim: before})
            if not os.path.islink(link) or os.readlink(link) != env.victim:
                fail('root\'s link %s was replaced or changed' % link)
            only_these(env.sticky, ['report.json'])
        elif a.case == 'foreign_link':
            link = env.plant_link(env.private_nobody, 'report.json', env.victim)
            before = snap(env.victim)
            run_refused(env, 'JSON', 'json', link, LINK_WHY, check_json_report, {env.victim: before})
            link_unchanged(env, link, env.victim)
            only_these(env.private_nobody, ['report.json'])
        elif a.case == 'snapshot':
            link = env.plant_link(env.sticky, 'snap.json', env.victim)
            before = snap(env.victim)
            # The API call: -1, errno ELOOP, nothing written anywhere.
            rc, out, err = env.run([], ['snap', link])
            want = 'snapshot: -1 errno %d' % errno.ELOOP
            if want not in out.splitlines():
                fail('reachcheck_snapshot(%s): %r, expected %r' % (link, out, want))
            if rc != 23:
                fail('snap: exit status %d, expected 23' % rc)
            # The signal: snapshot_path through REACHCHECK_OPTIONS. A path
            # without %n gets -N before .json (snapshots never overwrite each
            # other), so the first signal snapshot is snap-1.json: plant that.
            link1 = env.plant_link(env.sticky, 'snap-1.json', env.victim)
            logged = re.compile(r'snapshot 1 (written to|to .* failed)')
            rc, out, err = env.run([], ['signal', str(int(signal.SIGUSR2))],
                                   env={'REACHCHECK_OPTIONS': 'snapshot_signal=SIGUSR2:snapshot_path=' + link},
                                   stdin_after=lambda e: bool(logged.search(e)))
            lines = [l for l in err.splitlines() if 'snapshot 1' in l]
            want = 'snapshot 1 to %s failed (errno %d)' % (link1, errno.ELOOP)
            if len(lines) != 1 or not lines[0].endswith(want):
                fail('snapshot_signal: stderr lines %r, expected one ending %r' % (lines, want))
            if rc != 23:
                fail('signal: exit status %d, expected 23' % rc)
            no_report_on_stderr(err)
            unchanged('the victim', env.victim, before)
            link_unchanged(env, link, env.victim)
            link_unchanged(env, link1, env.victim)
            only_these(env.sticky, ['snap-1.json', 'snap.json'])
            if env.fallbacks():
                fail('a snapshot went to the fallback directory: %s' % env.fallbacks())
        if snap(env.victim)[-1] != VICTIM:
            fail('the victim no longer holds its content')
    finally:
        if not a.keep:
            shutil.rmtree(env.tmp, ignore_errors=True)
        else:
            print('kept %s' % env.tmp)
    for f in FAILS:
        print('FAIL %s: %s' % (a.case, f))
    if not FAILS:
        print('%s: ok' % a.case)
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
