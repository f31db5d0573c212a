#!/usr/bin/python3
"""bench/report.py — combine the RESULT lines of one benchmark run into bench/RESULTS.md.

  report.py --raw F... --pgorm F... --sa F... [--pool F] [--notes F] [--meta F]
            [--mikro F] [--lat-raw F --lat-pgorm F --lat-sa F [--lat-mikro F] --lat-meta F]

Each program may have run several times (rounds, alternating raw and pgorm); a key's value is
the median of its per-round medians. Writes markdown to stdout. Exits 1 when a workload of
the target table is missing from an input (a failed or skipped run must not look complete).
"""
import argparse
import statistics
import sys
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("--raw", nargs="+", default=[])
ap.add_argument("--pgorm", nargs="+", default=[])
ap.add_argument("--sa", nargs="*", default=[])
ap.add_argument("--pool")
ap.add_argument("--notes")
ap.add_argument("--meta")
# MikroORM (unix socket run) and the latency-bound run (TCP through bench/proxy.c): issue 17
ap.add_argument("--mikro", nargs="*", default=[])
ap.add_argument("--lat-raw", nargs="*", default=[])
ap.add_argument("--lat-pgorm", nargs="*", default=[])
ap.add_argument("--lat-sa", nargs="*", default=[])
ap.add_argument("--lat-mikro", nargs="*", default=[])
ap.add_argument("--lat-meta")
args = ap.parse_args()


def read(paths):
    vals, units, notes, heads = defaultdict(list), {}, {}, []
    for path in paths:
        for line in open(path):
            if line.startswith("# "):
                heads.append(line[2:].strip())
            if not line.startswith("RESULT\t"):
                continue
            _, key, med, _mn, _mx, unit, _n, note = line.rstrip("\n").split("\t")
            vals[key].append(float(med))
            units[key] = unit
            notes[key] = note
    return ({k: statistics.median(v) for k, v in vals.items()}, units, notes,
            {k: len(v) for k, v in vals.items()}, sorted(set(heads)))


RAW, PG, SA = read(args.raw), read(args.pgorm), read(args.sa)
missing = []


def get(src, key):
    if key is None:
        return None
    if key not in src[0]:
        if src is not SA or args.sa:
            missing.append(key)
        return None
    return src[0][key], src[1][key]


def fmt(v):
    if v is None:
        return "—"
    x, unit = v
    if unit == "ms":
        return f"{x:,.1f} ms" if x < 1000 else f"{x / 1000:,.2f} s"
    if unit == "us":
        return f"{x:,.1f} µs"
    if unit == "ns":
        return f"{x:,.0f} ns" if x >= 100 else f"{x:,.1f} ns"
    return f"{x:,.0f} B"


def ratio(a, b):
    if a is None or b is None or b[0] == 0:
        return None
    return a[0] / b[0]


def rfmt(r):
    return "—" if r is None else f"{r:.2f}×"


# (label, raw key(s) — the smallest is the reference, pgorm key, SA key, max pgorm/raw,
#  min SA/pgorm, absolute limit on the pgorm value (same unit), target text)
ROWS = [
    ("SELECT 1 round trip", ["select1"], "select1", "select1", None, None, None, "—"),
    ("get by PK, identity-map miss (1 SELECT)", ["get_pk"], "get_pk", "get_pk", None, None, None, "—"),
    ("get by PK, identity-map hit (no SQL)", [], "get_pk_hit", "get_pk_hit", None, None, 200, "< 200 ns"),
    ("load 100k rows into objects", ["load_100k"], "load_100k", "load_100k", 1.15, 15, None,
     "≤ 1.15× raw binary structs; SA ≥ 15×"),
    ("1000 parents × 10 children, lazy (N+1)", ["graph_nplus1"], "graph_lazy", "graph_lazy", 1.1, 4, None,
     "≤ 1.1× raw N+1 prepared; SA ≥ 4×"),
    ("1000 × 10, selectin", ["graph_any"], "graph_selectin", "graph_selectin", 1.15, 10, None,
     "≤ 1.15× raw 2 queries `= ANY`; SA ≥ 10×"),
    ("1000 × 10, joined", ["graph_join"], "graph_joined", "graph_joined", 1.15, 5, None,
     "≤ 1.15× raw LEFT JOIN; SA ≥ 5×"),
    ("flush 100k new children of loaded parents", ["insert_copy_binary", "insert_copy_text"], "flush_100k",
     "flush_100k", 1.3, 8, None, "≤ 1.3× raw COPY; SA ≥ 8×"),
    ("flush a new 1000 × 10 graph (generated keys)", ["new_graph"], "new_graph", "new_graph", 1.3, None, None,
     "≤ 1.3× raw nextval + COPY"),
    ("delete 1000 parents, delete cascade", ["delete_cascade"], "delete_cascade", "delete_cascade", 1.3, 10, None,
     "≤ 1.3× raw; SA ≥ 10×"),
    ("pool acquire + release, 1 thread (uncontended)", [], "pool_cycle_t1", None, None, None, 50, "< 50 ns"),
    ("pool acquire + release, 2 threads", [], "pool_cycle_t2", None, None, None, None, "— (wall ns/cycle)"),
    ("pool acquire + release, 4 threads", [], "pool_cycle_t4", None, None, None, None, "— (wall ns/cycle)"),
    ("pool acquire + release, 8 threads", [], "pool_cycle_t8", None, None, None, None, "— (wall ns/cycle)"),
    ("memory per loaded object (all malloc'd bytes)", ["mem_per_object"], "mem_per_object", "mem_per_object",
     None, None, None, "— (reported)"),
    ("ORM bookkeeping per loaded object", [], "mem_bookkeeping", None, None, None, 48,
     "≤ 48 B beyond the struct"),
]

