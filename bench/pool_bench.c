/* bench/pool_bench.c — the pool's acquire+release cycle against a plain mutex+condvar pool and
 * libzdb's ConnectionPool, and acquire + SELECT 1 + release against a dedicated connection.
 *
 *   pool_bench [CONNINFO] [--ms N] [--only THREADS/SIZE] [--reps R]
 *                                       (CONNINFO defaults to $PGORM_TEST_DSN)
 *
 * --only runs that one row of the cycle table (and no SELECT table), --reps repeats each phase
 * R times, the contestants interleaved, and prints each median (the machine may be shared);
 * --impl NAME keeps one contestant (for perf stat: CPU time and context switches per cycle).
 *
 * Prints markdown tables. Throughput (ops/ms) is measured in an untimed loop; p50/p99/max come
 * from a second pass that reads CLOCK_MONOTONIC around every cycle (that read, ~20 ns, is
 * included in the latencies; max is the longest cycle of any thread: the longest wait). libzdb never waits: when it returns NULL the harness yields and retries, and
 * the misses are counted. All three pools hold real, open PostgreSQL connections.
 */
#include <pgorm.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zdb.h>

static const char *conninfo;
static long phase_ms = 300;
static int only_threads, only_size, reps = 1;
static const char *only_impl; /* --impl NAME: that contestant alone (with --only) */

static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "pool_bench: %s: %s\n", what, msg);
	exit(1);
}

/* ---- the contestants ---- */

typedef struct impl {
	const char *name;
	void *(*create)(int size);
	void *(*acquire)(void *pool); /* NULL: none available (libzdb) */
	void (*release)(void *pool, void *conn);
	void (*destroy)(void *pool);
} impl;

/* pgorm */
static long pgorm_trust_window = -1;
static void *pg_create(int size)
{
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = conninfo;
	cfg.max_size = (size_t)size;
	cfg.min_idle = (size_t)size;
	if (pgorm_trust_window >= 0)
		cfg.trust_window_ms = pgorm_trust_window;
	pgorm_pool *p;
	pgorm_error err;
	if (pgorm_pool_create(&p, &cfg, &err) != 0)
		die("pgorm_pool_create", err.message);
	/* warm up: every connection open before measuring */
	pgorm_conn **c = calloc((size_t)size, sizeof *c);
	for (int i = 0; i < size; i++)
		if (pgorm_pool_acquire(p, &c[i], &err) != 0)
			die("pgorm_pool_acquire", err.message);
	for (int i = 0; i < size; i++)
		pgorm_pool_release(p, c[i]);
	free(c);
	return p;
}
static void *pg_acquire(void *p)
{
	pgorm_conn *c = NULL;
	pgorm_error err;
	if (pgorm_pool_acquire(p, &c, &err) != 0)
		die("pgorm_pool_acquire", err.message);
	return c;
}
static void pg_release(void *p, void *c) { pgorm_pool_release(p, c); }
/* POOL_BENCH_STATS=1: the pool's own counters on stderr (how many acquires had to wait) */
static void pg_destroy(void *p)
{
	if (getenv("POOL_BENCH_STATS") != NULL) {
		pgorm_pool_stats st;
		pgorm_pool_stats_get(p, &st);
		fprintf(stderr, "pgorm pool: %llu acquires, %llu waited (%.2f%%), wait histogram",
		        (unsigned long long)st.acquires, (unsigned long long)st.waits,
		        st.acquires ? 100.0 * (double)st.waits / (double)st.acquires : 0.0);
		for (int i = 0; i < PGORM_POOL_WAIT_BUCKETS; i++)
			fprintf(stderr, " %llu", (unsigned long long)st.wait_hist[i]);
		fprintf(stderr, ", timeouts %llu\n", (unsigned long long)st.timeouts);
	}
	pgorm_pool_destroy(p);
}

/* the textbook pool: a stack under a mutex, a condvar for waiters */
typedef struct simple_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	PGconn **free;
	int nfree, size;
} simple_pool;
static void *sp_create(int size)
{
	simple_pool *p = calloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->free = calloc((size_t)size, sizeof *p->free);
	p->size = size;
	for (int i = 0; i < size; i++) {
		PGconn *c = PQconnectdb(conninfo);
		if (PQstatus(c) != CONNECTION_OK)
			die("PQconnectdb", PQerrorMessage(c));
		p->free[p->nfree++] = c;
	}
	return p;
}
static void *sp_acquire(void *pp)
{
	simple_pool *p = pp;
	pthread_mutex_lock(&p->mu);
	while (p->nfree == 0)
		pthread_cond_wait(&p->cv, &p->mu);
	PGconn *c = p->free[--p->nfree];
	pthread_mutex_unlock(&p->mu);
	return c;
}
static void sp_release(void *pp, void *c)
{
	simple_pool *p = pp;
	pthread_mutex_lock(&p->mu);
	p->free[p->nfree++] = c;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}
