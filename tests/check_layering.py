#!/usr/bin/env python3
"""Finds cycles in libnn's structure, three ways:

  1. definitions: object A uses a symbol that object B defines (from `nm`
     over the library's compiled objects), so A depends on B;
  2. includes: a file includes a header of src/ (quoted #include);
  3. folders: src/<folder> depends on another when one of its files includes
     that folder's header or one of its objects uses that folder's symbol.

Each graph must be free of cycles. Prints every cycle found, with the
symbols or includes behind each edge, and exits 1; prints a summary line
and exits 0 when there is none.

usage: check_layering.py SRC_DIR OBJECT_DIR [NM]
  SRC_DIR     libnn's src/ folder
  OBJECT_DIR  where the library's objects are (searched for *.o)
"""
import os
import re
import subprocess
import sys


def strongly_connected(graph):
    """Tarjan's algorithm, iterative; returns the components of more than
    one node, and single nodes with an edge to themselves."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return found


def topological(graph):
    """The nodes of an acyclic graph, each after every node it points to."""
    done, order = set(), []

    def visit(node):
        if node in done:
            return
        done.add(node)
        for nxt in sorted(graph[node]):
            visit(nxt)
        order.append(node)

    for node in sorted(graph):
        visit(node)
    return order


def self_test():
    """The cycle finder must find the cycles of a graph that has them."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "d"}, "e": set()}
    assert strongly_connected(graph) == [["a", "b", "c"], ["d"]], \
        strongly_connected(graph)
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def object_symbols(nm, path):
    defined, used = set(), set()
    out = subprocess.run([nm, "-P", path], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            used.add(name)
        elif kind in "TDBRCVWGS":
            defined.add(name)
    return defined, used


def source_of(obj, obj_dir):
    """The source file an object was compiled from, as a path under the
    source folder: CMake puts the object of <dir>/x.c of a target declared
    in <dir>'s CMakeLists.txt at <dir>/CMakeFiles/<target>.dir/x.c.o (the
    library's at CMakeFiles/nn.dir/src/net/net.c.o), and a binary folder
    may be named <dir>.build."""
    rel = os.path.relpath(obj, obj_dir).replace(os.sep, "/")
    rel = rel[:-2] if rel.endswith(".o") else rel
    parts = rel.split("/")
    if "CMakeFiles" in parts:
        at = parts.index("CMakeFiles")
        prefix = [p[:-len(".build")] if p.endswith(".build") else p
                  for p in parts[:at]]
        parts = prefix + parts[at + 2:]
    if parts and parts[0] == "src":
        parts = parts[1:]
    return "/".join(parts)


def folder(path):
    return path.split("/")[0] if "/" in path else "."


def report(title, cycles, why):
    for cycle in cycles:
        print(f"cycle in {title}: " + " <-> ".join(cycle))
        members = set(cycle)
        for (a, b), reasons in sorted(why.items()):
            if a in members and b in members and a != b:
                shown = ", ".join(sorted(reasons)[:4])
                more = len(reasons) - 4
                print(f"  {a} -> {b}: {shown}" +
                      (f" (+{more} more)" if more > 0 else ""))


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    self_test()
    src_dir, obj_dir = sys.argv[1], sys.argv[2]
    nm = sys.argv[3] if len(sys.argv) == 4 else "nm"

    # 1. definitions
    objects = []
    for base, _, files in os.walk(obj_dir):
        objects += [os.path.join(base, f) for f in files if f.endswith(".o")]
    if not objects:
        print(f"no objects under {obj_dir}", file=sys.stderr)
        return 2
    defines, uses = {}, {}
    for obj in objects:
        name = source_of(obj, obj_dir)  # one source may build several objects
        if not os.path.isfile(os.path.join(src_dir, name)):
            continue  # left in the build tree by a source since moved
        defined, used = object_symbols(nm, obj)
        defines.setdefault(name, set()).update(defined)
        uses.setdefault(name, set()).update(used)
    if not defines:
        print(f"no objects of the sources under {src_dir} in {obj_dir}",
              file=sys.stderr)
        return 2
    owner = {}
    for name, symbols in defines.items():
        for symbol in symbols:
            owner.setdefault(symbol, name)
    def_graph = {name: set() for name in defines}
    def_why = {}
    for name, symbols in uses.items():
        for symbol in symbols:
            target = owner.get(symbol)
            if target and target != name:
                def_graph[name].add(target)
                def_why.setdefault((name, target), set()).add(symbol)

    # 2. includes
    inc_graph, inc_why = {}, {}
    pattern = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    for base, _, files in os.walk(src_dir):
        for f in files:
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(base, f)
            name = os.path.relpath(path, src_dir).replace(os.sep, "/")
            inc_graph.setdefault(name, set())
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            for included in pattern.findall(text):
                # "core/util.h" from src/, or "avx2.h" beside the file
                for candidate in (included,
                                  os.path.join(os.path.dirname(name),
                                               included)):
                    if os.path.isfile(os.path.join(src_dir, candidate)):
                        inc_graph[name].add(candidate)
                        inc_why.setdefault((name, candidate), set()).add(
                            "#include")
                        break

    # 3. folders, from both
    dir_graph, dir_why = {}, {}
    for graph, why in ((def_graph, def_why), (inc_graph, inc_why)):
        for a, targets in graph.items():
            dir_graph.setdefault(folder(a), set())
            for b in targets:
                fa, fb = folder(a), folder(b)
                dir_graph.setdefault(fb, set())
                if fa != fb:
                    dir_graph[fa].add(fb)
                    dir_why.setdefault((fa, fb), set()).add(f"{a} -> {b}")

    failed = False
    for title, graph, why in (("definitions", def_graph, def_why),
                              ("includes", inc_graph, inc_why),
                              ("folders", dir_graph, dir_why)):
        cycles = strongly_connected(graph)
        if cycles:
            failed = True
            report(title, cycles, why)
    if failed:
        return 1
    print(f"no cycles: {len(def_graph)} objects, {len(inc_graph)} source "
          f"files, {len(dir_graph)} folders; each folder after those it "
          f"uses: {', '.join(topological(dir_graph))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
