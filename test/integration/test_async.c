/* Integration tests of pgorm/async.h against a real server, driven from an event loop: built
 * twice, as test_int_async from pgorm/async_epoll.h and (meson -Duv) as test_int_async_uv from
 * pgorm/async_uv.h (-DPGORM_TEST_UV; the loop shim below is all that differs). The same results
 * and the same statements as the blocking API (queries with selectin, get, lazy loads, cascades
 * on flush/commit, a failed flush rolled back), many concurrent ops over a small pool, ops
 * started from done callbacks, cancellation, timeouts, a server restart under in-flight ops,
 * and the example service of the adapter (ASYNC_SERVICE: 200 requests over 4 connections).
 * They run on their OWN throwaway cluster (test/pgtmp, the restart must not disturb other
 * executables). "The loop never blocks" is checked as: no single loop iteration takes longer
 * than 1 s while the server sleeps or restarts for several seconds (generous, not a timing
 * measurement). */
#include "exec.h" /* lib/: the PGconn, for its backend pid */
#include "pgcluster.h"
#include "pgtest.h"

#include <errno.h>
#include <pgorm/async.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef PGORM_TEST_UV
#include <pgorm/async_uv.h>
#define ADAPTER "uv"
#define SUITE "async_uv"
#else
#include <pgorm/async_epoll.h>
#define ADAPTER "epoll"
#define SUITE "async"
#endif

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
	Parent *parent;
} Child;

extern const pgorm_model parent_model, child_model;
static const pgorm_column parent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Parent, id),
	PGORM_COLUMN(TEXT, "name", 0, Parent, name), PGORM_COLUMN_END };
static const pgorm_relationship parent_rels[] = {
	{ .name = "children", .target = &child_model, .kind = PGORM_REL_ONE_TO_MANY,
	  .offset = offsetof(Parent, children), .size = sizeof(pgorm_collection),
	  .back_populates = "parent", .order_by = "id", .cascade = PGORM_CASCADE_ALL },
	PGORM_RELATIONSHIP_END };
const pgorm_model parent_model = PGORM_MODEL("ap", Parent, parent_cols, parent_rels);
static const pgorm_column child_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Child, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Child, parent_id, "ap", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", PGORM_NULLABLE, Child, name), PGORM_COLUMN_END };
static const pgorm_relationship child_rels[] = {
	PGORM_MANY_TO_ONE("parent", Child, parent, &parent_model, "parent_id", "children"),
	PGORM_RELATIONSHIP_END };
const pgorm_model child_model = PGORM_MODEL("ac", Child, child_cols, child_rels);

static pgcluster cluster;
static pgorm_registry *reg;
static pgorm_conn *conn;
static pgorm_pool *pool;
static const pgtest_env env = { .reg = &reg, .conn = &conn };
static const pgorm_rel *children;

static void setup(void)
{
	const pgorm_model *models[] = { &parent_model, &child_model };
	pgtest_env_setup(&env, models, 2, NULL);
	children = pgorm_registry_rel(reg, &parent_model, "children");
	pgtest_exec(conn, "DROP TABLE IF EXISTS ac, ap");
	pgtest_exec(conn, "CREATE TABLE ap (id bigserial PRIMARY KEY, name text NOT NULL)");
	pgtest_exec(conn, "CREATE TABLE ac (id bigserial PRIMARY KEY, parent_id bigint REFERENCES ap(id), name text NOT NULL)");
	pgtest_exec(conn, "INSERT INTO ap (name) SELECT 'p' || g FROM generate_series(1, 100) g");
	pgtest_exec(conn, "INSERT INTO ac (parent_id, name) SELECT (g % 100) + 1, 'c' || g FROM generate_series(1, 500) g");
	pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
	pc.conninfo = pgtest_dsn();
	pc.max_size = 3;
	pc.min_idle = 1;
	pgorm_error err;
	ck_assert_msg(pgorm_pool_create(&pool, &pc, &err) == 0, "pool: %s", err.message);
}

static void teardown(void)
{
	pgorm_pool_destroy(pool);
	pool = NULL;
	pgtest_env_teardown(&env);
}

