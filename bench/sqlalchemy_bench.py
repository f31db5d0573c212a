#!/usr/bin/python3
"""bench/sqlalchemy_bench.py — SQLAlchemy 1.4 ORM side of the pgorm benchmark workloads.

  /usr/bin/python3 bench/sqlalchemy_bench.py [CONNINFO] [--reps N] [--only KEY] [--nchild N]
                                              [--graph-parents P]

Debian's python3-sqlalchemy (1.4) + python3-psycopg2. CONNINFO is a libpq key=value string
(default $PGORM_BENCH_DSN, then $PGORM_TEST_DSN); expects the data set of bench/schema.sql and
leaves it as it found it. Prints the RESULT lines of bench/bench_util.h:
  RESULT <tab> key <tab> median <tab> min <tab> max <tab> unit <tab> reps <tab> note
Every workload checks its result (rows and contents) before its time is reported.
As in pgorm_bench.c: --only KEY runs the workloads whose key contains KEY; --nchild N (data set of
bench/schema.sql -v nchild=N: N children, N/10 parents) and --graph-parents P (parents of the graph
workloads) are for bench/scaling, with --only (get_pk, new_graph, delete_cascade need the canonical
sizes).
"""
import gc
import os
import statistics
import sys
import time
import tracemalloc

import psycopg2
import sqlalchemy
from sqlalchemy import BigInteger, Column, Float, ForeignKey, Text, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, declarative_base, joinedload, relationship, selectinload

NPARENT, NCHILD, GRAPH_PARENTS, PER_PARENT = 10_000, 100_000, 1000, 10  # --nchild, --graph-parents
LAT_ITERS, HIT_ITERS = 5000, 200_000

Base = declarative_base()


class Parent(Base):
    __tablename__ = "parent"
    id = Column(BigInteger, primary_key=True)  # bigserial
    name = Column(Text, nullable=False)
    children = relationship("Child", back_populates="parent", cascade="all")  # lazy="select"


class Child(Base):
    __tablename__ = "child"
    id = Column(BigInteger, primary_key=True)  # bigserial
    parent_id = Column(BigInteger, ForeignKey("parent.id"), nullable=False)
    name = Column(Text, nullable=False)
    value = Column(Float(53), nullable=False)
    parent = relationship("Parent", back_populates="children")


def parse_args():
    global NPARENT, NCHILD, GRAPH_PARENTS
    conninfo, reps, only = None, 3, None
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        if args[i] in ("--reps", "--only", "--nchild", "--graph-parents") and i + 1 < len(args):
            opt, val = args[i], args[i + 1]
            if opt == "--reps":
                reps = int(val)
            elif opt == "--only":
                only = val
            elif opt == "--nchild":
                NCHILD = int(val)
                NPARENT = NCHILD // PER_PARENT
            else:
                GRAPH_PARENTS = int(val)
            i += 2
        else:
            conninfo = args[i]
            i += 1
    if NCHILD < PER_PARENT or NCHILD % PER_PARENT or not 1 <= GRAPH_PARENTS <= NPARENT:
        sys.exit(f"FATAL: sizes: --nchild a multiple of {PER_PARENT}, --graph-parents 1..nchild/{PER_PARENT}")
    conninfo = conninfo or os.environ.get("PGORM_BENCH_DSN") or os.environ.get("PGORM_TEST_DSN")
    if not conninfo:
        sys.exit("usage: sqlalchemy_bench.py CONNINFO [--reps N] [--only KEY]  (or set PGORM_BENCH_DSN)")
    kv = dict(p.split("=", 1) for p in conninfo.split())
    query = {k: kv[k] for k in ("host", "port") if k in kv}
    url = URL.create("postgresql+psycopg2", username=kv.get("user"), password=kv.get("password"),
                     database=kv.get("dbname"), query=query)
    return url, reps, only


URL_, REPS, ONLY = parse_args()
engine = create_engine(URL_, future=True)


