#!/usr/bin/env python3
"""Static analysis of reachcheck's own C code, every layer: core/*/, scanners/,
symbols/ (compiled into the runtime, RC_RUNTIME=1) and tools/ (the
command-line tools), with the project's configuration: .clang-tidy and
.cppcheck-suppressions.xml at the repository root.

usage: lint.py clang_tidy|cppcheck SOURCE_DIR [--cache DIR] [--jobs N]

Exit 0 when clean, 1 on any finding or when the analyser fails on a file,
2 when the analyser is missing or the file list does not cover every C file
of the code folders (a lint that checks nothing must not pass).

clang-tidy takes minutes, so with --cache a file whose clean result is
recorded for exactly the same input is not analysed again. The key is the
analyser's version, the configuration, the flags and the file as clang
preprocesses it with comments and macro definitions kept (-E -C -dD: every
header it includes, every NOLINT); only clean results are recorded.
"""
import argparse
import concurrent.futures
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys

INCLUDES = ['-Icore', '-I.', '-Iinclude', '-Icore/base', '-Itools']
CODE_FOLDERS = ('core', 'scanners', 'symbols', 'tools')

# Known false positives of clang-tidy: (file, check, message, why). A
# finding is dropped only when its file, check and message all match; keep
# this list short and give the reason. (A NOLINT at the line in the code is
# better; these are for files this harness does not own.)
TIDY_FALSE_POSITIVES = [
    ('core/report/report_text.c', 'bugprone-suspicious-missing-comma', 'suspicious string literal',
     'the message table uses designated initializers ([RC_BAD_CORRUPT] = "..." "..."): a missing '
     'comma would be a syntax error at the next designator, so a split literal cannot be two '
     'elements run together, which is what the check looks for'),
    ('tools/tmap.c', 'clang-analyzer-unix.Malloc', 'Use of memory after it is freed',
     'tmap_put grows the map by re-inserting into a fresh map of twice the capacity through itself: '
     'that inner call never grows again, and when the analyzer assumes it does, it loses the '
     '`*m = n` that follows the free, so it sees the old keys where the new ones are'),
]

DIAG_RE = re.compile(r'^(?P<file>[^:\s][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<sev>warning|error): '
                     r'(?P<msg>.*?)(?: \[(?P<check>[^\]]+)\])?$')


def sources(root):
    """(runtime files, tool files); fails when they miss a C file of the code folders."""
    runtime = sorted(glob.glob('core/*/*.c') + glob.glob('scanners/*.c') + glob.glob('symbols/*.c'))
    tools = sorted(glob.glob('tools/*.c'))
    every = set()
    for top in CODE_FOLDERS:
        for d, _, files in os.walk(top):
            every.update(os.path.normpath(os.path.join(d, f)) for f in files if f.endswith('.c'))
    missed = sorted(every - set(runtime) - set(tools))
    if missed or not runtime or not tools:
        print('lint.py: the file list misses %s (layout changed? update tests/lint/lint.py)' %
              (', '.join(missed) or 'a whole group'))
        sys.exit(2)
    return runtime, tools


