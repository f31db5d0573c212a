/* Integration tests for the connection pool against PGORM_TEST_DSN (the server is never
 * restarted here: see test_pool_failover.c for that, on its own throwaway cluster).
 * All waits are bounded; no test asserts on latency. */
#include "pgcluster.h"
#include "pgtest.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Every polling wait below is bounded by this much wall time: generous, since under valgrind
 * or ThreadSanitizer on a loaded machine a thread may take seconds to get going; a wait that
 * succeeds returns as soon as its condition holds. */
#define WAIT_MS 60000.0

static pgorm_pool_config base_cfg(void)
{
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = pgtest_dsn();
	cfg.acquire_timeout_ms = 20000;
	return cfg;
}

static pgorm_pool *make_pool(const pgorm_pool_config *cfg)
{
	pgorm_pool *p = NULL;
	pgorm_error err;
	int rc = pgorm_pool_create(&p, cfg, &err);
	ck_assert_msg(rc == 0, "pool create: %s", err.message);
	return p;
}

static pgorm_conn *get(pgorm_pool *p)
{
	pgorm_conn *c = NULL;
	pgorm_error err;
	int rc = pgorm_pool_acquire(p, &c, &err);
	ck_assert_msg(rc == 0, "acquire: %s (%s)", err.message, pgorm_err_name(rc));
	return c;
}

static int backend_pid(pgorm_conn *c) { return (int)pgtest_int(c, "SELECT pg_backend_pid()"); }

/* Wait (bounded) until pid no longer appears in pg_stat_activity. */
static void wait_backend_gone(int pid)
{
	pgorm_conn *admin = pgtest_connect();
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE pid = %d", pid);
	for (double t0 = pgtest_now_ms(); pgtest_now_ms() - t0 < WAIT_MS && pgtest_int(admin, sql) != 0;)
		sleep_ms(10);
	ck_assert_int_eq(pgtest_int(admin, sql), 0);
	pgorm_conn_close(admin);
}

static void terminate(int pid)
{
	pgorm_conn *admin = pgtest_connect();
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)::int", pid);
	ck_assert_int_eq(pgtest_int(admin, sql), 1);
	pgorm_conn_close(admin);
}

/* ---- basics ---- */

START_TEST(test_acquire_release_reuses)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 2;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = get(p);
	int pid = backend_pid(c);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	pgorm_conn *c2 = get(p);
	ck_assert_ptr_ne(c2, c);                 /* every borrow has its own handle */
	ck_assert_int_eq(backend_pid(c2), pid);  /* most recently used first: same server session */
	ck_assert_int_eq(pgorm_pool_release(p, c2), 0);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.acquires, 2);
	ck_assert_uint_eq(st.releases, 2);
	ck_assert_uint_eq(st.in_use, 0);
	ck_assert_uint_eq(st.size, st.idle + st.in_use);
	ck_assert_uint_eq(st.closed_total, 0);
	pgorm_pool_destroy(p);
	pgorm_pool_destroy(NULL);
}
END_TEST

START_TEST(test_bad_config)
{
	pgorm_pool_config cfg = base_cfg();
	pgorm_pool *p = (pgorm_pool *)&cfg;
	pgorm_error err;
	cfg.max_size = 0;
	ck_assert_int_eq(pgorm_pool_create(&p, &cfg, &err), PGORM_EINVAL);
	ck_assert_ptr_null(p);
	cfg.max_size = 2;
	cfg.min_idle = 3;
	ck_assert_int_eq(pgorm_pool_create(&p, &cfg, &err), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "min_idle"));
	ck_assert_int_eq(pgorm_pool_create(NULL, &cfg, &err), PGORM_EINVAL);
}
END_TEST

START_TEST(test_double_and_foreign_release)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 2;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_pool *q = make_pool(&cfg);
	pgorm_conn *c = get(p);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	ck_assert_int_eq(pgorm_pool_release(p, c), PGORM_EPOOL);      /* double */
	pgorm_conn *own = pgtest_connect();
	ck_assert_int_eq(pgorm_pool_release(p, own), PGORM_EPOOL);    /* never pooled */
	pgorm_conn *qc = get(q);
	ck_assert_int_eq(pgorm_pool_release(p, qc), PGORM_EPOOL);     /* another pool's */
	ck_assert_int_eq(pgorm_pool_release(p, NULL), PGORM_EINVAL);
	/* nothing was corrupted: the pool still works and q's connection goes back to q */
	ck_assert_int_eq(pgorm_pool_release(q, qc), 0);
	pgorm_conn *c2 = get(p);
	ck_assert_int_eq(pgtest_int(c2, "SELECT 7"), 7);
	ck_assert_int_eq(pgorm_pool_release(p, c2), 0);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.misuse, 3);
	ck_assert_uint_eq(st.releases, 2);
	ck_assert_uint_eq(st.in_use, 0);
	pgorm_conn_close(own);
	pgorm_pool_destroy(q);
	pgorm_pool_destroy(p);
}
END_TEST

/* ---- release by transaction status ---- */

