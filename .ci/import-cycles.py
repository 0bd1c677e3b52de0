#!/usr/bin/env python3
"""The import graph of src/ between capability folders and top-level files (issue 16: no cycles).
A node is a top folder (live) or top file (state); edges come from `crate::X` paths in non-test
code (before the first #[cfg(test)]), comments ignored. Prints the graph; exits 1 on a cycle.
Usage: python3 .ci/import-cycles.py [src]"""
import os, re, sys, itertools
root = sys.argv[1] if len(sys.argv) > 1 else 'src'
nodes = {}
for dp, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        p = os.path.join(dp, f); rel = os.path.relpath(p, root)
        top = rel.split(os.sep)[0]
        node = top[:-3] if top.endswith('.rs') else top
        if node in ('main', 'lib'): continue
        src = open(p).read()
        i = src.find('#[cfg(test)]')
        if i >= 0: src = src[:i]
        # comments and doc links are not imports
        src = re.sub(r'//[^\n]*', '', src)
        # expand `use crate::{a, b::c}` groups
        for m in re.finditer(r'crate::\{([^;]*?)\}', src, re.S):
            for part in re.split(r'[,\s]+', m.group(1)):
                t = part.split('::')[0].strip('{} ')
                if t and t != node and t != 'self': nodes.setdefault(node, {}).setdefault(t, set()).add(rel)
        for m in re.finditer(r'crate::([a-z_0-9]+)', src):
            t = m.group(1)
            if t != node: nodes.setdefault(node, {}).setdefault(t, set()).add(rel)
edges = {a: set(b) for a, b in nodes.items()}
# strongly connected components (Tarjan)
idx, low, st, on, sccs, c = {}, {}, [], set(), [], [0]
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(comp)
sys.setrecursionlimit(10000)
allv = set(edges) | {w for s in edges.values() for w in s}
for v in sorted(allv):
    if v not in idx: sc(v)
print('edges (from -> to [files]):')
for a in sorted(nodes):
    for b in sorted(nodes[a]):
        print(f'  {a} -> {b}   ({", ".join(sorted(nodes[a][b]))})')
print('2-cycles:')
for a, b in itertools.combinations(sorted(allv), 2):
    if b in edges.get(a, ()) and a in edges.get(b, ()):
        print(f'  {a} <-> {b}')
print('cycles (strongly connected components with >1 node):')
bad = [sorted(c) for c in sccs if len(c) > 1]
for c in bad: print('  ', ' '.join(c))
if not bad: print('   none')
sys.exit(1 if bad else 0)
