#!/usr/bin/env python3
"""Issue 13 tests: pprof profiles from --pprof, `reachcheck pprof`, the live
/debug/pprof endpoint and `reachcheck top`/`list`, checked with the real
`go tool pprof` (Debian golang-go) and curl, with exact values from
tests/profile/known.c:

  keep_blocks: 1000 x 48 B (line 26) + one 8000 B array (line 25), kept in g_keep
  churn:       500 x 100 B, all freed
  leak_blocks: 10 x 64 B, leaked
  grow(n):     n x 32 B, kept in g_history

usage: run_profile.py SCENARIO --launcher R --prog KNOWN [--example EX]"""
import argparse, gzip, os, random, re, signal, socket, subprocess, sys, tempfile, threading, time

A = None
TMP = tempfile.mkdtemp(prefix="rcprof-")
ENV = dict(os.environ, HOME=TMP, PPROF_TMPDIR=TMP)
ENV.pop("REACHCHECK_OPTIONS", None)
FAILS = []


def check(cond, what):
    if cond:
        print("ok:", what)
    else:
        print("FAIL:", what)
        FAILS.append(what)


def run(cmd, timeout=120, **kw):
    # from TMP: go tool pprof looks for sources under its working directory
    # after cutting a source path at that directory's base name (pprof's
    # trim_path guess), and build/tests/profile would cut .../tests/profile/
    kw.setdefault("cwd", TMP)
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout, **kw)