START_TEST(test_release_in_transaction_rolls_back)
{
	pgtest_log log = { 0 };
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	cfg.min_idle = 0;
	cfg.hook = pgtest_log_hook;
	cfg.hook_ctx = &log;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = get(p);
	pgtest_exec(c, "CREATE TABLE IF NOT EXISTS pool_rb (v int)");
	pgtest_exec(c, "TRUNCATE pool_rb");
	int pid = backend_pid(c);
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	pgtest_exec(c, "INSERT INTO pool_rb VALUES (1)");
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_INTRANS);
	pgtest_log_clear(&log);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	ck_assert_uint_eq(pgtest_log_count(&log, "ROLLBACK"), 1);

	/* failed transaction: also ROLLBACK, then reuse */
	c = get(p);
	ck_assert_int_eq(backend_pid(c), pid);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM pool_rb"), 0); /* rolled back */
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	ck_assert_int_ne(pgorm_conn_exec(c, "SELECT 1/0", 0, NULL, NULL), 0);
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_INERROR);
	pgtest_log_clear(&log);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	ck_assert_uint_eq(pgtest_log_count(&log, "ROLLBACK"), 1);
	c = get(p);
	ck_assert_int_eq(backend_pid(c), pid);
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_IDLE);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);

	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.rollbacks, 2);
	ck_assert_uint_eq(st.closed_total, 0);
	pgorm_pool_destroy(p);
	pgtest_log_clear(&log);
}
END_TEST

START_TEST(test_release_policy_close_and_bad_states)
{
	pgtest_log log = { 0 };
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	cfg.min_idle = 0;
	cfg.reset = PGORM_POOL_RESET_CLOSE;
	cfg.hook = pgtest_log_hook;
	cfg.hook_ctx = &log;
	pgorm_pool *p = make_pool(&cfg);

	pgorm_conn *c = get(p);
	int pid = backend_pid(c);
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	pgtest_log_clear(&log);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	ck_assert_uint_eq(pgtest_log_count(&log, "ROLLBACK"), 0);  /* closed, not reset */
	wait_backend_gone(pid);

	/* busy: a query sent and its result never read */
	c = get(p);
	pid = backend_pid(c);
	ck_assert_int_eq(PQsendQuery(pgorm_conn_pq(c), "SELECT 1"), 1);
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_ACTIVE);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	wait_backend_gone(pid);

	/* pipeline mode left on */
	c = get(p);
	pid = backend_pid(c);
	ck_assert_int_eq(PQenterPipelineMode(pgorm_conn_pq(c)), 1);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	wait_backend_gone(pid);

	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_RESET_POLICY], 1);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_BAD_STATE], 2);
	ck_assert_uint_eq(st.closed_total, 3);
	ck_assert_uint_eq(st.rollbacks, 0);
	ck_assert_str_eq(pgorm_pool_close_reason_name(PGORM_POOL_CLOSED_BAD_STATE), "bad_state");
	pgorm_pool_destroy(p);
	pgtest_log_clear(&log);
}
END_TEST

/* ---- exhaustion, leaks, try_acquire ---- */

START_TEST(test_leak_shows_in_stats_and_timeout_names_cause)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 2;
	cfg.min_idle = 0;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *a = get(p), *b = get(p); /* "leaked": never released until the end */
	pgorm_conn *x = NULL;
	pgorm_error err;
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	uint64_t waits0 = st.waits;
	ck_assert_int_eq(pgorm_pool_try_acquire(p, &x, &err), PGORM_ETIMEDOUT);
	ck_assert_ptr_null(x);
	sleep_ms(30);
	ck_assert_int_eq(pgorm_pool_acquire_timeout(p, &x, 50, &err), PGORM_ETIMEDOUT);
	ck_assert_ptr_null(x);
	ck_assert_msg(strstr(err.message, "pool exhausted") && strstr(err.message, "2 of max 2 in use") &&
	              strstr(err.message, "not released?"), "message: %s", err.message);
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.in_use, 2);
	ck_assert_uint_eq(st.idle, 0);
	ck_assert_uint_eq(st.timeouts, 1);   /* try_acquire does not count */
	ck_assert_uint_eq(st.waits, waits0 + 1);
	ck_assert_int_ge(st.longest_borrow_ms, 30);
	uint64_t hist = 0;
	for (int i = 0; i < PGORM_POOL_WAIT_BUCKETS; i++)
		hist += st.wait_hist[i];
	ck_assert_uint_eq(hist, st.waits);
	int pid_a = backend_pid(a);
	ck_assert_int_eq(pgorm_pool_release(p, a), 0);
	ck_assert_int_eq(pgorm_pool_try_acquire(p, &x, &err), 0);
	ck_assert_int_eq(backend_pid(x), pid_a);
	ck_assert_int_eq(pgorm_pool_release(p, x), 0);
	ck_assert_int_eq(pgorm_pool_release(p, b), 0);
	pgorm_pool_destroy(p);
}
END_TEST

/* ---- threads ---- */

#define NTHREADS 8
#define NITER 60

typedef struct shared {
	pgorm_pool *p;
	pthread_mutex_t mu;
	pgorm_conn *held[NTHREADS];
	int ok, timedout, other, dup;
	long timeout_ms;
	long hold_us;
} shared;

static void *worker(void *arg)
{
	shared *sh = arg;
	for (int i = 0; i < NITER; i++) {
		pgorm_conn *c = NULL;
		pgorm_error err;
		int rc = pgorm_pool_acquire_timeout(sh->p, &c, sh->timeout_ms, &err);
		pthread_mutex_lock(&sh->mu);
		if (rc == PGORM_ETIMEDOUT) {
			sh->timedout++;
		} else if (rc != 0) {
			sh->other++;
		} else {
			int slot = -1;
			for (int k = 0; k < NTHREADS; k++) {
				if (sh->held[k] == c)
					sh->dup++; /* handed to two threads at once */
				if (sh->held[k] == NULL && slot < 0)
					slot = k;
			}
			sh->held[slot] = c;
			sh->ok++;
			pthread_mutex_unlock(&sh->mu);
			pgorm_result *r = NULL;
			pgorm_value v = PGORM_INT8(i);
			int64_t got = -1;
			bool bad = pgorm_conn_exec(c, "SELECT $1::int8", 1, &v, &r) != 0 ||
			           pgorm_result_int64(r, 0, 0, &got) != 0 || got != i;
			pgorm_result_free(r);
			if (sh->hold_us)
				sleep_ms(sh->hold_us / 1000);
			pthread_mutex_lock(&sh->mu);
			sh->held[slot] = NULL;
			sh->other += bad;
			pthread_mutex_unlock(&sh->mu);
			rc = pgorm_pool_release(sh->p, c);
			pthread_mutex_lock(&sh->mu);
			sh->other += rc != 0;
			pthread_mutex_unlock(&sh->mu);
			continue;
		}
		pthread_mutex_unlock(&sh->mu);
	}
	return NULL;
}

