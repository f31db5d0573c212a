/* lib/session.c — sessions: connection and transaction handling, object lifecycle,
 * identity lookups, commit and rollback. The unit of work itself is in flush.c, relationship
 * changes in relationship.c, loading in loader.c. */
#include "session.h"
#include "exec.h"
#include "internal.h"
#include "pgorm/pool.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- errors and logging ---- */

int pgorm__session_fail(pgorm_session *s, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pgorm__error_vset(&s->err, code, fmt, ap);
	va_end(ap);
	return code;
}

int pgorm__session_conn_fail(pgorm_session *s)
{
	const pgorm_error *e = pgorm_conn_error(s->conn);
	if (e == NULL || e->code == 0)
		return pgorm__session_fail(s, PGORM_ECONN, "no connection");
	s->err = *e;
	return e->code;
}

void pgorm__session_log(pgorm_session *s, pgorm_log_level lvl, const char *fmt, ...)
{
	if (s->cfg.log == NULL)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	s->cfg.log(s->cfg.log_ctx, lvl, msg);
}

const pgorm_error *pgorm_session_error(const pgorm_session *s) { return s ? &s->err : NULL; }

void pgorm_session_stats(const pgorm_session *s, pgorm_stats *out)
{
	if (s && out)
		*out = s->stats;
}

const pgorm_registry *pgorm_session_registry(const pgorm_session *s) { return s ? s->reg : NULL; }

/* Debug builds: a session is used by one thread at a time. The thread that opened the
 * current transaction owns it until commit/rollback; a call from another thread meanwhile is
 * an error instead of silent corruption. */
int pgorm__session_thread_check(pgorm_session *s, const char *what)
{
#ifndef NDEBUG
	if (s->owned && !pthread_equal(s->owner, pthread_self()))
		return pgorm__session_fail(s, PGORM_ESTATE, "%s: session used by a second thread during a transaction", what);
#else
	(void)s;
	(void)what;
#endif
	return 0;
}

/* ---- statements and the connection ---- */

void pgorm__session_count(pgorm_session *s, const char *sql)
{
	while (*sql == ' ' || *sql == '(')
		sql++;
	if (strncmp(sql, "SELECT", 6) == 0 || strncmp(sql, "WITH", 4) == 0 || strncmp(sql, "FETCH", 5) == 0)
		s->stats.selects++;
	else if (strncmp(sql, "INSERT", 6) == 0)
		s->stats.inserts++;
	else if (strncmp(sql, "UPDATE", 6) == 0)
		s->stats.updates++;
	else if (strncmp(sql, "DELETE", 6) == 0)
		s->stats.deletes++;
	else
		s->stats.other++;
}

static void stmt_hook(void *ctx, const char *sql, size_t n, const pgorm_value *p, double us, int status)
{
	pgorm_session *s = ctx;
	pgorm__session_count(s, sql);
	if (s->cfg.stmt_hook)
		s->cfg.stmt_hook(s->cfg.stmt_hook_ctx, sql, n, p, us, status);
}

static int acquire(pgorm_session *s)
{
	if (s->conn != NULL)
		return 0;
	if (s->pool == NULL)
		return pgorm__session_fail(s, PGORM_ECLOSED, "session has no connection");
	int rc = pgorm_pool_acquire(s->pool, &s->conn, &s->err);
	if (rc != 0) {
		s->conn = NULL;
		return rc;
	}
	s->conn_from_pool = true;
	pgorm_conn_set_hook(s->conn, stmt_hook, s, s->cfg.log_params);
	return 0;
}

static void give_back(pgorm_session *s)
{
	if (s->conn == NULL)
		return;
	pgorm_conn_set_hook(s->conn, NULL, NULL, false);
	if (s->conn_from_pool) {
		pgorm_pool_release(s->pool, s->conn);
		s->conn = NULL;
		s->conn_from_pool = false;
	} else {
		pgorm_conn_set_hook(s->conn, stmt_hook, s, s->cfg.log_params);
	}
}

pgorm_conn *pgorm_session_connection(pgorm_session *s)
{
	if (s == NULL || acquire(s) != 0)
		return NULL;
	return s->conn;
}

/* The session's transaction: BEGIN … COMMIT, or, on a connection already inside the
 * caller's transaction, SAVEPOINT … RELEASE (SQLAlchemy's join_transaction_mode
 * "create_savepoint"): the caller's transaction decides, and a test can roll it all back. */
#define JOIN_SAVEPOINT "pgorm_join"

static int tx_open(pgorm_session *s)
{
	pgorm_conn *c = s->conn;
	if (c->tx_owner != NULL && c->tx_owner != s)
		return pgorm__session_fail(s, PGORM_ESTATE,
		                           "another session has a transaction open on this connection: one session at a time");
	pgorm_tx_status ts = pgorm_conn_tx_status(c);
	if (ts == PGORM_TX_INERROR)
		return pgorm__session_fail(s, PGORM_ESTATE,
		                           "the connection's transaction is aborted: the caller must roll it back first");
	s->joined = ts == PGORM_TX_INTRANS;
	int rc = s->joined ? pgorm_conn_savepoint(c, JOIN_SAVEPOINT) : pgorm_conn_begin(c);
	if (rc != 0)
		return pgorm__session_conn_fail(s);
	c->tx_owner = s;
	return 0;
}

static int tx_commit(pgorm_session *s)
{
	return s->joined ? pgorm_conn_release_savepoint(s->conn, JOIN_SAVEPOINT) : pgorm_conn_commit(s->conn);
}

/* Roll the session's transaction back (the caller's, when joined, stays open). */
static int tx_rollback(pgorm_session *s)
{
	if (!s->joined)
		return pgorm_conn_rollback(s->conn);
	int rc = pgorm_conn_rollback_to(s->conn, JOIN_SAVEPOINT);
	return rc != 0 ? rc : pgorm_conn_release_savepoint(s->conn, JOIN_SAVEPOINT);
}

