/* examples/async_epoll_service.c — one thread, one epoll loop (pgorm/async_epoll.h), many
 * concurrent requests "parent N with its children" over a pool of a few connections.
 *
 *     async_epoll_service [CONNINFO [REQUESTS [CONNECTIONS]]]     (defaults: 200 over 4)
 *
 * Each request gets a session, runs as a non-blocking op; when it ends its done callback
 * checks the answer, frees the session and starts the next request while any are left, so
 * REQUESTS/2 are in flight at once (most wait for one of the pool's connections). */
#include "async_service.h"

#include <pgorm/async_epoll.h>

static int attach(void *loop, pgorm_op *op) { return pgorm_epoll_add(loop, op); }

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
	pgorm_epoll *ep = NULL;
	if ((rc = pgorm_epoll_create(&ep)) != 0)
		svc_die("epoll", rc, NULL);
	sv.loop = ep;
	sv.req = calloc((size_t)n, sizeof *sv.req);
	for (int i = 0; i < (n + 1) / 2; i++)
		svc_start_next(&sv);
	printf("%zu requests in flight over %zu connections, one thread\n", pgorm_epoll_size(ep), conns);
	pgorm_epoll_run(ep);
	printf("%d requests: %d answered correctly, %d failed\n", n, sv.ok, sv.failed);
	pgorm_epoll_destroy(ep);
	pgorm_pool_destroy(sv.pool);
	pgorm_registry_destroy(reg);
	free(sv.req);
	return sv.failed == 0 && sv.ok == n ? 0 : 1;
}
