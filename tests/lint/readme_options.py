#!/usr/bin/env python3
"""README's option table is generated from core/base/options.inc: it must be
exactly what `reachcheck --help-markdown` prints.

usage: readme_options.py REACHCHECK README.md
"""
import subprocess
import sys

table = subprocess.check_output([sys.argv[1], '--help-markdown'], text=True)
if not table.strip():
    sys.exit('reachcheck --help-markdown printed nothing')
with open(sys.argv[2]) as f:
    if table not in f.read():
        sys.exit('README.md option table is stale: paste reachcheck --help-markdown')
