/* lib/state.c — the session's state, below the flush and the loaders: its connection (from
 * the pool or the caller's) and transaction (BEGIN, or a savepoint inside the caller's),
 * errors, logging, statement counters, the tracked objects, and the one way statements go
 * out (pgorm__session_exec, pgorm__session_pipeline). */
#include "state.h"
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
	s->err_obj = NULL;
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

void pgorm__session_stmt_hook(void *ctx, const char *sql, size_t n, const pgorm_value *p, double us, int status)
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
	pgorm_conn_set_hook(s->conn, pgorm__session_stmt_hook, s, s->cfg.log_params);
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
		pgorm_conn_set_hook(s->conn, pgorm__session_stmt_hook, s, s->cfg.log_params);
	}
}

void pgorm__session_route(pgorm_session *s, pgorm_conn *borrowed, bool read_only, bool track_lsn)
{
	s->read_only = read_only;
	s->track_lsn = track_lsn;
	if (borrowed != NULL && s->conn == NULL && s->pool != NULL) {
		s->conn = borrowed;
		s->conn_from_pool = true;
		pgorm_conn_set_hook(s->conn, pgorm__session_stmt_hook, s, s->cfg.log_params);
	}
}

static int send_pending_begin(pgorm_session *s);

pgorm_conn *pgorm_session_connection(pgorm_session *s)
{
	if (s == NULL || acquire(s) != 0)
		return NULL;
	/* the caller may expect the session's transaction to be open on it */
	if (s->begin_pending && send_pending_begin(s) != 0)
		return NULL;
	return s->conn;
}

/* ---- sending statements ----
 * Everything a session sends goes through the functions below, which count round trips from
 * the connection's own counter (the difference across the call), never by hand. */

static uint64_t conn_round_trips(const pgorm_conn *c)
{
	pgorm_conn_stats st;
	pgorm_conn_stats_get(c, &st);
	return st.round_trips;
}

/* The transaction statements, one shape: (connection, savepoint name or NULL). */
typedef int (*tx_fn)(pgorm_conn *c, const char *name);
static int conn_commit(pgorm_conn *c, const char *name) { (void)name; return pgorm_conn_commit(c); }
static int conn_rollback(pgorm_conn *c, const char *name) { (void)name; return pgorm_conn_rollback(c); }

/* Run one transaction statement, counted; the connection's error is copied on failure. */
static int tx_stmt(pgorm_session *s, tx_fn fn, const char *name)
{
	uint64_t before = conn_round_trips(s->conn);
	int rc = fn(s->conn, name);
	s->stats.round_trips += conn_round_trips(s->conn) - before;
	return rc != 0 ? pgorm__session_conn_fail(s) : 0;
}

/* The session's transaction: BEGIN … COMMIT, or, on a connection already inside the
 * caller's transaction, SAVEPOINT … RELEASE (SQLAlchemy's join_transaction_mode
 * "create_savepoint"): the caller's transaction decides, and a test can roll it all back.
 *
 * Round trips: opening the transaction sends nothing; its BEGIN (or SAVEPOINT) travels in the
 * same pipeline as the first statements (begin_pending), and a commit's COMMIT (or RELEASE)
 * in the same pipeline as the flush's last batch (pgorm__session_pipeline_commit). A
 * transaction that sent nothing is closed without a round trip. */
#define JOIN_SAVEPOINT "pgorm_join"
#define JOIN_SAVEPOINT_Q "\"" JOIN_SAVEPOINT "\""

static const char *begin_sql(const pgorm_session *s) { return s->joined ? "SAVEPOINT " JOIN_SAVEPOINT_Q : "BEGIN"; }

/* Send a batch with the pending BEGIN in front (when there is one) and post after it (NULL:
 * none); round trips counted, the connection's error copied on failure. */
