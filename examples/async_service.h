/* examples/async_service.h — what the two event-loop examples (async_epoll_service.c,
 * async_uv_service.c) and bench/async_bench.c share: a parent/child schema, and one request,
 * "get parent N with its children (selectin)", as the body of a non-blocking operation.
 *
 * A request has its own session (sessions are cheap; each is driven by one loop) on the shared
 * pool; the session holds a connection from its first statement until its transaction ends, so
 * the request ends with a rollback (read-only) and the pool hands the connection on. */
#ifndef PGORM_EXAMPLE_ASYNC_SERVICE_H
#define PGORM_EXAMPLE_ASYNC_SERVICE_H

#include <pgorm.h>
#include <pgorm/async.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct SvcParent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;
} SvcParent;

typedef struct SvcChild {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	SvcParent *parent;
} SvcChild;

extern const pgorm_model svc_parent_model, svc_child_model;
static const pgorm_column svc_parent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, SvcParent, id),
	PGORM_COLUMN(TEXT, "name", 0, SvcParent, name), PGORM_COLUMN_END };
static const pgorm_relationship svc_parent_rels[] = {
	{ .name = "children", .target = &svc_child_model, .kind = PGORM_REL_ONE_TO_MANY,
	  .offset = offsetof(SvcParent, children), .size = sizeof(pgorm_collection),
	  .back_populates = "parent", .order_by = "id" },
	PGORM_RELATIONSHIP_END };
const pgorm_model svc_parent_model = PGORM_MODEL("svc_parent", SvcParent, svc_parent_cols, svc_parent_rels);
static const pgorm_column svc_child_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, SvcChild, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, SvcChild, parent_id, "svc_parent", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, SvcChild, name), PGORM_COLUMN_END };
static const pgorm_relationship svc_child_rels[] = {
	PGORM_MANY_TO_ONE("parent", SvcChild, parent, &svc_parent_model, "parent_id", "children"),
	PGORM_RELATIONSHIP_END };
const pgorm_model svc_child_model = PGORM_MODEL("svc_child", SvcChild, svc_child_cols, svc_child_rels);

static void svc_die(const char *what, int rc, const char *msg)
{
	fprintf(stderr, "%s failed: %s%s%s\n", what, pgorm_err_name(rc), msg ? ": " : "", msg ? msg : "");
	exit(1);
}

/* The registry, and (re)created tables with nparents parents of 5 children each. */
static pgorm_registry *svc_setup(const char *conninfo, int nparents)
{
	pgorm_error err;
	const pgorm_model *models[] = { &svc_parent_model, &svc_child_model };
	pgorm_registry *reg = NULL;
	int rc = pgorm_registry_create(&reg, models, 2, &err);
	if (rc != 0)
		svc_die("registry", rc, err.message);
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	cc.conninfo = conninfo;
	pgorm_conn *c = NULL;
	if ((rc = pgorm_conn_connect(&c, &cc, &err)) != 0)
		svc_die("connect", rc, err.message);
	char sql[512];
	const char *stmts[] = {
		"DROP TABLE IF EXISTS svc_child, svc_parent",
		"CREATE TABLE svc_parent (id bigserial PRIMARY KEY, name text NOT NULL)",
		"CREATE TABLE svc_child (id bigserial PRIMARY KEY, parent_id bigint REFERENCES svc_parent(id), "
		"name text NOT NULL)",
		"CREATE INDEX ON svc_child (parent_id)",
		sql,
		"INSERT INTO svc_child (parent_id, name) SELECT p.id, 'c' || p.id || '.' || k "
		"FROM svc_parent p, generate_series(1, 5) k",
		"ANALYZE svc_parent", "ANALYZE svc_child",
	};
	snprintf(sql, sizeof sql, "INSERT INTO svc_parent (name) SELECT 'p' || g FROM generate_series(1, %d) g", nparents);
	for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
		if ((rc = pgorm_conn_exec(c, stmts[i], 0, NULL, NULL)) != 0)
			svc_die(stmts[i], rc, pgorm_conn_error(c)->message);
	pgorm_conn_close(c);
	return reg;
}

typedef struct svc_request {
	pgorm_session *s;
	int64_t id;                 /* the parent asked for */
	size_t nchildren;           /* the answer */
	char name[32];
	int rc;
	double t0, t1;              /* ms, for latencies */
} svc_request;

