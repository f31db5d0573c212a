/* bench/pgorm_bench.c — pgorm's side of the benchmark workloads (see bench/raw_libpq.c for
 * the hand-written baseline of each one and bench/report.py for the comparison).
 *
 *   pgorm_bench [CONNINFO] [--reps N] [--only KEY] [--nchild N] [--graph-parents P]
 *                                                    (sizes for bench/scaling: bench_util.h;
 *                                                     CONNINFO defaults to $PGORM_BENCH_DSN,
 *                                                      $PGORM_TEST_DSN)
 *
 * Expects the data set of bench/schema.sql and leaves it as it found it. The session runs on
 * one pgorm_conn (named prepared statements, binary). Workloads (keys of the RESULT lines):
 *   select1          pgorm_conn_exec("SELECT 1") round trip (median of 10k, us)
 *   get_pk           pgorm_session_get of a child not in the identity map: one SELECT (us)
 *   get_pk_hit       pgorm_session_get of a child in the identity map: no SQL (ns, mean of 1M)
 *   load_100k        query(child).all(): 100k session objects (ms)
 *   graph_lazy       1000 parents, then pgorm_rel_load(children) per parent (1 + 1000 SELECTs)
 *   graph_selectin   1000 parents with the children loader option SELECTIN (2 SELECTs)
 *   graph_joined     1000 parents with the children loader option JOINED (1 SELECT)
 *   flush_100k       100k new children appended to the 10k loaded parents' (unloaded)
 *                    collections, FKs synced at flush, commit (child table emptied before)
 *   new_graph        1000 new parents (server-generated keys) with 10 new children each, commit
 *   delete_cascade   query 1000 parents, pgorm_session_delete each (delete cascade: the flush
 *                    loads and deletes their children), commit
 *   pool_cycle_tN    pgorm_pool_acquire + pgorm_pool_release, N threads, pool size N
 *                    (wall ns per cycle = elapsed / cycles of all threads)
 *   mem_per_object   malloc'd bytes per loaded child object (mallinfo2 around load_100k)
 *   mem_bookkeeping  the same minus sizeof(Child) and the arena copy of its name string
 */
#include "bench_util.h"

#include <pgorm.h>

#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct Parent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;
} Parent;

typedef struct Child {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	double value;
	Parent *parent;
} Child;

extern const pgorm_model parent_model, child_model;