static int send_batch(pgorm_session *s, size_t n, const pgorm_stmt *stmts, pgorm_result **res, pgorm__tx_wrap *tx)
{
	/* the registry's named types are looked up together the first time the connection needs one */
	pgorm__conn_types_hint(s->conn, s->reg->type_names, s->reg->ntypes, s->reg);
	tx->pre = s->begin_pending ? begin_sql(s) : NULL;
	uint64_t before = conn_round_trips(s->conn);
	int rc = pgorm__conn_pipeline_tx(s->conn, n, stmts, res, tx);
	s->stats.round_trips += conn_round_trips(s->conn) - before;
	/* once BEGIN went out the transaction is taken as open, whatever followed (a ROLLBACK of
	 * one that never began only draws a warning) */
	if (tx->pre_sent)
		s->begin_pending = false;
	return rc != 0 ? pgorm__session_conn_fail(s) : 0;
}

static int send_pending_begin(pgorm_session *s)
{
	pgorm__tx_wrap tx = { 0 };
	return send_batch(s, 0, NULL, NULL, &tx);
}

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
	s->begin_pending = true; /* sent with the first statements */
	c->tx_owner = s;
	return 0;
}

/* After a COMMIT (track_lsn): the server's WAL insert position, which is at or past the end of
 * the commit record just written (pg_current_wal_lsn, the write position, may still be before
 * it with synchronous_commit off). When the last record ended exactly at a page boundary, the
 * insert position points past the next page's header (24 bytes; 40 at a segment start), which
 * no record ends at and a standby reports only once more WAL is written: it is taken back to
 * the boundary, where a standby's replay position stops. One more round trip; a failure
 * leaves the LSN unknown, not the commit failed. */
#define COMMIT_LSN_SQL                                                                             \
	"SELECT x - CASE WHEN x % b = 24 THEN 24 WHEN x % s = 40 THEN 40 ELSE 0 END FROM (SELECT "     \
	"(pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8 AS x, current_setting('wal_block_size')::int8 AS b, " \
	"pg_size_bytes(current_setting('wal_segment_size')) AS s) v"

static void read_commit_lsn(pgorm_session *s)
{
	pgorm_result *r = NULL;
	int64_t v = 0;
	uint64_t before = conn_round_trips(s->conn);
	int rc = pgorm_conn_exec(s->conn, COMMIT_LSN_SQL, 0, NULL, &r);
	s->stats.round_trips += conn_round_trips(s->conn) - before;
	if (rc == 0)
		rc = pgorm_result_int64(r, 0, 0, &v);
	pgorm_result_free(r);
	s->commit_lsn = rc == 0 && v > 0 ? (uint64_t)v : UINT64_MAX;
}

int pgorm__tx_commit(pgorm_session *s)
{
	if (s->begin_pending) /* nothing was sent: nothing to commit, no LSN to wait for */
		return 0;
	int rc = s->tx_done ? 0 /* the flush carried the COMMIT */
	                    : s->joined ? tx_stmt(s, pgorm_conn_release_savepoint, JOIN_SAVEPOINT) : tx_stmt(s, conn_commit, NULL);
	if (s->joined || !s->track_lsn)
		return rc;
	if (rc == 0)
		read_commit_lsn(s);
	else
		s->commit_lsn = UINT64_MAX; /* failed or in doubt: a read that asks goes to the primary */
	return rc;
}

/* Roll the session's transaction back (the caller's, when joined, stays open). */
int pgorm__tx_rollback(pgorm_session *s)
{
	if (s->begin_pending || s->tx_done) {
		s->begin_pending = false;
		return 0;
	}
	if (!s->joined)
		return tx_stmt(s, conn_rollback, NULL);
	int rc = tx_stmt(s, pgorm_conn_rollback_to, JOIN_SAVEPOINT);
	return rc != 0 ? rc : tx_stmt(s, pgorm_conn_release_savepoint, JOIN_SAVEPOINT);
}

int pgorm__session_savepoint(pgorm_session *s, pgorm__sp_op op, unsigned depth)
{
	char name[32];
	pgorm__savepoint_name(name, sizeof name, depth);
	if (s->begin_pending) { /* BEGIN and SAVEPOINT in one round trip */
		char sql[64];
		snprintf(sql, sizeof sql, "SAVEPOINT \"%s\"", name);
		pgorm__tx_wrap tx = { .post = sql };
		return send_batch(s, 0, NULL, NULL, &tx);
	}
	switch (op) {
	case PGORM__SP_OPEN: return tx_stmt(s, pgorm_conn_savepoint, name);
	case PGORM__SP_RELEASE: return tx_stmt(s, pgorm_conn_release_savepoint, name);
	default: return tx_stmt(s, pgorm_conn_rollback_to, name);
	}
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
	s->in_tx = true;
	return 0;
}

