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
	svc_service sv;
	size_t conns = svc_open(&sv, argc, argv, attach);
	pgorm_epoll *ep = NULL;
	int rc = pgorm_epoll_create(&ep);
	if (rc != 0)
		svc_die("epoll", rc, NULL);
	svc_launch(&sv, ep);
	printf("%zu requests in flight over %zu connections, one thread\n", pgorm_epoll_size(ep), conns);
	pgorm_epoll_run(ep);
	pgorm_epoll_destroy(ep);
	return svc_close(&sv);
}
