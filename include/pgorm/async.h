/* pgorm/async.h — the network operations without blocking: for event loops.
 *
 * Shape (libpq's PQconnectPoll, hiredis' async context): an operation is started with
 * pgorm_async_*(); it runs at once until it would wait. The caller then asks it what to wait
 * for — pgorm_op_fd() (-1: nothing but time), pgorm_op_events() (PGORM_OP_READ/WRITE) and
 * pgorm_op_deadline() — and calls pgorm_op_step() when the socket is ready or the deadline
 * passed. When the operation ends its done callback runs (inside pgorm_op_step or
 * pgorm_op_cancel, never inside pgorm_async_*) and the op is freed after it returns.
 *
 * Why this shape and how it keeps the semantics: each operation runs the blocking call itself
 * (pgorm_session_get, pgorm_query_all, pgorm_session_commit …) on a small stack of its own
 * (ucontext), and every place pgorm waits (libpq results, pipeline flush, connect, a pool
 * waiting for a connection) goes through one internal wait function that, inside an
 * operation, switches back to the caller instead of blocking. So the statements, the plan,
 * cascades, autoflush, rollback on error are those of the blocking API, by construction: the
 * flush pipeline is driven step by step through the same code. The cost is a stack per
 * in-flight operation (default 256 KiB of address space, of which a few pages are touched).
 *
 * Cancellation and timeouts close the operation's connection (shutdown of its socket): libpq
 * then sees the connection lost, the blocking code takes its lost-connection path at once
 * (no wait), the pool discards the connection, and the op ends with PGORM_ECLOSED (cancel) or
 * PGORM_ETIMEDOUT (deadline). Afterwards the session is as after a lost connection: its
 * transaction is gone; roll it back (pgorm_async_rollback) before using it again.
 *
 * Threads and ownership: an op belongs to the thread that started it and is stepped only
 * there. A session is driven by one loop (thread) at a time and has at most one op in flight.
 * A pool may be shared by several loops (and blocking threads): a connection released on the
 * loop's own thread wakes a waiting op at once (through the watch callback), one released by
 * another thread within 50 ms. Objects and lists produced belong to the session, as with the
 * blocking calls. Thread-safe: none of these functions, except as said for the pool. */
#ifndef PGORM_ASYNC_H
#define PGORM_ASYNC_H

#include "pgorm/common.h"
#include "pgorm/pool.h"
#include "pgorm/query.h"
#include "pgorm/session.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pgorm_op pgorm_op;

#define PGORM_OP_READ 1
#define PGORM_OP_WRITE 2
#define PGORM_OP_PENDING 1 /* pgorm_op_step: not finished yet */

/* Called once when the op ends: rc 0 or a negative PGORM_E* (details where the blocking call
 * leaves them: pgorm_session_error, the pool's error object). The op is freed after it returns. */
typedef void (*pgorm_op_done_cb)(pgorm_op *op, int rc, void *arg);
/* Called when what the op waits for changed outside pgorm_op_step (a connection was released
 * for it): re-read fd/events/deadline. Called on the op's thread. Called once more when the op
 * ends, before its done callback (pgorm_op_fd is then -1): an adapter drops its registration of
 * the op's socket there, since the done callback may start an op on the same connection. */
typedef void (*pgorm_op_watch_cb)(pgorm_op *op, void *arg);

typedef struct pgorm_op_config {
	pgorm_op_done_cb done;       /* optional */
	void *arg;                   /* for done */
	long timeout_ms;             /* whole operation; -1: none */
	size_t stack_size;           /* 0: 256 KiB */
	void *reserved[4];
} pgorm_op_config;
#define PGORM_OP_CONFIG_INIT { NULL, NULL, -1, 0, { NULL, NULL, NULL, NULL } }

/** Run fn(arg) — any sequence of blocking pgorm calls — as a non-blocking operation.
 * Ownership: *out stays valid until its done callback returned. Errors: PGORM_EINVAL, ENOMEM. */
PGORM_API int pgorm_async_run(pgorm_op **out, int (*fn)(void *arg), void *arg, const pgorm_op_config *cfg);
/** pgorm_pool_acquire_timeout (the op's timeout), non-blocking; *conn set on success. */
PGORM_API int pgorm_async_acquire(pgorm_op **out, pgorm_pool *p, pgorm_conn **conn, const pgorm_op_config *cfg);
/** pgorm_session_get, non-blocking (an identity-map hit ends at the first step). */
PGORM_API int pgorm_async_get(pgorm_op **out, pgorm_session *s, const pgorm_model *m, const pgorm_value *pk,
                              void **obj, const pgorm_op_config *cfg);
/** pgorm_query_all / pgorm_query_first, non-blocking (selectin and other loaders included). */
PGORM_API int pgorm_async_query_all(pgorm_op **out, pgorm_query *q, pgorm_list *list, const pgorm_op_config *cfg);
PGORM_API int pgorm_async_query_first(pgorm_op **out, pgorm_query *q, void **obj, const pgorm_op_config *cfg);
/** pgorm_rel_load (lazy load of one relationship), non-blocking. */
PGORM_API int pgorm_async_rel_load(pgorm_op **out, pgorm_session *s, const pgorm_rel *r, void *obj, void *dst,
                                   const pgorm_op_config *cfg);
/** pgorm_session_flush / _commit / _rollback, non-blocking. */
PGORM_API int pgorm_async_flush(pgorm_op **out, pgorm_session *s, const pgorm_op_config *cfg);
PGORM_API int pgorm_async_commit(pgorm_op **out, pgorm_session *s, const pgorm_op_config *cfg);
PGORM_API int pgorm_async_rollback(pgorm_op **out, pgorm_session *s, const pgorm_op_config *cfg);

/** The descriptor to wait on (-1: none, wait for the deadline only). */
PGORM_API int pgorm_op_fd(const pgorm_op *op);
/** PGORM_OP_READ and/or PGORM_OP_WRITE (0 when fd is -1). */
PGORM_API int pgorm_op_events(const pgorm_op *op);
/** When to step at the latest: CLOCK_MONOTONIC milliseconds, -1 none. */
PGORM_API int64_t pgorm_op_deadline(const pgorm_op *op);
/** Milliseconds from now until the deadline (0 passed, -1 none): a poll/epoll_wait timeout. */
PGORM_API int pgorm_op_timeout(const pgorm_op *op);
/** The current CLOCK_MONOTONIC time in milliseconds. Thread-safe. */
PGORM_API int64_t pgorm_op_now(void);
/** Set the watch callback (adapters); the callback must not step or cancel ops. */
PGORM_API void pgorm_op_set_watch(pgorm_op *op, pgorm_op_watch_cb cb, void *arg);
/** The arg given to pgorm_op_set_watch (adapters find their state from the op). */
PGORM_API void *pgorm_op_watch_data(const pgorm_op *op);
/** Run the op until it waits again (revents: what was ready; 0 for a timer). Returns
 * PGORM_OP_PENDING, or the final rc after the done callback ran and the op was freed. */
PGORM_API int pgorm_op_step(pgorm_op *op, int revents);
/** End the op now: its connection is closed and discarded; done runs with PGORM_ECLOSED
 * (or the op's own rc when it had already finished); the op is freed. Never blocks. */
PGORM_API void pgorm_op_cancel(pgorm_op *op);
/** Ops started on this thread and not yet freed (diagnostics). */
PGORM_API size_t pgorm_op_count(void);

#ifdef __cplusplus
}
#endif

#endif