/* The request, written as blocking code: run it with pgorm_async_run (or call it directly). */
static int svc_request_body(void *arg)
{
	svc_request *r = arg;
	pgorm_query *q = NULL;
	int rc = pgorm_query_create(&q, r->s, &svc_parent_model);
	if (rc == 0)
		rc = pgorm_query_filter(q, "id", "=", PGORM_INT8(r->id));
	if (rc == 0)
		rc = pgorm_query_option(q, "children", PGORM_LOAD_SELECTIN);
	void *obj = NULL;
	if (rc == 0)
		rc = pgorm_query_first(q, &obj);
	if (rc == 0) {
		SvcParent *p = obj;
		r->nchildren = p->children.len;
		snprintf(r->name, sizeof r->name, "%s", p->name);
	}
	pgorm_query_destroy(q);
	int rb = pgorm_session_rollback(r->s); /* ends the transaction: the connection goes back */
	return rc != 0 ? rc : rb;
}

/* The example services' state: requests started one after another on a loop; attach hands
 * a started op to that loop (pgorm_epoll_add, pgorm_uv_attach). */
typedef struct svc_service {
	void *loop;
	int (*attach)(void *loop, pgorm_op *op);
	pgorm_pool *pool;
	const pgorm_registry *reg;
	svc_request *req;
	int n, started, ok, failed;
} svc_service;

static inline void svc_start_next(svc_service *sv);

typedef struct slot {
	svc_service *sv;
	svc_request *r;
} slot;

static inline void svc_request_done(pgorm_op *op, int rc, void *arg)
{
	(void)op;
	slot *sl = arg;
	svc_service *sv = sl->sv;
	svc_request *r = sl->r;
	char expect[32];
	snprintf(expect, sizeof expect, "p%lld", (long long)r->id);
	if (rc == 0 && r->nchildren == 5 && strcmp(r->name, expect) == 0) {
		sv->ok++;
	} else if (sv->failed++ == 0) { /* say why, once */
		const pgorm_error *e = pgorm_session_error(r->s);
		fprintf(stderr, "request %d (parent %lld) failed: %s, %zu children, name \"%s\"%s%s\n",
		        (int)(r - sv->req), (long long)r->id, pgorm_err_name(rc), r->nchildren, r->name,
		        rc != 0 && e->message[0] ? ": " : "", rc != 0 ? e->message : "");
	}
	pgorm_session_destroy(r->s);
	r->s = NULL;
	free(sl);
	svc_start_next(sv); /* from a done callback: fine, the loop steps it from now on */
}

static inline void svc_start_next(svc_service *sv)
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
	cfg.done = svc_request_done;
	cfg.arg = sl;
	cfg.timeout_ms = 30000;
	pgorm_op *op = NULL;
	if ((rc = pgorm_async_run(&op, svc_request_body, r, &cfg)) != 0)
		svc_die("start", rc, NULL);
	if ((rc = sv->attach(sv->loop, op)) != 0)
		svc_die("attach to the loop", rc, NULL);
}

/* What both services do around their loop: read CONNINFO REQUESTS CONNECTIONS, create the
 * tables and the pool (svc_open); start the first half of the requests on loop (svc_launch);
 * report and free everything (svc_close: the exit status). */
static inline size_t svc_open(svc_service *sv, int argc, char **argv, int (*attach)(void *, pgorm_op *))
{
	const char *conninfo = argc > 1 ? argv[1] : getenv("PGORM_TEST_DSN");
	*sv = (svc_service){ .n = argc > 2 ? atoi(argv[2]) : 200, .attach = attach };
	size_t conns = argc > 3 ? (size_t)atoi(argv[3]) : 4;
	sv->reg = svc_setup(conninfo, 100);
	pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
	pc.conninfo = conninfo;
	pc.max_size = conns;
	pgorm_error err;
	int rc = pgorm_pool_create(&sv->pool, &pc, &err);
	if (rc != 0)
		svc_die("pool", rc, err.message);
	sv->req = calloc((size_t)sv->n, sizeof *sv->req);
	return conns;
}

static inline void svc_launch(svc_service *sv, void *loop)
{
	sv->loop = loop;
	for (int i = 0; i < (sv->n + 1) / 2; i++)
		svc_start_next(sv);
}

static inline int svc_close(svc_service *sv)
{
	printf("%d requests: %d answered correctly, %d failed\n", sv->n, sv->ok, sv->failed);
	pgorm_pool_destroy(sv->pool);
	pgorm_registry_destroy((pgorm_registry *)sv->reg);
	free(sv->req);
	return sv->failed == 0 && sv->ok == sv->n ? 0 : 1;
}

#endif
