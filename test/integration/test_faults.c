/* Fault injection: connections lost at each phase of a commit (through test/common/pgproxy, or
 * pg_terminate_backend), the in-doubt COMMIT, server restarts and outages under 8 threads,
 * max_connections exhausted, statement_timeout in the middle of a flush.
 *
 * Runs on its OWN throwaway cluster (test/pgtmp with PGTMP_PORT: TCP on 127.0.0.1), never on
 * PGORM_TEST_DSN, since it terminates backends, restarts the server and changes its settings.
 * The proxy lives in the checked fixture (threads do not survive Check's fork). Assertions
 * are on behaviour — error codes, rows in the database, object states — never on timing
 * counters; every wait is bounded. */
#include "pgcluster.h"
#include "pgproxy.h"
#include "pgtest.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pgcluster cluster;
static char tcp_dsn[256];

/* ---- models: a parent with children (generated keys, FK synced from the relationship) ---- */

typedef struct FParent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;
} FParent;

typedef struct FChild {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	FParent *parent;
} FChild;

extern const pgorm_model fparent_model, fchild_model;
static const pgorm_column fparent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, FParent, id),
	PGORM_COLUMN(TEXT, "name", 0, FParent, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship fparent_rels[] = {
	PGORM_ONE_TO_MANY("children", FParent, children, &fchild_model, "parent_id", "parent", 0),
	PGORM_RELATIONSHIP_END
};
const pgorm_model fparent_model = PGORM_MODEL("fparent", FParent, fparent_cols, fparent_rels);
static const pgorm_column fchild_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, FChild, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, FChild, parent_id, "fparent", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, FChild, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship fchild_rels[] = {
	PGORM_MANY_TO_ONE("parent", FChild, parent, &fparent_model, "parent_id", "children"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model fchild_model = PGORM_MODEL("fchild", FChild, fchild_cols, fchild_rels);

/* One row per request of the load test: tag = thread * 1e9 + request number. */
typedef struct FLoad {
	pgorm_object hdr;
	int64_t id;
	int64_t tag;
} FLoad;

static const pgorm_column fload_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, FLoad, id),
	PGORM_COLUMN(INT8, "tag", PGORM_UNIQUE, FLoad, tag),
	PGORM_COLUMN_END
};
static const pgorm_model fload_model = PGORM_MODEL("fload", FLoad, fload_cols, NULL);

/* A deferred foreign key: checked at COMMIT, which the server then refuses. */
typedef struct FDefer {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
} FDefer;

static const pgorm_column fdefer_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, FDefer, id),
	PGORM_COLUMN(INT8, "parent_id", 0, FDefer, parent_id),
	PGORM_COLUMN_END
};
static const pgorm_model fdefer_model = PGORM_MODEL("fdefer", FDefer, fdefer_cols, NULL);

static const char *const schema_sql[] = {
	"CREATE TABLE fparent (id bigserial PRIMARY KEY, name text NOT NULL)",
	"CREATE TABLE fchild (id bigserial PRIMARY KEY, parent_id bigint REFERENCES fparent(id), name text NOT NULL)",
	"CREATE TABLE fload (id bigserial PRIMARY KEY, tag bigint NOT NULL UNIQUE)",
	"CREATE TABLE fdefer (id bigserial PRIMARY KEY, "
	"parent_id bigint NOT NULL REFERENCES fparent(id) DEFERRABLE INITIALLY DEFERRED)",
	/* a row here makes every INSERT INTO fchild sleep secs: a statement to time a fault with */
	"CREATE TABLE fault_sleep (secs float8 NOT NULL)",
	"CREATE FUNCTION fault_sleep() RETURNS trigger LANGUAGE plpgsql AS "
	"$$ BEGIN PERFORM pg_sleep(secs) FROM fault_sleep; RETURN NULL; END $$",
	"CREATE TRIGGER fchild_sleep BEFORE INSERT ON fchild FOR EACH STATEMENT EXECUTE FUNCTION fault_sleep()",
};

/* ---- fixture (checked: runs in Check's child process, where the proxy threads live) ---- */

static pgorm_registry *reg;
static pgorm_conn *admin;      /* unix socket, autocommit: checks and setup */
static pgproxy *proxy;
static char proxy_dsn[256];
static pgorm_pool *ppool;      /* through the proxy */

static pgorm_conn *connect_dsn(const char *dsn)
{
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = dsn;
	cfg.stmt_mode = PGORM_STMT_UNNAMED;
	pgorm_conn *c = NULL;
	pgorm_error err;
	int rc = pgorm_conn_connect(&c, &cfg, &err);
	ck_assert_msg(rc == 0, "connect %s: %s", dsn, err.message);
	return c;
}

static pgorm_pool *make_pool_mode(const char *dsn, size_t max_size, long acquire_timeout_ms, pgorm_stmt_mode mode)
{
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = dsn;
	cfg.min_idle = 0;
	cfg.max_size = max_size;
	cfg.acquire_timeout_ms = acquire_timeout_ms;
	cfg.backoff_min_ms = 20;
	cfg.backoff_max_ms = 400;
	cfg.stmt_mode = mode;
	pgorm_pool *p = NULL;
	pgorm_error err;
	int rc = pgorm_pool_create(&p, &cfg, &err);
	ck_assert_msg(rc == 0, "pool: %s", err.message);
	return p;
}

/* UNNAMED: every statement carries its SQL, so the proxy can match it. */
static pgorm_pool *make_pool(const char *dsn, size_t max_size, long acquire_timeout_ms)
{
	return make_pool_mode(dsn, max_size, acquire_timeout_ms, PGORM_STMT_UNNAMED);
}

static void setup(void)
{
	const pgorm_model *models[] = { &fparent_model, &fchild_model, &fload_model, &fdefer_model };
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(&reg, models, 4, &err) == 0, "%s", err.message);
	admin = connect_dsn(cluster.dsn);
	pgtest_exec(admin, "TRUNCATE fdefer, fchild, fparent, fload, fault_sleep RESTART IDENTITY");
	proxy = pgproxy_start(cluster.port);
	ck_assert_ptr_nonnull(proxy);
	pgproxy_dsn(proxy, proxy_dsn, sizeof proxy_dsn, "user=postgres dbname=postgres");
	ppool = make_pool(proxy_dsn, 2, 10000);
}