static void run_workers(shared *sh)
{
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, sh);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
}

START_TEST(test_threads_no_sharing_counters_add_up)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 3;
	pgorm_pool *p = make_pool(&cfg);
	shared sh = { .p = p, .timeout_ms = 20000 };
	pthread_mutex_init(&sh.mu, NULL);
	run_workers(&sh);
	ck_assert_int_eq(sh.dup, 0);
	ck_assert_int_eq(sh.other, 0);
	ck_assert_int_eq(sh.timedout, 0);
	ck_assert_int_eq(sh.ok, NTHREADS * NITER);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.acquires, NTHREADS * NITER);
	ck_assert_uint_eq(st.releases, NTHREADS * NITER);
	ck_assert_uint_eq(st.timeouts, 0);
	ck_assert_uint_eq(st.in_use, 0);
	ck_assert_uint_eq(st.waiting, 0);
	ck_assert_uint_le(st.size, 3);
	ck_assert_uint_eq(st.size, st.idle);
	ck_assert_uint_eq(st.connects - st.closed_total, st.size);
	uint64_t hist = 0;
	for (int i = 0; i < PGORM_POOL_WAIT_BUCKETS; i++)
		hist += st.wait_hist[i];
	ck_assert_uint_eq(hist, st.waits);
	/* the server saw at most max_size sessions from this pool at any time */
	pgorm_pool_destroy(p);
	pthread_mutex_destroy(&sh.mu);
}
END_TEST

START_TEST(test_threads_with_timeouts_counters_add_up)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 2;
	pgorm_pool *p = make_pool(&cfg);
	shared sh = { .p = p, .timeout_ms = 2, .hold_us = 3000 };
	pthread_mutex_init(&sh.mu, NULL);
	run_workers(&sh);
	ck_assert_int_eq(sh.dup, 0);
	ck_assert_int_eq(sh.other, 0);
	ck_assert_int_eq(sh.ok + sh.timedout, NTHREADS * NITER);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.acquires, (uint64_t)sh.ok);
	ck_assert_uint_eq(st.timeouts, (uint64_t)sh.timedout);
	ck_assert_uint_eq(st.releases, (uint64_t)sh.ok);
	ck_assert_uint_eq(st.in_use, 0);
	ck_assert_uint_le(st.size, 2);
	pgorm_pool_destroy(p);
	pthread_mutex_destroy(&sh.mu);
}
END_TEST

/* FIFO: waiters are served in arrival order. */
typedef struct fifo_ctx {
	pgorm_pool *p;
	int id;
	int *order;
	atomic_int *pos;
} fifo_ctx;

static void *fifo_waiter(void *arg)
{
	fifo_ctx *f = arg;
	pgorm_conn *c = NULL;
	pgorm_error err;
	if (pgorm_pool_acquire_timeout(f->p, &c, 20000, &err) != 0)
		return NULL;
	f->order[atomic_fetch_add(f->pos, 1)] = f->id;
	pgorm_pool_release(f->p, c);
	return NULL;
}

START_TEST(test_fifo_waiters)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = get(p);
	/* whether that get() waited depends on the race with the maintenance thread's min_idle
	 * connect: count the waits from here on */
	pgorm_pool_stats st0;
	pgorm_pool_stats_get(p, &st0);
	enum { N = 6 };
	int order[N] = { 0 };
	atomic_int pos = 0;
	pthread_t t[N];
	fifo_ctx f[N];
	for (int i = 0; i < N; i++) {
		f[i] = (fifo_ctx){ p, i + 1, order, &pos };
		pthread_create(&t[i], NULL, fifo_waiter, &f[i]);
		pgorm_pool_stats st;
		for (double t0 = pgtest_now_ms(); pgtest_now_ms() - t0 < WAIT_MS;) { /* until thread i is queued */
			pgorm_pool_stats_get(p, &st);
			if (st.waiting == (size_t)i + 1)
				break;
			sleep_ms(1);
		}
		ck_assert_uint_eq(st.waiting, (size_t)i + 1);
	}
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(atomic_load(&pos), N);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(order[i], i + 1);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.connects, 1); /* every waiter got the same connection by hand-off */
	ck_assert_uint_eq(st.waits - st0.waits, N);
	pgorm_pool_destroy(p);
}
END_TEST

/* Bounded wait under barging: threads that take the one connection again and again as soon as
 * they release it (a released connection goes on the idle list, where they may take it first)
 * cannot keep a queued waiter from it: once it has waited about a millisecond at the head of
 * the queue, the next release hands the connection to it. Every one of its acquires succeeds,
 * far from its timeout. */
typedef struct barger {
	pgorm_pool *p;
	atomic_int *stop;
	long cycles;
	int failed;
} barger;

static void *barge(void *arg)
{
	barger *b = arg;
	while (!atomic_load(b->stop)) {
		pgorm_conn *c = NULL;
		pgorm_error err;
		if (pgorm_pool_acquire_timeout(b->p, &c, 20000, &err) != 0) {
			b->failed++;
			continue;
		}
		b->cycles++;
		pgorm_pool_release(b->p, c);
	}
	return NULL;
}