static pgorm_session *session_on(pgorm_pool *p, pgtest_log *log)
{
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	cfg.nplus1_threshold = 0;
	if (log != NULL) {
		cfg.stmt_hook = pgtest_log_hook;
		cfg.stmt_hook_ctx = log;
	}
	pgorm_session *s = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_session_create(&s, reg, p, NULL, &cfg, &err) == 0, "session: %s", err.message);
	return s;
}

static pgorm_session *session(pgtest_log *log)
{
	return session_on(pool, log);
}

/* ---- the event loop: epoll or libuv, behind one small shim ---- */

typedef struct done_box {
	int rc;
	bool done;
	double t;                   /* when it ended (ms) */
} done_box;

static void on_done(pgorm_op *op, int rc, void *arg)
{
	(void)op;
	done_box *b = arg;
	b->rc = rc;
	b->done = true;
	b->t = pgtest_now_ms();
}

static pgorm_op_config op_cfg(done_box *b, long timeout_ms)
{
	pgorm_op_config c = PGORM_OP_CONFIG_INIT;
	c.done = on_done;
	c.arg = b;
	c.timeout_ms = timeout_ms;
	return c;
}

static double longest_step;

/* An iteration that began at t0 and was to wait wait ms (-1: for I/O only), at most max_ms. */
static void note_step(double t0, int wait, int max_ms)
{
	double dt = pgtest_now_ms() - t0 - (wait < 0 || wait > max_ms ? max_ms : wait);
	if (dt > longest_step)
		longest_step = dt;
}

#ifdef PGORM_TEST_UV
typedef struct tloop {
	uv_loop_t uv;
	uv_timer_t tick;            /* bounds each iteration to 100 ms, and loop_run_for */
} tloop;

static tloop *loop_new(void)
{
	tloop *l = calloc(1, sizeof *l);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(uv_loop_init(&l->uv), 0);
	ck_assert_int_eq(uv_timer_init(&l->uv, &l->tick), 0);
	return l;
}

static void loop_add(tloop *l, pgorm_op *op)
{
	ck_assert_int_eq(pgorm_uv_attach(&l->uv, op), 0);
}

static void on_tick(uv_timer_t *t)
{
	(void)t;
}

/* One iteration, waiting at most max_ms; false when nothing is left (no op, no handle closing). */
static bool loop_once(tloop *l, int max_ms)
{
	uv_timer_stop(&l->tick);
	if (!uv_loop_alive(&l->uv))
		return false;
	uv_timer_start(&l->tick, on_tick, (uint64_t)max_ms, 0);
	uv_update_time(&l->uv);
	int wait = uv_backend_timeout(&l->uv);
	double t0 = pgtest_now_ms();
	(void)uv_run(&l->uv, UV_RUN_ONCE);
	note_step(t0, wait, max_ms);
	return true;
}

static void loop_cancel(tloop *l, pgorm_op *op)
{
	(void)l;
	pgorm_uv_cancel(op);
}

typedef struct watch_probe {
	const void *attach;
	int fd;
	int found;
} watch_probe;

static void probe_handle(uv_handle_t *h, void *arg)
{
	watch_probe *w = arg;
	uv_os_fd_t fd;
	if (h->type == UV_POLL && h->data == w->attach && uv_is_active(h) && !uv_is_closing(h) &&
	    uv_fileno(h, &fd) == 0 && fd == w->fd)
		w->found++;
}

/* The op waits on its socket and the adapter has an active poll handle of its own on it. */
static bool loop_watches(tloop *l, pgorm_op *op)
{
	watch_probe w = { pgorm_op_watch_data(op), pgorm_op_fd(op), 0 };
	if (w.fd < 0)
		return false;
	uv_walk(&l->uv, probe_handle, &w);
	return w.found == 1;
}

/* Every handle closed: uv_loop_close fails (UV_EBUSY) if the adapter left one open. */
static void loop_free(tloop *l)
{
	uv_timer_stop(&l->tick);
	uv_close((uv_handle_t *)&l->tick, NULL);
	(void)uv_run(&l->uv, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&l->uv), 0);
	free(l);
}
#else
typedef pgorm_epoll tloop;

