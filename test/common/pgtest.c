/* test/common/pgtest.c — see pgtest.h. */
#include "pgtest.h"
#include "object.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char schema[64];
static char textbuf[1024];

const char *pgtest_dsn(void)
{
	const char *dsn = getenv("PGORM_TEST_DSN");
	if (dsn == NULL || *dsn == '\0')
		ck_abort_msg("PGORM_TEST_DSN is not set: integration tests need a real PostgreSQL "
		             "(run scripts/test, or test/pgtmp run meson test ...)");
	return dsn;
}

const char *pgtest_schema(void) { return schema; }

static pgorm_conn *connect_raw(pgorm_stmt_mode mode, pgorm_error *err)
{
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = pgtest_dsn();
	cfg.stmt_mode = mode;
	pgorm_conn *c = NULL;
	pgorm_conn_connect(&c, &cfg, err);
	return c;
}

pgorm_conn *pgtest_connect_mode(pgorm_stmt_mode mode)
{
	pgorm_error err;
	pgorm_conn *c = connect_raw(mode, &err);
	ck_assert_msg(c != NULL, "connect failed: %s", err.message);
	return c;
}

pgorm_conn *pgtest_connect(void) { return pgtest_connect_mode(PGORM_STMT_NAMED); }

void pgtest_exec(pgorm_conn *c, const char *sql)
{
	int rc = pgorm_conn_exec(c, sql, 0, NULL, NULL);
	ck_assert_msg(rc == 0, "%s: %s (%s)", sql, pgorm_conn_error(c)->message, pgorm_conn_error(c)->sqlstate);
}

void pgtest_wait_server_closed(pgorm_conn *c)
{
	int fd = PQsocket(pgorm_conn_pq(c));
	ck_assert_int_ge(fd, 0);
	/* POLLRDHUP: the peer closed, whatever unread data (the FATAL message) is before it;
	 * only POLLRDHUP is asked for, so unread data does not wake the poll */
	for (int i = 0; i < 600; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };
		if (poll(&pfd, 1, 100) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0)
			return;
	}
	ck_abort_msg("the server did not close the connection within 60 s");
}

int64_t pgtest_int(pgorm_conn *c, const char *sql)
{
	pgorm_result *r = NULL;
	int rc = pgorm_conn_exec(c, sql, 0, NULL, &r);
	ck_assert_msg(rc == 0, "%s: %s", sql, pgorm_conn_error(c)->message);
	ck_assert_msg(pgorm_result_rows(r) >= 1, "%s: no row", sql);
	int64_t v = 0;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &v), 0);
	pgorm_result_free(r);
	return v;
}

const char *pgtest_text(pgorm_conn *c, const char *sql)
{
	pgorm_result *r = NULL;
	int rc = pgorm_conn_exec(c, sql, 0, NULL, &r);
	ck_assert_msg(rc == 0, "%s: %s", sql, pgorm_conn_error(c)->message);
	const char *t = pgorm_result_rows(r) ? pgorm_result_text(r, 0, 0) : NULL;
	snprintf(textbuf, sizeof textbuf, "%s", t ? t : "(null)");
	pgorm_result_free(r);
	return textbuf;
}