START_TEST(test_waiter_served_while_others_barge)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_pool_release(p, get(p)); /* open */
	enum { NB = 3, NGET = 20 };
	atomic_int stop = 0;
	barger b[NB];
	pthread_t t[NB];
	for (int i = 0; i < NB; i++) {
		b[i] = (barger){ .p = p, .stop = &stop };
		pthread_create(&t[i], NULL, barge, &b[i]);
	}
	int got = 0;
	for (int i = 0; i < NGET; i++) {
		pgorm_conn *c = NULL;
		pgorm_error err;
		int rc = pgorm_pool_acquire_timeout(p, &c, 20000, &err);
		ck_assert_msg(rc == 0, "acquire %d: %s (%s)", i, err.message, pgorm_err_name(rc));
		got++;
		pgorm_pool_release(p, c);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < NB; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(b[i].failed, 0);
	}
	ck_assert_int_eq(got, NGET);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.timeouts, 0);
	ck_assert_uint_eq(st.in_use, 0);
	pgorm_pool_destroy(p);
}
END_TEST

/* ---- liveness, termination, generation ---- */

START_TEST(test_terminated_idle_is_not_handed_out)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 2;
	cfg.min_idle = 0;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = get(p);
	int pid = backend_pid(c);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	terminate(pid);
	wait_backend_gone(pid);
	sleep_ms(cfg.trust_window_ms + 10); /* past the trust window: the socket gets polled */
	pgorm_conn *c2 = get(p);
	ck_assert_int_ne(backend_pid(c2), pid); /* a fresh session, and no error */
	ck_assert_int_eq(pgorm_pool_release(p, c2), 0);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_DEAD_IDLE], 1);
	ck_assert_uint_eq(st.generation, 1);
	pgorm_pool_destroy(p);
}
END_TEST

typedef struct term_ctx {
	int pid;
} term_ctx;

static void *terminator(void *arg)
{
	term_ctx *t = arg;
	pgorm_conn *admin = pgtest_connect();
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND state = 'active'",
	         t->pid);
	for (double t0 = pgtest_now_ms(); pgtest_now_ms() - t0 < WAIT_MS && pgtest_int(admin, sql) == 0;)
		sleep_ms(5);
	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)::int", t->pid);
	pgtest_int(admin, sql);
	pgorm_conn_close(admin);
	return NULL;
}

START_TEST(test_terminated_busy_bumps_generation)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 3;
	cfg.min_idle = 0;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *busy = get(p), *other = get(p);
	int other_pid = backend_pid(other);
	ck_assert_int_eq(pgorm_pool_release(p, other), 0); /* idle, generation 1 */
	term_ctx t = { backend_pid(busy) };
	pthread_t th;
	pthread_create(&th, NULL, terminator, &t);
	int rc = pgorm_conn_exec(busy, "SELECT pg_sleep(20)", 0, NULL, NULL);
	pthread_join(th, NULL);
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(pgorm_error_is_connection(pgorm_conn_error(busy)), "error: %s (%s)",
	              pgorm_conn_error(busy)->message, pgorm_conn_error(busy)->sqlstate);
	ck_assert_int_eq(pgorm_pool_release(p, busy), 0);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_BROKEN], 1);
	ck_assert_uint_eq(st.generation, 2);
	/* the idle connection of the old generation is retired, not handed out */
	pgorm_conn *c = get(p);
	ck_assert_int_ne(backend_pid(c), other_pid);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	wait_backend_gone(other_pid);
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_GENERATION], 1);
	/* explicit bump: the borrowed connection retires on release */
	c = get(p);
	int pid = backend_pid(c);
	pgorm_pool_bump_generation(p);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	wait_backend_gone(pid);
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_GENERATION], 2);
	pgorm_pool_destroy(p);
}
END_TEST

/* ---- maintenance: min idle, idle timeout, lifetime ---- */

static pgorm_pool_stats wait_stats(pgorm_pool *p, int (*cond)(const pgorm_pool_stats *))
{
	pgorm_pool_stats st;
	for (double t0 = pgtest_now_ms(); pgtest_now_ms() - t0 < WAIT_MS;) { /* bounded */
		pgorm_pool_stats_get(p, &st);
		if (cond(&st))
			break;
		sleep_ms(10);
	}
	return st;
}

static int two_idle(const pgorm_pool_stats *st) { return st->idle == 2; }
static int idle_closed(const pgorm_pool_stats *st) { return st->size == 2 && st->closed_total >= 2; }

START_TEST(test_min_idle_and_idle_timeout)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 5;
	cfg.min_idle = 2;
	cfg.idle_timeout_ms = 100;
	cfg.maintenance_interval_ms = 20;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_pool_stats st = wait_stats(p, two_idle);   /* filled in the background */
	ck_assert_uint_eq(st.idle, 2);
	pgorm_conn *c[4];
	for (int i = 0; i < 4; i++)
		c[i] = get(p);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pgorm_pool_release(p, c[i]), 0);
	st = wait_stats(p, idle_closed);                   /* back down to min_idle */
	ck_assert_uint_ge(st.connects, 4);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_IDLE_TIMEOUT], st.connects - 2);
	ck_assert_uint_eq(st.closed_total, st.connects - 2);
	ck_assert_uint_eq(st.idle, 2);
	ck_assert_uint_eq(st.size, 2);
	pgorm_pool_destroy(p);
}
END_TEST

