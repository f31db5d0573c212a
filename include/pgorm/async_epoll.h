/* pgorm/async_epoll.h — a plain epoll loop for pgorm/async.h operations (Linux; part of
 * libpgorm, no dependency). A loop owns an epoll descriptor; ops added to it are stepped by
 * pgorm_epoll_run_once as their sockets become ready or their deadlines pass. Level-triggered;
 * one registration per op (an op waits on at most one socket: the connection it holds).
 *
 * Threads: a loop and its ops belong to one thread. Several loops (threads) may share a pool.
 * Embedding in another loop: wait for pgorm_epoll_fd() to be readable, with
 * pgorm_epoll_timeout() as the timeout, then call pgorm_epoll_run_once(l, 0). */
#ifndef PGORM_ASYNC_EPOLL_H
#define PGORM_ASYNC_EPOLL_H

#include "pgorm/async.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pgorm_epoll pgorm_epoll;

/** Create a loop. Errors: PGORM_ENOMEM; PGORM_EINVAL when epoll_create1 fails. */
PGORM_API int pgorm_epoll_create(pgorm_epoll **out);
/** Cancel the ops still attached (their done callbacks run, PGORM_ECLOSED) and free. NULL ok. */
PGORM_API void pgorm_epoll_destroy(pgorm_epoll *l);
/** Attach a started op: from now on the loop steps it (the caller must not). Errors: ENOMEM
 * (the op is then cancelled, its done callback runs). */
PGORM_API int pgorm_epoll_add(pgorm_epoll *l, pgorm_op *op);
/** Cancel an attached op (pgorm_op_cancel). */
PGORM_API void pgorm_epoll_cancel(pgorm_epoll *l, pgorm_op *op);
/** Wait at most max_wait_ms (-1: until something is due) and step what is ready or due.
 * Returns the number of ops still attached. */
PGORM_API size_t pgorm_epoll_run_once(pgorm_epoll *l, int max_wait_ms);
/** Run until no op is attached. */
PGORM_API void pgorm_epoll_run(pgorm_epoll *l);
/** The epoll descriptor and the ms until the next deadline (-1 none): for embedding. */
PGORM_API int pgorm_epoll_fd(const pgorm_epoll *l);
PGORM_API int pgorm_epoll_timeout(const pgorm_epoll *l);
/** Ops attached. */
PGORM_API size_t pgorm_epoll_size(const pgorm_epoll *l);

#ifdef __cplusplus
}
#endif

#endif