class Counter:
    def __init__(self):
        self.n = 0

    def __call__(self, *a, **k):
        self.n += 1


statements = Counter()
event.listen(engine, "before_cursor_execute", statements)


def want(key):
    return ONLY is None or ONLY in key


def fail(msg):
    print(f"FATAL: {msg}", file=sys.stderr)
    sys.exit(1)


def result(key, unit, values, note=""):
    med = statistics.median(values)
    print(f"RESULT\t{key}\t{med:.4f}\t{min(values):.4f}\t{max(values):.4f}\t{unit}\t{len(values)}\t{note}",
          flush=True)
    print(f"  {key:<28} {med:12.3f} {unit:<5} (min {min(values):.3f} max {max(values):.3f},"
          f" n={len(values)}) {note}", file=sys.stderr, flush=True)


def admin(*sqls):
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for s in sqls:
            c.exec_driver_sql(s)


def scalar(sql):
    with engine.connect() as c:
        return c.exec_driver_sql(sql).scalar()


def check_counts(parents, children):
    p, c = scalar("SELECT count(*) FROM parent"), scalar("SELECT count(*) FROM child")
    if (p, c) != (parents, children):
        fail(f"expected {parents} parents / {children} children, found {p} / {c}")


def check_child(c):
    if (c.parent_id != (c.id - 1) // 10 + 1 or c.name != f"child-{c.id}"
            or abs(c.value * 3 - c.id) > 1e-6):
        fail(f"child {c.id} has wrong contents")


def timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1e3, out


# ---------------------------------------------------------------- round trips, identity map
def bench_latency():
    pc = time.perf_counter
    stmt = text("SELECT 1")
    with Session(engine, future=True) as s:
        ts = []
        for i in range(-200, LAT_ITERS):
            t0 = pc()
            v = s.execute(stmt).scalar()
            t1 = pc()
            if v != 1:
                fail("SELECT 1 returned something else")
            if i >= 0:
                ts.append((t1 - t0) * 1e6)
    result("select1", "us", ts, "ORM session.execute(text('SELECT 1')).scalar()")

    with Session(engine, future=True) as s:
        for i in range(200):
            s.get(Child, 60000 + i)
    with Session(engine, future=True) as s:
        ids = [1 + (i * 7919) % NCHILD for i in range(LAT_ITERS)]
        ts = []
        held = []  # the identity map is weak-referencing: keep the objects alive for the hits
        n0 = statements.n
        for cid in ids:
            t0 = pc()
            c = s.get(Child, cid)
            t1 = pc()
            if c is None or c.id != cid:
                fail(f"get {cid}: wrong object")
            check_child(c)
            held.append(c)
            ts.append((t1 - t0) * 1e6)
        if statements.n - n0 != LAT_ITERS:
            fail(f"get: {statements.n - n0} statements for {LAT_ITERS} misses")
        result("get_pk", "us", ts, "session.get(Child, id), identity-map miss")
        hits = []
        for _ in range(REPS):
            n0 = statements.n
            t0 = pc()
            bad = 0
            for i in range(HIT_ITERS):
                cid = ids[i % LAT_ITERS]
                if s.get(Child, cid).id != cid:
                    bad += 1
            hits.append((pc() - t0) * 1e9 / HIT_ITERS)
            if bad or statements.n != n0:
                fail("get hit: wrong objects or SQL was sent")
        result("get_pk_hit", "ns", hits, f"session.get(Child, id), identity-map hit (mean of {HIT_ITERS})")


# ---------------------------------------------------------------- loading
def check_loaded(objs):
    if len(objs) != NCHILD:
        fail(f"load: {len(objs)} objects")
    for c in objs:
        check_child(c)
    if sum(c.id for c in objs) != NCHILD * (NCHILD + 1) // 2:
        fail("load: wrong set of ids")