START_TEST(test_max_lifetime)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 2;
	cfg.min_idle = 0;
	cfg.max_lifetime_ms = 200;
	cfg.lifetime_jitter_ms = 50;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = get(p);
	int pid = backend_pid(c);
	sleep_ms(260);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	wait_backend_gone(pid);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_msg(st.closed[PGORM_POOL_CLOSED_LIFETIME] == 1 && st.size == 0,
	              "lifetime closed %llu size %zu connects %llu closed %llu",
	              (unsigned long long)st.closed[PGORM_POOL_CLOSED_LIFETIME], st.size,
	              (unsigned long long)st.connects, (unsigned long long)st.closed_total);
	pgorm_pool_destroy(p);
}
END_TEST

/* ---- init SQL, statement mode, ping ---- */

START_TEST(test_init_sql_stmt_mode_and_ping)
{
	pgtest_log log = { 0 };
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	cfg.min_idle = 0;
	cfg.stmt_mode = PGORM_STMT_UNNAMED;
	cfg.init_sql = "SET application_name = 'pgorm_pool_test'; SET statement_timeout = '5s'";
	cfg.ping_idle_ms = 1;
	cfg.hook = pgtest_log_hook;
	cfg.hook_ctx = &log;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = get(p);
	ck_assert_str_eq(pgtest_text(c, "SELECT current_setting('application_name')"), "pgorm_pool_test");
	ck_assert_str_eq(pgtest_text(c, "SHOW statement_timeout"), "5s");
	pgorm_value v = PGORM_INT8(5);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1::int8", 1, &v, NULL), 0);
	pgorm_conn_stats cs;
	pgorm_conn_stats_get(c, &cs);
	ck_assert_uint_eq(cs.prepares, 0); /* unnamed mode: nothing prepared by name */
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	sleep_ms(cfg.trust_window_ms + 10);
	pgtest_log_clear(&log);
	c = get(p);                        /* idle past ping_idle_ms: one empty-query ping */
	ck_assert_uint_eq(log.n, 1);
	ck_assert_str_eq(log.sql[0], "");
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.pings, 1);
	ck_assert_uint_eq(st.connects, 1);
	pgorm_pool_destroy(p);
	pgtest_log_clear(&log);
}
END_TEST

START_TEST(test_init_sql_failure_is_connect_error)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	cfg.min_idle = 0;
	cfg.init_sql = "SELECT no_such_function_pool()";
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_pool_acquire_timeout(p, &c, 300, &err), PGORM_ECONN);
	ck_assert_msg(strstr(err.message, "init_sql failed") != NULL, "%s", err.message);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_ge(st.closed[PGORM_POOL_CLOSED_INIT_FAILED], 1);
	ck_assert(st.server_down);
	pgorm_pool_destroy(p);
}
END_TEST

/* ---- close ---- */

static void *closed_waiter(void *arg)
{
	pgorm_pool *p = arg;
	pgorm_conn *c = NULL;
	pgorm_error err;
	return (void *)(intptr_t)pgorm_pool_acquire_timeout(p, &c, 20000, &err);
}

START_TEST(test_close_with_deadline)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = get(p);
	int pid = backend_pid(c);
	pthread_t th;
	pthread_create(&th, NULL, closed_waiter, p);
	pgorm_pool_stats st;
	for (double t0 = pgtest_now_ms(); pgtest_now_ms() - t0 < WAIT_MS;) { /* until it is queued */
		pgorm_pool_stats_get(p, &st);
		if (st.waiting == 1)
			break;
		sleep_ms(1);
	}
	ck_assert_uint_eq(st.waiting, 1);
	ck_assert_int_eq(pgorm_pool_close(p, 50), PGORM_ETIMEDOUT); /* c still borrowed */
	void *ret;
	pthread_join(th, &ret);
	ck_assert_int_eq((int)(intptr_t)ret, PGORM_ECLOSED);       /* the waiter was woken */
	pgorm_conn *x = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_pool_acquire(p, &x, &err), PGORM_ECLOSED);
	ck_assert_int_eq(pgtest_int(c, "SELECT 3"), 3);           /* borrowed one still works */
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);            /* and is closed on release */
	wait_backend_gone(pid);
	ck_assert_int_eq(pgorm_pool_close(p, 1000), 0);
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.size, 0);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_POOL_CLOSE], 1);
	pgorm_pool_destroy(p);
}
END_TEST

/* ---- fork ---- */

START_TEST(test_fork_child_does_not_touch_parent_sockets)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 2;
	cfg.min_idle = 0;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = get(p);
	int pid = backend_pid(c);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	pgorm_conn *held = get(p);     /* borrowed across the fork */
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pgorm_conn *x = NULL;
		pgorm_error err;
		int code = 0;
		if (pgorm_pool_acquire(p, &x, &err) != PGORM_EFORK)
			code |= 1;
		if (pgorm_pool_release(p, held) != PGORM_EFORK)
			code |= 2;
		if (pgorm_conn_exec(held, "SELECT 1", 0, NULL, NULL) != PGORM_EFORK)
			code |= 4;
		pgorm_pool_destroy(p); /* frees memory, no Terminate on the parent's sockets */
		_exit(code);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* the parent's sessions survived the child's destroy */
	ck_assert_int_eq(pgtest_int(held, "SELECT 11"), 11);
	ck_assert_int_eq(pgorm_pool_release(p, held), 0);
	c = get(p);
	ck_assert_int_eq(backend_pid(c), pid);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.closed_total, 0);
	pgorm_pool_destroy(p);
}
END_TEST

/* A conninfo libpq cannot parse fails at pgorm_pool_create (it used to fail only when an
 * acquire timed out), with the password out of the message. */
