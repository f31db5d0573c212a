/* Issue 14, "Errors and the pool": connect errors that retrying will not cure (wrong password
 * 28P01, no such database 3D000, no such host) reach acquirers at once, with the server's
 * SQLSTATE and a redacted message, instead of after the whole acquire timeout;
 * pgorm_pool_wait_ready waits for min_idle connections or returns the connect error.
 * (A restart, a transient error, still recovers: test_pool_failover.)
 * Runs on its OWN throwaway cluster (TCP, PGTMP_PASSWORD: scram-sha-256 over TCP). */
#include "pgcluster.h"
#include "pgtest.h"

#include <stdio.h>
#include <string.h>

static pgcluster cluster;

#define PASSWORD "pool-errors secret 7"
/* Long on purpose: a fail-fast answer comes after one connect attempt, a timeout only after
 * this long, so a generous bound (half of it) tells them apart even under valgrind on a loaded
 * machine; the assertions that matter do not look at the clock at all (see assert_fails_fast). */
#define ACQUIRE_TIMEOUT_MS 60000

/* "host=127.0.0.1 port=P user=pgorm_user password='PW' dbname=DB" */
static void dsn(char *buf, size_t n, const char *password, const char *db)
{
	snprintf(buf, n, "host=127.0.0.1 port=%d user=pgorm_user password='%s' dbname=%s", cluster.port,
	         password, db);
}

static pgorm_pool *make_pool(const char *ci, size_t min_idle)
{
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = ci;
	cfg.min_idle = min_idle;
	cfg.max_size = 4;
	cfg.acquire_timeout_ms = ACQUIRE_TIMEOUT_MS;
	cfg.backoff_min_ms = 50;
	cfg.backoff_max_ms = 2000;
	pgorm_pool *pool = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_pool_create(&pool, &cfg, &err) == 0, "%s", err.message);
	return pool;
}

/* Three acquires, each answered with the connect error, not a timeout: the error of the
 * fail-fast path ("pool: cannot connect: ..."), not the one of a waited-out acquire ("no
 * connection within N ms"); each acquire caused at most one connect attempt (a timed-out one
 * would have retried with backoff until its deadline); and, as a loose sanity bound, each
 * returned well before the acquire timeout. */
static void assert_fails_fast(pgorm_pool *pool, const char *sqlstate, const char *text)
{
	for (int i = 0; i < 3; i++) {
		pgorm_pool_stats before, after;
		pgorm_pool_stats_get(pool, &before);
		pgorm_conn *c = NULL;
		pgorm_error err;
		double t0 = pgtest_now_ms();
		int rc = pgorm_pool_acquire(pool, &c, &err);
		double took = pgtest_now_ms() - t0;
		pgorm_pool_stats_get(pool, &after);
		ck_assert_msg(rc == PGORM_ECONN, "%s: %s", pgorm_err_name(rc), err.message);
		ck_assert_ptr_null(c);
		ck_assert_str_eq(err.sqlstate, sqlstate);
		ck_assert_msg(strncmp(err.message, "pool: cannot connect: ", 22) == 0, "%s", err.message);
		ck_assert_msg(strstr(err.message, "no connection within") == NULL, "%s", err.message);
		ck_assert_msg(strstr(err.message, text) != NULL, "%s", err.message);
		ck_assert_msg(strstr(err.message, "secret") == NULL, "password in: %s", err.message);
		ck_assert_uint_le(after.connect_failures - before.connect_failures, 1);
		ck_assert_uint_eq(after.connects, 0);
		ck_assert_msg(took < ACQUIRE_TIMEOUT_MS / 2, "acquire %d took %.0f ms (timeout %d ms)", i, took,
		              ACQUIRE_TIMEOUT_MS);
	}
	pgorm_pool_stats st;
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_ge(st.connect_failures, 1); /* the first acquire waited for a real attempt */
}

START_TEST(test_issue14_pool_wrong_password_fails_fast)
{
	char ci[512];
	dsn(ci, sizeof ci, "wrong secret 8", "pgorm_user");
	pgorm_pool *pool = make_pool(ci, 0);
	assert_fails_fast(pool, "28P01", "password authentication failed");
	pgorm_pool_destroy(pool);
}
END_TEST