out = []
w = out.append
if args.meta:
    w(open(args.meta).read().rstrip() + "\n")
w("## Results\n")
w("Medians (per-round medians, then the median over rounds). pgorm/raw > 1 means pgorm is slower;")
w("SA/pgorm is how many times slower SQLAlchemy is than pgorm.\n")
w("| workload | raw libpq | pgorm | SQLAlchemy | pgorm/raw | SA/pgorm | target | met? |")
w("|---|---:|---:|---:|---:|---:|---|---|")
misses = []
for label, rawkeys, pk, sk, max_raw, min_sa, limit, target in ROWS:
    raws = [v for v in (get(RAW, k) for k in rawkeys) if v is not None]
    rv = min(raws, default=None, key=lambda v: v[0])
    pv, sv = get(PG, pk), get(SA, sk)
    pr, sr = ratio(pv, rv), ratio(sv, pv)
    ok = []
    if max_raw is not None and pr is not None:
        ok.append(pr <= max_raw)
    if min_sa is not None and sr is not None:
        ok.append(sr >= min_sa)
    if limit is not None and pv is not None:
        ok.append(pv[0] < limit if target.startswith("<") else pv[0] <= limit)
    met = "—" if not ok else ("yes" if all(ok) else "**no**")
    if ok and not all(ok):
        misses.append(label)
    rawlabel = fmt(rv)
    if len(rawkeys) > 1 and rv is not None:
        which = [k for k in rawkeys if get(RAW, k) == rv][0]
        rawlabel += f" ({which.replace('insert_', '').replace('_', ' ')})"
    w(f"| {label} | {rawlabel} | {fmt(pv)} | {fmt(sv)} | {rfmt(pr)} | {rfmt(sr)} | {target} | {met} |")


def pool_ops(path, threads, size):
    """ops/ms and max µs per pool kind for one (threads, size) row of pool_bench's table."""
    got = {}
    for ln in open(path):
        cells = [c.strip() for c in ln.strip().strip("|").split("|")]
        if len(cells) >= 7 and cells[0] == str(threads) and cells[1] == str(size):
            try:
                got[cells[2]] = (float(cells[3]), float(cells[6]))
            except ValueError:
                pass
    return got


if args.pool:
    # Issue 17's pool target: 8 threads on 4 connections, throughput at least a plain
    # mutex + condvar pool's; the longest cycle is reported next to it.
    po = pool_ops(args.pool, 8, 4)
    if "pgorm" in po and "mutex+condvar" in po:
        pg, mx = po["pgorm"], po["mutex+condvar"]
        ok = pg[0] >= mx[0]
        if not ok:
            misses.append("pool, 8 threads on 4 connections")
        w(f"| pool, 8 threads on 4 connections (acquire + release cycles/ms; longest cycle) | "
          f"mutex pool {mx[0]:,.0f}/ms, {mx[1]:,.0f} µs | {pg[0]:,.0f}/ms, {pg[1]:,.0f} µs | — | "
          f"{mx[0] / pg[0]:.2f}× | — | ≥ a plain mutex pool | {'yes' if ok else '**no**'} |")
    else:
        missing.append("pool_bench 8x4 row")
w("")
w(f"Targets missed: {', '.join(misses) if misses else 'none'}.\n")


# ---- MikroORM and the latency-bound run (issue 17) ----
# Workloads every program runs: (label, raw keys, pgorm key, peer key), from ROWS.
PEER_ROWS = [(label, rawkeys, pk, sk) for label, rawkeys, pk, sk, *_ in ROWS if sk is not None]


def peer_ratio(peer, pv):
    r = ratio(peer, pv)
    return "—" if r is None else (f"{r:.1f}×" if r >= 10 else f"{r:.2f}×")