static tloop *loop_new(void)
{
	pgorm_epoll *l = NULL;
	ck_assert_int_eq(pgorm_epoll_create(&l), 0);
	return l;
}

static void loop_add(tloop *l, pgorm_op *op)
{
	ck_assert_int_eq(pgorm_epoll_add(l, op), 0);
}

static bool loop_once(tloop *l, int max_ms)
{
	if (pgorm_epoll_size(l) == 0)
		return false;
	double t0 = pgtest_now_ms();
	int wait = pgorm_epoll_timeout(l);
	(void)pgorm_epoll_run_once(l, max_ms);
	note_step(t0, wait, max_ms);
	return true;
}

static void loop_cancel(tloop *l, pgorm_op *op)
{
	pgorm_epoll_cancel(l, op);
}

/* (The epoll adapter has nothing to look at: it re-registers a descriptor itself.) */
static bool loop_watches(tloop *l, pgorm_op *op)
{
	(void)l;
	return pgorm_op_fd(op) >= 0;
}

static void loop_free(tloop *l)
{
	ck_assert_uint_eq(pgorm_epoll_size(l), 0);
	pgorm_epoll_destroy(l);
}
#endif

/* Run l until no op is left; record the longest iteration (the loop never blocks). */
static void run(tloop *l)
{
	while (loop_once(l, 100))
		;
}

/* Run l for about ms milliseconds (ops in flight stay in flight). */
static void loop_run_for(tloop *l, int ms)
{
	double end = pgtest_now_ms() + ms;
	for (double left = ms; left > 0; left = end - pgtest_now_ms())
		if (!loop_once(l, (int)left + 1))
			break;
}

/* Start-and-wait one op; returns its rc. */
#define ASYNC(l, box, call)                                                                 \
	do {                                                                                    \
		pgorm_op *op_ = NULL;                                                               \
		memset(&(box), 0, sizeof(box));                                                     \
		ck_assert_int_eq((call), 0);                                                        \
		loop_add((l), op_);                                                                 \
		run(l);                                                                             \
		ck_assert((box).done);                                                              \
	} while (0)

/* "p1:c1,c101,…;" — the graph, both sides checked */
static void graph(const pgorm_list *l, char *out, size_t cap)
{
	size_t k = 0;
	out[0] = 0;
	for (size_t i = 0; i < l->len && k < cap; i++) {
		Parent *p = l->items[i];
		k += (size_t)snprintf(out + k, cap - k, "%s:", p->name);
		for (size_t j = 0; j < p->children.len && k < cap; j++) {
			Child *c = p->children.items[j];
			ck_assert_ptr_eq(c->parent, p);
			k += (size_t)snprintf(out + k, cap - k, "%s,", c->name);
		}
		if (k < cap)
			k += (size_t)snprintf(out + k, cap - k, ";");
	}
}

/* The statements of a log as one string (to compare blocking and async runs) */
static void log_text(const pgtest_log *log, char *out, size_t cap)
{
	size_t k = 0;
	out[0] = 0;
	for (size_t i = 0; i < log->n && k < cap; i++)
		k += (size_t)snprintf(out + k, cap - k, "%s\n", log->sql[i]);
}

enum { BIG = 1 << 16 };

