#!/usr/bin/env python3
"""Real programs under reachcheck, LeakSanitizer and valgrind.

  compare.py --launcher BUILD/reachcheck --cxx BUILD/.../rc_real_cxx [--only NAME,...]
             [--rc-option KEY=VALUE ...]
      Runs every program plainly, under reachcheck, under LeakSanitizer
      (gcc's liblsan.so.0 preloaded) and under valgrind --leak-check=full, and
      prints the markdown table of docs/compare.md (top-level process only:
      valgrind does not follow children).
  compare.py --check NAME --launcher ... --cxx ...
      The CTest check: the program's stdout and exit status are the same with
      and without reachcheck (--exitcode=0), no crash, no hang, every process
      wrote a valid JSON report and reachcheck printed no error (a bad-free
      diagnostic on a real program is a false positive).
  compare.py --list
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

HERE = os.path.dirname(os.path.abspath(__file__))
INPUTS = os.path.join(HERE, 'inputs')
LSAN = '/usr/lib/x86_64-linux-gnu/liblsan.so.0'
RC_OPTIONS = []   # --rc-option KEY=VALUE: more reachcheck options for every run


# ---- the programs -------------------------------------------------------
# Each program runs in a fresh directory `run` (the same path for every run,
# so paths in its output agree). setup(run) prepares it without any checker.

def setup_git(run, commit):
    def git(*a):
        subprocess.run(['/usr/bin/git'] + list(a), cwd=os.path.join(run, 'repo'), env=base_env(run),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.makedirs(os.path.join(run, 'repo'))
    git('init', '-q', '-b', 'main')
    for i in range(30):
        with open(os.path.join(run, 'repo', 'f%02d.txt' % i), 'w') as f:
            f.write(''.join('line %d of file %d\n' % (k, i) for k in range(50 + i)))
    git('add', '-A')
    git('commit', '-q', '-m', 'first')
    for i in range(0, 30, 3):
        with open(os.path.join(run, 'repo', 'f%02d.txt' % i), 'a') as f:
            f.write('changed\n')
    if not commit:
        git('commit', '-q', '-a', '-m', 'second')
    else:
        git('add', '-A')


def setup_cmake(run):
    src = os.path.join(run, 'src')
    os.makedirs(src)
    with open(os.path.join(src, 'CMakeLists.txt'), 'w') as f:
        f.write('cmake_minimum_required(VERSION 3.18)\nproject(tiny C)\n'
                'include(CheckIncludeFile)\ncheck_include_file(stdint.h HAVE_STDINT_H)\n'
                'include(CheckFunctionExists)\ncheck_function_exists(strlcpy HAVE_STRLCPY)\n'
                'configure_file(config.h.in config.h)\nadd_executable(tiny main.c)\n')
    with open(os.path.join(src, 'config.h.in'), 'w') as f:
        f.write('#cmakedefine HAVE_STDINT_H 1\n#cmakedefine HAVE_STRLCPY 1\n')
    with open(os.path.join(src, 'main.c'), 'w') as f:
        f.write('int main(void) { return 0; }\n')


def setup_numbers(run):
    x = 12345
    with open(os.path.join(run, 'numbers.txt'), 'w') as f:
        for i in range(20000):
            x = (x * 1103515245 + 12345) % 2147483648
            f.write('%d item%d %d\n' % (x % 100000, i, x % 7))


def setup_tree(run):
    for d in range(5):
        os.makedirs(os.path.join(run, 'data', 'd%d' % d))
        for i in range(20):
            with open(os.path.join(run, 'data', 'd%d' % d, 'f%d' % i), 'w') as f:
                f.write('payload %d %d\n' % (d, i) * (i + 1))


def prog(name, what, argv, setup=None, env=None, stdin=None, normalize=(), timeout=120):
    return dict(name=name, what=what, argv=argv, setup=setup, env=env or {}, stdin=stdin,
                normalize=normalize, timeout=timeout)


PROGRAMS = [
    prog('python3', 'python3 script: json, re, threads, sqlite3, decimal (pymalloc)',
         ['/usr/bin/python3', '{inputs}/script.py']),
    prog('python3_malloc', 'the same script with PYTHONMALLOC=malloc (every object from malloc)',
         ['/usr/bin/python3', '{inputs}/script.py'], env={'PYTHONMALLOC': 'malloc'}),
    prog('perl', 'perl script: hashes, regexes, sort, closures',
         ['/usr/bin/perl', '{inputs}/script.pl']),
    prog('git_commit', 'git commit in a scratch repository',
         ['/usr/bin/git', '-C', '{run}/repo', 'commit', '-q', '-m', 'second'],
         setup=lambda run: setup_git(run, True)),
    prog('git_log', 'git log -p --stat in a scratch repository',
         ['/usr/bin/git', '-C', '{run}/repo', '--no-pager', 'log', '-p', '--stat'],
         setup=lambda run: setup_git(run, False)),
    prog('cmake', 'cmake configuring a tiny C project (runs cc, uname, ...)',
         ['/usr/bin/cmake', '-S', '{run}/src', '-B', '{run}/build'], setup=setup_cmake, timeout=180),
    prog('tclsh', 'tclsh script: dicts, lists, regexp, procs',
         ['/usr/bin/tclsh', '{inputs}/script.tcl']),
    prog('sqlite3', 'sqlite3 shell: tables, joins, CTEs, JSON, vacuum',
         ['/usr/bin/sqlite3', ':memory:'], stdin='{inputs}/query.sql'),
    prog('gdb_batch', 'gdb --batch loading a binary and its debug info',
         ['/usr/bin/gdb', '-nx', '--batch', '-ex', 'print 6*7', '-ex', 'file {cxx}',
          '-ex', 'info line main', '-ex', 'ptype std::string', '-ex', 'info sharedlibrary']),
    prog('gdb_run', 'gdb --batch running the C++ program to a breakpoint (ptrace)',
         ['/usr/bin/gdb', '-nx', '--batch', '-ex', 'set startup-with-shell off', '-ex', 'break leak_one_string',
          '-ex', 'run', '-ex', 'bt 1', '-ex', 'continue', '{cxx}'],
         normalize=[(r'\[(New )?Thread 0x[0-9a-f]+ \(LWP \d+\)[^\]\n]*\]\n', ''),
                    (r'process \d+', 'process PID'), (r'0x[0-9a-f]{8,}', '0xADDR')], timeout=240),
    prog('cxx_heavy', 'C++: containers, strings, iostreams, exceptions, regex, threads (ours)',
         ['{cxx}']),
    prog('sort', 'GNU sort -n -k1 of 20000 lines (coreutils; closes stdout/stderr)',
         ['/usr/bin/sort', '-n', '-k1,1', '-k2', '{run}/numbers.txt'], setup=setup_numbers),
    prog('awk', 'awk (mawk) aggregating 20000 lines',
         ['/usr/bin/awk', '{s[$3]+=$1; n[$3]++} END {for (k in s) print k, s[k], n[k]}', '{run}/numbers.txt'],
         setup=setup_numbers),
    prog('tar', 'GNU tar archiving 100 files to stdout',
         ['/usr/bin/tar', '-cf', '-', '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner',
          '-C', '{run}/data', '.'], setup=setup_tree),
    prog('bash', 'bash script: arrays, assoc arrays, functions, pipes',
         ['/bin/bash', '{inputs}/script.sh']),
]
BY_NAME = {p['name']: p for p in PROGRAMS}


# ---- running ------------------------------------------------------------

def base_env(run):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('REACHCHECK_', 'LSAN_', 'ASAN_', 'GIT_')) and k not in ('LD_PRELOAD', 'PYTHONMALLOC')}
    env.update({'LC_ALL': 'C', 'TZ': 'UTC', 'HOME': run, 'GIT_CONFIG_NOSYSTEM': '1',
                'GIT_AUTHOR_NAME': 'A U Thor', 'GIT_AUTHOR_EMAIL': 'a@example.org',
                'GIT_COMMITTER_NAME': 'C O Mitter', 'GIT_COMMITTER_EMAIL': 'c@example.org',
                'GIT_AUTHOR_DATE': '2024-01-01T00:00:00Z', 'GIT_COMMITTER_DATE': '2024-01-01T00:00:00Z',
                'PYTHONHASHSEED': '0', 'TERM': 'dumb', 'PAGER': 'cat', 'GIT_PAGER': 'cat'})
    return env


class Result:
    def __init__(self, rc, out, err, secs, timed_out):
        self.rc, self.out, self.err, self.secs, self.timed_out = rc, out, err, secs, timed_out


def subst(s, ctx):
    for k, v in ctx.items():
        s = s.replace('{' + k + '}', v)
    return s


def run_one(p, ctx, work, wrap=None, extra_env=None):
    """Fresh run directory, setup, run. wrap(argv, env) -> argv, env."""
    run = os.path.join(work, 'run')
    shutil.rmtree(run, ignore_errors=True)
    os.makedirs(run)
    ctx = dict(ctx, run=run)
    if p['setup']:
        p['setup'](run)
    argv = [subst(a, ctx) for a in p['argv']]
    env = base_env(run)
    env.update(p['env'])
    if extra_env:
        env.update(extra_env)
    if wrap:
        argv, env = wrap(argv, env)
    stdin = open(subst(p['stdin'], ctx), 'rb') if p['stdin'] else subprocess.DEVNULL
    t0 = time.time()
    timed_out = False
    proc = subprocess.Popen(argv, cwd=run, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=p['timeout'])
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    if stdin is not subprocess.DEVNULL:
        stdin.close()
    res = Result(proc.returncode, out, err.decode('utf-8', 'replace'), time.time() - t0, timed_out)
    res.pid = proc.pid
    return res


def normalized(p, out):
    text = out.decode('utf-8', 'replace') if b'\0' not in out else out
    if isinstance(text, bytes):
        return text
    for rx, rep in p['normalize']:
        text = re.sub(rx, rep, text)
    return text


def rc_wrap(launcher, jdir):
    def wrap(argv, env):
        return ([launcher, '--exitcode=0', '--json=' + os.path.join(jdir, 'rc.%p.json')]
                + ['--' + o for o in RC_OPTIONS] + ['--'] + argv, env)
    return wrap


def rc_reports(jdir):
    reps = {}
    bad = []
    for f in glob.glob(os.path.join(jdir, 'rc.*.json')):
        try:
            with open(f) as fh:
                reps[int(re.search(r'rc\.(\d+)\.json$', f).group(1))] = json.load(fh)
        except (OSError, ValueError) as ex:
            bad.append('%s: %s' % (os.path.basename(f), ex))
    return reps, bad


RC_ERROR_RE = re.compile(r'^reachcheck: (error|warning)|did not stop within|heap corruption', re.M)


def check(p, ctx, work):
    """The CTest check. Returns a list of failures."""
    fails = []
    plain = run_one(p, ctx, work)
    if plain.timed_out or plain.rc < 0:
        return ['the program itself fails without reachcheck (status %s): fix the test set-up\n%s'
                % (plain.rc, plain.err[-2000:])]
    jdir = os.path.join(work, 'json')
    shutil.rmtree(jdir, ignore_errors=True)
    os.makedirs(jdir)
    rc = run_one(p, ctx, work, wrap=rc_wrap(ctx['launcher'], jdir))
    if rc.timed_out:
        fails.append('hang: killed after %d s' % p['timeout'])
    if rc.rc != plain.rc:
        fails.append('exit status %s under reachcheck, %s without' % (rc.rc, plain.rc))
    a, b = normalized(p, plain.out), normalized(p, rc.out)
    if a != b:
        import difflib
        if isinstance(a, bytes) or isinstance(b, bytes):
            fails.append('stdout differs (binary, %d vs %d bytes)' % (len(a), len(b)))
        else:
            d = ''.join(list(difflib.unified_diff(a.splitlines(True), b.splitlines(True), 'plain', 'reachcheck'))[:60])
            fails.append('stdout differs:\n' + d)
    reps, bad = rc_reports(jdir)
    fails += ['invalid JSON report ' + x for x in bad]
    if rc.pid not in reps:
        fails.append('no JSON report for the top-level process %d (reports: %s)' % (rc.pid, sorted(reps)))
    for pid, r in reps.items():
        if r.get('tool') != 'reachcheck' or r.get('pid') != pid or 'summary' not in r:
            fails.append('report of pid %d is malformed' % pid)
        if r.get('corrupt_blocks'):
            fails.append('pid %d: %d corrupt blocks reported' % (pid, r['corrupt_blocks']))
    m = RC_ERROR_RE.search(rc.err)
    if m:
        line = rc.err[m.start():rc.err.find('\n', m.start())]
        fails.append('reachcheck printed a diagnostic on a real program: %r' % line)
    tmp = glob.glob(os.path.join(jdir, '*.tmp.*'))
    if tmp:
        fails.append('temporary report files left behind: %s' % tmp)
    if not fails:
        top = reps[rc.pid]['summary']
        print('PASS %s: exit %s, %d process report(s), %.1fs plain, %.1fs under reachcheck; top: direct %s/%s '
              'indirect %s/%s reachable %s/%s' % (p['name'], rc.rc, len(reps), plain.secs, rc.secs,
                                                  top['direct']['blocks'], top['direct']['bytes'],
                                                  top['indirect']['blocks'], top['indirect']['bytes'],
                                                  top['reachable']['blocks'], top['reachable']['bytes']))
    return fails


# ---- the comparison -----------------------------------------------------

LSAN_LEAK_RE = re.compile(r'^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\)', re.M)
VG_RE = {k: re.compile(r'%s: ([\d,]+) bytes in ([\d,]+) blocks' % k) for k in
         ('definitely lost', 'indirectly lost', 'possibly lost', 'still reachable')}


def lsan_shim(work):
    """bench/lsan_signal_shim.c built: lets the preloaded LSan survive signal()."""
    src = os.path.join(HERE, '..', '..', 'bench', 'lsan_signal_shim.c')
    out = os.path.join(work, 'lsan_signal_shim.so')
    if not os.path.exists(out) and os.path.exists(src):
        subprocess.run(['gcc', '-O2', '-shared', '-fPIC', '-o', out, src], check=True)
    return out if os.path.exists(out) else None


def lsan_run(p, ctx, work, shim=None):
    d = os.path.join(work, 'lsan')
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)

    def wrap(argv, env):
        env['LD_PRELOAD'] = (shim + ':' if shim else '') + LSAN
        env['LSAN_OPTIONS'] = 'exitcode=0:log_path=%s/l' % d
        return argv, env
    res = run_one(p, ctx, work, wrap=wrap)
    logs = {}
    for f in glob.glob(os.path.join(d, 'l.*')):
        logs[int(f.rsplit('.', 1)[1])] = open(f, errors='replace').read()
    top = logs.get(res.pid, '')
    res.fatal = None
    for text in [top, res.err]:
        m = re.search(r'LeakSanitizer has encountered a fatal error|Tracer caught signal|'
                      r'ERROR: LeakSanitizer: (?!detected memory leaks)[^\n]*|LeakSanitizer:DEADLYSIGNAL', text)
        if m and not res.fatal:
            res.fatal = m.group(0)
    if res.rc is not None and res.rc < 0 and not res.fatal:
        res.fatal = 'killed by signal %d' % -res.rc
    tot = {'Direct': [0, 0], 'Indirect': [0, 0]}
    for kind, nbytes, nobj in LSAN_LEAK_RE.findall(top):
        tot[kind][0] += int(nobj)
        tot[kind][1] += int(nbytes)
    res.direct, res.indirect = tot['Direct'], tot['Indirect']
    res.children_fatal = sum(1 for pid, t in logs.items() if pid != res.pid and
                             re.search(r'fatal error|DEADLYSIGNAL|ERROR: LeakSanitizer: (?!detected)', t))
    return res


def vg_run(p, ctx, work):
    d = os.path.join(work, 'vg')
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)

    def wrap(argv, env):
        return ['valgrind', '--leak-check=full', '--show-leak-kinds=definite,indirect,possible',
                '--log-file=%s/v.%%p' % d] + argv, env
    q = dict(p, timeout=p['timeout'] * 10)
    res = run_one(q, ctx, work, wrap=wrap)
    text = ''
    f = os.path.join(d, 'v.%d' % res.pid)
    if os.path.exists(f):
        text = open(f, errors='replace').read()
    res.vg = {}
    for k, rx in VG_RE.items():
        m = rx.search(text)
        res.vg[k] = (int(m.group(2).replace(',', '')), int(m.group(1).replace(',', ''))) if m else (0, 0)
    res.vg_ok = 'LEAK SUMMARY' in text or 'All heap blocks were freed' in text
    return res


def fmt(blocks, nbytes):
    return '%d / %d' % (blocks, nbytes)


def compare(names, ctx, work):
    rows = []
    for name in names:
        p = BY_NAME[name]
        sys.stderr.write('== %s\n' % name)
        plain = run_one(p, ctx, work)
        jdir = os.path.join(work, 'json')
        shutil.rmtree(jdir, ignore_errors=True)
        os.makedirs(jdir)
        rc = run_one(p, ctx, work, wrap=rc_wrap(ctx['launcher'], jdir))
        reps, _ = rc_reports(jdir)
        top = reps.get(rc.pid, {}).get('summary')
        same = 'yes' if (rc.rc == plain.rc and normalized(p, rc.out) == normalized(p, plain.out)) else \
            'NO (exit %s vs %s)' % (rc.rc, plain.rc)
        ls = lsan_run(p, ctx, work)
        ls.note = ''

        def lsan_bad(r):
            return r.fatal or r.children_fatal or r.rc != plain.rc or \
                normalized(p, r.out) != normalized(p, plain.out)
        if lsan_bad(ls) and lsan_shim(work):
            why = ls.fatal or ('%d child process(es) crash' % ls.children_fatal if ls.children_fatal
                               else 'output or status differs')
            ls = lsan_run(p, ctx, work, shim=lsan_shim(work))
            ls.note = ' (plain LSan: %s; numbers with bench/lsan_signal_shim.so)' % why
        if lsan_bad(ls):
            ls.note += ' (%s)' % (ls.fatal or ('%d child process(es) crash' % ls.children_fatal
                                               if ls.children_fatal else 'output or status differs'))
        vg = vg_run(p, ctx, work)
        row = {
            'name': name, 'what': p['what'], 'same': same, 'procs': len(reps),
            'rc': ('%s | %s | %s' % (fmt(top['direct']['blocks'], top['direct']['bytes']),
                                     fmt(top['indirect']['blocks'], top['indirect']['bytes']),
                                     fmt(top['reachable']['blocks'], top['reachable']['bytes'])))
            if top else 'no report | | ',
            'lsan': ('%s | %s' % (fmt(*ls.direct), fmt(*ls.indirect))) if not ls.fatal else
                    ('**crash**: %s | ' % ls.fatal[:60]),
            'lsan_note': ls.note,
            'vg': ('%s | %s | %s' % (fmt(*vg.vg['definitely lost']), fmt(*vg.vg['indirectly lost']),
                                     fmt(*vg.vg['possibly lost']))) if vg.vg_ok else 'no summary | | ',
            'times': '%.2f / %.2f / %.2f / %.1f' % (plain.secs, rc.secs, ls.secs, vg.secs),
        }
        rows.append(row)
    print('| program | same stdout + status | processes | reachcheck direct | reachcheck indirect | '
          'reachcheck reachable | LSan direct | LSan indirect | valgrind definite | valgrind indirect | '
          'valgrind possible | seconds plain / rc / LSan / vg |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        print('| %s | %s | %d | %s | %s%s | %s | %s |' % (r['name'], r['same'], r['procs'], r['rc'], r['lsan'],
                                                          r['lsan_note'], r['vg'], r['times']))
    print('\nblocks / bytes of the top-level process; reachcheck --exitcode=0, '
          'LSAN_OPTIONS=exitcode=0, valgrind --leak-check=full.')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--launcher')
    ap.add_argument('--cxx')
    ap.add_argument('--check')
    ap.add_argument('--only')
    ap.add_argument('--list', action='store_true')
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('--rc-option', action='append', default=[], metavar='KEY=VALUE',
                    help='also pass --KEY=VALUE to reachcheck (e.g. thread_cache=0)')
    a = ap.parse_args()
    if a.list:
        for p in PROGRAMS:
            print('%-15s %s' % (p['name'], p['what']))
        return 0
    if not a.launcher or not a.cxx:
        ap.error('--launcher and --cxx are required')
    RC_OPTIONS[:] = a.rc_option
    ctx = {'inputs': INPUTS, 'cxx': os.path.abspath(a.cxx), 'launcher': os.path.abspath(a.launcher)}
    work = tempfile.mkdtemp(prefix='rc_real_')
    try:
        if a.check:
            if a.check not in BY_NAME:
                ap.error('unknown program %r (see --list)' % a.check)
            prog0 = BY_NAME[a.check]['argv'][0]
            if prog0.startswith('/') and not os.path.exists(prog0):
                print('SKIP %s: %s is not installed (make test installs it)' % (a.check, prog0))
                return 77   # CTest SKIP_RETURN_CODE
            fails = check(BY_NAME[a.check], ctx, work)
            for f in fails:
                print('FAIL %s: %s' % (a.check, f))
            return 1 if fails else 0
        names = a.only.split(',') if a.only else [p['name'] for p in PROGRAMS]
        compare(names, ctx, work)
        return 0
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            sys.stderr.write('kept %s\n' % work)


if __name__ == '__main__':
    sys.exit(main())