def bench_load():
    ts = []
    for _ in range(REPS):
        s = Session(engine, future=True)
        ms, objs = timed(lambda: s.query(Child).all())
        check_loaded(objs)
        ts.append(ms)
        del objs
        s.close()
        gc.collect()
    result("load_100k", "ms", ts, "session.query(Child).all()")

    # memory per object: Python heap blocks allocated by the load (tracemalloc, untimed)
    s = Session(engine, future=True)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    objs = s.query(Child).all()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    check_loaded(objs)
    result("mem_per_object", "bytes", [(after - before) / len(objs)],
           "tracemalloc: Python heap per loaded Child (object, __dict__, state, identity map, values)")
    del objs
    s.close()
    gc.collect()


def load_graph(strategy):
    s = Session(engine, future=True)
    q = s.query(Parent).filter(Parent.id <= GRAPH_PARENTS).order_by(Parent.id)
    if strategy == "selectin":
        q = q.options(selectinload(Parent.children))
    elif strategy == "joined":
        q = q.options(joinedload(Parent.children))
    parents = q.all()
    for p in parents:
        p.children  # lazy: one SELECT per parent
    return s, parents


def check_graph(parents):
    if len(parents) != GRAPH_PARENTS:
        fail(f"graph: {len(parents)} parents")
    for i, p in enumerate(parents):
        if p.id != i + 1 or p.name != f"parent-{p.id}" or len(p.children) != PER_PARENT:
            fail(f"graph: parent {p.id} wrong")
        for c in p.children:
            if c.parent is not p or c.parent_id != p.id:
                fail(f"graph: child {c.id} linked wrongly")
            check_child(c)
        if sum(c.id for c in p.children) != 100 * p.id - 45:
            fail(f"graph: parent {p.id} has the wrong children")


