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
	pgorm__arena arena;           /* objects and session-owned strings: mem's memory while open */
	struct pgorm_graph *mem;      /* the graph this session allocates into (one reference) */
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
	/* routing (router.c): a PGORM_READ session refuses writes before they are sent; a
	 * PGORM_WRITE one reads the WAL insert position after each COMMIT */
	bool read_only;
	bool track_lsn;
	uint64_t commit_lsn;          /* 0 none yet; UINT64_MAX: a commit whose LSN is unknown */
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
/* As pgorm__session_check_obj, also accepting an object in no session: DETACHED, or TRANSIENT
 * in the memory of a closed session (relationship changes, see session.h). */
int pgorm__session_check_usable(pgorm_session *s, const void *obj, const char *what);
void *pgorm__object_alloc(pgorm_session *s, pgorm__model_info *mi);
void pgorm__session_log(pgorm_session *s, pgorm_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Routing (router.c): hand the session a connection already borrowed from its pool (or NULL),
 * and set its read-only / LSN-tracking flags. */
void pgorm__session_route(pgorm_session *s, pgorm_conn *borrowed, bool read_only, bool track_lsn);

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

/* ---- memory that outlives sessions ----
 * Every object is allocated in a graph: the memory of one session (its arena, moved into the
 * graph when the session closes) plus the graphs joined to it. Graphs are joined (union-find,
 * references counted at the root) when a session adopts an object of another graph: the two
 * memories then live and die together, so no pointer between them can dangle. The session
 * and every pgorm_graph handle hold one reference each on the root.
 *
 * Ownership of an object: st->session is the session it is attached to (PENDING, PERSISTENT,
 * DELETED, and DETACHED ones until the session drops them from its tracked list), else NULL;
 * a TRANSIENT or DETACHED object with no session belongs to the open session whose memory it
 * is in (graph->live), if any (pgorm__obj_session). */
struct pgorm_graph {
	size_t refs;                  /* at the root: sessions and handles on the whole union */
	struct pgorm_graph *up;       /* union-find parent, NULL at the root */
	struct pgorm_graph *next;     /* root: the other members of the union, a list */
	pgorm__arena arena;           /* the memory; while live it is in live->arena */
	pgorm_session *live;          /* the open session that allocates into it, or NULL */
	const pgorm_registry *reg;    /* the models of its objects */
	/* Relationship history of objects in no session (see pgorm__graph_record): kept in the
	 * member where it was recorded; nhist_all, at the root, counts the whole union's. */
	pgorm__m2m_op *hist;
	size_t nhist, caphist, nhist_all;
};

/* A new graph with one reference, for session live (reg its registry). NULL: out of memory. */
struct pgorm_graph *pgorm__graph_new(const pgorm_registry *reg, pgorm_session *live);
struct pgorm_graph *pgorm__graph_root(struct pgorm_graph *g);
/* One memory from now on: the roots of a and b are joined (their references add up). */
void pgorm__graph_join(struct pgorm_graph *a, struct pgorm_graph *b);
/* Drop one reference; at zero, every member's memory is freed. Accepts NULL. */
void pgorm__graph_release(struct pgorm_graph *g);
/* The arena obj's memory grows in: its graph's, or the live session's arena for it. */
pgorm__arena *pgorm__obj_arena(const void *obj);
/* a and b (either may be NULL) now point at each other: their memories are joined. */
void pgorm__graph_link(const void *a, const void *b);
/* Record op in the union of op->a's graph (op->b's is joined to it). A record is either a
 * many-to-many change (rel a many-to-many, add or remove) made while a or b was in no session,
 * flushed once both are in one; or (rel one-to-many or many-to-one, add false) "b left a's
 * relationship rel while a was detached": adding a cascades save-update to b as well, as
 * SQLAlchemy's cascade follows a collection's history. Errors: PGORM_ENOMEM. */
int pgorm__graph_record(const pgorm__m2m_op *op);
/* Make room for n more records in g (at its root). Errors: PGORM_ENOMEM. */
int pgorm__graph_reserve(struct pgorm_graph *g, size_t n);
/* The session obj belongs to (see above), or NULL. */
pgorm_session *pgorm__obj_session(const void *obj);
/* The registry entry of obj's model, from its session or its graph. */
pgorm__model_info *pgorm__obj_info(const void *obj);
/* Take a TRANSIENT or DETACHED object of another memory into s: its graph joins s's; a
 * DETACHED one becomes PERSISTENT again (identity map, tracked) with the changes made to it
 * meanwhile still to flush. Errors: PGORM_EINVAL (attached to another session, model not in
 * s's registry), PGORM_ESTATE (s holds another object with its key), PGORM_ENOMEM. */
int pgorm__adopt(pgorm_session *s, void *obj, const char *what);
/* Every tracked object leaves s: PENDING → TRANSIENT, PERSISTENT / DELETED → DETACHED, no
 * session; the identity map and the queued association changes are emptied. */
void pgorm__state_detach_all(pgorm_session *s);
/* Move s's memory into its graph and hand that graph over (*out, the caller's reference; out
 * NULL: the reference is dropped); s allocates into `fresh` from now on (NULL: s is finishing). */
void pgorm__state_hand_over(pgorm_session *s, struct pgorm_graph *fresh, struct pgorm_graph **out);

#endif
