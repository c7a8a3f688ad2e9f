#!/usr/bin/env python3
"""Retention tests (issue 4): run one scenario and check exact values.

Usage: run_retain.py SCENARIO --launcher REACHCHECK --tools TOOLS [options] -- PROGRAM ARGS...

TOOLS is a program taking `diff ...` / `graph ...` (the launcher itself once
it dispatches them). Scenarios: globals, why, random, snapshot_diff, graph,
example, json_errors, bad_signal, big.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import FAILS, check, load, run  # noqa: E402


def under(a, opts, prog, timeout=120):
    return run([a.launcher] + ['--' + o for o in opts] + ['--'] + prog, timeout=timeout)


def summary_is(d, direct, indirect=(0, 0)):
    s = d['summary']
    check((s['direct']['blocks'], s['direct']['bytes']) == direct, 'direct %s, want %s' % (s['direct'], direct))
    check((s['indirect']['blocks'], s['indirect']['bytes']) == indirect,
          'indirect %s, want %s' % (s['indirect'], indirect))


def root_id(r):
    return (r['kind'], r['name'], os.path.basename(r['module'] or ''), r['thread'])


# ---- scenarios ----
def sc_globals(a, tmp):
    prog = a.cmd
    base = os.path.basename(prog[0])
    j = os.path.join(tmp, 'r.json')
    rc, out, err = under(a, ['json=' + j, 'retainers=10', 'why_size=20000'], prog)
    check(rc == 23, 'exit status %d, want 23' % rc)
    d = load(j)
    summary_is(d, (1, 77))
    pid = d['pid']
    got = [(root_id(r['root']), r['retained']['blocks'], r['retained']['bytes']) for r in d['retainers']]
    want = [(('global', 'g_big', base, None), 1, 5000), (('global', 'g_list', base, None), 10, 1040),
            (('tls', 't_head', base, pid), 2, 208), (('global', 'get_cache::cache', base, None), 1, 64),
            (('global', 'g_s1', base, None), 1, 48)]
    check(got == want, 'retainers %s, want %s' % (got, want))
    lst = [r for r in d['retainers'] if r['root']['name'] == 'g_list']
    if lst:
        ts = lst[0]['top_sites']
        check(len(ts) == 1 and ts[0]['blocks'] == 10 and ts[0]['bytes'] == 1040 and ts[0]['stack'][0]['function'] == 'build',
              'g_list top_sites %s' % json.dumps(ts)[:300])
    ret = d.get('retention', {})
    check(ret.get('shared') == {'blocks': 1, 'bytes': 20000}, 'shared %s, want 1 block of 20000' % ret.get('shared'))
    check(ret.get('reachable') == {'blocks': 16, 'bytes': 26360}, 'reachable %s' % ret.get('reachable'))
    why = d.get('why', [])
    if check(len(why) == 1, '%d why answers, want 1' % len(why)):
        w = why[0]
        path = [('root',) + root_id(e['root']) + (e['root'].get('offset'),) if 'root' in e else
                ('block', e['block']['size'], e['block']['offset']) for e in w['path']]
        want_path = [('root', 'global', 'g_s2', base, None, 0), ('block', 20000, 0)]
        check(w['block']['size'] == 20000 and w['length'] == 1 and path == want_path,
              'why path %s, want %s' % (path, want_path))
    check(re.search(r'^  #1 global g_big \(%s\): retains 5000 bytes in 1 block\n'
                    r'      5000 bytes in 1 block from build retain_globals\.c:\d+ < main retain_globals\.c:\d+ < ' % re.escape(base),
                    err, re.M), 'text report lacks "#1 global g_big (...): retains 5000 bytes in 1 block" + its site')
    check(re.search(r'^  root: global g_s2 \(%s\), pointer at offset 0$' % re.escape(base), err, re.M),
          'text why lacks "root: global g_s2"')
    # no JSON report: retention is computed only when the text report prints (it leaks 1 block)
    rc, out, err = under(a, ['retainers=10'], prog)
    check(rc == 23 and re.search(r'^  #1 global g_big \(%s\): retains 5000 bytes in 1 block$' % re.escape(base), err, re.M),
          'without JSON: status %d, text report lacks "#1 global g_big"' % rc)
    # retainers=2: the two biggest; retainers=0 and no why: no retention at all
    rc, out, err = under(a, ['json=' + j, 'retainers=2'], prog)
    d = load(j)
    got = [r['root']['name'] for r in d['retainers']]
    check(got == ['g_big', 'g_list'], 'retainers=2 gave %s' % got)
    rc, out, err = under(a, ['json=' + j, 'retainers=0'], prog)
    d = load(j)
    check('retainers' not in d and 'retains' not in err, 'retainers=0 still reports retention')
    summary_is(d, (1, 77))


def sc_why(a, tmp):
    j = os.path.join(tmp, 'r.json')
    rc, out, err = under(a, ['json=' + j, 'retainers=0'], a.cmd + [a.lib])
    check(rc == 23, 'exit status %d, want 23 (stderr: %s)' % (rc, err[-2000:]))
    d = load(j)
    summary_is(d, (1, 77))
    pid = d['pid']
    tid = int(re.search(r'^thread (\d+)$', out, re.M).group(1))
    exe = os.path.basename(a.cmd[0])
    answers = {}
    for line in out.splitlines():
        p = line.split(' ', 3)
        if p[0] == 'why':
            answers[p[1]] = (int(p[2]), json.loads(p[3]) if len(p) > 3 and p[3].strip() else None)

    def path_of(doc):
        return [('root',) + root_id(e['root']) + (e['root'].get('offset'),) if 'root' in e else
                (e['block']['size'], e['block']['offset']) for e in doc['path']]

    lib = os.path.basename(a.lib)
    want = {
        'lib_global': (3, [('root', 'global', 'lib_registry', 'librct_retlib.so', None, 0), (40, 0), (40, 8), (56, 0)]),
        'lib_tls': (1, [('root', 'tls', 'lib_tls', 'librct_retlib.so', pid, 0), (120, 0)]),
        'main_tls': (2, [('root', 'tls', 't_chain', exe, pid, 0), (24, 16), (88, 0)]),
        'thread_tls': (2, [('root', 'tls', 't_chain', exe, tid, 0), (24, 16), (72, 0)]),
        'dl_tls': (1, [('root', 'tls', 'dl_tls_cache', lib, pid, 0), (136, 0)]),
        'leaked': (0, []),
        'leaked_held': (1, [('root', 'stack', 'ask', exe, pid, None), (99, 0)]),
    }
    for name, (ret, path) in want.items():
        if not check(name in answers, 'no answer for %s' % name):
            continue
        r, doc = answers[name]
        got = path_of(doc) if doc else None
        check(r == ret and got == path, '%s: returned %d with path %s, want %d with %s' % (name, r, got, ret, path))
    check(answers.get('leaked_held', (0, {}))[1].get('caller_only') is True, 'leaked_held: caller_only not set')
    check(answers.get('not_heap', (0, None))[0] == -1, 'not_heap: want -1, got %s' % (answers.get('not_heap'),))
    check(re.search(r'^  root: global lib_registry \(librct_retlib\.so\), pointer at offset 0$', err, re.M),
          'text lacks "root: global lib_registry (librct_retlib.so)"')


def sc_cpp(a, tmp):
    base = os.path.basename(a.cmd[0])
    j = os.path.join(tmp, 'r.json')
    rc, out, err = under(a, ['json=' + j], a.cmd)
    check(rc == 23, 'exit status %d, want 23' % rc)
    d = load(j)
    summary_is(d, (1, 77))
    got = {r['root']['name']: (r['root']['kind'], os.path.basename(r['root']['module']), r['retained']['blocks'],
                               r['retained']['bytes']) for r in d['retainers']}
    want = {'ns::Cache::instance': ('global', base, 2, 24 + 200), 'ns::g_registry': ('global', base, 2, 24 + 80),
            'get_table()::table': ('global', base, 1, 300), 'tls_stack()::depth': ('tls', base, 1, 32)}
    for name, w in want.items():
        check(got.get(name) == w, '%s: %s, want %s' % (name, got.get(name), w))


def dominators(lines):
    """Retained (blocks, bytes) by root and shared, by brute force (Cooper-Harvey-Kennedy)."""
    size, succ = {}, {}
    for l in lines:
        p = l.split()
        if p and p[0] == 'B':
            i = int(p[1])
            size[i] = int(p[2])
            succ[('b', i)] = [('b', int(x)) for x in p[3:6] if int(x) >= 0]
        elif p and p[0] == 'R':
            succ[('r', int(p[1]))] = [('b', int(x)) for x in p[2:5] if int(x) >= 0]
    S = ('s', 0)
    succ[S] = [('r', r) for r in range(6)]
    order, seen, stack = [], {S}, [(S, iter(succ[S]))]
    while stack:
        n, it = stack[-1]
        for m in it:
            if m not in seen:
                seen.add(m)
                stack.append((m, iter(succ.get(m, []))))
                break
        else:
            stack.pop()
            order.append(n)
    rpo = order[::-1]
    num = {n: i for i, n in enumerate(rpo)}
    preds = {n: [] for n in rpo}
    for n in rpo:
        for m in succ.get(n, []):
            preds[m].append(n)
    idom, changed = {S: S}, True
    while changed:
        changed = False
        for n in rpo[1:]:
            ps = [p for p in preds[n] if p in idom]
            new = ps[0]
            for p in ps[1:]:
                x, y = p, new
                while x != y:
                    while num[x] > num[y]:
                        x = idom[x]
                    while num[y] > num[x]:
                        y = idom[y]
                new = x
            if idom.get(n) != new:
                idom[n], changed = new, True
    ret, shared = {}, [0, 0]
    for n in rpo:
        if n[0] != 'b':
            continue
        t = n
        while idom[t] != S:
            t = idom[t]
        acc = ret.setdefault(t[1], [0, 0]) if t[0] == 'r' else shared
        acc[0] += 1
        acc[1] += size[n[1]]
    return {r: tuple(v) for r, v in ret.items()}, tuple(shared)


def sc_random(a, tmp):
    j = os.path.join(tmp, 'r.json')
    for seed in ('1', '2', '3', '12345', '987654321'):
        rc, out, err = under(a, ['json=' + j, 'retainers=50'], a.cmd + [seed])
        check(rc == 23, 'seed %s: exit status %d' % (seed, rc))
        d = load(j)
        summary_is(d, (1, 77))
        want, shared = dominators(out.splitlines())
        got = {int(r['root']['name'][6:]): (r['retained']['blocks'], r['retained']['bytes'])
               for r in d['retainers'] if r['root']['name'].startswith('g_root')}
        gs = d['retention']['shared']
        check(got == want and (gs['blocks'], gs['bytes']) == shared,
              'seed %s: retained %s shared %s, brute force %s shared %s' % (seed, got, gs, want, shared))


def take_snapshots(a, tmp):
    s1, s2, j = (os.path.join(tmp, n) for n in ('old.snap.json', 'new.snap.json', 'r.json'))
    rc, out, err = under(a, ['json=' + j], a.cmd + [s1, s2])
    check(rc == 23, 'exit status %d, want 23 (stderr: %s)' % (rc, err[-2000:]))
    d = load(j)
    summary_is(d, (1, 77))
    return s1, s2, j


def sc_snapshot_diff(a, tmp):
    s1, s2, j = take_snapshots(a, tmp)
    base = os.path.basename(a.cmd[0])
    for path, n in ((s1, 100), (s2, 500)):
        d = load(path)
        check(d['format'] == 'snapshot' and d['summary']['complete'], '%s: not a complete snapshot' % path)
        got = {r['root']['name']: (r['retained']['blocks'], r['retained']['bytes']) for r in d['retainers']}
        check(got.get('g_history') == (n, n * 48) and got.get('g_config') == (1, 1000),
              '%s: g_history %s g_config %s' % (path, got.get('g_history'), got.get('g_config')))
    rc, out, err = run([a.tools, 'diff', s1, s2, '--json'])
    check(rc == 0 and not err, 'diff --json: status %d, stderr %r' % (rc, err))
    d = json.loads(out)
    top = d['sites'][0]
    check(top['delta'] == {'blocks': 400, 'bytes': 19200} and top['old'] == {'blocks': 100, 'bytes': 4800}
          and top['new'] == {'blocks': 500, 'bytes': 24000}, 'top site %s' % {k: top[k] for k in ('old', 'new', 'delta')})
    check(top['stack'][0]['function'] == 'append' and top['stack'][0]['file'].endswith('retain_snap.c')
          and top['stack'][0]['line'] > 0, 'top site frame %s' % top['stack'][0])
    r0 = d['roots'][0]
    check((r0['root']['kind'], r0['root']['name'], os.path.basename(r0['root']['module'])) == ('global', 'g_history', base)
          and r0['delta'] == {'blocks': 400, 'bytes': 19200}, 'top root %s' % r0)
    check(r0['sites'][0]['delta'] == {'blocks': 400, 'bytes': 19200}, 'top root site %s' % r0['sites'][0])
    check(all(r['delta']['bytes'] <= 200 for r in d['roots'][1:]), 'other roots grew: %s' % d['roots'][1:4])
    rc, out, err = run([a.tools, 'diff', s1, s2])
    check(rc == 0, 'diff: status %d' % rc)
    check(re.search(r'^  #1 \+19200 bytes, \+400 blocks \(100 -> 500 blocks, 4800 -> 24000 bytes\), allocated from:\n'
                    r'       #0 append \S*retain_snap\.c:\d+ \(%s\+0x[0-9a-f]+\)$' % re.escape(base), out, re.M),
          'text diff lacks the growing site first:\n' + out[:1500])
    check(re.search(r'^  #1 global g_history \(%s\): \+19200 bytes, \+400 blocks' % re.escape(base), out, re.M),
          'text diff lacks g_history first')
    # the same two snapshots the other way round: the site shrinks
    rc, out, err = run([a.tools, 'diff', s2, s1, '--json'])
    d = json.loads(out)
    check(d['sites'][-1]['delta']['bytes'] == -19200 or any(s['delta']['bytes'] == -19200 for s in d['sites']),
          'reverse diff lacks the shrinking site')


def chromium_check(a, html, tmp, what):
    chrome = a.chromium or shutil.which('chromium') or shutil.which('chromium-browser')
    if not check(chrome, 'chromium not found'):
        return
    for frag in ('', '#root=0'):
        prof = tempfile.mkdtemp(prefix='rc_chrome_', dir=tmp)
        argv = [chrome, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--user-data-dir=' + prof, '--enable-logging=stderr', '--v=0', '--window-size=1200,900',
                '--dump-dom', 'file://' + os.path.abspath(html) + frag]
        try:
            rc, out, err = run(argv, timeout=90)
        except subprocess.TimeoutExpired:
            check(False, '%s%s: chromium timed out' % (what, frag))
            continue
        m = re.search(r'data-rendered="(\d+)"', out)
        least = 2 if frag else 3   # zoomed: the root and its sites
        check(rc == 0 and m and int(m.group(1)) >= least, '%s%s: not rendered (status %d, %s)' % (what, frag, rc, m and m.group(0)))
        body = re.search(r'<body[^>]*>', out)
        check(body and 'data-error' not in body.group(0), '%s%s: page error %s' % (what, frag, body and body.group(0)))
        console = [l for l in err.splitlines() if ':CONSOLE' in l]
        check(not console, '%s%s: console messages: %s' % (what, frag, console[:5]))


def sc_graph(a, tmp):
    s1, s2, j = take_snapshots(a, tmp)
    base = os.path.basename(a.cmd[0])
    dot, html, html2 = (os.path.join(tmp, n) for n in ('tree.dot', 'tree.html', 'report.html'))
    rc, out, err = run([a.tools, 'graph', s2, '--dot', '-o', dot])
    check(rc == 0 and not err, 'graph --dot: status %d, %r' % (rc, err))
    text = open(dot).read()
    check(text.startswith('digraph reachcheck {') and text.rstrip().endswith('}') and text.count('{') == text.count('}'),
          'dot output is not one digraph')
    check('global g_history (%s)\\nretains 24000 bytes in 500 blocks' % base in text, 'dot lacks the g_history node')
    check(re.search(r'append retain_snap\.c:\d+\\n24000 bytes in 500 blocks', text), 'dot lacks the append site')
    if shutil.which('dot'):
        rc, out, err = run(['dot', '-Tsvg', dot])
        check(rc == 0 and '<svg' in out, 'dot -Tsvg failed: %s' % err[:300])
    rc, out, err = run([a.tools, 'graph', s2, '--html', '-o', html])
    check(rc == 0 and not err, 'graph --html: status %d, %r' % (rc, err))
    page = open(html).read()
    check(not re.search(r'(src|href)\s*=|url\(|@import|https?://', page), 'the page refers to external resources')
    check('global g_history (%s)' % base in page, 'the page lacks the g_history root')
    chromium_check(a, html, tmp, 'snapshot page')
    rc, out, err = run([a.tools, 'graph', j, '--html', '-o', html2])
    check(rc == 0 and not err, 'graph of the exit report: status %d, %r' % (rc, err))
    chromium_check(a, html2, tmp, 'report page')


CONFIG = 'name=svc\nport=8080\nworkers=4\n'   # one config: 10 blocks, 125 bytes
BROKEN = 'name=svc\nbroken line\n'              # leaks: config 24 (direct); entry 24, "name" 5, "svc" 4 (indirect)


def sc_example(a, tmp):
    fifo = os.path.join(tmp, 'config.fifo')
    os.mkfifo(fifo)
    snap = os.path.join(tmp, 'snap-%n.json')
    j = os.path.join(tmp, 'r.json')
    reloads = 7
    argv = [a.launcher, '--json=' + j, '--snapshot_signal=SIGUSR2', '--snapshot_path=' + snap, '--'] + a.cmd + [str(reloads), fifo]
    e = dict(os.environ)
    e.pop('REACHCHECK_OPTIONS', None)
    e.pop('LD_PRELOAD', None)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, start_new_session=True)
    deadline = time.time() + 60

    def open_writer():
        # blocks until the program opens the FIFO for its next reload
        while time.time() < deadline:
            try:
                return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                if p.poll() is not None:
                    raise RuntimeError('the program exited early')
                time.sleep(0.01)
        raise RuntimeError('timed out waiting for the program to read its config')

    def feed(fd, text):
        # A fresh FIFO at the path before this writer closes: the program's
        # next fopen then blocks until we open it, so an open that succeeds
        # means every earlier config has been loaded.
        os.set_blocking(fd, True)
        os.write(fd, text.encode())
        os.unlink(fifo)
        os.mkfifo(fifo)
        os.close(fd)

    def blocked_in_read():
        # fopen has returned and fread allocated its buffers: the same state
        # for every snapshot (syscall 0 is read on x86-64)
        while time.time() < deadline:
            try:
                with open('/proc/%d/syscall' % p.pid) as f:
                    if f.read().split()[0] == '0':
                        return
            except (OSError, IndexError):
                pass
            time.sleep(0.005)

    def snapshot(n):
        path = snap.replace('%n', str(n))
        blocked_in_read()
        os.kill(p.pid, signal.SIGUSR2)
        while time.time() < deadline and not os.path.exists(path):
            if p.poll() is not None:
                raise RuntimeError('the program exited during the snapshot')
            time.sleep(0.01)
        return path

    try:
        paths = []
        for k in range(reloads + 1):           # configs 0..reloads
            fd = open_writer()                 # the previous configs are all loaded now
            if k in (3, 7):                    # 3 configs loaded (2 in history), then 7 (6 in history)
                os.set_blocking(fd, True)
                paths.append(snapshot(len(paths) + 1))
            feed(fd, CONFIG if k < reloads else BROKEN)
        out, err = p.communicate(timeout=max(1, deadline - time.time()))
    except (RuntimeError, subprocess.TimeoutExpired) as ex:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        check(False, '%s; stderr: %s' % (ex, err.decode()[-2000:]))
        return
    out, err = out.decode(), err.decode()
    check(p.returncode == 23, 'exit status %d, want 23' % p.returncode)
    check('7 reloads, 1 failed, 6 old configs kept in history' in out, 'stdout: %r' % out[-300:])
    check(re.search(r'reachcheck: snapshot 1 written to .*snap-1\.json', err) and
          re.search(r'reachcheck: snapshot 2 written to .*snap-2\.json', err), 'no "snapshot N written" lines')
    d = load(j)
    summary_is(d, (1, 24), (3, 33))
    hist = [r for r in d['retainers'] if r['root']['name'] == 'history']
    check(hist and hist[0]['retained'] == {'blocks': 60, 'bytes': 750}, 'at exit history retains %s, want 60/750'
          % (hist and hist[0]['retained']))
    for path, n in zip(paths, (2, 6)):
        s = load(path)
        got = {r['root']['name']: r['retained'] for r in s['retainers']}
        check(got.get('history') == {'blocks': 10 * n, 'bytes': 125 * n},
              '%s: history retains %s, want %d configs' % (path, got.get('history'), n))
    rc, out, err = run([a.tools, 'diff', paths[0], paths[1], '--json'])
    check(rc == 0, 'diff failed: %s' % err)
    d = json.loads(out)
    r0 = d['roots'][0]
    check((r0['root']['kind'], r0['root']['name']) == ('global', 'history') and
          r0['delta'] == {'blocks': 40, 'bytes': 500}, 'top growing root %s, want global history +40/+500' % r0)
    s0 = d['sites'][0]
    check(s0['delta'] == {'blocks': 12, 'bytes': 288}, 'top growing site %s, want the entries +12/+288' % s0['delta'])
    rc, out, err = run([a.tools, 'diff', paths[0], paths[1]])
    check(re.search(r'^  #1 global history \(\S+\): \+500 bytes, \+40 blocks', out, re.M), 'text diff:\n' + out[:2000])
    if a.keep:
        print(out)


def sc_json_errors(a, tmp):
    cases = [
        ('bad.json', '{"tool": "reachcheck", "format": "snapshot",\n  "pid": 12,, "x": 1}',
         r"bad\.json:2:13: malformed JSON: expected a member name \(a string\) in an object, found ','"),
        ('cut.json', '{"tool":"reachcheck","retainers":[', r'cut\.json:1:35: malformed JSON: expected a value, found end of input'),
        ('str.json', '{"tool":"reachcheck\n"}', r'str\.json:1:20: malformed JSON: control character 0x0a in a string'),
        ('tail.json', '{"tool":"reachcheck"} x', r"tail\.json:1:23: malformed JSON: unexpected 'x' after the end of the document"),
        ('empty.json', '', r'empty\.json:1:1: malformed JSON: the file is empty'),
        ('arr.json', '[1, 2]', r'arr\.json: not a reachcheck snapshot or JSON report'),
        ('noret.json', '{"tool":"reachcheck","summary":{}}', r'noret\.json: has no "retainers"'),
    ]
    for name, text, rx in cases:
        path = os.path.join(tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        for tool in (['diff', path, path], ['graph', path, '--dot']):
            rc, out, err = run([a.tools] + tool)
            lines = [l for l in err.splitlines() if l.strip()]
            check(rc == 2 and len(lines) == 1 and re.search(rx, lines[0]) and not out,
                  '%s %s: status %d, stderr %r, want one line matching %r' % (tool[0], name, rc, err, rx))
    rc, out, err = run([a.tools, 'diff', os.path.join(tmp, 'missing.json'), os.path.join(tmp, 'bad.json')])
    check(rc == 2 and len(err.splitlines()) == 1 and 'cannot read' in err, 'missing file: %r' % err)


def sc_bad_signal(a, tmp):
    for value in ('SIGBOGUS', 'SIGKILL', '0', 'RTMIN+99'):
        rc, out, err = under(a, ['snapshot_signal=' + value], a.cmd)
        lines = [l for l in err.splitlines() if l.strip()]
        check(rc == 2 and len(lines) == 1 and 'snapshot_signal=' + value in lines[0] and not out,
              'snapshot_signal=%s: status %d, stderr %r' % (value, rc, err))


def sc_big(a, tmp):
    j = os.path.join(tmp, 'r.json')
    t0 = time.time()
    rc, out, err = under(a, ['json=' + j, 'retainers=10', 'verbose=1'], a.cmd + ['1000000'], timeout=600)
    wall = time.time() - t0
    check(rc == 0, 'exit status %d' % rc)
    d = load(j)
    r0 = d['retainers'][0]
    check(r0['root']['name'] == 'bench_trees' and r0['retained'] == {'blocks': 1000000, 'bytes': 32000000},
          'top retainer %s' % r0)
    print('1M blocks: wall %.2f s; check %s ms; retention %s' % (wall, d['timing_ms'], d['retention']))
    print('\n'.join(l for l in err.splitlines() if 'retention:' in l or 'root ranges' in l))


SCENARIOS = {n[3:]: f for n, f in globals().items() if n.startswith('sc_')}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('scenario', choices=sorted(SCENARIOS))
    ap.add_argument('--launcher', required=True)
    ap.add_argument('--tools', required=True)
    ap.add_argument('--lib')
    ap.add_argument('--chromium')
    ap.add_argument('--keep', action='store_true')
    argv = sys.argv[1:]
    cmd = argv[argv.index('--') + 1:] if '--' in argv else []
    a = ap.parse_args(argv[:len(argv) - len(cmd) - (1 if '--' in argv else 0)])
    a.cmd = cmd
    tmp = tempfile.mkdtemp(prefix='rc_retain_')
    try:
        SCENARIOS[a.scenario](a, tmp)
    except subprocess.TimeoutExpired as ex:
        FAILS.append('timed out: %s' % ex)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print('kept', tmp)
    for f in FAILS:
        print('FAIL: ' + f)
    print('%s: %s' % (a.scenario, 'FAILED' if FAILS else 'ok'))
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