int pgorm__session_begin(pgorm_session *s)
{
	if (s->needs_rollback) {
		/* The failed flush's error stays (SQLSTATE, constraint, detail); code and message say
		 * why this call is refused, once: a second refusal leaves them as they are. */
		static const char pre[] = "a previous flush failed (";
		if (s->err.code != PGORM_ESTATE || strncmp(s->err.message, pre, sizeof pre - 1) != 0) {
			char was[sizeof s->err.message];
			pgorm__strlcpy(was, s->err.message[0] ? s->err.message : "see the earlier error", sizeof was);
			/* a long server message is cut; the fields kept above have the details */
			int room = (int)(sizeof s->err.message - sizeof pre - 80);
			snprintf(s->err.message, sizeof s->err.message, "%s%.*s): call pgorm_session_rollback%s first", pre,
			         room, was, s->nest > 0 ? " or pgorm_session_rollback_nested" : "");
			s->err.code = PGORM_ESTATE;
		}
		return PGORM_ESTATE;
	}
	int rc = pgorm__session_thread_check(s, "session");
	if (rc != 0 || (rc = acquire(s)) != 0)
		return rc;
	if (s->in_tx)
		return 0;
#ifndef NDEBUG
	s->owner = pthread_self();
	s->owned = true;
#endif
	if ((rc = tx_open(s)) != 0)
		return rc;
	s->stats.round_trips++;
	s->in_tx = true;
	return 0;
}

int pgorm__session_exec(pgorm_session *s, const char *sql, size_t n, const pgorm_value *p, pgorm_result **out)
{
	int rc = pgorm__session_begin(s);
	if (rc != 0)
		return rc;
	s->stats.round_trips++;
	if (pgorm_conn_exec(s->conn, sql, n, p, out) != 0)
		return pgorm__session_conn_fail(s);
	return 0;
}

/* ---- lifecycle ---- */

int pgorm_session_create(pgorm_session **out, const pgorm_registry *reg, struct pgorm_pool *pool,
                         pgorm_conn *conn, const pgorm_session_config *cfg, pgorm_error *err)
{
	if (out == NULL || reg == NULL || (pool == NULL && conn == NULL))
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_session_create: needs a registry and a pool or a connection");
	*out = NULL;
	pgorm_session *s = pgorm__calloc(1, sizeof *s);
	if (s == NULL)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory creating a session");
	s->reg = reg;
	s->pool = pool;
	s->conn = pool ? NULL : conn;
	pgorm_session_config def = PGORM_SESSION_CONFIG_INIT;
	s->cfg = cfg ? *cfg : def;
	pgorm_error_clear(&s->err);
	pgorm__arena_init(&s->arena);
	size_t maxsize = 16;
	for (size_t i = 0; i < reg->nmodels; i++)
		if (reg->models[i].alloc_size > maxsize)
			maxsize = reg->models[i].alloc_size;
	s->probe_size = maxsize;
	s->probe = pgorm__calloc(1, maxsize);
	/* cached statements: loaders, get-by-PK per model, single-key loaders (loader.c) */
	s->load_sql = pgorm__calloc(reg->nmodels * (2 * PGORM__MAX_RELS + 1) + 1, sizeof *s->load_sql);
	if (s->probe == NULL || s->load_sql == NULL || pgorm__imap_init(&s->imap) != 0) {
		pgorm__free(s->probe);
		pgorm__free(s->load_sql);
		pgorm__free(s);
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory creating a session");
	}
	if (s->conn)
		pgorm_conn_set_hook(s->conn, stmt_hook, s, s->cfg.log_params);
	*out = s;
	return 0;
}

int pgorm__session_reader(pgorm_session *s, pgorm_session **out)
{
	pgorm_session *r = NULL;
	int rc = pgorm_session_create(&r, s->reg, NULL, s->conn, &s->cfg, &s->err);
	if (rc != 0)
		return rc;
	pgorm_conn_set_hook(s->conn, stmt_hook, s, s->cfg.log_params); /* statements count in s */
	r->in_tx = true;
	r->joined = s->joined;
	*out = r;
	return 0;
}

void pgorm__session_reader_end(pgorm_session *s, pgorm_session *r, int rc)
{
	if (r == NULL)
		return;
	s->stats.round_trips += r->stats.round_trips;
	s->stats.lazy_loads += r->stats.lazy_loads;
	s->stats.identity_hits += r->stats.identity_hits;
	if (rc != 0 && r->err.code != 0)
		s->err = r->err;
	r->in_tx = false;
	r->conn = NULL; /* s's: neither rolled back nor unhooked */
	pgorm_session_destroy(r);
}

void pgorm_session_destroy(pgorm_session *s)
{
	if (s == NULL)
		return;
	if (s->conn != NULL && s->in_tx && pgorm_conn_ok(s->conn))
		(void)tx_rollback(s);
	if (s->conn != NULL && s->conn->tx_owner == s)
		s->conn->tx_owner = NULL;
	s->in_tx = false;
	if (s->conn)
		pgorm_conn_set_hook(s->conn, NULL, NULL, false);
	if (s->conn_from_pool)
		pgorm_pool_release(s->pool, s->conn);
	pgorm__imap_finish(&s->imap);
	pgorm__free(s->tracked);
	pgorm__free(s->flushed_deleted);
	pgorm__free(s->m2m_ops);
	for (size_t i = 0; i < s->reg->nmodels * (2 * PGORM__MAX_RELS + 1); i++)
		pgorm__free((void *)s->load_sql[i]);
	pgorm__free(s->load_sql);
	pgorm__free(s->probe);
	pgorm__arena_free_all(&s->arena);
	pgorm__free(s);
}

/* ---- objects ---- */

pgorm__model_info *pgorm__session_info(const pgorm_session *s, const void *obj)
{
	return pgorm__registry_info(s->reg, ((const pgorm_object *)obj)->model);
}