def pkg_cflags():
    try:
        out = subprocess.run(['pkg-config', '--cflags', 'bdw-gc', 'libunwind', 'libdw'],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return out.split()


def flags_for(group, pkgs):
    defs = ['-DRC_DEBUG=1'] + (['-DRC_RUNTIME=1'] if group == 'runtime' else [])
    return ['-std=gnu11'] + INCLUDES + defs + pkgs


def known_false_positive(d):
    return any(d['file'] == f and d['check'] == c and d['msg'].startswith(msg)
               for f, c, msg, _ in TIDY_FALSE_POSITIVES)


def tidy_key(tidy_version, config, flags, path, clang):
    if not clang:
        return None
    p = subprocess.run([clang, '-E', '-C', '-dD'] + flags + [path], capture_output=True)
    if p.returncode:
        return None   # let clang-tidy report why
    h = hashlib.sha256()
    for part in (tidy_version, config, ' '.join(flags), repr(TIDY_FALSE_POSITIVES), path):
        h.update(part.encode() + b'\0')
    h.update(p.stdout)
    return h.hexdigest()


def tidy_one(tidy, flags, path, root):
    p = subprocess.run([tidy, '--quiet', path, '--'] + flags, capture_output=True, text=True)
    diags, dropped = [], []
    for line in p.stdout.splitlines():
        m = DIAG_RE.match(line)
        if not m:
            continue
        d = m.groupdict()
        d['check'] = ','.join(c for c in (d['check'] or '').split(',') if c != '-warnings-as-errors')
        f = d['file']
        if os.path.isabs(f):
            f = os.path.relpath(f, root)
        d['file'] = os.path.normpath(f)
        (dropped if known_false_positive(d) else diags).append(d)
    failed = p.returncode != 0 and not diags and not dropped
    return diags, dropped, failed, p


def run_tidy(root, runtime, tools, cache, jobs):
    tidy = shutil.which('clang-tidy-14') or shutil.which('clang-tidy')
    if not tidy:
        print('clang-tidy not installed')
        return 2
    clang = shutil.which('clang-14') or shutil.which('clang')
    version = subprocess.run([tidy, '--version'], capture_output=True, text=True).stdout
    with open('.clang-tidy') as f:
        config = f.read()
    pkgs = pkg_cflags()
    work = [(path, flags_for('runtime', pkgs)) for path in runtime] + \
           [(path, flags_for('tools', pkgs)) for path in tools]
    if cache:
        os.makedirs(cache, exist_ok=True)

    def one(item):
        path, flags = item
        key = tidy_key(version, config, flags, path, clang) if cache else None
        if key and os.path.exists(os.path.join(cache, key)):
            return path, [], [], False, None, True
        diags, dropped, failed, proc = tidy_one(tidy, flags, path, root)
        if key and not diags and not failed:
            with open(os.path.join(cache, key), 'w') as f:
                f.write('clean: %s\n' % path)
        return path, diags, dropped, failed, proc, False

    seen, findings, failures, hits, dropped_any = set(), [], [], 0, set()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for path, diags, dropped, failed, proc, hit in ex.map(one, work):
            hits += hit
            for d in dropped:
                dropped_any.add((d['file'], d['check']))
            for d in diags:
                k = (d['file'], d['line'], d['col'], d['check'])
                if k not in seen:   # a header's finding comes once per file including it
                    seen.add(k)
                    findings.append('%s:%s:%s: %s: %s [%s]' % (d['file'], d['line'], d['col'], d['sev'], d['msg'],
                                                               d['check']))
            if failed:
                failures.append('%s: clang-tidy exited %d without a finding:\n%s%s' %
                                (path, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    for f in findings:
        print(f)
    for f in failures:
        print(f)
    for f, c in sorted(dropped_any):
        print('note: known false positive dropped: %s [%s] (tests/lint/lint.py)' % (f, c))
    print('clang-tidy: %d finding(s), %d failure(s) in %d files (%d unchanged since a clean run)' %
          (len(findings), len(failures), len(work), hits))
    return 1 if findings or failures else 0


def run_cppcheck(root, runtime, tools, jobs):
    if not shutil.which('cppcheck'):
        print('cppcheck not installed')
        return 2
    st = 0
    for group, files in (('runtime', runtime), ('tools', tools)):
        defs = ['-DRC_DEBUG=1'] + (['-DRC_RUNTIME=1'] if group == 'runtime' else [])
        cmd = ['cppcheck', '-q', '--std=c11', '--library=posix', '--enable=warning,performance,portability',
               '--inline-suppr', '--suppress-xml=.cppcheck-suppressions.xml', '--error-exitcode=1', '-j', str(jobs),
               '-D__x86_64__', '-D__linux__', '-D_GNU_SOURCE'] + defs + INCLUDES + \
              ['--template={file}:{line}: {severity}: {message} [{id}]'] + files
        p = subprocess.run(cmd)
        if p.returncode:
            st = 1
    print('cppcheck: exit %d on %d files' % (st, len(runtime) + len(tools)))
    return st


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('tool', choices=['clang_tidy', 'cppcheck'])
    ap.add_argument('root')
    ap.add_argument('--cache')
    ap.add_argument('--jobs', type=int, default=2)
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    cache = os.path.abspath(a.cache) if a.cache else None
    os.chdir(root)
    runtime, tools = sources(root)
    if a.tool == 'clang_tidy':
        return run_tidy(root, runtime, tools, cache, a.jobs)
    return run_cppcheck(root, runtime, tools, a.jobs)


if __name__ == '__main__':
    sys.exit(main())
