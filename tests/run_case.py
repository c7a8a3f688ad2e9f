#!/usr/bin/env python3
"""Run one reachcheck test case and check its JSON report.

Usage:
  run_case.py --launcher PATH [options] -- PROGRAM ARGS...
  run_case.py --preload LIBREACHCHECK.so [options] -- PROGRAM ARGS...

The program runs under the launcher (or with LD_PRELOAD) with
--json=<fresh temp dir>/report.%p.json, then every expectation is checked.

Expectations (repeatable; [ROLE@] is only meaningful with --per-pid-json):
  --expect [ROLE@]KEY OP VALUE   KEY is a summary field such as direct.blocks,
                                 indirect.bytes, reachable.blocks, or else a
                                 field of the report (retention.roots,
                                 retainers.0.retained.bytes: list items by
                                 index); OP is = >= <=
  --expect-leak [ROLE@]KIND:BLOCKS:BYTES[:suppressed]
                                 a leak group with exactly these numbers exists
  --expect-stack-function [ROLE@]NAME   some leak group's stack has this function
  --expect-stack-module-re [ROLE@]RE    some leak frame's module matches RE
  --expect-stack-file-re [ROLE@]RE      some leak frame's "FILE:LINE" matches RE
  --expect-stack-nofile FUNC     a leak frame is in FUNC, and no FUNC frame has a file:line
  --expect-exit N                exit status (repeat: any of them); default: any
  --expect-stderr-re RE / --expect-stderr-not-re RE
  --expect-stdout-re RE / --expect-stdout-not-re RE   (re.M: ^ and $ match lines)
  --expect-files N               number of JSON reports written (default 1)
  --bad-option KEY               the launcher/preload must reject an option:
                                 exit 2, exactly one stderr line naming KEY,
                                 the program must not run, no report
Process roles (--per-pid-json): the program prints lines "rc-pid: ROLE PID" on
stdout; each report must belong to an announced pid, and its "pid" field must
match its file name. Expectations without ROLE apply to every report.
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

OPS = ('>=', '<=', '=')


def parse_role(s):
    if '@' in s:
        role, rest = s.split('@', 1)
        if re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', role):
            return role, rest
    return None, s


def parse_expect(s):
    role, rest = parse_role(s)
    for op in OPS:
        if op in rest:
            key, val = rest.split(op, 1)
            return role, key.strip(), op, int(val.strip(), 0)
    raise SystemExit('bad --expect %r (want KEY=N, KEY>=N or KEY<=N)' % s)


def parse_leak(s):
    role, rest = parse_role(s)
    parts = rest.split(':')
    if len(parts) not in (3, 4) or parts[0] not in ('direct', 'indirect'):
        raise SystemExit('bad --expect-leak %r (want KIND:BLOCKS:BYTES[:suppressed])' % s)
    supp = len(parts) == 4
    if supp and parts[3] != 'suppressed':
        raise SystemExit('bad --expect-leak %r' % s)
    return role, (parts[0], int(parts[1]), int(parts[2]), supp)


def get_field(summary, key):
    cur = summary
    for k in key.split('.'):
        if isinstance(cur, list) and k.isdigit() and int(k) < len(cur):
            cur = cur[int(k)]
        elif isinstance(cur, dict) and k in cur:
            cur = cur[k]
        else:
            return None
    return cur


def fn_matches(name, fn):
    if not fn:
        return False
    if fn == name:
        return True
    # C++ demangled names: "leak_int()", "ns::f(int)", "f<int>(...)"
    return fn.startswith(name + '(') or fn.startswith(name + '<')


def short(text, n=6000):
    return text if len(text) <= n else text[:n // 2] + '\n[...]\n' + text[-n // 2:]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--launcher')
    ap.add_argument('--preload')
    ap.add_argument('--options', action='append', default=[], help='KEY=VALUE reachcheck option')
    ap.add_argument('--env', action='append', default=[], help='NAME=VALUE for the program environment')
    ap.add_argument('--no-json', action='store_true', help='do not pass a json= option')
    ap.add_argument('--no-dashdash', action='store_true', help='launcher: no "--" before the program')
    ap.add_argument('--per-pid-json', action='store_true')
    ap.add_argument('--expect', action='append', default=[])
    ap.add_argument('--expect-leak', action='append', default=[])
    ap.add_argument('--expect-stack-function', action='append', default=[])
    ap.add_argument('--expect-stack-module-re', action='append', default=[])
    ap.add_argument('--expect-stack-file-re', action='append', default=[])
    ap.add_argument('--expect-stack-nofile', action='append', default=[])
    ap.add_argument('--expect-exit', action='append', type=int, default=[])
    ap.add_argument('--expect-stderr-re', action='append', default=[])
    ap.add_argument('--expect-stderr-not-re', action='append', default=[])
    ap.add_argument('--expect-stdout-re', action='append', default=[])
    ap.add_argument('--expect-stdout-not-re', action='append', default=[])
    ap.add_argument('--expect-files', type=int)
    ap.add_argument('--bad-option')
    ap.add_argument('--timeout', type=float, default=55.0)
    ap.add_argument('--keep', action='store_true', help='keep the temp dir')
    ap.add_argument('cmd', nargs=argparse.REMAINDER)
    a = ap.parse_args()

    cmd = a.cmd
    if cmd and cmd[0] == '--':
        cmd = cmd[1:]
    if not cmd:
        ap.error('no program given')
    if bool(a.launcher) == bool(a.preload):
        ap.error('give exactly one of --launcher and --preload')

    tmp = tempfile.mkdtemp(prefix='rc_case_')
    json_tmpl = os.path.join(tmp, 'report.%p.json')
    opts = list(a.options)
    if not a.no_json:
        opts.insert(0, 'json=' + json_tmpl)

    env = dict(os.environ)
    env.pop('REACHCHECK_OPTIONS', None)
    env.pop('LD_PRELOAD', None)
    for e in a.env:
        k, _, v = e.partition('=')
        env[k] = v
    if a.launcher:
        argv = [a.launcher] + ['--' + o for o in opts] + ([] if a.no_dashdash else ['--']) + cmd
    else:
        argv = list(cmd)
        env['LD_PRELOAD'] = os.path.abspath(a.preload)
        extra = ':'.join(opts)
        if env.get('REACHCHECK_OPTIONS'):
            env['REACHCHECK_OPTIONS'] = env['REACHCHECK_OPTIONS'] + (':' + extra if extra else '')
        elif extra:
            env['REACHCHECK_OPTIONS'] = extra

    failures = []
    timed_out = False
    try:
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = p.communicate(timeout=a.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = p.communicate()
        rc = p.returncode
    except OSError as ex:
        print('cannot run %s: %s' % (argv, ex))
        return 1
    out = out.decode('utf-8', 'replace')
    err = err.decode('utf-8', 'replace')
    if timed_out:
        failures.append('timed out after %.0f s (hang?)' % a.timeout)

    files = sorted(glob.glob(os.path.join(tmp, 'report.*.json')))
    reports = {}   # path -> parsed
    for f in files:
        try:
            with open(f) as fh:
                reports[f] = json.load(fh)
        except (OSError, ValueError) as ex:
            failures.append('%s: not valid JSON: %s' % (os.path.basename(f), ex))

    # --- bad option mode ---
    if a.bad_option is not None:
        lines = [l for l in err.splitlines() if l.strip()]
        if rc != 2:
            failures.append('exit status %s, expected 2 for a bad option' % rc)
        if len(lines) != 1:
            failures.append('expected exactly one stderr line, got %d' % len(lines))
        elif a.bad_option not in lines[0]:
            failures.append('stderr line does not name %r: %r' % (a.bad_option, lines[0]))
        if out.strip():
            failures.append('the program ran (stdout: %r)' % out[:200])
        if files:
            failures.append('a report was written: %s' % files)
        for rx in a.expect_stderr_re:
            if not re.search(rx, err, re.M):
                failures.append('stderr does not match %r' % rx)
        return finish(failures, a, argv, rc, out, err, reports, tmp)

    # --- which reports belong to which role ---
    roles = {}   # pid -> role
    for m in re.finditer(r'^rc-pid: (\S+) (\d+)$', out, re.M):
        roles[int(m.group(2))] = m.group(1)
    file_role = {}
    for f, rep in reports.items():
        m = re.search(r'report\.(\d+)\.json$', f)
        fpid = int(m.group(1)) if m else None
        if rep.get('pid') != fpid:
            failures.append('%s: "pid" is %r, file name says %r' % (os.path.basename(f), rep.get('pid'), fpid))
        if rep.get('tool') != 'reachcheck':
            failures.append('%s: "tool" is %r' % (os.path.basename(f), rep.get('tool')))
        if a.per_pid_json:
            if fpid not in roles:
                failures.append('%s: pid %s was not announced by the program (rc-pid lines: %s)'
                                % (os.path.basename(f), fpid, roles))
            file_role[f] = roles.get(fpid)
        else:
            file_role[f] = None
    if a.per_pid_json:
        have = {int(re.search(r'report\.(\d+)\.json$', f).group(1)) for f in files}
        for pid, role in sorted(roles.items()):
            if pid not in have:
                failures.append('no report for %s pid %d' % (role, pid))

    want_files = a.expect_files if a.expect_files is not None else 1
    if a.no_json:
        want_files = 0
    if len(files) != want_files:
        failures.append('%d JSON report(s) written, expected %d' % (len(files), want_files))

    def targets(role):
        sel = [f for f in reports if role is None or file_role.get(f) == role]
        if role is not None and not sel:
            failures.append('no report with role %r' % role)
        return sel

    for e in a.expect:
        role, key, op, val = parse_expect(e)
        for f in targets(role):
            where = 'summary'
            got = get_field(reports[f].get('summary', {}), key)
            if got is None:   # a field of the report itself: retention.roots, retainers.0.retained.bytes
                where, got = 'report', get_field(reports[f], key)
            ok = isinstance(got, int) and ((op == '=' and got == val) or (op == '>=' and got >= val)
                                           or (op == '<=' and got <= val))
            if not ok:
                failures.append('%s: %s.%s is %r, expected %s %d' % (os.path.basename(f), where, key, got, op, val))

    for e in a.expect_leak:
        role, (kind, blocks, nbytes, supp) = parse_leak(e)
        for f in targets(role):
            leaks = reports[f].get('leaks', [])
            if not any(g.get('kind') == kind and g.get('blocks') == blocks and g.get('bytes') == nbytes
                       and bool(g.get('suppressed')) == supp for g in leaks):
                failures.append('%s: no leak group %s' % (os.path.basename(f), e))

    for e in a.expect_stack_function:
        role, name = parse_role(e)
        for f in targets(role):
            leaks = reports[f].get('leaks', [])
            if not any(fn_matches(name, fr.get('function')) for g in leaks for fr in g.get('stack', [])):
                failures.append('%s: no leak stack contains function %r' % (os.path.basename(f), name))

    for e in a.expect_stack_module_re:
        role, rx = parse_role(e)
        for f in targets(role):
            leaks = reports[f].get('leaks', [])
            if not any(re.search(rx, fr.get('module') or '') for g in leaks for fr in g.get('stack', [])):
                failures.append('%s: no leak frame has a module matching %r' % (os.path.basename(f), rx))

    for e in a.expect_stack_file_re:
        role, rx = parse_role(e)
        for f in targets(role):
            leaks = reports[f].get('leaks', [])
            if not any(re.search(rx, '%s:%s' % (fr.get('file') or '', fr.get('line') or ''))
                       for g in leaks for fr in g.get('stack', [])):
                failures.append('%s: no leak frame has a FILE:LINE matching %r' % (os.path.basename(f), rx))

    for fn in a.expect_stack_nofile:
        for f in targets(None):
            frames = [fr for g in reports[f].get('leaks', []) for fr in g.get('stack', [])
                      if fr.get('function') == fn]
            if not frames:
                failures.append('%s: no leak frame is in %s' % (os.path.basename(f), fn))
            elif any(fr.get('file') for fr in frames):
                failures.append('%s: a %s frame has a file:line' % (os.path.basename(f), fn))

    if a.expect_exit and rc not in a.expect_exit:
        failures.append('exit status %s, expected %s' % (rc, ' or '.join(map(str, a.expect_exit))))
    for rx in a.expect_stderr_re:
        if not re.search(rx, err, re.M):
            failures.append('stderr does not match %r' % rx)
    for rx in a.expect_stderr_not_re:
        m = re.search(rx, err, re.M)
        if m:
            failures.append('stderr matches %r: %r' % (rx, m.group(0)))
    for rx in a.expect_stdout_re:
        if not re.search(rx, out, re.M):
            failures.append('stdout does not match %r' % rx)
    for rx in a.expect_stdout_not_re:
        m = re.search(rx, out, re.M)
        if m:
            failures.append('stdout matches %r: %r' % (rx, m.group(0)))
    if 'TEST PROGRAM FAILURE' in err:
        failures.append('the test program reported a failure of its own')

    return finish(failures, a, argv, rc, out, err, reports, tmp)


def finish(failures, a, argv, rc, out, err, reports, tmp):
    if not failures:
        print('PASS: %s (exit %s, %d report(s))' % (' '.join(argv), rc, len(reports)))
        for f, rep in sorted(reports.items()):
            print('  %s %s' % (os.path.basename(f), json.dumps(rep.get('summary'))))
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        return 0
    print('FAIL: ' + ' '.join(argv))
    for f in failures:
        print('  - ' + f)
    print('exit status: %s' % rc)
    for f, rep in sorted(reports.items()):
        print('--- %s summary: %s' % (os.path.basename(f), json.dumps(rep.get('summary'))))
        for g in rep.get('leaks', [])[:20]:
            fr = [(x.get('function') or '?') + '@' + os.path.basename(x.get('module') or '?')
                  for x in g.get('stack', [])[:8]]
            print('    %s %s blocks %s bytes%s  %s' % (g.get('kind'), g.get('blocks'), g.get('bytes'),
                                                     ' (suppressed)' if g.get('suppressed') else '',
                                                     ' < '.join(fr)))
        if len(rep.get('leaks', [])) > 20:
            print('    ... %d more groups' % (len(rep['leaks']) - 20))
    print('--- stdout:\n' + short(out, 2000))
    print('--- stderr:\n' + short(err))
    print('(reports kept in %s)' % tmp)
    return 1


if __name__ == '__main__':
    sys.exit(main())