int pgorm__session_check_obj(pgorm_session *s, const void *obj, const char *what)
{
	int trc = pgorm__session_thread_check(s, what);
	if (trc != 0)
		return trc;
	if (obj == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s: object is NULL", what);
	const pgorm_object *h = obj;
	if (h->model == NULL || h->priv == NULL || pgorm__registry_info(s->reg, h->model) == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s: not an object created by pgorm_object_new or a query", what);
	if (h->priv->session != s)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s: %s object belongs to another session", what, h->model->table);
	return 0;
}

void *pgorm__object_alloc(pgorm_session *s, pgorm__model_info *mi)
{
	char *mem = pgorm__arena_calloc(&s->arena, mi->alloc_size);
	if (mem == NULL) {
		pgorm__session_fail(s, PGORM_ENOMEM, "out of memory allocating a %s object", mi->model->table);
		return NULL;
	}
	pgorm_object *h = (pgorm_object *)(void *)mem;
	h->model = mi->model;
	h->priv = (pgorm__objstate *)(void *)(mem + mi->state_offset);
	h->priv->session = s;
	return mem;
}

void *pgorm_object_new(pgorm_session *s, const pgorm_model *m)
{
	if (s == NULL)
		return NULL;
	pgorm__model_info *mi = m ? pgorm__registry_info(s->reg, m) : NULL;
	if (mi == NULL) {
		pgorm__session_fail(s, PGORM_EINVAL, "pgorm_object_new: model %s is not in the registry",
		                    m && m->table ? m->table : "(NULL)");
		return NULL;
	}
	void *obj = pgorm__object_alloc(s, mi);
	if (obj == NULL)
		return NULL;
	pgorm__objstate *st = pgorm__st(obj);
	/* Every column starts never assigned, reading as NULL, with the snapshot of its zero
	 * bytes: the writes pgorm__observe sees later assign it (model.h). */
	st->nulls = mi->ncols < 64 ? (1ULL << mi->ncols) - 1 : UINT64_MAX;
	pgorm__snapshot(obj, mi);
	/* A new object's collections are complete (empty), not unloaded. */
	st->loaded = UINT32_MAX;
	st->state = PGORM_STATE_TRANSIENT;
	return obj;
}

char *pgorm_strdup(pgorm_session *s, const char *str)
{
	if (s == NULL || str == NULL)
		return NULL;
	char *d = pgorm__arena_strndup(&s->arena, str, strlen(str));
	if (d == NULL)
		pgorm__session_fail(s, PGORM_ENOMEM, "out of memory copying a string");
	return d;
}

static long col_of(const void *obj, const char *column, const pgorm_column **out)
{
	const pgorm_object *h = obj;
	if (h == NULL || h->model == NULL || column == NULL)
		return -1;
	long i = 0;
	for (const pgorm_column *c = h->model->columns; c->name; c++, i++)
		if (strcmp(c->name, column) == 0) {
			*out = c;
			return i;
		}
	return -1;
}

int pgorm_object_set_null(void *obj, const char *column, bool is_null)
{
	const pgorm_column *c = NULL;
	long i = col_of(obj, column, &c);
	const pgorm_object *h = obj;
	pgorm_session *s = h && h->model && h->priv ? h->priv->session : NULL; /* for the message */
	if (i < 0 || pgorm__st(obj) == NULL || s == NULL) {
		if (s != NULL)
			pgorm__session_fail(s, PGORM_EINVAL, "pgorm_object_set_null: %s has no column \"%s\"",
			                    h->model->table, column ? column : "(NULL)");
		return PGORM_EINVAL;
	}
	if (is_null && !(c->flags & PGORM_NULLABLE))
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_object_set_null: %s.%s is NOT NULL", h->model->table,
		                           c->name);
	pgorm__model_info *mi = pgorm__session_info(s, obj);
	pgorm__observe(obj, mi); /* a write made before this call is older than it */
	pgorm__assign_col(obj, mi, (size_t)i, is_null || pgorm__col_null_ptr(obj, c));
	return 0;
}

int pgorm_object_assign_at(void *obj, size_t offset)
{
	const pgorm_object *h = obj;
	if (h == NULL || h->model == NULL || h->priv == NULL || h->priv->session == NULL)
		return PGORM_EINVAL;
	pgorm_session *s = h->priv->session;
	pgorm__model_info *mi = pgorm__session_info(s, obj);
	if (mi == NULL)
		return PGORM_EINVAL;
	for (size_t i = 0; i < mi->ncols; i++)
		if (mi->cols[i].offset == offset)
			return pgorm_object_set_null(obj, mi->cols[i].name, false);
	return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_object_assign_at: %s has no column at offset %zu",
	                           h->model->table, offset);
}

bool pgorm_object_is_null(const void *obj, const char *column)
{
	const pgorm_column *c = NULL;
	long i = col_of(obj, column, &c);
	if (i < 0 || pgorm__st(obj) == NULL || pgorm__st(obj)->session == NULL)
		return false;
	pgorm__observe((void *)obj, pgorm__session_info(pgorm__st(obj)->session, obj));
	return (pgorm__st(obj)->nulls & (1ULL << i)) != 0;
}

pgorm_state pgorm_object_state(const void *obj)
{
	return obj && pgorm__st(obj) ? (pgorm_state)pgorm__st(obj)->state : PGORM_STATE_TRANSIENT;
}

int pgorm__session_track_reserve(pgorm_session *s, size_t n)
{
	if (s->captracked - s->ntracked >= n)
		return 0;
	size_t cap = s->captracked ? s->captracked : 256;
	while (cap - s->ntracked < n)
		cap *= 2;
	void **t = pgorm__reallocarray(s->tracked, cap, sizeof *t);
	if (t == NULL)
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory tracking objects");
	s->tracked = t;
	s->captracked = cap;
	return 0;
}

int pgorm__session_track(pgorm_session *s, void *obj)
{
	pgorm__objstate *st = pgorm__st(obj);
	if (st->flags & OBJ_TRACKED)
		return 0;
	int rc = pgorm__session_track_reserve(s, 1);
	if (rc != 0)
		return rc;
	s->tracked[s->ntracked++] = obj;
	st->flags |= OBJ_TRACKED;
	return 0;
}

int pgorm__make_pending(pgorm_session *s, void *obj)
{
	pgorm__objstate *st = pgorm__st(obj);
	if (st->state != PGORM_STATE_TRANSIENT)
		return 0;
	int rc = pgorm__session_track(s, obj);
	if (rc != 0)
		return rc;
	st->state = PGORM_STATE_PENDING;
	return 0;
}

int pgorm_session_add(pgorm_session *s, void *obj)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_check_obj(s, obj, "pgorm_session_add");
	if (rc != 0)
		return rc;
	if (s->needs_rollback)
		return pgorm__session_begin(s); /* reports the state error */
	pgorm__objstate *st = pgorm__st(obj);
	if (st->state == PGORM_STATE_DELETED || st->state == PGORM_STATE_DETACHED)
		return pgorm__session_fail(s, PGORM_ESTATE, "pgorm_session_add: %s object is %s",
		                           ((pgorm_object *)obj)->model->table,
		                           st->state == PGORM_STATE_DELETED ? "deleted" : "detached");
	bool was_transient = st->state == PGORM_STATE_TRANSIENT;
	if ((rc = pgorm__make_pending(s, obj)) != 0)
		return rc;
	(void)was_transient;
	return pgorm__cascade_add(s, obj);
}