START_TEST(test_query_get_load_equal_blocking)
{
	static char g1[BIG], g2[BIG], l1[BIG], l2[BIG];
	pgtest_log log1 = { 0 }, log2 = { 0 };
	pgorm_session *sb = session(&log1), *sa = session(&log2);
	tloop *l = loop_new();
	done_box b;
	pgorm_op_config cfg = op_cfg(&b, 10000);

	/* query all with selectin children */
	pgorm_query *qb = NULL, *qa = NULL;
	ck_assert_int_eq(pgorm_query_create(&qb, sb, &parent_model), 0);
	ck_assert_int_eq(pgorm_query_option(qb, "children", PGORM_LOAD_SELECTIN), 0);
	ck_assert_int_eq(pgorm_query_create(&qa, sa, &parent_model), 0);
	ck_assert_int_eq(pgorm_query_option(qa, "children", PGORM_LOAD_SELECTIN), 0);
	pgorm_list lb = { 0 }, la = { 0 };
	ck_assert_int_eq(pgorm_query_all(qb, &lb), 0);
	ASYNC(l, b, pgorm_async_query_all(&op_, qa, &la, &cfg));
	ck_assert_int_eq(b.rc, 0);
	ck_assert_uint_eq(la.len, 100);
	graph(&lb, g1, BIG);
	graph(&la, g2, BIG);
	ck_assert_str_eq(g1, g2);

	/* first */
	void *fb = NULL, *fa = NULL;
	ck_assert_int_eq(pgorm_query_first(qb, &fb), 0);
	ASYNC(l, b, pgorm_async_query_first(&op_, qa, &fa, &cfg));
	ck_assert_int_eq(b.rc, 0);
	ck_assert_str_eq(((Parent *)fb)->name, ((Parent *)fa)->name);
	pgorm_query_destroy(qb);
	pgorm_query_destroy(qa);

	/* get: a miss (SQL), an identity-map hit (none), not found */
	void *ob = NULL, *oa = NULL;
	pgorm_value pk = PGORM_INT8(7), none = PGORM_INT8(100000);
	ck_assert_int_eq(pgorm_session_rollback(sb), 0);
	ASYNC(l, b, pgorm_async_rollback(&op_, sa, &cfg));
	ck_assert_int_eq(b.rc, 0);
	ck_assert_int_eq(pgorm_session_get(sb, &parent_model, &pk, &ob), 0);
	ASYNC(l, b, pgorm_async_get(&op_, sa, &parent_model, &pk, &oa, &cfg));
	ck_assert_int_eq(b.rc, 0);
	ck_assert_str_eq(((Parent *)oa)->name, "p7");
	void *again = NULL;
	ASYNC(l, b, pgorm_async_get(&op_, sa, &parent_model, &pk, &again, &cfg));
	ck_assert_ptr_eq(again, oa);
	ck_assert_int_eq(pgorm_session_get(sb, &parent_model, &none, &ob), PGORM_ENOTFOUND);
	ASYNC(l, b, pgorm_async_get(&op_, sa, &parent_model, &none, &again, &cfg));
	ck_assert_int_eq(b.rc, PGORM_ENOTFOUND);

	/* lazy load */
	ck_assert_int_eq(pgorm_session_get(sb, &parent_model, &pk, &ob), 0);
	ck_assert_int_eq(pgorm_rel_load(sb, children, ob, NULL), 0);
	ASYNC(l, b, pgorm_async_rel_load(&op_, sa, children, oa, NULL, &cfg));
	ck_assert_int_eq(b.rc, 0);
	ck_assert_uint_eq(((Parent *)oa)->children.len, 5);
	ck_assert_uint_eq(((Parent *)ob)->children.len, ((Parent *)oa)->children.len);

	/* the same statements, in the same order */
	log_text(&log1, l1, BIG);
	log_text(&log2, l2, BIG);
	ck_assert_str_eq(l1, l2);
	ck_assert_uint_gt(log2.n, 5);
	ck_assert_uint_eq(pgorm_op_count(), 0);
	loop_free(l);
	pgorm_session_destroy(sb);
	pgorm_session_destroy(sa);
	pgtest_log_clear(&log1);
	pgtest_log_clear(&log2);
}
END_TEST

static Parent *family(pgorm_session *s, const char *name, int n, const char *bad_child)
{
	Parent *p = pgorm_object_new(s, &parent_model);
	ck_assert_ptr_nonnull(p);
	p->name = pgorm_strdup(s, name);
	for (int i = 0; i < n; i++) {
		Child *c = pgorm_object_new(s, &child_model);
		char nm[32];
		snprintf(nm, sizeof nm, "%s.k%d", name, i);
		c->name = i == n - 1 && bad_child != NULL ? NULL : pgorm_strdup(s, nm);
		if (c->name == NULL)
			ck_assert_int_eq(pgorm_object_set_null(c, "name", true), 0);
		ck_assert_int_eq(pgorm_rel_append(s, children, p, c), 0);
	}
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	return p;
}