static void teardown(void)
{
	pgorm_pool_destroy(ppool);
	pgproxy_stop(proxy);
	pgorm_conn_close(admin);
	pgorm_registry_destroy(reg);
}

static pgorm_session *new_session(pgorm_pool *pool)
{
	pgorm_session *s = NULL;
	pgorm_error err;
	int rc = pgorm_session_create(&s, reg, pool, NULL, NULL, &err);
	ck_assert_msg(rc == 0, "session: %s", err.message);
	return s;
}

/* ---- checks ---- */

static int64_t count_where(pgorm_conn *c, const char *sql, pgorm_value v)
{
	pgorm_result *r = NULL;
	int rc = pgorm_conn_exec(c, sql, 1, &v, &r);
	ck_assert_msg(rc == 0, "%s: %s", sql, pgorm_conn_error(c)->message);
	int64_t n = -1;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &n), 0);
	pgorm_result_free(r);
	return n;
}

/* Rows of the family `name` in the database: the parent and its two children. */
static int64_t family_rows(const char *name)
{
	char like[128];
	snprintf(like, sizeof like, "%s-_", name);
	return count_where(admin, "SELECT count(*) FROM fparent WHERE name = $1", PGORM_TEXT(name)) +
	       count_where(admin, "SELECT count(*) FROM fchild WHERE name LIKE $1", PGORM_TEXT(like));
}

static bool row_exists(const char *table, int64_t id)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE id = $1", table); /* table: a constant */
	return count_where(admin, sql, PGORM_INT8(id)) == 1;
}

/* A parent `name` with children name-a and name-b, added to s (all PENDING). */
static FParent *add_family(pgorm_session *s, const char *name, FChild **a, FChild **b)
{
	const pgorm_rel *children = pgorm_registry_rel(reg, &fparent_model, "children");
	ck_assert_ptr_nonnull(children);
	FParent *p = pgorm_object_new(s, &fparent_model);
	ck_assert_ptr_nonnull(p);
	p->name = pgorm_strdup(s, name);
	FChild *kids[2];
	for (int i = 0; i < 2; i++) {
		char buf[128];
		snprintf(buf, sizeof buf, "%s-%c", name, 'a' + i);
		kids[i] = pgorm_object_new(s, &fchild_model);
		ck_assert_ptr_nonnull(kids[i]);
		kids[i]->name = pgorm_strdup(s, buf);
		ck_assert_int_eq(pgorm_rel_append(s, children, p, kids[i]), 0);
	}
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	*a = kids[0];
	*b = kids[1];
	return p;
}

/* The retry after a definite failure: a new session on the pool does the work again. */
static void retry_family(const char *name)
{
	pgorm_session *s = new_session(ppool);
	FChild *a, *b;
	FParent *p = add_family(s, name, &a, &b);
	int rc = pgorm_session_commit(s);
	ck_assert_msg(rc == 0, "retry: %s: %s", pgorm_err_name(rc), pgorm_session_error(s)->message);
	ck_assert_int_gt(p->id, 0);
	ck_assert_int_eq(a->parent_id, p->id);
	ck_assert_int_eq(b->parent_id, p->id);
	pgorm_session_destroy(s);
	ck_assert_int_eq(family_rows(name), 3);
}

/* ---- 1. test/pgtmp with PGTMP_PORT ---- */

/* pgtmp wrote `listen_addresses = 127.0.0.1` unquoted: a syntax error, the server did not
 * start. This program's cluster is started with PGTMP_PORT; connect to it over TCP. */
START_TEST(test_issue_pgtmp_tcp_port)
{
	pgorm_conn *c = connect_dsn(tcp_dsn);
	ck_assert_str_eq(pgtest_text(c, "SELECT inet_server_addr()::text"), "127.0.0.1/32");
	ck_assert_str_eq(pgtest_text(c, "SHOW listen_addresses"), "127.0.0.1,::1");
	ck_assert_int_eq(pgtest_int(c, "SELECT inet_server_port()"), cluster.port);
	pgorm_conn_close(c);
}
END_TEST

/* ---- 2. the in-doubt COMMIT ---- */

/* The server commits; the reply never reaches the client (the proxy drops the connection once
 * the server has answered COMMIT). Before the fix: PGORM_ECONN, and the rollback the session
 * then demanded made the objects TRANSIENT with their keys reset, so the natural retry inserted
 * everything a second time. */
START_TEST(test_issue_commit_reply_lost)
{
	pgorm_session *s = new_session(ppool);
	FChild *a, *b;
	FParent *p = add_family(s, "lost", &a, &b);
	pgproxy_arm(proxy, PGPROXY_DROP_REPLY, "COMMIT");
	int rc = pgorm_session_commit(s);
	ck_assert_int_eq(pgproxy_fired(proxy), 1);
	const pgorm_error *e = pgorm_session_error(s);
	ck_assert_msg(rc == PGORM_ECOMMIT_UNKNOWN, "commit: %s: %s", pgorm_err_name(rc), e->message);
	ck_assert_int_eq(e->code, PGORM_ECOMMIT_UNKNOWN);
	ck_assert(pgorm_error_is_connection(e));
	ck_assert_msg(strstr(e->message, "COMMIT") != NULL, "message: %s", e->message);
	fprintf(stderr, "in doubt: %s\n", e->message);
	/* it did commit */
	ck_assert_int_eq(family_rows("lost"), 3);
	/* the objects kept their state and keys, which are the rows' keys */
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgorm_object_state(b), PGORM_STATE_PERSISTENT);
	ck_assert(row_exists("fparent", p->id));
	ck_assert(row_exists("fchild", a->id));
	ck_assert(row_exists("fchild", b->id));
	ck_assert_int_eq(a->parent_id, p->id);
	/* the naive retry (rollback, add again, commit) no longer duplicates anything */
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
	ck_assert_int_gt(p->id, 0);
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(family_rows("lost"), 3);
	/* the documented check: refresh finds the row; the session works on */
	ck_assert_int_eq(pgorm_session_refresh(s, p), 0);
	ck_assert_str_eq(p->name, "lost");
	p->name = pgorm_strdup(s, "lost2");
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(count_where(admin, "SELECT count(*) FROM fparent WHERE name = $1", PGORM_TEXT("lost2")), 1);
	pgorm_session_destroy(s);
}
END_TEST

