#!/usr/bin/env python3
"""Issue 14 part A tests: memory over time (peak, temporary allocations,
timeline) with exact values from tests/overtime/shape.c:

  phase 1 temp_work:  1000 blocks of 100-149 B, each freed at once (1000 temporary)
  phase 2 big_alloc:  10 x 1 MiB (the peak), freed newest first (1 temporary)
  phase 3 hold_alloc: 1 MiB kept until exit; one leaked block of 77 B

scenarios:
  shape      the JSON report: peak bytes and its top stack, the peak's time
             between the phase-2 marks, temporaries per stack, the timeline
  heaptrack  the same program under Debian's heaptrack: heaptrack_print's
             calls, temporary allocations and peak (its massif output) equal
             reachcheck's
  snapshot   snapshots after phase 1 and phase 3 carry the peak and the
             temporaries so far; reachcheck diff of the two compares them
  graph      reachcheck graph --html of a snapshot in headless chromium: the
             timeline has one area per series, the peak marked, no console
             errors; a hand-written "growth" entry highlights its series/root
  pprof      --pprof: go tool pprof lists temp_objects, peak_objects and
             peak_space with exact values per function
  threads    two threads, 5 MiB each at once: the peak is 10 MiB of big_alloc,
             500 temporaries counted per thread
  ranks      256 stacks with 1..256 calls of 1..256 bytes each, all kept: the
             report's 20 alloc sites, the peak's 10 and the timeline's 6
             series are the first by calls and bytes, in order; and again
             under RC_UNWIND_VERIFY=1 (every id a kept stack gives checked)
  consumer   a thread that only frees hands its delta on all the same:
             no sum finds no new peak, and the peak is the producer's
  parked     idle threads' frees not handed on make the total read high near
             the peak: the sums that find no new peak stay at most one a
             point, and the next real peak is found exactly
  long       a sawtooth for 6 s: thousands of points taken, at most
             max_points kept, the recorder's memory as docs/over-time.md says

usage: run_overtime.py SCENARIO --launcher R --prog SHAPE"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile

A = None
TMP = tempfile.mkdtemp(prefix="rcot-")
ENV = dict(os.environ, HOME=TMP)
ENV.pop("REACHCHECK_OPTIONS", None)
FAILS = []
MIB = 1 << 20


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        FAILS.append(what)


def run(cmd, timeout=90):
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout, cwd=TMP)


def report(*args):
    path = os.path.join(TMP, "r.json")
    r = run([A.launcher, "--json=" + path, "--"] + [A.prog] + list(args))
    check(r.returncode == 23, "the leaked block is reported (exit 23, got %d): %s" % (r.returncode, r.stderr[-300:]))
    with open(path) as f:
        return json.load(f), r.stderr


def fn(stack):
    return stack[0].get("function", "?") if stack else "?"


def site(d, name):
    s = [x for x in d["alloc_sites"] if fn(x["stack"]) == name]
    return s[0] if s else None


def marks(stderr):
    return {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"^t(\d) ([0-9.]+)$", stderr, re.M)}


def shape():
    d, err = report()
    t = marks(err)
    check(sorted(t) == [1, 2, 3, 4, 5], "phase marks %s" % t)
    pk = d["peak"]
    check(pk["sites"] and fn(pk["sites"][0]["stack"]) == "big_alloc", "the peak's top stack is big_alloc")
    top = pk["sites"][0]
    check(top["bytes"] == 10 * MIB and top["blocks"] == 10, "big_alloc at the peak: %d B in %d blocks" % (top["bytes"], top["blocks"]))
    others = sum(s["bytes"] for s in pk["sites"][1:])
    check(pk["bytes"] == 10 * MIB + others, "peak bytes %d = 10 MiB + the other stacks' %d" % (pk["bytes"], others))
    check(others < 128 << 10, "nothing of the program's own besides big_alloc at the peak (%d B: libstdc++'s pool)" % others)
    check(not any(fn(s["stack"]) in ("temp_work", "hold_alloc") for s in pk["sites"]), "no temp_work or hold_alloc at the peak")
    at = d["timeline"]["start_ms"] + pk["time_ms"]
    check(t[2] <= at <= t[3], "the peak's time %.3f lies in phase 2 [%.3f, %.3f]" % (at, t[2], t[3]))
    tw, ba, ha = site(d, "temp_work"), site(d, "big_alloc"), site(d, "hold_alloc")
    check(tw and tw["calls"] == 1000 and tw["frees"] == 1000 and tw["temporary"] == 1000 and tw["peak_bytes"] == 0,
          "temp_work: 1000 calls, 1000 frees, 1000 temporary, 0 at the peak: %s" % tw)
    check(ba and ba["calls"] == 10 and ba["bytes"] == 10 * MIB and ba["temporary"] == 1 and ba["live_bytes"] == 0,
          "big_alloc: 10 calls of 10 MiB, 1 temporary (the newest, freed first), none live: %s" % ba)
    check(ha and ha["calls"] == 1 and ha["live_bytes"] == MIB and ha["temporary"] == 0 and ha["peak_bytes"] == 0,
          "hold_alloc: 1 MiB live at exit, not at the peak: %s" % ha)
    al = d["allocations"]
    check(al["temporary"] == 1001, "1001 temporary allocations in all (%d)" % al["temporary"])
    check(al["calls"] - al["frees"] == al["live_blocks"], "live blocks = calls - frees")
    tl = d["timeline"]
    n = tl["points"]
    check(n >= 3 and len(tl["t_ms"]) == n == len(tl["bytes"]) == len(tl["blocks"]), "%d timeline points" % n)
    check(all(a <= b for a, b in zip(tl["t_ms"], tl["t_ms"][1:])), "timeline times ascend")
    check(max(tl["bytes"]) <= pk["bytes"], "no point above the peak (%d <= %d)" % (max(tl["bytes"]), pk["bytes"]))
    check(tl["bytes"][-1] == al["live_bytes"], "the last point is the heap at exit (%d = %d)" % (tl["bytes"][-1], al["live_bytes"]))
    names = [fn(s["stack"]) for s in tl["sites"]]
    check("big_alloc" in names and "hold_alloc" in names, "series for big_alloc and hold_alloc: %s" % names)
    big = tl["sites"][names.index("big_alloc")]["bytes"]
    check(max(big) == 10 * MIB and big[-1] == 0, "big_alloc's series reaches 10 MiB and ends at 0")


SCALE = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}


def heaptrack_numbers(prog):
    out = os.path.join(TMP, "ht")
    r = run(["heaptrack", "-o", out, prog])
    check(r.returncode == 0, "heaptrack ran: %s" % r.stderr[-300:])
    data = [f for f in os.listdir(TMP) if f.startswith("ht.")][0]
    p = run(["heaptrack_print", os.path.join(TMP, data)])
    calls = int(re.search(r"^calls to allocation functions: (\d+)", p.stdout, re.M).group(1))
    temps = int(re.search(r"^temporary memory allocations: (\d+)", p.stdout, re.M).group(1))
    # "peak heap memory consumption: 10.56M": decimal units, two decimals
    m = re.search(r"^peak heap memory consumption: ([0-9.]+)([KMG]?)", p.stdout, re.M)
    unit = SCALE[m.group(2)]
    decimals = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
    return calls, temps, (float(m.group(1)) * unit, unit / 10 ** decimals / 2)


def heaptrack():
    if not shutil.which("heaptrack") or not shutil.which("heaptrack_print"):
        print("heaptrack is not installed (Debian: heaptrack)")
        sys.exit(77)
    calls, temps, (peak, half) = heaptrack_numbers(A.prog)
    d, _ = report()
    al = d["allocations"]
    print("heaptrack: calls %d, temporary %d, peak %.0f (+-%.0f as printed); reachcheck: calls %d, temporary %d, peak %d"
          % (calls, temps, peak, half, al["calls"], al["temporary"], d["peak"]["bytes"]))
    check(al["calls"] == calls, "allocation calls agree with heaptrack's")
    check(al["temporary"] == temps, "temporary allocations agree with heaptrack's")
    check(abs(d["peak"]["bytes"] - peak) <= half, "peak bytes agree with heaptrack's to the digits it prints")


# docs/over-time.md: the points (RC_TL_POINTS x 120 B), and 56 B per stack
# id (one sum of the counters and the peak's bytes and blocks) for a table
# rounded up to a power of two, at least 1024 entries.
POINTS_BYTES = 1024 * 120


def long_run():
    d, _ = report("long", "6000")
    tl = d["timeline"]
    print("samples %d, points %d, interval %.3f ms, memory %d B, last t %.1f ms"
          % (tl["samples"], tl["points"], tl["interval_ms"], tl["memory_bytes"], tl["t_ms"][-1]))
    check(tl["samples"] > tl["max_points"], "more points taken than are kept (%d)" % tl["samples"])
    check(tl["points"] <= tl["max_points"] == 1024, "at most 1024 kept (%d)" % tl["points"])
    check(tl["interval_ms"] >= 2, "the interval grew as points were merged (%.3f ms)" % tl["interval_ms"])
    check(tl["memory_bytes"] == POINTS_BYTES + 32 * 1024, "the recorder holds %d B (documented: %d)"
          % (tl["memory_bytes"], POINTS_BYTES + 32 * 1024))
    check(tl["t_ms"][-1] >= 5900 and tl["t_ms"][0] < 100, "the kept points span the run")
    saw = site(d, "saw_alloc")
    check(saw and saw["temporary"] * 64 == saw["calls"] and saw["peak_blocks"] == 64 and saw["peak_bytes"] == 64 * 1024,
          "saw_alloc: one temporary a round (the newest block, freed last: no allocation came between),"
          " 64 blocks of 1 KiB at the peak: %s" % saw)


def snapshot():
    d, _ = report("snap", TMP)
    snaps = []
    for n in (1, 2):
        with open(os.path.join(TMP, "%d.snap.json" % n)) as f:
            snaps.append(json.load(f))
    s1, s2 = snaps
    check(s1["allocations"]["temporary"] == 1000 and s2["allocations"]["temporary"] == 1001,
          "temporaries in the snapshots: 1000 then 1001 (%d, %d)" % (s1["allocations"]["temporary"], s2["allocations"]["temporary"]))
    check(s1["peak"]["bytes"] < MIB and s2["peak"]["bytes"] == d["peak"]["bytes"],
          "peak: below 1 MiB after phase 1 (%d), the final peak after phase 3 (%d)" % (s1["peak"]["bytes"], s2["peak"]["bytes"]))
    check(s2["timeline"]["points"] >= 3 and s2["timeline"]["bytes"][-1] == s2["allocations"]["live_bytes"],
          "the second snapshot's timeline ends at its moment")
    r = run([A.launcher, "diff", os.path.join(TMP, "1.snap.json"), os.path.join(TMP, "2.snap.json")])
    print(r.stdout[-1500:])
    want = "peak %d -> %d bytes (%+d)" % (s1["peak"]["bytes"], s2["peak"]["bytes"], s2["peak"]["bytes"] - s1["peak"]["bytes"])
    check(r.returncode == 0 and want in r.stdout, "diff text: '%s'" % want)
    check("temporary allocations 1000 -> 1001 (+1)" in r.stdout, "diff text: temporaries 1000 -> 1001")
    check(re.search(r"big_alloc shape\.c:\d+: temporary 0 -> 1 \(\+1\), at the peak 0 -> 10485760 bytes", r.stdout),
          "diff text: big_alloc's temporary and peak bytes")
    r = run([A.launcher, "diff", "--json", os.path.join(TMP, "1.snap.json"), os.path.join(TMP, "2.snap.json")])
    ot = json.loads(r.stdout)["over_time"]
    check(ot["temporary"] == {"old": 1000, "new": 1001, "delta": 1}, "diff JSON: temporary %s" % ot["temporary"])
    check(ot["peak_bytes"]["new"] == s2["peak"]["bytes"], "diff JSON: peak_bytes %s" % ot["peak_bytes"])


def pprof():
    if not shutil.which("go"):
        print("go is not installed (Debian: golang-go)")
        sys.exit(77)
    out = os.path.join(TMP, "p.pb.gz")
    path = os.path.join(TMP, "r.json")
    r = run([A.launcher, "--json=" + path, "--pprof=" + out, "--", A.prog])
    with open(path) as f:
        d = json.load(f)
    raw = run(["go", "tool", "pprof", "-raw", out], timeout=180)
    types = re.search(r"^Samples:\n(.*)$", raw.stdout, re.M)
    print(types.group(1) if types else raw.stdout[:500] + raw.stderr[:500])
    for t in ("temp_objects/count", "peak_objects/count", "peak_space/bytes"):
        check(types and t in types.group(1), "sample type %s listed" % t)
    for idx, fn_, want in (("temp_objects", "temp_work", 1000), ("temp_objects", "big_alloc", 1),
                           ("peak_space", "big_alloc", 10 * MIB), ("peak_objects", "big_alloc", 10),
                           ("peak_space", "hold_alloc", 0), ("peak_space", "temp_work", 0)):
        t = run(["go", "tool", "pprof", "-top", "-nodefraction=0", "-unit=B", "-sample_index=" + idx, out], timeout=180)
        row = [l.split() for l in t.stdout.splitlines() if l.split()[-1:] == [fn_]]
        got = row[0][0] if row else "0"
        val = float(re.match(r"[0-9.]+", got).group(0)) * {"B": 1, "kB": 1024, "MB": MIB}.get(re.sub(r"[0-9.]", "", got), 1) if got != "0" else 0
        check(val == want, "%s of %s: %s (want %d)" % (idx, fn_, got, want))
    tot = run(["go", "tool", "pprof", "-top", "-sample_index=peak_space", "-unit=B", out], timeout=180)
    m = re.search(r"of ([0-9]+)B total", tot.stdout)
    check(m and int(m.group(1)) == d["peak"]["bytes"], "peak_space in all = the report's peak (%s, %d)" % (m and m.group(1), d["peak"]["bytes"]))


def chromium_dom(html):
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chrome:
        print("chromium is not installed (Debian: chromium)")
        sys.exit(77)
    prof = tempfile.mkdtemp(prefix="chrome-", dir=TMP)
    argv = [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--user-data-dir=" + prof, "--enable-logging=stderr", "--v=0", "--window-size=1400,900",
            "--dump-dom", "file://" + os.path.abspath(html)]
    r = run(argv, timeout=90)
    console = [l for l in r.stderr.splitlines() if ":CONSOLE" in l]
    return r.returncode, r.stdout, console


def graph():
    """The timeline next to the treemap, from a snapshot, and from the same
    snapshot with a hand-written "growth" entry (the --watch format) naming
    g_hold and hold_alloc's stack: its series and its root are highlighted."""
    report("snap", TMP)
    snap = os.path.join(TMP, "2.snap.json")
    with open(snap) as f:
        s2 = json.load(f)
    hold = [x for x in s2["timeline"]["sites"] if x["stack"] and "hold_alloc" in json.dumps(x["stack"][0])]
    check(len(hold) == 1, "the snapshot's timeline has a series for hold_alloc")
    grown = dict(s2, growth=[{"root": "global g_hold (%s)" % os.path.basename(A.prog), "site": hold[0]["stack"] if hold else [],
                             "bytes_per_sec": 2400, "blocks_per_sec": 10, "bytes_per_snapshot": 2400, "samples": 8}])
    gpath = os.path.join(TMP, "grown.snap.json")
    with open(gpath, "w") as f:
        json.dump(grown, f)
    for src, growing in ((snap, 0), (gpath, 1)):
        html = src + ".html"
        r = run([A.launcher, "graph", src, "--html", "-o", html])
        check(r.returncode == 0 and not r.stderr, "graph --html %s: %d %s" % (os.path.basename(src), r.returncode, r.stderr[:300]))
        page = open(html).read()
        check(not re.search(r"(src|href)\s*=|url\(|@import|https?://", page), "the page refers to nothing external")
        rc, dom, console = chromium_dom(html)
        body = re.search(r"<body[^>]*>", dom)
        body = body.group(0) if body else ""
        print(os.path.basename(html), body)
        m = re.search(r'data-series="(\d+)"', body)
        want = len(s2["timeline"]["sites"])
        check(rc == 0 and m and int(m.group(1)) == want, "%s: %s series drawn (want %d)" % (os.path.basename(html), m and m.group(1), want))
        check('data-rendered="' in body and "data-error" not in body, "%s: the treemap rendered, no page error" % os.path.basename(html))
        check('data-peak="%d"' % s2["peak"]["bytes"] in body, "%s: the peak is marked (%d)" % (os.path.basename(html), s2["peak"]["bytes"]))
        check(dom.count('class="series growing"') == growing, "%s: %d growing series" % (os.path.basename(html), growing))
        check(('<tr class="growing">' in dom) == bool(growing), "%s: the growing root's row is highlighted: %s" % (os.path.basename(html), bool(growing)))
        check(not console, "%s: no console messages %s" % (os.path.basename(html), console[:3]))