START_TEST(test_issue_pool_conninfo_validated)
{
	static const char *bad[] = {
		"postgresql://u:SeCrEt123@[::1/db",
		"postgresql://[::1/db?password=SeCrEt123",
		"host=/nonexistent password=SeCrEt123 bogus=1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
		cfg.conninfo = bad[i];
		cfg.min_idle = 0;
		pgorm_pool *p = (pgorm_pool *)&cfg;
		pgorm_error err;
		int rc = pgorm_pool_create(&p, &cfg, &err);
		ck_assert_msg(rc == PGORM_EINVAL, "%s: rc %s", bad[i], pgorm_err_name(rc));
		ck_assert_ptr_null(p);
		ck_assert_msg(strstr(err.message, "conninfo") != NULL, "%s", err.message);
		ck_assert_msg(strstr(err.message, "SeCrEt") == NULL, "password leaked: %s", err.message);
	}
}
END_TEST

/* A connect error of the maintenance thread goes through the same redaction as
 * pgorm_conn_connect's (here the password also appears in the socket path libpq quotes). */
START_TEST(test_issue_pool_connect_error_redacted)
{
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = "host=/nonexistent-SeCrEt123 password=SeCrEt123";
	cfg.min_idle = 0;
	cfg.acquire_timeout_ms = 1000;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = NULL;
	pgorm_error err;
	int rc = pgorm_pool_acquire(p, &c, &err);
	ck_assert_msg(rc == PGORM_ECONN || rc == PGORM_ETIMEDOUT, "rc %s", pgorm_err_name(rc));
	ck_assert_msg(strstr(err.message, "nonexistent-********") != NULL, "%s", err.message);
	ck_assert_msg(strstr(err.message, "SeCrEt") == NULL, "password leaked: %s", err.message);
	pgorm_pool_destroy(p);
}
END_TEST

/* An absurd max_size is refused (the hash-table sizing loop never ended for SIZE_MAX). */
START_TEST(test_issue_pool_max_size_absurd)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.min_idle = 0;
	size_t sizes[] = { SIZE_MAX, SIZE_MAX / 2 + 1, (size_t)1 << 40, 262144 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		cfg.max_size = sizes[i];
		pgorm_pool *p = NULL;
		pgorm_error err;
		ck_assert_int_eq(pgorm_pool_create(&p, &cfg, &err), PGORM_EINVAL);
		ck_assert_ptr_null(p);
		ck_assert_msg(strstr(err.message, "max_size") != NULL, "%s", err.message);
	}
	cfg.max_size = 262143; /* the ceiling itself is accepted */
	pgorm_pool_destroy(make_pool(&cfg));
}
END_TEST

/* Issue 12 item 9: a negative acquire_timeout_ms and an unknown stmt_mode were accepted
 * although documented as PGORM_EINVAL; an absurd stmt_cache_size hung the first connect. */
START_TEST(test_issue12_pool_config_refused)
{
	for (int k = 0; k < 4; k++) {
		pgorm_pool_config cfg = base_cfg();
		cfg.min_idle = 0;
		const char *frag = NULL;
		switch (k) {
		case 0: cfg.acquire_timeout_ms = -1; frag = "acquire_timeout_ms"; break;
		case 1: cfg.stmt_mode = (pgorm_stmt_mode)5; frag = "stmt_mode 5"; break;
		case 2: cfg.stmt_cache_size = SIZE_MAX; frag = "stmt_cache_size"; break;
		case 3: cfg.stmt_cache_size = PGORM_STMT_CACHE_MAX + 1; frag = "stmt_cache_size"; break;
		}
		pgorm_pool *p = (pgorm_pool *)&cfg;
		pgorm_error err;
		ck_assert_int_eq(pgorm_pool_create(&p, &cfg, &err), PGORM_EINVAL);
		ck_assert_ptr_null(p);
		ck_assert_msg(strstr(err.message, frag) != NULL, "%s", err.message);
	}
}
END_TEST

/* Issue 12 item 12: a borrowed connection ended by idle_in_transaction_session_timeout reports
 * the server's FATAL 25P03 (not "server closed the connection unexpectedly"), is closed at
 * release, and does not retire the other connections (it is not a failover). */
START_TEST(test_issue12_pool_idle_in_transaction_timeout)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 2;
	cfg.min_idle = 2;
	cfg.init_sql = "SET idle_in_transaction_session_timeout = 200";
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *a = get(p), *b = get(p);
	int pid_b = backend_pid(b);
	ck_assert_int_eq(pgorm_pool_release(p, b), 0);
	ck_assert_int_eq(pgorm_conn_begin(a), 0);
	pgtest_wait_server_closed(a); /* the timeout fired (not a fixed sleep: a loaded server is late) */
	ck_assert_int_eq(pgorm_conn_exec(a, "SELECT 1", 0, NULL, NULL), PGORM_ECONN);
	ck_assert_str_eq(pgorm_conn_error(a)->sqlstate, "25P03");
	ck_assert_int_eq(pgorm_conn_rollback(a), PGORM_ECONN); /* what a session does next */
	pgorm_pool_stats st0, st;
	pgorm_pool_stats_get(p, &st0);
	ck_assert_int_eq(pgorm_pool_release(p, a), 0);
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_BROKEN], st0.closed[PGORM_POOL_CLOSED_BROKEN] + 1);
	ck_assert_uint_eq(st.generation, st0.generation);
	b = get(p);
	ck_assert_int_eq(backend_pid(b), pid_b);             /* the other connection stays */
	ck_assert_int_eq(pgorm_pool_release(p, b), 0);
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_GENERATION], 0);
	pgorm_pool_destroy(p);
}
END_TEST

/* Pool ABA (issue 12 item 7): release(c); c2 = acquire() (the same connection); release(c)
 * again must be refused as stale and change nothing — it used to return 0 and put c2's
 * connection back in the pool while c2 was still held, so the next acquire handed it out twice. */
