/* Integration tests: the exec layer behind PgBouncer (Debian's pgbouncer, 1.18) in transaction
 * pooling mode.
 *
 * The fixture starts a private pgbouncer on a free loopback port, pointing at the server of
 * PGORM_TEST_DSN (a unix socket directory works too), with connect_query setting this
 * executable's schema. pgbouncer refuses to run as root: as root it runs as 'postgres'.
 * PGORM_STMT_UNNAMED runs the exec workload from several connections; PGORM_STMT_NAMED fails
 * there as documented in exec.h (statements prepared on one server connection are missing on
 * another, and names collide across clients): an error, never a crash.
 *
 * With PGORM_TEST_PGBOUNCER_DSN set (docker/compose.yml's `pgbouncer` service), the tests run
 * through that PgBouncer instead of a private one: it must pool transactions in front of the
 * server of PGORM_TEST_DSN. Its connections have no connect_query, so every table is named with
 * this executable's schema.
 */
#include "pgtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char bouncer_dir[64];
static char bouncer_dsn[256];
static bool bouncer_external;   /* PGORM_TEST_PGBOUNCER_DSN: nothing to start or stop */
static char bw[160];            /* the test table, schema-qualified */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		perror("pgbouncer test: free port");
		exit(1);
	}
	close(fd);
	return ntohs(a.sin_port);
}

static const char *opt(PQconninfoOption *opts, const char *kw, const char *dflt)
{
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, kw) == 0 && o->val != NULL && *o->val != '\0')
			return o->val;
	return dflt;
}

static void die(const char *what)
{
	fprintf(stderr, "pgbouncer test: %s\n", what);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "cat %s/pgbouncer.log >&2 2>/dev/null", bouncer_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "(no pgbouncer log)\n");
	exit(1);
}

/* Bounded wait until bouncer_dsn accepts connections. */
static void bouncer_wait(void)
{
	for (int i = 0; i < 500; i++) {
		PGconn *pq = PQconnectdb(bouncer_dsn);
		bool ok = PQstatus(pq) == CONNECTION_OK;
		PQfinish(pq);
		if (ok)
			return;
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
	die("pgbouncer does not accept connections");
}

static void bouncer_start(void)
{
	pgtest_schema_setup();
	snprintf(bw, sizeof bw, "\"%s\".bw", pgtest_schema());
	const char *ext = getenv("PGORM_TEST_PGBOUNCER_DSN");
	if (ext != NULL && *ext != '\0') {
		if (strlen(ext) >= sizeof bouncer_dsn)
			die("PGORM_TEST_PGBOUNCER_DSN is too long");
		snprintf(bouncer_dsn, sizeof bouncer_dsn, "%s", ext);
		bouncer_external = true;
		fprintf(stderr, "pgbouncer test: through PGORM_TEST_PGBOUNCER_DSN\n");
		bouncer_wait();
		return;
	}
	const char *dsn = getenv("PGORM_TEST_DSN");
	if (dsn == NULL || *dsn == '\0')
		die("PGORM_TEST_DSN is not set: this test needs a real PostgreSQL");
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
	if (opts == NULL)
		die(perr ? perr : "cannot parse PGORM_TEST_DSN");
	static char user[64];
	snprintf(user, sizeof user, "%s", opt(opts, "user", getenv("PGUSER") ? getenv("PGUSER") : "postgres"));
	bool root = geteuid() == 0;

	strcpy(bouncer_dir, "/tmp/pgorm-pgb.XXXXXX");
	if (mkdtemp(bouncer_dir) == NULL)
		die("mkdtemp");
	int port = free_port();
	char path[128];
	snprintf(path, sizeof path, "%s/pgbouncer.ini", bouncer_dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		die("cannot write pgbouncer.ini");
	fprintf(f,
	        "[databases]\n"
	        "pgormdb = host=%s port=%s dbname=%s user=%s connect_query='SET search_path TO %s, public'\n"
	        "[pgbouncer]\n"
	        "listen_addr = 127.0.0.1\n"
	        "listen_port = %d\n"
	        "unix_socket_dir =\n"
	        "auth_type = any\n"
	        "pool_mode = transaction\n"
	        "default_pool_size = 6\n"
	        "max_client_conn = 50\n"
	        "server_round_robin = 0\n"
	        "ignore_startup_parameters = extra_float_digits,options\n"
	        "pidfile = %s/pgbouncer.pid\n"
	        "logfile = %s/pgbouncer.log\n",
	        opt(opts, "host", "/var/run/postgresql"), opt(opts, "port", "5432"), opt(opts, "dbname", user),
	        user, pgtest_schema(), port, bouncer_dir, bouncer_dir);
	fclose(f);
	PQconninfoFree(opts);
	if (root) {
		struct passwd *pw = getpwnam("postgres");
		if (pw == NULL || chown(bouncer_dir, pw->pw_uid, pw->pw_gid) != 0 || chown(path, pw->pw_uid, pw->pw_gid) != 0)
			die("running as root, but cannot hand the directory to the 'postgres' user");
	}
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%spgbouncer -q -d %s", root ? "runuser -u postgres -- " : "", path);
	if (system(cmd) != 0)
		die("pgbouncer did not start (is the 'pgbouncer' package installed?)");
	snprintf(bouncer_dsn, sizeof bouncer_dsn, "host=127.0.0.1 port=%d dbname=pgormdb user=%s", port, user);
	bouncer_wait();
}

static void bouncer_stop(void)
{
	if (bouncer_external) {
		pgtest_schema_teardown();
		return;
	}
	char path[128];
	snprintf(path, sizeof path, "%s/pgbouncer.pid", bouncer_dir);
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (f != NULL) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 250 && kill(pid, 0) == 0; i++)
			nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", bouncer_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "pgbouncer test: cannot remove %s\n", bouncer_dir);
	pgtest_schema_teardown();
}

static pgorm_conn *bconnect(pgorm_stmt_mode mode)
{
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = bouncer_dsn;
	cfg.stmt_mode = mode;
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_conn_connect(&c, &cfg, &err) == 0, "connect through pgbouncer: %s", err.message);
	return c;
}