START_TEST(test_cascade_commit_and_failed_flush_equal_blocking)
{
	static char l1[BIG], l2[BIG];
	pgtest_log log1 = { 0 }, log2 = { 0 };
	pgorm_session *sb = session(&log1), *sa = session(&log2);
	tloop *l = loop_new();
	done_box b;
	pgorm_op_config cfg = op_cfg(&b, 10000);

	/* cascade: the parent added, its children follow; commit */
	family(sb, "blocking", 3, NULL);
	family(sa, "async", 3, NULL);
	ck_assert_int_eq(pgorm_session_commit(sb), 0);
	ASYNC(l, b, pgorm_async_commit(&op_, sa, &cfg));
	ck_assert_int_eq(b.rc, 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ac c JOIN ap p ON p.id = c.parent_id WHERE p.name = 'async'"), 3);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ac c JOIN ap p ON p.id = c.parent_id WHERE p.name = 'blocking'"), 3);

	/* a failed flush (NOT NULL on the last child): same error, rolled back, nothing written */
	family(sb, "bad-b", 2, "x");
	family(sa, "bad-a", 2, "x");
	int rb = pgorm_session_flush(sb);
	ASYNC(l, b, pgorm_async_flush(&op_, sa, &cfg));
	ck_assert_int_eq(rb, PGORM_ECONSTRAINT);
	ck_assert_int_eq(b.rc, rb);
	ck_assert_str_eq(pgorm_session_error(sa)->sqlstate, pgorm_session_error(sb)->sqlstate);
	ck_assert_int_eq(pgorm_session_rollback(sb), 0);
	ASYNC(l, b, pgorm_async_rollback(&op_, sa, &cfg));
	ck_assert_int_eq(b.rc, 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ap WHERE name LIKE 'bad-%'"), 0);

	/* the statements differ only by the parent's name (a bind value, not in the SQL text) */
	log_text(&log1, l1, BIG);
	log_text(&log2, l2, BIG);
	ck_assert_str_eq(l1, l2);
	loop_free(l);
	pgorm_session_destroy(sb);
	pgorm_session_destroy(sa);
	pgtest_log_clear(&log1);
	pgtest_log_clear(&log2);
}
END_TEST

/* a flush whose pipeline is larger than the socket buffers (~2 MB of INSERTs): the sends wait
 * in the loop too (the connection is non-blocking inside an op) */
