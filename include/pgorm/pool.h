/* pgorm/pool.h — a thread-safe, fair, self-healing pool of pgorm_conn connections.
 *
 * Thread safety: every pgorm_pool_* function is thread-safe, except pgorm_pool_destroy, which
 * must be the last call on the pool. A borrowed pgorm_conn is used by one thread at a time.
 *
 * Behaviour in one paragraph. pgorm_pool_acquire hands out an idle connection (most recently
 * used first) or waits in a FIFO queue for one that is released or opened. A new connection is
 * handed to the first waiter; a released one goes back to the idle list and wakes the first
 * waiter, and another acquirer may take it first (bounded barging), but once the first waiter
 * has waited 1 ms (coarse clock: 1-4 ms) at the head of the queue, the next released connection
 * is handed to it directly.
 * All connects happen on the pool's maintenance thread, with exponential backoff + jitter while
 * the server is unreachable; waiters then fail at their timeout with the last connect error, and
 * nothing spins. pgorm_pool_release returns a connection by its transaction status: idle goes
 * back; in a (failed) transaction it gets ROLLBACK (or is closed, by reset policy); busy, unknown,
 * in pipeline mode, broken, too old or of an older generation it is closed. An error with
 * SQLSTATE class 08, 57P01..57P03 or 25006 marks the connection broken (exec layer) and bumps the
 * pool generation on release, so every older connection retires on its next release; so does a
 * connection lost without a reason from the server. One the server closed for itself alone
 * (FATAL 25P03 idle-in-transaction timeout, 57P05 idle session timeout) is only closed. No connect,
 * ping or ROLLBACK ever runs while the pool lock is held.
 *
 * Liveness without a round trip: a connection idle for longer than trust_window_ms has its socket
 * polled at acquire (one poll(2), ~0.3 us); a readable socket (EOF, or an unsolicited
 * ErrorResponse such as 57P01 admin_shutdown) means the connection is closed, not handed out.
 * A connection released less than trust_window_ms ago is handed out without a system call: that
 * is the fast path (see README "Connection pool" for measured figures).
 *
 * Stale handles (the ABA problem). Every borrow gets its own pgorm_conn pointer: when a
 * connection that was handed out before is acquired again, its state moves to another address
 * (a ~340-byte copy, made after the pool lock is released; its last error is not carried over)
 * and the pointer the previous borrow had goes, at this borrow's release, into a FIFO
 * quarantine of retired handles, as does the struct of every closed connection. A release
 * checks that the pointer is the live handle of one of this pool's borrowed connections, so
 * release(c); c2 = acquire(); release(c) refuses the stale c (PGORM_EPOOL, stats.misuse,
 * nothing changed) while c2 stays the only borrower; so is a double release, a release after
 * the pool rolled the connection back or closed it, and a connection of another pool or never
 * pooled. A retired address is reused for a new handle only after max(64, 4 x max_size) later
 * retirements, so a stale release is recognised until that many releases/closes have happened
 * since; beyond that the pointer may name a live borrow again (the pool cannot tell two
 * identical pointers apart: release each borrow once). The memory of every handle the pool
 * handed out stays allocated (reused, never freed) until pgorm_pool_destroy, so passing one
 * of its stale handles is always safe. Cost per acquire + release cycle: see bench/NOTES.md ("Pool").
 *
 * fork(): a child process inherits the pool but may not use it: acquire/release return
 * PGORM_EFORK; pgorm_pool_destroy in the child frees memory without touching the parent's
 * sockets (no Terminate message is sent, no lock is taken).
 */
#ifndef PGORM_POOL_H
#define PGORM_POOL_H

#include "common.h"
#include "error.h"
#include "exec.h"

PGORM_BEGIN_DECLS

typedef struct pgorm_pool pgorm_pool;

typedef enum pgorm_pool_reset {
	PGORM_POOL_RESET_ROLLBACK = 0, /* released inside a transaction: ROLLBACK, then reuse */
	PGORM_POOL_RESET_CLOSE = 1     /* released inside a transaction: close the connection */
} pgorm_pool_reset;