static void sp_destroy(void *pp)
{
	simple_pool *p = pp;
	for (int i = 0; i < p->nfree; i++)
		PQfinish(p->free[i]);
	free(p->free);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* libzdb 3.x: postgresql://host:port/db?user=..&unix-socket=DIR */
static char zdb_url[1024];
static void make_zdb_url(void)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
	if (opts == NULL)
		die("PQconninfoParse", errmsg ? errmsg : "?");
	const char *host = NULL, *port = "5432", *user = NULL, *db = "postgres", *pw = "unused";
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val == NULL || !*o->val)
			continue;
		if (!strcmp(o->keyword, "host"))
			host = o->val;
		else if (!strcmp(o->keyword, "port"))
			port = o->val;
		else if (!strcmp(o->keyword, "user"))
			user = o->val;
		else if (!strcmp(o->keyword, "dbname"))
			db = o->val;
		else if (!strcmp(o->keyword, "password"))
			pw = o->val; /* libzdb insists on one; with trust auth it is not checked */
	}
	if (host == NULL || host[0] == '/')
		snprintf(zdb_url, sizeof zdb_url, "postgresql://localhost:%s/%s?user=%s&password=%s&unix-socket=%s",
		         port, db, user ? user : "postgres", pw, host ? host : "/var/run/postgresql");
	else
		snprintf(zdb_url, sizeof zdb_url, "postgresql://%s:%s/%s?user=%s&password=%s", host, port, db,
		         user ? user : "postgres", pw);
	PQconninfoFree(opts);
}
typedef struct zpool {
	URL_T url;
	ConnectionPool_T pool;
} zpool;
static void *z_create(int size)
{
	zpool *z = calloc(1, sizeof *z);
	z->url = URL_new(zdb_url);
	if (z->url == NULL)
		die("libzdb URL_new", zdb_url);
	z->pool = ConnectionPool_new(z->url);
	ConnectionPool_setInitialConnections(z->pool, size);
	ConnectionPool_setMaxConnections(z->pool, size);
	TRY
		ConnectionPool_start(z->pool);
	CATCH(SQLException)
		die("libzdb ConnectionPool_start", Exception_frame.message);
	END_TRY;
	return z;
}
static void *z_acquire(void *zz) { return ConnectionPool_getConnection(((zpool *)zz)->pool); }
static void z_release(void *zz, void *c)
{
	(void)zz;
	Connection_T con = c;
	Connection_close(con);
}
static void z_destroy(void *zz)
{
	zpool *z = zz;
	ConnectionPool_free(&z->pool);
	URL_free(&z->url);
	free(z);
}

static const impl impls[] = {
	{ "pgorm", pg_create, pg_acquire, pg_release, pg_destroy },
	{ "mutex+condvar", sp_create, sp_acquire, sp_release, sp_destroy },
	{ "libzdb", z_create, z_acquire, z_release, z_destroy },
};

/* ---- the harness ---- */

#define HBUCKETS 4096 /* 1 ns buckets up to 4 us, then 64 log2 buckets */
typedef struct thr {
	const impl *im;
	void *pool;
	bool timed;
	atomic_int *go;
	atomic_int *stop;
	uint64_t ops, misses;
	int64_t max_ns;     /* the longest cycle (the longest wait for a connection) */
	uint32_t *hist;
} thr;

static int bucket(int64_t ns)
{
	if (ns < HBUCKETS)
		return ns < 0 ? 0 : (int)ns;
	int b = HBUCKETS;
	for (int64_t v = ns / HBUCKETS; v > 1 && b < HBUCKETS + 63; v >>= 1)
		b++;
	return b;
}
static int64_t bucket_ns(int b) { return b < HBUCKETS ? b : (int64_t)HBUCKETS << (b - HBUCKETS + 1); }

static void *run(void *arg)
{
	thr *t = arg;
	while (!atomic_load(t->go))
		sched_yield();
	uint64_t ops = 0, misses = 0;
	while (!atomic_load_explicit(t->stop, memory_order_relaxed)) {
		int64_t t0 = t->timed ? now_ns() : 0;
		void *c;
		while ((c = t->im->acquire(t->pool)) == NULL) {
			misses++;
			sched_yield();
		}
		t->im->release(t->pool, c);
		if (t->timed) {
			int64_t d = now_ns() - t0;
			t->hist[bucket(d)]++;
			if (d > t->max_ns)
				t->max_ns = d;
		}
		ops++;
	}
	t->ops = ops;
	t->misses = misses;
	return NULL;
}

typedef struct result {
	double ops_ms;
	int64_t p50, p99, max;
	uint64_t misses;
	uint64_t cycles;    /* every cycle of both passes (for CPU time per cycle under perf stat) */
} result;

