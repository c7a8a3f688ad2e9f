#!/usr/bin/env python3
"""Daemons as they are deployed (docs/daemons.md): one scenario, exact values.

usage: run_daemons.py --launcher REACHCHECK SCENARIO [--mode M] -- PROGRAM...

Scenarios:
  fork_snapshot  a master forks a worker (forked.c): the snapshot signal sent
                 to the worker writes the worker's own file (%p), with its
                 blocks and pid; reachcheck_snapshot in the worker too; the
                 worker's exit report has its known leak
  fork_http      http=unix:DIR/ep-%p.sock: master and worker each answer on
                 their own socket, with their own pid's heap
  chain          sigchain.c MODE under snapshot_signal=SIGUSR2: the
                 program's handler is chained (the program checks what it
                 sees); one snapshot per signal
"""
import argparse
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import FAILS, check, env_clean, load  # noqa: E402


def wait_for(pred, secs=20.0):
    end = time.time() + secs
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    return pred()


def sites_with(snap, size_bytes, blocks):
    """Sites of a snapshot holding `blocks` blocks of `size_bytes` bytes in all."""
    return [s for s in snap['sites'] if s['blocks'] == blocks and s['bytes'] == size_bytes]


def known_leak_only(report, what):
    s = report['summary']
    check((s['direct']['blocks'], s['direct']['bytes']) == (1, 77) and s['indirect']['blocks'] == 0,
          '%s: leaks %s, want exactly the known 77-byte block' % (what, s))


def start_forked(a, tmp, opts):
    argv = [a.launcher] + ['--' + o for o in opts] + ['--'] + a.cmd
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_clean(),
                         text=True, cwd=tmp)
    line = p.stdout.readline()
    m = re.match(r'worker (\d+)$', line.strip())
    if not check(m, 'worker did not announce itself: %r' % line):
        p.kill()
        return p, 0
    return p, int(m.group(1))


