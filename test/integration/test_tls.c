/* TLS and SCRAM: connections with sslmode=require / verify-full and a scram-sha-256 password,
 * directly and through the pool and a session, and the password in no error, log or hook.
 *
 * Runs on its OWN throwaway cluster (test/pgtmp with PGTMP_PORT, PGTMP_SSL and PGTMP_PASSWORD:
 * a self-signed CA in <dir>/ca.crt, a server certificate for localhost and 127.0.0.1, hostssl
 * with scram-sha-256 for TCP, hostnossl rejected). The unix socket (trust) is the admin path.
 * Pool and session statistics are numbers only, so they cannot carry a password; errors, the
 * statement hook (with parameter values) and the session log are checked for every fragment
 * of it. */
#include "pgcluster.h"
#include "pgtest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pgcluster cluster;

/* A password with a space and a quote, so that it is quoted in conninfo strings. */
#define PASSWORD "correct horse's battery-staple 42"
#define PASSWORD_CONNINFO "'correct horse\\'s battery-staple 42'"
#define PASSWORD_URI "correct%20horse%27s%20battery-staple%2042"
/* fragments of it and of the wrong passwords used below */
static const char *const fragments[] = { "horse", "battery", "staple", "Xyzzy", "plugh" };

static char ca[300];

/* "host=H port=P user=pgorm_user dbname=pgorm_user sslmode=MODE sslrootcert=CA password=PW extra" */
static void dsn(char *buf, size_t n, const char *host, const char *mode, const char *password, const char *extra)
{
	snprintf(buf, n, "host=%s port=%d user=pgorm_user dbname=pgorm_user sslmode=%s sslrootcert='%s' password=%s %s",
	         host, cluster.port, mode, ca, password, extra ? extra : "");
}

static void assert_no_secret(const char *what, const char *text)
{
	for (size_t i = 0; text != NULL && i < sizeof fragments / sizeof fragments[0]; i++)
		ck_assert_msg(strstr(text, fragments[i]) == NULL, "password fragment \"%s\" in %s: %s", fragments[i],
		              what, text);
}

static void assert_error_clean(const pgorm_error *e)
{
	assert_no_secret("message", e->message);
	assert_no_secret("detail", e->detail);
	assert_no_secret("hint", e->hint);
	assert_no_secret("statement", e->statement);
}

static int connect_to(const char *conninfo, pgorm_conn **out, pgorm_error *err)
{
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = conninfo;
	*out = NULL;
	return pgorm_conn_connect(out, &cfg, err);
}

/* Whether the connection is encrypted, per the server. */
static bool server_says_ssl(pgorm_conn *c)
{
	return strcmp(pgtest_text(c, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()"), "true") == 0;
}

/* ---- direct connections ---- */

START_TEST(test_password_stored_as_scram)
{
	pgorm_conn *admin = NULL;
	pgorm_error err;
	ck_assert_msg(connect_to(cluster.dsn, &admin, &err) == 0, "%s", err.message);
	ck_assert_str_eq(pgtest_text(admin, "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = 'pgorm_user'"),
	                 "SCRAM-SHA-256$");
	ck_assert_str_eq(pgtest_text(admin, "SHOW ssl"), "on");
	pgorm_conn_close(admin);
}
END_TEST

START_TEST(test_sslmode_require)
{
	char ci[600];
	dsn(ci, sizeof ci, "127.0.0.1", "require", PASSWORD_CONNINFO, NULL);
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_msg(connect_to(ci, &c, &err) == 0, "%s", err.message);
	ck_assert(server_says_ssl(c));
	ck_assert_str_eq(pgtest_text(c, "SELECT current_user"), "pgorm_user");
	pgorm_conn_close(c);
}
END_TEST

/* verify-full against the certificate's names: the IP SAN and the DNS SAN. */
START_TEST(test_sslmode_verify_full)
{
	const char *hosts[] = { "127.0.0.1", "localhost" };
	for (size_t i = 0; i < 2; i++) {
		char ci[600];
		dsn(ci, sizeof ci, hosts[i], "verify-full", PASSWORD_CONNINFO, NULL);
		pgorm_conn *c = NULL;
		pgorm_error err;
		ck_assert_msg(connect_to(ci, &c, &err) == 0, "%s: %s", hosts[i], err.message);
		ck_assert(server_says_ssl(c));
		pgorm_value v = PGORM_TEXT("x");
		pgorm_result *r = NULL;
		ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1::text || current_user", 1, &v, &r), 0);
		ck_assert_str_eq(pgorm_result_text(r, 0, 0), "xpgorm_user");
		pgorm_result_free(r);
		pgorm_conn_close(c);
	}
}
END_TEST

/* The server's certificate does not name the host connected to: refused, and said so. */
START_TEST(test_verify_full_wrong_host_name)
{
	char ci[600];
	dsn(ci, sizeof ci, "wrong.invalid", "verify-full", PASSWORD_CONNINFO, "hostaddr=127.0.0.1");
	pgorm_conn *c = NULL;
	pgorm_error err;
	int rc = connect_to(ci, &c, &err);
	ck_assert_int_eq(rc, PGORM_ECONN);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err.message, "does not match host name \"wrong.invalid\""), "%s", err.message);
	assert_error_clean(&err);
}
END_TEST

