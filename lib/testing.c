/* lib/testing.c — support for users' integration tests (pgorm/testing.h): a fresh schema per
 * testdb, sessions joined to an outer transaction that is rolled back.
 *
 * Decisions: the schema name is <prefix>_<pid>_<n> (n counts opens in this process), so tests
 * running in parallel processes never share one; the prefix is limited to [A-Za-z0-9_] so that
 * the name needs no escaping in the conninfo options. search_path is set with a session-level
 * SET (it must survive the rollbacks). The tables are created and committed before the outer
 * transaction begins, so pgorm_testdb_rollback keeps them. Every statement here is identifiers
 * only (quoted); they run through the simple protocol.
 */
#include "pgorm/testing.h"

#include "exec.h"
#include "internal.h"
#include "sql.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pgorm_testdb {
	pgorm_conn *conn;
	char schema[64];
	char *conninfo;              /* the caller's conninfo + search_path options */
};

static atomic_uint testdb_counter;

static int simple(pgorm_conn *c, const char *head, const char *ident, const char *tail)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_add(&b, head);
	pgorm__sb_ident(&b, ident);
	pgorm__sb_add(&b, tail);
	const char *sql = pgorm__sb_str(&b);
	int rc = sql ? pgorm__conn_simple(c, sql) : pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory");
	pgorm__sb_free(&b);
	return rc;
}

static bool valid_prefix(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > 40)
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/* conninfo with the search_path option added, as key=value or as a URI parameter. */
static char *with_search_path(const char *conninfo, const char *schema)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_add(&b, conninfo);
	if (strncmp(conninfo, "postgres://", 11) == 0 || strncmp(conninfo, "postgresql://", 13) == 0)
		pgorm__sb_addf(&b, "%soptions=-csearch_path%%3D%s", strchr(conninfo, '?') ? "&" : "?", schema);
	else
		pgorm__sb_addf(&b, "%soptions='-csearch_path=%s'", *conninfo ? " " : "", schema);
	return pgorm__sb_take(&b);
}

int pgorm_testdb_open(pgorm_testdb **out, const char *conninfo, const pgorm_registry *reg, const char *prefix,
                      pgorm_error *err)
{
	if (out == NULL)
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_testdb_open: out is NULL");
	*out = NULL;
	if (prefix == NULL)
		prefix = "pgorm_test";
	if (!valid_prefix(prefix))
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_testdb_open: the prefix must be 1 to 40 of [A-Za-z0-9_]");
	if (conninfo == NULL)
		conninfo = getenv("PGORM_TEST_DSN");
	if (conninfo == NULL)
		conninfo = "";
	pgorm_testdb *t = pgorm__calloc(1, sizeof *t);
	if (t == NULL)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory");
	snprintf(t->schema, sizeof t->schema, "%s_%ld_%u", prefix, (long)getpid(), atomic_fetch_add(&testdb_counter, 1));
	if ((t->conninfo = with_search_path(conninfo, t->schema)) == NULL) {
		pgorm__free(t);
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory");
	}
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = conninfo;
	int rc = pgorm_conn_connect(&t->conn, &cfg, err);
	bool made = false;
	if (rc == 0)
		rc = simple(t->conn, "CREATE SCHEMA ", t->schema, "");
	made = rc == 0;
	if (rc == 0)
		rc = simple(t->conn, "SET search_path TO ", t->schema, "");
	if (rc == 0 && reg != NULL)
		rc = pgorm_registry_create_all(reg, t->conn, false);
	if (rc == 0)
		rc = pgorm_conn_begin(t->conn);
	if (rc != 0) {
		if (t->conn != NULL) {
			if (err)
				*err = *pgorm_conn_error(t->conn);
			if (made)
				simple(t->conn, "DROP SCHEMA IF EXISTS ", t->schema, " CASCADE");
		}
		pgorm_conn_close(t->conn);
		pgorm__free(t->conninfo);
		pgorm__free(t);
		return rc;
	}
	*out = t;
	return 0;
}

int pgorm_testdb_rollback(pgorm_testdb *t)
{
	if (t == NULL)
		return PGORM_EINVAL;
	int rc = pgorm_conn_rollback(t->conn);
	return rc != 0 ? rc : pgorm_conn_begin(t->conn);
}

void pgorm_testdb_close(pgorm_testdb *t)
{
	if (t == NULL)
		return;
	if (pgorm_conn_ok(t->conn)) {
		if (pgorm_conn_tx_status(t->conn) != PGORM_TX_IDLE)
			pgorm_conn_rollback(t->conn);
		simple(t->conn, "DROP SCHEMA IF EXISTS ", t->schema, " CASCADE");
	}
	pgorm_conn_close(t->conn);
	pgorm__free(t->conninfo);
	pgorm__free(t);
}

int pgorm_testdb_session(pgorm_testdb *t, const pgorm_registry *reg, const pgorm_session_config *cfg,
                         pgorm_session **out)
{
	if (t == NULL || out == NULL)
		return PGORM_EINVAL;
	pgorm_error err;
	int rc = pgorm_session_create(out, reg, NULL, t->conn, cfg, &err);
	if (rc != 0)
		t->conn->err = err;
	return rc;
}

pgorm_conn *pgorm_testdb_conn(pgorm_testdb *t) { return t ? t->conn : NULL; }
const char *pgorm_testdb_schema(const pgorm_testdb *t) { return t ? t->schema : NULL; }
const char *pgorm_testdb_conninfo(const pgorm_testdb *t) { return t ? t->conninfo : NULL; }