/* New rows nothing else in the commit refers to read their generated keys back (INSERT …
 * RETURNING) in the batch that carries COMMIT: 1 round trip. When that batch's answer is lost,
 * the keys are unknown: in doubt, those objects leave the session TRANSIENT with no key (their
 * rows may exist; here they do), the error says so and names the first; the persistent parent
 * is as after any in-doubt commit. */
START_TEST(test_new_rows_in_doubt_keys_unknown)
{
	retry_family("kparent");
	pgorm_session *s = new_session(ppool);
	FParent *p = NULL;
	pgorm_value key = PGORM_INT8(count_where(admin, "SELECT max(id) FROM fparent WHERE name = $1", PGORM_TEXT("kparent")));
	ck_assert_int_eq(pgorm_session_get(s, &fparent_model, &key, (void **)&p), 0);
	const pgorm_rel *parent = pgorm_registry_rel(reg, &fchild_model, "parent");
	FChild *k[2];
	for (int i = 0; i < 2; i++) {
		k[i] = pgorm_object_new(s, &fchild_model);
		ck_assert_ptr_nonnull(k[i]);
		k[i]->name = pgorm_strdup(s, i ? "kdoubt-b" : "kdoubt-a");
		ck_assert_int_eq(pgorm_rel_set(s, parent, k[i], p), 0);
		ck_assert_int_eq(pgorm_session_add(s, k[i]), 0);
	}
	pgproxy_arm(proxy, PGPROXY_DROP_REPLY, "COMMIT");
	int rc = pgorm_session_commit(s);
	ck_assert_int_eq(pgproxy_fired(proxy), 1);
	const pgorm_error *e = pgorm_session_error(s);
	ck_assert_msg(rc == PGORM_ECOMMIT_UNKNOWN, "commit: %s: %s", pgorm_err_name(rc), e->message);
	ck_assert_msg(strstr(e->message, "keys unknown") != NULL, "message: %s", e->message);
	ck_assert_ptr_eq(pgorm_session_error_object(s), k[0]);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pgorm_object_state(k[i]), PGORM_STATE_TRANSIENT);
		ck_assert_int_eq(k[i]->id, 0);
	}
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(count_where(admin, "SELECT count(*) FROM fchild WHERE name LIKE $1", PGORM_TEXT("kdoubt-_")), 2);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	pgorm_session_destroy(s);
}
END_TEST

/* The COMMIT never reaches the server (the proxy drops the connection instead of forwarding
 * it): the client cannot tell this from the case above, so the code is the same; the check
 * finds no row and the retry does the work once. */
START_TEST(test_commit_never_arrived)
{
	retry_family("victim");
	pgorm_session *s = new_session(ppool);
	FParent *victim = NULL;
	int64_t victim_id = count_where(admin, "SELECT max(id) FROM fparent WHERE name = $1", PGORM_TEXT("victim"));
	pgorm_value key = PGORM_INT8(victim_id);
	ck_assert_int_eq(pgorm_session_get(s, &fparent_model, &key, (void **)&victim), 0);
	ck_assert_int_eq(pgorm_session_delete(s, victim), 0);
	FChild *a, *b;
	FParent *p = add_family(s, "never", &a, &b);
	pgproxy_arm(proxy, PGPROXY_DROP_BEFORE, "COMMIT");
	int rc = pgorm_session_commit(s);
	ck_assert_int_eq(pgproxy_fired(proxy), 1);
	ck_assert_msg(rc == PGORM_ECOMMIT_UNKNOWN, "commit: %s: %s", pgorm_err_name(rc), pgorm_session_error(s)->message);
	ck_assert_int_eq(family_rows("never"), 0);
	ck_assert_int_eq(family_rows("victim"), 3);
	/* as after a commit: inserted objects persistent with their keys, the deleted one detached */
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
	ck_assert_int_gt(p->id, 0);
	ck_assert_int_eq(a->parent_id, p->id);
	ck_assert_int_eq(pgorm_object_state(victim), PGORM_STATE_DETACHED);
	/* the documented check: the row is not there, refresh says so and detaches the object;
	 * the deleted row is still there and loads again */
	ck_assert_int_eq(pgorm_session_refresh(s, p), PGORM_ENOTFOUND);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_DETACHED);
	FParent *again = NULL;
	ck_assert_int_eq(pgorm_session_get(s, &fparent_model, &key, (void **)&again), 0);
	ck_assert_int_eq(pgorm_object_state(again), PGORM_STATE_PERSISTENT);
	ck_assert_str_eq(again->name, "victim");
	pgorm_session_destroy(s);
	retry_family("never");
}
END_TEST

/* COMMIT's CommandComplete arrives, its ReadyForQuery does not. */
START_TEST(test_commit_answered_ready_lost)
{
	pgorm_session *s = new_session(ppool);
	FChild *a, *b;
	FParent *p = add_family(s, "ready", &a, &b);
	pgproxy_arm(proxy, PGPROXY_DROP_AT_READY, "COMMIT");
	int rc = pgorm_session_commit(s);
	ck_assert_int_eq(pgproxy_fired(proxy), 1);
	fprintf(stderr, "COMMIT answered, ReadyForQuery lost: %s: %s\n", pgorm_err_name(rc), pgorm_session_error(s)->message);
	ck_assert_msg(rc == 0 || rc == PGORM_ECOMMIT_UNKNOWN, "%s: %s", pgorm_err_name(rc), pgorm_session_error(s)->message);
	ck_assert_int_eq(family_rows("ready"), 3);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
	ck_assert(row_exists("fparent", p->id));
	pgorm_session_destroy(s);
}
END_TEST