START_TEST(test_large_flush_pipeline)
{
	pgorm_session *sa = session(NULL);
	tloop *l = loop_new();
	done_box b;
	pgorm_op_config cfg = op_cfg(&b, 60000);
	static char big[1001];
	memset(big, 'x', sizeof big - 1);
	for (int i = 0; i < 2000; i++) {
		Parent *p = pgorm_object_new(sa, &parent_model);
		ck_assert_ptr_nonnull(p);
		big[0] = (char)('a' + i % 26);
		p->name = pgorm_strdup(sa, big);
		ck_assert_int_eq(pgorm_session_add(sa, p), 0);
	}
	longest_step = 0;
	ASYNC(l, b, pgorm_async_commit(&op_, sa, &cfg));
	ck_assert_int_eq(b.rc, 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ap WHERE length(name) = 1000"), 2000);
	loop_free(l);
	pgorm_session_destroy(sa);
}
END_TEST

/* ---- many concurrent requests over a pool of 3 ---- */

#define NREQ 40
typedef struct request {
	pgorm_session *s;
	pgorm_query *q;
	pgorm_list list;
	done_box box;
	int64_t id;                 /* what the request saw, before its rollback */
	size_t nchildren;
} request;

/* one request: the parent with its children (selectin), then the transaction ends (the session
 * holds its connection until then) */
static int request_body(void *arg)
{
	request *r = arg;
	int rc = pgorm_query_all(r->q, &r->list);
	if (rc == 0 && r->list.len == 1) {
		Parent *p = r->list.items[0];
		r->id = p->id;
		r->nchildren = p->children.len;
	}
	int rb = pgorm_session_rollback(r->s);
	return rc != 0 ? rc : rb;
}

START_TEST(test_many_concurrent_over_small_pool)
{
	tloop *l = loop_new();
	static request r[NREQ];
	for (int i = 0; i < NREQ; i++) {
		memset(&r[i], 0, sizeof r[i]);
		r[i].s = session(NULL);
		ck_assert_int_eq(pgorm_query_create(&r[i].q, r[i].s, &parent_model), 0);
		ck_assert_int_eq(pgorm_query_filter(r[i].q, "id", "=", PGORM_INT8(i % 100 + 1)), 0);
		ck_assert_int_eq(pgorm_query_option(r[i].q, "children", PGORM_LOAD_SELECTIN), 0);
		pgorm_op_config cfg = op_cfg(&r[i].box, 20000);
		pgorm_op *op = NULL;
		ck_assert_int_eq(pgorm_async_run(&op, request_body, &r[i], &cfg), 0);
		loop_add(l, op);
	}
	ck_assert_uint_eq(pgorm_op_count(), NREQ);
	longest_step = 0;
	run(l);
	for (int i = 0; i < NREQ; i++) {
		ck_assert(r[i].box.done);
		ck_assert_int_eq(r[i].box.rc, 0);
		ck_assert_int_eq(r[i].id, i % 100 + 1);
		ck_assert_uint_eq(r[i].nchildren, 5);
		pgorm_query_destroy(r[i].q);
		pgorm_session_destroy(r[i].s);
	}
	pgorm_pool_stats st;
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_le(st.size, 3);
	ck_assert_uint_eq(pgorm_op_count(), 0);
	loop_free(l);
}
END_TEST

/* ---- ops started from done callbacks ---- */

/* Issue 19 (examples/async_uv_service answered 100 of 200 requests): a request started from the
 * done callback of the one before, as the example services do, takes the connection that one
 * just released: the same socket. The adapter must have let go of that socket (the libuv one
 * kept its uv_poll_t on it until the finished op's done callback had returned, so the new
 * op's poll handle could not be registered: uv_poll_init gave UV_EEXIST, and the op sat until
 * its timeout). A pool of one connection makes every request take the previous one's socket;
 * each must be watched as soon as it is attached (not by a later retry). */
typedef struct chain {
	tloop *l;
	pgorm_pool *pool;
	int n, started, ok;
	request r;                  /* the request in flight */
	int last_rc;
} chain;

static void chain_next(chain *ch);

static void chain_done(pgorm_op *op, int rc, void *arg)
{
	(void)op;
	chain *ch = arg;
	request *r = &ch->r;
	ch->last_rc = rc;
	if (rc == 0 && r->id == (ch->started - 1) % 100 + 1 && r->nchildren == 5)
		ch->ok++;
	pgorm_query_destroy(r->q);
	pgorm_session_destroy(r->s);
	r->q = NULL;
	r->s = NULL;
	if (rc == 0)
		chain_next(ch); /* from the done callback: the loop steps it from now on */
}

static void chain_next(chain *ch)
{
	if (ch->started == ch->n)
		return;
	request *r = &ch->r;
	memset(r, 0, sizeof *r);
	r->s = session_on(ch->pool, NULL);
	ck_assert_int_eq(pgorm_query_create(&r->q, r->s, &parent_model), 0);
	ck_assert_int_eq(pgorm_query_filter(r->q, "id", "=", PGORM_INT8(ch->started % 100 + 1)), 0);
	ck_assert_int_eq(pgorm_query_option(r->q, "children", PGORM_LOAD_SELECTIN), 0);
	ch->started++;
	pgorm_op_config cfg = PGORM_OP_CONFIG_INIT;
	cfg.done = chain_done;
	cfg.arg = ch;
	cfg.timeout_ms = 10000;
	pgorm_op *op = NULL;
	ck_assert_int_eq(pgorm_async_run(&op, request_body, r, &cfg), 0);
	loop_add(ch->l, op);
	/* started from a done callback, it waits for its result on the connection the op before
	 * released (the first one may wait for the pool's first connect): watched at once */
	if (ch->started > 1)
		ck_assert_msg(loop_watches(ch->l, op), "request %d: its socket is not watched", ch->started);
}

START_TEST(test_issue_19_next_request_from_done_callback)
{
	pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
	pc.conninfo = pgtest_dsn();
	pc.max_size = 1;
	pgorm_error err;
	chain ch = { .n = 20 };
	ck_assert_msg(pgorm_pool_create(&ch.pool, &pc, &err) == 0, "pool: %s", err.message);
	ch.l = loop_new();
	double t0 = pgtest_now_ms();
	chain_next(&ch);
	run(ch.l);
	ck_assert_msg(ch.last_rc == 0, "request %d of %d: %s", ch.started, ch.n, pgorm_err_name(ch.last_rc));
	ck_assert_int_eq(ch.ok, ch.n);
	ck_assert_double_lt(pgtest_now_ms() - t0, 5000); /* none sat until a deadline */
	pgorm_pool_stats st;
	pgorm_pool_stats_get(ch.pool, &st);
	ck_assert_uint_eq(st.size, 1);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_BROKEN], 0);
	ck_assert_uint_eq(pgorm_op_count(), 0);
	loop_free(ch.l);
	pgorm_pool_destroy(ch.pool);
}
END_TEST

