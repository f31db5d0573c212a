/* lib/router.c — sessions routed to a primary or replica pools, read-your-writes by LSN
 * (see pgorm/router.h). Above the session: it creates sessions and hands them a connection. */
#include "pgorm/router.h"
#include "exec.h"
#include "internal.h"
#include "state.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

struct pgorm_router {
	pgorm_pool *primary;
	pgorm_pool **replicas;
	size_t n_replicas;
	long wait_ms;
	atomic_uint_fast64_t next;    /* round robin over the replicas */
	pthread_mutex_t mu;           /* guards st */
	pgorm_router_stats st;
};

int pgorm_router_create(pgorm_router **out, const pgorm_router_config *cfg, pgorm_error *err)
{
	if (out == NULL || cfg == NULL || cfg->primary == NULL || (cfg->n_replicas > 0 && cfg->replicas == NULL) ||
	    cfg->wait_ms < 0)
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_router_create: needs a primary pool, the replica "
		                        "array when n_replicas > 0, and wait_ms >= 0");
	*out = NULL;
	for (size_t i = 0; i < cfg->n_replicas; i++)
		if (cfg->replicas[i] == NULL)
			return pgorm__error_set(err, PGORM_EINVAL, "pgorm_router_create: replica pool %zu is NULL", i);
	pgorm_router *r = pgorm__calloc(1, sizeof *r);
	if (r == NULL || (cfg->n_replicas > 0 && (r->replicas = pgorm__calloc(cfg->n_replicas, sizeof *r->replicas)) == NULL)) {
		pgorm__free(r);
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory creating a router");
	}
	r->primary = cfg->primary;
	if (cfg->n_replicas > 0)
		memcpy(r->replicas, cfg->replicas, cfg->n_replicas * sizeof *r->replicas);
	r->n_replicas = cfg->n_replicas;
	r->wait_ms = cfg->wait_ms;
	atomic_init(&r->next, 0);
	pthread_mutex_init(&r->mu, NULL);
	*out = r;
	return 0;
}

void pgorm_router_destroy(pgorm_router *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->mu);
	pgorm__free(r->replicas);
	pgorm__free(r);
}

void pgorm_router_stats_get(pgorm_router *r, pgorm_router_stats *out)
{
	if (r == NULL || out == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	*out = r->st;
	pthread_mutex_unlock(&r->mu);
}

pgorm_lsn pgorm_session_commit_lsn(const pgorm_session *s)
{
	return s != NULL ? s->commit_lsn : PGORM_LSN_NONE;
}

bool pgorm_session_is_read_only(const pgorm_session *s)
{
	return s != NULL && s->read_only;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The server's replay position (a standby's), or its insert position when it is not in
 * recovery (a promoted former replica). 0 and the connection's error on failure. */
static int replay_lsn(pgorm_conn *c, pgorm_lsn *out)
{
	pgorm_result *res = NULL;
	int64_t v = 0;
	int rc = pgorm_conn_exec(c,
	                         "SELECT (COALESCE(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
	                         "ELSE pg_current_wal_insert_lsn() END, '0/0') - '0/0'::pg_lsn)::int8",
	                         0, NULL, &res);
	if (rc == 0)
		rc = pgorm_result_int64(res, 0, 0, &v);
	pgorm_result_free(res);
	*out = v > 0 ? (pgorm_lsn)v : 0;
	return rc;
}

enum { SERVED, LAGGING, FAILED };

/* Borrow a connection of replica pool p that has replayed min_lsn, waiting until deadline
 * (now_us clock). SERVED with *out set, else LAGGING or FAILED (nothing borrowed). */
static int replica_conn(pgorm_pool *p, pgorm_lsn min_lsn, int64_t deadline, pgorm_conn **out, int64_t *waited_us)
{
	pgorm_pool_stats ps;
	pgorm_pool_stats_get(p, &ps);
	if (ps.server_down)
		return FAILED;
	pgorm_conn *c = NULL;
	int64_t t0 = now_us();
	long left_ms = deadline > t0 ? (long)((deadline - t0) / 1000) : 0;
	if (pgorm_pool_acquire_timeout(p, &c, left_ms, NULL) != 0)
		return FAILED;
	if (min_lsn == PGORM_LSN_NONE) {
		*out = c;
		return SERVED;
	}
	long sleep_us = 1000;
	int verdict = LAGGING;
	for (;;) {
		pgorm_lsn at = 0;
		if (replay_lsn(c, &at) != 0) {
			verdict = FAILED;
			break;
		}
		if (at >= min_lsn) {
			verdict = SERVED;
			break;
		}
		int64_t now = now_us();
		if (now >= deadline)
			break;
		long left = (long)(deadline - now);
		long us = sleep_us < left ? sleep_us : left;
		nanosleep(&(struct timespec){ us / 1000000, (us % 1000000) * 1000 }, NULL);
		if (sleep_us < 16000)
			sleep_us *= 2;
	}
	*waited_us = now_us() - t0;
	if (verdict == SERVED)
		*out = c;
	else
		(void)pgorm_pool_release(p, c);
	return verdict;
}

int pgorm_session_create_routed(pgorm_session **out, const pgorm_registry *reg, pgorm_router *r,
                                pgorm_route route, pgorm_lsn min_lsn, const pgorm_session_config *cfg,
                                pgorm_error *err)
{
	if (out == NULL || reg == NULL || r == NULL || (route != PGORM_READ && route != PGORM_WRITE))
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_session_create_routed: needs out, a registry, a "
		                        "router and PGORM_READ or PGORM_WRITE");
	*out = NULL;
	pgorm_pool *pool = r->primary;
	pgorm_conn *c = NULL;
	bool served = false, lagged = false, failed = false;
	int64_t waited_us = 0;
	if (route == PGORM_READ && r->n_replicas > 0 && min_lsn != PGORM_LSN_UNKNOWN) {
		/* round robin; a replica that fails or lags hands over to the next, within one
		 * deadline for all */
		size_t first = (size_t)(atomic_fetch_add(&r->next, 1) % r->n_replicas);
		int64_t deadline = now_us() + (int64_t)r->wait_ms * 1000;
		for (size_t i = 0; i < r->n_replicas && !served; i++) {
			pgorm_pool *p = r->replicas[(first + i) % r->n_replicas];
			int64_t w = 0;
			int v = replica_conn(p, min_lsn, deadline, &c, &w);
			waited_us += w;
			served = v == SERVED;
			lagged = lagged || v == LAGGING;
			failed = failed || v == FAILED;
			if (served)
				pool = p;
		}
	}
	pgorm_session *s = NULL;
	int rc = pgorm_session_create(&s, reg, pool, NULL, cfg, err);
	if (rc != 0) {
		if (c != NULL)
			(void)pgorm_pool_release(pool, c);
		return rc;
	}
	pgorm__session_route(s, c, route == PGORM_READ, route == PGORM_WRITE);
	pthread_mutex_lock(&r->mu);
	if (route == PGORM_WRITE) {
		r->st.writes++;
	} else {
		r->st.reads++;
		if (min_lsn != PGORM_LSN_NONE && min_lsn != PGORM_LSN_UNKNOWN && r->n_replicas > 0) {
			r->st.lsn_waits++;
			r->st.lsn_wait_us += (uint64_t)waited_us;
		}
		if (served)
			r->st.replica_reads++;
		else if (lagged || (min_lsn == PGORM_LSN_UNKNOWN && r->n_replicas > 0))
			r->st.fallback_lag++;
		else if (failed)
			r->st.fallback_error++;
	}
	pthread_mutex_unlock(&r->mu);
	*out = s;
	return 0;
}