static const pgorm_column parent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Parent, id),
	PGORM_COLUMN(TEXT, "name", 0, Parent, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship parent_rels[] = {
	PGORM_ONE_TO_MANY("children", Parent, children, &child_model, "parent_id", "parent", PGORM_CASCADE_ALL),
	PGORM_RELATIONSHIP_END
};
const pgorm_model parent_model = PGORM_MODEL("parent", Parent, parent_cols, parent_rels);

static const pgorm_column child_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Child, id),
	PGORM_COLUMN_FK(INT8, "parent_id", 0, Child, parent_id, "parent", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, Child, name),
	PGORM_COLUMN(FLOAT8, "value", 0, Child, value),
	PGORM_COLUMN_END
};
static const pgorm_relationship child_rels[] = {
	PGORM_MANY_TO_ONE("parent", Child, parent, &parent_model, "parent_id", "children"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model child_model = PGORM_MODEL("child", Child, child_cols, child_rels);

enum { LAT_ITERS = 10000, HIT_ITERS = 1000000, POOL_CYCLES = 200000 };

static const char *conninfo;
static int reps = 5;
static const char *only;
static pgorm_registry *reg;
static pgorm_conn *conn;
static const pgorm_rel *children_rel;

/* ---- helpers ---- */

static void ck(int rc, pgorm_session *s, const char *what)
{
	if (rc != 0)
		bench_fail("%s: %s (%s)", what, s ? pgorm_session_error(s)->message : pgorm_conn_error(conn)->message,
		           pgorm_err_name(rc));
}

static void exec_ok(const char *sql)
{
	if (pgorm_conn_exec(conn, sql, 0, NULL, NULL) != 0)
		bench_fail("%s: %s", sql, pgorm_conn_error(conn)->message);
}

static long long scalar(const char *sql)
{
	pgorm_result *r;
	if (pgorm_conn_exec(conn, sql, 0, NULL, &r) != 0)
		bench_fail("%s: %s", sql, pgorm_conn_error(conn)->message);
	int64_t v = 0;
	if (pgorm_result_rows(r) != 1 || pgorm_result_int64(r, 0, 0, &v) != 0)
		bench_fail("%s: no integer result", sql);
	pgorm_result_free(r);
	return (long long)v;
}

static void check_counts(long long parents, long long children)
{
	long long p = scalar("SELECT count(*) FROM parent"), c = scalar("SELECT count(*) FROM child");
	if (p != parents || c != children)
		bench_fail("expected %lld parents / %lld children, found %lld / %lld", parents, children, p, c);
}

static pgorm_session *new_session(void)
{
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	cfg.nplus1_threshold = 0; /* the lazy workload is N+1 on purpose */
	pgorm_session *s;
	pgorm_error err;
	if (pgorm_session_create(&s, reg, NULL, conn, &cfg, &err) != 0)
		bench_fail("session: %s", err.message);
	return s;
}

static void end_session(pgorm_session *s)
{
	if (pgorm_conn_tx_status(conn) != PGORM_TX_IDLE)
		ck(pgorm_session_rollback(s), s, "rollback");
	pgorm_session_destroy(s);
}

static void check_child(const Child *c)
{
	char buf[32];
	bench_child_name(buf, sizeof buf, c->id);
	if (c->parent_id != (c->id - 1) / 10 + 1 || c->name == NULL || strcmp(c->name, buf) != 0 ||
	    fabs(c->value * 3.0 - (double)c->id) > 1e-6)
		bench_fail("child %lld has wrong contents", (long long)c->id);
	if (pgorm_object_state(c) != PGORM_STATE_PERSISTENT)
		bench_fail("child %lld not persistent", (long long)c->id);
}

static bool want(const char *key)
{
	return only == NULL || strstr(key, only) != NULL;
}

/* ---- round trips and the identity map ---- */

static void bench_latency(void)
{
	static double t[LAT_ITERS];
	for (int i = -200; i < LAT_ITERS; i++) {
		pgorm_result *r;
		double t0 = bench_now();
		int rc = pgorm_conn_exec(conn, "SELECT 1", 0, NULL, &r);
		double t1 = bench_now();
		ck(rc, NULL, "SELECT 1");
		int64_t v = 0;
		if (pgorm_result_rows(r) != 1 || pgorm_result_int64(r, 0, 0, &v) != 0 || v != 1)
			bench_fail("SELECT 1 returned something else");
		pgorm_result_free(r);
		if (i >= 0)
			t[i] = (t1 - t0) * 1e6;
	}
	bench_result("select1", "us", t, LAT_ITERS, "pgorm_conn_exec (named prepared, binary)");

	pgorm_session *s = new_session(); /* warm-up: prepares the statement */
	for (int i = 0; i < 200; i++) {
		void *out;
		pgorm_value pk = PGORM_INT8(60000 + i);
		ck(pgorm_session_get(s, &child_model, &pk, &out), s, "get");
	}
	end_session(s);

	s = new_session();
	pgorm_stats st0, st1;
	pgorm_session_stats(s, &st0);
	for (int i = 0; i < LAT_ITERS; i++) {
		int64_t id = 1 + (i * 7919) % bench_nchild; /* distinct ids: every get misses the map */
		void *out = NULL;
		pgorm_value pk = PGORM_INT8(id);
		double t0 = bench_now();
		int rc = pgorm_session_get(s, &child_model, &pk, &out);
		double t1 = bench_now();
		ck(rc, s, "get");
		if (out == NULL || ((Child *)out)->id != id)
			bench_fail("get %lld: wrong object", (long long)id);
		check_child(out);
		t[i] = (t1 - t0) * 1e6;
	}
	pgorm_session_stats(s, &st1);
	if (st1.selects - st0.selects != LAT_ITERS)
		bench_fail("get: %llu SELECTs for %d misses", (unsigned long long)(st1.selects - st0.selects), LAT_ITERS);
	bench_result("get_pk", "us", t, LAT_ITERS, "identity-map miss: one SELECT by PK");

	/* hits: the 10k objects are in the map now */
	double h[MAXREPS];
	for (int rep = 0; rep < reps; rep++) {
		pgorm_session_stats(s, &st0);
		int64_t sum = 0;
		double t0 = bench_now();
		for (int i = 0; i < HIT_ITERS; i++) {
			int64_t id = 1 + ((i % LAT_ITERS) * 7919) % bench_nchild;
			void *out = NULL;
			pgorm_value pk = PGORM_INT8(id);
			if (pgorm_session_get(s, &child_model, &pk, &out) != 0)
				bench_fail("get hit failed");
			sum += ((Child *)out)->id - id;
		}
		h[rep] = (bench_now() - t0) * 1e9 / HIT_ITERS;
		pgorm_session_stats(s, &st1);
		if (sum != 0 || st1.selects != st0.selects || st1.round_trips != st0.round_trips ||
		    st1.identity_hits - st0.identity_hits != HIT_ITERS)
			bench_fail("get hit: wrong objects or SQL was sent");
	}
	bench_result("get_pk_hit", "ns", h, reps, "identity-map hit, no SQL (mean of 1M gets)");
	end_session(s);
}

/* ---- loading ---- */

static pgorm_list load_all_children(pgorm_session *s)
{
	pgorm_query *q;
	pgorm_list l;
	ck(pgorm_query_create(&q, s, &child_model), s, "query");
	ck(pgorm_query_all(q, &l), s, "query all");
	pgorm_query_destroy(q);
	return l;
}

static void check_loaded(pgorm_list *l)
{
	if (l->len != (size_t)bench_nchild)
		bench_fail("load: %zu objects", l->len);
	int64_t sum = 0;
	for (size_t i = 0; i < l->len; i++) {
		check_child(l->items[i]);
		sum += ((Child *)l->items[i])->id;
	}
	if (sum != (int64_t)bench_nchild * (bench_nchild + 1) / 2)
		bench_fail("load: wrong set of ids");
}

static void bench_load(void)
{
	double t[MAXREPS];
	for (int rep = 0; rep < reps; rep++) {
		pgorm_session *s = new_session();
		double t0 = bench_now();
		pgorm_list l = load_all_children(s);
		t[rep] = (bench_now() - t0) * 1e3;
		check_loaded(&l);
		end_session(s);
	}
	bench_result("load_100k", "ms", t, reps, "query(child).all() into session objects");

	/* memory: malloc'd bytes per object after the load (arena chunks, identity map, tracked
	 * list, the result list), the libpq result already freed */
	pgorm_session *s = new_session();
	malloc_trim(0);
	struct mallinfo2 a = mallinfo2();
	pgorm_list l = load_all_children(s);
	struct mallinfo2 b = mallinfo2();
	check_loaded(&l);
	double per = ((double)(b.uordblks + b.hblkhd) - (double)(a.uordblks + a.hblkhd)) / (double)l.len;
	double strbytes = 0;
	for (size_t i = 0; i < l.len; i++)
		strbytes += (double)((strlen(((Child *)l.items[i])->name) + 1 + 15) & ~(size_t)15);
	strbytes /= (double)l.len;
	double t0 = bench_now();
	end_session(s);
	double destroy_ms = (bench_now() - t0) * 1e3;
	char note[160];
	snprintf(note, sizeof note, "sizeof(Child) %zu, name string %.0f (arena, 16-aligned); session destroy %.1f ms",
	         sizeof(Child), strbytes, destroy_ms);
	bench_result1("mem_per_object", "bytes", per, note);
	bench_result1("mem_bookkeeping", "bytes", per - (double)sizeof(Child) - strbytes,
	              "object state + snapshot + identity map + tracked list + result list, per object");
}

static pgorm_list load_parents(pgorm_session *s, pgorm_loader loader)
{
	pgorm_query *q;
	pgorm_list l;
	ck(pgorm_query_create(&q, s, &parent_model), s, "query");
	ck(pgorm_query_filter(q, "id", "<=", PGORM_INT8(bench_graph_parents)), s, "filter");
	ck(pgorm_query_order_by(q, "id", false), s, "order");
	if (loader != PGORM_LOAD_LAZY)
		ck(pgorm_query_option(q, "children", loader), s, "option");
	ck(pgorm_query_all(q, &l), s, "query all");
	pgorm_query_destroy(q);
	return l;
}

static void check_graph(pgorm_session *s, pgorm_list *l)
{
	if (l->len != (size_t)bench_graph_parents)
		bench_fail("graph: %zu parents", l->len);
	for (size_t i = 0; i < l->len; i++) {
		Parent *p = l->items[i];
		char buf[32];
		snprintf(buf, sizeof buf, "parent-%lld", (long long)p->id);
		if (p->id != (int64_t)i + 1 || strcmp(p->name, buf) != 0 || p->children.len != PER_PARENT ||
		    !pgorm_rel_is_loaded(children_rel, p))
			bench_fail("graph: parent %lld wrong (%zu children)", (long long)p->id, p->children.len);
		int64_t sum = 0;
		for (size_t j = 0; j < p->children.len; j++) {
			Child *c = p->children.items[j];
			if (c->parent != p || c->parent_id != p->id)
				bench_fail("graph: child %lld linked wrongly", (long long)c->id);
			check_child(c);
			sum += c->id;
		}
		if (sum != 100 * p->id - 45)
			bench_fail("graph: parent %lld has the wrong children", (long long)p->id);
	}
	(void)s;
}

static void bench_graph(void)
{
	const struct { const char *key; pgorm_loader loader; uint64_t selects; const char *note; } w[] = {
		{ "graph_lazy", PGORM_LOAD_LAZY, 1 + (uint64_t)bench_graph_parents, "query + pgorm_rel_load per parent (1001 SELECTs)" },
		{ "graph_selectin", PGORM_LOAD_SELECTIN, 2, "loader option SELECTIN (2 SELECTs, = ANY($1))" },
		{ "graph_joined", PGORM_LOAD_JOINED, 1, "loader option JOINED (1 SELECT, LEFT OUTER JOIN)" },
	};
	double t[3][MAXREPS];
	for (int rep = -1; rep < reps; rep++) { /* rep -1: warm-up (statements prepared) */
		for (int k = 0; k < 3; k++) {
			if (!want(w[k].key))
				continue;
			pgorm_session *s = new_session();
			pgorm_stats st0, st1;
			pgorm_session_stats(s, &st0);
			double t0 = bench_now();
			pgorm_list l = load_parents(s, w[k].loader);
			if (w[k].loader == PGORM_LOAD_LAZY)
				for (size_t i = 0; i < l.len; i++)
					ck(pgorm_rel_load(s, children_rel, l.items[i], NULL), s, "rel_load");
			double ms = (bench_now() - t0) * 1e3;
			pgorm_session_stats(s, &st1);
			check_graph(s, &l);
			if (st1.selects - st0.selects != w[k].selects)
				bench_fail("%s: %llu SELECTs, expected %llu", w[k].key, (unsigned long long)(st1.selects - st0.selects),
				           (unsigned long long)w[k].selects);
			end_session(s);
			if (rep >= 0)
				t[k][rep] = ms;
		}
	}
	for (int k = 0; k < 3; k++)
		if (want(w[k].key))
			bench_result(w[k].key, "ms", t[k], reps, w[k].note);
}

/* ---- writes ---- */

static void check_children_table(void)
{
	check_counts(bench_nparent, bench_nchild);
	if (scalar("SELECT count(*) FROM child WHERE parent_id <> (id - 1) / 10 + 1 OR name <> 'child-' || id"
	           " OR abs(value * 3 - id) > 1e-6 OR id < 1 OR id > (SELECT count(*) FROM parent) * 10") != 0)
		bench_fail("flushed children differ from the canonical rows");
}

static void bench_flush_100k(void)
{
	double t[MAXREPS];
	for (int rep = 0; rep < reps; rep++) {
		exec_ok("TRUNCATE child");
		pgorm_session *s = new_session();
		pgorm_query *q;
		pgorm_list ps;
		ck(pgorm_query_create(&q, s, &parent_model), s, "query");
		ck(pgorm_query_order_by(q, "id", false), s, "order");
		ck(pgorm_query_all(q, &ps), s, "parents");
		pgorm_query_destroy(q);
		if (ps.len != (size_t)bench_nparent)
			bench_fail("flush: %zu parents", ps.len);
		double t0 = bench_now();
		for (int64_t id = 1; id <= bench_nchild; id++) {
			Child *c = pgorm_object_new(s, &child_model);
			if (c == NULL)
				ck(PGORM_ENOMEM, s, "object_new");
			char name[32];
			bench_child_name(name, sizeof name, id);
			c->id = id;
			c->name = pgorm_strdup(s, name);
			c->value = (double)id / 3.0;
			ck(pgorm_rel_append(s, children_rel, ps.items[(id - 1) / 10], c), s, "append");
		}
		ck(pgorm_session_commit(s), s, "commit");
		t[rep] = (bench_now() - t0) * 1e3;
		end_session(s);
		check_children_table();
	}
	exec_ok("VACUUM ANALYZE child");
	bench_result("flush_100k", "ms", t, reps,
	             "100k pgorm_object_new + rel_append to loaded parents, FKs synced at flush, commit");
}

static void bench_new_graph(void)
{
	double t[MAXREPS];
	for (int rep = 0; rep < reps; rep++) {
		pgorm_session *s = new_session();
		double t0 = bench_now();
		for (int i = 0; i < bench_graph_parents; i++) {
			char name[32];
			Parent *p = pgorm_object_new(s, &parent_model);
			if (p == NULL)
				ck(PGORM_ENOMEM, s, "object_new");
			snprintf(name, sizeof name, "new-parent-%d", i);
			p->name = pgorm_strdup(s, name);
			ck(pgorm_session_add(s, p), s, "add");
			for (int j = 0; j < PER_PARENT; j++) {
				Child *c = pgorm_object_new(s, &child_model);
				if (c == NULL)
					ck(PGORM_ENOMEM, s, "object_new");
				snprintf(name, sizeof name, "new-child-%d-%d", i, j);
				c->name = pgorm_strdup(s, name);
				PGORM_SET(c, value, j); /* j may be 0: a plain write of 0 is not seen */
				ck(pgorm_rel_append(s, children_rel, p, c), s, "append");
			}
		}
		ck(pgorm_session_commit(s), s, "commit");
		t[rep] = (bench_now() - t0) * 1e3;
		end_session(s);
		check_counts(bench_nparent + bench_graph_parents, bench_nchild + bench_graph_parents * PER_PARENT);
		if (scalar("SELECT count(*) FROM child c JOIN parent p ON p.id = c.parent_id WHERE p.id > 10000"
		           " AND c.name LIKE 'new-child-' || substr(p.name, 12) || '-%'") != bench_graph_parents * PER_PARENT)
			bench_fail("new graph: children not attached to their parents");
		exec_ok("DELETE FROM child WHERE parent_id > 10000");
		exec_ok("DELETE FROM parent WHERE id > 10000");
	}
	bench_result("new_graph", "ms", t, reps, "1000 new parents x 10 children (generated keys), add + commit");
}

static void bench_delete(void)
{
	double t[MAXREPS];
	for (int rep = 0; rep < reps; rep++) {
		pgorm_session *s = new_session();
		pgorm_stats st0, st1;
		pgorm_session_stats(s, &st0);
		double t0 = bench_now();
		pgorm_list l = load_parents(s, PGORM_LOAD_LAZY);
		for (size_t i = 0; i < l.len; i++)
			ck(pgorm_session_delete(s, l.items[i]), s, "delete");
		ck(pgorm_session_commit(s), s, "commit");
		t[rep] = (bench_now() - t0) * 1e3;
		pgorm_session_stats(s, &st1);
		end_session(s);
		if (l.len != (size_t)bench_graph_parents)
			bench_fail("delete: %zu parents", l.len);
		check_counts(bench_nparent - bench_graph_parents, bench_nchild - bench_graph_parents * PER_PARENT);
		if (scalar("SELECT count(*) FROM child WHERE parent_id <= 1000") != 0)
			bench_fail("delete: children left");
		if (rep == 0)
			fprintf(stderr, "  delete_cascade: %llu SELECTs, %llu DELETEs, %llu round trips\n",
			        (unsigned long long)(st1.selects - st0.selects), (unsigned long long)(st1.deletes - st0.deletes),
			        (unsigned long long)(st1.round_trips - st0.round_trips));
		exec_ok("INSERT INTO parent SELECT g, 'parent-' || g FROM generate_series(1, 1000) g");
		exec_ok("INSERT INTO child SELECT g, (g - 1) / 10 + 1, 'child-' || g, g / 3.0::float8 FROM generate_series(1, 10000) g");
	}
	check_counts(bench_nparent, bench_nchild);
	exec_ok("VACUUM ANALYZE parent");
	exec_ok("VACUUM ANALYZE child");
	bench_result("delete_cascade", "ms", t, reps,
	             "query 1000 parents, session_delete each (cascade loads + deletes children), commit");
}

/* ---- pool ---- */

typedef struct pool_arg {
	pgorm_pool *pool;
	atomic_int *go;
	long cycles;
} pool_arg;

static void *pool_worker(void *p)
{
	pool_arg *a = p;
	while (atomic_load(a->go) == 0)
		;
	for (long i = 0; i < a->cycles; i++) {
		pgorm_conn *c;
		pgorm_error err;
		if (pgorm_pool_acquire(a->pool, &c, &err) != 0)
			bench_fail("acquire: %s", err.message);
		if (pgorm_pool_release(a->pool, c) != 0)
			bench_fail("release failed");
	}
	return NULL;
}

static void bench_pool(void)
{
	static const int threads[] = { 1, 2, 4, 8 };
	for (size_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
		int n = threads[k];
		pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
		pc.conninfo = conninfo;
		pc.max_size = (size_t)n;
		pc.min_idle = (size_t)n;
		pgorm_pool *pool;
		pgorm_error err;
		if (pgorm_pool_create(&pool, &pc, &err) != 0)
			bench_fail("pool: %s", err.message);
		pgorm_pool_stats ps;
		for (int w = 0; w < 1000; w++) { /* wait for the maintenance thread to open them */
			pgorm_pool_stats_get(pool, &ps);
			if (ps.idle == (size_t)n)
				break;
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		if (ps.idle != (size_t)n)
			bench_fail("pool: %zu of %d connections opened", ps.idle, n);
		double t[MAXREPS];
		long per = POOL_CYCLES / n;
		for (int rep = 0; rep < reps; rep++) {
			atomic_int go = 0;
			pthread_t th[8];
			pool_arg a = { pool, &go, per };
			for (int i = 0; i < n; i++)
				pthread_create(&th[i], NULL, pool_worker, &a);
			double t0 = bench_now();
			atomic_store(&go, 1);
			for (int i = 0; i < n; i++)
				pthread_join(th[i], NULL);
			t[rep] = (bench_now() - t0) * 1e9 / (double)(per * n);
		}
		pgorm_pool_stats_get(pool, &ps);
		if (ps.in_use != 0 || ps.acquires < (uint64_t)(per * n * reps) || ps.size != (size_t)n)
			bench_fail("pool: stats do not add up (in use %zu, acquires %llu, size %zu)", ps.in_use,
			           (unsigned long long)ps.acquires, ps.size);
		pgorm_pool_destroy(pool);
		char key[32], note[96];
		snprintf(key, sizeof key, "pool_cycle_t%d", n);
		snprintf(note, sizeof note, "%d thread(s), pool size %d, wall ns per acquire+release (%ld cycles/thread)", n, n,
		         per);
		bench_result(key, "ns", t, reps, note);
	}
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!bench_size_arg(argc, argv, &i))
			conninfo = argv[i];
	}
	if (conninfo == NULL)
		conninfo = getenv("PGORM_BENCH_DSN");
	if (conninfo == NULL)
		conninfo = getenv("PGORM_TEST_DSN");
	if (conninfo == NULL)
		bench_fail("usage: pgorm_bench CONNINFO [--reps N] [--only KEY]  (or set PGORM_BENCH_DSN)");
	if (reps < 1 || reps > MAXREPS)
		bench_fail("--reps must be 1..%d", MAXREPS);
	if ((bench_nchild != 100000 || bench_graph_parents != 1000) &&
	    (want("new_graph") || want("delete_cascade") || want("get_pk")))
		bench_fail("new_graph, delete_cascade and get_pk need the canonical sizes: use --only");
	const pgorm_model *models[] = { &parent_model, &child_model };
	pgorm_error err;
	if (pgorm_registry_create(&reg, models, 2, &err) != 0)
		bench_fail("registry: %s", err.message);
	children_rel = pgorm_registry_rel(reg, &parent_model, "children");
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	cc.conninfo = conninfo;
	if (pgorm_conn_connect(&conn, &cc, &err) != 0)
		bench_fail("connect: %s", err.message);
	printf("# pgorm %s, reps %d\n", pgorm_version_string(), reps);
	check_counts(bench_nparent, bench_nchild);
	if (want("select1") || want("get_pk") || want("get_pk_hit"))
		bench_latency();
	if (want("load_100k") || want("mem_per_object") || want("mem_bookkeeping"))
		bench_load();
	if (want("graph_lazy") || want("graph_selectin") || want("graph_joined"))
		bench_graph();
	if (want("flush_100k"))
		bench_flush_100k();
	if (want("new_graph"))
		bench_new_graph();
	if (want("delete_cascade"))
		bench_delete();
	if (want("pool_cycle_t1") || want("pool_cycle_t8"))
		bench_pool();
	check_counts(bench_nparent, bench_nchild);
	pgorm_conn_close(conn);
	pgorm_registry_destroy(reg);
	return 0;
}
