/* Pool tests that stop, restart or front the server: they run on their OWN throwaway cluster
 * (test/pgtmp start, path in $PGTMP), never on PGORM_TEST_DSN, so that the other test
 * executables running in parallel are not disturbed. The schema-per-executable fixture is not
 * needed here: nobody else uses this cluster. PgBouncer (Debian 1.18) is started on a free
 * loopback port in transaction mode, as the postgres user when run as root.
 * Every wait is bounded; timing assertions have seconds of slack. Assertions are about behaviour
 * (which requests failed, which server backends served them, recovery, no hang), not about
 * counters whose value depends on timing. */
#include "pgcluster.h"
#include "pgtest.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pgcluster cluster;

static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void pgbouncer_stop(void)
{
	char path[400];
	snprintf(path, sizeof path, "%s/pgbouncer/pgbouncer.pid", cluster.dir);
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (f != NULL) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0)
		kill(pid, SIGTERM);
}

static pgorm_pool *make_pool(const pgorm_pool_config *cfg)
{
	pgorm_pool *p = NULL;
	pgorm_error err;
	int rc = pgorm_pool_create(&p, cfg, &err);
	ck_assert_msg(rc == 0, "pool create: %s", err.message);
	return p;
}

/* ---- a workload: threads doing acquire + parameterized SELECT + release ---- */

#define MAXREQ 2000000
#define MAXMSG 16
typedef struct req {
	double t0, t1;
	int rc;
	int pid;                    /* the server backend that answered (0 on error) */
} req;

typedef struct load {
	pgorm_pool *p;
	pthread_mutex_t mu;
	req *reqs;
	size_t n;
	char msg[MAXMSG][300];      /* the first failures' messages */
	size_t nmsg;
	atomic_int stop;            /* set by load_join, read by the workers */
	bool use_tx;
	int per_thread;             /* > 0: fixed count instead of until stop */
} load;

static void *load_worker(void *arg)
{
	load *l = arg;
	for (int i = 0; !atomic_load(&l->stop) && (l->per_thread == 0 || i < l->per_thread); i++) {
		req r = { .t0 = pgtest_now_ms() };
		char msg[300] = "";
		pgorm_conn *c = NULL;
		pgorm_error err;
		r.rc = pgorm_pool_acquire(l->p, &c, &err);
		if (r.rc != 0) {
			snprintf(msg, sizeof msg, "acquire: %s", err.message);
		} else {
			pgorm_value v[2] = { PGORM_INT8(i), PGORM_TEXT("x") };
			pgorm_result *res = NULL;
			if (l->use_tx)
				r.rc = pgorm_conn_begin(c);
			if (r.rc == 0)
				r.rc = pgorm_conn_exec(c, "SELECT $1::int8 + 1, $2::text, pg_backend_pid()", 2, v, &res);
			int64_t got = -1, pid = 0;
			if (r.rc == 0 && (pgorm_result_int64(res, 0, 0, &got) != 0 || got != i + 1 ||
			                  pgorm_result_int64(res, 0, 2, &pid) != 0))
				r.rc = PGORM_ETYPE;
			r.pid = r.rc == 0 ? (int)pid : 0;
			pgorm_result_free(res);
			if (r.rc == 0 && l->use_tx) {
				r.rc = pgorm_conn_exec(c, "SELECT length($2::text) + $1::int8", 2, v, NULL);
				if (r.rc == 0)
					r.rc = pgorm_conn_commit(c);
			}
			if (r.rc != 0)
				snprintf(msg, sizeof msg, "exec: %s (%s)", pgorm_conn_error(c)->message,
				         pgorm_conn_error(c)->sqlstate);
			if (pgorm_pool_release(l->p, c) != 0 && r.rc == 0)
				r.rc = PGORM_EPOOL;
		}
		r.t1 = pgtest_now_ms();
		pthread_mutex_lock(&l->mu);
		if (l->n < MAXREQ)
			l->reqs[l->n++] = r;
		if (r.rc != 0 && l->nmsg < MAXMSG)
			memcpy(l->msg[l->nmsg++], msg, sizeof msg);
		pthread_mutex_unlock(&l->mu);
	}
	return NULL;
}

#define NWORKERS 4

/* Bound of every wait for the pool to recover: generous, since under valgrind on a loaded
 * machine a reconnect takes seconds; a wait that succeeds returns as soon as it does. */