/* The connection is lost after the last statement's result and before the Sync's
 * ReadyForQuery: pgorm_conn_pipeline returned 0 (or PGORM_ECONN with "cannot exit pipeline
 * mode while busy"), though outside a transaction block the batch's implicit COMMIT happens at
 * that Sync and an error of it (a deferred constraint) travels in the lost part. Now: PGORM_ECONN
 * with libpq's "server closed the connection unexpectedly". */
START_TEST(test_issue_pipeline_sync_lost)
{
	pgorm_conn *c = connect_dsn(proxy_dsn);
	pgorm_stmt st[2] = { { "INSERT INTO fparent (name) VALUES ('sync1')", 0, NULL },
	                     { "INSERT INTO fparent (name) VALUES ('sync2')", 0, NULL } };
	pgproxy_arm(proxy, PGPROXY_DROP_AT_READY, "sync2");
	int rc = pgorm_conn_pipeline(c, 2, st, NULL);
	ck_assert_int_eq(pgproxy_fired(proxy), 1);
	ck_assert(!pgorm_conn_ok(c));
	ck_assert_msg(rc == PGORM_ECONN, "the Sync was never answered, yet: %s: %s", pgorm_err_name(rc),
	              pgorm_conn_error(c)->message);
	ck_assert_msg(strstr(pgorm_conn_error(c)->message, "pipeline mode") == NULL, "%s", pgorm_conn_error(c)->message);
	pgorm_conn_close(c);
}
END_TEST

/* The server answers COMMIT with an error (a deferred foreign key): the outcome is known, the
 * transaction rolled back; this is not the in-doubt case. */
START_TEST(test_commit_refused_is_not_in_doubt)
{
	pgorm_session *s = new_session(ppool);
	FDefer *d = pgorm_object_new(s, &fdefer_model);
	ck_assert_ptr_nonnull(d);
	d->parent_id = 424242;
	ck_assert_int_eq(pgorm_session_add(s, d), 0);
	int rc = pgorm_session_commit(s);
	const pgorm_error *e = pgorm_session_error(s);
	ck_assert_msg(rc == PGORM_ECONSTRAINT, "%s: %s", pgorm_err_name(rc), e->message);
	ck_assert_str_eq(e->sqlstate, "23503");
	ck_assert_str_eq(e->statement, "COMMIT");
	ck_assert_int_eq(pgorm_session_commit(s), PGORM_ESTATE);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(pgorm_object_state(d), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(d->id, 0);
	ck_assert_int_eq(count_where(admin, "SELECT count(*) FROM fdefer WHERE parent_id = $1", PGORM_INT8(424242)), 0);
	pgorm_session_destroy(s);
}
END_TEST

/* A session joined to the caller's transaction ends with RELEASE SAVEPOINT, not COMMIT: losing
 * the connection there loses the caller's transaction, nothing is in doubt. */
START_TEST(test_joined_session_lost_at_release_is_not_in_doubt)
{
	pgorm_conn *c = connect_dsn(proxy_dsn);
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	pgorm_session *s = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_session_create(&s, reg, NULL, c, NULL, &err), 0);
	FChild *a, *b;
	add_family(s, "joined", &a, &b);
	pgproxy_arm(proxy, PGPROXY_DROP_REPLY, "RELEASE");
	int rc = pgorm_session_commit(s);
	ck_assert_int_eq(pgproxy_fired(proxy), 1);
	ck_assert_msg(rc == PGORM_ECONN, "%s: %s", pgorm_err_name(rc), pgorm_session_error(s)->message);
	ck_assert_int_eq(family_rows("joined"), 0);
	pgorm_session_destroy(s);
	pgorm_conn_close(c);
}
END_TEST

static int backend_pid(pgorm_session *s)
{
	pgorm_conn *c = pgorm_session_connection(s);
	ck_assert_ptr_nonnull(c);
	return (int)pgtest_int(c, "SELECT pg_backend_pid()");
}

/* Bound of every wait for the server or the pool to get somewhere (a backend gone, every load
 * thread served again after a fault): generous for valgrind on a loaded machine; a wait
 * returns as soon as its condition holds. */
#define RECOVER_MS 60000.0