/* Whether sql may write: anything but a read-only statement kind (SELECT, WITH, VALUES, TABLE,
 * FETCH, DECLARE, CLOSE, SHOW, SET, transaction control), or one of those that names a word
 * that writes or locks rows (INSERT, UPDATE, DELETE, MERGE, FOR SHARE, nextval, setval) outside
 * quotes ('…', "…"; a doubled quote inside just reads as two quoted runs). A
 * guard for read-only sessions, in front of the server's own: a hot standby refuses a write
 * with 25006, which the pool takes for a failover and answers by dropping its connections. */
static bool word_at(const char *p, const char *start, const char *w)
{
	size_t n = 0;
	for (; w[n] != '\0'; n++)
		if (p[n] == '\0' || (p[n] | 0x20) != (w[n] | 0x20))
			return false;
	char before = p > start ? p[-1] : ' ', after = p[n];
	bool ident_before = before == '_' || before == '"' || before == '.' || (before >= '0' && before <= '9') ||
	                    ((before | 0x20) >= 'a' && (before | 0x20) <= 'z');
	bool ident_after = after == '_' || after == '"' || (after >= '0' && after <= '9') ||
	                   ((after | 0x20) >= 'a' && (after | 0x20) <= 'z');
	return !ident_before && !ident_after;
}

static bool may_write(const char *sql)
{
	static const char *const reads[] = { "SELECT", "WITH", "VALUES", "TABLE", "FETCH", "DECLARE", "CLOSE",
	                                     "SHOW", "SET", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT" };
	static const char *const writes[] = { "INSERT", "UPDATE", "DELETE", "MERGE", "SHARE", "nextval", "setval" };
	const char *p = sql;
	while (*p == ' ' || *p == '(' || *p == '\n' || *p == '\t')
		p++;
	bool read = false;
	for (size_t i = 0; i < PGORM__ARRAY_LEN(reads) && !read; i++)
		read = word_at(p, sql, reads[i]);
	if (!read)
		return true;
	for (const char *q = p; *q; q++) {
		if (*q == '\'' || *q == '"') { /* a literal or quoted identifier: not a keyword */
			const char *end = strchr(q + 1, *q);
			if (end == NULL)
				break;
			q = end;
			continue;
		}
		for (size_t i = 0; i < PGORM__ARRAY_LEN(writes); i++)
			if (word_at(q, sql, writes[i]))
				return true;
	}
	return false;
}

static int read_only_check(pgorm_session *s, size_t n, const char *const *sqls, const pgorm_stmt *stmts)
{
	if (!s->read_only)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *sql = sqls != NULL ? sqls[i] : stmts[i].sql;
		if (may_write(sql))
			return pgorm__session_fail(s, PGORM_ESTATE,
			                           "read-only session (routed PGORM_READ) refuses a statement that writes: "
			                           "%.80s; write through a PGORM_WRITE session", sql);
	}
	return 0;
}

int pgorm__session_exec(pgorm_session *s, const char *sql, size_t n, const pgorm_value *p, pgorm_result **out)
{
	int rc = read_only_check(s, 1, &sql, NULL);
	if (rc == 0)
		rc = pgorm__session_begin(s);
	if (rc != 0)
		return rc;
	if (s->begin_pending) { /* BEGIN and the statement in one round trip */
		pgorm_stmt st = { sql, n, p };
		pgorm__tx_wrap tx = { 0 };
		pgorm_result *res = NULL;
		rc = send_batch(s, 1, &st, &res, &tx);
		if (rc == 0 && out != NULL)
			*out = res;
		else
			pgorm_result_free(res);
		if (rc != 0)
			s->err.stmt_index = -1;
		return rc;
	}
	pgorm__conn_types_hint(s->conn, s->reg->type_names, s->reg->ntypes, s->reg);
	uint64_t before = conn_round_trips(s->conn);
	rc = pgorm_conn_exec(s->conn, sql, n, p, out);
	s->stats.round_trips += conn_round_trips(s->conn) - before;
	return rc != 0 ? pgorm__session_conn_fail(s) : 0;
}

