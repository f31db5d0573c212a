/* pgorm/async_uv.h — libuv adapter for pgorm/async.h operations: its own small library,
 * libpgorm-uv (pkg-config pgorm-uv), built when meson finds libuv (feature option `uv`).
 *
 * pgorm_uv_attach hands a started op to a uv loop: a uv_poll_t follows the socket the op waits
 * on, a uv_timer_t its deadline; the op is stepped from their callbacks, its done callback runs
 * there, and the handles are closed (asynchronously, as libuv wants) after it ended.
 *
 * Threads: an op and its loop belong to one thread (libuv's rule for a loop). Several loops, in
 * several threads, may share one pgorm_pool. */
#ifndef PGORM_ASYNC_UV_H
#define PGORM_ASYNC_UV_H

#include "pgorm/async.h"

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Attach a started op to loop; from now on the loop steps it (the caller must not).
 * Errors: PGORM_ENOMEM (the op is cancelled: its done callback runs), PGORM_EINVAL. */
PGORM_API int pgorm_uv_attach(uv_loop_t *loop, pgorm_op *op);
/** Cancel an attached op (pgorm_op_cancel); its handles close on the next loop iteration. */
PGORM_API void pgorm_uv_cancel(pgorm_op *op);

#ifdef __cplusplus
}
#endif

#endif