int pgorm_session_delete(pgorm_session *s, void *obj)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_check_obj(s, obj, "pgorm_session_delete");
	if (rc != 0)
		return rc;
	pgorm__objstate *st = pgorm__st(obj);
	switch (st->state) {
	case PGORM_STATE_PERSISTENT:
		st->state = PGORM_STATE_DELETED;
		st->flags &= (uint8_t)~OBJ_DELETE_DONE;
		return 0;
	case PGORM_STATE_PENDING:
		/* never inserted: it simply leaves the unit of work */
		st->state = PGORM_STATE_TRANSIENT;
		return 0;
	case PGORM_STATE_DELETED:
		return 0;
	default:
		return pgorm__session_fail(s, PGORM_ESTATE, "pgorm_session_delete: %s object is %s (not persistent)",
		                           ((pgorm_object *)obj)->model->table,
		                           st->state == PGORM_STATE_TRANSIENT ? "transient" : "detached");
	}
}

static void detach(pgorm_session *s, void *obj)
{
	pgorm__objstate *st = pgorm__st(obj);
	pgorm__imap_del(&s->imap, pgorm__session_info(s, obj), obj);
	st->state = PGORM_STATE_DETACHED;
}

/* obj, then every object reachable from it along relationships carrying the cascade bit
 * (what is in memory: loaded collections, queued additions, to-one links), each once, in
 * breadth-first order: no recursion, whatever the depth or the cycles. Objects of another
 * state than the ones kept by `keep` stop the walk. */
static int cascade_reach(pgorm_session *s, void *obj, unsigned bit, bool (*keep)(const void *), pgorm__objlist *out)
{
	out->n = 0;
	if (!pgorm__objlist_push(out, obj))
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	pgorm__st(obj)->flags2 |= OBJ2_SEEN;
	int rc = 0;
	for (size_t i = 0; i < out->n && rc == 0; i++) {
		void *o = out->items[i];
		pgorm__model_info *mi = pgorm__session_info(s, o);
		for (size_t k = 0; k < mi->nrels && rc == 0; k++) {
			const pgorm_rel *r = mi->rels[k];
			if (!(r->cascade & bit))
				continue;
			void *single;
			size_t cnt;
			void **items = pgorm__rel_items(o, r, &single, &cnt);
			for (size_t j = 0; j < cnt && rc == 0; j++) {
				pgorm__objstate *ist = pgorm__st(items[j]);
				if ((ist->flags2 & OBJ2_SEEN) || !keep(items[j]))
					continue;
				if (!pgorm__objlist_push(out, items[j]))
					rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
				else
					ist->flags2 |= OBJ2_SEEN;
			}
		}
	}
	for (size_t i = 0; i < out->n; i++)
		pgorm__st(out->items[i])->flags2 &= (uint8_t)~OBJ2_SEEN;
	return rc;
}

static bool not_detached(const void *o) { return pgorm__st(o)->state != PGORM_STATE_DETACHED; }
static bool is_persistent(const void *o) { return pgorm__st(o)->state == PGORM_STATE_PERSISTENT; }

int pgorm__expunge(pgorm_session *s, void *obj)
{
	pgorm__objlist all = { 0 };
	int rc = cascade_reach(s, obj, PGORM_CASCADE_EXPUNGE, not_detached, &all);
	for (size_t i = 0; i < all.n && rc == 0; i++) {
		void *o = all.items[i];
		pgorm__objstate *st = pgorm__st(o);
		if (st->state == PGORM_STATE_PENDING || st->state == PGORM_STATE_TRANSIENT)
			st->state = PGORM_STATE_TRANSIENT;
		else
			detach(s, o);
	}
	pgorm__free(all.items);
	return rc;
}

int pgorm_session_expunge(pgorm_session *s, void *obj)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_check_obj(s, obj, "pgorm_session_expunge");
	if (rc != 0)
		return rc;
	if (pgorm__st(obj)->state == PGORM_STATE_DETACHED)
		return 0;
	return pgorm__expunge(s, obj);
}

/* Build "SELECT cols FROM t WHERE pk1 = $1 AND …" into b. */
static void sql_by_pk(pgorm__sb *b, const pgorm__model_info *mi)
{
	pgorm__sb_add(b, "SELECT ");
	pgorm__sb_add(b, mi->select_list);
	pgorm__sb_add(b, " FROM ");
	pgorm__sb_add(b, mi->qtable);
	pgorm__sb_add(b, " t WHERE ");
	for (size_t i = 0; i < mi->npk; i++) {
		if (i)
			pgorm__sb_add(b, " AND ");
		pgorm__sb_add(b, "t.");
		pgorm__sb_ident(b, mi->cols[mi->pk[i]].name);
		pgorm__sb_add(b, " = ");
		pgorm__sb_param(b, i + 1);
	}
}

