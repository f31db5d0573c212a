/* Issue 18, failover under load (twice: pg_ctl promote, then Patroni's switchover): a pool on a multi-host conninfo (primary, replica) with
 * target_session_attrs=read-write; 4 threads write through it while the primary is stopped
 * (pg_ctl stop -m fast: its sessions get 57P01) and the replica is promoted (pg_ctl promote).
 * Printed: requests, failures (and how many requests were in flight at the stop), the time
 * until writes succeed again, the slowest request. Asserted: failures bounded by the
 * connections open before the failover (each fails at most once, then the pool retires it and,
 * by the generation bump, every other old one), writes succeed again on the promoted server,
 * every acknowledged write is there, and no thread hangs (each request is bounded).
 * Runs on its OWN throwaway cluster (test/pgtmp with PGTMP_REPLICAS=1), on unix sockets, and its
 * own Patroni cluster (test/pgpatroni: etcd + two Patroni nodes on loopback TCP; Debian's
 * patroni 3.0.2 and etcd-server 3.4), where `patronictl switchover` moves the leader while the
 * same 4 threads write through host=node1,node2 target_session_attrs=read-write. */
#include "pgcluster.h"
#include "pgtest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pgcluster cluster, standby;

enum { THREADS = 4, MAX_SIZE = 8, MAXREQ = 400000 };

typedef struct req {
	double t0, t1;
	int rc;
	bool on_new;     /* served by the promoted server */
	int64_t id;      /* the row written (rc == 0) */
} req;

static req *reqs;
static atomic_size_t nreq;
static atomic_int stop_flag, finished;
static atomic_llong back_us;   /* first write served by the promoted server (ms * 1000) */
static pgorm_pool *pool;
static char new_datadir[400];
static char first_err[THREADS][300];

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;
	for (int64_t k = 0; !atomic_load(&stop_flag); k++) {
		size_t i = atomic_fetch_add(&nreq, 1);
		if (i >= MAXREQ)
			break;
		req *r = &reqs[i];
		r->t0 = pgtest_now_ms();
		pgorm_conn *c = NULL;
		pgorm_error err;
		r->rc = pgorm_pool_acquire(pool, &c, &err);
		if (r->rc == 0) {
			pgorm_result *res = NULL;
			r->rc = pgorm_conn_exec(c, "INSERT INTO ft (thread, k) VALUES ($1, $2) RETURNING id, current_setting('data_directory')",
			                        2, (pgorm_value[]){ PGORM_INT4(me), PGORM_INT8(k) }, &res);
			if (r->rc == 0 && (r->rc = pgorm_result_int64(res, 0, 0, &r->id)) == 0)
				r->on_new = strcmp(pgorm_result_text(res, 0, 1), new_datadir) == 0;
			else if (first_err[me][0] == '\0')
				snprintf(first_err[me], sizeof first_err[me], "%s [%s]", pgorm_conn_error(c)->message,
				         pgorm_conn_error(c)->sqlstate);
			pgorm_result_free(res);
			pgorm_pool_release(pool, c);
		} else if (first_err[me][0] == '\0') {
			snprintf(first_err[me], sizeof first_err[me], "acquire: %s", err.message);
		}
		r->t1 = pgtest_now_ms();
		long long zero = 0;
		if (r->rc == 0 && r->on_new)
			atomic_compare_exchange_strong(&back_us, &zero, (long long)(r->t1 * 1000));
	}
	atomic_fetch_add(&finished, 1);
	return NULL;
}

/* One failover scenario: where to create the table, the pool's multi-host conninfo, the server
 * that takes over (its data directory tells the requests it served apart), and the action. */
typedef struct scenario {
	const char *label;
	const char *primary_dsn;
	const char *pool_dsn;
	const char *new_dsn;
	const char *new_datadir;
	void (*act)(double *t_mid);   /* *t_mid: when its first half (stop, switchover) returned */
} scenario;

