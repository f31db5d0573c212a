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

/* Run the suite with Check's default runner; prints Check's summary; returns the exit code. */
int pgtest_run(Suite *s);

#endif