int pgorm__session_pipeline(pgorm_session *s, size_t n, const pgorm_stmt *stmts, pgorm_result **res)
{
	return pgorm__session_pipeline_commit(s, n, stmts, res, false);
}

int pgorm__session_pipeline_commit(pgorm_session *s, size_t n, const pgorm_stmt *stmts, pgorm_result **res,
                                   bool commit)
{
	int rc = read_only_check(s, n, NULL, stmts);
	if (rc == 0)
		rc = pgorm__session_begin(s);
	if (rc != 0)
		return rc;
	pgorm__tx_wrap tx = { 0 };
	if (commit)
		tx.post = s->joined ? "RELEASE SAVEPOINT " JOIN_SAVEPOINT_Q : "COMMIT";
	rc = send_batch(s, n, stmts, res, &tx);
	if (commit) {
		s->tx_done = tx.post_done;
		if (rc != 0 && tx.post_done) {
			/* committed, though a result was lost on this side (out of memory): the commit
			 * stands; the flush needs no result after a carried COMMIT (flush.c carry_commit) */
			pgorm__session_log(s, PGORM_LOG_WARNING, "committed; a result was lost: %s", s->err.message);
			pgorm_error_clear(&s->err);
			rc = 0;
		}
		/* In doubt: the COMMIT went out and neither its answer nor a refusal of an earlier
		 * statement (which makes the server skip it) came back. A joined session's RELEASE
		 * is never in doubt: a lost connection takes the caller's transaction with it. */
		s->tx_in_doubt = rc != 0 && !s->joined && tx.post_sent && !tx.post_done && !tx.refused;
	}
	return rc;
}

pgorm__model_info *pgorm__session_info(const pgorm_session *s, const void *obj)
{
	return pgorm__registry_info(s->reg, ((const pgorm_object *)obj)->model);
}