def threads():
    d, _ = report("threads")
    pk = d["peak"]
    top = pk["sites"][0] if pk["sites"] else {"stack": []}
    check(fn(top["stack"]) == "big_alloc" and top["bytes"] == 10 * MIB and top["blocks"] == 10,
          "the peak holds both threads' big_alloc blocks: %s B in %s blocks" % (top.get("bytes"), top.get("blocks")))
    check(pk["bytes"] == sum(s["bytes"] for s in pk["sites"]), "peak bytes = the sum of its stacks (%d)" % pk["bytes"])
    tw, ba = site(d, "temp_work"), site(d, "big_alloc")
    check(tw and tw["calls"] == 1000 and tw["temporary"] == 1000, "temp_work: 1000 temporaries from two threads: %s" % (tw and tw["temporary"]))
    check(ba and ba["calls"] == 10 and ba["live_bytes"] == 0 and ba["peak_bytes"] == 10 * MIB, "big_alloc: 10 calls, none live, 10 MiB at the peak")


def parked():
    d, err = report("parked")
    m = re.search(r"^fill (\d+)$", err, re.M)
    check(m is not None, "the program ran to its end")
    fill = int(m.group(1)) * 4096 if m else -1
    tl, pk = d["timeline"], d["peak"]
    print("samples %d, peak sums %d (stale %d)" % (tl["samples"], tl["peak_sums"], tl["peak_sums_stale"]))
    check(tl["peak_sums_stale"] >= 1, "the idle threads' frees made the total read high: a sum found no new peak (%d)"
          % tl["peak_sums_stale"])
    check(tl["peak_sums_stale"] <= tl["samples"] + 5, "at most one such sum a point, not one a flush "
          "(40000 flushes read the total high): %d stale, %d points" % (tl["peak_sums_stale"], tl["samples"]))
    by = {fn(s["stack"]): s for s in pk["sites"]}
    check("top_alloc" in by and by["top_alloc"]["bytes"] == MIB, "the new peak after the stale sums has top_alloc's 1 MiB")
    check("fill_alloc" in by and by["fill_alloc"]["bytes"] == fill, "and fill_alloc's %d B: %s" % (fill, by.get("fill_alloc")))
    check(not any(k in by for k in ("peak_alloc", "park_alloc", "churn_alloc")), "and nothing freed before it: %s" % sorted(by))
    check(pk["bytes"] == sum(s["bytes"] for s in pk["sites"]), "peak bytes = the sum of its stacks (%d)" % pk["bytes"])