def mikro_section(MK):
    """pgorm against both ORM peers, same unix-socket run."""
    w("## Peers: SQLAlchemy and MikroORM (same run, unix socket)\n")
    w("How many times slower each peer is than pgorm on the same workload and data (self-checked the")
    w("same way). MikroORM 6.6 runs on Node.js with EntitySchema entities (bench/mikroorm/bench.js).\n")
    w("| workload | pgorm | SQLAlchemy | MikroORM | SA/pgorm | MikroORM/pgorm |")
    w("|---|---:|---:|---:|---:|---:|")
    for label, _rawkeys, pk, sk in PEER_ROWS:
        pv, sv, mv = get(PG, pk), get(SA, sk), get(MK, sk)
        w(f"| {label} | {fmt(pv)} | {fmt(sv)} | {fmt(mv)} | {peer_ratio(sv, pv)} | {peer_ratio(mv, pv)} |")
    w("")
    w("What MikroORM does differently: its cascade remove reaches only loaded collections (the delete")
    w("workload populates the children first; pgorm and SQLAlchemy load them themselves); it binds no")
    w("parameters (values are formatted into the SQL text, nothing is prepared); every call is async,")
    w("identity-map hits included; it runs with flushMode COMMIT (its default, AUTO, computes the change")
    w("sets of every loaded entity of the type before each query and findOne: O(loaded) per call); its")
    w("memory figure is V8 heap growth, not malloc'd bytes.\n")
    w("| key | MikroORM |")
    w("|---|---|")
    for k in MK[0]:
        w(f"| `{k}` | {MK[2][k]} |")
    w(f"\nVersions: {'; '.join(MK[4])}.\n")


def latency_section(LR, LP, LS, LM):
    """Every program over TCP through the delay proxy: where round trips show."""
    w("## Latency-bound run (TCP through a delay proxy)\n")
    if args.lat_meta:
        w(open(args.lat_meta).read().rstrip() + "\n")
    w("| workload | raw libpq | pgorm | SQLAlchemy | MikroORM | pgorm/raw | SA/pgorm | MikroORM/pgorm |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, rawkeys, pk, sk in PEER_ROWS:
        if pk in ("get_pk_hit", "mem_per_object"):
            continue  # no round trip in them
        raws = [(LR[0][k], LR[1][k]) for k in rawkeys if k in LR[0]]
        rv = min(raws, default=None, key=lambda v: v[0])
        pv = (LP[0][pk], LP[1][pk]) if pk in LP[0] else None
        sv = (LS[0][sk], LS[1][sk]) if sk in LS[0] else None
        mv = (LM[0][sk], LM[1][sk]) if sk in LM[0] else None
        for src, key in ((LP, pk), (LS, sk)):
            if key not in src[0]:
                missing.append("latency " + key)
        w(f"| {label} | {fmt(rv)} | {fmt(pv)} | {fmt(sv)} | {fmt(mv)} | {rfmt(ratio(pv, rv))} |"
          f" {peer_ratio(sv, pv)} | {peer_ratio(mv, pv)} |")
    w("")


if args.mikro:
    mikro_section(read(args.mikro))
if args.lat_pgorm:
    latency_section(read(args.lat_raw), read(args.lat_pgorm), read(args.lat_sa), read(args.lat_mikro))

w("### Raw libpq reference variants\n")
w("| raw workload | median | how |")
w("|---|---:|---|")
for k in RAW[0]:
    w(f"| `{k}` | {fmt((RAW[0][k], RAW[1][k]))} | {RAW[2][k]} |")
w("")
w("### What each pgorm and SQLAlchemy figure measures\n")
w("| key | pgorm | SQLAlchemy |")
w("|---|---|---|")
for k in PG[0]:
    w(f"| `{k}` | {PG[2][k]} | {SA[2].get(k, '—')} |")
w("")
w(f"Rounds: raw {max(RAW[3].values(), default=0)}, pgorm {max(PG[3].values(), default=0)},"
  f" SQLAlchemy {max(SA[3].values(), default=0)}. Versions: " + "; ".join(RAW[4] + PG[4] + SA[4]) + ".\n")
if args.pool:
    w("## Pool benchmark (bench/pool_bench, same run)\n")
    body = open(args.pool).read().strip().splitlines()
    w("\n".join(("#" + ln) if ln.startswith("## ") else ln for ln in body if not ln.startswith("# ")))
    w("")
if args.notes:
    w(open(args.notes).read().rstrip() + "\n")
sys.stdout.write("\n".join(out))
if missing:
    print(f"report.py: missing results: {', '.join(sorted(set(missing)))}", file=sys.stderr)
    sys.exit(1)
