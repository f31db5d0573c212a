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

typedef struct service {
	pgorm_epoll *loop;
	pgorm_pool *pool;
	const pgorm_registry *reg;
	svc_request *req;
	int n, started, ok, failed;
} service;

static void start_next(service *sv);

typedef struct slot {
	service *sv;
	svc_request *r;
} slot;

static void request_done(pgorm_op *op, int rc, void *arg)
{
	(void)op;
	slot *sl = arg;
	service *sv = sl->sv;
	svc_request *r = sl->r;
	char expect[32];
	snprintf(expect, sizeof expect, "p%lld", (long long)r->id);
	if (rc == 0 && r->nchildren == 5 && strcmp(r->name, expect) == 0)
		sv->ok++;
	else
		sv->failed++;
	pgorm_session_destroy(r->s);
	r->s = NULL;
	free(sl);
	start_next(sv); /* from a done callback: fine, the loop steps it from now on */
}

static void start_next(service *sv)
{
	if (sv->started == sv->n)
		return;
	svc_request *r = &sv->req[sv->started++];
	r->id = (r - sv->req) % 100 + 1;
	pgorm_error err;
	int rc = pgorm_session_create(&r->s, sv->reg, sv->pool, NULL, NULL, &err);
	if (rc != 0)
		svc_die("session", rc, err.message);
	slot *sl = malloc(sizeof *sl);
	if (sl == NULL)
		svc_die("malloc", PGORM_ENOMEM, NULL);
	*sl = (slot){ sv, r };
	pgorm_op_config cfg = PGORM_OP_CONFIG_INIT;
	cfg.done = request_done;
	cfg.arg = sl;
	cfg.timeout_ms = 30000;
	pgorm_op *op = NULL;
	if ((rc = pgorm_async_run(&op, svc_request_body, r, &cfg)) != 0)
		svc_die("start", rc, NULL);
	if ((rc = pgorm_epoll_add(sv->loop, op)) != 0)
		svc_die("epoll add", rc, NULL);
}

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
	service sv = { .n = n, .reg = reg };
	int rc = pgorm_pool_create(&sv.pool, &pc, &err);
	if (rc != 0)
		svc_die("pool", rc, err.message);
	if ((rc = pgorm_epoll_create(&sv.loop)) != 0)
		svc_die("epoll", rc, NULL);
	sv.req = calloc((size_t)n, sizeof *sv.req);
	for (int i = 0; i < (n + 1) / 2; i++)
		start_next(&sv);
	printf("%zu requests in flight over %zu connections, one thread\n", pgorm_epoll_size(sv.loop), conns);
	pgorm_epoll_run(sv.loop);
	printf("%d requests: %d answered correctly, %d failed\n", n, sv.ok, sv.failed);
	pgorm_epoll_destroy(sv.loop);
	pgorm_pool_destroy(sv.pool);
	pgorm_registry_destroy(reg);
	free(sv.req);
	return sv.failed == 0 && sv.ok == n ? 0 : 1;
}
