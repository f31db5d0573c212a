/* pgorm/error.h — status codes and the error object.
 *
 * Every fallible call returns 0 on success or a negative PGORM_E* code. Details land in a
 * pgorm_error: fixed-size buffers, so reporting an error never allocates. Server errors keep
 * their SQLSTATE and PG_DIAG_* fields.
 *
 * What an error may contain: never a password (connect errors are redacted, whatever form
 * the conninfo gave it in), and never a bind parameter value added by pgorm. But message,
 * detail and hint are copied from the server as they are, and the server puts row values in
 * some of them (a unique violation's detail reads "Key (email)=(a@b.c) already exists"; a
 * check violation's detail quotes the failing row); statement holds the SQL text as given,
 * so a caller that writes values into its own SQL (pgorm_conn_exec, pgorm_query_where,
 * pgorm_session_query_sql) finds them there. Treat detail and statement as data when logging.
 */
#ifndef PGORM_ERROR_H
#define PGORM_ERROR_H

#include "common.h"

PGORM_BEGIN_DECLS

/* Append-only: codes are part of the ABI. */
#define PGORM_ERRNO_MAP(XX)                                                        \
	XX(EINVAL, -1, "invalid argument")                                         \
	XX(ENOMEM, -2, "out of memory")                                            \
	XX(ECONN, -3, "connection failed or lost")                                 \
	XX(ESERVER, -4, "server error")                                            \
	XX(ECONSTRAINT, -5, "constraint violation")                                \
	XX(ESERIALIZATION, -6, "serialization failure or deadlock")                \
	XX(ETYPE, -7, "type mismatch")                                             \
	XX(ERANGE, -8, "value out of range")                                       \
	XX(ETOOBIG, -9, "value too large")                                         \
	XX(EENCODING, -10, "invalid text encoding")                                \
	XX(ENOTFOUND, -11, "not found")                                            \
	XX(EMULTIPLE, -12, "more than one row")                                    \
	XX(EMODEL, -13, "invalid model")                                           \
	XX(ESTATE, -14, "operation not allowed in this state")                     \
	XX(ETIMEDOUT, -15, "timed out")                                            \
	XX(ECLOSED, -16, "closed")                                                 \
	XX(ESTALE, -17, "stale data: row changed or deleted concurrently")         \
	XX(EABORTED, -18, "statement skipped: an earlier statement in the batch failed") \
	XX(EPOOL, -19, "pool misuse")                                              \
	XX(ERAISE, -20, "load forbidden by raise loader")                          \
	XX(ENPLUSONE, -21, "N+1 lazy-load pattern detected")                       \
	XX(EFORK, -22, "handle used in a forked child")                            \
	XX(EUNSUPPORTED, -23, "unsupported")                                       \
	XX(ECOMMIT_UNKNOWN, -24, "commit outcome unknown: connection lost after COMMIT was sent")

typedef enum pgorm_errno {
	PGORM_OK = 0,
#define PGORM__ERRNO_ENUM(name, val, msg) PGORM_##name = (val),
	PGORM_ERRNO_MAP(PGORM__ERRNO_ENUM)
#undef PGORM__ERRNO_ENUM
} pgorm_errno;

typedef struct pgorm_error {
	int code;               /* PGORM_E*; 0 when no error */
	char sqlstate[6];       /* "" when not a server error */
	char severity[16];      /* ERROR, FATAL, ... */
	char message[256];      /* primary message */
	char detail[256];       /* the server's DETAIL: may quote row values (see above) */
	char hint[256];
	char constraint[64];
	char table[64];
	char column[64];
	char statement[256];    /* the SQL that failed (truncated); bind parameter values are
	                           never in it, literals the caller wrote into the SQL are */
	long stmt_index;        /* index in a pipeline batch, -1 when not applicable */
} pgorm_error;

/** Static description of a code ("out of memory"); "unknown error" for unknown codes.
 * Ownership: static storage. Thread-safe. */
PGORM_API const char *pgorm_strerror(int code);
/** Symbolic name of a code ("PGORM_ENOMEM"). Ownership: static storage. Thread-safe. */
PGORM_API const char *pgorm_err_name(int code);
/** Reset *e to "no error". Accepts NULL. Thread-safe. */
PGORM_API void pgorm_error_clear(pgorm_error *e);
/** True when the error means the connection is unusable (lost, terminated, failover class,
 * PGORM_ECOMMIT_UNKNOWN). */
PGORM_API bool pgorm_error_is_connection(const pgorm_error *e);

PGORM_END_DECLS

#endif
