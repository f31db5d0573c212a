/* Issue 18, many service instances: 3 processes, each with a pool of 8 connections (and 12
 * threads wanting them), through one PgBouncer in transaction mode with default_pool_size 10,
 * so 24 client connections share 10 server connections. Each transaction writes a row and
 * holds its server connection a little (pg_sleep 2 ms). Asserted: no errors, every row
 * written, the slowest pool acquire within its timeout, the server never saw more than 10
 * connections from PgBouncer. Printed: acquire and transaction times, peak server connections.
 * Runs on its OWN throwaway cluster and PgBouncer (pgcluster_bouncer_start in test/common). */
#include "pgcluster.h"
#include "pgtest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

enum { PROCS = 3, POOL = 8, THREADS = 12, TX = 60, BOUNCER_POOL = 10 };
#define ACQUIRE_TIMEOUT_MS 10000

static pgcluster cluster;
static pgcluster_bouncer bouncer;

/* What one process reports to the parent (through a pipe). */
typedef struct result {
	int errors;
	int done;
	double acquire_max_ms, acquire_sum_ms, tx_max_ms;
	char first_error[300];
} result;

typedef struct instance {
	pgorm_pool *pool;
	int proc;
	pthread_mutex_t mu;
	result res;
} instance;

typedef struct worker_arg {
	instance *in;
	int thread;
} worker_arg;

static void *worker(void *arg)
{
	worker_arg *w = arg;
	instance *in = w->in;
	for (int k = 0; k < TX; k++) {
		pgorm_conn *c = NULL;
		pgorm_error err;
		double t0 = pgtest_now_ms();
		int rc = pgorm_pool_acquire(in->pool, &c, &err);
		double t1 = pgtest_now_ms();
		const char *what = err.message;
		if (rc == 0) {
			rc = pgorm_conn_begin(c);
			if (rc == 0)
				rc = pgorm_conn_exec(c, "INSERT INTO inst (proc, thread, k) VALUES ($1, $2, $3)", 3,
				                     (pgorm_value[]){ PGORM_INT4(in->proc), PGORM_INT4(w->thread), PGORM_INT4(k) }, NULL);
			if (rc == 0)
				rc = pgorm_conn_exec(c, "SELECT pg_sleep(0.002)", 0, NULL, NULL);
			if (rc == 0)
				rc = pgorm_conn_commit(c);
			what = pgorm_conn_error(c)->message;
		}
		double t2 = pgtest_now_ms();
		pthread_mutex_lock(&in->mu);
		if (rc != 0 && in->res.errors++ == 0)
			snprintf(in->res.first_error, sizeof in->res.first_error, "%s", what);
		in->res.done += rc == 0;
		in->res.acquire_sum_ms += t1 - t0;
		if (t1 - t0 > in->res.acquire_max_ms)
			in->res.acquire_max_ms = t1 - t0;
		if (t2 - t1 > in->res.tx_max_ms)
			in->res.tx_max_ms = t2 - t1;
		pthread_mutex_unlock(&in->mu);
		if (c != NULL)
			pgorm_pool_release(in->pool, c);
	}
	return NULL;
}