#define RECOVER_MS 60000.0

/* Wait (bounded by RECOVER_MS) until a request that started at or after t has succeeded. */
static void wait_success_from(load *l, double t)
{
	for (double w0 = pgtest_now_ms(); pgtest_now_ms() - w0 < RECOVER_MS;) {
		bool ok = false;
		pthread_mutex_lock(&l->mu);
		for (size_t i = l->n; i-- > 0 && !ok;)
			ok = l->reqs[i].rc == 0 && l->reqs[i].t0 >= t;
		pthread_mutex_unlock(&l->mu);
		if (ok)
			return;
		pgtest_sleep_ms(20);
	}
}

static void load_start(load *l, pthread_t *t)
{
	pthread_mutex_init(&l->mu, NULL);
	l->reqs = calloc(MAXREQ, sizeof *l->reqs);
	ck_assert_ptr_nonnull(l->reqs);
	for (int i = 0; i < NWORKERS; i++)
		pthread_create(&t[i], NULL, load_worker, l);
}

static void load_join(load *l, pthread_t *t)
{
	atomic_store(&l->stop, 1);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(t[i], NULL);
}

/* ---- server restart with idle connections in the pool ---- */

START_TEST(test_restart_fast)
{
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = cluster.dsn;
	cfg.max_size = 6;
	cfg.min_idle = 3;
	cfg.acquire_timeout_ms = 30000;
	cfg.backoff_min_ms = 20;
	cfg.backoff_max_ms = 500;
	pgorm_pool *p = make_pool(&cfg);
	/* a second pool that only holds idle connections across the restart */
	pgorm_pool_config icfg = cfg;
	icfg.min_idle = 2;
	pgorm_pool *idle = make_pool(&icfg);
	load l = { .p = p };
	pthread_t t[NWORKERS];
	load_start(&l, t);
	pgorm_error werr;
	ck_assert_msg(pgorm_pool_wait_ready(idle, (long)RECOVER_MS, &werr) == 0, "%s", werr.message);
	pgorm_pool_stats ist;
	pgorm_pool_stats_get(idle, &ist);
	ck_assert_uint_eq(ist.idle, 2);
	wait_success_from(&l, 0); /* requests are being served */
	double down = pgtest_now_ms();
	ck_assert_int_eq(pgcluster_ctl(&cluster, "-m fast restart"), 0);
	double back = pgtest_now_ms(); /* pg_ctl -w: the server accepts connections again */
	wait_success_from(&l, back); /* not a fixed sleep: under valgrind a reconnect takes seconds */
	load_join(&l, t);
	/* requests after the restart on the idle pool: no error, so its two dead connections were
	 * found dead at acquire and never handed out */
	for (int i = 0; i < 10; i++) {
		pgorm_conn *c = NULL;
		pgorm_error err;
		ck_assert_int_eq(pgorm_pool_acquire(idle, &c, &err), 0);
		ck_assert_msg(pgorm_conn_exec(c, "SELECT 1", 0, NULL, NULL) == 0, "idle pool after restart: %s",
		              pgorm_conn_error(c)->message);
		ck_assert_int_eq(pgorm_pool_release(idle, c), 0);
	}
	pgorm_pool_destroy(idle);

	/* the backends that served requests before the restart (a handful: one per connection) */
	int old_pids[64];
	size_t nold = 0;
	for (size_t i = 0; i < l.n; i++) {
		const req *r = &l.reqs[i];
		bool known = false;
		for (size_t k = 0; k < nold && !known; k++)
			known = old_pids[k] == r->pid;
		if (r->rc == 0 && r->t1 < down && !known && nold < 64)
			old_pids[nold++] = r->pid;
	}
	size_t after = 0, errors = 0, errors_after = 0;
	double recovered_ms = -1;
	for (size_t i = 0; i < l.n; i++) {
		const req *r = &l.reqs[i];
		if (r->t0 >= back)
			after++;
		if (r->rc == 0 && r->t1 >= back && (recovered_ms < 0 || r->t1 - back < recovered_ms))
			recovered_ms = r->t1 - back;
		if (r->rc == 0 && r->t0 >= back) /* never a connection from before the restart */
			for (size_t k = 0; k < nold; k++)
				ck_assert_msg(r->pid != old_pids[k], "backend %d from before the restart served a request after it",
				              r->pid);
		if (r->rc != 0) {
			errors++;
			if (r->t0 >= back)
				errors_after++;
			/* a failed request overlapped the restart */
			ck_assert_msg(r->t1 >= down, "failure before the restart");
		}
	}
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	fprintf(stderr, "restart: %zu requests, %zu after the server was back, %zu errors, first success "
	        "%.0f ms after it was back; closed broken %llu dead_idle %llu generation %llu; connect failures %llu\n",
	        l.n, after, errors, recovered_ms, (unsigned long long)st.closed[PGORM_POOL_CLOSED_BROKEN],
	        (unsigned long long)st.closed[PGORM_POOL_CLOSED_DEAD_IDLE],
	        (unsigned long long)st.closed[PGORM_POOL_CLOSED_GENERATION],
	        (unsigned long long)st.connect_failures);
	for (size_t i = 0; i < l.nmsg; i++)
		fprintf(stderr, "  failed request: %s\n", l.msg[i]);
	ck_assert_uint_lt(l.n, MAXREQ);
	ck_assert_uint_gt(after, 0);
	ck_assert_uint_eq(errors_after, 0);
	ck_assert_uint_le(errors, NWORKERS); /* at most one per request in flight */
	ck_assert_uint_gt(nold, 0);
	ck_assert_msg(recovered_ms >= 0 && recovered_ms < RECOVER_MS, "first success %.0f ms after the server was back",
	              recovered_ms);
	ck_assert_uint_eq(st.in_use, 0);
	pgorm_pool_destroy(p);
	free(l.reqs);
}
END_TEST

