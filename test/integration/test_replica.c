/* Issue 18, read replicas: sessions routed by pgorm_router (PGORM_WRITE to the primary,
 * PGORM_READ to a streaming replica), read-your-writes by commit LSN, the fallback to the
 * primary when the replica has not replayed in time (replay paused), writes refused in a read
 * session, and a pool connection that finds itself on a read-only server (25006) discarded.
 * Runs on its OWN throwaway cluster: a primary and one streaming replica (test/pgtmp with
 * PGTMP_REPLICAS=1, replication slot), on unix sockets. Figures are printed, never asserted
 * (timing); assertions are about what each read saw and which server served it. */
#include "pgcluster.h"
#include "pgtest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pgcluster cluster;
static char replica_dsn[512];

typedef struct Note {
	pgorm_object hdr;
	int64_t id;
	char *body;
} Note;

static const pgorm_column note_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Note, id),
	PGORM_COLUMN(TEXT, "body", PGORM_NOT_NULL, Note, body),
	PGORM_COLUMN_END
};
static const pgorm_model note_model = PGORM_MODEL("rnotes", Note, note_cols, NULL);

static pgorm_registry *reg;
static pgorm_pool *primary, *replica;
static pgorm_router *router;

/* The throwaway cluster runs with synchronous_commit off (its WAL reaches the replica only at
 * the WAL writer's next flush, up to 200 ms later); the primary pool commits as a production
 * server does, with synchronous_commit on (flushed at COMMIT, streamed at once). */
static pgorm_pool *make_pool(const char *dsn)
{
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = dsn;
	cfg.init_sql = "SET synchronous_commit = on";
	cfg.max_size = 4;
	cfg.acquire_timeout_ms = 10000;
	pgorm_pool *p = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_pool_create(&p, &cfg, &err) == 0, "%s", err.message);
	ck_assert_msg(pgorm_pool_wait_ready(p, 10000, &err) == 0, "%s", err.message);
	return p;
}

static void make_router(long wait_ms)
{
	pgorm_router_config rc = PGORM_ROUTER_CONFIG_INIT;
	rc.primary = primary;
	rc.replicas = &replica;
	rc.n_replicas = 1;
	rc.wait_ms = wait_ms;
	pgorm_error err;
	ck_assert_msg(pgorm_router_create(&router, &rc, &err) == 0, "%s", err.message);
}

static pgorm_conn *direct(const char *dsn)
{
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = dsn;
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_conn_connect(&c, &cfg, &err) == 0, "%s", err.message);
	return c;
}

/* Checked fixture: registry, the table (replicated), both pools, a router waiting up to 5 s. */
static void setup(void)
{
	pgorm_error err;
	const pgorm_model *models[] = { &note_model };
	ck_assert_msg(pgorm_registry_create(&reg, models, 1, &err) == 0, "%s", err.message);
	pgorm_conn *c = direct(cluster.dsn);
	pgtest_exec(c, "SET synchronous_commit = on");
	pgtest_exec(c, "DROP TABLE IF EXISTS rnotes");
	ck_assert_int_eq(pgorm_registry_create_all(reg, c, false), 0);
	/* the replica has the table before any test reads it (bounded wait) */
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT (pg_last_wal_replay_lsn() >= '%s'::pg_lsn)::text",
	         pgtest_text(c, "SELECT pg_current_wal_insert_lsn()::text"));
	pgorm_conn_close(c);
	pgorm_conn *rc = direct(replica_dsn);
	double t0 = pgtest_now_ms();
	while (strcmp(pgtest_text(rc, sql), "true") != 0) {
		ck_assert_msg(pgtest_now_ms() - t0 < 30000, "the replica does not replay");
		pgtest_sleep_ms(5);
	}
	pgorm_conn_close(rc);
	primary = make_pool(cluster.dsn);
	replica = make_pool(replica_dsn);
	make_router(5000);
}

static void teardown(void)
{
	pgorm_router_destroy(router);
	pgorm_pool_destroy(replica);
	pgorm_pool_destroy(primary);
	pgorm_registry_destroy(reg);
	router = NULL;
	replica = primary = NULL;
	reg = NULL;
}

/* Whether the session's current connection is a standby. */
static bool on_standby(pgorm_session *s)
{
	pgorm_conn *c = pgorm_session_connection(s);
	ck_assert_msg(c != NULL, "%s", pgorm_session_error(s)->message);
	return strcmp(pgtest_text(c, "SELECT pg_is_in_recovery()::text"), "true") == 0;
}