def bench_graph():
    selects = {"lazy": 1 + GRAPH_PARENTS, "selectin": 1 + -(-GRAPH_PARENTS // 500), "joined": 1}
    notes = {"lazy": f"lazy='select', touch p.children per parent ({selects['lazy']} SELECTs)",
             "selectin": f"selectinload(Parent.children) ({selects['selectin']} SELECTs: IN batches of 500)",
             "joined": "joinedload(Parent.children) (1 SELECT)"}
    ts = {k: [] for k in selects if want(f"graph_{k}")}
    for rep in range(-1, REPS):
        for strat in ts:
            n0 = statements.n
            ms, (s, parents) = timed(lambda: load_graph(strat))
            n = statements.n - n0
            check_graph(parents)
            if n != selects[strat]:
                fail(f"graph {strat}: {n} statements, expected {selects[strat]}")
            s.close()
            del parents
            if rep >= 0:
                ts[strat].append(ms)
    for strat in ts:
        result(f"graph_{strat}", "ms", ts[strat], notes[strat])


# ---------------------------------------------------------------- writes
def check_children_table():
    check_counts(NPARENT, NCHILD)
    if scalar("SELECT count(*) FROM child WHERE parent_id <> (id - 1) / 10 + 1 OR name <> 'child-' || id"
              f" OR abs(value * 3 - id) > 1e-6 OR id NOT BETWEEN 1 AND {NCHILD}") != 0:
        fail("flushed children differ from the canonical rows")


def bench_flush_100k():
    ts = []
    for _ in range(REPS):
        admin("TRUNCATE child")
        s = Session(engine, future=True)
        parents = s.query(Parent).order_by(Parent.id).all()
        if len(parents) != NPARENT:
            fail(f"flush: {len(parents)} parents")
        n0 = statements.n

        def work():
            objs = []
            for cid in range(1, NCHILD + 1):
                c = Child(id=cid, name=f"child-{cid}", value=cid / 3.0)
                c.parent = parents[(cid - 1) // 10]  # backref: queued on the unloaded collection
                objs.append(c)
            s.add_all(objs)
            s.commit()
        ms, _ = timed(work)
        ts.append(ms)
        n = statements.n - n0
        s.close()
        check_children_table()
    admin("VACUUM ANALYZE child")
    result("flush_100k", "ms", ts, f"100k Child(parent=p) + add_all + commit ({n} execute/executemany calls)")


def bench_new_graph():
    ts = []
    for _ in range(REPS):
        s = Session(engine, future=True)

        def work():
            ps = []
            for i in range(GRAPH_PARENTS):
                p = Parent(name=f"new-parent-{i}")
                p.children = [Child(name=f"new-child-{i}-{j}", value=float(j)) for j in range(PER_PARENT)]
                ps.append(p)
            s.add_all(ps)
            s.commit()
        n0 = statements.n
        ms, _ = timed(work)
        n = statements.n - n0
        ts.append(ms)
        s.close()
        check_counts(NPARENT + GRAPH_PARENTS, NCHILD + GRAPH_PARENTS * PER_PARENT)
        if scalar("SELECT count(*) FROM child c JOIN parent p ON p.id = c.parent_id WHERE p.id > 10000"
                   " AND c.name LIKE 'new-child-' || substr(p.name, 12) || '-%%'") != GRAPH_PARENTS * PER_PARENT:
            fail("new graph: children not attached to their parents")
        admin("DELETE FROM child WHERE parent_id > 10000", "DELETE FROM parent WHERE id > 10000")
    result("new_graph", "ms", ts, f"1000 Parent(children=[10 Child]) add_all + commit ({n} execute/executemany calls)")


def bench_delete():
    ts = []
    for _ in range(REPS):
        s = Session(engine, future=True)

        def work():
            ps = s.query(Parent).filter(Parent.id <= GRAPH_PARENTS).all()
            for p in ps:
                s.delete(p)
            s.commit()
            return ps
        n0 = statements.n
        ms, ps = timed(work)
        n = statements.n - n0
        ts.append(ms)
        s.close()
        if len(ps) != GRAPH_PARENTS:
            fail(f"delete: {len(ps)} parents")
        check_counts(NPARENT - GRAPH_PARENTS, NCHILD - GRAPH_PARENTS * PER_PARENT)
        if scalar("SELECT count(*) FROM child WHERE parent_id <= 1000") != 0:
            fail("delete: children left")
        admin("INSERT INTO parent SELECT g, 'parent-' || g FROM generate_series(1, 1000) g",
              "INSERT INTO child SELECT g, (g - 1) / 10 + 1, 'child-' || g, g / 3.0::float8"
              " FROM generate_series(1, 10000) g")
    check_counts(NPARENT, NCHILD)
    admin("VACUUM ANALYZE parent", "VACUUM ANALYZE child")
    result("delete_cascade", "ms", ts,
           f"query 1000 parents, session.delete each (cascade='all'), commit ({n} execute/executemany calls)")


def main():
    print(f"# SQLAlchemy {sqlalchemy.__version__}, psycopg2 {psycopg2.__version__.split()[0]},"
          f" python {sys.version.split()[0]}, reps {REPS}", flush=True)
    keys = {bench_latency: ("select1", "get_pk", "get_pk_hit"), bench_load: ("load_100k", "mem_per_object"),
            bench_graph: ("graph_lazy", "graph_selectin", "graph_joined"), bench_flush_100k: ("flush_100k",),
            bench_new_graph: ("new_graph",), bench_delete: ("delete_cascade",)}
    if ((NCHILD, GRAPH_PARENTS) != (100_000, 1000)
            and any(want(k) for k in ("get_pk", "new_graph", "delete_cascade"))):
        fail("new_graph, delete_cascade and get_pk need the canonical sizes: use --only")
    check_counts(NPARENT, NCHILD)
    for fn, ks in keys.items():
        if any(want(k) for k in ks):
            fn()
    check_counts(NPARENT, NCHILD)


if __name__ == "__main__":
    main()