/* Wait (bounded) until the backend is gone. */
static void terminate(int pid)
{
	ck_assert_int_eq(count_where(admin, "SELECT count(*) FROM pg_terminate_backend($1) AS t(ok) WHERE ok",
	                             PGORM_INT4(pid)), 1);
	for (double w0 = pgtest_now_ms(); pgtest_now_ms() - w0 < RECOVER_MS;) {
		if (count_where(admin, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", PGORM_INT4(pid)) == 0)
			return;
		pgtest_sleep_ms(10);
	}
	ck_abort_msg("backend %d still there %.0f s after pg_terminate_backend", pid, RECOVER_MS / 1000);
}

/* pg_terminate_backend while the transaction is open after a flush: the client only learns it
 * when it sends COMMIT. Whether the server got that far is unknown to it. */
START_TEST(test_commit_after_backend_terminated)
{
	pgorm_session *s = new_session(ppool);
	FChild *a, *b;
	FParent *p = add_family(s, "term", &a, &b);
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	terminate(backend_pid(s));
	int rc = pgorm_session_commit(s);
	ck_assert_msg(rc == PGORM_ECOMMIT_UNKNOWN, "commit: %s: %s", pgorm_err_name(rc), pgorm_session_error(s)->message);
	ck_assert_int_eq(family_rows("term"), 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgorm_session_refresh(s, p), PGORM_ENOTFOUND);
	pgorm_session_destroy(s);
	retry_family("term");
}
END_TEST

/* ---- 3. a connection lost at each phase of a multi-statement commit ---- */

/* What the client can know when the connection is lost at a phase (issue 17: BEGIN travels with
 * the key reservation, COMMIT with the flush's statements): lost before the COMMIT went out, a
 * connection error and nothing written; lost after it went out and before its answer, in doubt
 * (whether the server ran it or not); its answer received, committed. */
enum phase_outcome { LOST, IN_DOUBT_ABSENT, IN_DOUBT_COMMITTED, COMMITTED };

static const struct phase {
	const char *name;
	pgproxy_action action;
	const char *needle;
	enum phase_outcome outcome;
} phases[] = {
	{ "before BEGIN", PGPROXY_DROP_BEFORE, "BEGIN", LOST },
	{ "at key reservation", PGPROXY_DROP_BEFORE, "nextval", LOST },
	{ "after key reservation", PGPROXY_DROP_BEFORE, "INSERT INTO \"fparent\"", IN_DOUBT_ABSENT },
	{ "mid-pipeline (parent inserted)", PGPROXY_DROP_BEFORE, "INSERT INTO \"fchild\"", IN_DOUBT_ABSENT },
	{ "flush answered, reply lost", PGPROXY_DROP_REPLY, "INSERT INTO \"fchild\"", IN_DOUBT_COMMITTED },
	{ "flush results relayed, end of batch lost", PGPROXY_DROP_AT_READY, "INSERT INTO \"fchild\"", COMMITTED },
};

/* All or nothing in the database. Lost before COMMIT went out: a connection error, the session
 * needs a rollback, which makes the new objects TRANSIENT with their generated keys reset (as
 * documented). In doubt: PGORM_ECOMMIT_UNKNOWN, the objects as after a commit, refresh tells.
 * Committed: 0 (the connection is dropped). A retry on a new session succeeds. */
START_TEST(test_lost_at_phase)
{
	const struct phase *ph = &phases[_i];
	char name[32];
	snprintf(name, sizeof name, "phase%d", _i);
	pgorm_session *s = new_session(ppool);
	FChild *a, *b;
	FParent *p = add_family(s, name, &a, &b);
	pgproxy_arm(proxy, ph->action, ph->needle);
	int rc = pgorm_session_commit(s);
	ck_assert_msg(pgproxy_fired(proxy) == 1, "%s: the proxy never saw %s", ph->name, ph->needle);
	const pgorm_error *e = pgorm_session_error(s);
	fprintf(stderr, "lost %s: %s: %s\n", ph->name, pgorm_err_name(rc), e->message);
	if (ph->outcome == COMMITTED) {
		ck_assert_msg(rc == 0, "%s: %s: %s", ph->name, pgorm_err_name(rc), e->message);
		ck_assert_int_eq(family_rows(name), 3);
		ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
		ck_assert(row_exists("fchild", a->id));
		pgorm_session_destroy(s);
		return;
	}
	if (ph->outcome != LOST) {
		ck_assert_msg(rc == PGORM_ECOMMIT_UNKNOWN, "%s: %s: %s", ph->name, pgorm_err_name(rc), e->message);
		ck_assert(pgorm_error_is_connection(e));
		ck_assert_int_eq(family_rows(name), ph->outcome == IN_DOUBT_COMMITTED ? 3 : 0);
		ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
		ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_PERSISTENT);
		ck_assert_int_gt(p->id, 0);
		ck_assert_int_eq(a->parent_id, p->id);
		ck_assert_int_eq(pgorm_session_refresh(s, p), ph->outcome == IN_DOUBT_COMMITTED ? 0 : PGORM_ENOTFOUND);
		pgorm_session_destroy(s);
		if (ph->outcome == IN_DOUBT_ABSENT)
			retry_family(name);
		return;
	}
	ck_assert_msg(rc == PGORM_ECONN, "%s: %s: %s", ph->name, pgorm_err_name(rc), e->message);
	ck_assert(pgorm_error_is_connection(e));
	ck_assert_msg(e->message[0] != '\0', "%s: empty message", ph->name);
	ck_assert_int_eq(family_rows(name), 0);
	/* the session refuses work until rolled back */
	ck_assert_int_eq(pgorm_session_commit(s), PGORM_ESTATE);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(p->id, 0);
	ck_assert_int_eq(a->id, 0);
	pgorm_session_destroy(s);
	retry_family(name);
}
END_TEST

/* pg_terminate_backend while an INSERT of the flush runs (it sleeps in a trigger). */
typedef struct killer {
	int killed;
} killer;

static void *kill_sleeper(void *arg)
{
	killer *k = arg;
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = cluster.dsn;
	pgorm_conn *c = NULL;
	if (pgorm_conn_connect(&c, &cfg, NULL) != 0)
		return NULL;
	/* bounded: 25 s, well inside the 30 s pg_sleep of test_terminated_mid_statement */
	for (double w0 = pgtest_now_ms(); pgtest_now_ms() - w0 < 25000 && k->killed == 0;) {
		pgorm_result *r = NULL;
		int64_t n = 0;
		/* OFFSET 0 keeps pg_terminate_backend out of the WHERE clause, where the planner may
		 * call it before the other conditions (on every backend) */
		if (pgorm_conn_exec(c, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM (SELECT pid "
		                       "FROM pg_stat_activity WHERE wait_event = 'PgSleep' OFFSET 0) AS sleeping",
		                    0, NULL, &r) == 0)
			pgorm_result_int64(r, 0, 0, &n);
		pgorm_result_free(r);
		k->killed = (int)n;
		if (n == 0)
			pgtest_sleep_ms(10);
	}
	pgorm_conn_close(c);
	return NULL;
}

START_TEST(test_terminated_mid_statement)
{
	pgtest_exec(admin, "INSERT INTO fault_sleep VALUES (30)");
	pgorm_session *s = new_session(ppool);
	FChild *a, *b;
	FParent *p = add_family(s, "killed", &a, &b);
	killer k = { 0 };
	pthread_t t;
	pthread_create(&t, NULL, kill_sleeper, &k);
	double t0 = pgtest_now_ms();
	int rc = pgorm_session_commit(s);
	double took = pgtest_now_ms() - t0;
	pthread_join(t, NULL);
	pgtest_exec(admin, "DELETE FROM fault_sleep");
	const pgorm_error *e = pgorm_session_error(s);
	ck_assert_int_eq(k.killed, 1);
	ck_assert_msg(rc == PGORM_ECONN, "%s: %s", pgorm_err_name(rc), e->message);
	ck_assert_str_eq(e->sqlstate, "57P01");
	ck_assert_msg(took < 30000, "commit took %.0f ms: not cut short", took); /* the 30 s sleep */
	ck_assert_int_eq(family_rows("killed"), 0);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_TRANSIENT);
	pgorm_session_destroy(s);
	retry_family("killed");
}
END_TEST

/* ---- 4. statement_timeout in the middle of a flush ---- */

START_TEST(test_statement_timeout_mid_flush)
{
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = tcp_dsn;
	cfg.min_idle = 0;
	cfg.max_size = 1;
	cfg.init_sql = "SET statement_timeout = '300ms'";
	pgorm_pool *pool = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_pool_create(&pool, &cfg, &err) == 0, "%s", err.message);
	pgtest_exec(admin, "INSERT INTO fault_sleep VALUES (5)");
	pgorm_session *s = new_session(pool);
	FChild *a, *b;
	FParent *p = add_family(s, "slow", &a, &b);
	int rc = pgorm_session_commit(s);
	const pgorm_error *e = pgorm_session_error(s);
	ck_assert_msg(rc == PGORM_ESERVER, "%s: %s", pgorm_err_name(rc), e->message);
	ck_assert_str_eq(e->sqlstate, "57014");
	ck_assert(!pgorm_error_is_connection(e));
	ck_assert_int_eq(family_rows("slow"), 0);
	/* consistent: refused until rolled back, the SQLSTATE kept */
	ck_assert_int_eq(pgorm_session_flush(s), PGORM_ESTATE);
	ck_assert_str_eq(pgorm_session_error(s)->sqlstate, "57014");
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(pgorm_object_state(b), PGORM_STATE_TRANSIENT);
	/* retry the same objects once the cause is gone */
	pgtest_exec(admin, "DELETE FROM fault_sleep");
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	rc = pgorm_session_commit(s);
	ck_assert_msg(rc == 0, "retry: %s: %s", pgorm_err_name(rc), pgorm_session_error(s)->message);
	ck_assert_int_eq(family_rows("slow"), 3);
	ck_assert(row_exists("fparent", p->id));
	ck_assert_int_eq(a->parent_id, p->id);
	ck_assert_int_eq(count_where(admin, "SELECT count(*) FROM fchild WHERE parent_id = $1", PGORM_INT8(p->id)), 2);
	pgorm_session_destroy(s);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_eq(st.connects, 1); /* the connection survived the timeout */
	pgorm_pool_destroy(pool);
}
END_TEST