UNITS = {"B": 1, "kB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def num(s):
    """pprof's value column: 56000B, 54.69kB, 1001, 0, ."""
    if s in (".", "0"):
        return 0.0
    m = re.fullmatch(r"(-?[0-9.]+)([a-zA-Z]*)", s)
    if not m:
        raise ValueError(s)
    return float(m.group(1)) * UNITS.get(m.group(2), 1)


def top_rows(text):
    """{function: (flat, cum)} from a pprof -top table."""
    rows = {}
    started = False
    for line in text.splitlines():
        if re.match(r"\s+flat\s+flat%", line):
            started = True
            continue
        if started:
            f = line.split()
            if len(f) >= 6:
                rows[" ".join(f[5:])] = (num(f[0]), num(f[3]), f[1], f[2], f[4])
    return rows


def gotop(src, *flags):
    r = run(["go", "tool", "pprof", "-top", "-nodefraction=0", "-unit=B"] + list(flags) + [src], timeout=180)
    if r.returncode:
        print(r.stdout, r.stderr)
    return r.returncode, r.stdout + r.stderr, top_rows(r.stdout)


def flat(rows, fn):
    return rows.get(fn, (0, 0))[0]


def list_lines(text):
    """{line number: (flat, cum)} of a pprof -list listing."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s*(\S+)\s+(\S+)\s+(\d+):", line)
        if m:
            try:
                out[int(m.group(3))] = (num(m.group(1)), num(m.group(2)))
            except ValueError:
                pass
    return out


KNOWN_C = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known.c")


def src_line(path, text):
    """Number of the line of path that contains text."""
    with open(path) as f:
        for i, l in enumerate(f, 1):
            if text in l:
                return i
    raise SystemExit("no line with %r in %s" % (text, path))


def rc(*args, timeout=120, stdin=None):
    return run([A.launcher] + list(args), timeout=timeout, input=stdin)


def build_id(path):
    r = run(["readelf", "-n", path])
    m = re.search(r"Build ID: ([0-9a-f]+)", r.stdout)
    return m.group(1) if m else None


# ---------------------------------------------------------------- --pprof
def exit_profile(n, name):
    path = os.path.join(TMP, name)
    r = rc("--pprof=" + path.replace(".pb.gz", "-%p.pb.gz"), "--exitcode=0", "--", A.prog, str(n))
    check(r.returncode == 0, "%s: program ran (%s)" % (name, r.stderr[-300:]))
    got = [f for f in os.listdir(TMP) if f.startswith(name.replace(".pb.gz", "-"))]
    check(len(got) == 1, "%s: one file with %%p expanded: %s" % (name, got))
    os.rename(os.path.join(TMP, got[0]), path)
    return path


def check_known(src, what, checked=True, grown=5):
    code, out, rows = gotop(src, "-sample_index=inuse_space")
    check(code == 0, what + ": go tool pprof -top reads it")
    check(flat(rows, "keep_blocks") == 56000, "%s: inuse_space keep_blocks 56000 (%s)" % (what, rows.get("keep_blocks")))
    check(flat(rows, "leak_blocks") == 640, what + ": inuse_space leak_blocks 640")
    check(flat(rows, "grow") == 32 * grown, what + ": inuse_space grow %d" % (32 * grown))
    check(flat(rows, "churn") == 0, what + ": inuse_space churn 0 (all freed)")
    code, out, rows = gotop(src, "-sample_index=inuse_objects")
    check(flat(rows, "keep_blocks") == 1001, what + ": inuse_objects keep_blocks 1001")
    code, out, rows = gotop(src, "-sample_index=alloc_objects")
    check(flat(rows, "keep_blocks") == 1001 and flat(rows, "churn") == 500 and flat(rows, "leak_blocks") == 10,
          what + ": alloc_objects 1001/500/10, counted over frees (%s)" % {k: v[0] for k, v in rows.items()})
    code, out, rows = gotop(src, "-sample_index=alloc_space")
    check(flat(rows, "churn") == 50000 and flat(rows, "keep_blocks") == 56000, what + ": alloc_space churn 50000, keep 56000")
    code, out, rows = gotop(src, "-sample_index=leaked_space")
    if checked:
        check(flat(rows, "leak_blocks") == 640 and flat(rows, "keep_blocks") == 0, what + ": leaked_space leak_blocks 640 only")
        code, out, rows = gotop(src, "-sample_index=leaked_objects")
        check(flat(rows, "leak_blocks") == 10, what + ": leaked_objects 10")
        code, out, rows = gotop(src, "-sample_index=inuse_space", "-tagfocus=root=g_keep")
        check(flat(rows, "keep_blocks") == 56000 and flat(rows, "grow") == 0 and flat(rows, "leak_blocks") == 0,
              what + ": -tagfocus=root=g_keep keeps keep_blocks only (%s)" % {k: v[0] for k, v in rows.items()})
        code, out, rows = gotop(src, "-sample_index=inuse_space", "-tagfocus=root=g_history")
        check(flat(rows, "grow") == 32 * grown and flat(rows, "keep_blocks") == 0, what + ": -tagfocus=root=g_history: grow")
        code, out, rows = gotop(src, "-sample_index=inuse_space", "-tagfocus=state=leaked")
        check(flat(rows, "leak_blocks") == 640 and flat(rows, "keep_blocks") == 0, what + ": -tagfocus=state=leaked")
        r = run(["go", "tool", "pprof", "-traces", src])
        check("root:  global g_keep (rcp_known)" in r.stdout and "state:  leaked" in r.stdout,
              what + ": -traces shows the labels root and state")
        r = run(["go", "tool", "pprof", "-tags", src])
        check(re.search(r"root: Total", r.stdout) is not None and "global g_history (rcp_known)" in r.stdout,
              what + ": -tags lists the roots")
        r = run(["go", "tool", "pprof", "-top", "-tagroot=root", "-nodefraction=0", "-unit=B", src])
        check("global g_keep (rcp_known)" in r.stdout, what + ": -tagroot=root puts the roots on top of the stacks")
    else:
        check(not rows or all(v[0] == 0 for v in rows.values()), what + ": leaked_space 0 without a check")
    r = run(["go", "tool", "pprof", "-list", "keep_blocks", "-unit=B", "-sample_index=inuse_space", src])
    ll = list_lines(r.stdout)
    l1, l2 = src_line(KNOWN_C, "g_keep = calloc(1000"), src_line(KNOWN_C, "g_keep[i] = malloc(48)")
    check(ll.get(l1) == (8000, 8000) and ll.get(l2) == (48000, 48000),
          what + ": -list keep_blocks: calloc line 8000, malloc line 48000 (%s)\n%s" % ({k: ll.get(k) for k in (l1, l2)}, r.stdout[:400] + r.stderr[:400]))


def s_exit():
    path = exit_profile(5, "exit.pb.gz")
    with gzip.open(path) as f:
        raw = f.read()
    check(len(raw) > 100, "gzip stream")
    check_known(path, "--pprof")
    r = run(["go", "tool", "pprof", "-raw", path])
    bid = build_id(A.prog)
    check(bid is not None and bid in r.stdout and "[FN][FL][LN]" in r.stdout, "mapping has the build id %s and FN/FL/LN" % bid)
    r = run(["go", "tool", "pprof", "-top", path])
    check(re.search(r"^Type: inuse_space$", r.stdout, re.M) is not None, "default sample type inuse_space")
    check(re.search(r"^pid: \d+$", r.stdout, re.M) and "command line: " + A.prog + " 5" in r.stdout and
          re.search(r"^reachcheck \d", r.stdout, re.M), "comments: version, command line, pid")
    check(re.search(r"^Time: ", r.stdout, re.M) and re.search(r"Duration: ", r.stdout), "time_nanos and duration_nanos")
    # -base: 100 more grow() blocks name grow first
    path2 = exit_profile(105, "exit105.pb.gz")
    code, out, rows = gotop(path2, "-base=" + path, "-sample_index=inuse_space")
    first = [l for l in out.splitlines() if re.match(r"\s+-?\d", l)]
    check(flat(rows, "grow") == 3200 and first and first[0].split()[-1] == "grow",
          "-base: grow +3200 B, first row (%s)" % (first[:1],))
    # reachcheck top and list agree with go tool pprof
    for idx in ("inuse_space", "alloc_objects", "leaked_space", "alloc_space"):
        ours = run([A.launcher, "top", path, "--sample_index=" + idx, "--nodefraction=0"])
        theirs = run(["go", "tool", "pprof", "-top", "-nodefraction=0", "-sample_index=" + idx, "-unit=B", path])
        check(ours.returncode == 0 and top_rows(ours.stdout) == top_rows(theirs.stdout),
              "reachcheck top agrees with go tool pprof -top (%s)" % idx)
    ours = run([A.launcher, "top", path])
    theirs = run(["go", "tool", "pprof", "-top", path])
    tb = lambda t: [l for l in t.splitlines() if re.match(r"\s+(flat|-?\d)", l) or l.startswith("Dropped")]
    check(tb(ours.stdout) == tb(theirs.stdout), "reachcheck top's table is go tool pprof -top's, default flags")
    ours = run([A.launcher, "top", path2, "--base=" + path, "--nodefraction=0"])
    theirs = run(["go", "tool", "pprof", "-top", "-nodefraction=0", "-unit=B", "-base=" + path, path2])
    check(top_rows(ours.stdout) == top_rows(theirs.stdout), "reachcheck top --base agrees with go tool pprof -base")
    ours = run([A.launcher, "top", path, "--nodecount=2", "--nodefraction=0"])
    check(len(top_rows(ours.stdout)) == 2 and "Showing top 2 nodes out of 7" in ours.stdout, "--nodecount=2")
    for fn, idx in (("keep_blocks", "inuse_space"), ("main", "alloc_objects"), ("leak", "leaked_space")):
        ours = run([A.launcher, "list", fn, path, "--sample_index=" + idx])
        theirs = run(["go", "tool", "pprof", "-list", fn, "-unit=B", "-sample_index=" + idx, path])
        lo, lt = list_lines(ours.stdout), list_lines(theirs.stdout)
        check(ours.returncode == 0 and lo and lo == lt, "reachcheck list %s agrees with go tool pprof -list (%s)" % (fn, idx))
        ro = re.findall(r"ROUTINE =+ (\S+) in (\S+)", ours.stdout)
        rt = re.findall(r"ROUTINE =+ (\S+) in (\S+)", theirs.stdout)
        check(ro == rt, "same routines listed for %s: %s" % (fn, ro))
    # missing sources: one clear line, values still shown
    moved = os.path.join(TMP, "known_copy.pb.gz")
    r = run([A.launcher, "list", "keep_blocks", path], cwd=TMP)
    check("48000B" in r.stdout, "list shows values")
    # bad inputs: one line, exit 1/2
    bad = os.path.join(TMP, "bad.pb.gz")
    with open(bad, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00garbage")
    r = run([A.launcher, "top", bad])
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "gzip" in r.stderr, "corrupt gzip: one line")
    with open(bad, "wb") as f:
        f.write(gzip.compress(b"\x0a\xff\xff\xff\xff\x0f"))
    r = run([A.launcher, "top", bad])
    check(r.returncode == 1 and "not a pprof profile" in r.stderr, "bad protobuf: one line")
    r = run([A.launcher, "top", path, "--sample_index=nope"])
    check(r.returncode == 1 and "no sample type 'nope'" in r.stderr, "unknown sample index named")
    r = run([A.launcher, "list", "(", path])
    check(r.returncode == 2 and "bad regular expression" in r.stderr, "bad regex named")
    r = run([A.launcher, "list", "no_such_function", path])
    check(r.returncode == 1 and "no function matches" in r.stderr, "list without a match")
    r = run([A.launcher, "top", os.path.join(TMP, "missing.pb.gz")])
    check(r.returncode == 1 and "cannot read" in r.stderr, "missing file named")


def s_list_missing_source():
    """A profile whose recorded source file is gone: list says so in one line."""
    src = os.path.join(TMP, "gone.c")
    with open(src, "w") as f:
        f.write('#include <stdlib.h>\nvoid *g;\n__attribute__((noinline)) void mk(void) { g = malloc(77); }\n'
                'int main(void) { mk(); return 0; }\n')
    exe = os.path.join(TMP, "gone")
    subprocess.check_call(["cc", "-g", "-O0", "-o", exe, src])
    path = os.path.join(TMP, "gone.pb.gz")
    r = rc("--pprof=" + path, "--", exe)
    check(r.returncode == 0, "gone: ran")
    os.unlink(src)
    r = run([A.launcher, "list", "^mk$", path])
    check(r.returncode == 0 and "cannot read the source file '%s'" % src in r.stdout and "77B" in r.stdout,
          "list: missing source named in one line, values kept:\n" + r.stdout)


def s_inline():
    """Inlined frames: one location, three lines (make_node, fill, build)."""
    src = os.path.join(os.path.dirname(KNOWN_C), "inlined.c")
    path = os.path.join(TMP, "inl.pb.gz")
    r = rc("--pprof=" + path, "--", A.inlined)
    check(r.returncode == 0, "inlined: ran")
    r = run(["go", "tool", "pprof", "-raw", path])
    want = r"make_node %s:%d s=0\n\s+fill %s:%d s=0\n\s+build %s:%d s=0" % (
        re.escape(src), src_line(src, "make_node's line"), re.escape(src), src_line(src, "fill's line"), re.escape(src),
        src_line(src, "build's line"))
    check(re.search(want, r.stdout) is not None, "one location with the inline chain make_node < fill < build:\n" + r.stdout[:900])
    check("[FN][FL][LN][IN]" in r.stdout, "has_inline_frames set")
    code, out, rows = gotop(path)
    check(rows.get("make_node (inline)", (0,))[0] == 100 * 16 + 50 and rows.get("fill (inline)", (0, 0))[1] == 1650,
          "go tool pprof -top: make_node (inline) flat 1650, fill (inline) cum 1650: %s" % rows)
    ours = run([A.launcher, "top", path, "--nodefraction=0"])
    theirs = run(["go", "tool", "pprof", "-top", "-nodefraction=0", "-unit=B", path])
    check(top_rows(ours.stdout) == top_rows(theirs.stdout), "reachcheck top agrees on inlined frames")
    ours = run([A.launcher, "list", "fill", path])
    theirs = run(["go", "tool", "pprof", "-list", "fill", "-unit=B", path])
    lo, lt = list_lines(ours.stdout), list_lines(theirs.stdout)
    check(lo and lo == lt and lo.get(src_line(src, "fill's line")) == (0, 1650), "reachcheck list fill agrees: %s" % lo)


# ---------------------------------------------------------------- converter
def s_convert():
    rep = os.path.join(TMP, "report.json")
    r = rc("--json=" + rep, "--exitcode=0", "--", A.prog, "5")
    check(r.returncode == 0, "report written")
    out = os.path.join(TMP, "report.pb.gz")
    r = run([A.launcher, "pprof", rep, "-o", out])
    check(r.returncode == 0, "reachcheck pprof REPORT -o FILE (%s)" % r.stderr)
    code, txt, rows = gotop(out, "-sample_index=leaked_space")
    check(flat(rows, "leak_blocks") == 640, "report: leaked_space leak_blocks 640")
    code, txt, rows = gotop(out, "-sample_index=inuse_space", "-tagfocus=root=g_keep")
    check(flat(rows, "keep_blocks") == 56000, "report: root g_keep retains keep_blocks 56000")
    # a snapshot, taken by signal from a running program
    snap = os.path.join(TMP, "k-%n.snap.json")
    p = subprocess.Popen([A.launcher, "--snapshot_signal=SIGUSR2", "--snapshot_path=" + snap, "--exitcode=0", "--",
                          A.prog, "5", "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=ENV)
    check(p.stdout.readline().strip() == "ready", "snapshot program ready")

    def take(n):
        os.kill(p.pid, signal.SIGUSR2)
        path = snap.replace("%n", str(n))
        for _ in range(400):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        return path
    # one command first: stdin's buffer is allocated by the first fgets,
    # which must come before snapshot 1 for the -base below to be exact
    p.stdin.write("grow 0\n")
    p.stdin.flush()
    check(p.stdout.readline().strip() == "ok", "the program reads its commands")
    sp = take(1)
    p.stdin.write("grow 50\n")
    p.stdin.flush()
    check(p.stdout.readline().strip() == "ok", "grow 50 between the snapshots")
    sp2 = take(2)
    p.communicate("quit\n", timeout=60)
    out = os.path.join(TMP, "snap.pb.gz")
    r = run([A.launcher, "pprof", sp, "-o", out])
    check(r.returncode == 0, "reachcheck pprof SNAPSHOT -o FILE (%s)" % r.stderr)
    code, txt, rows = gotop(out, "-sample_index=inuse_space", "-tagfocus=root=g_keep")
    check(flat(rows, "keep_blocks") == 56000, "snapshot: g_keep retains keep_blocks 56000 (%s)" % (rows.get("keep_blocks"),))
    code, txt, rows = gotop(out, "-sample_index=leaked_space")
    check(flat(rows, "leak_blocks") == 640, "snapshot: leak_blocks leaked 640")
    code, txt, rows = gotop(out, "-sample_index=inuse_space", "-tagfocus=root=g_history")
    check(flat(rows, "grow") == 160, "snapshot: g_history retains grow 160")
    r = run([A.launcher, "top", out, "--sample_index=inuse_space"])
    check(r.returncode == 0 and "keep_blocks" in r.stdout, "reachcheck top reads the converted file")
    r = run(["go", "tool", "pprof", "-traces", out])
    check("root:  global g_keep (rcp_known)" in r.stdout and "state:  leaked" in r.stdout, "snapshot: -traces shows the labels")
    r = run(["go", "tool", "pprof", "-list", "keep_blocks", "-unit=B", out])
    ll = list_lines(r.stdout)
    check(ll.get(src_line(KNOWN_C, "g_keep[i] = malloc(48)")) == (48000, 48000), "snapshot: -list keep_blocks, the malloc line 48000")
    out2 = os.path.join(TMP, "snap2.pb.gz")
    r = run([A.launcher, "pprof", sp2, "-o", out2])
    code, txt, rows = gotop(out2, "-base=" + out)
    first = [l for l in txt.splitlines() if re.match(r"\s+-?\d", l)]
    check(flat(rows, "grow") == 1600 and first and first[0].split()[-1] == "grow",
          "snapshots: -base names grow first, +1600 B (%s)" % (first[:1],))
    ours = run([A.launcher, "top", out2, "--base=" + out, "--nodefraction=0"])
    theirs = run(["go", "tool", "pprof", "-top", "-nodefraction=0", "-unit=B", "-base=" + out, out2])
    check(top_rows(ours.stdout) == top_rows(theirs.stdout), "reachcheck top --base agrees on converted snapshots")
    r = run([A.launcher, "pprof", os.path.join(TMP, "nope.json"), "-o", out])
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, "missing input: one line")
    r = run([A.launcher, "pprof", sp])
    check(r.returncode == 2 and "usage" in r.stderr, "no -o: usage")


# ---------------------------------------------------------------- the endpoint
class Service:
    def __init__(self, *opts, args=("3", "serve")):
        self.p = subprocess.Popen([A.launcher, "--http=127.0.0.1:0", "--exitcode=0"] + list(opts) + ["--", A.prog] +
                                  list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=ENV)
        line = self.p.stderr.readline()
        m = re.search(r"serving (http://[0-9.]+:(\d+))/debug/pprof/", line)
        if not m:
            raise SystemExit("no serving line: " + line)
        self.url, self.port = m.group(1), int(m.group(2))
        self.err = []
        self.reader = threading.Thread(target=lambda: self.err.extend(self.p.stderr), daemon=True)
        self.reader.start()
        assert self.p.stdout.readline().strip() == "ready"
        # the first fgets allocates stdin's buffer: have it done before any profile
        assert self.cmd("grow 0") == "ok"

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def quit(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        self.p.wait(timeout=60)
        # the exit report may still sit in the pipe: self.err is whole only
        # once the reader has seen end of file (a loaded machine lost it)
        self.reader.join(timeout=60)
        return self.p.returncode


def curl(url, out=None, *extra):
    cmd = ["curl", "-s", "-S", "-m", "60", "-w", "%{http_code}"] + list(extra) + [url]
    if out:
        cmd += ["-o", out]
    r = run(cmd, timeout=90)
    return r.stdout[-3:], r.stdout[:-3]


def s_live():
    s = Service()
    f1 = os.path.join(TMP, "live1.pb.gz")
    code, _ = curl(s.url + "/debug/pprof/heap", f1)
    check(code == "200", "curl /debug/pprof/heap")
    check_known(f1, "live heap (no check)", checked=False, grown=3)
    f2 = os.path.join(TMP, "live2.pb.gz")
    code, _ = curl(s.url + "/debug/pprof/heap?gc=1", f2)
    check(code == "200", "curl /debug/pprof/heap?gc=1")
    check_known(f2, "live heap?gc=1", checked=True, grown=3)
    code, out, rows = gotop(s.url + "/debug/pprof/heap")
    check(code == 0 and flat(rows, "keep_blocks") == 56000, "go tool pprof -top http://127.0.0.1:PORT/debug/pprof/heap")
    code, out, rows = gotop(s.url + "/debug/pprof/leaks")
    check("Type: leaked_space" in out and flat(rows, "leak_blocks") == 640, "/leaks: a check, default leaked_space")
    code, out, rows = gotop(s.url + "/debug/pprof/allocs")
    check("Type: alloc_space" in out and flat(rows, "churn") == 50000, "/allocs: default alloc_space")
    code, txt = curl(s.url + "/debug/pprof/heap?debug=1")
    check(code == "200" and "inuse 48000 bytes in 1000 objects" in txt and "keep_blocks" in txt, "heap?debug=1 text")
    code, txt = curl(s.url + "/debug/pprof/heap?debug=1&gc=1")
    check("leaked 640 bytes in 10 objects" in txt and "root=global g_keep (rcp_known)" in txt, "heap?debug=1&gc=1 text")
    code, txt = curl(s.url + "/debug/pprof/")
    check(code == "200" and "<html>" in txt and "heap" in txt, "the index")
    # -base between two fetches: grow named first
    check(s.cmd("grow 100") == "ok", "grow 100")
    f3 = os.path.join(TMP, "live3.pb.gz")
    curl(s.url + "/debug/pprof/heap", f3)
    code, out, rows = gotop(f3, "-base=" + f1)
    first = [l for l in out.splitlines() if re.match(r"\s+-?\d", l)]
    check(flat(rows, "grow") == 3200 and first[0].split()[-1] == "grow", "live -base: grow +3200 first")
    ours = run([A.launcher, "top", s.url + "/debug/pprof/heap", "--nodefraction=0"])
    theirs = run(["go", "tool", "pprof", "-top", "-nodefraction=0", "-unit=B", f3])
    check(ours.returncode == 0 and top_rows(ours.stdout) == top_rows(theirs.stdout), "reachcheck top URL")
    r = run([A.launcher, "list", "^grow$", s.url + "/debug/pprof/heap"])
    check(r.returncode == 0 and re.search(r"3296B\s+3296B\s+%d:\s+struct node \*x = malloc" % src_line(KNOWN_C, "struct node *x = malloc"), r.stdout) is not None,
          "reachcheck list URL shows grow's malloc line with 3296B:\n" + r.stdout)
    # threads
    code, txt = curl(s.url + "/debug/pprof/threads?debug=1")
    check(code == "200" and '"known-waiter"' in txt and re.search(r"in waiter .*known\.c:\d+", txt) is not None and
          "pthread_cond_wait" in txt, "threads?debug=1: the waiter thread's stack")
    check(re.search(r"in main .*known\.c:\d+", txt) is not None, "threads?debug=1: the main thread in main")
    ft = os.path.join(TMP, "threads.pb.gz")
    curl(s.url + "/debug/pprof/threads", ft)
    r = run(["go", "tool", "pprof", "-traces", ft])
    check("name:  known-waiter" in r.stdout and re.search(r"tid:  \d+", r.stdout) and "waiter" in r.stdout,
          "threads profile: labels tid and name, stacks")
    code, out, rows = gotop(s.url + "/debug/pprof/goroutine")
    check(rows.get("waiter", (0, 0))[1] == 1 and rows.get("main", (0, 0))[1] == 1, "goroutine alias: one sample per thread")
    # symbol
    code, txt = curl(s.url + "/debug/pprof/symbol")
    check(txt == "num_symbols: 1\n", "symbol: GET")
    ad = re.search(r"#0 (0x[0-9a-f]+) in keep_blocks", curl(s.url + "/debug/pprof/heap?debug=1")[1])
    code, txt = curl(s.url + "/debug/pprof/symbol", None, "--data-binary", ad.group(1) + "+0x1")
    check(code == "200" and txt.startswith(ad.group(1) + " keep_blocks"), "symbol: POST resolves an address: " + txt)
    code, txt = curl(s.url + "/debug/pprof/symbol", None, "--data-binary", "zzz")
    check(code == "400" and "bad address" in txt, "symbol: a bad address is a 400")
    # why
    code, txt = curl(s.url + "/debug/reachcheck/why?site=grow")
    # the list's head may also be held by a stale register copy on the main
    # thread's stack, so the shortest path may start there
    check(code == "200" and re.search(r"^  root: (global g_history \(rcp_known\)|stack of thread)", txt, re.M) and
          "103 live" in txt and txt.count("(the block asked about)") == 10, "why?site=grow:\n" + txt[:300])
    blk = re.search(r"-> 32 bytes at (0x[0-9a-f]+)", txt).group(1)
    code, txt = curl(s.url + "/debug/reachcheck/why?addr=" + blk)
    check(code == "200" and "(the block asked about)" in txt and blk in txt and " in grow " in txt, "why?addr=")
    code, txt = curl(s.url + "/debug/reachcheck/why?addr=0x10")
    check(code == "404" and "no live block" in txt, "why?addr= of no block: 404")
    code, txt = curl(s.url + "/debug/reachcheck/why")
    check(code == "400", "why without a parameter: 400")
    code, txt = curl(s.url + "/debug/reachcheck/why?site=leak_blocks")
    check("10 live, of which 10 (640 bytes) unreachable" in txt, "why?site=leak_blocks: leaked")
    # seconds: a delta over the window
    fd = os.path.join(TMP, "delta.pb.gz")
    t = threading.Thread(target=lambda: curl(s.url + "/debug/pprof/allocs?seconds=2", fd))
    t.start()
    time.sleep(0.7)
    check(s.cmd("grow 7") == "ok", "grow 7 during the window")
    code2, txt2 = curl(s.url + "/debug/pprof/heap?debug=1")
    check(code2 == "200", "another request is served during a ?seconds wait")
    t.join()
    code, out, rows = gotop(fd, "-sample_index=alloc_objects")
    check(flat(rows, "grow") == 7 and flat(rows, "keep_blocks") == 0, "?seconds=2: delta alloc_objects grow 7 only (%s)" % (rows,))
    r = run(["go", "tool", "pprof", "-top", fd])
    check(re.search(r"Duration: 2(\.\d+)?s", r.stdout) is not None, "?seconds=2: duration_nanos ~2 s")
    code, txt = curl(s.url + "/debug/pprof/heap?seconds=2&gc=1")
    check(code == "400", "seconds with gc=1: 400")
    code, txt = curl(s.url + "/debug/pprof/heap?seconds=99999")
    check(code == "400", "seconds out of range: 400")
    # fork with the server running
    check(s.cmd("fork") == "ok", "the program forks; its child exits")
    code, _ = curl(s.url + "/debug/pprof/heap?debug=1")
    check(code == "200", "still served after fork")
    check(s.quit() == 0, "program exits 0")
    time.sleep(0.2)
    # port 0 is an address per process (docs/daemons.md): the child served
    # its own, on another port, under its own pid, and never the parent's
    lines = re.findall(r"serving http://127\.0\.0\.1:(\d+)/debug/pprof/ \(pid (\d+)\)", "".join(s.err))
    check(len(lines) == 1 and int(lines[0][0]) != s.port and int(lines[0][1]) != s.p.pid,
          "the forked child served its own endpoint on another port: %s" % (lines,))
    c = socket.socket()
    check(c.connect_ex(("127.0.0.1", s.port)) != 0, "the port is closed after exit")
    c.close()


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def s_exec():
    """A process keeps its endpoint across exec (same pid: `exec ./server` at the end of a
    wrapper); a program it runs in another process does not serve its address, even when
    it gets the options without the owner's marker (a filtered environment)."""
    port = free_port()
    p = subprocess.Popen([A.launcher, "--http=127.0.0.1:%d" % port, "--exitcode=0", "--", "sh", "-c",
                          "%s 1 >/dev/null 2>&1 || exit 9; "
                          # a filtered environment: the options without the owner's marker
                          "env -i LD_PRELOAD=\"$LD_PRELOAD\" REACHCHECK_OPTIONS=\"$REACHCHECK_OPTIONS\" %s 1 >/dev/null 2>&1 "
                          "|| exit 8; sleep 0.2; exec %s 1 serve" % (A.prog, A.prog, A.prog)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    line = p.stderr.readline()
    check(("serving http://127.0.0.1:%d/debug/pprof/ (pid %d)" % (port, p.pid)) in line, "sh serves: " + line)
    line = p.stderr.readline()
    check(("serving http://127.0.0.1:%d/debug/pprof/ (pid %d)" % (port, p.pid)) in line,
          "the program sh execs serves again on the same address, in the same pid: " + line)
    check(p.stdout.readline().strip() == "ready", "the exec'd program runs")
    code, txt = curl("http://127.0.0.1:%d/debug/pprof/heap?debug=1" % port)
    check(code == "200" and "rcp_known" in txt, "the exec'd program's profile is served: " + code + txt[:200])
    p.stdin.write("quit\n")
    p.stdin.flush()
    out, err = p.communicate(timeout=60)
    check(p.returncode == 0 and "serving" not in err and "cannot serve" not in err,
          "one server at a time, and the program sh ran first (another pid) tried none: " + err[-300:])


def s_unix():
    path = os.path.join(TMP, "rc.sock")
    p = subprocess.Popen([A.launcher, "--http=unix:" + path, "--exitcode=0", "--", A.prog, "2", "serve"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    check(p.stdout.readline().strip() == "ready", "unix: ready")
    code, txt = curl("http://localhost/debug/pprof/heap?debug=1", None, "--unix-socket", path)
    check(code == "200" and "grow" in txt, "unix socket endpoint")
    p.stdin.write("quit\n")
    p.stdin.flush()
    p.communicate(timeout=60)
    check(not os.path.exists(path), "socket file removed at exit")


def s_refuse():
    for addr in ("10.0.0.1:6060", "0.0.0.0:6060", "192.168.1.2:80", "8.8.8.8:53", "[::]:6060", "example.com:80",
                 "127.0.0.1:70000", "127.0.0.1:", "unix:", "127.0.0.1:x"):
        r = rc("--http=" + addr, "--", A.prog, "1")
        err = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(err) == 1 and r.stdout == "", "refused %s: one line, not started (%s)" % (addr, err))
    # the runtime refuses too (REACHCHECK_OPTIONS without the launcher)
    env = dict(ENV, REACHCHECK_OPTIONS="http=10.1.1.1:80", LD_PRELOAD=A.runtime)
    r = subprocess.run([A.prog, "1"], capture_output=True, text=True, env=env, timeout=60)
    check(r.returncode == 2 and "refusing option 'http=10.1.1.1:80'" in r.stderr, "runtime refuses: " + r.stderr)
    # port in use: one line, exit 2
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    r = rc("--http=127.0.0.1:%d" % s.getsockname()[1], "--", A.prog, "1")
    check(r.returncode == 2 and "cannot serve" in r.stderr and "in use" in r.stderr, "port in use: " + r.stderr.strip())
    s.close()


# ---------------------------------------------------------------- hostile requests
def raw(port, data, read=True, timeout=10):
    """Send data on a new connection; with read, everything the server
    answers until it closes (b"reset" if it reset the connection first)."""
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        c.sendall(data)
        if not read:
            return c
        c.shutdown(socket.SHUT_WR)
    except OSError:
        if not read:
            return c
    out = b""
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            out += b
    except OSError:
        out = out or b"reset"
    finally:
        c.close()
    return out


def status(resp):
    m = re.match(rb"HTTP/1\.0 (\d+)", resp)
    return int(m.group(1)) if m else None


def s_hostile():
    s = Service()
    rnd = random.Random(13)
    cases = [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9\r\n\r\n", b"get /debug/pprof/ HTTP/1.0\r\n\r\n",
             b"GET debug HTTP/1.0\r\n\r\n", b"DELETE /debug/pprof/heap HTTP/1.0\r\n\r\n",
             b"GET /debug/pprof/heap?debug=x HTTP/1.0\r\n\r\n", b"GET /debug/pprof/heap?gc=7 HTTP/1.0\r\n\r\n",
             b"GET /" + b"a" * 5000 + b" HTTP/1.0\r\n\r\n", b"GET /debug/pprof/heap\x00 HTTP/1.0\r\n\r\n",
             b"GET /debug/pprof/heap HTTP/1.0\r\nNoColon\r\n\r\n", b"POST /debug/pprof/symbol HTTP/1.0\r\n\r\n",
             b"POST /debug/pprof/symbol HTTP/1.0\r\nContent-Length: 99999999\r\n\r\n",
             b"POST /debug/pprof/symbol HTTP/1.0\r\nContent-Length: -1\r\n\r\n",
             b"GET /nope HTTP/1.0\r\n\r\n", b"GET /debug/pprof/heap\xff HTTP/1.0\r\n\r\n",
             b"GET /debug/reachcheck/why?addr=0xZZ HTTP/1.0\r\n\r\n", b"GET /debug/reachcheck/why?site= HTTP/1.0\r\n\r\n"]
    for i in range(120):   # fuzzed request lines and headers
        n = rnd.randrange(1, 300)
        junk = bytes(rnd.randrange(256) for _ in range(n))
        kind = i % 3
        if kind == 0:
            cases.append(junk + b"\r\n\r\n")
        elif kind == 1:
            cases.append(b"GET /debug/pprof/" + junk.replace(b" ", b"") + b" HTTP/1.1\r\n\r\n")
        else:
            cases.append(b"GET /debug/pprof/heap?debug=1 HTTP/1.1\r\nX: " + junk.replace(b"\n", b"") + b"\r\n\r\n")
    bad = 0
    for data in cases:
        r = raw(s.port, data)
        st = status(r)
        if st is None or not (200 <= st < 500) or st == 500:
            bad += 1
            print("unexpected answer", data[:60], r[:100])
    check(bad == 0, "%d malformed or fuzzed requests: each a 2xx/4xx, connection closed" % len(cases))
    r = raw(s.port, b"GET /debug/pprof/heap HTTP/1.0\r\nX: " + b"a" * (1 << 20) + b"\r\n\r\n")
    check(status(r) == 431 or r == b"reset", "1 MB header: 431 (or reset once answered) " + repr(r[:40]))
    # half-open connections: partial heads held open, and hundreds of connections at once
    t0 = time.time()
    held = [raw(s.port, b"GET /debug/pprof/heap HTTP/1.0\r\nX-Slow: 1\r\n", read=False) for _ in range(40)]
    many = []
    for _ in range(300):
        try:
            many.append(socket.create_connection(("127.0.0.1", s.port), timeout=5))
        except OSError:
            break
    check(len(many) >= 200, "hundreds of connections accepted or queued (%d)" % len(many))
    for c in many:
        c.close()
    answers = [c.recv(4096) for c in held[:5]]
    check(all(status(a) in (408, 503) for a in answers), "half-open connections get a 408 or 503: %s" % [a[:12] for a in answers])
    check(time.time() - t0 < 30, "within bounded time (%.1f s)" % (time.time() - t0))
    for c in held:
        c.close()
    ok = False
    for _ in range(40):
        code, txt = curl(s.url + "/debug/pprof/heap?debug=1")
        if code == "200":
            ok = True
            break
        time.sleep(0.3)
    check(ok and "keep_blocks" in txt, "the endpoint answers afterwards")
    # a client that never reads a big answer: the server moves on
    c = raw(s.port, b"GET /debug/pprof/threads?debug=1 HTTP/1.0\r\n\r\n", read=False)
    code, _ = curl(s.url + "/debug/pprof/heap?debug=1")
    check(code == "200", "served while another client does not read")
    c.close()
    check(s.cmd("grow 1") == "ok", "the program keeps running")
    check(s.quit() == 0, "the program exits normally")
    err = "".join(s.err)
    summary = [l for l in err.splitlines() if "SUMMARY:" in l]
    same = "SUMMARY: reachcheck: 10 direct (640 bytes)" in err
    check(same, "its exit report is unchanged: 10 direct leaks of 640 bytes (%s)" % (summary[-1] if summary else "no summary"))
    if not same:
        print(err[-4000:])
    # a program that closes every descriptor (the endpoint's too) keeps running, and nothing spins
    s = Service()
    check(s.cmd("closefds") == "ok", "the program closed descriptors 3-1023")

    def cpu():
        with open("/proc/%d/stat" % s.p.pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    c0 = cpu()
    time.sleep(2)
    check(cpu() - c0 < 0.5, "the endpoint does not spin on closed descriptors (%.2f s CPU in 2 s)" % (cpu() - c0))
    c = socket.socket()
    check(c.connect_ex(("127.0.0.1", s.port)) != 0, "nothing listens any more")
    c.close()
    check(s.cmd("grow 1") == "ok" and s.quit() == 0, "the program runs on and exits normally")


# ---------------------------------------------------------------- the example
def s_example():
    """examples/pprof_service.c: README's walkthrough, checked."""
    p = subprocess.Popen([A.launcher, "--http=127.0.0.1:0", "--exitcode=0", "--", A.example, "--reloads=40"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    line = p.stderr.readline()
    url = re.search(r"serving (http://[0-9.:]+)/", line).group(1)
    time.sleep(0.3)
    h1, h2 = os.path.join(TMP, "svc1.pb.gz"), os.path.join(TMP, "svc2.pb.gz")
    curl(url + "/debug/pprof/heap", h1)
    time.sleep(1.5)
    curl(url + "/debug/pprof/heap?gc=1", h2)
    r = run(["go", "tool", "pprof", "-top", "-base=" + h1, h2])
    rows = [l.split()[-1] for l in r.stdout.splitlines() if re.match(r"\s+-?\d", l)]
    check(rows and rows[0] == "load_config", "example: -base names load_config first: %s" % rows[:3])
    r = run(["go", "tool", "pprof", "-list", "load_config", "-base=" + h1, h2])
    check(re.search(r"\d+:\s+struct config \*c = calloc", r.stdout) is not None, "example: -list shows the calloc line")
    code, txt = curl(url + "/debug/pprof/threads?debug=1")
    check('"reloader"' in txt and "reload_loop" in txt, "example: the reloader thread holding the configs")
    code, out, rws = gotop(h2, "-tagfocus=root=global retired")
    check(flat(rws, "load_config") > 0, "example: the root label names the retired list (%s)" % (rws.get("load_config"),))
    check(re.search(r'"reloader"\n(.*\n)*?.* in retire .*\n.* in reload_loop', txt) is not None or
          re.search(r'"reloader"\n(.*\n)*?.* in reload_loop', txt) is not None, "example: the reloader thread in reload_loop")
    code, out, rws = gotop(h2, "-sample_index=leaked_space")
    check(flat(rws, "load_config") > 0 and flat(rws, "copy_value") > 0, "example: the dropped half-built configs are leaked")
    p.terminate()
    p.wait(timeout=30)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--launcher", required=True)
    ap.add_argument("--runtime")
    ap.add_argument("--prog", required=True)
    ap.add_argument("--example")
    ap.add_argument("--inlined")
    A = ap.parse_args()
    globals()["s_" + A.scenario]()
    print("%d passed, %d failed" % (0 if FAILS else 1, len(FAILS)))
    sys.exit(1 if FAILS else 0)