def finish(p):
    try:
        out, err = p.communicate('quit\n', timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return out, err


def sc_fork_snapshot(a, tmp):
    snap = os.path.join(tmp, 's-%p-%n.snap.json')
    rep = os.path.join(tmp, 'r-%p.json')
    p, wpid = start_forked(a, tmp, ['snapshot_signal=SIGUSR2', 'snapshot_path=' + snap, 'json=' + rep, 'exitcode=0'])
    if not wpid:
        return
    mpid = p.pid
    os.kill(wpid, signal.SIGUSR2)
    wfile = os.path.join(tmp, 's-%d-1.snap.json' % wpid)
    got = wait_for(lambda: os.path.exists(wfile))
    if check(got, 'no worker snapshot %s (files: %s)' % (wfile, os.listdir(tmp))):
        d = load(wfile)
        check(d['pid'] == wpid and d['seq'] == 1, 'worker snapshot pid/seq %s/%s, want %d/1' % (d['pid'], d['seq'], wpid))
        check(len(sites_with(d, 3 * 4242, 3)) == 1, 'worker snapshot lacks its 3 x 4242-byte site')
        check(len(sites_with(d, 2 * 1111, 2)) == 1, 'worker snapshot lacks the inherited 2 x 1111-byte site')
        names = [r['root']['name'] for r in d['retainers']]
        check('g_worker' in names, 'worker snapshot retainers %s lack g_worker' % names)
    # the API in the worker: its own numbering and file
    api = os.path.join(tmp, 'api-%p.snap.json')
    p.stdin.write('snap %s\n' % api)
    p.stdin.flush()
    check(p.stdout.readline().strip() == 'snap 0', 'reachcheck_snapshot in the worker failed')
    afile = os.path.join(tmp, 'api-%d.snap.json' % wpid)
    if check(os.path.exists(afile), 'no API snapshot %s' % afile):
        d = load(afile)
        check(d['pid'] == wpid and d['seq'] == 1, 'API snapshot pid/seq %s/%s' % (d['pid'], d['seq']))
    # the master is not disturbed: no snapshot of its own was asked for
    check(not glob.glob(os.path.join(tmp, 's-%d-*' % mpid)), 'master wrote a snapshot it was not asked for')
    out, err = finish(p)
    check(p.returncode == 0, 'exit status %s; stderr:\n%s' % (p.returncode, err[-2000:]))
    check(('snapshot 1 written to %s' % wfile) in err, 'no log line for the worker snapshot:\n%s' % err[-2000:])
    wrep = os.path.join(tmp, 'r-%d.json' % wpid)
    if check(os.path.exists(wrep), 'no worker exit report'):
        known_leak_only(load(wrep), 'worker report')


def curl_unix(sock, path):
    r = subprocess.run(['curl', '-s', '-m', '20', '-o', '-', '-w', '\n%{http_code}', '--unix-socket', sock,
                        'http://localhost' + path], capture_output=True, text=True, timeout=60)
    body, _, code = r.stdout.rpartition('\n')
    return code, body


def sc_fork_http(a, tmp):
    ep = os.path.join(tmp, 'ep-%p.sock')
    p, wpid = start_forked(a, tmp, ['http=unix:' + ep, 'exitcode=0'])
    if not wpid:
        return
    mpid = p.pid
    # (pid, its own site: objects x bytes, the other process's own site or None)
    for pid, own, other in ((mpid, (2, 1111, 'master_alloc'), (3, 4242, 'worker_alloc')),
                            (wpid, (3, 4242, 'worker_alloc'), None)):
        sock = os.path.join(tmp, 'ep-%d.sock' % pid)
        if not check(wait_for(lambda: os.path.exists(sock)), 'no endpoint socket %s' % sock):
            continue
        code, cmd = curl_unix(sock, '/debug/pprof/cmdline')
        check(code == '200', 'pid %d: cmdline answered %s' % (pid, code))
        code, txt = curl_unix(sock, '/debug/pprof/heap?debug=1')
        check(code == '200' and ('heap profile of pid %d:' % pid) in txt, 'pid %d: heap answered %s' % (pid, code))
        site = r'^inuse %d bytes in %d objects;.*\n\s+#0 0x[0-9a-f]+ in %s '
        check(re.search(site % (own[0] * own[1], own[0], own[2]), txt, re.M),
              'pid %d: heap lacks its own %d x %d bytes:\n%s' % (pid, own[0], own[1], txt[:1500]))
        if other:
            check(not re.search(other[2], txt), 'pid %d: heap shows the other process\'s %s' % (pid, other[2]))
    # a grandchild that ends with _exit takes its socket file with it
    p.stdin.write('spawn %s\n' % tmp)
    p.stdin.flush()
    m = re.match(r'spawned (\d+) (\d)$', p.stdout.readline().strip())
    if check(m and m.group(2) == '1', 'the _exit child had no endpoint: %s' % (m and m.group(0))):
        check(not os.path.exists(os.path.join(tmp, 'ep-%s.sock' % m.group(1))), 'the _exit child left its socket file')
    out, err = finish(p)
    check(p.returncode == 0, 'exit status %s; stderr:\n%s' % (p.returncode, err[-2000:]))
    for pid in (mpid, wpid):
        check(re.search(r'serving unix:%s/debug/pprof/ \(pid %d\)' % (re.escape(os.path.join(tmp, 'ep-%d.sock' % pid)), pid),
                        err), 'no serving line for pid %d:\n%s' % (pid, err[-2000:]))
        check(not os.path.exists(os.path.join(tmp, 'ep-%d.sock' % pid)), 'socket of pid %d left behind' % pid)


def sc_chain(a, tmp):
    prefix = os.path.join(tmp, 'c')
    argv = [a.launcher, '--snapshot_signal=SIGUSR2', '--snapshot_path=' + prefix + '.snap.json', '--exitcode=0',
            '--json=' + os.path.join(tmp, 'r.json'), '--'] + a.cmd + [a.mode, prefix]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=100, env=env_clean())
    want = {'sigaction': 3, 'resethand': 1, 'signal': 2, 'sigset': 2, 'other': 1, 'signalfd': 0}[a.mode]
    nsnap = {'sigaction': 3, 'resethand': 2, 'signal': 3, 'sigset': 2, 'other': 0, 'signalfd': 0}[a.mode]
    check(r.returncode == 0 and r.stdout.strip() == 'ok %s calls=%d' % (a.mode, want),
          'status %d, stdout %r, want "ok %s calls=%d"; stderr:\n%s' % (r.returncode, r.stdout, a.mode, want,
                                                                         r.stderr[-2000:]))
    snaps = sorted(glob.glob(prefix + '-*.snap.json'))
    check(len(snaps) == nsnap, '%d snapshots, want %d: %s' % (len(snaps), nsnap, snaps))
    for s in snaps:
        check(load(s)['format'] == 'snapshot', '%s is not a snapshot' % s)
    lines = [l for l in r.stderr.splitlines() if 'bypasses reachcheck' in l]
    if a.mode == 'signalfd':
        check(len(lines) == 1 and re.search(r'takes SIGUSR2 with signalfd.*use snapshot_signal=SIGRTMIN\+\d+ \(free\)',
                                            lines[0]), 'want one line about signalfd, got:\n%s' % r.stderr[-2000:])
    else:
        check(not lines, 'unexpected warning: %s' % lines)
    if os.path.exists(os.path.join(tmp, 'r.json')):
        known_leak_only(load(os.path.join(tmp, 'r.json')), 'report')
    else:
        check(False, 'no exit report')