/* ---- 5. max_connections exhausted ---- */

static void restart_with(const char *setting_sql)
{
	pgtest_exec(admin, setting_sql);
	ck_assert_int_eq(pgcluster_ctl(&cluster, "-m fast restart"), 0);
	pgorm_conn_close(admin);
	admin = connect_dsn(cluster.dsn);
}

START_TEST(test_max_connections_exhausted)
{
	restart_with("ALTER SYSTEM SET max_connections = 6");
	ck_assert_str_eq(pgtest_text(admin, "SHOW max_connections"), "6");
	PGconn *hog[16];
	int n = 0;
	char why[256] = "";
	while (n < 16) {
		PGconn *h = PQconnectdb(tcp_dsn);
		if (PQstatus(h) != CONNECTION_OK) {
			snprintf(why, sizeof why, "%s", PQerrorMessage(h));
			PQfinish(h);
			break;
		}
		hog[n++] = h;
	}
	ck_assert_msg(n >= 1 && n <= 6, "%d connections", n);
	ck_assert_msg(strstr(why, "too many clients") != NULL, "%s", why);

	pgorm_pool *pool = make_pool_mode(tcp_dsn, 2, 500, PGORM_STMT_NAMED);
	pgorm_conn *c = NULL;
	pgorm_error err;
	double t0 = pgtest_now_ms();
	int rc = pgorm_pool_acquire(pool, &c, &err);
	double took = pgtest_now_ms() - t0;
	fprintf(stderr, "max_connections: %d connections open, acquire: %s after %.0f ms: %s\n", n + 1,
	        pgorm_err_name(rc), took, err.message);
	ck_assert_int_eq(rc, PGORM_ECONN);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err.message, "too many clients") != NULL, "%s", err.message);
	/* waited out its timeout (53300 is not fail-fast), then returned (generous slack: valgrind) */
	ck_assert_msg(took >= 450 && took < 500 + 20000, "acquire with a 500 ms timeout took %.0f ms", took);
	/* a session on that pool reports the same, and nothing is written */
	pgorm_session *s = new_session(pool);
	FChild *a, *b;
	add_family(s, "full", &a, &b);
	rc = pgorm_session_commit(s);
	ck_assert_msg(rc == PGORM_ECONN && strstr(pgorm_session_error(s)->message, "too many clients"),
	              "%s: %s", pgorm_err_name(rc), pgorm_session_error(s)->message);
	pgorm_session_destroy(s);

	/* one connection freed: the pool gets it (backoff at most 400 ms) */
	PQfinish(hog[--n]);
	t0 = pgtest_now_ms();
	rc = pgorm_pool_acquire_timeout(pool, &c, 60000, &err); /* generous: valgrind, load */
	took = pgtest_now_ms() - t0;
	ck_assert_msg(rc == 0, "after a connection was freed (%.0f ms): %s", took, err.message);
	ck_assert_int_eq(pgtest_int(c, "SELECT 1"), 1);
	ck_assert_int_eq(pgorm_pool_release(pool, c), 0);
	pgorm_pool_destroy(pool);
	while (n > 0)
		PQfinish(hog[--n]);
	restart_with("ALTER SYSTEM RESET max_connections");
	ck_assert_str_eq(pgtest_text(admin, "SHOW max_connections"), "200");
	ck_assert_int_eq(family_rows("full"), 0);
}
END_TEST