def consumer():
    d, _ = report("consumer")
    tl, pk = d["timeline"], d["peak"]
    print("samples %d, peak sums %d (stale %d)" % (tl["samples"], tl["peak_sums"], tl["peak_sums_stale"]))
    check(tl["peak_sums_stale"] == 0, "the consumer's frees were handed on: no sum found no new peak (%d stale)"
          % tl["peak_sums_stale"])
    by = {fn(s["stack"]): s for s in pk["sites"]}
    check("produce_alloc" in by and by["produce_alloc"]["bytes"] == 64 * MIB and by["produce_alloc"]["blocks"] == 64,
          "the peak holds produce_alloc's 64 MiB in 64 blocks: %s" % by.get("produce_alloc"))
    check("after_alloc" not in by, "and none of after_alloc's: %s" % sorted(by))
    aa = site(d, "after_alloc")
    check(aa and aa["calls"] == 48 and aa["live_bytes"] == 0 and aa["peak_bytes"] == 0,
          "after_alloc: 48 calls, none live, none at the peak: %s" % aa)


def ranks():
    d, _ = report("ranks")
    sites = d["alloc_sites"]
    check([x["calls"] for x in sites] == list(range(256, 236, -1)),
          "alloc_sites: the 20 stacks with the most calls, in order: %s" % [x["calls"] for x in sites])
    check(all(fn(x["stack"]) == "rank_alloc" and x["bytes"] == x["calls"] ** 2 for x in sites),
          "each is rank_alloc's, with calls^2 bytes")
    check(len({json.dumps(x["stack"]) for x in sites}) == 20, "twenty different stacks")
    # the program's own start-up blocks (libstdc++'s exception pool, 71 KiB)
    # may outrank them: they come first, then rank_alloc's in order
    for what, got, want in (("the peak's 10 stacks", [(fn(x["stack"]), x["bytes"]) for x in d["peak"]["sites"]], 10),
                            ("the timeline's 6 series", [(fn(x["stack"]), max(x["bytes"])) for x in d["timeline"]["sites"]], 6)):
        mine = [b for f, b in got if f == "rank_alloc"]
        others = [b for f, b in got if f != "rank_alloc"]
        check(len(got) == want and len(mine) >= want - 2 and got[len(others):] == [("rank_alloc", b) for b in mine]
              and all(b > 256 * 256 for b in others) and mine == [k * k for k in range(256, 256 - len(mine), -1)],
              "%s by bytes, in order: %s" % (what, got))
    # Under RC_UNWIND_VERIFY=1 every capture is walked as well, and every id
    # a kept whole stack gives is checked against the walk's: here 128 sites
    # share each key (the pc in ra or rb, one rsp) of one set of 4 entries.
    path = os.path.join(TMP, "v.json")
    r = subprocess.run([A.launcher, "--json=" + path, "--", A.prog, "ranks"], capture_output=True, text=True,
                       env=dict(ENV, RC_UNWIND_VERIFY="1"), timeout=90, cwd=TMP)
    hits = re.search(r"whole-stack hits=(\d+)", r.stderr)
    check(r.returncode == 23 and "RC_UNWIND_VERIFY:" not in r.stderr and hits and int(hits.group(1)) > 30000,
          "RC_UNWIND_VERIFY=1: exit 23 (got %d), no mismatch, kept stacks answered (%s)"
          % (r.returncode, hits.group(0) if hits else r.stderr[-300:]))
    if r.returncode == 23:
        with open(path) as f:
            v = json.load(f)
        check([x["calls"] for x in v["alloc_sites"]] == [x["calls"] for x in sites], "the same alloc_sites")


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--launcher", required=True)
    ap.add_argument("--prog", required=True)
    A = ap.parse_args()
    {"shape": shape, "heaptrack": heaptrack, "long": long_run, "snapshot": snapshot, "pprof": pprof, "graph": graph, "threads": threads, "parked": parked,
     "consumer": consumer, "ranks": ranks}[A.scenario]()
    shutil.rmtree(TMP, ignore_errors=True)
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        sys.exit(1)


if __name__ == "__main__":
    main()