typedef struct pgorm_pool_config {
	const char *conninfo;        /* libpq conninfo or URI (host lists, target_session_attrs
	                                pass through); copied. Default NULL = libpq defaults/PG* env */
	size_t min_idle;             /* idle connections kept open by the maintenance thread (1) */
	size_t max_size;             /* open + opening connections, at most (10) */
	long acquire_timeout_ms;     /* pgorm_pool_acquire's timeout (30000) */
	long connect_timeout_ms;     /* per connect attempt, rounded up to libpq's whole seconds,
	                                at least 2 s; a connect_timeout in conninfo wins (5000) */
	long idle_timeout_ms;        /* idle connections above min_idle close after this; 0 = never
	                                (600000) */
	long max_lifetime_ms;        /* connections retire after this age minus a random jitter;
	                                0 = never (1800000) */
	long lifetime_jitter_ms;     /* each connection's lifetime is shortened by a uniform random
	                                0..jitter (max_lifetime_ms / 10 when < 0; default -1) */
	long trust_window_ms;        /* an idle connection released less than this ago is handed
	                                out without polling its socket (20); 0 = always poll */
	long ping_idle_ms;           /* idle longer than this: an empty-query ping at acquire
	                                (one round trip); 0 = never (0) */
	long maintenance_interval_ms;/* maintenance thread period (1000) */
	long backoff_min_ms;         /* first reconnect delay after a failed connect (50) */
	long backoff_max_ms;         /* reconnect delay cap; doubles from min, +-25% jitter (2000) */
	pgorm_stmt_mode stmt_mode;   /* given to every connection: NAMED, or UNNAMED behind
	                                PgBouncer in transaction mode (PGORM_STMT_NAMED) */
	size_t stmt_cache_size;      /* named mode: prepared statements per connection (256) */
	pgorm_pool_reset reset;      /* release inside a transaction (PGORM_POOL_RESET_ROLLBACK) */
	const char *init_sql;        /* optional SQL run once on each new connection (simple
	                                protocol, may hold several statements); copied (NULL) */
	pgorm_stmt_hook hook;        /* optional statement hook given to every connection; it is
	                                called from the thread that runs the statement, including
	                                the maintenance thread (init_sql, pings) */
	void *hook_ctx;
} pgorm_pool_config;

#define PGORM_POOL_CONFIG_INIT                                                             \
	{ NULL, 1, 10, 30000, 5000, 600000, 1800000, -1, 20, 0, 1000, 50, 2000,             \
	  PGORM_STMT_NAMED, 256, PGORM_POOL_RESET_ROLLBACK, NULL, NULL, NULL }

/* Why connections were closed (index into pgorm_pool_stats.closed). Append-only. */
typedef enum pgorm_pool_close_reason {
	PGORM_POOL_CLOSED_BROKEN = 0,     /* lost, or a failover-class error was seen */
	PGORM_POOL_CLOSED_DEAD_IDLE,      /* found dead at acquire (socket readable / ping failed) */
	PGORM_POOL_CLOSED_BAD_STATE,      /* released busy, unknown, in pipeline mode, ROLLBACK failed */
	PGORM_POOL_CLOSED_RESET_POLICY,   /* released in a transaction with PGORM_POOL_RESET_CLOSE */
	PGORM_POOL_CLOSED_IDLE_TIMEOUT,
	PGORM_POOL_CLOSED_LIFETIME,
	PGORM_POOL_CLOSED_GENERATION,     /* older than the pool generation */
	PGORM_POOL_CLOSED_INIT_FAILED,    /* init_sql failed on a new connection */
	PGORM_POOL_CLOSED_POOL_CLOSE,     /* pgorm_pool_close / destroy */
	PGORM_POOL_CLOSE_REASONS
} pgorm_pool_close_reason;

/* Wait-time histogram buckets (acquires that had to wait): < 100 us, < 1 ms, < 10 ms,
 * < 100 ms, < 1 s, < 10 s, >= 10 s. */
#define PGORM_POOL_WAIT_BUCKETS 7

typedef struct pgorm_pool_stats {
	size_t size;              /* open connections (idle + in use) */
	size_t idle;
	size_t in_use;            /* borrowed and not yet released */
	size_t opening;           /* connects in progress */
	size_t waiting;           /* threads blocked in acquire */
	uint64_t generation;
	uint64_t acquires;        /* successful acquires */
	uint64_t waits;           /* acquires that had to wait (successful or not) */
	uint64_t wait_us_total;   /* total time spent waiting, microseconds */
	uint64_t wait_hist[PGORM_POOL_WAIT_BUCKETS];
	uint64_t timeouts;        /* acquires that failed: timeout or connect error */
	uint64_t releases;
	uint64_t rollbacks;       /* ROLLBACKs sent at release */
	uint64_t pings;           /* empty-query pings sent */
	uint64_t misuse;          /* rejected releases: double, stale or foreign */
	uint64_t connects;        /* connections opened */
	uint64_t connect_failures;
	uint64_t closed[PGORM_POOL_CLOSE_REASONS];
	uint64_t closed_total;
	long longest_borrow_ms;   /* age of the oldest outstanding borrow (0 when none) */
	bool server_down;         /* the last connect attempt failed */
} pgorm_pool_stats;