def sc_dropped(a, tmp):
    """Run as root; the program becomes nobody before its snapshot and exit."""
    if os.geteuid() != 0:
        print('skipped: needs root (the program drops to nobody)')
        return 77
    import pwd
    nobody = pwd.getpwnam('nobody')
    os.chmod(tmp, 0o755)
    out = os.path.join(tmp, 'out')            # root's 0755: nobody cannot write here
    os.mkdir(out, 0o755)
    xdg = os.path.join(tmp, 'xdg')            # nobody's private runtime directory
    os.mkdir(xdg, 0o700)
    os.chown(xdg, nobody.pw_uid, nobody.pw_gid)
    e = env_clean()
    e['XDG_RUNTIME_DIR'] = xdg
    argv = [a.launcher, '--json=' + os.path.join(out, 'r.json'), '--snapshot_signal=SIGUSR2',
            '--snapshot_path=' + os.path.join(out, 's-%p.snap.json'), '--exitcode=0', '--'] + a.cmd
    r = subprocess.run(argv, capture_output=True, text=True, timeout=100, env=e)
    check(r.returncode == 0, 'exit status %d; stderr:\n%s' % (r.returncode, r.stderr[-3000:]))
    pid = None
    files = sorted(os.listdir(xdg))
    rep = [f for f in files if f.startswith('r.json.')]
    snaps = [f for f in files if f.startswith('s-')]
    check(len(rep) == 1 and len(snaps) == 1 and len(files) == 2, 'private files %s, want r.json.PID and one snapshot' % files)
    check(os.listdir(out) == [], 'files in the unwritable directory: %s' % os.listdir(out))
    if rep:
        pid = int(rep[0].split('.')[-1])
        path = os.path.join(xdg, rep[0])
        st = os.stat(path)
        check(st.st_uid == nobody.pw_uid and (st.st_mode & 0o777) == 0o600, 'report mode %o uid %d' % (st.st_mode, st.st_uid))
        d = load(path)
        check(d['pid'] == pid, 'report pid %s' % d['pid'])
        known_leak_only(d, 'fallback report')
        want = "reachcheck: cannot write JSON report '%s' (Permission denied); wrote it to %s" % (
            os.path.join(out, 'r.json'), path)
        lines = [l for l in r.stderr.splitlines() if l.startswith('reachcheck:') and 'JSON report' in l]
        check(lines == [want], 'want the one line %r, got %s' % (want, lines))
    if snaps and pid:
        sp = os.path.join(xdg, snaps[0])
        check(snaps[0] == 's-%d-1.snap.json.%d' % (pid, pid), 'snapshot file %s' % snaps[0])
        check(load(sp)['format'] == 'snapshot' and (os.stat(sp).st_mode & 0o777) == 0o600, 'snapshot file content/mode')
        want = "reachcheck: cannot write snapshot 1 to '%s' (Permission denied); wrote it to %s" % (
            os.path.join(out, 's-%d-1.snap.json' % pid), sp)
        lines = [l for l in r.stderr.splitlines() if l.startswith('reachcheck:') and 'snapshot' in l]
        check(lines == [want], 'want the one line %r, got %s' % (want, lines))
    # the report went to a file, never into the program's stderr
    check('{"tool"' not in r.stderr and '"format"' not in r.stderr, 'JSON on stderr')