static void run_under_load(const scenario *sc)
{
	snprintf(new_datadir, sizeof new_datadir, "%s", sc->new_datadir);
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	cc.conninfo = sc->primary_dsn;
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_conn_connect(&c, &cc, &err) == 0, "%s", err.message);
	pgtest_exec(c, "CREATE TABLE ft (id bigserial PRIMARY KEY, thread int NOT NULL, k int8 NOT NULL)");
	pgorm_conn_close(c);

	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = sc->pool_dsn;
	cfg.min_idle = THREADS;
	cfg.max_size = MAX_SIZE;
	cfg.acquire_timeout_ms = 15000;
	cfg.connect_timeout_ms = 2000;
	cfg.backoff_min_ms = 20;
	cfg.backoff_max_ms = 250;
	cfg.maintenance_interval_ms = 100;
	ck_assert_msg(pgorm_pool_create(&pool, &cfg, &err) == 0, "%s", err.message);
	ck_assert_msg(pgorm_pool_wait_ready(pool, 10000, &err) == 0, "%s", err.message);

	reqs = calloc(MAXREQ, sizeof *reqs);
	ck_assert_ptr_nonnull(reqs);
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
	pgtest_sleep_ms(1000);

	double t_stop = pgtest_now_ms(), t_down = 0;
	sc->act(&t_down);
	double t_promoted = pgtest_now_ms();
	/* load until writes have succeeded on the promoted server for a second (at most 30 s) */
	double t_back = 0;
	while (pgtest_now_ms() - t_stop < 30000) {
		t_back = (double)atomic_load(&back_us) / 1000;
		if (t_back > 0 && pgtest_now_ms() - t_back > 1000)
			break;
		pgtest_sleep_ms(20);
	}
	atomic_store(&stop_flag, 1);
	/* no thread hangs: each finishes its request within the acquire timeout + a margin */
	double t_join = pgtest_now_ms();
	while (atomic_load(&finished) < THREADS) {
		ck_assert_msg(pgtest_now_ms() - t_join < 20000, "a worker thread hangs");
		pgtest_sleep_ms(10);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);

	size_t n = atomic_load(&nreq);
	if (n > MAXREQ)
		n = MAXREQ;
	size_t failed = 0, in_flight = 0, ok_new = 0, ok_old = 0;
	double slowest = 0, last_fail = 0;
	int64_t *ids = calloc(n + 1, sizeof *ids);
	size_t nids = 0;
	for (size_t i = 0; i < n; i++) {
		req *r = &reqs[i];
		if (r->t1 == 0)
			continue; /* counted slot of a thread that stopped */
		if (r->t0 <= t_stop && r->t1 >= t_stop)
			in_flight++;
		if (r->t1 - r->t0 > slowest)
			slowest = r->t1 - r->t0;
		if (r->rc != 0) {
			failed++;
			if (r->t1 > last_fail)
				last_fail = r->t1;
			continue;
		}
		ids[nids++] = r->id;
		if (r->on_new)
			ok_new++;
		else
			ok_old++;
	}
	printf("%s: %zu requests by %d threads (%zu ok on the old primary, %zu on the new one); %zu failed "
	       "(%zu in flight when the action began; bound: %d pool connections); the action took %.0f + %.0f ms; "
	       "writes succeeded again %.0f ms after it began (%.0f ms after it returned); slowest request "
	       "%.0f ms\n",
	       sc->label, n, THREADS, ok_old, ok_new, failed, in_flight, MAX_SIZE, t_down - t_stop,
	       t_promoted - t_down, t_back - t_stop, t_back - t_promoted, slowest);
	for (int i = 0; i < THREADS; i++)
		if (first_err[i][0] != '\0')
			printf("%s:   thread %d first error: %s\n", sc->label, i, first_err[i]);
	ck_assert_msg(t_back > 0, "writes never succeeded on the promoted server");
	ck_assert_msg(failed <= MAX_SIZE, "%zu requests failed; at most the %d connections open before the failover may",
	              failed, MAX_SIZE);
	ck_assert_msg(last_fail < t_back + 1, "a request failed after writes had recovered");
	ck_assert(ok_old > 0 && ok_new > 0);

	/* every acknowledged write is on the promoted server (a fast shutdown sends all WAL first) */
	cc.conninfo = sc->new_dsn;
	ck_assert_msg(pgorm_conn_connect(&c, &cc, &err) == 0, "%s", err.message);
	pgorm_result *res = NULL;
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT count(*) FROM ft WHERE id = ANY($1)", 1,
	                                 (pgorm_value[]){ PGORM_INT8_ARRAY(ids, nids) }, &res), 0);
	int64_t found = 0;
	ck_assert_int_eq(pgorm_result_int64(res, 0, 0, &found), 0);
	pgorm_result_free(res);
	ck_assert_int_eq(found, (int64_t)nids);
	pgorm_conn_close(c);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_ge(st.generation, 2);
	printf("%s: pool generation %llu, %llu connections closed as broken, %llu by generation, %llu connects "
	       "(%llu failed)\n",
	       sc->label, (unsigned long long)st.generation, (unsigned long long)st.closed[PGORM_POOL_CLOSED_BROKEN],
	       (unsigned long long)st.closed[PGORM_POOL_CLOSED_GENERATION], (unsigned long long)st.connects,
	       (unsigned long long)st.connect_failures);
	pgorm_pool_destroy(pool);
	free(ids);
	free(reqs);
	reqs = NULL;
	pool = NULL;
}

static void stop_and_promote(double *t_mid)
{
	ck_assert_int_eq(pgcluster_ctl(&cluster, "-m fast stop"), 0);
	*t_mid = pgtest_now_ms();
	ck_assert_int_eq(pgcluster_ctl(&standby, "promote"), 0);
}

