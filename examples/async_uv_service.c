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
	const char *conninfo = argc > 1 ? argv[1] : getenv("PGORM_TEST_DSN");
	int n = argc > 2 ? atoi(argv[2]) : 200;
	size_t conns = argc > 3 ? (size_t)atoi(argv[3]) : 4;
	pgorm_registry *reg = svc_setup(conninfo, 100);
	pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
	pc.conninfo = conninfo;
	pc.max_size = conns;
	pgorm_error err;
	svc_service sv = { .n = n, .reg = reg, .attach = attach };
	int rc = pgorm_pool_create(&sv.pool, &pc, &err);
	if (rc != 0)
		svc_die("pool", rc, err.message);
	uv_loop_t uvl;
	if ((rc = uv_loop_init(&uvl)) != 0)
		svc_die("uv_loop_init", PGORM_EINVAL, uv_strerror(rc));
	sv.loop = &uvl;
	sv.req = calloc((size_t)n, sizeof *sv.req);
	for (int i = 0; i < (n + 1) / 2; i++)
		svc_start_next(&sv);
	printf("%d requests in flight over %zu connections, one thread\n", sv.started, conns);
	uv_run(&uvl, UV_RUN_DEFAULT);
	printf("%d requests: %d answered correctly, %d failed\n", n, sv.ok, sv.failed);
	uv_loop_close(&uvl);
	pgorm_pool_destroy(sv.pool);
	pgorm_registry_destroy(reg);
	free(sv.req);
	return sv.failed == 0 && sv.ok == n ? 0 : 1;
}