/* A PGORM_WRITE session inserts a note and commits; returns its id, and the commit LSN. */
static int64_t write_note(const char *body, pgorm_lsn *lsn)
{
	pgorm_session *w = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_session_create_routed(&w, reg, router, PGORM_WRITE, PGORM_LSN_NONE, NULL, &err) == 0, "%s",
	              err.message);
	ck_assert(!pgorm_session_is_read_only(w));
	Note *n = pgorm_object_new(w, &note_model);
	n->body = pgorm_strdup(w, body);
	ck_assert_int_eq(pgorm_session_add(w, n), 0);
	ck_assert_msg(pgorm_session_commit(w) == 0, "%s", pgorm_session_error(w)->message);
	*lsn = pgorm_session_commit_lsn(w);
	ck_assert(*lsn != PGORM_LSN_NONE && *lsn != PGORM_LSN_UNKNOWN);
	int64_t id = n->id;
	pgorm_session_destroy(w);
	return id;
}

/* A PGORM_READ session that must see lsn loads note id; returns whether it was found, and
 * whether a standby served it. */
static bool read_note(int64_t id, pgorm_lsn lsn, const char *body, bool *standby)
{
	pgorm_session *r = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_session_create_routed(&r, reg, router, PGORM_READ, lsn, NULL, &err) == 0, "%s", err.message);
	ck_assert(pgorm_session_is_read_only(r));
	Note *n = NULL;
	int rc = pgorm_session_get(r, &note_model, (pgorm_value[]){ PGORM_INT8(id) }, (void **)&n);
	ck_assert_msg(rc == 0 || rc == PGORM_ENOTFOUND, "%s", pgorm_session_error(r)->message);
	if (rc == 0)
		ck_assert_str_eq(n->body, body);
	*standby = on_standby(r);
	ck_assert_int_eq(pgorm_session_commit(r), 0);
	pgorm_session_destroy(r);
	return rc == 0;
}

/* The commit LSN is at or past the end of the transaction's commit record (pg_walinspect). */
START_TEST(test_commit_lsn_covers_commit_record)
{
	pgorm_session *w = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_session_create_routed(&w, reg, router, PGORM_WRITE, PGORM_LSN_NONE, NULL, &err), 0);
	ck_assert_uint_eq(pgorm_session_commit_lsn(w), PGORM_LSN_NONE);
	Note *n = pgorm_object_new(w, &note_model);
	n->body = pgorm_strdup(w, "lsn");
	ck_assert_int_eq(pgorm_session_add(w, n), 0);
	char start[32];
	snprintf(start, sizeof start, "%s", pgtest_text(pgorm_session_connection(w), "SELECT pg_current_wal_insert_lsn()::text"));
	ck_assert_int_eq(pgorm_session_flush(w), 0);
	char xid[32];
	snprintf(xid, sizeof xid, "%s", pgtest_text(pgorm_session_connection(w), "SELECT pg_current_xact_id()::text"));
	ck_assert_int_eq(pgorm_session_commit(w), 0);
	pgorm_lsn lsn = pgorm_session_commit_lsn(w);
	pgorm_session_destroy(w);

	pgorm_conn *c = direct(cluster.dsn);
	pgtest_exec(c, "CREATE EXTENSION IF NOT EXISTS pg_walinspect");
	char sql[512];
	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM pg_get_wal_records_info('%s', '%X/%X') "
	         "WHERE resource_manager = 'Transaction' AND record_type = 'COMMIT' AND xid::text = '%s' "
	         "AND end_lsn <= '%X/%X'",
	         start, (unsigned)(lsn >> 32), (unsigned)lsn, xid, (unsigned)(lsn >> 32), (unsigned)lsn);
	ck_assert_msg(pgtest_int(c, sql) == 1, "no COMMIT record of xid %s ends at or before %X/%X", xid,
	              (unsigned)(lsn >> 32), (unsigned)lsn);
	pgorm_conn_close(c);

	/* a COMMIT that fails (a deferred unique constraint) leaves the LSN unknown, not the last one */
	ck_assert_int_eq(pgorm_session_create_routed(&w, reg, router, PGORM_WRITE, PGORM_LSN_NONE, NULL, &err), 0);
	n = pgorm_object_new(w, &note_model);
	n->body = pgorm_strdup(w, "ok");
	ck_assert_int_eq(pgorm_session_add(w, n), 0);
	ck_assert_int_eq(pgorm_session_commit(w), 0);
	ck_assert(pgorm_session_commit_lsn(w) != PGORM_LSN_UNKNOWN);
	n = pgorm_object_new(w, &note_model);
	n->body = pgorm_strdup(w, "fails at commit");
	ck_assert_int_eq(pgorm_session_add(w, n), 0);
	ck_assert_int_eq(pgorm_session_flush(w), 0);
	pgtest_exec(pgorm_session_connection(w), "CREATE TEMP TABLE dup (x int UNIQUE DEFERRABLE INITIALLY DEFERRED)");
	pgtest_exec(pgorm_session_connection(w), "INSERT INTO dup VALUES (1), (1)");
	ck_assert_int_eq(pgorm_session_commit(w), PGORM_ECONSTRAINT);
	ck_assert_uint_eq(pgorm_session_commit_lsn(w), PGORM_LSN_UNKNOWN);
	pgorm_session_destroy(w);
}
END_TEST

