/* pgorm/testing.h — support for your own integration tests against a real PostgreSQL.
 *
 * A pgorm_testdb is one connection working in a fresh schema of its own: opening it creates
 * the schema (a unique name: <prefix>_<pid>_<n>), sets the connection's search_path to it,
 * creates the registry's tables there (pgorm_registry_create_all, committed) and begins the
 * outer transaction. Sessions from pgorm_testdb_session run on that connection and join the
 * outer transaction (each session's transaction is a SAVEPOINT, see pgorm_session_create):
 * the code under test may commit and roll back as it likes, and pgorm_testdb_rollback or
 * pgorm_testdb_close throws all of it away. Closing drops the schema.
 *
 * Two ways to use it (README "Test support"; examples/testing/ has a Check suite):
 *  - a schema per test: open in the test's setup, close in its teardown;
 *  - a schema per suite, a rollback per test: open once, pgorm_testdb_rollback after each test.
 * Code that takes its own connections (a pool) can reach the schema with
 * pgorm_testdb_conninfo; what it commits is not rolled back, but goes with the schema.
 *
 * Check forks each test by default: open the testdb in a checked fixture (it runs in the child).
 * Thread safety: as a connection (one thread at a time).
 */
#ifndef PGORM_TESTING_H
#define PGORM_TESTING_H

#include "common.h"
#include "error.h"
#include "exec.h"
#include "model.h"
#include "session.h"

PGORM_BEGIN_DECLS

typedef struct pgorm_testdb pgorm_testdb;

/** Connect to conninfo (NULL: PGORM_TEST_DSN, else libpq's defaults), create a fresh schema
 * named <prefix>_<pid>_<n> (prefix NULL: "pgorm_test"), set search_path to it, create reg's
 * tables (reg may be NULL: none) and BEGIN the outer transaction.
 * Ownership: *out belongs to the caller (pgorm_testdb_close).
 * Errors: PGORM_EINVAL (out NULL, prefix longer than 40 bytes), PGORM_ECONN, PGORM_ENOMEM,
 * those of pgorm_registry_create_all; message in *err (optional). Nothing is left behind. */
PGORM_API int pgorm_testdb_open(pgorm_testdb **out, const char *conninfo, const pgorm_registry *reg,
                                const char *prefix, pgorm_error *err);
/** Roll back the outer transaction (whatever the sessions did), then begin a new one.
 * Sessions created before must be destroyed first. Errors: as pgorm_conn_exec. */
PGORM_API int pgorm_testdb_rollback(pgorm_testdb *t);
/** Roll back, drop the schema (CASCADE), close the connection, free. Accepts NULL.
 * Sessions on it must be destroyed first. */
PGORM_API void pgorm_testdb_close(pgorm_testdb *t);
/** A session on the testdb's connection, joined to the outer transaction. cfg may be NULL.
 * Ownership: *out belongs to the caller (pgorm_session_destroy), before pgorm_testdb_close.
 * Errors: those of pgorm_session_create (message in pgorm_conn_error of the connection). */
PGORM_API int pgorm_testdb_session(pgorm_testdb *t, const pgorm_registry *reg, const pgorm_session_config *cfg,
                                   pgorm_session **out);
/** The connection (borrowed): inside the outer transaction, search_path at the schema. */
PGORM_API pgorm_conn *pgorm_testdb_conn(pgorm_testdb *t);
/** The schema's name (borrowed, valid until close). */
PGORM_API const char *pgorm_testdb_schema(const pgorm_testdb *t);
/** conninfo plus options='-c search_path=<schema>', for code that opens its own connections
 * (pgorm_pool_create): they see what is committed in the schema, not the outer transaction.
 * Borrowed, valid until close. */
PGORM_API const char *pgorm_testdb_conninfo(const pgorm_testdb *t);

PGORM_END_DECLS

#endif