/* ---- server stopped for several seconds ---- */

static int recovered(pgorm_pool *p)
{
	pgorm_pool_stats st;
	for (double w0 = pgtest_now_ms(); pgtest_now_ms() - w0 < RECOVER_MS;) { /* bounded */
		pgorm_pool_stats_get(p, &st);
		if (st.idle >= 1 && !st.server_down)
			return 1;
		pgtest_sleep_ms(10);
	}
	return 0;
}

START_TEST(test_server_down_fails_fast_and_recovers)
{
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = cluster.dsn;
	cfg.max_size = 4;
	cfg.min_idle = 1;
	cfg.backoff_min_ms = 50;
	cfg.backoff_max_ms = 400;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_pool_acquire(p, &c, &err), 0);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);

	ck_assert_int_eq(pgcluster_ctl(&cluster, "-m fast stop"), 0);
	double w0 = pgtest_now_ms(), c0 = cpu_ms();
	int attempts = 0;
	while (pgtest_now_ms() - w0 < 3000) {
		double t0 = pgtest_now_ms();
		c = NULL;
		int rc = pgorm_pool_acquire_timeout(p, &c, 200, &err);
		double took = pgtest_now_ms() - t0;
		attempts++;
		ck_assert_msg(rc == PGORM_ECONN, "acquire while down: %s: %s", pgorm_err_name(rc), err.message);
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(err.message, "cannot connect") && strstr(err.message, "connect failed"),
		              "message: %s", err.message);
		/* honours its timeout (no hang); the slack is generous for valgrind on a loaded machine */
		ck_assert_msg(took < 200 + 20000, "acquire took %.0f ms with a 200 ms timeout", took);
	}
	double wall = pgtest_now_ms() - w0, cpu = cpu_ms() - c0;
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	fprintf(stderr, "down: %d acquires failed in %.0f ms, cpu %.1f ms, %llu connect attempts, "
	        "last: %s\n", attempts, wall, cpu, (unsigned long long)st.connect_failures, err.message);
	ck_assert(st.server_down);
	/* backoff, not a spin: 50, 100, 200, 400, 400 ... ms => about 10 attempts in 3 s */
	ck_assert_uint_ge(st.connect_failures, 3);
	ck_assert_uint_le(st.connect_failures, 30);
	ck_assert_msg(cpu < wall * 0.5, "cpu %.0f ms over %.0f ms while the server was down", cpu, wall);

	ck_assert_int_eq(pgcluster_ctl(&cluster, "start"), 0);
	ck_assert_msg(recovered(p), "the pool did not reconnect on its own");
	ck_assert_int_eq(pgorm_pool_acquire_timeout(p, &c, 10000, &err), 0);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT 1", 0, NULL, NULL), 0);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	pgorm_pool_destroy(p);
}
END_TEST

