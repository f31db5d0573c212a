/* examples/async_uv_service.c — one thread, one libuv loop (pgorm/async_uv.h), many
 * concurrent requests "parent N with its children" over a pool of a few connections.
 *
 *     async_uv_service [CONNINFO [REQUESTS [CONNECTIONS]]]     (defaults: 200 over 4)
 *
 * Each request gets a session, runs as a non-blocking op; when it ends its done callback
 * checks the answer, frees the session and starts the next request while any are left, so
 * REQUESTS/2 are in flight at once (most wait for one of the pool's connections). */
#include "async_service.h"

#include <pgorm/async_uv.h>

static int attach(void *loop, pgorm_op *op) { return pgorm_uv_attach(loop, op); }

int main(int argc, char **argv)
{
	svc_service sv;
	size_t conns = svc_open(&sv, argc, argv, attach);
	uv_loop_t uvl;
	int rc = uv_loop_init(&uvl);
	if (rc != 0)
		svc_die("uv_loop_init", PGORM_EINVAL, uv_strerror(rc));
	svc_launch(&sv, &uvl);
	printf("%d requests in flight over %zu connections, one thread\n", sv.started, conns);
	uv_run(&uvl, UV_RUN_DEFAULT);
	uv_loop_close(&uvl);
	return svc_close(&sv);
}
