#!/usr/bin/env python3
"""The installed package works: `cmake --install` into a temporary prefix,
then a consumer project (tests/api/consumer) built with find_package against
that prefix and against the build tree, its CTest tests run (linked, under the
launcher through reachcheck_add_test, and a leak failing its test), and the
same program built with pkg-config flags.

usage: package_test.py BUILD_DIR CMAKE CTEST C_COMPILER"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, env=None, cwd=None):
    print('$ ' + ' '.join(cmd), flush=True)
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode('utf-8', 'replace')
    print(out, flush=True)
    if p.returncode:
        raise SystemExit('FAIL: exit status %d: %s' % (p.returncode, ' '.join(cmd)))
    return out


def consumer(cmake, ctest, tmp, name, define):
    bdir = os.path.join(tmp, 'consumer-' + name)
    run([cmake, '-S', os.path.join(HERE, 'consumer'), '-B', bdir, define])
    run([cmake, '--build', bdir])
    out = run([ctest, '--output-on-failure'], cwd=bdir)
    if '100% tests passed, 0 tests failed out of 3' not in out:
        raise SystemExit('FAIL: the consumer (%s) did not pass its 3 tests' % name)
    return bdir


def main():
    build, cmake, ctest, cc = sys.argv[1:5]
    tmp = tempfile.mkdtemp(prefix='rc-package-')
    try:
        prefix = os.path.join(tmp, 'prefix')
        run([cmake, '--install', build, '--prefix', prefix])
        for f in ('bin/reachcheck', 'lib/libreachcheck.so', 'include/reachcheck.h', 'include/reachcheck_gtest.h',
                  'include/reachcheck_cmocka.h', 'include/reachcheck_check.h',
                  'lib/cmake/reachcheck/reachcheckConfig.cmake', 'lib/pkgconfig/reachcheck.pc'):
            if not os.path.exists(os.path.join(prefix, f)):
                raise SystemExit('FAIL: %s was not installed' % f)
        consumer(cmake, ctest, tmp, 'install', '-DCMAKE_PREFIX_PATH=' + prefix)
        consumer(cmake, ctest, tmp, 'build-tree', '-Dreachcheck_DIR=' + os.path.abspath(build))

        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, 'lib', 'pkgconfig'))
        flags = run(['pkg-config', '--cflags', '--libs', 'reachcheck'], env=env).split()
        launcher = run(['pkg-config', '--variable=launcher', 'reachcheck'], env=env).strip()
        exe = os.path.join(tmp, 'pc_consumer')
        run([cc, '-g', '-O1', os.path.join(HERE, 'consumer', 'consumer.c'), '-o', exe] + flags +
            ['-Wl,-rpath,' + os.path.join(prefix, 'lib')])
        renv = dict(os.environ, REACHCHECK_OPTIONS='exitcode=0')
        renv.pop('LD_PRELOAD', None)
        if 'consumer (linked): ok' not in run([exe], env=renv):
            raise SystemExit('FAIL: the pkg-config build did not pass')
        if 'reachcheck 1.' not in run([launcher, '--version']):
            raise SystemExit('FAIL: the pkg-config launcher variable is wrong')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('PASS')


if __name__ == '__main__':
    main()