START_TEST(test_failover_promote_under_load)
{
	char replica_dsn[512], dsn[1200], datadir[400];
	pgcluster_replica_dsn(&cluster, 1, replica_dsn, sizeof replica_dsn);
	snprintf(standby.dir, sizeof standby.dir, "%.200s/replica1", cluster.dir);
	snprintf(datadir, sizeof datadir, "%s/replica1/data", cluster.dir);
	snprintf(dsn, sizeof dsn,
	         "host=%s,%s port=5432,5432 user=postgres dbname=postgres target_session_attrs=read-write",
	         cluster.dir, standby.dir);
	scenario sc = { "failover", cluster.dsn, dsn, replica_dsn, datadir, stop_and_promote };
	run_under_load(&sc);
}
END_TEST


/* ---- Patroni: etcd + two nodes (test/pgpatroni), patronictl switchover under the same load ---- */

static char patroni_dir[256], patroni_script[512];
static int patroni_base;

/* Run `pgpatroni ARGS DIR` with its ports; its first output line into out (may be NULL). */
static int patroni(const char *args, char *out, size_t n)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "PGPATRONI_PORT=%d '%s' %s '%s'", patroni_base, patroni_script, args, patroni_dir);
	FILE *f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	char line[512] = "", rest[512];
	if (fgets(line, sizeof line, f) == NULL)
		line[0] = '\0';
	while (fgets(rest, sizeof rest, f) != NULL)
		;
	int rc = pclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (out != NULL)
		snprintf(out, n, "%s", line);
	return rc;
}

static void switchover(double *t_mid)
{
	ck_assert_int_eq(patroni("switchover", NULL, 0), 0);
	*t_mid = pgtest_now_ms();
}

START_TEST(test_patroni_switchover_under_load)
{
	char leader[32];
	ck_assert_int_eq(patroni("leader", leader, sizeof leader), 0);
	ck_assert_msg(strcmp(leader, "node1") == 0 || strcmp(leader, "node2") == 0, "no leader: '%s'", leader);
	int old = leader[4] - '0', new = 3 - old;
	char primary_dsn[200], new_dsn[200], pool_dsn[300], datadir[400];
	snprintf(primary_dsn, sizeof primary_dsn, "host=127.0.0.1 port=%d user=postgres dbname=postgres",
	         patroni_base + old - 1);
	snprintf(new_dsn, sizeof new_dsn, "host=127.0.0.1 port=%d user=postgres dbname=postgres", patroni_base + new - 1);
	snprintf(pool_dsn, sizeof pool_dsn,
	         "host=127.0.0.1,127.0.0.1 port=%d,%d user=postgres dbname=postgres target_session_attrs=read-write",
	         patroni_base, patroni_base + 1);
	snprintf(datadir, sizeof datadir, "%s/node%d/data", patroni_dir, new);
	scenario sc = { "patroni", primary_dsn, pool_dsn, new_dsn, datadir, switchover };
	run_under_load(&sc);
}
END_TEST

/* Start Patroni (before Check forks: its processes must outlive a failing test, and are
 * stopped by main); exits(1) when it cannot run. */
static void patroni_start(void)
{
	const char *pgtmp = getenv("PGTMP");
	if (pgtmp == NULL) {
		fprintf(stderr, "PGTMP (path of test/pgtmp) is not set; run through meson test\n");
		exit(1);
	}
	snprintf(patroni_script, sizeof patroni_script, "%.*spgpatroni", (int)(strrchr(pgtmp, '/') + 1 - pgtmp), pgtmp);
	snprintf(patroni_dir, sizeof patroni_dir, "/tmp/pgpatroni.%d", (int)getpid());
	for (int attempt = 0; attempt < 2; attempt++) {
		patroni_base = pgcluster_free_port();
		if (patroni_base > 0 && patroni_base < 65000) {
			double t0 = pgtest_now_ms();
			if (patroni("start", NULL, 0) == 0) {
				printf("patroni: etcd + 2 nodes up in %.0f ms\n", pgtest_now_ms() - t0);
				return;
			}
		}
		patroni("stop", NULL, 0);
	}
	fprintf(stderr, "test_failover: Patroni (test/pgpatroni) did not start; see above\n");
	exit(1);
}

int main(void)
{
	pgcluster_start(&cluster, "failover", false, (const char *const[]){ "PGTMP_REPLICAS=1", NULL });
	Suite *su = suite_create("failover");
	TCase *tc = tcase_create("promote");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_failover_promote_under_load);
	suite_add_tcase(su, tc);
	tc = tcase_create("patroni");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_patroni_switchover_under_load);
	suite_add_tcase(su, tc);
	patroni_start();
	int rc = pgtest_run(su);
	patroni("stop", NULL, 0);
	pgcluster_stop(&cluster);
	return rc;
}
