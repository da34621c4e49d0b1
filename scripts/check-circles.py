#!/usr/bin/env python3
"""Fails when the library's source files call each other in a circle.

    scripts/check-circles.py OBJDIR

Reads the symbols each object in OBJDIR defines and needs (`nm`), draws an edge from a file to
every file whose function it calls, and prints each group of files that reach one another
(a strongly connected component). One group is allowed: the ledger's factory, where ledger.c
opens a backend and the backends fill the records ledger.c, runs.c and alias_moves.c hand out.
Any other circle means a layer calls back up: move the function down to the layer both use.
"""
import os
import subprocess
import sys

ALLOWED = {"ledger", "ledger_pg", "ledger_sqlite", "ledger_sqlite_handle", "runs", "alias_moves"}


def graph(objdir):
    defs, needs = {}, {}
    objs = sorted(f for f in os.listdir(objdir) if f.endswith(".o"))
    for f in objs:
        mod = f[:-2]
        out = subprocess.run(["nm", os.path.join(objdir, f)], check=True, capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            p = line.split()
            if len(p) == 3 and p[1] in "TDBR":
                defs[p[2]] = mod
            elif len(p) == 2 and p[0] == "U":
                needs.setdefault(mod, set()).add(p[1])
    mods = [f[:-2] for f in objs]
    return mods, {m: {defs[s] for s in needs.get(m, ()) if defs.get(s, m) != m} for m in mods}


def circles(mods, edges):
    """Tarjan's strongly connected components, iteratively; those of two or more files."""
    index, low, stack, on, out = {}, {}, [], set(), []
    for root in mods:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        print("usage: check-circles.py OBJDIR", file=sys.stderr)
        return 2
    mods, edges = graph(sys.argv[1])
    bad = [c for c in circles(mods, edges) if not set(c) <= ALLOWED]
    for c in bad:
        members = set(c)
        print("check-circles: these files call each other in a circle: " + ", ".join(c),
              file=sys.stderr)
        for m in c:
            for w in sorted(edges[m] & members):
                print(f"  {m}.c -> {w}.c", file=sys.stderr)
    if bad:
        return 1
    print(f"check-circles: {len(mods)} files, no call circle but the ledger's factory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
