#!/usr/bin/env python3
"""Growth tests (issue 14, --watch): run one scenario and check exact values.

Usage: run_watch.py SCENARIO --launcher REACHCHECK [--tools CURL] -- PROGRAM ARGS...

Scenarios:
  svc       tests/retain/watch_svc.c under --watch: growth[] names exactly
            g_audit_history, +240 bytes and +1 block per snapshot, added by
            append_audit_record; the cache and the start-up table are not
            reported; text, JSON and SARIF agree.
  endpoint  the same program with --http=unix:PATH: /debug/reachcheck/growth
            names g_audit_history while the program runs.
  fork      the ticks run in a forked child: the child's own report (%p)
            names the list, the parent's says nothing grows.
  bad       --watch=abc and --watch_keep=1 are refused: exit 2, one line.
  redis     redis-server (Debian) under --watch, keys added by redis-cli
            between samples, two snapshots: the growth is attributed to the
            block that holds the keyspace (a dict), with its allocation site.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import FAILS, check, env_clean, load, run  # noqa: E402


def funcs(stack):
    return [f.get('function') for f in stack]


def check_svc_growth(d, where):
    """The one growing root of watch_svc, exactly."""
    g = d.get('growth')
    if not check(isinstance(g, list), '%s: no growth[] in the report' % where):
        return
    names = [(x['kind'], (x.get('root') or {}).get('name'), funcs(x['site'])[:1]) for x in g]
    if not check(len(g) == 1, '%s: want exactly one growing entry, got %s' % (where, names)):
        return
    x = g[0]
    check(x['kind'] == 'root', '%s: kind %s, want root' % (where, x['kind']))
    check(x['root']['kind'] == 'global' and x['root']['name'] == 'g_audit_history',
          '%s: root %s, want global g_audit_history' % (where, x['root']))
    check(funcs(x['site'])[:1] == ['append_audit_record'], '%s: site %s' % (where, funcs(x['site'])))
    check(x['bytes_per_snapshot'] == 240, '%s: bytes_per_snapshot %s, want 240' % (where, x['bytes_per_snapshot']))
    check(x['blocks_per_snapshot'] == 1, '%s: blocks_per_snapshot %s, want 1' % (where, x['blocks_per_snapshot']))
    check(x['samples'] == 5, '%s: samples %s, want 5 (watch_keep=4)' % (where, x['samples']))
    check(x['bytes_per_sec'] > 0 and x['blocks_per_sec'] > 0, '%s: rates %s %s' % (where, x['bytes_per_sec'],
                                                                             x['blocks_per_sec']))
    # 0.2 s intervals: at most 1200 bytes/s (a sample takes time too)
    check(x['bytes_per_sec'] <= 1200.5, '%s: bytes_per_sec %s > 240 B / 0.2 s' % (where, x['bytes_per_sec']))
    why = x.get('why') or []
    check(len(why) == 2 and why[0].get('root', {}).get('name') == 'g_audit_history' and
          why[1]['block']['size'] == 240 and funcs(why[1]['block']['stack'])[:1] == ['append_audit_record'],
          '%s: why-path %s' % (where, json.dumps(why)[:400]))


def svc(a, prog, tmp):
    js, sarif = os.path.join(tmp, 'r.json'), os.path.join(tmp, 'r.sarif')
    rc, out, err = run([a.launcher, '--watch=0.2', '--watch_keep=4', '--watch_report=1', '--json=' + js,
                        '--sarif=' + sarif, '--'] + prog + ['8'], timeout=a.timeout)
    check(rc == 23, 'exit %d, want 23 (the known leak)\n%s' % (rc, err[-2000:]))
    d = load(js)
    s = d['summary']
    check((s['direct']['blocks'], s['direct']['bytes']) == (1, 77), 'direct %s, want 1 block of 77' % s['direct'])
    check_svc_growth(d, 'json')
    check(d.get('watch', {}).get('snapshots', 0) >= 9, 'watch %s: want >= 9 snapshots' % d.get('watch'))
    # after every sample (watch_report=1) and at exit: only the list, ever
    lines = [l for l in err.splitlines() if l.startswith('reachcheck: growing:')]
    name = 'global g_audit_history (%s)' % os.path.basename(prog[0])
    check(lines and all(name in l and '+240 bytes and +1 block per snapshot' in l for l in lines), 'text: %s' % lines)
    nothing = [l for l in err.splitlines() if re.match(r'reachcheck: watch: \d+ snapshots? so far, nothing grows$', l)]
    # the list is empty at sample 1 (no root holds it yet): samples 2-6 are its first window
    check(len(nothing) == 5, 'want "nothing grows" after samples 1-5, got %d' % len(nothing))
    check(re.search(r'^\s+added by append_audit_record watch_svc\.c:\d+ < serve', err, re.M),
          'text: no "added by append_audit_record" line\n' + err[-1500:])
    check(re.search(r'^\s+newest block: root -> 240 B \(append_audit_record', err, re.M),
          'text: no newest-block path')
    check('g_cache' not in '\n'.join(lines) and 'refresh_cache' not in '\n'.join(lines), 'the cache was flagged')
    sr = load(sarif)
    res = [r for r in sr['runs'][0]['results'] if r['ruleId'] == 'growing-memory']
    check(len(res) == 1 and 'g_audit_history' in res[0]['message']['text'] and
          'grows by 240 bytes per snapshot' in res[0]['message']['text'], 'SARIF growth results: %s' % res)
    if res:
        loc = res[0]['locations'][0]['physicalLocation']
        check(loc['artifactLocation']['uri'].endswith('watch_svc.c'), 'SARIF location %s' % loc)
    checker = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'api', 'check_sarif.py')
    rc, out, _ = run([sys.executable, checker, sarif])
    check(rc == 0, 'SARIF does not validate: %s' % out[-1500:])
    rules = [r['id'] for r in sr['runs'][0]['tool']['driver']['rules']]
    check(rules == ['direct-leak', 'indirect-leak', 'growing-memory'], 'SARIF rules %s' % rules)


def http_get_unix(path, url, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(('GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' % url).encode())
    data = b''
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    head, _, body = data.partition(b'\r\n\r\n')
    return int(head.split()[1]), body.decode('utf-8', 'replace')


def endpoint(a, prog, tmp):
    sock = os.path.join(tmp, 'rc.sock')
    p = subprocess.Popen([a.launcher, '--watch=0.2', '--watch_keep=4', '--report=0', '--http=unix:' + sock, '--'] +
                         prog + ['40'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env_clean())
    found, last = None, None
    deadline = time.time() + 30
    try:
        while time.time() < deadline and p.poll() is None and not found:
            time.sleep(0.2)
            if not os.path.exists(sock):
                continue
            code, body = http_get_unix(sock, '/debug/reachcheck/growth')
            last = (code, body[:500])
            if code == 200 and json.loads(body)['growth']:
                found = json.loads(body)
    finally:
        p.kill()
        p.wait()
    if check(found is not None, 'the endpoint never showed growth: %s' % (last,)):
        check(found['pid'] == p.pid or found['pid'] > 0, 'pid %s' % found['pid'])
        check_svc_growth(found, 'endpoint')


def fork(a, prog, tmp):
    js = os.path.join(tmp, 'r.%p.json')
    rc, out, err = run([a.launcher, '--watch=0.2', '--watch_keep=4', '--json=' + js, '--'] + prog + ['8', 'fork'],
                       timeout=a.timeout)
    check(rc == 23, 'exit %d, want 23\n%s' % (rc, err[-2000:]))
    pids = dict(re.findall(r'^rc-pid: (\w+) (\d+)$', out, re.M))
    if not check('parent' in pids and 'child' in pids, 'no pids in %r' % out):
        return
    child = load(os.path.join(tmp, 'r.%s.json' % pids['child']))
    parent = load(os.path.join(tmp, 'r.%s.json' % pids['parent']))
    check_svc_growth(child, 'forked child')
    check(parent.get('growth') == [], 'parent growth %s, want []' % parent.get('growth'))
    check(child.get('watch', {}).get('snapshots', 0) >= 9, 'child watch %s' % child.get('watch'))


def bad(a, prog, tmp):
    for opt, key in (('--watch=abc', 'watch'), ('--watch=0', 'watch'), ('--watch_keep=1', 'watch_keep')):
        extra = ['--watch=1'] if key == 'watch_keep' else []
        rc, out, err = run([a.launcher, opt] + extra + ['--'] + prog + ['1'], timeout=30)
        lines = err.strip().splitlines()
        check(rc == 2 and len(lines) == 1 and ("'%s=" % key) in lines[0] and not out,
              '%s: exit %d, stderr %r' % (opt, rc, err[-500:]))


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def redis(a, prog, tmp):
    server, cli = shutil.which('redis-server'), shutil.which('redis-cli')
    if not server or not cli:
        print('SKIP: redis-server or redis-cli is not installed (Debian package redis-server)')
        sys.exit(77)
    sock = os.path.join(tmp, 'redis.sock')
    js = os.path.join(tmp, 'redis.%p.json')
    snap = os.path.join(tmp, 'redis-%n.snap.json')
    # port 0: no TCP listener at all; the unix socket only
    argv = [a.launcher, '--watch=0.5', '--watch_keep=4', '--json=' + js, '--snapshot_signal=SIGUSR2',
            '--snapshot_path=' + snap, '--retainers=5', '--', server, '--port', '0', '--unixsocket', sock,
            '--save', '', '--appendonly', 'no', '--dir', tmp, '--daemonize', 'no', '--loglevel', 'warning']
    errf = open(os.path.join(tmp, 'stderr'), 'w+')
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errf, env=env_clean())

    def cli_run(*args, timeout=20):
        return subprocess.run([cli, '-s', sock] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    try:
        deadline = time.time() + 30
        while time.time() < deadline and cli_run('PING').stdout.strip() != b'PONG':
            if p.poll() is not None:
                break
            time.sleep(0.2)
        if not check(p.poll() is None, 'redis-server did not start: %s' % open(errf.name).read()[-2000:]):
            return
        os.kill(p.pid, signal.SIGUSR2)   # snapshot 1, before the load
        # load: 2000 keys every half second, for 12 samples. Snapshot 2 is
        # taken after round 10 while the load goes on, and the server shuts
        # down right after the last round: the exit's judgement covers the
        # last watch_keep=4 samples, and idle time after the load (samples
        # that see nothing grow) would make "keeps growing" false there. The
        # faster the samples, the more of them an idle second holds (a fork
        # of the heap in huge pages takes ~3 ms, not 40).
        n = 0
        for rnd in range(12):
            cmds = ''.join('SET key:%d %s\n' % (n + i, 'v' * 64) for i in range(2000))
            n += 2000
            subprocess.run([cli, '-s', sock], input=cmds.encode(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
            if rnd == 9:
                os.kill(p.pid, signal.SIGUSR2)   # snapshot 2, 20000 keys in
            time.sleep(0.5)
        dbsize = cli_run('DBSIZE').stdout.strip()
        check(dbsize == str(n).encode(), 'DBSIZE %r, want %d' % (dbsize, n))
        cli_run('SHUTDOWN', 'NOSAVE')
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = open(errf.name, errors='replace').read()
    reports = glob.glob(os.path.join(tmp, 'redis.*.json'))
    if not check(len(reports) == 1, 'reports %s\n%s' % (reports, err[-3000:])):
        return
    d = load(reports[0])
    g = d.get('growth') or []
    snaps = sorted(glob.glob(os.path.join(tmp, 'redis-*.snap.json')))
    check(len(snaps) == 2, 'snapshots %s' % snaps)
    sys.stdout.write(err[-6000:])
    blocks = [x for x in g if x['kind'] == 'block']
    if not check(blocks, 'no growing block in growth[]: %s\n%s' % (json.dumps(g)[:2000], err[-3000:])):
        return
    top = blocks[0]
    site = funcs(top['block']['site'])
    # the keyspace: server.db, the array of redisDb made by initServer, reached
    # from `server` and from lctx; the dict inside it is on the newest key's path
    check('initServer' in site[:3], 'the growing block is not server.db (initServer): site %s' % site)
    roots = [r['name'] for r in top['block']['roots']]
    check(top['block']['roots_total'] >= 2 and 'server' in roots, 'roots reaching it: %s' % top['block'])
    path = [funcs(s['block']['stack'])[:3] for s in top['why'] if 'block' in s]
    check(any('dictCreate' in f for f in path), 'no dict (dictCreate) on the newest block\'s path: %s' % path)
    check(top['bytes_per_snapshot'] > 2000 * 64, 'bytes_per_snapshot %s < 2000 keys of 64 B' %
          top['bytes_per_snapshot'])
    lines = [l for l in err.splitlines() if 'reachcheck: growing:' in l or 'newest block:' in l]
    check(any('initServer' in l for l in lines) and any('dictCreate' in l for l in lines),
          'text names no keyspace block and dict: %s' % lines)
    # the two snapshots: blocks[] lists server.db first, diff shows its change
    if len(snaps) == 2 and a.tools:
        s1, s2 = load(snaps[0]), load(snaps[1])
        b2 = s2.get('blocks') or []
        check(b2 and b2[0]['retained']['bytes'] > (s1.get('blocks') or [{'retained': {'bytes': 0}}])[0]['retained']['bytes'],
              'snapshot blocks[]: %s' % json.dumps(b2[:2])[:500])
        rc, out, derr = run([a.tools, 'diff', snaps[0], snaps[1]], timeout=120)
        check(rc == 0 and re.search(r'^\s+#1 block \d+ B at 0x[0-9a-f]+ from .*reachable from [^)]*\bserver\b.*: \+\d+ bytes',
                                    out, re.M), 'diff shows no block change:\n%s%s' % (out[-2000:], derr))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--launcher', required=True)
    ap.add_argument('--timeout', type=int, default=100)
    ap.add_argument('--tools')
    argv = sys.argv[1:]
    cut = argv.index('--') if '--' in argv else len(argv)
    a = ap.parse_args(argv[:cut])
    prog = argv[cut + 1:]
    tmp = tempfile.mkdtemp(prefix='rc-watch-')
    try:
        {'svc': svc, 'endpoint': endpoint, 'fork': fork, 'bad': bad, 'redis': redis}[a.scenario](a, prog, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILS:
        for f in FAILS:
            print('FAIL: ' + f)
        sys.exit(1)
    print('ok: ' + a.scenario)


if __name__ == '__main__':
    main()