static void phase(const impl *im, void *pool, int nthreads, bool timed, result *r)
{
	thr t[16];
	pthread_t th[16];
	atomic_int go = 0, stop = 0;
	for (int i = 0; i < nthreads; i++) {
		t[i] = (thr){ .im = im, .pool = pool, .timed = timed, .go = &go, .stop = &stop };
		t[i].hist = calloc(HBUCKETS + 64, sizeof(uint32_t));
		pthread_create(&th[i], NULL, run, &t[i]);
	}
	int64_t t0 = now_ns();
	atomic_store(&go, 1);
	struct timespec d = { phase_ms / 1000, (phase_ms % 1000) * 1000000L };
	nanosleep(&d, NULL);
	atomic_store(&stop, 1);
	uint64_t ops = 0, misses = 0;
	uint64_t *h = calloc(HBUCKETS + 64, sizeof *h);
	if (timed)
		r->max = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		if (timed && t[i].max_ns > r->max)
			r->max = t[i].max_ns;
		ops += t[i].ops;
		misses += t[i].misses;
		for (int b = 0; b < HBUCKETS + 64; b++)
			h[b] += t[i].hist[b];
		free(t[i].hist);
	}
	double ms = (double)(now_ns() - t0) / 1e6;
	r->cycles += ops;
	if (!timed) {
		r->ops_ms = (double)ops / ms;
		r->misses = misses;
	} else {
		uint64_t seen = 0, n50 = ops / 2, n99 = ops - ops / 100;
		r->p50 = r->p99 = -1;
		for (int b = 0; b < HBUCKETS + 64; b++) {
			seen += h[b];
			if (r->p50 < 0 && seen > n50)
				r->p50 = bucket_ns(b);
			if (r->p99 < 0 && seen > n99)
				r->p99 = bucket_ns(b);
		}
	}
	free(h);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}
static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* One row, every contestant reps times (interleaved: each rep runs them all in turn); medians
 * of throughput and of the longest cycle, and the worst longest cycle of all reps. */
static void one_row(int n, int size)
{
	enum { NIMPL = sizeof impls / sizeof impls[0], MAXREPS = 64 };
	static double ops[NIMPL][MAXREPS];
	static int64_t mx[NIMPL][MAXREPS];
	uint64_t cycles[NIMPL] = { 0 };
	int r = reps < MAXREPS ? reps : MAXREPS;
	for (int k = 0; k < r; k++)
		for (size_t i = 0; i < NIMPL; i++) {
			if (only_impl != NULL && strcmp(only_impl, impls[i].name) != 0)
				continue;
			void *pool = impls[i].create(size);
			result res = { 0 };
			phase(&impls[i], pool, n, false, &res);
			phase(&impls[i], pool, n, true, &res);
			impls[i].destroy(pool);
			ops[i][k] = res.ops_ms;
			mx[i][k] = res.max;
			cycles[i] += res.cycles;
		}
	printf("## %d threads on %d connections, %d reps of %ld ms per phase (medians)\n\n", n, size, r, phase_ms);
	printf("| pool | ops/ms (median) | ops/ms (min-max) | longest cycle µs (median) | longest cycle µs (worst) | cycles |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < NIMPL; i++) {
		if (only_impl != NULL && strcmp(only_impl, impls[i].name) != 0)
			continue;
		qsort(ops[i], (size_t)r, sizeof ops[i][0], cmp_double);
		qsort(mx[i], (size_t)r, sizeof mx[i][0], cmp_i64);
		printf("| %s | %.0f | %.0f-%.0f | %.0f | %.0f | %llu |\n", impls[i].name, ops[i][r / 2], ops[i][0],
		       ops[i][r - 1], (double)mx[i][r / 2] / 1e3, (double)mx[i][r - 1] / 1e3, (unsigned long long)cycles[i]);
	}
	printf("\n");
}