/* A CA that did not sign the server's certificate: refused. */
START_TEST(test_verify_full_unknown_ca)
{
	char ci[600];
	snprintf(ci, sizeof ci, "host=localhost port=%d user=pgorm_user dbname=pgorm_user sslmode=verify-full "
	         "sslrootcert=/etc/ssl/certs/ca-certificates.crt password=%s", cluster.port, PASSWORD_CONNINFO);
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_int_eq(connect_to(ci, &c, &err), PGORM_ECONN);
	ck_assert_msg(strstr(err.message, "certificate verify failed"), "%s", err.message);
	assert_error_clean(&err);
}
END_TEST

/* No TLS: pg_hba rejects it (hostnossl ... reject). */
START_TEST(test_plaintext_rejected)
{
	char ci[600];
	dsn(ci, sizeof ci, "127.0.0.1", "disable", PASSWORD_CONNINFO, NULL);
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_int_eq(connect_to(ci, &c, &err), PGORM_ECONN);
	ck_assert_msg(strstr(err.message, "no encryption"), "%s", err.message);
	assert_error_clean(&err);
}
END_TEST

/* A wrong password (in each form a conninfo can hold it): an authentication error naming the
 * user, and neither password anywhere in it. */
START_TEST(test_wrong_password)
{
	char ci[3][600];
	dsn(ci[0], sizeof ci[0], "localhost", "verify-full", "'Xyzzy plugh'", NULL);
	dsn(ci[1], sizeof ci[1], "localhost", "require", "Xyzzy-plugh", NULL);
	snprintf(ci[2], sizeof ci[2], "postgresql://pgorm_user:Xyzzy%%20plugh@localhost:%d/pgorm_user?sslmode=verify-full"
	         "&sslrootcert=%s", cluster.port, ca);
	for (int i = 0; i < 3; i++) {
		pgorm_conn *c = NULL;
		pgorm_error err;
		ck_assert_int_eq(connect_to(ci[i], &c, &err), PGORM_ECONN);
		ck_assert_msg(strstr(err.message, "password authentication failed for user \"pgorm_user\""), "%s",
		              err.message);
		assert_error_clean(&err);
	}
	/* the right password in URI form works */
	char uri[600];
	snprintf(uri, sizeof uri, "postgresql://pgorm_user:%s@localhost:%d/pgorm_user?sslmode=verify-full&sslrootcert=%s",
	         PASSWORD_URI, cluster.port, ca);
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_msg(connect_to(uri, &c, &err) == 0, "%s", err.message);
	ck_assert(server_says_ssl(c));
	pgorm_conn_close(c);
}
END_TEST

/* ---- the pool and a session ---- */

/* Everything the hooks saw, as text: statements, parameter values, log messages. */
typedef struct seen {
	pthread_mutex_t mu;
	char text[1 << 16];
	size_t len;
	size_t statements, logs;
} seen;

static void seen_add(seen *s, const char *a, size_t n)
{
	pthread_mutex_lock(&s->mu);
	if (s->len + n + 2 < sizeof s->text) {
		memcpy(s->text + s->len, a, n);
		s->len += n;
		s->text[s->len++] = '\n';
		s->text[s->len] = '\0';
	}
	pthread_mutex_unlock(&s->mu);
}