START_TEST(test_issue14_pool_no_such_database_fails_fast)
{
	char ci[512];
	dsn(ci, sizeof ci, PASSWORD, "pgorm_no_such_db");
	pgorm_pool *pool = make_pool(ci, 0);
	assert_fails_fast(pool, "3D000", "does not exist");
	pgorm_pool_destroy(pool);
}
END_TEST

START_TEST(test_issue14_wait_ready)
{
	char ci[512];
	dsn(ci, sizeof ci, PASSWORD, "pgorm_user");
	pgorm_pool *pool = make_pool(ci, 3);
	pgorm_error err;
	ck_assert_msg(pgorm_pool_wait_ready(pool, ACQUIRE_TIMEOUT_MS, &err) == 0, "%s", err.message);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_ge(st.connects, 3);
	pgorm_pool_destroy(pool);

	/* min_idle 0: nothing to wait for */
	pool = make_pool(ci, 0);
	ck_assert_int_eq(pgorm_pool_wait_ready(pool, 0, &err), 0);
	pgorm_pool_destroy(pool);

	/* a wrong password: the connect error, at once (the fail-fast error, not the one of a
	 * waited-out timeout: "not ready within N ms"; the clock bound is a loose sanity check) */
	dsn(ci, sizeof ci, "wrong secret 8", "pgorm_user");
	pool = make_pool(ci, 2);
	double t0 = pgtest_now_ms();
	int rc = pgorm_pool_wait_ready(pool, ACQUIRE_TIMEOUT_MS, &err);
	double took = pgtest_now_ms() - t0;
	ck_assert_msg(rc == PGORM_ECONN, "%s: %s", pgorm_err_name(rc), err.message);
	ck_assert_str_eq(err.sqlstate, "28P01");
	ck_assert_msg(strncmp(err.message, "pool: cannot connect: ", 22) == 0, "%s", err.message);
	ck_assert_msg(strstr(err.message, "not ready within") == NULL, "%s", err.message);
	ck_assert_msg(took < ACQUIRE_TIMEOUT_MS / 2, "wait_ready took %.0f ms", took);
	ck_assert_msg(strstr(err.message, "secret") == NULL, "password in: %s", err.message);
	pgorm_pool_destroy(pool);
}
END_TEST

/* A port nobody listens on is transient (a server restarting): no fail-fast, the acquire
 * waits its timeout and reports the last connect error. (The clock is asserted only from
 * below: the deadline is a monotonic-clock wait, a slow machine only makes it later.) */
START_TEST(test_issue14_refused_is_retried)
{
	char ci[512];
	int port = pgcluster_free_port();
	ck_assert_int_gt(port, 0);
	snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=pgorm_user dbname=pgorm_user", port);
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = ci;
	cfg.min_idle = 0;
	cfg.acquire_timeout_ms = 600;
	cfg.backoff_min_ms = 20;
	cfg.backoff_max_ms = 100;
	pgorm_pool *pool = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_pool_create(&pool, &cfg, &err) == 0, "%s", err.message);
	pgorm_conn *c = NULL;
	double t0 = pgtest_now_ms();
	int rc = pgorm_pool_acquire(pool, &c, &err);
	double took = pgtest_now_ms() - t0;
	ck_assert_msg(rc == PGORM_ECONN, "%s: %s", pgorm_err_name(rc), err.message);
	ck_assert_msg(took >= 550, "gave up after %.0f ms of a 600 ms timeout", took);
	ck_assert_msg(strstr(err.message, "no connection within 600 ms"), "%s", err.message);
	pgorm_pool_destroy(pool);
}
END_TEST

int main(void)
{
	static const char *const env[] = { "PGTMP_PASSWORD=" PASSWORD, NULL };
	pgcluster_start(&cluster, "poolerr", true, env);
	Suite *s = suite_create("pool_errors");
	TCase *tc = tcase_create("own_cluster");
	tcase_set_timeout(tc, 90); /* above ACQUIRE_TIMEOUT_MS: a regression fails an assertion */
	tcase_add_test(tc, test_issue14_pool_wrong_password_fails_fast);
	tcase_add_test(tc, test_issue14_pool_no_such_database_fails_fast);
	tcase_add_test(tc, test_issue14_wait_ready);
	tcase_add_test(tc, test_issue14_refused_is_retried);
	suite_add_tcase(s, tc);
	int rc = pgtest_run(s);
	pgcluster_stop(&cluster);
	return rc;
}