/* SELECT the row of obj's primary key and load it (overwrite). */
static int load_by_pk(pgorm_session *s, pgorm__model_info *mi, const pgorm_value *pk, void **out)
{
	/* the statement is built once per model and session (slots after the loaders') */
	const char **slot = &s->load_sql[s->reg->nmodels * PGORM__MAX_RELS + mi->index];
	if (*slot == NULL) {
		pgorm__sb b;
		pgorm__sb_init(&b);
		sql_by_pk(&b, mi);
		*slot = pgorm__sb_take(&b);
		if (*slot == NULL)
			return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	pgorm_result *res = NULL;
	int rc = pgorm__session_exec(s, *slot, mi->npk, pk, &res);
	if (rc != 0)
		return rc;
	void **objs = NULL;
	size_t n = 0;
	rc = pgorm__load_rows(s, mi, res, 0, true, &objs, &n);
	pgorm_result_free(res);
	if (rc != 0)
		return rc;
	if (n == 0) {
		pgorm__free(objs);
		*out = NULL;
		return pgorm__session_fail(s, PGORM_ENOTFOUND, "%s: no row with this primary key", mi->model->table);
	}
	*out = objs[0];
	pgorm__free(objs);
	return 0;
}

static void pk_values(const void *obj, const pgorm__model_info *mi, pgorm_value *pk)
{
	for (size_t i = 0; i < mi->npk; i++)
		pgorm__get_col(obj, &mi->cols[mi->pk[i]], mi->pk[i], &pk[i]);
}

int pgorm_session_get(pgorm_session *s, const pgorm_model *m, const pgorm_value *pk, void **out)
{
	if (s == NULL)
		return PGORM_EINVAL;
	if (out == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_get: out is NULL");
	*out = NULL;
	pgorm__model_info *mi = m ? pgorm__registry_info(s->reg, m) : NULL;
	if (mi == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_get: model is not in the registry");
	if (pk == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_get: pk is NULL");
	memset(s->probe, 0, s->probe_size);
	((pgorm_object *)s->probe)->model = m;
	for (size_t i = 0; i < mi->npk; i++) {
		const pgorm_column *c = &mi->cols[mi->pk[i]];
		if (pk[i].is_null)
			return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_get: %s.%s is NULL", m->table, c->name);
		int rc = pgorm__set_col(NULL, s->probe, c, mi->pk[i], &pk[i]);
		if (rc != 0)
			return pgorm__session_fail(s, rc, "pgorm_session_get: %s.%s expects %s, got %s", m->table, c->name,
			                           pgorm_type_name(c->type), pgorm_type_name(pk[i].type));
	}
	void *obj = pgorm__imap_find(&s->imap, mi, s->probe);
	if (obj != NULL && !(pgorm__st(obj)->flags & OBJ_EXPIRED)) {
		s->stats.identity_hits++;
		if (pgorm__st(obj)->state == PGORM_STATE_DELETED)
			return pgorm__session_fail(s, PGORM_ENOTFOUND, "%s: object is marked deleted", m->table);
		*out = obj;
		return 0;
	}
	/* No autoflush on a miss (as Hibernate's find): a row is found by its key, which pending
	 * changes cannot move, and flushing would scan the whole session on every miss. */
	pgorm_value keys[PGORM__MAX_PK];
	pk_values(s->probe, mi, keys);
	return load_by_pk(s, mi, keys, out);
}

static int refresh_one(pgorm_session *s, void *obj)
{
	pgorm__model_info *mi = pgorm__session_info(s, obj);
	pgorm_value keys[PGORM__MAX_PK];
	pk_values(obj, mi, keys);
	void *got = NULL;
	pgorm__st(obj)->flags |= OBJ_EXPIRED;
	int rc = load_by_pk(s, mi, keys, &got);
	if (rc == PGORM_ENOTFOUND)
		detach(s, obj);
	return rc;
}

int pgorm_session_refresh(pgorm_session *s, void *obj)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_check_obj(s, obj, "pgorm_session_refresh");
	if (rc != 0)
		return rc;
	if (pgorm__st(obj)->state != PGORM_STATE_PERSISTENT)
		return pgorm__session_fail(s, PGORM_ESTATE, "pgorm_session_refresh: object is not persistent");
	/* the refresh-expire cascade: the persistent objects it reaches are refreshed too; a
	 * related row gone meanwhile detaches its object, which is no error of obj's */
	pgorm__objlist all = { 0 };
	rc = cascade_reach(s, obj, PGORM_CASCADE_REFRESH_EXPIRE, is_persistent, &all);
	for (size_t i = 0; i < all.n && rc == 0; i++) {
		rc = refresh_one(s, all.items[i]);
		if (rc == PGORM_ENOTFOUND && i > 0)
			rc = 0;
	}
	pgorm__free(all.items);
	return rc;
}

/* Expired: columns are reloaded by the next load, relationships are unloaded, and an
 * unloaded collection shows nothing (len 0) rather than items that may be stale; changes
 * queued on it are dropped (the links they mirrored were flushed or are discarded). */
static void expire_obj(void *obj, const pgorm__model_info *mi)
{
	pgorm__objstate *st = pgorm__st(obj);
	if (mi == NULL)
		mi = pgorm__session_info(st->session, obj);
	st->flags |= OBJ_EXPIRED;
	st->loaded = 0;
	for (size_t k = 0; k < mi->nrels; k++) {
		if (mi->rels[k]->scalar)
			continue;
		pgorm_collection *c = pgorm__coll(obj, mi->rels[k]);
		c->len = 0;
		if (c->priv != NULL)
			c->priv->nadded = c->priv->nremoved = 0;
	}
}

static bool gone(const void *obj)
{
	uint8_t st = pgorm__st(obj)->state;
	return st == PGORM_STATE_TRANSIENT || st == PGORM_STATE_DETACHED;
}

/* Rollback, after every state is reset: relationship changes queued on unloaded collections
 * are undone with the links they mirrored (else the next load would merge them back in),
 * and links / collection items that refer to objects which left the session are cut (else
 * a later change or cascade would follow them back in). */
static void forget_rolled_back_links(void *obj, const pgorm__model_info *mi)
{
	for (size_t k = 0; k < mi->nrels; k++) {
		const pgorm_rel *r = mi->rels[k];
		if (r->scalar) {
			void *t = pgorm__link_get(obj, r);
			if (t != NULL && gone(t))
				pgorm__link_put(obj, r, NULL);
			continue;
		}
		pgorm_collection *c = pgorm__coll(obj, r);
		if (c->priv != NULL)
			c->priv->nadded = c->priv->nremoved = 0;
		size_t n = 0;
		for (size_t i = 0; i < c->len; i++)
			if (!gone(c->items[i]))
				c->items[n++] = c->items[i];
		c->len = n;
	}
}

static void forget_all_rolled_back_links(pgorm_session *s)
{
	for (size_t i = 0; i < s->ntracked; i++)
		if (!gone(s->tracked[i]))
			forget_rolled_back_links(s->tracked[i], pgorm__session_info(s, s->tracked[i]));
}

int pgorm_session_expire(pgorm_session *s, void *obj)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_check_obj(s, obj, "pgorm_session_expire");
	if (rc != 0)
		return rc;
	pgorm__objlist all = { 0 }; /* the refresh-expire cascade */
	rc = cascade_reach(s, obj, PGORM_CASCADE_REFRESH_EXPIRE, is_persistent, &all);
	for (size_t i = 0; i < all.n && rc == 0; i++)
		expire_obj(all.items[i], NULL);
	pgorm__free(all.items);
	return rc;
}

/* Merge one object: find or create its counterpart in s and copy the columns the source
 * holds (all of them for a loaded source; the assigned ones of a new source). */
static int merge_one(pgorm_session *s, const void *obj, void **out)
{
	const pgorm_object *h = obj;
	pgorm__model_info *mi = h->model ? pgorm__registry_info(s->reg, h->model) : NULL;
	if (mi == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_merge: model %s is not in the registry",
		                           h->model && h->model->table ? h->model->table : "(NULL)");
	pgorm__objstate *src = h->priv;
	if (src != NULL)
		pgorm__observe((void *)obj, mi); /* the source's writes count, as anywhere else */
	bool fresh = src != NULL && (src->state == PGORM_STATE_TRANSIENT || src->state == PGORM_STATE_PENDING);
	uint64_t all = mi->ncols < 64 ? (1ULL << mi->ncols) - 1 : UINT64_MAX;
	uint64_t copy = fresh ? src->dirty | (all & ~src->nulls) : all;
	pgorm_value keys[PGORM__MAX_PK];
	pk_values(obj, mi, keys);
	bool keyless = false;
	for (size_t k = 0; k < mi->npk; k++)
		keyless |= keys[k].is_null;
	void *target = NULL;
	int rc = keyless ? PGORM_ENOTFOUND : pgorm_session_get(s, h->model, keys, &target);
	if (rc == PGORM_ENOTFOUND) { /* no such row: a new object with the source's values */
		target = pgorm_object_new(s, h->model);
		if (target == NULL)
			return s->err.code;
		rc = pgorm_session_add(s, target);
	}
	if (rc != 0)
		return rc;
	pgorm__observe(target, mi);
	for (size_t i = 0; i < mi->ncols; i++) {
		if (!((copy >> i) & 1))
			continue;
		const pgorm_column *c = &mi->cols[i];
		pgorm_value v;
		pgorm__get_col(obj, c, i, &v);
		bool was_null = (pgorm__st(target)->nulls >> i) & 1;
		if (v.is_null) {
			if (!was_null)
				pgorm__assign_col(target, mi, i, true);
			continue;
		}
		/* strings are copied into the session; a value equal to the target's is no change */
		if ((rc = pgorm__set_col(&s->arena, target, c, i, &v)) != 0)
			return pgorm__session_fail(s, rc, "out of memory");
		if (was_null)
			pgorm__assign_col(target, mi, i, false);
	}
	*out = target;
	return 0;
}

/* The counterpart merged for src (already visited), by a search of the pairs so far. */
static void *merged_of(const pgorm__objlist *srcs, const pgorm__objlist *tgts, const void *src)
{
	for (size_t i = 0; i < srcs->n; i++)
		if (srcs->items[i] == src)
			return tgts->items[i];
	return NULL;
}

/* Make target's relationship r hold exactly the merged objects want[0..n) (SQLAlchemy's
 * replace: dropped members go through the remove path, kept ones cause no statement). */
static int merge_rel(pgorm_session *s, const pgorm_rel *r, void *target, void **want, size_t n)
{
	if (r->scalar) {
		void *cur = pgorm__link_get(target, r);
		if (cur == (n ? want[0] : NULL) && ((pgorm__st(target)->loaded >> r->index) & 1))
			return 0;
		return pgorm_rel_set(s, r, target, n ? want[0] : NULL);
	}
	int rc = 0;
	if (!((pgorm__st(target)->loaded >> r->index) & 1) && pgorm__st(target)->state == PGORM_STATE_PERSISTENT)
		rc = pgorm__load_lazy(s, r, target);
	pgorm_collection *c = pgorm__coll(target, r);
	for (size_t i = c->len; i-- > 0 && rc == 0;) {
		bool keep = false;
		for (size_t k = 0; k < n && !keep; k++)
			keep = want[k] == c->items[i];
		if (!keep)
			rc = pgorm_rel_remove(s, r, target, c->items[i]);
	}
	for (size_t k = 0; k < n && rc == 0; k++)
		if (!pgorm__coll_contains(c, want[k]))
			rc = pgorm_rel_append(s, r, target, want[k]);
	return rc;
}

int pgorm_session_merge(pgorm_session *s, const void *obj, void **out)
{
	if (s == NULL || obj == NULL || out == NULL)
		return s ? pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_merge: NULL argument") : PGORM_EINVAL;
	/* Breadth-first over the relationships with the merge cascade whose source side is
	 * loaded; each source object is merged once (a visited mark), cycles included. */
	pgorm__objlist srcs = { 0 }, tgts = { 0 }, want = { 0 };
	void *target = NULL;
	int rc = merge_one(s, obj, &target);
	if (rc == 0 && (!pgorm__objlist_push(&srcs, (void *)obj) || !pgorm__objlist_push(&tgts, target)))
		rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	if (rc == 0 && ((const pgorm_object *)obj)->priv != NULL)
		pgorm__st(obj)->flags2 |= OBJ2_SEEN;
	for (size_t i = 0; i < srcs.n && rc == 0; i++) {
		void *src = srcs.items[i], *tgt = tgts.items[i];
		if (((pgorm_object *)src)->priv == NULL)
			continue; /* a plain struct: its columns only */
		pgorm__model_info *mi = pgorm__session_info(s, tgt);
		for (size_t k = 0; k < mi->nrels && rc == 0; k++) {
			const pgorm_rel *r = mi->rels[k];
			if (!(r->cascade & PGORM_CASCADE_MERGE) || (r->flags & PGORM_REL_VIEWONLY) ||
			    !((pgorm__st(src)->loaded >> r->index) & 1))
				continue;
			void *single;
			size_t n;
			void **items = pgorm__rel_items(src, r, &single, &n);
			want.n = 0;
			for (size_t j = 0; j < n && rc == 0; j++) {
				void *it = items[j], *m = NULL;
				if (pgorm__st(it)->flags2 & OBJ2_SEEN) {
					m = merged_of(&srcs, &tgts, it);
				} else if ((rc = merge_one(s, it, &m)) == 0) {
					if (!pgorm__objlist_push(&srcs, it) || !pgorm__objlist_push(&tgts, m))
						rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
					else
						pgorm__st(it)->flags2 |= OBJ2_SEEN;
				}
				if (rc == 0 && m != NULL && !pgorm__objlist_push(&want, m))
					rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			}
			if (rc == 0)
				rc = merge_rel(s, r, tgt, want.items, want.n);
		}
	}
	for (size_t i = 0; i < srcs.n; i++)
		if (((pgorm_object *)srcs.items[i])->priv != NULL)
			pgorm__st(srcs.items[i])->flags2 &= (uint8_t)~OBJ2_SEEN;
	pgorm__free(srcs.items);
	pgorm__free(tgts.items);
	pgorm__free(want.items);
	if (rc == 0)
		*out = target;
	return rc;
}

/* ---- transactions ---- */

/* Drop objects that left the unit of work from the tracked list. */
static void compact_tracked(pgorm_session *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if (st->state == PGORM_STATE_TRANSIENT || st->state == PGORM_STATE_DETACHED) {
			st->flags &= (uint8_t)~OBJ_TRACKED;
			continue;
		}
		s->tracked[k++] = o;
	}
	s->ntracked = k;
}

static void end_tx(pgorm_session *s)
{
#ifndef NDEBUG
	s->owned = false;
#endif
	if (s->conn != NULL && s->conn->tx_owner == s)
		s->conn->tx_owner = NULL;
	s->in_tx = false;
	s->joined = false;
	s->nest = 0;
	give_back(s);
}

int pgorm_session_flush(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	return pgorm__flush(s, false, NULL);
}

int pgorm_session_plan(pgorm_session *s, char **out)
{
	if (s == NULL)
		return PGORM_EINVAL;
	if (out == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_plan: out is NULL");
	*out = NULL;
	return pgorm__flush(s, true, out);
}

int pgorm_session_commit(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__flush(s, false, NULL);
	if (rc != 0)
		return rc;
	if (s->in_tx) {
		s->stats.round_trips++;
		if (tx_commit(s) != 0) {
			rc = pgorm__session_conn_fail(s);
			s->needs_rollback = true;
			return rc;
		}
	}
	/* Deleted objects become detached and leave every collection that still shows them. */
	for (size_t i = 0; i < s->nflushed_deleted; i++) {
		void *o = s->flushed_deleted[i];
		pgorm__unlink_everywhere(s, o);
		pgorm__st(o)->state = PGORM_STATE_DETACHED;
	}
	s->nflushed_deleted = 0;
	compact_tracked(s);
	for (size_t i = 0; i < s->ntracked; i++) {
		pgorm__st(s->tracked[i])->flags &= (uint8_t)~(OBJ_PK_ASSIGNED | OBJ_NEW_IN_TX);
		if (s->cfg.expire_on_commit)
			expire_obj(s->tracked[i], NULL);
	}
	end_tx(s);
	pgorm_error_clear(&s->err);
	return 0;
}

/* o leaves the unit of work with a rollback (it was pending, or inserted by a rolled-back
 * flush). The key a sequence gave it and the foreign keys copied from its links are reset:
 * the rows they named are gone with the transaction, and the links, which stay, are copied
 * again at its next flush. The other columns it holds stay assigned, as the user wrote them. */
static void back_to_transient(pgorm_session *s, void *o, pgorm__model_info *mi)
{
	pgorm__objstate *st = pgorm__st(o);
	pgorm__observe(o, mi);
	if (st->flags & OBJ_NEW_IN_TX) /* its INSERT is undone: every value it holds is written again */
		st->dirty |= ~st->nulls & (mi->ncols < 64 ? (1ULL << mi->ncols) - 1 : UINT64_MAX);
	if (st->flags & OBJ_PK_ASSIGNED)
		pgorm__unassign_col(o, mi, mi->pk[0]);
	for (size_t k = 0; k < mi->nrels; k++) {
		const pgorm_rel *r = mi->rels[k];
		if (r->kind != PGORM_REL_MANY_TO_ONE || (r->flags & PGORM_REL_VIEWONLY) || pgorm__link_get(o, r) == NULL)
			continue;
		for (size_t c = 0; c < r->nfk; c++)
			pgorm__unassign_col(o, mi, r->fk_cols[c]);
		st->link_dirty |= 1u << k;
	}
	if (st->flags & OBJ_IN_MAP)
		pgorm__imap_del(&s->imap, mi, o);
	st->flags &= (uint8_t)~(OBJ_PK_ASSIGNED | OBJ_NEW_IN_TX);
	st->state = PGORM_STATE_TRANSIENT;
	st->loaded = UINT32_MAX;
}

int pgorm_session_rollback(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = 0;
	if (s->in_tx && s->conn != NULL) {
		s->stats.round_trips++;
		if (tx_rollback(s) != 0 && pgorm_conn_ok(s->conn))
			rc = pgorm__session_conn_fail(s);
	}
	/* Objects deleted by a flush of this transaction come back. */
	for (size_t i = 0; i < s->nflushed_deleted; i++) {
		void *o = s->flushed_deleted[i];
		pgorm__model_info *mi = pgorm__session_info(s, o);
		pgorm__st(o)->state = PGORM_STATE_PERSISTENT;
		if (!(pgorm__st(o)->flags & OBJ_IN_MAP) && pgorm__imap_find(&s->imap, mi, o) == NULL)
			(void)pgorm__imap_put(&s->imap, mi, o);
	}
	s->nflushed_deleted = 0;
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		pgorm__model_info *mi = pgorm__session_info(s, o);
		if (st->state == PGORM_STATE_PENDING || (st->flags & OBJ_NEW_IN_TX)) {
			back_to_transient(s, o, mi); /* inserted in this transaction, or about to be */
			continue;
		}
		if (st->state == PGORM_STATE_DELETED)
			st->state = PGORM_STATE_PERSISTENT;
		st->link_dirty = 0;
		pgorm__snapshot(o, mi); /* unflushed column changes are discarded, not flushed later */
		expire_obj(o, mi);
	}
	forget_all_rolled_back_links(s);
	compact_tracked(s);
	s->needs_rollback = false;
	end_tx(s);
	if (rc == 0)
		pgorm_error_clear(&s->err);
	return rc;
}

static int savepoint_name(char *buf, size_t n, unsigned depth)
{
	return snprintf(buf, n, "pgorm_sp_%u", depth) < (int)n ? 0 : -1;
}

void pgorm__session_abort_flush(pgorm_session *s)
{
	pgorm_error keep = s->err;
	bool kept = false;
	if (s->in_tx && s->nest > 0 && s->conn != NULL && pgorm_conn_ok(s->conn)) {
		/* ROLLBACK TO keeps the savepoint open: rollback_nested rolls back to it again */
		char name[32];
		savepoint_name(name, sizeof name, s->nest);
		s->stats.round_trips++;
		kept = pgorm_conn_rollback_to(s->conn, name) == 0;
	}
	if (!kept) {
		if (s->in_tx && s->conn != NULL && pgorm_conn_ok(s->conn)) {
			s->stats.round_trips++;
			(void)tx_rollback(s);
		}
		if (s->in_tx && s->conn != NULL && s->conn->tx_owner == s)
			s->conn->tx_owner = NULL;
		s->in_tx = false;
		s->nest = 0; /* no savepoint left: rollback_nested reports it, rollback is accepted */
	}
	s->err = keep;
	s->needs_rollback = true;
}

int pgorm_session_begin_nested(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__flush(s, false, NULL);
	if (rc == 0)
		rc = pgorm__session_begin(s);
	if (rc != 0)
		return rc;
	char name[32];
	savepoint_name(name, sizeof name, s->nest + 1);
	if (pgorm_conn_savepoint(s->conn, name) != 0)
		return pgorm__session_conn_fail(s);
	s->stats.round_trips++;
	s->nest++;
	return 0;
}

int pgorm_session_commit_nested(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	if (s->nest == 0)
		return pgorm__session_fail(s, PGORM_ESTATE, "no savepoint is open");
	int rc = pgorm__flush(s, false, NULL);
	if (rc != 0)
		return rc;
	char name[32];
	savepoint_name(name, sizeof name, s->nest);
	if (pgorm_conn_release_savepoint(s->conn, name) != 0)
		return pgorm__session_conn_fail(s);
	s->stats.round_trips++;
	s->nest--;
	return 0;
}

/* After ROLLBACK TO SAVEPOINT, whether the rows this transaction wrote still exist tells what
 * the savepoint covered: a row INSERTed inside it is gone, a row DELETEd inside it is back.
 * Marks each candidate whose row exists with OBJ2_SEEN. One SELECT per model for a
 * single-column integer or text key, one per object otherwise. */
static int mark_existing_rows(pgorm_session *s, void **cand, size_t n)
{
	void **objs = pgorm__calloc(n, sizeof *objs);
	int rc = objs ? 0 : pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	pgorm__sb b;
	pgorm__sb_init(&b);
	for (size_t m = 0; m < s->reg->nmodels && rc == 0; m++) {
		pgorm__model_info *mi = &s->reg->models[m];
		const pgorm_column *pc = &mi->cols[mi->pk[0]];
		bool batch = mi->npk == 1 && pgorm__keyarray_supports(pc->type);
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (((pgorm_object *)cand[i])->model == mi->model)
				objs[k++] = cand[i];
		for (size_t i = 0; i < k && rc == 0 && !batch; i++) {
			pgorm_value keys[PGORM__MAX_PK];
			pgorm_result *res = NULL;
			pk_values(objs[i], mi, keys);
			pgorm__sb_reset(&b);
			sql_by_pk(&b, mi);
			rc = pgorm__sb_str(&b) ? pgorm__session_exec(s, pgorm__sb_str(&b), mi->npk, keys, &res)
			                       : pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			if (rc == 0 && pgorm_result_rows(res) > 0)
				pgorm__st(objs[i])->flags2 |= OBJ2_SEEN;
			pgorm_result_free(res);
		}
		if (k == 0 || !batch || rc != 0)
			continue;
		pgorm__keyarray keys;
		if (pgorm__keyarray_build(&keys, pc, mi->pk[0], objs, k) != 0) {
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			break;
		}
		pgorm__sb_reset(&b);
		pgorm__sb_addf(&b, "SELECT u.i FROM unnest($1%s) WITH ORDINALITY AS u(k, i) WHERE EXISTS (SELECT 1 FROM %s t WHERE t.",
		               keys.cast, mi->qtable);
		pgorm__sb_ident(&b, pc->name);
		pgorm__sb_add(&b, " = u.k)");
		pgorm_result *res = NULL;
		rc = pgorm__sb_str(&b) ? pgorm__session_exec(s, pgorm__sb_str(&b), 1, &keys.param, &res)
		                       : pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		for (size_t row = 0; rc == 0 && row < pgorm_result_rows(res); row++) {
			int64_t ord = 0;
			if (pgorm_result_int64(res, row, 0, &ord) == 0 && ord >= 1 && (size_t)ord <= k)
				pgorm__st(objs[ord - 1])->flags2 |= OBJ2_SEEN;
		}
		pgorm_result_free(res);
		pgorm__keyarray_free(&keys);
	}
	pgorm__sb_free(&b);
	pgorm__free(objs);
	return rc;
}

int pgorm_session_rollback_nested(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	if (s->nest == 0)
		return pgorm__session_fail(s, PGORM_ESTATE, "no savepoint is open");
	char name[32];
	savepoint_name(name, sizeof name, s->nest);
	if (pgorm_conn_rollback_to(s->conn, name) != 0 || pgorm_conn_release_savepoint(s->conn, name) != 0)
		return pgorm__session_conn_fail(s);
	s->stats.round_trips += 2;
	s->nest--;
	s->needs_rollback = false;
	s->nm2m = 0; /* association changes made inside the savepoint (begin_nested flushed the rest) */
	/* Objects INSERTed inside the savepoint leave the session (transient, keys from sequences
	 * reset), objects DELETEd inside it are persistent again, unflushed deletes are undone,
	 * pending objects become transient, everything else is expired. Which rows the savepoint
	 * covered is asked of the database (mark_existing_rows). An object both inserted and
	 * deleted by flushes of this transaction stays deleted. */
	void **cand = pgorm__calloc(s->ntracked + 1, sizeof *cand);
	if (cand == NULL)
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	size_t nc = 0;
	for (size_t i = 0; i < s->ntracked; i++) {
		pgorm__objstate *st = pgorm__st(s->tracked[i]);
		bool flushed_del = st->state == PGORM_STATE_DELETED && !(st->flags & OBJ_IN_MAP);
		if (st->state != PGORM_STATE_PENDING && ((st->flags & OBJ_NEW_IN_TX) || flushed_del))
			cand[nc++] = s->tracked[i];
	}
	int rc = nc > 0 ? mark_existing_rows(s, cand, nc) : 0;
	pgorm__free(cand);
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		pgorm__model_info *mi = pgorm__session_info(s, o);
		bool exists = (st->flags2 & OBJ2_SEEN) != 0;
		st->flags2 &= (uint8_t)~OBJ2_SEEN;
		if (st->state == PGORM_STATE_PENDING) {
			back_to_transient(s, o, mi); /* a flush that failed inside the savepoint may have given it a key */
			continue;
		}
		if (rc == 0 && st->state == PGORM_STATE_DELETED && !(st->flags & OBJ_IN_MAP)) {
			if (exists) { /* deleted inside the savepoint: back */
				st->state = PGORM_STATE_PERSISTENT;
				if (pgorm__imap_find(&s->imap, mi, o) == NULL)
					(void)pgorm__imap_put(&s->imap, mi, o);
			}
		} else if (rc == 0 && (st->flags & OBJ_NEW_IN_TX) && !exists) { /* inserted inside it */
			back_to_transient(s, o, mi);
			continue;
		} else if (st->state == PGORM_STATE_DELETED) {
			st->state = PGORM_STATE_PERSISTENT; /* delete marked inside the savepoint, not flushed */
		}
		st->link_dirty = 0;
		pgorm__snapshot(o, mi);
		expire_obj(o, NULL);
	}
	forget_all_rolled_back_links(s);
	/* flushed deletes that the savepoint undid are no longer pending detachment */
	size_t k = 0;
	for (size_t i = 0; i < s->nflushed_deleted; i++)
		if (pgorm__st(s->flushed_deleted[i])->state == PGORM_STATE_DELETED)
			s->flushed_deleted[k++] = s->flushed_deleted[i];
	s->nflushed_deleted = k;
	compact_tracked(s);
	if (rc == 0)
		pgorm_error_clear(&s->err);
	return rc;
}