static void stmt_hook(void *ctx, const char *sql, size_t n, const pgorm_value *p, double us, int status)
{
	(void)us;
	(void)status;
	seen *s = ctx;
	seen_add(s, sql, strlen(sql));
	for (size_t i = 0; p != NULL && i < n; i++)
		if (p[i].type == PGORM_TYPE_TEXT && !p[i].is_null)
			seen_add(s, p[i].u.str.ptr, p[i].u.str.len);
	pthread_mutex_lock(&s->mu);
	s->statements++;
	pthread_mutex_unlock(&s->mu);
}

static void log_hook(void *ctx, pgorm_log_level level, const char *message)
{
	(void)level;
	seen *s = ctx;
	seen_add(s, message, strlen(message));
	pthread_mutex_lock(&s->mu);
	s->logs++;
	pthread_mutex_unlock(&s->mu);
}

typedef struct Note {
	pgorm_object hdr;
	int64_t id;
	char *body;
} Note;

static const pgorm_column note_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Note, id),
	PGORM_COLUMN(TEXT, "body", 0, Note, body),
	PGORM_COLUMN_END
};
static const pgorm_model note_model = PGORM_MODEL("tls_note", Note, note_cols, NULL);

START_TEST(test_pool_and_session_over_tls_scram)
{
	static seen hooks = { .mu = PTHREAD_MUTEX_INITIALIZER };
	char ci[600];
	dsn(ci, sizeof ci, "localhost", "verify-full", PASSWORD_CONNINFO, NULL);
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = ci;
	cfg.max_size = 2;
	cfg.min_idle = 1;
	cfg.hook = stmt_hook;
	cfg.hook_ctx = &hooks;
	cfg.init_sql = "SET application_name = 'pgorm_tls'";
	pgorm_pool *pool = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_pool_create(&pool, &cfg, &err) == 0, "%s", err.message);

	pgorm_conn *c = NULL;
	ck_assert_msg(pgorm_pool_acquire(pool, &c, &err) == 0, "%s", err.message);
	ck_assert(server_says_ssl(c));
	pgtest_exec(c, "DROP TABLE IF EXISTS tls_note");
	pgtest_exec(c, "CREATE TABLE tls_note (id bigserial PRIMARY KEY, body text NOT NULL)");
	for (int i = 0; i < 3; i++) {
		pgorm_value v[2] = { PGORM_INT8(i), PGORM_TEXT("q") };
		pgorm_result *r = NULL;
		ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $2::text || ($1::int8 + 1)", 2, v, &r), 0);
		char want[8];
		snprintf(want, sizeof want, "q%d", i + 1);
		ck_assert_str_eq(pgorm_result_text(r, 0, 0), want);
		pgorm_result_free(r);
	}
	ck_assert_int_eq(pgorm_pool_release(pool, c), 0);

	const pgorm_model *models[] = { &note_model };
	pgorm_registry *reg = NULL;
	ck_assert_msg(pgorm_registry_create(&reg, models, 1, &err) == 0, "%s", err.message);
	pgorm_session_config scfg = PGORM_SESSION_CONFIG_INIT;
	scfg.stmt_hook = stmt_hook;
	scfg.stmt_hook_ctx = &hooks;
	scfg.log_params = true;
	scfg.log = log_hook;
	scfg.log_ctx = &hooks;
	pgorm_session *s = NULL;
	ck_assert_msg(pgorm_session_create(&s, reg, pool, NULL, &scfg, &err) == 0, "%s", err.message);
	Note *n1 = pgorm_object_new(s, &note_model), *n2 = pgorm_object_new(s, &note_model);
	n1->body = pgorm_strdup(s, "first");
	n2->body = pgorm_strdup(s, "second");
	ck_assert_int_eq(pgorm_session_add(s, n1), 0);
	ck_assert_int_eq(pgorm_session_add(s, n2), 0);
	int rc = pgorm_session_commit(s);
	ck_assert_msg(rc == 0, "commit: %s", pgorm_session_error(s)->message);
	ck_assert_int_gt(n1->id, 0);
	ck_assert(server_says_ssl(pgorm_session_connection(s)));
	ck_assert_str_eq(pgtest_text(pgorm_session_connection(s),
	                             "SELECT string_agg(body, ',' ORDER BY id) FROM tls_note"), "first,second");
	ck_assert_str_eq(pgtest_text(pgorm_session_connection(s), "SHOW application_name"), "pgorm_tls");
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	/* a server error through the session: its message and statement are clean too */
	Note *dup = pgorm_object_new(s, &note_model);
	dup->id = n1->id;
	dup->body = pgorm_strdup(s, "dup");
	ck_assert_int_eq(pgorm_session_add(s, dup), 0);
	ck_assert_int_eq(pgorm_session_commit(s), PGORM_ECONSTRAINT);
	assert_error_clean(pgorm_session_error(s));
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	pgorm_session_destroy(s);
	pgorm_registry_destroy(reg);

	pgorm_pool_stats st;
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_ge(st.connects, 1);
	ck_assert_uint_eq(st.connect_failures, 0);
	pgorm_pool_destroy(pool);
	ck_assert_uint_gt(hooks.statements, 5);
	ck_assert_msg(strstr(hooks.text, "first") != NULL, "parameter values were not logged"); /* the hook saw values */
	assert_no_secret("hook output", hooks.text);
}
END_TEST