void pgtest_schema_setup(void)
{
	const char *exe = getenv("PGTEST_NAME");
	snprintf(schema, sizeof schema, "pgt_%s_%d", exe ? exe : "t", (int)getpid());
	pgorm_error err;
	pgorm_conn *c = connect_raw(PGORM_STMT_UNNAMED, &err);
	if (c == NULL) {
		fprintf(stderr, "pgtest: cannot connect to PGORM_TEST_DSN: %s\n", err.message);
		exit(1);
	}
	char drop[96], create[96];
	snprintf(drop, sizeof drop, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", schema);
	snprintf(create, sizeof create, "CREATE SCHEMA \"%s\"", schema);
	if (pgorm_conn_exec(c, drop, 0, NULL, NULL) != 0 || pgorm_conn_exec(c, create, 0, NULL, NULL) != 0) {
		fprintf(stderr, "pgtest: cannot create schema %s: %s\n", schema, pgorm_conn_error(c)->message);
		exit(1);
	}
	pgorm_conn_close(c);
	char opt[128];
	snprintf(opt, sizeof opt, "-csearch_path=%s,public -cclient_min_messages=warning", schema);
	setenv("PGOPTIONS", opt, 1);
}

void pgtest_schema_teardown(void)
{
	pgorm_error err;
	pgorm_conn *c = connect_raw(PGORM_STMT_UNNAMED, &err);
	if (c == NULL)
		return;
	char sql[128];
	snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", schema);
	pgorm_conn_exec(c, sql, 0, NULL, NULL);
	pgorm_conn_close(c);
}

void pgtest_log_hook(void *ctx, const char *sql, size_t nparams, const pgorm_value *params,
                     double elapsed_us, int status)
{
	(void)nparams; (void)params; (void)elapsed_us; (void)status;
	pgtest_log *log = ctx;
	if (log->n < sizeof log->sql / sizeof log->sql[0])
		log->sql[log->n++] = strdup(sql);
}

void pgtest_log_clear(pgtest_log *log)
{
	for (size_t i = 0; i < log->n && i < sizeof log->sql / sizeof log->sql[0]; i++)
		free(log->sql[i]);
	log->n = 0;
}

size_t pgtest_log_count(const pgtest_log *log, const char *needle)
{
	size_t k = 0;
	for (size_t i = 0; i < log->n; i++)
		if (strstr(log->sql[i], needle) != NULL)
			k++;
	return k;
}

const char pgtest_create_all[] = "(pgorm_registry_create_all)";
const char pgtest_drop_all[] = "(pgorm_registry_drop_all)";

void pgtest_env_setup(const pgtest_env *env, const pgorm_model *const *models, size_t n, ...)
{
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(env->reg, models, n, &err) == 0, "registry: %s", err.message);
	if (env->conn)
		*env->conn = pgtest_connect();
	if (env->check)
		*env->check = pgtest_connect();
	va_list ap;
	va_start(ap, n);
	for (const char *sql; (sql = va_arg(ap, const char *)) != NULL;) {
		ck_assert_msg(env->conn != NULL, "pgtest_env_setup: statements need a connection");
		pgorm_conn *c = *env->conn;
		if (sql == pgtest_create_all)
			ck_assert_msg(pgorm_registry_create_all(*env->reg, c, false) == 0, "create_all: %s",
			              pgorm_conn_error(c)->message);
		else if (sql == pgtest_drop_all)
			ck_assert_msg(pgorm_registry_drop_all(*env->reg, c) == 0, "drop_all: %s",
			              pgorm_conn_error(c)->message);
		else
			pgtest_exec(c, sql);
	}
	va_end(ap);
}

pgorm_session *pgtest_env_session(const pgtest_env *env, const pgorm_session_config *cfg, pgtest_log *log)
{
	pgorm_session_config c = PGORM_SESSION_CONFIG_INIT;
	if (cfg)
		c = *cfg;
	if (log) {
		c.stmt_hook = pgtest_log_hook;
		c.stmt_hook_ctx = log;
	}
	pgorm_session *s = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_session_create(&s, *env->reg, NULL, *env->conn, &c, &err) == 0, "session: %s",
	              err.message);
	if (log)
		pgtest_log_clear(log);
	return s;
}

void pgtest_env_teardown(const pgtest_env *env)
{
	if (env->session) {
		pgorm_session_destroy(*env->session);
		*env->session = NULL;
	}
	if (env->check) {
		pgorm_conn_close(*env->check);
		*env->check = NULL;
	}
	if (env->conn) {
		pgorm_conn_close(*env->conn);
		*env->conn = NULL;
	}
	pgorm_registry_destroy(*env->reg);
	*env->reg = NULL;
	if (env->log)
		pgtest_log_clear(env->log);
}

void *pgtest_object_new(struct pgorm__arena *a, const pgorm_registry *reg, const pgorm_model *m)
{
	/* pgorm__object_alloc and pgorm_object_new, without the session */
	const pgorm__model_info *mi = pgorm__registry_info(reg, m);
	ck_assert_msg(mi != NULL, "model %s is not in the registry", m->table);
	char *mem = pgorm__arena_calloc(a, pgorm__object_size(mi));
	ck_assert_ptr_nonnull(mem);
	pgorm_object *h = (pgorm_object *)(void *)mem;
	h->model = m;
	h->priv = (pgorm__objstate *)(void *)(mem + pgorm__state_offset(mi));
	h->priv->nulls = mi->ncols < 64 ? (1ULL << mi->ncols) - 1 : UINT64_MAX;
	pgorm__snapshot(mem, mi);
	h->priv->loaded = UINT32_MAX;
	h->priv->state = PGORM_STATE_TRANSIENT;
	return mem;
}

TCase *pgtest_tcase(Suite *su, const char *name, double timeout, void (*setup)(void), void (*teardown)(void))
{
	TCase *tc = tcase_create(name);
	tcase_add_unchecked_fixture(tc, pgtest_schema_setup, pgtest_schema_teardown);
	if (setup)
		tcase_add_checked_fixture(tc, setup, teardown);
	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	suite_add_tcase(su, tc);
	return tc;
}

int pgtest_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
