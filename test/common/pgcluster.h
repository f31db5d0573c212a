/* test/common/pgcluster.h — a test program's OWN throwaway cluster (test/pgtmp, whose path meson
 * puts in $PGTMP), for tests that stop, restart, terminate or proxy the server or change its
 * authentication, so that the other test programs, which share PGORM_TEST_DSN, are never
 * disturbed. Plus the small timing and socket helpers those tests share.
 */
#ifndef PGCLUSTER_H
#define PGCLUSTER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pgcluster {
	char dir[256];   /* the cluster directory: data/, server.log, ca.crt (with PGTMP_SSL) */
	char dsn[512];   /* unix-socket conninfo printed by pgtmp (user postgres, trust) */
	int port;        /* server port; also on TCP 127.0.0.1 when started with tcp */
} pgcluster;

/* Start a cluster in /tmp/pgc.<tag>.<pid>. With tcp, a free loopback port is picked and passed
 * as PGTMP_PORT (retried on a port race). env: NULL or a NULL-terminated list of "NAME=VALUE"
 * settings for pgtmp (e.g. "PGTMP_SSL=1"), set only for the pgtmp call. Called from main before
 * Check runs: on failure it prints why (pgtmp's output included) and exits(1). */
void pgcluster_start(pgcluster *c, const char *tag, bool tcp, const char *const *env);
/* The conninfo of replica i (1-based) of a cluster started with "PGTMP_REPLICAS=N" in env
 * (pgtmp writes it to DIR/replicaI/dsn); exits(1) when there is none. */
void pgcluster_replica_dsn(const pgcluster *c, int i, char *buf, size_t n);
/* Stop the server and remove the directory. */
void pgcluster_stop(pgcluster *c);
/* Run `pg_ctl ACTION -w -t 60` on the cluster as its owner ("-m fast restart", "start", ...);
 * returns system()'s status (0 on success). */
int pgcluster_ctl(const pgcluster *c, const char *action);
/* "runuser -u postgres -- " when running as root (the cluster's owner is postgres), else "". */
const char *pgcluster_run_as(void);
/* A loopback TCP port that was free a moment ago (-1 on error). */
int pgcluster_free_port(void);

/* A private PgBouncer (Debian's) in front of a pgcluster, on a free loopback port, as the
 * postgres user when run as root; auth trust, admin user postgres (SHOW ... on dbname
 * pgbouncer). */
typedef struct pgcluster_bouncer {
	char dir[300];   /* DIR/pgbouncer.<port>: pgbouncer.ini, .log, .pid */
	int port;
	char dsn[256];   /* host=127.0.0.1 port=P user=postgres dbname=DB */
} pgcluster_bouncer;
/* Start it with pool_mode (e.g. "transaction"), default_pool_size pool_size, for database db of
 * cluster c (same name on both sides); waits until it answers (bounded). Exits(1) on failure. */
void pgcluster_bouncer_start(pgcluster_bouncer *b, const pgcluster *c, const char *db, const char *pool_mode, int pool_size);
/* SIGTERM it and wait (bounded) until it is gone. */
void pgcluster_bouncer_stop(pgcluster_bouncer *b);

/* Monotonic clock in milliseconds; sleep. */
double pgtest_now_ms(void);
void pgtest_sleep_ms(long ms);

#endif
