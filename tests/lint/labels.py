#!/usr/bin/env python3
"""The label rules of the test suite (tests/CMakeLists.txt), checked on the
generated suite, so a test added with a bare add_test() is caught too:

  - every test has at least one layer label;
  - every label is a layer or a known kind;
  - every layer (a folder of core/, and scanners, symbols, tools) labels at
    least one test of the normal suite (`make test`, not label stress);
  - the tests of a layer's own folder carry its label (rc.retain.* retain,
    rc.unwind.* stack, rc.base.* base, rc.fuzz.* and rc.lint.* a layer).

usage: labels.py CTEST BUILD_DIR SOURCE_DIR
"""
import json
import os
import subprocess
import sys

KINDS = {'case', 'api', 'real', 'unwind', 'fault', 'hostile', 'fuzz', 'asan', 'stress', 'lint', 'reachcheck', 'compat'}
# Test name prefix -> label every such test must have.
PREFIX_LABEL = {'rc.retain.': 'retain', 'rc.unwind.': 'stack', 'rc.base.': 'base'}


def layers(src):
    core = os.path.join(src, 'core')
    found = {d for d in os.listdir(core) if os.path.isdir(os.path.join(core, d))}
    return found | {'scanners', 'symbols', 'tools'}


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    ctest, build, src = sys.argv[1:]
    out = subprocess.run([ctest, '--show-only=json-v1'], cwd=build, capture_output=True, text=True, check=True).stdout
    tests = json.loads(out)['tests']
    layer_set = layers(src)
    problems = []
    normal_by_layer = {l: 0 for l in layer_set}
    for t in tests:
        name = t['name']
        labels = []
        for p in t.get('properties', []):
            if p['name'] == 'LABELS':
                labels = p['value']
        lay = [l for l in labels if l in layer_set]
        if not lay:
            problems.append('%s: no layer label (labels: %s)' % (name, labels or 'none'))
        for l in labels:
            if l not in layer_set and l not in KINDS:
                problems.append('%s: label %r is neither a layer nor a kind' % (name, l))
        for prefix, want in PREFIX_LABEL.items():
            if name.startswith(prefix) and want not in labels:
                problems.append('%s: lacks the label %r of its folder' % (name, want))
        if 'stress' not in labels:
            for l in lay:
                normal_by_layer[l] += 1
    for l, n in sorted(normal_by_layer.items()):
        if not n:
            problems.append('layer %s: no test of the normal suite has its label' % l)
    for p in problems:
        print(p)
    if problems:
        return 1
    print('labels: %d tests; normal-suite tests per layer: %s' %
          (len(tests), ', '.join('%s %d' % kv for kv in sorted(normal_by_layer.items()))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
