/* lib/session.h — the session's private layout, shared by session.c, relationship.c,
 * flush.c, loader.c and query.c. */
#ifndef PGORM_SESSION_PRIV_H
#define PGORM_SESSION_PRIV_H

#include "arena.h"
#include "object.h"
#include "pgorm/session.h"
#include "registry.h"
#include "sql.h"

#include <pthread.h>

/* Identity map: open addressing over object pointers, keyed by (model, primary key). */
typedef struct pgorm__imap {
	uint64_t *slots;              /* tagged object pointers, 0 = empty (identity_map.c) */
	size_t cap, count;
	bool tagged;
} pgorm__imap;

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
	pgorm_stats stats;
#ifndef NDEBUG
	pthread_t owner;              /* thread inside the current transaction (debug check) */
	bool owned;
#endif
	const char **load_sql;        /* loader statement per relationship (see loader.c) */
	void *probe;                  /* scratch object for identity lookups */
	size_t probe_size;
	uint64_t nplus1_counts[PGORM__MAX_RELS]; /* lazy loads per rel index in the current result */
	const pgorm_rel *nplus1_rel[PGORM__MAX_RELS];
	uint32_t nplus1_gen[PGORM__MAX_RELS];
};

/* ---- session.c ---- */
int pgorm__session_fail(pgorm_session *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Copy the connection's error into the session and return its code. */
int pgorm__session_conn_fail(pgorm_session *s);
/* Debug builds: fail when another thread is inside this session's transaction. */
int pgorm__session_thread_check(pgorm_session *s, const char *what);
/* Make sure a connection and a transaction are open. */
int pgorm__session_begin(pgorm_session *s);
/* Run a statement and count it by kind; results as pgorm_conn_exec. */
int pgorm__session_exec(pgorm_session *s, const char *sql, size_t n, const pgorm_value *p, pgorm_result **out);
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
/* Cascade save-update from obj (already pending/persistent). */
int pgorm__cascade_add(pgorm_session *s, void *obj);
int pgorm__make_pending(pgorm_session *s, void *obj);
/* A session that reads inside s's transaction with objects of its own (its own arena, identity
 * map and tracked list): streaming loads each batch there, so the batch's memory can go
 * without touching the objects of s. Its statements are counted in s. */
int pgorm__session_reader(pgorm_session *s, pgorm_session **out);
/* Fold r's counters (and, when rc != 0, its error) into s and free r with its objects. */
void pgorm__session_reader_end(pgorm_session *s, pgorm_session *r, int rc);
/* Expunge obj and, iteratively, what its expunge cascade reaches (pending ones become transient). */
int pgorm__expunge(pgorm_session *s, void *obj);

/* ---- identity_map.c ---- */
int pgorm__imap_init(pgorm__imap *m);
void pgorm__imap_finish(pgorm__imap *m);
void *pgorm__imap_find(const pgorm__imap *m, const pgorm__model_info *mi, const void *probe);
int pgorm__imap_put(pgorm__imap *m, const pgorm__model_info *mi, void *obj);
/* The same, with the hash pgorm__imap_find_h gave for the same key (no second hashing). */
void *pgorm__imap_find_h(const pgorm__imap *m, const pgorm__model_info *mi, const void *probe, uint64_t *hash);
int pgorm__imap_put_h(pgorm__imap *m, void *obj, uint64_t hash);
/* Start fetching the slot of a single int8 key (the loader does it one row ahead). */
void pgorm__imap_prefetch_int(const pgorm__imap *m, const pgorm__model_info *mi, int64_t key);
/* Make room for `more` insertions without rehashing in between. */
int pgorm__imap_reserve(pgorm__imap *m, size_t more);
void pgorm__imap_del(pgorm__imap *m, const pgorm__model_info *mi, void *obj);
/* True when two objects of model mi have the same primary key values. */
bool pgorm__pk_equal(const pgorm__model_info *mi, const void *a, const void *b);

/* ---- relationship.c ---- */
/* Read / write the to-one pointer of r on obj (field or header slot). */
void *pgorm__link_get(void *obj, const pgorm_rel *r);
void pgorm__link_put(void *obj, const pgorm_rel *r, void *target);
pgorm_collection *pgorm__coll(void *obj, const pgorm_rel *r);
/* The objects r reaches from obj, as an array: the collection's items, or *single (the to-one
 * target, when set) — *n is 0, 1 or the collection length. */
void **pgorm__rel_items(void *obj, const pgorm_rel *r, void **single, size_t *n);
/* Append without side effects (loading); false on out of memory. */
bool pgorm__coll_push(pgorm_session *s, pgorm_collection *c, void *item);
bool pgorm__coll_remove_item(pgorm_collection *c, void *item);
bool pgorm__coll_contains(const pgorm_collection *c, const void *item);
/* Merge changes queued while r of obj was not loaded. */
int pgorm__coll_merge_pending(pgorm_session *s, void *obj, const pgorm_rel *r);
/* Remove obj from every loaded collection / to-one pointer that refers to it (at commit). */
void pgorm__unlink_everywhere(pgorm_session *s, void *obj);
int pgorm__m2m_record(pgorm_session *s, const pgorm_rel *r, void *a, void *b, bool add);

/* ---- loader.c ---- */
/* Load every row of res (columns in model order from col0) into objects of mi; out (may be
 * NULL) receives them in row order. Rows already in the identity map keep their state unless
 * overwrite or they are expired. */
int pgorm__load_rows(pgorm_session *s, pgorm__model_info *mi, pgorm_result *res, size_t col0,
                     bool overwrite, void ***out, size_t *nout);
/* As pgorm__load_rows; with aligned, out[row] is NULL for rows whose key is NULL. */
int pgorm__load_rows_ex(pgorm_session *s, pgorm__model_info *mi, pgorm_result *res, size_t col0,
                        bool overwrite, bool aligned, void ***out, size_t *nout);
/* Put the primary key found in the first columns of row (a RETURNING of the key) into the
 * session's probe object, for identity-map lookups. */
void pgorm__probe_from_key_row(pgorm_session *s, pgorm__model_info *mi, pgorm_result *res, size_t row);
/* Load r for every object in objs (selectin); marks them loaded. */
int pgorm__load_selectin(pgorm_session *s, const pgorm_rel *r, void **objs, size_t n, bool overwrite);
/* Several relationships at once (siblings), their statements in one pipeline. */
int pgorm__load_selectin_many(pgorm_session *s, const pgorm_rel *const *rels, void ***objs, const size_t *n,
                              size_t nrels, bool overwrite);
/* Lazy load of one relationship of one object. */
int pgorm__load_lazy(pgorm_session *s, const pgorm_rel *r, void *obj);

/* ---- flush.c ---- */
int pgorm__flush(pgorm_session *s, bool dry_run, char **plan);

#endif