START_TEST(test_issue12_pool_stale_release_aba)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_error err;
	pgorm_conn *c = get(p);
	int pid = backend_pid(c);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	pgorm_conn *c2 = get(p);
	ck_assert_int_eq(backend_pid(c2), pid);                      /* the same connection */
	ck_assert_int_eq(pgorm_pool_release(p, c), PGORM_EPOOL);     /* stale handle */
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.in_use, 1);
	ck_assert_uint_eq(st.idle, 0);
	ck_assert_uint_eq(st.misuse, 1);
	pgorm_conn *x = NULL;
	ck_assert_int_eq(pgorm_pool_try_acquire(p, &x, &err), PGORM_ETIMEDOUT); /* never handed out twice */
	ck_assert_ptr_null(x);
	ck_assert_int_eq(pgtest_int(c2, "SELECT 5"), 5);            /* c2 is intact */
	ck_assert_int_eq(pgorm_pool_release(p, c2), 0);
	ck_assert_int_eq(pgorm_pool_release(p, c2), PGORM_EPOOL);

	/* many borrows of the one connection: each gets its own handle, and every earlier one
	 * stays refused while a later borrow holds the connection */
	enum { ROUNDS = 40 };
	pgorm_conn *old[ROUNDS];
	for (int i = 0; i < ROUNDS; i++) {
		old[i] = get(p);
		ck_assert_int_eq(pgorm_pool_release(p, old[i]), 0);
	}
	pgorm_conn *now = get(p);
	ck_assert_int_eq(backend_pid(now), pid);
	for (int i = 0; i < ROUNDS; i++) {
		ck_assert_ptr_ne(old[i], now);
		ck_assert_int_eq(pgorm_pool_release(p, old[i]), PGORM_EPOOL);
	}
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.in_use, 1);
	ck_assert_uint_eq(st.misuse, 2 + ROUNDS);
	ck_assert_int_eq(pgorm_pool_try_acquire(p, &x, &err), PGORM_ETIMEDOUT);
	ck_assert_int_eq(pgtest_int(now, "SELECT 6"), 6);
	ck_assert_int_eq(pgorm_pool_release(p, now), 0);
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.in_use, 0);
	ck_assert_uint_eq(st.idle, 1);
	ck_assert_uint_eq(st.closed_total, 0);
	pgorm_pool_destroy(p);
}
END_TEST

/* A closed connection's handle is refused too (its memory is not reused for a new
 * connection's handle right away). */
START_TEST(test_pool_stale_release_after_close)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	cfg.reset = PGORM_POOL_RESET_CLOSE;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = get(p);
	int pid = backend_pid(c);
	pgtest_exec(c, "BEGIN");
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);               /* closed by the reset policy */
	pgorm_conn *c2 = get(p);                                      /* a new connection */
	ck_assert_int_ne(backend_pid(c2), pid);
	ck_assert_ptr_ne(c2, c);
	ck_assert_int_eq(pgorm_pool_release(p, c), PGORM_EPOOL);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.in_use, 1);
	ck_assert_int_eq(pgorm_pool_release(p, c2), 0);
	pgorm_pool_destroy(p);
}
END_TEST

/* ---- stale handles under the handle-reuse scheme (issue 17: no hash table, handle memory
 * recycled through a quarantine and a spare list) ---- */

typedef struct borrower {
	pgorm_pool *p;
	atomic_int stage;    /* 1: has borrowed; 2: told to finish; 3: done */
	int pid, rc_exec, rc_release;
	pgorm_conn *c;
} borrower;

static void *borrower_main(void *arg)
{
	borrower *b = arg;
	pgorm_error err;
	if (pgorm_pool_acquire(b->p, &b->c, &err) != 0) {
		atomic_store(&b->stage, 3);
		return NULL;
	}
	b->pid = backend_pid(b->c);
	atomic_store(&b->stage, 1);
	for (double t0 = pgtest_now_ms(); atomic_load(&b->stage) != 2 && pgtest_now_ms() - t0 < WAIT_MS;)
		sleep_ms(1);
	b->rc_exec = pgtest_int(b->c, "SELECT 11") == 11 ? 0 : -1;
	b->rc_release = pgorm_pool_release(b->p, b->c);
	atomic_store(&b->stage, 3);
	return NULL;
}

/* A handle released here is refused while another thread holds the same connection under
 * its own handle; the other borrower is not disturbed, and its handle is refused after its
 * own release (double release). */
START_TEST(test_pool_stale_release_while_other_thread_borrows)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = get(p);
	int pid = backend_pid(c);
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);
	borrower b = { .p = p };
	atomic_init(&b.stage, 0);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, borrower_main, &b), 0);
	for (double t0 = pgtest_now_ms(); atomic_load(&b.stage) == 0 && pgtest_now_ms() - t0 < WAIT_MS;)
		sleep_ms(1);
	ck_assert_int_eq(atomic_load(&b.stage), 1);
	ck_assert_int_eq(b.pid, pid);                                /* the same connection */
	ck_assert_ptr_ne(b.c, c);
	ck_assert_int_eq(pgorm_pool_release(p, c), PGORM_EPOOL);    /* stale */
	ck_assert_int_eq(pgorm_pool_release(p, c), PGORM_EPOOL);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.in_use, 1);
	ck_assert_uint_eq(st.misuse, 2);
	pgorm_conn *x = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_pool_try_acquire(p, &x, &err), PGORM_ETIMEDOUT);
	atomic_store(&b.stage, 2);
	pthread_join(t, NULL);
	ck_assert_int_eq(b.rc_exec, 0);
	ck_assert_int_eq(b.rc_release, 0);
	ck_assert_int_eq(pgorm_pool_release(p, b.c), PGORM_EPOOL); /* double, from another thread */
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.in_use, 0);
	ck_assert_uint_eq(st.idle, 1);
	ck_assert_uint_eq(st.misuse, 3);
	ck_assert_uint_eq(st.releases, 2);
	pgorm_pool_destroy(p);
}
END_TEST