/* Write, then at once read through the replica asking for the commit: every read sees its
 * write. Without the LSN the same reads are counted (not asserted: timing). */
START_TEST(test_read_your_writes_through_replica)
{
	enum { N = 100 };
	int seen = 0, on_replica = 0, blind_missed = 0;
	double t0 = pgtest_now_ms();
	for (int i = 0; i < N; i++) {
		char body[32];
		snprintf(body, sizeof body, "note %d", i);
		pgorm_lsn lsn;
		int64_t id = write_note(body, &lsn);
		bool standby;
		bool found = read_note(id, lsn, body, &standby);
		ck_assert_msg(found, "write %d (id %lld) not seen by the read session that asked for it", i, (long long)id);
		seen++;
		on_replica += standby;
		/* the same immediately after another write, without asking: may miss it */
		id = write_note(body, &lsn);
		if (!read_note(id, PGORM_LSN_NONE, body, &standby))
			blind_missed++;
	}
	double ms = pgtest_now_ms() - t0;
	pgorm_router_stats st;
	pgorm_router_stats_get(router, &st);
	ck_assert_uint_eq(st.writes, 2 * N);
	ck_assert_uint_eq(st.reads, 2 * N);
	ck_assert_uint_eq(st.lsn_waits, N);
	printf("replica: read-your-writes %d/%d reads saw their write; %d served by the replica, %llu fell back "
	       "to the primary (lag %llu, error %llu); mean wait for replay %.2f ms; without min_lsn %d/%d "
	       "immediate reads missed the write; %d write+read pairs in %.0f ms\n",
	       seen, N, on_replica, (unsigned long long)(st.fallback_lag + st.fallback_error),
	       (unsigned long long)st.fallback_lag, (unsigned long long)st.fallback_error,
	       (double)st.lsn_wait_us / 1e3 / (double)N, blind_missed, N, 2 * N, ms);
	ck_assert_uint_eq(st.replica_reads + st.fallback_lag + st.fallback_error, 2 * N);
	/* replay takes about a millisecond here: within the 5 s wait no read should time out. One
	 * did, before the commit LSN was taken back from past a page header to the page boundary
	 * (a commit record ending there left the replica "behind" until more WAL came) */
	ck_assert_uint_eq(st.fallback_lag, 0);
}
END_TEST

/* The router is shared by threads: 4 threads, each write + read-your-writes, concurrently. */
static void *ryw_thread(void *arg)
{
	int *missed = arg;
	for (int i = 0; i < 25; i++) {
		char body[32];
		snprintf(body, sizeof body, "thread note %d", i);
		pgorm_lsn lsn = PGORM_LSN_NONE;
		pgorm_session *w = NULL, *r = NULL;
		if (pgorm_session_create_routed(&w, reg, router, PGORM_WRITE, PGORM_LSN_NONE, NULL, NULL) != 0) {
			(*missed)++;
			continue;
		}
		Note *n = pgorm_object_new(w, &note_model);
		n->body = pgorm_strdup(w, body);
		int rc = pgorm_session_add(w, n);
		if (rc == 0)
			rc = pgorm_session_commit(w);
		lsn = pgorm_session_commit_lsn(w);
		int64_t id = n->id;
		pgorm_session_destroy(w);
		Note *got = NULL;
		if (rc == 0)
			rc = pgorm_session_create_routed(&r, reg, router, PGORM_READ, lsn, NULL, NULL);
		if (rc == 0)
			rc = pgorm_session_get(r, &note_model, (pgorm_value[]){ PGORM_INT8(id) }, (void **)&got);
		if (rc != 0 || got == NULL || strcmp(got->body, body) != 0)
			(*missed)++;
		pgorm_session_destroy(r);
	}
	return NULL;
}