def symtab(path):
    """name -> (value, size, section index) from the unstripped file's .symtab (readelf)."""
    out = subprocess.run(['readelf', '-sW', path], capture_output=True, text=True, check=True).stdout
    syms = {}
    for l in out.splitlines():
        f = l.split()
        if len(f) >= 8 and f[0].endswith(':') and f[3] == 'OBJECT':
            syms[f[7]] = (int(f[1], 16), int(f[2], 0), f[6])
    return syms


def sc_stripped(a, tmp):
    full, stripped = a.cmd
    base = os.path.basename(stripped)
    # the names expected, worked out from the unstripped file: the exported
    # object ending last before each static in its section
    syms = symtab(full)
    exported = {'g_stats', 'g_table', 'g_config'}
    secs = {}
    for l in subprocess.run(['readelf', '-SW', full], capture_output=True, text=True, check=True).stdout.splitlines():
        m = re.match(r'\s*\[\s*(\d+)\]\s+(\S+)', l)
        if m:
            secs[m.group(1)] = m.group(2)
    names = {}
    for static in ('hidden', 'cfg_hidden'):
        v, size, sec = syms[static]
        near = max((n for n in exported if syms[n][2] == sec and syms[n][0] + syms[n][1] <= v),
                   key=lambda n: syms[n][0] + syms[n][1], default=None)
        check(near, 'no exported object before %s' % static)
        names[static] = '%s:%s (near %s+0x%x)' % (base, secs[sec], near, syms[near][1]) if near else '?'
    dyn = subprocess.run(['readelf', '--dyn-syms', '-W', stripped], capture_output=True, text=True).stdout
    check(' g_stats' in dyn and ' hidden' not in dyn and not subprocess.run(
        ['readelf', '-S', stripped], capture_output=True, text=True).stdout.count('.symtab'),
          'the test program is not stripped to .dynsym')
    j = os.path.join(tmp, 'r.json')
    snap = os.path.join(tmp, 's.snap.json')
    r = subprocess.run([a.launcher, '--json=' + j, '--retainers=20', '--exitcode=0', '--', stripped, snap],
                       capture_output=True, text=True, timeout=100, env=env_clean())
    check(r.returncode == 0, 'exit status %d:\n%s' % (r.returncode, r.stderr[-2000:]))
    want = {names['hidden']: (4, 1000), names['cfg_hidden']: (2, 120), 'g_table': (3, 90)}
    check(names['hidden'].startswith(base + ':.bss (near g_') and names['cfg_hidden'] == base + ':.data (near g_config+0x8)',
          'names worked out: %s' % names)
    for what, path in (('exit report', j), ('snapshot', snap)):
        if not check(os.path.exists(path), 'no %s' % what):
            continue
        d = load(path)
        got = {x['root']['name']: (x['retained']['blocks'], x['retained']['bytes']) for x in d['retainers']
               if x['root']['kind'] == 'global' and os.path.basename(x['root']['module'] or '') == base}
        check(got == want, '%s: retainers of %s %s, want %s' % (what, base, got, want))
        if what == 'exit report':
            known_leak_only(d, what)
    # the text names it once, with its module in the name
    check(('global %s: retains 1000 bytes in 4 blocks' % names['hidden']) in r.stderr,
          'text report:\n%s' % r.stderr[-2000:])