static int64_t count(pgorm_conn *c, const char *table, int64_t owner)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE owner = $1", table);
	pgorm_value p = PGORM_INT8(owner);
	pgorm_result *r = NULL;
	ck_assert_msg(pgorm_conn_exec(c, sql, 1, &p, &r) == 0, "%s", pgorm_conn_error(c)->message);
	int64_t v;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &v), 0);
	pgorm_result_free(r);
	return v;
}

/* The exec workload, run by K interleaved connections in unnamed mode. */
START_TEST(test_unnamed_workload)
{
	enum { K = 3, BATCH = 2000 };
	pgorm_conn *c[K];
	for (int k = 0; k < K; k++)
		c[k] = bconnect(PGORM_STMT_UNNAMED);
	char sql[512];
	snprintf(sql, sizeof sql, "CREATE TABLE %s (id bigserial PRIMARY KEY, owner int8 NOT NULL, name text, "
	                          "data bytea, at timestamptz, tags text[], UNIQUE (owner, name))", bw);
	pgtest_exec(c[0], sql);
	char ins_ret[256], ins[256], any[256];
	snprintf(ins_ret, sizeof ins_ret, "INSERT INTO %s (owner, name, data, at, tags) VALUES ($1, $2, $3, $4, $5) "
	                                  "RETURNING id, name, tags", bw);
	snprintf(ins, sizeof ins, "INSERT INTO %s (owner, name) VALUES ($1, $2)", bw);
	snprintf(any, sizeof any, "SELECT count(*) FROM %s WHERE owner = ANY($1)", bw);
	for (int round = 0; round < 5; round++) {
		for (int k = 0; k < K; k++) {
			/* parameterized insert + select back, codecs included */
			char name[32];
			snprintf(name, sizeof name, "r%d-\xc3\xa9", round);
			static const char *const tags[] = { "x", "y\xe2\x9c\x93" };
			pgorm_value p[] = { PGORM_INT8(k), PGORM_TEXT(name), PGORM_BYTEA("\0\1\2", 3),
			                    PGORM_TIMESTAMPTZ(round * 1000000LL), PGORM_TEXT_ARRAY(tags, 2) };
			pgorm_result *r = NULL;
			ck_assert_msg(pgorm_conn_exec(c[k], ins_ret, 5, p, &r) == 0, "%s", pgorm_conn_error(c[k])->message);
			ck_assert_str_eq(pgorm_result_text(r, 0, 1), name);
			pgorm_value t;
			ck_assert_int_eq(pgorm_result_get(r, 0, 2, PGORM_TYPE_TEXT_ARRAY, &t, NULL), 0);
			ck_assert_uint_eq(t.u.strs.n, 2);
			ck_assert_str_eq(t.u.strs.items[1], "y\xe2\x9c\x93");
			pgorm_result_free(r);
		}
		/* a transaction held by one client while the others work */
		ck_assert_int_eq(pgorm_conn_begin(c[0]), 0);
		pgorm_value o = PGORM_INT8(0), nm = PGORM_TEXT("rolled-back");
		pgorm_value pv[] = { o, nm };
		ck_assert_int_eq(pgorm_conn_exec(c[0], ins, 2, pv, NULL), 0);
		ck_assert_int_eq(pgorm_conn_savepoint(c[0], "s1"), 0);
		ck_assert_int_eq(count(c[1], bw, 1), round + 1);
		ck_assert_int_eq(pgorm_conn_exec(c[0], ins, 2, pv, NULL),
		                 PGORM_ECONSTRAINT);
		ck_assert_int_eq(pgorm_conn_rollback_to(c[0], "s1"), 0);
		ck_assert_int_eq(pgorm_conn_rollback(c[0]), 0);
		ck_assert_int_eq(count(c[2], bw, 0), round + 1);
	}
	/* = ANY($1) with an int8[] parameter */
	static const int64_t owners[] = { 0, 2 };
	pgorm_value a = PGORM_INT8_ARRAY(owners, 2);
	pgorm_result *r = NULL;
	ck_assert_int_eq(pgorm_conn_exec(c[1], any, 1, &a, &r), 0);
	int64_t n;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &n), 0);
	ck_assert_int_eq(n, 10);
	pgorm_result_free(r);

	/* pipelines: a large batch, then a failing one (index reported, nothing committed) */
	pgorm_value *v = calloc(2 * BATCH, sizeof *v);
	pgorm_stmt *st = calloc(BATCH, sizeof *st);
	char (*names)[16] = calloc(BATCH, sizeof *names);
	for (int k = 0; k < K; k++) {
		for (int i = 0; i < BATCH; i++) {
			snprintf(names[i], sizeof names[i], "b%d", i);
			v[2 * i] = PGORM_INT8(100 + k);
			v[2 * i + 1] = PGORM_TEXT(names[i]);
			st[i] = (pgorm_stmt){ ins, 2, &v[2 * i] };
		}
		ck_assert_msg(pgorm_conn_pipeline(c[k], BATCH, st, NULL) == 0, "%s", pgorm_conn_error(c[k])->message);
		ck_assert_int_eq(count(c[(k + 1) % K], bw, 100 + k), BATCH);
	}
	for (int i = 0; i < 10; i++)
		v[2 * i] = PGORM_INT8(200);
	v[2 * 7 + 1] = PGORM_TEXT("b3"); /* duplicate of statement 3 */
	ck_assert_int_eq(pgorm_conn_pipeline(c[1], 10, st, NULL), PGORM_ECONSTRAINT);
	ck_assert_int_eq(pgorm_conn_error(c[1])->stmt_index, 7);
	ck_assert_int_eq(count(c[2], bw, 200), 0);
	free(v);
	free(st);
	free(names);

	for (int k = 0; k < K; k++) {
		pgorm_conn_stats s;
		pgorm_conn_stats_get(c[k], &s);
		ck_assert_uint_eq(s.prepares, 0);
		ck_assert(pgorm_conn_ok(c[k]));
		pgorm_conn_close(c[k]);
	}
}
END_TEST