/* ---- PgBouncer in transaction mode ---- */

START_TEST(test_pgbouncer_transaction_mode_unnamed)
{
	char dir[300], path[400];
	snprintf(dir, sizeof dir, "%s/pgbouncer", cluster.dir);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s' && chmod 755 '%s'", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	int port = pgcluster_free_port();
	ck_assert_int_gt(port, 0);
	snprintf(path, sizeof path, "%s/users.txt", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "\"postgres\" \"\"\n");
	fclose(f);
	snprintf(path, sizeof path, "%s/pgbouncer.ini", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[databases]\npostgres = host=%s port=5432 dbname=postgres user=postgres\n\n"
	        "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n"
	        "auth_type = trust\nauth_file = %s/users.txt\nadmin_users = postgres\n"
	        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 100\n"
	        "ignore_startup_parameters = extra_float_digits,options\n"
	        "logfile = %s/pgbouncer.log\npidfile = %s/pgbouncer.pid\n",
	        cluster.dir, port, dir, dir, dir);
	fclose(f);
	if (getuid() == 0) {
		struct passwd *pw = getpwnam("postgres");
		ck_assert_ptr_nonnull(pw);
		snprintf(cmd, sizeof cmd, "chown -R postgres: '%s'", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
	snprintf(cmd, sizeof cmd, "%spgbouncer -d '%s/pgbouncer.ini'", pgcluster_run_as(), dir);
	ck_assert_msg(system(cmd) == 0, "cannot start pgbouncer: %s", cmd);
	char dsn[200];
	snprintf(dsn, sizeof dsn, "host=127.0.0.1 port=%d user=postgres dbname=postgres", port);
	int up = 0;
	for (int i = 0; i < 500 && !up; i++) { /* bounded: 5 s */
		up = PQping(dsn) == PQPING_OK;
		if (!up)
			pgtest_sleep_ms(10);
	}
	ck_assert_msg(up, "pgbouncer did not come up on port %d", port);

	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = dsn;
	cfg.max_size = 6;  /* more clients than pgbouncer's 2 server connections */
	cfg.stmt_mode = PGORM_STMT_UNNAMED;
	pgorm_pool *p = make_pool(&cfg);
	load l = { .p = p, .use_tx = true, .per_thread = 150 };
	pthread_t t[NWORKERS];
	load_start(&l, t);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(t[i], NULL);
	size_t errors = 0;
	for (size_t i = 0; i < l.n; i++)
		errors += l.reqs[i].rc != 0;
	for (size_t i = 0; i < l.nmsg; i++)
		fprintf(stderr, "pgbouncer error: %s\n", l.msg[i]);
	ck_assert_uint_eq(l.n, NWORKERS * 150);
	ck_assert_uint_eq(errors, 0);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.acquires, NWORKERS * 150);
	ck_assert_uint_eq(st.closed_total, 0);
	pgorm_pool_destroy(p);

	/* the traffic really went through pgbouncer in transaction mode */
	snprintf(dsn, sizeof dsn, "host=127.0.0.1 port=%d user=postgres dbname=pgbouncer", port);
	PGconn *admin = PQconnectdb(dsn);
	ck_assert_int_eq(PQstatus(admin), CONNECTION_OK);
	PGresult *r = PQexec(admin, "SHOW STATS");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	long xacts = -1;
	int col = PQfnumber(r, "total_xact_count");
	for (int i = 0; i < PQntuples(r); i++)
		if (strcmp(PQgetvalue(r, i, 0), "postgres") == 0)
			xacts = atol(PQgetvalue(r, i, col));
	PQclear(r);
	PQfinish(admin);
	ck_assert_int_ge(xacts, NWORKERS * 150);

	pgbouncer_stop();
	free(l.reqs);
}
END_TEST

int main(void)
{
	pgcluster_start(&cluster, "pool", false, NULL);
	Suite *s = suite_create("pool_failover");
	TCase *tc = tcase_create("own_cluster");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pgbouncer_transaction_mode_unnamed);
	tcase_add_test(tc, test_restart_fast);
	tcase_add_test(tc, test_server_down_fails_fast_and_recovers);
	suite_add_tcase(s, tc);
	int rc = pgtest_run(s);
	pgbouncer_stop();
	pgcluster_stop(&cluster);
	return rc;
}