NGINX_CONF = """user nobody %(group)s;
worker_processes 2;
daemon off;
master_process on;
error_log stderr notice;
pid %(tmp)s/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %(tmp)s/body;
  proxy_temp_path %(tmp)s/proxy;
  fastcgi_temp_path %(tmp)s/fastcgi;
  uwsgi_temp_path %(tmp)s/uwsgi;
  scgi_temp_path %(tmp)s/scgi;
  server {
    listen 127.0.0.1:%(port)d;
    location / { return 200 "hello from $pid\\n"; }
  }
}
"""


def free_port():
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def children(pid):
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def uid_of(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            return int(re.search(r'^Uid:\s+(\d+)', f.read(), re.M).group(1))
    except (OSError, AttributeError):
        return -1


def http_get(port):
    r = subprocess.run(['curl', '-s', '-m', '10', 'http://127.0.0.1:%d/' % port], capture_output=True, text=True)
    return r.stdout


def sc_nginx(a, tmp):
    """Real nginx: master + 2 workers as nobody, snapshot_signal=SIGUSR2 (nginx's own)."""
    if os.geteuid() != 0 or not os.path.exists(a.nginx):
        print('skipped: needs root and %s' % a.nginx)
        return 77
    import grp
    import pwd
    nobody = pwd.getpwnam('nobody')
    group = grp.getgrgid(nobody.pw_gid).gr_name
    os.chmod(tmp, 0o755)
    for d, owner in (('out', None), ('snaps', nobody), ('xdg', nobody), ('logs', None)):
        os.mkdir(os.path.join(tmp, d), 0o700 if d == 'xdg' else 0o755)
        if owner:
            os.chown(os.path.join(tmp, d), owner.pw_uid, owner.pw_gid)
    port = free_port()
    conf = os.path.join(tmp, 'nginx.conf')
    with open(conf, 'w') as f:
        f.write(NGINX_CONF % {'group': group, 'tmp': tmp, 'port': port})
    e = env_clean()
    e['XDG_RUNTIME_DIR'] = os.path.join(tmp, 'xdg')
    opts = ['snapshot_signal=SIGUSR2', 'snapshot_path=%s/snaps/s-%%p.snap.json' % tmp, 'json=%s/out/r-%%p.json' % tmp,
            'http=unix:%s/ep-%%p.sock' % tmp, 'exitcode=0']
    errf = open(os.path.join(tmp, 'stderr'), 'w+')
    p = subprocess.Popen([a.launcher] + ['--' + o for o in opts] + ['--', a.nginx, '-p', tmp, '-c', conf],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf, env=e)
    master = p.pid
    try:
        workers = wait_for(lambda: (lambda c: c if len(c) == 2 and all(uid_of(w) == nobody.pw_uid for w in c) else None)(
            children(master)), 30)
        if not check(workers, 'nginx did not start 2 workers as nobody: %s' % children(master)):
            return
        for w in workers:
            check(wait_for(lambda: os.path.exists('%s/ep-%d.sock' % (tmp, w))), 'no endpoint for worker %d' % w)
        served = [http_get(port) for _ in range(20)]
        check(all(re.match(r'hello from (\d+)$', x.strip()) for x in served), 'nginx answers: %s' % served[:3])
        # every worker's own endpoint answers with its own heap
        for w in workers:
            code, txt = curl_unix('%s/ep-%d.sock' % (tmp, w), '/debug/pprof/heap?debug=1')
            check(code == '200' and ('heap profile of pid %d:' % w) in txt, 'worker %d endpoint: %s %s' % (w, code, txt[:200]))
        code, txt = curl_unix('%s/ep-%d.sock' % (tmp, master), '/debug/pprof/heap?debug=1')
        check(code == '200' and ('heap profile of pid %d:' % master) in txt, 'master endpoint: %s' % code)
        # SIGUSR2 to one worker: its own snapshot, and nginx's handler still runs
        w = workers[0]
        os.kill(w, signal.SIGUSR2)
        snap = '%s/snaps/s-%d-1.snap.json' % (tmp, w)
        if check(wait_for(lambda: os.path.exists(snap), 30), 'no snapshot %s' % snap):
            d = load(snap)
            check(d['pid'] == w and d['seq'] == 1 and d['summary']['live']['blocks'] > 0, 'worker snapshot %s' % d['summary'])
        check(not os.path.exists('%s/snaps/s-%d-1.snap.json' % (tmp, workers[1])), 'the other worker snapshotted too')
        check(all('hello from' in http_get(port) for _ in range(10)), 'nginx stops serving after the snapshot')
        errf.flush()
        log = open(os.path.join(tmp, 'stderr')).read()
        check(re.search(r'\b%d#%d: signal 12 \(SIGUSR2\) received' % (w, w), log),
              "nginx's own SIGUSR2 handler did not run in worker %d:\n%s" % (w, log[-2000:]))
        check(('reachcheck: snapshot 1 written to %s' % snap) in log, 'no snapshot line')
    finally:
        if p.poll() is None:
            os.kill(master, signal.SIGQUIT)     # graceful: workers finish and exit
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
    check(p.returncode == 0, 'nginx exit status %s' % p.returncode)
    log = open(os.path.join(tmp, 'stderr')).read()
    check(os.path.exists('%s/out/r-%d.json' % (tmp, master)), "no master report (root writes where asked)")
    # nginx clears the environment of its workers (only TZ is kept), so the
    # private directory is /tmp/reachcheck-UID, not XDG_RUNTIME_DIR
    for w in workers or []:
        fb = '/tmp/reachcheck-%d/r-%d.json.%d' % (nobody.pw_uid, w, w)
        want = "reachcheck: cannot write JSON report '%s/out/r-%d.json' (Permission denied); wrote it to %s" % (tmp, w, fb)
        lines = [l for l in log.splitlines() if l.startswith('reachcheck:') and 'r-%d.json' % w in l]
        check(lines == [want], 'worker %d report line: %s, want %r' % (w, lines, want))
        if check(os.path.exists(fb), 'no fallback report %s' % fb):
            d = load(fb)
            st = os.stat(fb)
            check(d['pid'] == w and (st.st_mode & 0o777) == 0o600 and st.st_uid == nobody.pw_uid,
                  'fallback report of %d' % w)
            os.unlink(fb)
    check('{"tool"' not in log, 'JSON dumped into stderr')


def main():
    argv = sys.argv[1:]
    cmd = argv[argv.index('--') + 1:] if '--' in argv else []
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--launcher', required=True)
    ap.add_argument('--mode', default='')
    ap.add_argument('--nginx', default='/usr/sbin/nginx')
    a = ap.parse_args(argv[:len(argv) - len(cmd) - (1 if '--' in argv else 0)])
    a.cmd = cmd
    fn = globals().get('sc_' + a.scenario)
    if not fn:
        sys.exit('unknown scenario %s' % a.scenario)
    tmp = tempfile.mkdtemp(prefix='rc_daemons_')
    try:
        rc = fn(a, tmp)
        if rc is not None:
            return rc
    finally:
        if not FAILS:
            subprocess.run(['rm', '-rf', tmp])
    for f in FAILS:
        print('FAIL:', f)
    if FAILS:
        print('(files kept in %s)' % tmp)
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