START_TEST(test_router_shared_by_threads)
{
	pthread_t th[4];
	int missed[4] = { 0 };
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, ryw_thread, &missed[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(missed[i] == 0, "thread %d: %d reads did not see their write", i, missed[i]);
	pgorm_router_stats st;
	pgorm_router_stats_get(router, &st);
	ck_assert_uint_eq(st.writes, 100);
	ck_assert_uint_eq(st.reads, 100);
}
END_TEST

/* Replay paused on the replica: the read waits wait_ms, then goes to the primary and sees the
 * write; after resume, reads are served by the replica again. */
START_TEST(test_paused_replay_falls_back_to_primary)
{
	pgorm_router_destroy(router);
	make_router(300);
	pgorm_conn *rc = direct(replica_dsn);
	pgtest_exec(rc, "SELECT pg_wal_replay_pause()");
	pgorm_lsn lsn;
	int64_t id = write_note("while paused", &lsn);
	bool standby = true;
	double t0 = pgtest_now_ms();
	ck_assert(read_note(id, lsn, "while paused", &standby));
	double took = pgtest_now_ms() - t0;
	ck_assert_msg(!standby, "a replica whose replay is paused served a read that asked for a newer commit");
	pgorm_router_stats st;
	pgorm_router_stats_get(router, &st);
	ck_assert_uint_eq(st.fallback_lag, 1);
	ck_assert_uint_eq(st.replica_reads, 0);
	ck_assert_msg(took >= 300 && took < 5000, "the fallback took %.0f ms (wait_ms 300)", took);
	/* an LSN that could not be read goes straight to the primary */
	ck_assert(read_note(id, PGORM_LSN_UNKNOWN, "while paused", &standby));
	ck_assert(!standby);
	pgtest_exec(rc, "SELECT pg_wal_replay_resume()");
	pgorm_conn_close(rc);
	pgorm_router_destroy(router);
	make_router(5000);
	ck_assert(read_note(id, lsn, "while paused", &standby));
	ck_assert_msg(standby, "after resume the replica should serve the read");
	printf("replica: replay paused: fell back to the primary after %.0f ms (wait_ms 300)\n", took);
}
END_TEST

/* A read session refuses writes before sending them; the replica pool keeps its connection. */
START_TEST(test_read_session_refuses_writes)
{
	pgorm_pool_stats before, after;
	pgorm_pool_stats_get(replica, &before);
	pgorm_session *r = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_session_create_routed(&r, reg, router, PGORM_READ, PGORM_LSN_NONE, NULL, &err), 0);
	ck_assert(on_standby(r));
	Note *n = pgorm_object_new(r, &note_model);
	n->body = pgorm_strdup(r, "refused");
	ck_assert_int_eq(pgorm_session_add(r, n), 0);
	int rc = pgorm_session_commit(r);
	ck_assert_int_eq(rc, PGORM_ESTATE);
	const char *msg = pgorm_session_error(r)->message;
	ck_assert_msg(strstr(msg, "read-only session") != NULL && strstr(msg, "PGORM_WRITE") != NULL, "%s", msg);
	ck_assert_int_eq(pgorm_session_rollback(r), 0);
	/* raw SQL that writes, and a row lock, are refused the same way; reads still work */
	pgorm_list l = { 0 };
	static const char *const refused[] = {
		"DELETE FROM rnotes RETURNING id, body",
		"with d AS (delete FROM rnotes RETURNING *) SELECT id, body FROM d",
		"SELECT nextval('rnotes_id_seq') AS id, 'x' AS body",
		"SELECT id, body FROM rnotes FOR SHARE",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		rc = pgorm_session_query_sql(r, &note_model, refused[i], 0, NULL, &l);
		ck_assert_msg(rc == PGORM_ESTATE, "%s: %s", refused[i], pgorm_err_name(rc));
		ck_assert_int_eq(pgorm_session_rollback(r), 0);
	}
	/* the words inside quotes are not statements */
	rc = pgorm_session_query_sql(r, &note_model,
	                             "SELECT id, body AS \"update\" FROM rnotes WHERE body <> 'delete; insert'", 0, NULL, &l);
	ck_assert_msg(rc == 0, "%s", pgorm_session_error(r)->message);
	ck_assert_int_eq(pgorm_session_commit(r), 0);
	pgorm_query *q = NULL;
	ck_assert_int_eq(pgorm_query_create(&q, r, &note_model), 0);
	ck_assert_int_eq(pgorm_query_for_update(q, false), 0);
	ck_assert_int_eq(pgorm_query_all(q, &l), PGORM_ESTATE);
	pgorm_query_destroy(q);
	ck_assert_int_eq(pgorm_session_rollback(r), 0);
	ck_assert_int_eq(pgorm_query_create(&q, r, &note_model), 0);
	ck_assert_int_eq(pgorm_query_all(q, &l), 0);
	pgorm_query_destroy(q);
	ck_assert_int_eq(pgorm_session_commit(r), 0);
	pgorm_session_destroy(r);
	pgorm_pool_stats_get(replica, &after);
	ck_assert_uint_eq(after.closed_total, before.closed_total);
	ck_assert_uint_eq(after.generation, before.generation);
	pgorm_conn *c = direct(cluster.dsn);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM rnotes WHERE body = 'refused'"), 0);
	pgorm_conn_close(c);
}
END_TEST

