#!/usr/bin/python3
"""The C++ tree's structure: no include cycles between modules (a header and its source
are one module), and ipc/'s folders depend on each other only downwards:

    core  <-  os  <-  transports  <-  run  <-  fixtures  <-  testing

Release code in ipc/ never includes the test-only fault injector (ipc/testing/).

Usage: include_graph_test.py [REPO]   (CTest passes the source directory)
"""
import os
import re
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
LAYERS = ["core", "os", "transports", "run", "fixtures", "testing"]


def modules(root):
    """{module: set(modules it includes)}, module = path without extension."""
    graph = {}
    for top in ["ipc", "bench", "tests"]:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if not f.endswith((".hpp", ".cpp")):
                    continue
                path = os.path.join(dirpath, f)
                module = os.path.splitext(os.path.relpath(path, root))[0]
                with open(path, encoding="utf-8") as fh:
                    deps = {os.path.splitext(i)[0] for i in INCLUDE.findall(fh.read())}
                graph.setdefault(module, set()).update(d for d in deps if d != module)
    return graph


def cycles(graph):
    """Every strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue  # generated or external
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def layer(module):
    parts = module.split("/")
    return LAYERS.index(parts[1]) if parts[0] == "ipc" and len(parts) > 2 else None


def upward_edges(graph):
    return sorted((m, d) for m, deps in graph.items() for d in deps
                  if layer(m) is not None and layer(d) is not None and layer(d) > layer(m))


class IncludeGraphTest(unittest.TestCase):
    def setUp(self):
        self.graph = modules(ROOT)

    def test_finds_the_tree(self):
        self.assertIn("ipc/core/transport", self.graph)
        self.assertIn("ipc/core/transport", self.graph["ipc/transports/pipe"])

    def test_no_include_cycles(self):
        self.assertEqual(cycles(self.graph), [])

    def test_folders_depend_only_downwards(self):
        self.assertEqual(upward_edges(self.graph), [])

    def test_the_checks_can_fail(self):
        graph = {"ipc/core/a": {"ipc/os/b"}, "ipc/os/b": {"ipc/core/a"}}
        self.assertEqual(cycles(graph), [["ipc/core/a", "ipc/os/b"]])
        self.assertEqual(upward_edges(graph), [("ipc/core/a", "ipc/os/b")])


if __name__ == "__main__":
    if len(sys.argv) > 1:
        ROOT = os.path.abspath(sys.argv.pop(1))
    unittest.main()