/* ---- 6. server restart and stop/start under 8 threads using the pool ---- */

#define NTHREADS 8
#define MAXREQ 400000

typedef struct lreq {
	double t0, t1;
	int rc;
	int64_t tag;
} lreq;

typedef struct load {
	pgorm_pool *pool;
	pthread_mutex_t mu;
	lreq *reqs;
	size_t n;
	int stop;                   /* under mu */
	char msg[16][320];          /* the first failures, under mu */
	size_t nmsg;
	double last_t1[NTHREADS];   /* under mu: when each thread last finished a request */
	double last_ok[NTHREADS];   /* under mu: when each thread last finished a successful one */
} load;

typedef struct worker {
	load *l;
	int id;
} worker;

static bool load_stopped(load *l)
{
	pthread_mutex_lock(&l->mu);
	bool stop = l->stop;
	pthread_mutex_unlock(&l->mu);
	return stop;
}

/* One session per thread; each request inserts one row with a unique tag and commits. */
static void *load_worker(void *arg)
{
	worker *w = arg;
	load *l = w->l;
	pgorm_session *s = NULL;
	if (pgorm_session_create(&s, reg, l->pool, NULL, NULL, NULL) != 0)
		return NULL;
	for (int64_t i = 0; !load_stopped(l); i++) {
		lreq r = { .t0 = pgtest_now_ms(), .tag = (int64_t)w->id * 1000000000 + i };
		FLoad *o = pgorm_object_new(s, &fload_model);
		r.rc = o == NULL ? PGORM_ENOMEM : 0;
		if (r.rc == 0) {
			PGORM_SET(o, tag, r.tag); /* thread 0's first tag is 0: a write of 0 is not seen */
			r.rc = pgorm_session_add(s, o);
		}
		if (r.rc == 0)
			r.rc = pgorm_session_commit(s);
		char msg[320] = "";
		if (r.rc != 0)
			snprintf(msg, sizeof msg, "%.0f ms: %s: %s (%s)", r.t0, pgorm_err_name(r.rc), pgorm_session_error(s)->message,
			         pgorm_session_error(s)->sqlstate);
		if (r.rc != 0 && r.rc != PGORM_ECOMMIT_UNKNOWN)
			pgorm_session_rollback(s);
		if (o != NULL)
			pgorm_session_expunge(s, o); /* keep the session small */
		r.t1 = pgtest_now_ms();
		pthread_mutex_lock(&l->mu);
		if (l->n < MAXREQ)
			l->reqs[l->n++] = r;
		l->last_t1[w->id] = r.t1;
		if (r.rc == 0)
			l->last_ok[w->id] = r.t1;
		if (r.rc != 0 && l->nmsg < 16)
			memcpy(l->msg[l->nmsg++], msg, sizeof msg);
		pthread_mutex_unlock(&l->mu);
	}
	pgorm_session_destroy(s);
	return NULL;
}

/* Wait (bounded) until every thread has finished a successful request after t. */
static void wait_all_ok_after(load *l, double t)
{
	for (double w0 = pgtest_now_ms(); pgtest_now_ms() - w0 < RECOVER_MS;) {
		int n = 0;
		pthread_mutex_lock(&l->mu);
		for (int i = 0; i < NTHREADS; i++)
			n += l->last_ok[i] >= t;
		pthread_mutex_unlock(&l->mu);
		if (n == NTHREADS)
			return;
		pgtest_sleep_ms(20);
	}
}

/* What one fault did to the requests around it. */
static void outage_report(const load *l, const char *what, double down, double up, double next_down)
{
	size_t failed = 0;
	char codes[256] = "";
	double first_ok = -1, all_ok = 0;
	bool thread_ok[NTHREADS] = { false };
	for (size_t i = 0; i < l->n; i++) {
		const lreq *r = &l->reqs[i];
		if (r->t1 < down || r->t0 >= next_down)
			continue;
		if (r->rc != 0) {
			failed++;
			if (strstr(codes, pgorm_err_name(r->rc)) == NULL && strlen(codes) < 200) {
				strcat(codes, " ");
				strcat(codes, pgorm_err_name(r->rc));
			}
			continue;
		}
		if (r->t1 >= up && (first_ok < 0 || r->t1 < first_ok))
			first_ok = r->t1;
		int t = (int)(r->tag / 1000000000);
		if (r->t1 >= up && !thread_ok[t]) {
			thread_ok[t] = true;
			if (r->t1 > all_ok)
				all_ok = r->t1;
		}
	}
	int threads_ok = 0;
	for (int t = 0; t < NTHREADS; t++)
		threads_ok += thread_ok[t];
	fprintf(stderr, "%s: server away %.0f ms; %zu requests failed (of %d in flight; codes:%s), first "
	        "success %.0f ms after it was back, all %d threads succeeded again after %.0f ms\n",
	        what, up - down, failed, NTHREADS, codes[0] ? codes : " none", first_ok - up, threads_ok, all_ok - up);
	/* a request fails only when it had work on a connection the fault killed: at most one
	 * per thread; requests that wait for a connection meanwhile get one when it is back */
	ck_assert_msg(failed <= NTHREADS, "%s: %zu failed requests with %d in flight", what, failed, NTHREADS);
	ck_assert_msg(first_ok >= 0 && threads_ok == NTHREADS, "%s: only %d threads recovered", what, threads_ok);
	ck_assert_msg(all_ok - up < RECOVER_MS, "%s: recovery took %.0f ms", what, all_ok - up);
}

