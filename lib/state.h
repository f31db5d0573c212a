/* lib/state.h — the session's state (lib/state.c): the struct every core module works on,
 * and the helpers below the flush and the loaders (connection, transaction, errors, counters,
 * tracked objects, sending statements). */
#ifndef PGORM_STATE_H
#define PGORM_STATE_H

#include "arena.h"
#include "identity_map.h"
#include "object.h"
#include "pgorm/session.h"
#include "registry.h"
#include "sql.h"

#include <pthread.h>

struct pgorm__loader;

/* A many-to-many association change, applied at flush. */
typedef struct pgorm__m2m_op {
	const pgorm_rel *rel;
	void *a, *b;                  /* a is rel's owner side */
	bool add;
} pgorm__m2m_op;

struct pgorm_session {
	const pgorm_registry *reg;
	struct pgorm_pool *pool;
	pgorm_conn *conn;             /* current connection (from pool, or the caller's) */
	bool conn_from_pool;
	pgorm_session_config cfg;
	pgorm_error err;
	void *err_obj;                /* the object a failed flush statement was writing, if known */
	pgorm__arena arena;           /* objects and session-owned strings */
	pgorm__imap imap;
	void **tracked;               /* pending, persistent and deleted objects, in order */
	size_t ntracked, captracked;
	void **flushed_deleted;       /* DELETE flushed, not yet committed */
	size_t nflushed_deleted, capflushed_deleted;
	pgorm__m2m_op *m2m_ops;
	size_t nm2m, capm2m;
	uint32_t result_gen;          /* bumped per query result (N+1 detector) */
	unsigned nest;                /* savepoint depth */
	bool in_tx;
	bool joined;                  /* in_tx is a savepoint inside the caller's transaction */
	bool needs_rollback;
	bool flushing;
	bool begin_pending;           /* in_tx, its BEGIN / SAVEPOINT not sent yet (state.c) */
	bool commit_asked;            /* pgorm_session_commit is flushing: the last batch may carry COMMIT */
	bool tx_done;                 /* that batch carried the COMMIT / RELEASE and it completed */
	bool tx_in_doubt;             /* it carried COMMIT and the outcome is unknown (connection lost) */
	pgorm_stats stats;
#ifndef NDEBUG
	pthread_t owner;              /* thread inside the current transaction (debug check) */
	bool owned;
#endif
	struct pgorm__loader *ld;     /* the loader's own state (loader.c) */
};

int pgorm__session_fail(pgorm_session *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Copy the connection's error into the session and return its code. */
int pgorm__session_conn_fail(pgorm_session *s);
/* Debug builds: fail when another thread is inside this session's transaction. */
int pgorm__session_thread_check(pgorm_session *s, const char *what);
/* Make sure a connection and a transaction are open. */
int pgorm__session_begin(pgorm_session *s);
/* Every statement a session sends goes through these three (transaction open first, round
 * trips counted from the connection's counter, the connection's error copied on failure).
 * Results as pgorm_conn_exec / pgorm_conn_pipeline. */
int pgorm__session_exec(pgorm_session *s, const char *sql, size_t n, const pgorm_value *p, pgorm_result **out);
int pgorm__session_pipeline(pgorm_session *s, size_t n, const pgorm_stmt *stmts, pgorm_result **res);
/* The same; commit: COMMIT (RELEASE of the joining savepoint) travels after the statements, and
 * s->tx_done / s->tx_in_doubt say what became of it. */
int pgorm__session_pipeline_commit(pgorm_session *s, size_t n, const pgorm_stmt *stmts, pgorm_result **res,
                                   bool commit);
typedef enum pgorm__sp_op { PGORM__SP_OPEN, PGORM__SP_RELEASE, PGORM__SP_ROLLBACK_TO } pgorm__sp_op;
/* SAVEPOINT / RELEASE SAVEPOINT / ROLLBACK TO SAVEPOINT of the nesting depth's savepoint. */
int pgorm__session_savepoint(pgorm_session *s, pgorm__sp_op op, unsigned depth);
/* A flush failed: ROLLBACK TO the innermost savepoint if one is open (the outer transaction
 * stays usable), else (or if that fails) ROLLBACK. Keeps s->err; only a rollback is accepted next. */
void pgorm__session_abort_flush(pgorm_session *s);
void pgorm__session_count(pgorm_session *s, const char *sql);
int pgorm__session_track(pgorm_session *s, void *obj);
/* Make room in the tracked list for n more objects (loads reserve a whole result). */
int pgorm__session_track_reserve(pgorm_session *s, size_t n);
pgorm__model_info *pgorm__session_info(const pgorm_session *s, const void *obj);
/* Check obj belongs to s and is a mapped object; sets the error. */
int pgorm__session_check_obj(pgorm_session *s, const void *obj, const char *what);
void *pgorm__object_alloc(pgorm_session *s, pgorm__model_info *mi);
void pgorm__session_log(pgorm_session *s, pgorm_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Commit / roll back the session's transaction (COMMIT / ROLLBACK, or RELEASE / ROLLBACK TO
 * of the savepoint that joins the caller's transaction). Errors: as pgorm_conn_exec. */
int pgorm__tx_commit(pgorm_session *s);
int pgorm__tx_rollback(pgorm_session *s);
/* The transaction is over: the connection goes back to the pool (when borrowed). */
void pgorm__session_end_tx(pgorm_session *s);
/* "pgorm_sp_<depth>", the name of the savepoint at that nesting depth; -1 when it does not fit. */
int pgorm__savepoint_name(char *buf, size_t n, unsigned depth);
/* The connection hook that counts statements by kind and forwards them to the user's hook. */
void pgorm__session_stmt_hook(void *ctx, const char *sql, size_t n, const pgorm_value *p, double us, int status);
/* Fill a zeroed session: registry, pool or connection (the statement hook is installed on
 * it), configuration (cfg NULL: defaults), arena, identity map. Errors: PGORM_ENOMEM. */
int pgorm__state_init(pgorm_session *s, const pgorm_registry *reg, struct pgorm_pool *pool, pgorm_conn *conn,
                      const pgorm_session_config *cfg);
/* Roll back an open transaction, give the connection back, free what init allocated. */
void pgorm__state_finish(pgorm_session *s);
/* Fill a zeroed session: registry, pool or connection (the statement hook is installed on
 * it), configuration (cfg NULL: defaults), arena, identity map. Errors: PGORM_ENOMEM. */
int pgorm__state_init(pgorm_session *s, const pgorm_registry *reg, struct pgorm_pool *pool, pgorm_conn *conn,
                      const pgorm_session_config *cfg);
/* Roll back an open transaction, give the connection back, free what init allocated. */
void pgorm__state_finish(pgorm_session *s);

#endif