#ifdef ASYNC_SERVICE
/* The adapter's example service (examples/async_<adapter>_service: one thread, one loop, each
 * request started from the done callback of an earlier one) with 200 requests over 4
 * connections: every answer right, and it says so. */
START_TEST(test_example_service)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(ASYNC_SERVICE, ASYNC_SERVICE, pgtest_dsn(), "200", "4", (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", ASYNC_SERVICE, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	static char out[4096];
	size_t n = 0;
	for (ssize_t r; n < sizeof out - 1 && (r = read(fds[0], out + n, sizeof out - 1 - n)) != 0;) {
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_msg(r > 0, "read: %s", strerror(errno));
		n += (size_t)r;
	}
	out[n] = 0;
	close(fds[0]);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "%s exited with status %d; output:\n%s", ASYNC_SERVICE,
	              WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws), out);
	ck_assert_msg(strstr(out, "200 requests: 200 answered correctly, 0 failed\n") != NULL, "output:\n%s", out);
}
END_TEST
#endif

/* ---- cancellation and timeouts ---- */

typedef struct sleeper {
	pgorm_pool *p;
	const char *sql;
	int pid;
} sleeper;

static int sleep_body(void *arg)
{
	sleeper *z = arg;
	pgorm_conn *c = NULL;
	int rc = pgorm_pool_acquire(z->p, &c, NULL);
	if (rc != 0)
		return rc;
	z->pid = PQbackendPID(c->pq);
	rc = pgorm_conn_exec(c, z->sql, 0, NULL, NULL);
	pgorm_pool_release(z->p, c);
	return rc;
}

/* ops running "SELECT pg_sleep(30)": cancelled, or timed out; the loop never waits on them,
 * the server backend goes away, the pool discards the connection, later ops succeed */
static void cancel_or_timeout(bool timeout)
{
	tloop *l = loop_new();
	sleeper z = { pool, "SELECT pg_sleep(30)", 0 };
	done_box b;
	memset(&b, 0, sizeof b);
	pgorm_op_config cfg = op_cfg(&b, timeout ? 300 : -1);
	pgorm_op *op = NULL;
	pgorm_pool_stats st0;
	pgorm_pool_stats_get(pool, &st0);
	uint64_t broken0 = st0.closed[PGORM_POOL_CLOSED_BROKEN];
	double t0 = pgtest_now_ms();
	ck_assert_int_eq(pgorm_async_run(&op, sleep_body, &z, &cfg), 0);
	loop_add(l, op);
	if (timeout) {
		longest_step = 0;
		run(l);
		ck_assert_int_eq(b.rc, PGORM_ETIMEDOUT);
		ck_assert_double_ge(b.t - t0, 250);
	} else {
		loop_run_for(l, 150); /* the sleep runs */
		ck_assert(!b.done);
		loop_cancel(l, op);
		ck_assert(b.done);
		ck_assert_int_eq(b.rc, PGORM_ECLOSED);
	}
	ck_assert_double_lt(b.t - t0, 5000);
	ck_assert_int_gt(z.pid, 0);
	/* the connection was closed and the pool discarded it as broken (the server backend ends
	 * when its statement does, or at once with client_connection_check_interval set) */
	pgorm_pool_stats st;
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_BROKEN], broken0 + 1);
	int old_pid = z.pid;
	/* later ops succeed */
	z.sql = "SELECT 1";
	cfg = op_cfg(&b, 5000);
	ASYNC(l, b, pgorm_async_run(&op_, sleep_body, &z, &cfg));
	ck_assert_int_eq(b.rc, 0);
	ck_assert_int_ne(z.pid, old_pid);
	ck_assert_uint_eq(pgorm_op_count(), 0);
	loop_free(l);
}

