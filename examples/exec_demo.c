/* examples/exec_demo.c — the exec layer in one screen: connect, create a table, insert rows
 * with bind parameters, send a pipeline batch (one round trip), read the rows back.
 *
 * Conninfo: PGORM_TEST_DSN (scripts/demo sets it to a throwaway cluster), else libpq's
 * defaults and PG* environment variables. Works in a private schema it drops at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <pgorm.h>

static int fail(pgorm_conn *c, const char *what, int rc)
{
	const pgorm_error *e = c ? pgorm_conn_error(c) : NULL;
	fprintf(stderr, "exec_demo: %s failed: %s (%s)%s%s\n", what, pgorm_err_name(rc),
	        e && e->message[0] ? e->message : pgorm_strerror(rc),
	        e && e->sqlstate[0] ? " SQLSTATE " : "", e && e->sqlstate[0] ? e->sqlstate : "");
	pgorm_conn_close(c);
	return 1;
}

#define TRY(what, expr) do { int rc_ = (expr); if (rc_ < 0) return fail(c, what, rc_); } while (0)

int main(void)
{
	const char *dsn = getenv("PGORM_TEST_DSN");
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	pgorm_error err;
	pgorm_conn *c = NULL;

	cfg.conninfo = dsn ? dsn : "";
	printf("pgorm %s: exec layer demo\n", pgorm_version_string());
	if (pgorm_conn_connect(&c, &cfg, &err) < 0) {
		fprintf(stderr, "exec_demo: connect failed: %s\n", err.message);
		return 1;
	}
	printf("connected (statement mode: named, cached prepared statements)\n");

	TRY("set", pgorm_conn_exec(c, "SET client_min_messages = warning", 0, NULL, NULL));
	TRY("create schema", pgorm_conn_exec(c, "DROP SCHEMA IF EXISTS exec_demo CASCADE", 0, NULL, NULL));
	TRY("create schema", pgorm_conn_exec(c, "CREATE SCHEMA exec_demo", 0, NULL, NULL));
	TRY("create table", pgorm_conn_exec(c,
		"CREATE TABLE exec_demo.parent_table (id bigserial PRIMARY KEY, name text NOT NULL, "
		"score float8, tags text[])", 0, NULL, NULL));
	printf("created table exec_demo.parent_table\n");

	/* One statement, executed three times with different bind parameters: prepared once. */
	static const char *const names[] = { "alpha", "beta", "gamma" };
	const char *ins = "INSERT INTO exec_demo.parent_table (name, score) VALUES ($1, $2)";
	for (size_t i = 0; i < 3; i++) {
		pgorm_value p[] = { PGORM_TEXT(names[i]), PGORM_FLOAT8(1.5 * (double)(i + 1)) };
		TRY("insert", pgorm_conn_exec(c, ins, 2, p, NULL));
		printf("INSERT name=$1 %-6s score=$2 %.1f\n", names[i], 1.5 * (double)(i + 1));
	}

	/* A pipeline batch: three statements, one sync, one round trip, atomic. */
	const char *const tags[] = { "x", "y" };
	pgorm_value b1[] = { PGORM_TEXT("delta"), PGORM_NULL(FLOAT8) };
	pgorm_value b2[] = { PGORM_TEXT("epsilon (ε)"), PGORM_FLOAT8(9.25) };
	pgorm_value b3[] = { PGORM_TEXT_ARRAY(tags, 2), PGORM_TEXT("alpha") };
	pgorm_stmt batch[] = {
		{ ins, 2, b1 },
		{ ins, 2, b2 },
		{ "UPDATE exec_demo.parent_table SET tags = $1 WHERE name = $2", 2, b3 },
	};
	pgorm_conn_stats before, after;
	pgorm_conn_stats_get(c, &before);
	TRY("pipeline", pgorm_conn_pipeline(c, 3, batch, NULL));
	pgorm_conn_stats_get(c, &after);
	printf("pipeline: %zu statements in %" PRIu64 " round trip(s)\n", sizeof batch / sizeof batch[0],
	       after.round_trips - before.round_trips);

	/* Read back, filtered by an int8 array parameter (= ANY($1)). */
	const int64_t ids[] = { 1, 2, 3, 4, 5 };
	pgorm_value q[] = { PGORM_INT8_ARRAY(ids, 5) };
	pgorm_result *r = NULL;
	TRY("select", pgorm_conn_exec(c,
		"SELECT id, name, score, array_to_string(tags, ',') FROM exec_demo.parent_table "
		"WHERE id = ANY($1) ORDER BY id", 1, q, &r));
	printf("SELECT ... WHERE id = ANY($1): %zu rows\n", pgorm_result_rows(r));
	for (size_t i = 0; i < pgorm_result_rows(r); i++) {
		int64_t id = 0;
		pgorm_value score;
		pgorm_result_int64(r, i, 0, &id);
		if (pgorm_result_get(r, i, 2, PGORM_TYPE_FLOAT8, &score, &err) < 0) {
			pgorm_result_free(r);
			fprintf(stderr, "exec_demo: decode failed: %s\n", err.message);
			pgorm_conn_close(c);
			return 1;
		}
		const char *t = pgorm_result_text(r, i, 3);
		char sc[32];
		if (score.is_null)
			snprintf(sc, sizeof sc, "NULL");
		else
			snprintf(sc, sizeof sc, "%.2f", score.u.f8);
		printf("  id=%" PRId64 " name=%-12s score=%-5s tags=%s\n", id, pgorm_result_text(r, i, 1),
		       sc, t ? t : "NULL");
	}
	pgorm_result_free(r);

	/* A failing statement: the error carries SQLSTATE and constraint, the value is never shown. */
	pgorm_value dup[] = { PGORM_INT8(1) };
	int rc = pgorm_conn_exec(c, "INSERT INTO exec_demo.parent_table (id, name) VALUES ($1, 'dup')",
	                         1, dup, NULL);
	const pgorm_error *e = pgorm_conn_error(c);
	printf("duplicate key: %s, SQLSTATE %s, constraint %s\n", pgorm_err_name(rc), e->sqlstate,
	       e->constraint);

	pgorm_conn_stats st;
	pgorm_conn_stats_get(c, &st);
	printf("stats: %" PRIu64 " statements, %" PRIu64 " round trips, %" PRIu64 " prepares, %" PRIu64
	       " cache hits\n", st.statements, st.round_trips, st.prepares, st.cache_hits);

	TRY("drop schema", pgorm_conn_exec(c, "DROP SCHEMA exec_demo CASCADE", 0, NULL, NULL));
	pgorm_conn_close(c);
	printf("done\n");
	return rc == PGORM_ECONSTRAINT ? 0 : 1;
}
