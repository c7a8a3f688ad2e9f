#!/usr/bin/env python3
"""Dependency check over the built objects: no cycle between files or folders,
and every folder calls only into the layers below it.

Reads the symbols of each object file with `nm` (defined and undefined), so a
call made through a header's inline function or a macro counts where it lands
in the object, not where the source spells it. An edge A -> B means an object
of A uses a symbol that B defines. The interposed libc names (malloc, free,
pthread_create, ...) are the program's interface, not internal calls: the
symbolizer's malloc goes to "the C library" even though the runtime is what
answers it, so symbols that libc also exports are not edges.

usage: layers.py BUILD_DIR SOURCE_DIR
"""
import collections
import os
import subprocess
import sys

# Folder -> rank. A folder may use its own files and any folder of lower rank.
# The runtime (libreachcheck.so) and the command-line tools are separate
# products; base is the one folder both are built on.
LAYERS = {
    "core/base": 0,
    "core/stack": 1,
    "core/heap": 2,
    "symbols": 3,
    "scanners": 3,
    "core/check": 4,
    "core/report": 5,
    "core/retain": 6,
    "core/profile": 7,
    "core/runtime": 8,
    "tools": 8,
}
# The tools never link the runtime's layers (they read files, not a heap).
TOOLS_MAY_USE = {"tools", "core/base", "symbols/offline"}


def folder_of(rel):
    for f in sorted(LAYERS, key=len, reverse=True):
        if rel.startswith(f + "/"):
            return f
    return None


def nm(path, *flags):
    out = subprocess.run(["nm", "-P", *flags, path], capture_output=True, text=True, check=True).stdout
    return [line.split()[0:2] for line in out.splitlines() if line.strip()]


def libc_names():
    names = set()
    for lib in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libm.so.6"):
        if os.path.exists(lib):
            for name, kind in nm(lib, "-D", "--defined-only"):
                names.add(name.split("@")[0])
    return names


def objects(build):
    """(source path relative to the tree, object path) of the runtime and tool targets."""
    res = []
    for target in ("CMakeFiles/reachcheck_rt.dir", "CMakeFiles/reachcheck_base.dir",
                   "tools/CMakeFiles/reachcheck.dir"):
        root = os.path.join(build, target)
        for d, _, files in os.walk(root):
            for f in files:
                if f.endswith((".c.o", ".cc.o", ".cpp.o")):
                    rel = os.path.relpath(os.path.join(d, f), root)[: -len(".o")]
                    if target.startswith("tools/"):
                        rel = "tools/" + rel
                    if "/" not in rel:   # generated in the build tree (the version)
                        rel = "core/base/" + rel
                    res.append((rel, os.path.join(d, f)))
    return res


def sccs(nodes, edges):
    """Tarjan's strongly connected components (iterative)."""
    index, low, onstack, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        onstack.add(start)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    onstack.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, ())))))
                elif nxt in onstack:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: layers.py BUILD_DIR SOURCE_DIR")
    build, src = sys.argv[1], sys.argv[2]
    objs = objects(build)
    if not objs:
        sys.exit(f"layers.py: no object files under {build}/CMakeFiles: build first")
    libc = libc_names()
    defined = {}                      # symbol -> file
    uses = collections.defaultdict(set)
    for rel, path in objs:
        for name, kind in nm(path, "--defined-only"):
            if kind in "TtDdBbRrVvWw" and kind.isupper() or kind in "VW":
                defined.setdefault(name, set()).add(rel)
        for name, kind in nm(path, "-u"):
            uses[rel].add(name)
    problems = []
    edges = collections.defaultdict(set)
    why = {}
    for rel, names in uses.items():
        for name in names:
            if name in libc:
                continue
            for target in defined.get(name, ()):
                if target == rel:
                    continue
                # The tools and the runtime are separate binaries: a name both
                # define (each its own copy of base) is not a dependency.
                edges[rel].add(target)
                why.setdefault((rel, target), set()).add(name)
    files = sorted({rel for rel, _ in objs})
    for rel in files:
        if folder_of(rel) is None:
            problems.append(f"{rel}: not in a known layer folder (tests/lint/layers.py LAYERS)")
    for comp in sccs(files, edges):
        ties = []
        for a in comp:
            for b in comp:
                if (a, b) in why:
                    ties.append(f"{a} -> {b} ({', '.join(sorted(why[(a, b)])[:4])})")
        problems.append("file cycle: " + " | ".join(ties))
    fedges = collections.defaultdict(set)
    for a, bs in edges.items():
        for b in bs:
            fa, fb = folder_of(a), folder_of(b)
            if fa and fb and fa != fb:
                fedges[fa].add(fb)
                if LAYERS[fb] >= LAYERS[fa] and not (fa == "tools" and fb == "core/base"):
                    problems.append(f"upward call: {a} -> {b} ({', '.join(sorted(why[(a, b)])[:4])}):"
                                    f" {fa} (layer {LAYERS[fa]}) may not use {fb} (layer {LAYERS[fb]})")
    for comp in sccs(sorted(fedges), fedges):
        problems.append("folder cycle: " + " <-> ".join(comp))
    if problems:
        for p in problems:
            print(p)
        sys.exit(1)
    print(f"layers: {len(files)} files, {sum(len(v) for v in edges.values())} file edges,"
          f" no cycle, every call points down")


if __name__ == "__main__":
    main()
