/* lib/exec.h — the connection's private layout, shared with pool.c and the ORM layers. */
#ifndef PGORM_EXEC_PRIV_H
#define PGORM_EXEC_PRIV_H

#include "arena.h"
#include "codec.h"
#include "pgorm/exec.h"
#include "stmt_cache.h"

#include <libpq-fe.h>
#include <sys/types.h>

struct pgorm_conn {
	PGconn *pq;
	pgorm_conn_config cfg;      /* cfg.conninfo points at conninfo below */
	char *conninfo;
	pgorm_error err;
	pgorm__params params;       /* encoding scratch, reused */
	pgorm__stmt_cache cache;
	pgorm_conn_stats stats;
	uint64_t epoch;             /* pipeline batch counter, pins cache entries */
	pid_t pid;                  /* process that opened it: fork detection */
	bool broken;                /* lost, or a failover-class SQLSTATE was seen */
	char lost_state[6];         /* SQLSTATE the server gave when the connection was lost
	                               (25P03, 57P01 …); "" when unknown or not lost */
	void *pool_slot;            /* owned by pool.c when the connection is pooled */
	const void *tx_owner;       /* the session whose transaction is open on it (session.c) */
	struct pgorm__types *types; /* OIDs of named types (custom, enum) on this connection;
	                               NULL until one is needed (see pgorm__conn_type_oid) */
};

struct pgorm_result {
	PGresult *res;
	pgorm__arena arena;         /* decoded arrays and numerics */
};

/* The checks of a pgorm_conn_config made before connecting (stmt_mode, stmt_cache_size);
 * PGORM_EINVAL with the message in *err (optional). The pool runs them at create. */
int pgorm__conn_config_check(const pgorm_conn_config *cfg, pgorm_error *err);
/* Wrap a PGresult (takes ownership; on ENOMEM it is PQclear-ed). */
int pgorm__result_wrap(PGresult *res, pgorm_result **out);
/* Fill e from a failed PGresult (res may be NULL: then from the connection). Returns the code. */
int pgorm__error_from_pq(pgorm_error *e, PGconn *pq, const PGresult *res, const char *sql);
/* A statement that does not go through the cache (BEGIN, COMMIT, DEALLOCATE …). */
int pgorm__conn_simple(pgorm_conn *c, const char *sql);
/* Close the connection and free what it owns, but not the struct's memory (the pool keeps
 * it: see "Stale handles" in pgorm/pool.h); free that with pgorm__free. */
void pgorm__conn_finish(pgorm_conn *c);
/* Move the open connection src to the memory at dst (src is left as raw memory). Everything
 * is copied but the last error: dst->err stays as it is (the pool gives memory whose error is
 * clear, so the next user starts clean without a 1.2 KB write to cold memory). */
void pgorm__conn_move(pgorm_conn *dst, const pgorm_conn *src);
/* In a forked child: free everything without touching the parent's socket. */
void pgorm__conn_forget(pgorm_conn *c);
/* The message for a conninfo libpq cannot parse: libpq's own quotes the text after the place
 * it stopped, which may be the rest of a password, so nothing of the conninfo is quoted. */
#define PGORM__CONNINFO_WITHHELD \
	"invalid conninfo: libpq cannot parse it (its message is not shown: it may quote part of a password)"
/* 0 when libpq can parse conninfo; else PGORM_EINVAL with PGORM__CONNINFO_WITHHELD (or
 * PGORM_ENOMEM) in *err (optional). */
int pgorm__conninfo_check(const char *conninfo, pgorm_error *err);
/* Copy src (a libpq message) into dst (cap bytes, NUL-terminated), stopping at its first
 * newline when first_line, with every password of conninfo replaced by "********": by value
 * (the parsed password) and by position (raw: URI userinfo, ?password= / &password=, every
 * password= keyword; and when the parsed URI shows a password split at a raw '@' or '/', every
 * piece of the userinfo, as written and percent-decoded). The match is made on src before
 * truncation, so a password cut by the end of dst never shows. When conninfo cannot be
 * parsed, or holds more candidates than fit, dst gets PGORM__CONNINFO_WITHHELD instead.
 * Never allocates with pgorm's allocator (libpq's PQconninfoParse does). */
void pgorm__redact_password(char *dst, size_t cap, const char *src, const char *conninfo, bool first_line);
/* The one connect (pgorm_conn_connect and the pool's maintenance thread): check cfg, open
 * cfg->conninfo (connect_timeout: seconds as text, the default when the conninfo has none),
 * adopt. On failure PGORM_ECONN, "connect failed: " and libpq's first line with passwords
 * redacted, and the server's SQLSTATE when it sent one (28P01, 3D000, 57P03 …). */
