#!/usr/bin/env python3
"""The sanitizers' allocator and report interface and glibc's mallinfo2, linked and preloaded:
exact values for known blocks, the caller's stack on stderr, and
__sanitizer_set_report_path moving the leak report to PREFIX.PID.
usage: sanitizer_api_test.py LAUNCHER LINKED_PROGRAM PRELOADED_PROGRAM"""
import glob
import os
import re
import subprocess
import sys
import tempfile

launcher, linked, weak = sys.argv[1:4]
fail = []
WANT_STDOUT = ["allocated 1300", "mallinfo2 1300, mallinfo 1300, arena covers them", "ownership 1 1 1 0 0 0", "sizes 1000 300 0 0", "estimated 123",
               "after free: allocated 0, ownership 0", "heap consistent"]
env = dict(os.environ)
for k in ("REACHCHECK_OPTIONS", "LSAN_OPTIONS", "LD_PRELOAD"):
    env.pop(k, None)
for name, prog in (("linked", linked), ("preloaded", weak)):
    tmp = tempfile.mkdtemp(prefix="rc-sanapi-")
    prefix = os.path.join(tmp, "report")
    p = subprocess.run([launcher, "--", prog, prefix], env=env, capture_output=True, text=True, timeout=50)
    out = p.stdout.splitlines()
    if out != WANT_STDOUT:
        fail.append("%s: stdout %r, want %r" % (name, out, WANT_STDOUT))
    if p.returncode != 23:
        fail.append("%s: exit status %d, want 23 (one leak)" % (name, p.returncode))
    frames = re.findall(r"(?m)^    #(\d+) 0x[0-9a-f]+ in (\w+)", p.stderr)
    if [f[1] for f in frames[:2]] != ["show_my_stack", "main"] or frames[0][0] != "0":
        fail.append("%s: the stack printed starts %s, want #0 show_my_stack, #1 main: %r" % (name, frames[:3], p.stderr[:500]))
    if "SUMMARY" in p.stderr or "leak of" in p.stderr:
        fail.append("%s: the report went to stderr after __sanitizer_set_report_path" % name)
    files = glob.glob(prefix + ".*")
    if len(files) != 1 or not re.fullmatch(re.escape(prefix) + r"\.\d+", files[0]):
        fail.append("%s: expected one file %s.PID, found %s" % (name, prefix, files))
    else:
        text = open(files[0]).read()
        for want in (r"(?m)^Direct leak of 48 byte\(s\) in 1 object", r"in leak_one",
                     r"(?m)^SUMMARY: reachcheck: 1 direct \(48 bytes\)"):
            if not re.search(want, text):
                fail.append("%s: the report file lacks %s: %r" % (name, want, text[:400]))
for f in fail:
    print("FAIL:", f)
print("ok" if not fail else "%d failure(s)" % len(fail))
sys.exit(1 if fail else 0)