/** Create a pool and start its maintenance thread, which opens min_idle connections in the
 * background (create does not wait for them, nor fail when the server is down).
 * Ownership: *out belongs to the caller; free with pgorm_pool_destroy. cfg is copied.
 * Errors: PGORM_EINVAL (NULL out/cfg, max_size 0 or above 262143 (PostgreSQL's
 * max_connections ceiling), min_idle > max_size, negative timeouts (acquire_timeout_ms
 * included), an unknown stmt_mode or reset, stmt_cache_size above PGORM_STMT_CACHE_MAX, a
 * conninfo libpq cannot parse: a fixed message that quotes nothing of it), PGORM_ENOMEM,
 * PGORM_ESERVER (thread creation failed); details in *err (optional). */
PGORM_API int pgorm_pool_create(pgorm_pool **out, const pgorm_pool_config *cfg, pgorm_error *err);

/** Borrow a connection, waiting up to cfg.acquire_timeout_ms. Thread-safe.
 * Ownership: *out stays owned by the pool and is valid for this borrow only; give it back
 * with pgorm_pool_release.
 * Errors: PGORM_ETIMEDOUT (the message names the cause: pool exhausted, with the count of
 * borrowed connections and the age of the oldest borrow), PGORM_ECONN (the server is
 * unreachable: the last connect error), PGORM_ECLOSED, PGORM_EFORK, PGORM_EINVAL. */
PGORM_API int pgorm_pool_acquire(pgorm_pool *p, pgorm_conn **out, pgorm_error *err);
/** As pgorm_pool_acquire with an explicit timeout (0 = do not wait; < 0 = wait forever). */
PGORM_API int pgorm_pool_acquire_timeout(pgorm_pool *p, pgorm_conn **out, long timeout_ms,
                                         pgorm_error *err);
/** Wait until min_idle connections are open (at start-up; returns at once when min_idle is
 * 0). timeout_ms < 0 waits forever. A connect error that retrying will not cure (no such host,
 * authentication failed 28xxx, no such database 3D000) returns at once; acquirers get it at
 * once too, with the server's SQLSTATE, while the pool keeps retrying with backoff.
 * Errors: PGORM_ECONN (the last connect error), PGORM_ETIMEDOUT, PGORM_ECLOSED. Thread-safe. */
PGORM_API int pgorm_pool_wait_ready(pgorm_pool *p, long timeout_ms, pgorm_error *err);
/** Never blocks: an idle connection or PGORM_ETIMEDOUT (a connect is started in the background
 * when the pool may grow). Errors: as pgorm_pool_acquire. Thread-safe. */
PGORM_API int pgorm_pool_try_acquire(pgorm_pool *p, pgorm_conn **out, pgorm_error *err);

/** Give a borrowed connection back (see the top of this file for what happens to it). The
 * caller must not use c afterwards: the next borrow of the connection gets another pointer.
 * Thread-safe.
 * Errors: PGORM_EPOOL when c is not a live borrow of p (double release, a stale handle of an
 * earlier borrow, foreign connection; nothing is changed), PGORM_EINVAL (NULL), PGORM_EFORK
 * in a forked child.
 * A connection that could not be reset is closed, and that is not an error. */
PGORM_API int pgorm_pool_release(pgorm_pool *p, pgorm_conn *c);

/** Stop the pool: new and waiting acquires fail with PGORM_ECLOSED, idle connections close,
 * and the call waits up to deadline_ms (< 0: forever) for borrowed ones to be released (they
 * are closed on release). Errors: PGORM_ETIMEDOUT when some are still borrowed at the
 * deadline (they stay valid until released or until pgorm_pool_destroy). Thread-safe. */
PGORM_API int pgorm_pool_close(pgorm_pool *p, long deadline_ms);

/** Close the pool (pgorm_pool_close with deadline 0), stop the maintenance thread, and free
 * everything, including connections still borrowed (using them afterwards is undefined).
 * May wait for a connect attempt in progress (at most connect_timeout). Accepts NULL. */
PGORM_API void pgorm_pool_destroy(pgorm_pool *p);

/** Copy a consistent snapshot of the statistics into *out. Thread-safe. */
PGORM_API void pgorm_pool_stats_get(pgorm_pool *p, pgorm_pool_stats *out);

/** Bump the generation: every connection open now is closed on its next release (idle ones by
 * the maintenance thread). E.g. after a planned failover. Thread-safe. */
PGORM_API void pgorm_pool_bump_generation(pgorm_pool *p);

/** Name of a close reason ("lifetime"); "unknown" when out of range. Static storage. */
PGORM_API const char *pgorm_pool_close_reason_name(int reason);

PGORM_END_DECLS

#endif