static void cycle_table(void)
{
	static const int threads[] = { 1, 2, 4, 8 };
	printf("## acquire + release cycle (%ld ms per phase, %ld online CPUs)\n\n", phase_ms,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("| threads | pool size | pool | ops/ms | p50 ns | p99 ns | max µs | libzdb misses | ops/ms vs pgorm |\n");
	printf("|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
	for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++) {
		int n = threads[ti];
		int sizes[2] = { n / 2, n };
		for (int si = 0; si < 2; si++) {
			int size = sizes[si];
			if (size == 0)
				continue;
			double base = 0;
			for (size_t k = 0; k < sizeof impls / sizeof impls[0]; k++) {
				const impl *im = &impls[k];
				void *pool = im->create(size);
				result r = { 0 };
				phase(im, pool, n, false, &r);
				phase(im, pool, n, true, &r);
				im->destroy(pool);
				if (k == 0)
					base = r.ops_ms;
				char miss[32] = "-";
				if (k == 2)
					snprintf(miss, sizeof miss, "%llu", (unsigned long long)r.misses);
				printf("| %d | %d | %s | %.0f | %lld | %lld | %.0f | %s | %.2fx |\n", n, size, im->name, r.ops_ms,
				       (long long)r.p50, (long long)r.p99, (double)r.max / 1e3, miss, base > 0 ? r.ops_ms / base : 0);
				fflush(stdout);
			}
		}
	}
	/* the cost of the liveness poll when every acquire checks the socket */
	pgorm_trust_window = 0;
	void *pool = impls[0].create(1);
	result r = { 0 };
	phase(&impls[0], pool, 1, false, &r);
	phase(&impls[0], pool, 1, true, &r);
	impls[0].destroy(pool);
	pgorm_trust_window = -1;
	printf("| 1 | 1 | pgorm, trust_window_ms=0 (poll every acquire) | %.0f | %lld | %lld | %.0f | - | - |\n\n",
	       r.ops_ms, (long long)r.p50, (long long)r.p99, (double)r.max / 1e3);
}

/* ---- acquire + SELECT 1 + release vs a dedicated connection ---- */

static void select_table(void)
{
	enum { N = 5000 };
	pgorm_error err;
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	cc.conninfo = conninfo;
	pgorm_conn *c;
	if (pgorm_conn_connect(&c, &cc, &err) != 0)
		die("pgorm_conn_connect", err.message);
	pgorm_pool *p = pg_create(1);
	for (int i = 0; i < 200; i++) { /* warm both: statement prepared, caches hot */
		pgorm_conn_exec(c, "SELECT 1", 0, NULL, NULL);
		pgorm_conn *pc = pg_acquire(p);
		pgorm_conn_exec(pc, "SELECT 1", 0, NULL, NULL);
		pgorm_pool_release(p, pc);
	}
	double best_d = 1e30, best_p = 1e30;
	uint64_t rt_d = 0, rt_p = 0;
	for (int round = 0; round < 3; round++) { /* alternate, keep the best of three */
		pgorm_conn_stats s0, s1;
		pgorm_conn_stats_get(c, &s0);
		int64_t t0 = now_ns();
		for (int i = 0; i < N; i++)
			if (pgorm_conn_exec(c, "SELECT 1", 0, NULL, NULL) != 0)
				die("SELECT 1", pgorm_conn_error(c)->message);
		double d = (double)(now_ns() - t0) / N / 1e3;
		pgorm_conn_stats_get(c, &s1);
		rt_d = s1.round_trips - s0.round_trips;
		best_d = d < best_d ? d : best_d;

		pgorm_conn *pc = pg_acquire(p);
		pgorm_conn_stats_get(pc, &s0);
		pgorm_pool_release(p, pc);
		t0 = now_ns();
		for (int i = 0; i < N; i++) {
			pc = pg_acquire(p);
			if (pgorm_conn_exec(pc, "SELECT 1", 0, NULL, NULL) != 0)
				die("SELECT 1 (pool)", pgorm_conn_error(pc)->message);
			pgorm_pool_release(p, pc);
		}
		double q = (double)(now_ns() - t0) / N / 1e3;
		pc = pg_acquire(p);
		pgorm_conn_stats_get(pc, &s1);
		pgorm_pool_release(p, pc);
		rt_p = s1.round_trips - s0.round_trips;
		best_p = q < best_p ? q : best_p;
	}
	printf("## SELECT 1 (prepared, binary), %d per run, best of 3\n\n", N);
	printf("| path | us/op | round trips/op | vs dedicated |\n|---|---:|---:|---:|\n");
	printf("| dedicated pgorm_conn | %.1f | %.2f | 1.00x |\n", best_d, (double)rt_d / N);
	printf("| pool acquire + SELECT 1 + release | %.1f | %.2f | %.3fx |\n\n", best_p, (double)rt_p / N,
	       best_p / best_d);
	pgorm_pool_destroy(p);
	pgorm_conn_close(c);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ms") && i + 1 < argc)
			phase_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			sscanf(argv[++i], "%d/%d", &only_threads, &only_size);
		else if (!strcmp(argv[i], "--impl") && i + 1 < argc)
			only_impl = argv[++i];
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else
			conninfo = argv[i];
	}
	if (conninfo == NULL)
		conninfo = getenv("PGORM_TEST_DSN");
	if (conninfo == NULL)
		die("usage", "pool_bench CONNINFO [--ms N]   (or set PGORM_TEST_DSN)");
	make_zdb_url();
	printf("# pool benchmark (pgorm %s)\n\n", pgorm_version_string());
	if (only_threads > 0 && only_size > 0 && only_threads <= 16) {
		one_row(only_threads, only_size);
		return 0;
	}
	cycle_table();
	select_table();
	return 0;
}
