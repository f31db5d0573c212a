#!/usr/bin/env python3
"""test/package/layers.py — the module graph of lib/ against its layer list.

    layers.py LIBPGORM_INTERNAL_A [--print]

Derives which module calls which from the object files' defined and undefined symbols (nm),
then fails on any cycle and on any call from a lower layer to a higher one. The layer list
below is the one docs/DESIGN.md draws; a module named in no layer fails too, so a new module
must be placed. Calls within one layer are allowed when they form no cycle.
"""
import subprocess
import sys

# Top first. Each entry is one layer: the modules on it.
LAYERS = [
    ["async_uv", "async_epoll"],    # event-loop adapters
    ["async"],                      # non-blocking operations: the blocking calls on a fiber
    ["testing", "router"],          # test support for users' tests; sessions routed to primary/replica pools
    ["session"],                    # session API: orchestration only
    ["query"],                      # query building, autoflush, streaming
    ["flush"],                      # cascades, plan, statements
    ["loader"],                     # rows into objects, relationship loaders
    ["relationship"],               # both sides in sync, queued changes, save-update cascade
    ["state"],                      # session state: connection, transaction, errors, one pipeline helper
    ["identity_map"],               # (model, key) -> object
    ["object"],                     # fields, links, snapshots, NULL/assigned bits, key arrays
    ["migrate"],                    # migration SQL: create_all in a scratch schema, catalogs compared
    ["ddl", "registry"],            # models: DDL and schema check; validated registry
    ["pool"],                       # thread-safe pool of exec connections
    ["exec", "result", "stmt_cache"],  # one libpq connection
    ["sql", "codec"],               # identifier quoting, statement building; binary codecs
    ["error", "alloc", "arena", "hash", "version", "wait"],  # wait: poll / condition, or yield to a loop
]


def module_of(member):
    name = member.rsplit("/", 1)[-1]
    for suffix in (".c.o", ".o"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name[4:] if name.startswith("lib_") else name


def symbols(archive):
    out = subprocess.run(["nm", "-A", archive], check=True, capture_output=True, text=True).stdout
    defined, used = {}, {}
    for line in out.splitlines():
        head, _, rest = line.rpartition(":")
        parts = rest.split()
        if len(parts) < 2:
            continue
        mod = module_of(head.split(":")[-1] if ":" in head else head)
        kind, sym = parts[-2], parts[-1]
        if kind == "U":
            used.setdefault(mod, set()).add(sym)
        elif kind in "TDBRVW":
            defined[sym] = mod
    return defined, used


def main():
    archive = sys.argv[1]
    defined, used = symbols(archive)
    modules = set(defined.values()) | set(used)
    layer = {}
    for i, mods in enumerate(LAYERS):
        for m in mods:
            layer[m] = i
    edges = {}
    for mod, syms in used.items():
        for s in syms:
            to = defined.get(s)
            if to and to != mod:
                edges.setdefault(mod, set()).add((to, s))
    errors = []
    for m in sorted(modules):
        if m not in layer:
            errors.append(f"module {m} is in no layer: place it in LAYERS (and docs/DESIGN.md)")
    for m, outs in sorted(edges.items()):
        for to, s in sorted(outs):
            if m in layer and to in layer and layer[to] < layer[m]:
                errors.append(f"upward call: {m} (layer {layer[m]}) -> {to} (layer {layer[to]}) via {s}")
    # cycles, with any-direction edges
    graph = {m: {to for to, _ in outs} for m, outs in edges.items()}
    state = {}
    stack = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for to in sorted(graph.get(m, ())):
            if state.get(to) == 1:
                errors.append("cycle: " + " -> ".join(stack[stack.index(to):] + [to]))
            elif to not in state:
                visit(to)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    if "--print" in sys.argv:
        for m, outs in sorted(edges.items()):
            print(m, "->", ", ".join(sorted({to for to, _ in outs})))
    for e in errors:
        print("layers:", e)
    print(f"layers: {len(modules)} modules, {sum(len(v) for v in graph.values())} module edges, "
          f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