static int check_obj(pgorm_session *s, const void *obj, const char *what, bool free_ok)
{
	int trc = pgorm__session_thread_check(s, what);
	if (trc != 0)
		return trc;
	if (obj == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s: object is NULL", what);
	const pgorm_object *h = obj;
	if (h->model == NULL || h->priv == NULL || pgorm__registry_info(s->reg, h->model) == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s: not an object created by pgorm_object_new or a query", what);
	pgorm_session *owner = pgorm__obj_session(obj);
	if (owner == s)
		return 0;
	if (free_ok && (h->priv->state == PGORM_STATE_DETACHED || (h->priv->state == PGORM_STATE_TRANSIENT && owner == NULL)))
		return 0;
	if (h->priv->state == PGORM_STATE_DETACHED)
		return pgorm__session_fail(s, PGORM_ESTATE,
		                           "%s: the %s object is detached (not in this session): pgorm_session_add or "
		                           "pgorm_session_merge it first", what, h->model->table);
	if (owner == NULL)
		return pgorm__session_fail(s, PGORM_ESTATE,
		                           "%s: the transient %s object is not in this session: pgorm_session_add it first",
		                           what, h->model->table);
	return pgorm__session_fail(s, PGORM_EINVAL, "%s: %s object belongs to another session", what, h->model->table);
}

int pgorm__session_check_obj(pgorm_session *s, const void *obj, const char *what)
{
	return check_obj(s, obj, what, false);
}

int pgorm__session_check_usable(pgorm_session *s, const void *obj, const char *what)
{
	return check_obj(s, obj, what, true);
}

void *pgorm__object_alloc(pgorm_session *s, pgorm__model_info *mi)
{
	char *mem = pgorm__arena_calloc(&s->arena, pgorm__object_size(mi));
	if (mem == NULL) {
		pgorm__session_fail(s, PGORM_ENOMEM, "out of memory allocating a %s object", mi->model->table);
		return NULL;
	}
	return pgorm__object_init(mem, mi, s, s->mem);
}

int pgorm__session_track_reserve(pgorm_session *s, size_t n)
{
	if (s->captracked - s->ntracked >= n)
		return 0;
	/* doubling, or exactly what a large load needs when doubling is not enough */
	size_t cap = s->captracked ? 2 * s->captracked : 256;
	if (cap - s->ntracked < n)
		cap = s->ntracked + n;
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
	st->session = s;
	return 0;
}

void pgorm__session_end_tx(pgorm_session *s)
{
#ifndef NDEBUG
	s->owned = false;
#endif
	if (s->conn != NULL && s->conn->tx_owner == s)
		s->conn->tx_owner = NULL;
	s->in_tx = false;
	s->joined = false;
	s->nest = 0;
	s->begin_pending = s->tx_done = s->tx_in_doubt = false;
	give_back(s);
}

int pgorm__savepoint_name(char *buf, size_t n, unsigned depth)
{
	return snprintf(buf, n, "pgorm_sp_%u", depth) < (int)n ? 0 : -1;
}

void pgorm__session_abort_flush(pgorm_session *s)
{
	pgorm_error keep = s->err;
	bool kept = false;
	if (s->in_tx && s->nest > 0 && s->conn != NULL && pgorm_conn_ok(s->conn)) {
		/* ROLLBACK TO keeps the savepoint open: rollback_nested rolls back to it again */
		kept = pgorm__session_savepoint(s, PGORM__SP_ROLLBACK_TO, s->nest) == 0;
	}
	if (!kept) {
		if (s->in_tx && s->conn != NULL && pgorm_conn_ok(s->conn))
			(void)pgorm__tx_rollback(s);
		if (s->in_tx && s->conn != NULL && s->conn->tx_owner == s)
			s->conn->tx_owner = NULL;
		s->in_tx = false;
		s->nest = 0; /* no savepoint left: rollback_nested reports it, rollback is accepted */
	}
	s->err = keep;
	s->needs_rollback = true;
}

/* ---- lifecycle ---- */

int pgorm__state_init(pgorm_session *s, const pgorm_registry *reg, struct pgorm_pool *pool, pgorm_conn *conn,
                      const pgorm_session_config *cfg)
{
	s->reg = reg;
	s->pool = pool;
	s->conn = pool ? NULL : conn;
	pgorm_session_config def = PGORM_SESSION_CONFIG_INIT;
	s->cfg = cfg ? *cfg : def;
	pgorm_error_clear(&s->err);
	pgorm__arena_init(&s->arena);
	if ((s->mem = pgorm__graph_new(reg, s)) == NULL || pgorm__imap_init(&s->imap, reg) != 0)
		return PGORM_ENOMEM;
	if (s->conn)
		pgorm_conn_set_hook(s->conn, pgorm__session_stmt_hook, s, s->cfg.log_params);
	return 0;
}

void pgorm__state_finish(pgorm_session *s)
{
	if (s->conn != NULL && s->in_tx && pgorm_conn_ok(s->conn))
		(void)pgorm__tx_rollback(s);
	if (s->conn != NULL && s->conn->tx_owner == s)
		s->conn->tx_owner = NULL;
	s->in_tx = false;
	if (s->conn)
		pgorm_conn_set_hook(s->conn, NULL, NULL, false);
	if (s->conn_from_pool)
		pgorm_pool_release(s->pool, s->conn);
	/* objects someone kept (a pgorm_graph handle, another session's adoption) outlive s */
	pgorm__state_detach_all(s);
	pgorm__imap_finish(&s->imap);
	pgorm__free(s->tracked);
	pgorm__free(s->flushed_deleted);
	pgorm__free(s->m2m_ops);
	if (s->mem != NULL)
		pgorm__state_hand_over(s, NULL, NULL);
	else
		pgorm__arena_free_all(&s->arena);
}

/* ---- memory that outlives sessions (state.h) ---- */

struct pgorm_graph *pgorm__graph_new(const pgorm_registry *reg, pgorm_session *live)
{
	struct pgorm_graph *g = pgorm__calloc(1, sizeof *g);
	if (g == NULL)
		return NULL;
	g->refs = 1;
	g->live = live;
	g->reg = reg;
	pgorm__arena_init(&g->arena);
	return g;
}

struct pgorm_graph *pgorm__graph_root(struct pgorm_graph *g)
{
	while (g->up != NULL) {
		if (g->up->up != NULL)
			g->up = g->up->up; /* path halving */
		g = g->up;
	}
	return g;
}

void pgorm__graph_join(struct pgorm_graph *a, struct pgorm_graph *b)
{
	a = pgorm__graph_root(a);
	b = pgorm__graph_root(b);
	if (a == b)
		return;
	/* b's members (b first) go into a's list */
	struct pgorm_graph *tail = b;
	while (tail->next != NULL)
		tail = tail->next;
	tail->next = a->next;
	a->next = b;
	b->up = a;
	a->refs += b->refs;
	b->refs = 0;
	a->nhist_all += b->nhist_all;
	b->nhist_all = 0;
}

void pgorm__graph_release(struct pgorm_graph *g)
{
	if (g == NULL)
		return;
	struct pgorm_graph *r = pgorm__graph_root(g);
	if (--r->refs > 0)
		return;
	/* no session is open on any member (each holds a reference), so every arena is in its graph */
	while (r != NULL) {
		struct pgorm_graph *next = r->next;
		pgorm__free(r->hist);
		pgorm__arena_free_all(&r->arena);
		pgorm__free(r);
		r = next;
	}
}

pgorm_graph *pgorm_graph_retain(pgorm_graph *g)
{
	if (g != NULL)
		pgorm__graph_root(g)->refs++;
	return g;
}

void pgorm_graph_release(pgorm_graph *g) { pgorm__graph_release(g); }

pgorm_graph *pgorm_object_graph(const void *obj)
{
	const pgorm_object *h = obj;
	return h != NULL && h->priv != NULL ? h->priv->graph : NULL;
}

pgorm__arena *pgorm__obj_arena(const void *obj)
{
	struct pgorm_graph *g = pgorm__st(obj)->graph;
	return g->live != NULL ? &g->live->arena : &g->arena;
}

char *pgorm_object_strdup(void *obj, const char *str)
{
	const pgorm_object *h = obj;
	if (h == NULL || h->priv == NULL || h->priv->graph == NULL || str == NULL)
		return NULL;
	return pgorm__arena_strndup(pgorm__obj_arena(obj), str, strlen(str));
}

void pgorm__graph_link(const void *a, const void *b)
{
	if (a != NULL && b != NULL && pgorm__st(a)->graph != pgorm__st(b)->graph)
		pgorm__graph_join(pgorm__st(a)->graph, pgorm__st(b)->graph);
}

int pgorm__graph_reserve(struct pgorm_graph *g, size_t n)
{
	g = pgorm__graph_root(g);
	if (g->caphist - g->nhist >= n)
		return 0;
	size_t cap = g->caphist ? g->caphist : 8;
	while (cap - g->nhist < n)
		cap *= 2;
	pgorm__m2m_op *h = pgorm__reallocarray(g->hist, cap, sizeof *h);
	if (h == NULL)
		return PGORM_ENOMEM;
	g->hist = h;
	g->caphist = cap;
	return 0;
}

int pgorm__graph_record(const pgorm__m2m_op *op)
{
	pgorm__graph_link(op->a, op->b);
	struct pgorm_graph *g = pgorm__graph_root(pgorm__st(op->a)->graph);
	if (pgorm__graph_reserve(g, 1) != 0)
		return PGORM_ENOMEM;
	g->hist[g->nhist++] = *op;
	g->nhist_all++;
	return 0;
}

pgorm_session *pgorm__obj_session(const void *obj)
{
	const pgorm__objstate *st = pgorm__st(obj);
	if (st->session != NULL)
		return st->session;
	return st->graph != NULL ? st->graph->live : NULL;
}

pgorm__model_info *pgorm__obj_info(const void *obj)
{
	const pgorm__objstate *st = pgorm__st(obj);
	const pgorm_registry *reg = st->session ? st->session->reg : st->graph ? st->graph->reg : NULL;
	return reg ? pgorm__registry_info(reg, ((const pgorm_object *)obj)->model) : NULL;
}

int pgorm__adopt(pgorm_session *s, void *obj, const char *what)
{
	pgorm__objstate *st = pgorm__st(obj);
	const pgorm_object *h = obj;
	pgorm__model_info *mi = pgorm__registry_info(s->reg, h->model);
	if (mi == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s: model %s is not in this session's registry", what,
		                           h->model->table);
	if (st->state != PGORM_STATE_TRANSIENT && st->state != PGORM_STATE_DETACHED)
		return pgorm__session_fail(s, PGORM_EINVAL,
		                           "%s: the %s object is attached to another session (expunge it there or close "
		                           "that session first)", what, h->model->table);
	pgorm_session *owner = pgorm__obj_session(obj);
	if (st->state == PGORM_STATE_TRANSIENT && owner != NULL && owner != s)
		return pgorm__session_fail(s, PGORM_EINVAL,
		                           "%s: the transient %s object belongs to another session, which is still open",
		                           what, h->model->table);
	if (st->session != NULL && st->session != s) {
		/* detached from an open session that has not dropped it from its tracked list yet:
		 * it leaves that list now (else that session would flush it too) */
		pgorm_session *o = st->session;
		for (size_t i = 0; i < o->ntracked; i++) {
			if (o->tracked[i] == obj) {
				memmove(&o->tracked[i], &o->tracked[i + 1], (o->ntracked - i - 1) * sizeof *o->tracked);
				o->ntracked--;
				break;
			}
		}
		st->flags &= (uint8_t)~OBJ_TRACKED;
		st->session = NULL;
	}
	if (st->state == PGORM_STATE_DETACHED) {
		void *other = pgorm__imap_find(&s->imap, mi, obj);
		if (other != NULL && other != obj)
			return pgorm__session_fail(s, PGORM_ESTATE,
			                           "%s: this session already holds another %s object with the same primary key "
			                           "(pgorm_session_merge copies into it)", what, h->model->table);
		if (pgorm__session_track_reserve(s, 1) != 0)
			return PGORM_ENOMEM;
		if (other == NULL && pgorm__imap_put(&s->imap, mi, obj) != 0)
			return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		(void)pgorm__session_track(s, obj); /* reserved */
		st->state = PGORM_STATE_PERSISTENT;
		st->flags &= (uint8_t)~(OBJ_NEW_IN_TX | OBJ_PK_ASSIGNED | OBJ_DELETE_DONE);
		st->flags2 &= (uint8_t)~OBJ2_WAS_DELETED;
	}
	pgorm__graph_join(s->mem, st->graph);
	return 0;
}

void pgorm__state_detach_all(pgorm_session *s)
{
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if (st->flags & OBJ_IN_MAP)
			pgorm__imap_del(&s->imap, pgorm__session_info(s, o), o);
		st->state = st->state == PGORM_STATE_PENDING || st->state == PGORM_STATE_TRANSIENT ? PGORM_STATE_TRANSIENT
		                                                                                   : PGORM_STATE_DETACHED;
		st->flags &= (uint8_t)~(OBJ_TRACKED | OBJ_IN_MAP | OBJ_DELETE_DONE);
		st->raise_mask = st->noload_mask = 0;
		st->result_gen = 0;
		st->session = NULL;
	}
	s->ntracked = 0;
	s->nflushed_deleted = 0;
	s->nm2m = 0;
	s->err_obj = NULL;
}

void pgorm__state_hand_over(pgorm_session *s, struct pgorm_graph *fresh, struct pgorm_graph **out)
{
	struct pgorm_graph *g = s->mem;
	g->arena = s->arena;
	g->live = NULL;
	pgorm__arena_init(&s->arena);
	s->mem = fresh;
	if (out != NULL)
		*out = g;
	else
		pgorm__graph_release(g);
}