/* A pool whose server turns out read-only (a former primary: here the replica itself) closes
 * the connection that got 25006 and retires the others (generation bump). */
START_TEST(test_pool_discards_connection_on_read_only_server)
{
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_pool_acquire(replica, &c, &err), 0);
	pgorm_pool_stats before, after;
	pgorm_pool_stats_get(replica, &before);
	int rc = pgorm_conn_exec(c, "INSERT INTO rnotes (body) VALUES ($1)", 1, (pgorm_value[]){ PGORM_TEXT("x") }, NULL);
	ck_assert_int_eq(rc, PGORM_ESERVER);
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "25006");
	ck_assert_int_eq(pgorm_pool_release(replica, c), 0);
	pgorm_pool_stats_get(replica, &after);
	ck_assert_uint_eq(after.closed[PGORM_POOL_CLOSED_BROKEN], before.closed[PGORM_POOL_CLOSED_BROKEN] + 1);
	ck_assert_uint_eq(after.generation, before.generation + 1);
}
END_TEST

START_TEST(test_router_misuse)
{
	pgorm_router *r = NULL, *r2 = NULL;
	pgorm_error err;
	pgorm_router_config rc = PGORM_ROUTER_CONFIG_INIT;
	ck_assert_int_eq(pgorm_router_create(&r, &rc, &err), PGORM_EINVAL);
	rc.primary = primary;
	rc.n_replicas = 1;
	ck_assert_int_eq(pgorm_router_create(&r, &rc, &err), PGORM_EINVAL);
	pgorm_pool *none[] = { NULL };
	rc.replicas = none;
	ck_assert_int_eq(pgorm_router_create(&r, &rc, &err), PGORM_EINVAL);
	rc.n_replicas = 0;
	ck_assert_int_eq(pgorm_router_create(&r, &rc, &err), 0);
	pgorm_session *s = NULL;
	ck_assert_int_eq(pgorm_session_create_routed(&s, reg, r, (pgorm_route)7, 0, NULL, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_session_create_routed(NULL, reg, r, PGORM_READ, 0, NULL, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_session_create_routed(&s, NULL, r, PGORM_READ, 0, NULL, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_session_create_routed(&s, reg, NULL, PGORM_READ, 0, NULL, NULL), PGORM_EINVAL);
	ck_assert_ptr_null(s);
	rc.wait_ms = -1;
	ck_assert_int_eq(pgorm_router_create(&r2, &rc, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_router_create(NULL, &rc, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_router_create(&r2, NULL, NULL), PGORM_EINVAL);
	pgorm_router_stats st;
	pgorm_router_stats_get(NULL, &st);
	pgorm_router_stats_get(r, NULL);
	ck_assert(!pgorm_session_is_read_only(NULL));
	/* no replica: reads go to the primary, writes still refused */
	ck_assert_int_eq(pgorm_session_create_routed(&s, reg, r, PGORM_READ, 1, NULL, &err), 0);
	ck_assert(!on_standby(s));
	ck_assert(pgorm_session_is_read_only(s));
	pgorm_session_destroy(s);
	pgorm_router_destroy(r);
	pgorm_router_destroy(NULL);
	ck_assert_uint_eq(pgorm_session_commit_lsn(NULL), PGORM_LSN_NONE);
}
END_TEST

int main(void)
{
	pgcluster_start(&cluster, "replica", false, (const char *const[]){ "PGTMP_REPLICAS=1", "PGTMP_SLOTS=1", NULL });
	pgcluster_replica_dsn(&cluster, 1, replica_dsn, sizeof replica_dsn);
	Suite *su = suite_create("replica");
	TCase *tc = tcase_create("router");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_router_misuse);
	tcase_add_test(tc, test_commit_lsn_covers_commit_record);
	tcase_add_test(tc, test_read_session_refuses_writes);
	tcase_add_test(tc, test_read_your_writes_through_replica);
	tcase_add_test(tc, test_router_shared_by_threads);
	tcase_add_test(tc, test_paused_replay_falls_back_to_primary);
	tcase_add_test(tc, test_pool_discards_connection_on_read_only_server);
	suite_add_tcase(su, tc);
	int rc = pgtest_run(su);
	pgcluster_stop(&cluster);
	return rc;
}