/* Released inside a transaction: the pool rolls the connection back and keeps it. The handle
 * is refused afterwards (double release), also once the rolled-back connection is lent again. */
START_TEST(test_pool_stale_release_after_rollback_reset)
{
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *c = get(p);
	int pid = backend_pid(c);
	pgtest_exec(c, "BEGIN");
	pgtest_exec(c, "CREATE TEMP TABLE stale_rb (x int)");
	ck_assert_int_eq(pgorm_pool_release(p, c), 0);               /* ROLLBACK, kept */
	ck_assert_int_eq(pgorm_pool_release(p, c), PGORM_EPOOL);     /* double, after the reset */
	pgorm_conn *c2 = get(p);
	ck_assert_int_eq(backend_pid(c2), pid);
	ck_assert_ptr_ne(c2, c);
	ck_assert_int_eq(pgorm_pool_release(p, c), PGORM_EPOOL);     /* stale, lent again */
	ck_assert_int_eq(pgtest_int(c2, "SELECT count(*) FROM pg_class WHERE relname = 'stale_rb'"), 0); /* rolled back */
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.rollbacks, 1);
	ck_assert_uint_eq(st.misuse, 2);
	ck_assert_uint_eq(st.in_use, 1);
	ck_assert_int_eq(pgorm_pool_release(p, c2), 0);
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.closed_total, 0);
	pgorm_pool_destroy(p);
}
END_TEST

/* Connections closed one after another (reset policy CLOSE): each closed connection's handle
 * goes through the quarantine and then serves a new connection, so the pool's handle memory
 * stays bounded; every old handle that is not the live one is refused, and the last 64 (the
 * quarantine) are never the live one. */
START_TEST(test_pool_handle_memory_recycled_on_close_churn)
{
	enum { ROUNDS = 90, QUARANTINE = 64 };
	pgorm_pool_config cfg = base_cfg();
	cfg.max_size = 1;
	cfg.reset = PGORM_POOL_RESET_CLOSE;
	pgorm_pool *p = make_pool(&cfg);
	pgorm_conn *old[ROUNDS];
	for (int i = 0; i < ROUNDS; i++) {
		old[i] = get(p);
		pgtest_exec(old[i], "BEGIN");
		ck_assert_int_eq(pgorm_pool_release(p, old[i]), 0);   /* closed by the reset policy */
	}
	pgorm_conn *now = get(p);
	ck_assert_int_eq(pgtest_int(now, "SELECT 3"), 3);
	size_t distinct = 0;
	for (int i = 0; i < ROUNDS; i++) {
		bool seen = false;
		for (int j = 0; j < i && !seen; j++)
			seen = old[j] == old[i];
		distinct += !seen;
		if (i >= ROUNDS - QUARANTINE)
			ck_assert_ptr_ne(old[i], now);
		if (old[i] != now)
			ck_assert_int_eq(pgorm_pool_release(p, old[i]), PGORM_EPOOL);
	}
	ck_assert_uint_le(distinct, QUARANTINE + 8);                /* memory reused, not grown */
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.in_use, 1);
	ck_assert_uint_eq(st.closed[PGORM_POOL_CLOSED_RESET_POLICY], ROUNDS);
	ck_assert_int_eq(pgorm_pool_release(p, now), 0);
	pgorm_pool_destroy(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("core");
	tcase_add_unchecked_fixture(tc, pgtest_schema_setup, pgtest_schema_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_acquire_release_reuses);
	tcase_add_test(tc, test_bad_config);
	tcase_add_test(tc, test_double_and_foreign_release);
	tcase_add_test(tc, test_release_in_transaction_rolls_back);
	tcase_add_test(tc, test_release_policy_close_and_bad_states);
	tcase_add_test(tc, test_leak_shows_in_stats_and_timeout_names_cause);
	tcase_add_test(tc, test_threads_no_sharing_counters_add_up);
	tcase_add_test(tc, test_threads_with_timeouts_counters_add_up);
	tcase_add_test(tc, test_fifo_waiters);
	tcase_add_test(tc, test_waiter_served_while_others_barge);
	tcase_add_test(tc, test_terminated_idle_is_not_handed_out);
	tcase_add_test(tc, test_terminated_busy_bumps_generation);
	tcase_add_test(tc, test_min_idle_and_idle_timeout);
	tcase_add_test(tc, test_max_lifetime);
	tcase_add_test(tc, test_init_sql_stmt_mode_and_ping);
	tcase_add_test(tc, test_init_sql_failure_is_connect_error);
	tcase_add_test(tc, test_close_with_deadline);
	tcase_add_test(tc, test_fork_child_does_not_touch_parent_sockets);
	tcase_add_test(tc, test_issue_pool_conninfo_validated);
	tcase_add_test(tc, test_issue_pool_connect_error_redacted);
	tcase_add_test(tc, test_issue_pool_max_size_absurd);
	tcase_add_test(tc, test_issue12_pool_stale_release_aba);
	tcase_add_test(tc, test_issue12_pool_config_refused);
	tcase_add_test(tc, test_issue12_pool_idle_in_transaction_timeout);
	tcase_add_test(tc, test_pool_stale_release_after_close);
	tcase_add_test(tc, test_pool_stale_release_while_other_thread_borrows);
	tcase_add_test(tc, test_pool_stale_release_after_rollback_reset);
	tcase_add_test(tc, test_pool_handle_memory_recycled_on_close_churn);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