/* Named mode is not supported behind transaction pooling: show how it fails. */
START_TEST(test_named_fails_as_documented)
{
	pgorm_conn *a = bconnect(PGORM_STMT_NAMED);
	pgorm_conn *b = bconnect(PGORM_STMT_NAMED);
	pgorm_conn *holder = bconnect(PGORM_STMT_UNNAMED);
	pgorm_value p = PGORM_INT8(1);
	pgorm_result *r = NULL;
	/* a prepares its first statement on server connection S (then released to the pool) */
	ck_assert_int_eq(pgorm_conn_exec(a, "SELECT $1::int8 + 1", 1, &p, &r), 0);
	pgorm_result_free(r);
	/* b's first statement gets the same name (names are unique per connection only) and lands
	 * on S, the most recently released server connection: "already exists" */
	int rc = pgorm_conn_exec(b, "SELECT $1::int8 + 1", 1, &p, NULL);
	ck_assert_int_eq(rc, PGORM_ESERVER);
	ck_assert_str_eq(pgorm_conn_error(b)->sqlstate, "42P05");
	/* issue 14: the error says what to do */
	ck_assert_msg(strstr(pgorm_conn_error(b)->message, "already exists (behind PgBouncer in transaction mode "
	                                                   "use PGORM_STMT_UNNAMED, or PgBouncer >= 1.21 with "
	                                                   "max_prepared_statements)") != NULL,
	              "%s", pgorm_conn_error(b)->message);
	ck_assert_msg(strstr(pgorm_conn_error(b)->hint, "PGORM_STMT_UNNAMED") != NULL, "%s", pgorm_conn_error(b)->hint);
	ck_assert(pgorm_conn_ok(b));
	/* holder pins S in a transaction; a's transaction runs on another server connection where
	 * its statement does not exist: 26000, the transaction is aborted, nothing crashes */
	ck_assert_int_eq(pgorm_conn_begin(holder), 0);
	ck_assert_int_eq(pgorm_conn_exec(holder, "SELECT 1", 0, NULL, NULL), 0);
	ck_assert_int_eq(pgorm_conn_begin(a), 0);
	rc = pgorm_conn_exec(a, "SELECT $1::int8 + 1", 1, &p, NULL);
	ck_assert_int_eq(rc, PGORM_ESERVER);
	ck_assert_str_eq(pgorm_conn_error(a)->sqlstate, "26000");
	ck_assert_int_eq(pgorm_conn_tx_status(a), PGORM_TX_INERROR);
	ck_assert_int_eq(pgorm_conn_rollback(a), 0);
	ck_assert_int_eq(pgorm_conn_rollback(holder), 0);
	ck_assert(pgorm_conn_ok(a));
	/* the same statements in unnamed mode work through the same pgbouncer */
	pgorm_conn *u = bconnect(PGORM_STMT_UNNAMED);
	ck_assert_int_eq(pgorm_conn_begin(holder), 0);
	ck_assert_int_eq(pgorm_conn_begin(u), 0);
	ck_assert_int_eq(pgorm_conn_exec(u, "SELECT $1::int8 + 1", 1, &p, &r), 0);
	int64_t v;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &v), 0);
	ck_assert_int_eq(v, 2);
	pgorm_result_free(r);
	ck_assert_int_eq(pgorm_conn_commit(u), 0);
	ck_assert_int_eq(pgorm_conn_commit(holder), 0);
	pgorm_conn_close(u);
	pgorm_conn_close(holder);
	pgorm_conn_close(b);
	pgorm_conn_close(a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pgbouncer");
	TCase *tc = tcase_create("transaction_mode");
	tcase_add_unchecked_fixture(tc, bouncer_start, bouncer_stop);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_unnamed_workload);
	tcase_add_test(tc, test_named_fails_as_documented);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
