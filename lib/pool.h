/* lib/pool.h — the pool's private layout (pool.c only; exposed for white-box tests). */
#ifndef PGORM_POOL_PRIV_H
#define PGORM_POOL_PRIV_H

#include "exec.h"
#include "pgorm/pool.h"

#include <pthread.h>
#include <stdint.h>

/* CLOSING: detached from the pool, being closed (a release of its handle is refused). */
enum { PGORM__SLOT_IDLE = 1, PGORM__SLOT_BORROWED = 2, PGORM__SLOT_RETURNING = 3, PGORM__SLOT_CLOSING = 4 };

/* One open connection. Owned by the pool; conn->pool_slot points back here (on the live
 * handle only: a retired handle's pool_slot is NULL). */
typedef struct pgorm__pool_slot {
	pgorm_conn *conn;                      /* the live handle (this borrow's, when borrowed) */
	pgorm_conn *old;                       /* the previous borrow's handle, moved from at
	                                          acquire; retired at this borrow's release */
	bool handle_used;                      /* conn was handed out: the next borrow gets a new one */
	struct pgorm_pool *pool;               /* owner: a release names the right pool */
	size_t idx;                            /* index in pool->slots */
	struct pgorm__pool_slot *prev, *next;  /* idle list links (state IDLE only) */
	uint64_t gen;                          /* pool generation when opened */
	int64_t expires_ms;                    /* coarse clock; 0 = never */
	int64_t last_used_ms;                  /* coarse clock at open / release */
	int64_t borrowed_ms;                   /* coarse clock at acquire */
	int state;
} pgorm__pool_slot;

/* A thread blocked in acquire; lives on that thread's stack, queued FIFO. */
typedef struct pgorm__pool_waiter {
	struct pgorm__pool_waiter *prev, *next;
	pthread_cond_t cond;
	pgorm__pool_slot *slot;  /* set by the hand-off */
	int rc;                  /* PGORM_ECLOSED when woken by close */
	bool done;
	int64_t since_ms;        /* coarse clock when it queued */
	bool signaled;           /* woken for a connection put on the idle list (not handed off) */
} pgorm__pool_waiter;

/* The memory of a pgorm_conn handle that names nothing any more (see "Stale handles" in
 * pgorm/pool.h), linked through its first bytes while it is on the spare list. Its pool_slot
 * member is NULL (also in the quarantine). */
typedef struct pgorm__retired {
	struct pgorm__retired *next;
} pgorm__retired;

struct pgorm_pool {
	/* Hot: an acquire + release cycle writes only these first two cache lines of the pool. */
	pthread_mutex_t mu;                 /* guards everything below except cfg and fork_gen */
	pgorm__pool_slot *idle_head;        /* most recently released first */
	size_t idle_n;
	size_t in_use;
	uint64_t gen;
	pgorm__pool_waiter *wq_head;        /* FIFO */
	pgorm_conn **ring;                  /* quarantine of retired handles: ret_cap entries, the
	                                       oldest at ring[ring_head], ret_n of them */
	uint64_t acquires, releases;        /* stats.acquires / releases */
	uint32_t ring_head, ret_n, ret_cap;
	bool closing;
	pgorm__pool_slot *idle_tail;

	pgorm__pool_waiter *wq_tail;
	size_t waiters_n;
	pgorm__retired *spare;              /* handles out of the quarantine, for reuse (a handle's
	                                       memory is freed only by pgorm_pool_destroy) */
	pgorm__pool_slot **slots;           /* every open connection (installed), max_size entries */
	size_t nslots;
	size_t size;                        /* open connections */
	size_t opening;                     /* connects in progress */
	bool stop;

	pthread_cond_t maint_cond;          /* wakes the maintenance thread */
	pthread_cond_t close_cond;          /* in_use dropped (pgorm_pool_close waits on it) */
	pthread_cond_t ready_cond;          /* a connect attempt ended (pgorm_pool_wait_ready) */
	pthread_t maint;
	bool maint_started;

	pgorm_pool_config cfg;              /* immutable after create; strings point below */
	char *conninfo;
	char *init_sql;
	char connect_timeout[24];
	pgorm_conn_config conn_cfg;

	bool down;                          /* last connect failed */
	bool fatal;                         /* ... with an error retrying will not cure */
	pgorm_error last_err;
	long backoff_ms;
	int64_t next_attempt_ms;            /* precise clock */
	int64_t next_maint_ms;
	uint64_t rng;

	unsigned fork_gen;                  /* global fork counter at create */
	pgorm_pool_stats st;                /* other counters; gauges are filled at snapshot */
};

#endif
