#!/usr/bin/env python3
"""Installable like a tool: `cmake --install` into a temporary prefix gives
the launcher, the library, every header (the gperftools compatibility
header included), the CMake package, the pkg-config file and the man page;
programs written for LeakSanitizer's and gperftools' interfaces build
against that prefix and run under its launcher with exact results; and
`cpack -G DEB` builds a .deb holding the same files under /usr.

usage: install_test.py BUILD_DIR CMAKE CPACK CXX TESTS_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

build, cmake, cpack, cxx, tests = sys.argv[1:6]
HERE = os.path.dirname(os.path.abspath(__file__))
FILES = ['bin/reachcheck', 'lib/libreachcheck.so', 'lib/libreachcheck.so.1', 'include/reachcheck.h',
         'include/reachcheck_gtest.h', 'include/reachcheck_cmocka.h', 'include/reachcheck_check.h',
         'include/reachcheck/compat/gperftools/heap-checker.h', 'lib/cmake/reachcheck/reachcheckConfig.cmake',
         'lib/cmake/reachcheck/reachcheckTargets.cmake', 'lib/pkgconfig/reachcheck.pc',
         'share/man/man1/reachcheck.1']
fails = []


def run(cmd, env=None, ok=(0,), cwd=None):
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=400)
    if p.returncode not in ok:
        raise SystemExit('FAIL: %s: exit %d\n%s\n%s' % (' '.join(cmd), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p


def main():
    tmp = tempfile.mkdtemp(prefix='rc-install-')
    try:
        prefix = os.path.join(tmp, 'prefix')
        run([cmake, '--install', build, '--prefix', prefix])
        for f in FILES:
            if not os.path.exists(os.path.join(prefix, f)):
                fails.append('%s was not installed' % f)
        man = open(os.path.join(prefix, 'share/man/man1/reachcheck.1')).read()
        if not man.startswith('.TH REACHCHECK 1') or 'scan_mappings' not in man or 'LSAN_OPTIONS' not in man:
            fails.append('the man page lacks its title, the option table or LSAN_OPTIONS')
        if shutil.which('man'):
            text = run(['man', '-l', os.path.join(prefix, 'share/man/man1/reachcheck.1')],
                       env=dict(os.environ, MANWIDTH='100', MANPAGER='cat', PAGER='cat')).stdout
            if 'report_objects' not in text:
                fails.append('man -l does not render the option table')

        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, 'lib', 'pkgconfig'))
        env.pop('REACHCHECK_OPTIONS', None)
        env.pop('LD_PRELOAD', None)
        pc = run(['pkg-config', '--cflags', '--libs', 'reachcheck'], env=env).stdout.split()
        compat = run(['pkg-config', '--variable=compatincludedir', 'reachcheck'], env=env).stdout.strip()
        launcher = os.path.join(prefix, 'bin', 'reachcheck')
        rpath = '-Wl,-rpath,' + os.path.join(prefix, 'lib')

        # A program written for LeakSanitizer, linked with the installed library.
        lsan = os.path.join(tmp, 'lsan_api')
        run([cxx, '-O0', '-g', '-fno-inline', '-fno-omit-frame-pointer', '-I' + tests,
             os.path.join(HERE, 'lsan_api.cpp'), '-o', lsan] + pc + [rpath])
        j = os.path.join(tmp, 'lsan.json')
        p = run([launcher, '--json=' + j, '--', lsan, 'all'], env=env, ok=(23,))
        s = json.load(open(j))['summary']
        if (s['direct']['blocks'], s['direct']['bytes'], s['ignored']['blocks']) != (2, 112, 3):
            fails.append('lsan_api from the prefix: summary %s (want direct 2/112, ignored 3)' % s)
        if 'recoverable: 1 1' not in p.stdout:
            fails.append('lsan_api from the prefix: stdout %r' % p.stdout)

        # A gperftools program, header only, under the installed launcher.
        hc = os.path.join(tmp, 'heap_checker')
        run([cxx, '-std=c++11', '-O0', '-g', '-fno-inline', '-fno-omit-frame-pointer', '-I' + compat,
             '-I' + os.path.join(prefix, 'include'), '-I' + tests, os.path.join(HERE, 'heap_checker_test.cc'),
             '-o', hc, '-ldl', '-pthread'])
        j = os.path.join(tmp, 'hc.json')
        p = run([launcher, '--json=' + j, '--', hc], env=env, ok=(23,))
        s = json.load(open(j))['summary']
        if (s['direct']['blocks'], s['indirect']['blocks']) != (5, 2) or 'cycle: NoLeaks=0 objects=2 bytes=64' not in p.stdout:
            fails.append('heap_checker from the prefix: summary %s, stdout %r' % (s, p.stdout[:400]))

        # The .deb.
        debdir = os.path.join(tmp, 'deb')
        run([cpack, '-G', 'DEB', '-B', debdir, '--config', os.path.join(build, 'CPackConfig.cmake')], cwd=build)
        debs = [f for f in os.listdir(debdir) if f.endswith('.deb')]
        if len(debs) != 1:
            fails.append('cpack made %s, want one .deb' % debs)
        else:
            deb = os.path.join(debdir, debs[0])
            listing = run(['dpkg-deb', '-c', deb]).stdout
            names = set()
            for line in listing.splitlines():
                parts = line.split()
                if parts:   # a symlink reads "NAME -> TARGET"
                    names.add(parts[parts.index('->') - 1] if '->' in parts else parts[-1])
            for f in FILES:
                if './usr/' + f not in names:
                    fails.append('%s is not in %s' % ('/usr/' + f, debs[0]))
            fields = run(['dpkg-deb', '-f', deb, 'Package', 'Version', 'Depends']).stdout
            if 'Package: reachcheck' not in fields or 'libgc1' not in fields:
                fails.append('control fields: %r' % fields)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if fails:
        print('FAIL:\n  ' + '\n  '.join(fails))
        sys.exit(1)
    print('ok: installed, ran from the prefix, .deb has every file')


main()