/* One service instance (a child process): its own pool, THREADS threads. */
static result run_instance(int proc)
{
	instance in = { .proc = proc };
	pthread_mutex_init(&in.mu, NULL);
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = bouncer.dsn;
	cfg.max_size = POOL;
	cfg.min_idle = 0;
	cfg.acquire_timeout_ms = ACQUIRE_TIMEOUT_MS;
	cfg.stmt_mode = PGORM_STMT_UNNAMED; /* transaction mode: no named statements */
	pgorm_error err;
	if (pgorm_pool_create(&in.pool, &cfg, &err) != 0) {
		in.res.errors = 1;
		snprintf(in.res.first_error, sizeof in.res.first_error, "pool: %s", err.message);
		return in.res;
	}
	pthread_t th[THREADS];
	worker_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] = (worker_arg){ &in, i };
		pthread_create(&th[i], NULL, worker, &args[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	pgorm_pool_destroy(in.pool);
	pthread_mutex_destroy(&in.mu);
	return in.res;
}

START_TEST(test_three_instances_through_pgbouncer)
{
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	cc.conninfo = cluster.dsn;
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_conn_connect(&c, &cc, &err) == 0, "%s", err.message);
	pgtest_exec(c, "DROP TABLE IF EXISTS inst");
	pgtest_exec(c, "CREATE TABLE inst (proc int, thread int, k int, PRIMARY KEY (proc, thread, k))");

	int fds[PROCS][2];
	pid_t pids[PROCS];
	double t0 = pgtest_now_ms();
	for (int p = 0; p < PROCS; p++) {
		ck_assert_int_eq(pipe(fds[p]), 0);
		pids[p] = fork();
		ck_assert_int_ge(pids[p], 0);
		if (pids[p] == 0) {
			close(fds[p][0]);
			result r = run_instance(p);
			ssize_t wr = write(fds[p][1], &r, sizeof r);
			_exit(wr == (ssize_t)sizeof r ? 0 : 1);
		}
		close(fds[p][1]);
	}
	/* the server side, sampled while they run: connections PgBouncer opened */
	int64_t peak = 0;
	bool reaped[PROCS] = { false };
	for (;;) {
		int64_t n = pgtest_int(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = 'postgres' "
		                          "AND backend_type = 'client backend' AND pid <> pg_backend_pid()");
		if (n > peak)
			peak = n;
		int alive = 0;
		for (int p = 0; p < PROCS; p++) {
			if (!reaped[p])
				reaped[p] = waitpid(pids[p], NULL, WNOHANG) == pids[p];
			alive += !reaped[p];
		}
		if (alive == 0 || pgtest_now_ms() - t0 > 60000)
			break;
		pgtest_sleep_ms(5);
	}
	double ms = pgtest_now_ms() - t0;
	result all = { 0 };
	double acquire_max = 0;
	for (int p = 0; p < PROCS; p++) {
		result r;
		ssize_t rd = read(fds[p][0], &r, sizeof r);
		close(fds[p][0]);
		if (!reaped[p]) { /* still running after 60 s: hung */
			kill(pids[p], SIGKILL);
			waitpid(pids[p], NULL, 0);
		}
		ck_assert_msg(rd == (ssize_t)sizeof r, "instance %d reported nothing (crashed or hung)", p);
		if (r.errors > 0)
			fprintf(stderr, "instance %d: %d errors, first: %s\n", p, r.errors, r.first_error);
		all.errors += r.errors;
		all.done += r.done;
		all.acquire_sum_ms += r.acquire_sum_ms;
		if (r.tx_max_ms > all.tx_max_ms)
			all.tx_max_ms = r.tx_max_ms;
		if (r.acquire_max_ms > acquire_max)
			acquire_max = r.acquire_max_ms;
		printf("instances: process %d: %d transactions, slowest acquire %.1f ms, mean %.2f ms, slowest "
		       "transaction %.1f ms\n",
		       p, r.done, r.acquire_max_ms, r.acquire_sum_ms / (THREADS * TX), r.tx_max_ms);
	}
	printf("instances: %d processes x pool %d (%d threads each) through PgBouncer (transaction mode, "
	       "default_pool_size %d): %d transactions in %.0f ms, %d errors; slowest acquire %.1f ms "
	       "(timeout %d ms); slowest transaction %.1f ms; peak server connections %lld\n",
	       PROCS, POOL, THREADS, BOUNCER_POOL, all.done, ms, all.errors, acquire_max, ACQUIRE_TIMEOUT_MS,
	       all.tx_max_ms, (long long)peak);
	ck_assert_int_eq(all.errors, 0);
	ck_assert_int_eq(all.done, PROCS * THREADS * TX);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM inst"), PROCS * THREADS * TX);
	ck_assert_msg(acquire_max < ACQUIRE_TIMEOUT_MS, "slowest acquire %.0f ms", acquire_max);
	ck_assert_msg(peak <= BOUNCER_POOL, "the server saw %lld connections (PgBouncer pool %d)", (long long)peak,
	              BOUNCER_POOL);
	pgorm_conn_close(c);
}
END_TEST

int main(void)
{
	pgcluster_start(&cluster, "instances", false, NULL);
	pgcluster_bouncer_start(&bouncer, &cluster, "postgres", "transaction", BOUNCER_POOL);
	Suite *su = suite_create("instances");
	TCase *tc = tcase_create("pgbouncer");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_three_instances_through_pgbouncer);
	suite_add_tcase(su, tc);
	int rc = pgtest_run(su);
	pgcluster_bouncer_stop(&bouncer);
	pgcluster_stop(&cluster);
	return rc;
}