START_TEST(test_cancel)
{
	cancel_or_timeout(false);
}
END_TEST

START_TEST(test_timeout)
{
	cancel_or_timeout(true);
	ck_assert_double_lt(longest_step, 1000);
}
END_TEST

/* ---- server restart under in-flight ops ---- */

static void *restart_thread(void *arg)
{
	(void)arg;
	pgtest_sleep_ms(300);
	intptr_t rc = pgcluster_ctl(&cluster, "-m fast restart");
	return (void *)rc;
}

START_TEST(test_server_restart_in_flight)
{
	tloop *l = loop_new();
	enum { N = 6 };
	sleeper z[N];
	done_box b[N];
	for (int i = 0; i < N; i++) { /* 3 on the pool's connections, 3 waiting for one */
		z[i] = (sleeper){ pool, "SELECT pg_sleep(3)", 0 };
		memset(&b[i], 0, sizeof b[i]);
		pgorm_op_config cfg = op_cfg(&b[i], 60000);
		pgorm_op *op = NULL;
		ck_assert_int_eq(pgorm_async_run(&op, sleep_body, &z[i], &cfg), 0);
		loop_add(l, op);
	}
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, restart_thread, NULL), 0);
	longest_step = 0;
	run(l);
	void *trc = NULL;
	pthread_join(th, &trc);
	ck_assert_ptr_null(trc);
	ck_assert_double_lt(longest_step, 1000); /* the restart took seconds; no step waited on it */
	int failed = 0;
	for (int i = 0; i < N; i++) {
		ck_assert(b[i].done);
		ck_assert_msg(b[i].rc == 0 || b[i].rc == PGORM_ECONN, "op %d: %s", i, pgorm_err_name(b[i].rc));
		failed += b[i].rc == PGORM_ECONN;
	}
	ck_assert_int_ge(failed, 3); /* those whose statement was running */
	/* later ops succeed (connection errors only until the pool has reconnected) */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			z[i].sql = "SELECT 1";
			memset(&b[i], 0, sizeof b[i]);
			pgorm_op_config cfg = op_cfg(&b[i], 20000);
			pgorm_op *op = NULL;
			ck_assert_int_eq(pgorm_async_run(&op, sleep_body, &z[i], &cfg), 0);
			loop_add(l, op);
		}
		run(l);
	}
	for (int i = 0; i < N; i++)
		ck_assert_msg(b[i].rc == 0, "op %d after the restart: %s", i, pgorm_err_name(b[i].rc));
	loop_free(l);
}
END_TEST

int main(void)
{
	pgcluster_start(&cluster, SUITE, false, NULL);
	setenv("PGORM_TEST_DSN", cluster.dsn, 1);
	Suite *s = suite_create(SUITE);
	TCase *tc = pgtest_tcase(s, ADAPTER, 120, setup, teardown);
	tcase_add_test(tc, test_query_get_load_equal_blocking);
	tcase_add_test(tc, test_cascade_commit_and_failed_flush_equal_blocking);
	tcase_add_test(tc, test_large_flush_pipeline);
	tcase_add_test(tc, test_many_concurrent_over_small_pool);
	tcase_add_test(tc, test_issue_19_next_request_from_done_callback);
#ifdef ASYNC_SERVICE
	tcase_add_test(tc, test_example_service);
#endif
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_server_restart_in_flight);
	int rc = pgtest_run(s);
	pgcluster_stop(&cluster);
	return rc;
}
