/* examples/example.h — the little bit of plumbing the relationship examples share: connect,
 * work in a private schema, print each SQL statement the session sends (with its bind
 * parameters), print table contents, stop on the first error.
 *
 * Conninfo: argv[1] if given, else PGORM_TEST_DSN (scripts/demo sets it to a throwaway
 * cluster), else libpq's defaults and the PG* environment variables. The output contains no
 * timestamps, no durations and no connection details, so a run against a fresh schema always
 * prints the same text (test/integration/test_examples.c compares it with
 * examples/expected/<name>.txt).
 */
#ifndef PGORM_EXAMPLE_H
#define PGORM_EXAMPLE_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgorm.h>

static const char *ex_name = "example";
static bool ex_quiet;          /* true: the statement hook prints nothing */

static void ex_die(const char *what, int rc, const pgorm_error *e)
{
	fflush(stdout);
	fprintf(stderr, "%s: %s failed: %s (%s)%s%s\n", ex_name, what, pgorm_err_name(rc),
	        e && e->message[0] ? e->message : pgorm_strerror(rc),
	        e && e->sqlstate[0] ? " SQLSTATE " : "", e && e->sqlstate[0] ? e->sqlstate : "");
	exit(1);
}

/* Stop unless rc is 0 (session calls). */
#define EX_TRY(s, what, expr)                                                                  \
	do {                                                                                   \
		int rc_ = (expr);                                                              \
		if (rc_ != 0)                                                                  \
			ex_die((what), rc_, pgorm_session_error(s));                           \
	} while (0)

/* Stop unless rc is 0 (connection calls). */
#define EX_TRY_CONN(c, what, expr)                                                             \
	do {                                                                                   \
		int rc_ = (expr);                                                              \
		if (rc_ != 0)                                                                  \
			ex_die((what), rc_, pgorm_conn_error(c));                              \
	} while (0)

static void ex_print_value(const pgorm_value *v)
{
	if (v->is_null) {
		fputs("NULL", stdout);
		return;
	}
	switch (v->type) {
	case PGORM_TYPE_BOOL: fputs(v->u.b ? "true" : "false", stdout); break;
	case PGORM_TYPE_INT2: printf("%d", v->u.i16); break;
	case PGORM_TYPE_INT4: printf("%" PRId32, v->u.i32); break;
	case PGORM_TYPE_INT8: printf("%" PRId64, v->u.i64); break;
	case PGORM_TYPE_TEXT: case PGORM_TYPE_ENUM: printf("'%.*s'", (int)v->u.str.len, v->u.str.ptr); break;
	case PGORM_TYPE_CENUM: printf("'%s'", v->u.cenum.labels[v->u.cenum.value]); break;
	case PGORM_TYPE_INT8_ARRAY:
		putchar('{');
		for (size_t i = 0; i < v->u.i64s.n; i++)
			printf("%s%" PRId64, i ? "," : "", v->u.i64s.items[i]);
		putchar('}');
		break;
	case PGORM_TYPE_TEXT_ARRAY:
		putchar('{');
		for (size_t i = 0; i < v->u.strs.n; i++)
			printf("%s%s", i ? "," : "", v->u.strs.items[i] ? v->u.strs.items[i] : "NULL");
		putchar('}');
		break;
	case PGORM_TYPE_INT4_ARRAY:
		putchar('{');
		for (size_t i = 0; i < v->u.arr.n; i++)
			if (v->u.arr.nulls && v->u.arr.nulls[i])
				printf("%sNULL", i ? "," : "");
			else
				printf("%s%" PRId32, i ? "," : "", ((const int32_t *)v->u.arr.items)[i]);
		putchar('}');
		break;
	default: printf("<%s>", pgorm_type_name(v->type)); break;
	}
}

/* The statement hook (pgorm_session_config.stmt_hook, with log_params): one line per
 * statement, its parameters on the next line. Failed statements are marked. */
