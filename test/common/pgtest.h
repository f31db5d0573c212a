/* test/common/pgtest.h — shared helpers for Check suites.
 *
 * Integration tests need a real PostgreSQL: PGORM_TEST_DSN (set by scripts/test through
 * test/pgtmp, or by the user). When it is missing the test fails loudly; it never skips.
 * Each test executable works in its own schema (created by pgtest_schema_setup, an unchecked
 * fixture, and selected for every later connection through PGOPTIONS), so executables can
 * run in parallel against one server.
 */
#ifndef PGTEST_H
#define PGTEST_H

#include <check.h>
#include <pgorm.h>

/* The server's conninfo; ck_abort_msg when PGORM_TEST_DSN is unset. */
const char *pgtest_dsn(void);
/* Unchecked fixtures: create / drop this executable's schema. */
void pgtest_schema_setup(void);
void pgtest_schema_teardown(void);
const char *pgtest_schema(void);
/* Connect (named statement mode unless mode says otherwise); fails the test on error. */
pgorm_conn *pgtest_connect(void);
pgorm_conn *pgtest_connect_mode(pgorm_stmt_mode mode);
/* Run a statement without parameters; fails the test with the server's message on error. */
void pgtest_exec(pgorm_conn *c, const char *sql);
/* First column of the first row as int64 / text (copied into a static buffer). */
int64_t pgtest_int(pgorm_conn *c, const char *sql);
const char *pgtest_text(pgorm_conn *c, const char *sql);
/* Wait (bounded: 60 s, then the test fails) until the server has closed c's socket, e.g. after
 * a server-side timeout ended the session: what it sent before closing (its FATAL error) is
 * still unread. A wait on the event itself instead of a sleep long enough for it. */
void pgtest_wait_server_closed(pgorm_conn *c);

/* A statement log to assert on the SQL issued: install with pgorm_conn_set_hook(c,
 * pgtest_log_hook, &log, false). */
typedef struct pgtest_log {
	size_t n;
	char *sql[4096];
} pgtest_log;
void pgtest_log_hook(void *ctx, const char *sql, size_t nparams, const pgorm_value *params,
                     double elapsed_us, int status);
void pgtest_log_clear(pgtest_log *log);
/* Number of logged statements whose SQL contains needle. */
size_t pgtest_log_count(const pgtest_log *log, const char *needle);

/* The fixture most integration tests share, bound to the test file's own variables so that the
 * test bodies keep their names:
 *
 *     static pgorm_registry *reg;
 *     static pgorm_conn *conn;
 *     static pgorm_session *s;
 *     static pgtest_log log_;
 *     static const pgtest_env env = { .reg = &reg, .conn = &conn, .session = &s, .log = &log_ };
 *
 * setup:    pgtest_env_setup(&env, models, n, "DROP TABLE IF EXISTS t", PGTEST_CREATE_ALL, NULL);
 *           s = pgtest_env_session(&env, NULL, &log_);
 * teardown: pgtest_env_teardown(&env);
 *
 * Parts left NULL are not made (reg is required). */
typedef struct pgtest_env {
	pgorm_registry **reg;     /* the registry of the test's models */
	pgorm_conn **conn;        /* the connection the sessions use */
	pgorm_conn **check;       /* a second connection: sees only committed rows */
	pgorm_session **session;  /* destroyed by pgtest_env_teardown, whichever session it is then */
	pgtest_log *log;          /* cleared by pgtest_env_teardown */
} pgtest_env;

/* In the statement list of pgtest_env_setup: pgorm_registry_create_all / _drop_all on conn. */
extern const char pgtest_create_all[], pgtest_drop_all[];
#define PGTEST_CREATE_ALL pgtest_create_all
#define PGTEST_DROP_ALL pgtest_drop_all

/* Create the registry of models[0..n), connect conn and check (when bound), then run each
 * statement of the NULL-terminated list on conn, in order. Opens no session. Fails the test
 * on any error. */
void pgtest_env_setup(const pgtest_env *env, const pgorm_model *const *models, size_t n, ...);
/* A new session on *env->conn with cfg (NULL: the defaults) whose statements go to log (when
 * not NULL; the log is cleared after the session is created). Fails the test on error. */
pgorm_session *pgtest_env_session(const pgtest_env *env, const pgorm_session_config *cfg, pgtest_log *log);
/* Destroy the session, close the connections, destroy the registry, clear the log (each part
 * that is bound; NULL handles are fine) and set the handles to NULL. */
void pgtest_env_teardown(const pgtest_env *env);

/* Unit tests of the ORM core (they include lib/'s private headers): an object of model m as
 * pgorm_object_new leaves it (zeroed, every column never assigned and NULL, snapshot taken,
 * transient), allocated in arena a the way the session allocates objects, with no session.
 * Fails the test when m is not in reg or memory runs out. */
struct pgorm__arena;
void *pgtest_object_new(struct pgorm__arena *a, const pgorm_registry *reg, const pgorm_model *m);

/* A test case named name in su, in this executable's schema (pgtest_schema_setup as an unchecked
 * fixture), with setup/teardown as checked fixtures (when setup is not NULL) and a timeout in
 * seconds (0: Check's default). */
TCase *pgtest_tcase(Suite *su, const char *name, double timeout, void (*setup)(void), void (*teardown)(void));

/* Run the suite with Check's default runner; prints Check's summary; returns the exit code. */
int pgtest_run(Suite *s);

#endif