/* A pool with a wrong password: acquire fails with the server's authentication error (the
 * last connect error), bounded by its timeout; the password is in no message. */
START_TEST(test_pool_wrong_password)
{
	char ci[600];
	dsn(ci, sizeof ci, "localhost", "verify-full", "'Xyzzy plugh'", NULL);
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = ci;
	cfg.min_idle = 0;
	/* waiters fail with the connect error (28P01 fails fast); the timeout is long so that the
	 * one TLS + SCRAM handshake it waits for (seconds under valgrind on a loaded machine) is
	 * never cut short by it */
	cfg.acquire_timeout_ms = 60000;
	cfg.backoff_min_ms = 20;
	cfg.backoff_max_ms = 200;
	pgorm_pool *pool = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_pool_create(&pool, &cfg, &err) == 0, "%s", err.message);
	pgorm_conn *c = NULL;
	double t0 = pgtest_now_ms();
	int rc = pgorm_pool_acquire(pool, &c, &err);
	double took = pgtest_now_ms() - t0;
	ck_assert_int_eq(rc, PGORM_ECONN);
	ck_assert_ptr_null(c);
	ck_assert_msg(strncmp(err.message, "pool: cannot connect: ", 22) == 0, "not fail-fast: %s", err.message);
	ck_assert_msg(took < 30000, "acquire took %.0f ms with a 60000 ms timeout", took);
	ck_assert_msg(strstr(err.message, "password authentication failed"), "%s", err.message);
	assert_error_clean(&err);
	/* a session on it reports the same */
	const pgorm_model *models[] = { &note_model };
	pgorm_registry *reg = NULL;
	ck_assert_int_eq(pgorm_registry_create(&reg, models, 1, &err), 0);
	pgorm_session *s = NULL;
	ck_assert_int_eq(pgorm_session_create(&s, reg, pool, NULL, NULL, &err), 0);
	ck_assert_ptr_null(pgorm_session_connection(s));
	ck_assert_int_eq(pgorm_session_error(s)->code, PGORM_ECONN);
	assert_error_clean(pgorm_session_error(s));
	pgorm_session_destroy(s);
	pgorm_registry_destroy(reg);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_ge(st.connect_failures, 1);
	ck_assert(st.server_down);
	pgorm_pool_destroy(pool);
}
END_TEST

int main(void)
{
	static const char *const env[] = { "PGTMP_SSL=1", "PGTMP_PASSWORD=" PASSWORD, NULL };
	pgcluster_start(&cluster, "tls", true, env);
	snprintf(ca, sizeof ca, "%s/ca.crt", cluster.dir);
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("own_cluster");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_password_stored_as_scram);
	tcase_add_test(tc, test_sslmode_require);
	tcase_add_test(tc, test_sslmode_verify_full);
	tcase_add_test(tc, test_verify_full_wrong_host_name);
	tcase_add_test(tc, test_verify_full_unknown_ca);
	tcase_add_test(tc, test_plaintext_rejected);
	tcase_add_test(tc, test_wrong_password);
	tcase_add_test(tc, test_pool_and_session_over_tls_scram);
	tcase_add_test(tc, test_pool_wrong_password);
	suite_add_tcase(s, tc);
	int rc = pgtest_run(s);
	pgcluster_stop(&cluster);
	return rc;
}