START_TEST(test_restart_and_outage_under_load)
{
	load l = { .pool = make_pool_mode(tcp_dsn, 4, 20000, PGORM_STMT_NAMED) };
	pthread_mutex_init(&l.mu, NULL);
	l.reqs = calloc(MAXREQ, sizeof *l.reqs);
	ck_assert_ptr_nonnull(l.reqs);
	pthread_t t[NTHREADS];
	worker w[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (worker){ &l, i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, load_worker, &w[i]), 0);
	}
	pgtest_sleep_ms(1000);
	double down1 = pgtest_now_ms();
	ck_assert_int_eq(pgcluster_ctl(&cluster, "-m fast restart"), 0);
	double up1 = pgtest_now_ms();
	wait_all_ok_after(&l, up1); /* not a fixed sleep: every thread recovered, however slow the machine */
	double down2 = pgtest_now_ms();
	ck_assert_int_eq(pgcluster_ctl(&cluster, "-m fast stop"), 0);
	pgtest_sleep_ms(2000);
	ck_assert_int_eq(pgcluster_ctl(&cluster, "start"), 0);
	double up2 = pgtest_now_ms();
	wait_all_ok_after(&l, up2);
	pthread_mutex_lock(&l.mu);
	l.stop = 1;
	pthread_mutex_unlock(&l.mu);
	double stop = pgtest_now_ms();
	for (int i = 0; i < NTHREADS; i++) { /* no thread hangs: each ends within 30 s */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 30;
		ck_assert_msg(pthread_timedjoin_np(t[i], NULL, &ts) == 0, "thread %d hangs", i);
	}
	fprintf(stderr, "load: %zu requests by %d threads on a pool of 4, threads stopped %.0f ms after the stop flag\n",
	        l.n, NTHREADS, pgtest_now_ms() - stop);
	fprintf(stderr, "faults at %.0f ms (restart) and %.0f ms (stop)\n", down1, down2);
	for (size_t i = 0; i < l.nmsg; i++)
		fprintf(stderr, "  failed request: %s\n", l.msg[i]);
	ck_assert_uint_lt(l.n, MAXREQ);
	outage_report(&l, "restart (pg_ctl -m fast restart)", down1, up1, down2);
	outage_report(&l, "stop, 2 s down, start", down2, up2, 1e300);
	size_t before = 0;
	for (size_t i = 0; i < l.n; i++)
		before += l.reqs[i].t1 < down1 && l.reqs[i].rc != 0;
	ck_assert_uint_eq(before, 0); /* nothing fails before the first fault */

	/* nothing lost, nothing doubled: every success is a row, every definite failure is not,
	 * an in-doubt commit is either; no other row exists */
	admin = (pgorm_conn_close(admin), connect_dsn(cluster.dsn));
	int64_t *ok = calloc(l.n + 1, sizeof *ok), *bad = calloc(l.n + 1, sizeof *bad),
	        *doubt = calloc(l.n + 1, sizeof *doubt);
	ck_assert(ok && bad && doubt);
	size_t nok = 0, nbad = 0, ndoubt = 0;
	for (size_t i = 0; i < l.n; i++) {
		const lreq *r = &l.reqs[i];
		if (r->rc == 0)
			ok[nok++] = r->tag;
		else if (r->rc == PGORM_ECOMMIT_UNKNOWN)
			doubt[ndoubt++] = r->tag;
		else
			bad[nbad++] = r->tag;
	}
	const char *in = "SELECT count(*) FROM fload WHERE tag = ANY($1)";
	ck_assert_int_eq(count_where(admin, in, PGORM_INT8_ARRAY(ok, nok)), (int64_t)nok);
	ck_assert_int_eq(count_where(admin, in, PGORM_INT8_ARRAY(bad, nbad)), 0);
	int64_t committed = count_where(admin, in, PGORM_INT8_ARRAY(doubt, ndoubt));
	ck_assert_int_eq(pgtest_int(admin, "SELECT count(*) FROM fload"), (int64_t)nok + committed);
	fprintf(stderr, "rows: %zu committed, %zu failed and absent, %zu in doubt of which %lld had committed\n",
	        nok, nbad, ndoubt, (long long)committed);
	free(ok);
	free(bad);
	free(doubt);
	pgorm_pool_destroy(l.pool);
	pthread_mutex_destroy(&l.mu);
	free(l.reqs);
}
END_TEST

int main(void)
{
	pgcluster_start(&cluster, "faults", true, NULL);
	snprintf(tcp_dsn, sizeof tcp_dsn, "host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable",
	         cluster.port);
	PGconn *c = PQconnectdb(cluster.dsn);
	for (size_t i = 0; i < sizeof schema_sql / sizeof schema_sql[0] && PQstatus(c) == CONNECTION_OK; i++) {
		PGresult *r = PQexec(c, schema_sql[i]);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "%s: %s", schema_sql[i], PQerrorMessage(c));
			PQclear(r);
			PQfinish(c);
			pgcluster_stop(&cluster);
			return 1;
		}
		PQclear(r);
	}
	PQfinish(c);

	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("own_cluster");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_issue_pgtmp_tcp_port);
	tcase_add_test(tc, test_issue_commit_reply_lost);
	tcase_add_test(tc, test_commit_never_arrived);
	tcase_add_test(tc, test_commit_answered_ready_lost);
	tcase_add_test(tc, test_commit_refused_is_not_in_doubt);
	tcase_add_test(tc, test_new_rows_in_doubt_keys_unknown);
	tcase_add_test(tc, test_joined_session_lost_at_release_is_not_in_doubt);
	tcase_add_test(tc, test_commit_after_backend_terminated);
	tcase_add_loop_test(tc, test_lost_at_phase, 0, (int)(sizeof phases / sizeof phases[0]));
	tcase_add_test(tc, test_terminated_mid_statement);
	tcase_add_test(tc, test_statement_timeout_mid_flush);
	tcase_add_test(tc, test_max_connections_exhausted);
	tcase_add_test(tc, test_restart_and_outage_under_load);
	tcase_add_test(tc, test_issue_pipeline_sync_lost);
	suite_add_tcase(s, tc);
	int rc = pgtest_run(s);
	pgcluster_stop(&cluster);
	return rc;
}
