/* bench/async_bench.c — one thread and one epoll loop serving CONCURRENT "parent with its
 * children (selectin)" requests over CONNS pooled connections (pgorm/async.h), against the
 * blocking API with CONNS threads on the same pool size. Not a timed test: prints figures.
 *
 *     async_bench [CONNINFO] [--requests N] [--concurrent C] [--conns K]
 *     (defaults 20000, 1000, 8; CONNINFO else PGORM_TEST_DSN)
 *
 * Both sides model C clients each with one request outstanding (a closed loop): a request is
 * issued when an earlier one completes (the first C at t=0), and its latency runs from issue to
 * completion, so it includes the wait for a connection (with 1000 clients on 8 connections that
 * queue is most of it, on both sides). Memory per in-flight op: RSS growth once C ops are in
 * flight (op + its stack pages touched + the request's session), divided by C. */
#include "../examples/async_service.h"

#include <pgorm/async_epoll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

typedef struct bench {
	const pgorm_registry *reg;
	pgorm_pool *pool;
	int n, conc, started, done, failed;
	double *lat;
	double *completions;        /* completion times in order: issue time of request k is
	                               completions[k - conc] */
	double t0;
	pthread_mutex_t mu;
	pgorm_epoll *loop;
} bench;

static void check(bench *b, svc_request *r, int rc)
{
	char expect[32];
	snprintf(expect, sizeof expect, "p%lld", (long long)r->id);
	if (rc != 0 || r->nchildren != 5 || strcmp(r->name, expect) != 0)
		b->failed++;
}

/* ---- non-blocking: one thread ---- */

static void start_async(bench *b);

typedef struct areq {
	svc_request r;
	bench *b;
} areq;

static void areq_done(pgorm_op *op, int rc, void *arg)
{
	(void)op;
	areq *a = arg;
	bench *b = a->b;
	double t = now_ms();
	check(b, &a->r, rc);
	b->lat[b->done] = t - a->r.t0;
	b->completions[b->done++] = t;
	pgorm_session_destroy(a->r.s);
	free(a);
	start_async(b);
}

static void start_async(bench *b)
{
	if (b->started == b->n)
		return;
	int k = b->started++;
	areq *a = calloc(1, sizeof *a);
	if (a == NULL)
		svc_die("calloc", PGORM_ENOMEM, NULL);
	a->b = b;
	a->r.id = k % 1000 + 1;
	a->r.t0 = k < b->conc ? b->t0 : now_ms();
	pgorm_error err;
	int rc = pgorm_session_create(&a->r.s, b->reg, b->pool, NULL, NULL, &err);
	if (rc != 0)
		svc_die("session", rc, err.message);
	pgorm_op_config cfg = PGORM_OP_CONFIG_INIT;
	cfg.done = areq_done;
	cfg.arg = a;
	cfg.stack_size = 64 * 1024;
	pgorm_op *op = NULL;
	if ((rc = pgorm_async_run(&op, svc_request_body, &a->r, &cfg)) != 0 || (rc = pgorm_epoll_add(b->loop, op)) != 0)
		svc_die("start", rc, NULL);
}

/* ---- blocking: K threads ---- */

static void *worker(void *arg)
{
	bench *b = arg;
	pgorm_session *s = NULL;
	pgorm_error err;
	int rc = pgorm_session_create(&s, b->reg, b->pool, NULL, NULL, &err);
	if (rc != 0)
		svc_die("session", rc, err.message);
	for (;;) {
		pthread_mutex_lock(&b->mu);
		if (b->started == b->n) {
			pthread_mutex_unlock(&b->mu);
			break;
		}
		int k = b->started++;
		double issued = k < b->conc ? b->t0 : b->completions[k - b->conc];
		pthread_mutex_unlock(&b->mu);
		svc_request r = { .s = s, .id = k % 1000 + 1 };
		rc = svc_request_body(&r);
		/* a fresh session per request, as the async side (its objects are not kept) */
		pgorm_session_destroy(s);
		if (pgorm_session_create(&s, b->reg, b->pool, NULL, NULL, &err) != 0)
			svc_die("session", PGORM_ENOMEM, err.message);
		double t = now_ms();
		pthread_mutex_lock(&b->mu);
		check(b, &r, rc);
		b->lat[b->done] = t - issued;
		b->completions[b->done++] = t;
		pthread_mutex_unlock(&b->mu);
	}
	pgorm_session_destroy(s);
	return NULL;
}

static void report(const char *what, bench *b, double ms, double mem_kb)
{
	qsort(b->lat, (size_t)b->done, sizeof *b->lat, cmp_double);
	printf("%-28s %6d req  %8.0f req/s  p50 %8.2f ms  p99 %8.2f ms  failed %d", what, b->done,
	       b->done / (ms / 1e3), b->lat[b->done / 2], b->lat[(size_t)b->done * 99 / 100], b->failed);
	if (mem_kb > 0)
		printf("  mem/in-flight %.1f KiB", mem_kb);
	printf("\n");
}

int main(int argc, char **argv)
{
	const char *conninfo = getenv("PGORM_TEST_DSN");
	int n = 20000, conc = 1000, conns = 8;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (strcmp(argv[i], "--concurrent") == 0 && i + 1 < argc)
			conc = atoi(argv[++i]);
		else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc)
			conns = atoi(argv[++i]);
		else
			conninfo = argv[i];
	}
	if (conc > n)
		conc = n;
	pgorm_registry *reg = svc_setup(conninfo, 1000);
	pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
	pc.conninfo = conninfo;
	pc.max_size = (size_t)conns;
	pc.min_idle = (size_t)conns;
	pc.acquire_timeout_ms = 600000;
	pgorm_error err;
	bench b = { .reg = reg, .n = n, .conc = conc };
	int rc = pgorm_pool_create(&b.pool, &pc, &err);
	if (rc != 0)
		svc_die("pool", rc, err.message);
	pgorm_pool_wait_ready(b.pool, 10000, &err);
	b.lat = calloc((size_t)n, sizeof *b.lat);
	b.completions = calloc((size_t)n, sizeof *b.completions);
	pthread_mutex_init(&b.mu, NULL);
	printf("async_bench: %d requests \"parent with children (selectin)\", %d concurrent, %d connections\n",
	       n, conc, conns);

	/* blocking, K threads */
	b.t0 = now_ms();
	pthread_t th[64];
	int nth = conns < 64 ? conns : 64;
	for (int i = 0; i < nth; i++)
		pthread_create(&th[i], NULL, worker, &b);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	char what[64];
	snprintf(what, sizeof what, "blocking, %d threads", nth);
	report(what, &b, now_ms() - b.t0, 0);

	/* non-blocking, one thread */
	b.started = b.done = b.failed = 0;
	if ((rc = pgorm_epoll_create(&b.loop)) != 0)
		svc_die("epoll", rc, NULL);
	long rss0 = rss_kb();
	b.t0 = now_ms();
	for (int i = 0; i < conc; i++)
		start_async(&b);
	double mem = (double)(rss_kb() - rss0) / conc;
	pgorm_epoll_run(b.loop);
	report("non-blocking, 1 thread", &b, now_ms() - b.t0, mem);
	pgorm_epoll_destroy(b.loop);
	pgorm_pool_destroy(b.pool);
	pgorm_registry_destroy(reg);
	free(b.lat);
	free(b.completions);
	return b.failed == 0 ? 0 : 1;
}