int pgorm__conn_open(pgorm_conn **out, const pgorm_conn_config *cfg, const char *connect_timeout, pgorm_error *err);
/* Added to a 42P05 "prepared statement … already exists" of a cached statement's PREPARE. */
#define PGORM__NAME_CLASH_ADVICE \
	"behind PgBouncer in transaction mode use PGORM_STMT_UNNAMED, or PgBouncer >= 1.21 with " \
	"max_prepared_statements"
/* Transaction commands sent in the same pipeline as a batch (lib/state.c: BEGIN with the first
 * statements, COMMIT with the last), unnamed and without parameters. The out fields say what
 * is known of post (a COMMIT) when the batch fails: post_sent, it was queued, so the server
 * may have run it; post_done, it completed (the batch then returns 0 even if the connection
 * is lost before the sync; after a client-side failure such as out of memory it returns the
 * error, and the results are lost, but post did complete); refused, the server refused an earlier slot (it sent a SQLSTATE),
 * so post was skipped or never reached. */
typedef struct pgorm__tx_wrap {
	const char *pre, *post;     /* in: NULL for none */
	bool pre_sent;              /* out: pre was queued (nothing is sent before an early error) */
	bool post_sent, post_done, refused;
} pgorm__tx_wrap;
/* pgorm_conn_pipeline with tx->pre before the statements and tx->post after them (tx may be
 * NULL; n may be 0 when tx has a command). Errors: as pgorm_conn_pipeline; a failing pre or
 * post has stmt_index -1. */
int pgorm__conn_pipeline_tx(pgorm_conn *c, size_t n, const pgorm_stmt *stmts, pgorm_result **results,
                            pgorm__tx_wrap *tx);
/* Named types (a custom codec's name, an enum type's): their OIDs are looked up on the
 * connection the first time one is needed, by one query (to_regtype) for every name the
 * connection was told of (pgorm__conn_types_hint) and not resolved yet, and cached on it
 * until it is closed, pgorm_conn_cache_reset, or pgorm__conn_types_reset. Parameters of such
 * types (pgorm__value_type_name) are sent with the OID: pgorm_conn_exec and the pipelines
 * resolve them before anything is sent.
 * pgorm__conn_type_oid: the OID of name (and of its array type, array_oid may be NULL),
 * looked up when not cached. Errors: PGORM_ETYPE naming the type when the server has none
 * of that name, those of pgorm_conn_exec (the lookup's); in c->err. */
int pgorm__conn_type_oid(pgorm_conn *c, const char *name, unsigned *oid, unsigned *array_oid);
/* The cached OID of name, 0 when it is not cached (no SQL). */
unsigned pgorm__conn_type_cached(const pgorm_conn *c, const char *name);
/* Names to look up together with the first one needed (a registry's: tag identifies the
 * list; told again with the same tag, nothing is done). Copied; out of memory is ignored. */
void pgorm__conn_types_hint(pgorm_conn *c, const char *const *names, size_t n, const void *tag);
/* Forget the cached OIDs: all of them, or (fresh_only) those of types whose catalog row may
 * be the current transaction's own, which a ROLLBACK undoes (the pool calls it after its reset
 * ROLLBACK; a session's own rollback leaves them: pgorm_conn_cache_reset then). */
void pgorm__conn_types_reset(pgorm_conn *c, bool fresh_only);
/* Check the connection is usable from this process; sets c->err. */
int pgorm__conn_check(pgorm_conn *c);
/* A unit of work of its own on c, for the library's DDL and diff: a transaction when c is
 * idle, else the savepoint named savepoint inside the caller's transaction (*sp tells which).
 * Errors: those of pgorm__conn_check, PGORM_ESTATE naming who when c is busy or in a failed
 * transaction, those of BEGIN / SAVEPOINT; in c->err. */
int pgorm__conn_unit_open(pgorm_conn *c, const char *savepoint, const char *who, bool *sp);
/* End the unit: commit it (or release the savepoint) when rc == 0, else undo it. Returns rc,
 * or the commit's error; the first error stays in c->err (an undo's own error is dropped). */
int pgorm__conn_unit_close(pgorm_conn *c, const char *savepoint, bool sp, int rc);
/* Undo the unit whatever happened in it, keeping c->err as it was. */
void pgorm__conn_unit_undo(pgorm_conn *c, const char *savepoint, bool sp);

#endif