static void ex_hook(void *ctx, const char *sql, size_t n, const pgorm_value *p, double us, int status)
{
	(void)ctx;
	(void)us;   /* durations would make the output differ between runs */
	if (ex_quiet)
		return;
	printf("  SQL> %s", sql);
	if (status != 0)
		printf("   -- %s", pgorm_err_name(status));
	putchar('\n');
	if (n > 0 && p != NULL) {
		fputs("       params:", stdout);
		for (size_t i = 0; i < n; i++) {
			printf(" $%zu=", i + 1);
			ex_print_value(&p[i]);
		}
		putchar('\n');
	}
}

static void ex_step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ex_step(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("\n-- ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

/* Connect, then start over in schema `schema` (dropped first, so reruns work) and make it the
 * search_path; tables are created there by pgorm_registry_create_all. */
static pgorm_conn *ex_connect(int argc, char **argv, const char *name, const char *schema)
{
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	pgorm_error err;
	pgorm_conn *c = NULL;
	const char *dsn = argc > 1 ? argv[1] : getenv("PGORM_TEST_DSN");
	char sql[256];

	ex_name = name;
	cfg.conninfo = dsn ? dsn : "";
	if (pgorm_conn_connect(&c, &cfg, &err) < 0)
		ex_die("connect", err.code, &err);
	EX_TRY_CONN(c, "set", pgorm_conn_exec(c, "SET client_min_messages = warning", 0, NULL, NULL));
	snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
	EX_TRY_CONN(c, "drop schema", pgorm_conn_exec(c, sql, 0, NULL, NULL));
	snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
	EX_TRY_CONN(c, "create schema", pgorm_conn_exec(c, sql, 0, NULL, NULL));
	snprintf(sql, sizeof sql, "SET search_path = %s", schema);
	EX_TRY_CONN(c, "set search_path", pgorm_conn_exec(c, sql, 0, NULL, NULL));
	return c;
}

/* Print the rows of a query (integer and text columns), psql-style, without logging it. */
static void ex_show(pgorm_conn *c, const char *title, const char *sql)
{
	pgorm_result *r = NULL;
	bool quiet = ex_quiet;
	ex_quiet = true;
	EX_TRY_CONN(c, title, pgorm_conn_exec(c, sql, 0, NULL, &r));
	ex_quiet = quiet;
	size_t nc = pgorm_result_cols(r), nr = pgorm_result_rows(r);
	printf("  %s:", title);
	for (size_t j = 0; j < nc; j++)
		printf("%s%s", j ? " | " : " ", pgorm_result_col_name(r, j));
	putchar('\n');
	for (size_t i = 0; i < nr; i++) {
		fputs("   ", stdout);
		for (size_t j = 0; j < nc; j++) {
			pgorm_value v;
			fputs(j ? " | " : " ", stdout);
			if (pgorm_result_get(r, i, j, pgorm_result_col_type(r, j), &v, NULL) < 0)
				fputs("?", stdout);
			else if (v.type == PGORM_TYPE_TEXT && !v.is_null)
				printf("%.*s", (int)v.u.str.len, v.u.str.ptr);
			else
				ex_print_value(&v);
		}
		putchar('\n');
	}
	printf("  (%zu row%s)\n", nr, nr == 1 ? "" : "s");
	pgorm_result_free(r);
}

/* A session on connection c that prints every statement with its parameters. */
static pgorm_session *ex_session(const pgorm_registry *reg, pgorm_conn *c)
{
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	pgorm_session *s = NULL;
	pgorm_error err;
	cfg.stmt_hook = ex_hook;
	cfg.log_params = true;
	if (pgorm_session_create(&s, reg, NULL, c, &cfg, &err) != 0)
		ex_die("session", err.code, &err);
	return s;
}

/* Build the registry (validating the descriptors) and create the tables in FK order. */
static pgorm_registry *ex_registry(pgorm_conn *c, const pgorm_model *const *models, size_t n)
{
	pgorm_registry *reg = NULL;
	pgorm_error err;
	if (pgorm_registry_create(&reg, models, n, &err) != 0)
		ex_die("registry", err.code, &err);
	EX_TRY_CONN(c, "create tables", pgorm_registry_create_all(reg, c, false));
	return reg;
}

#endif
