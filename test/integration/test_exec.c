/* Integration tests for the exec layer against a real server: statement cache, recovery from
 * 26000 / 0A000, pipelines, cancel / terminate, bad input, error hygiene. */
#include "pgtest.h"
#include "internal.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---- */

static pgorm_conn *connect_cfg(pgorm_stmt_mode mode, size_t cache_size)
{
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = pgtest_dsn();
	cfg.stmt_mode = mode;
	cfg.stmt_cache_size = cache_size;
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_conn_connect(&c, &cfg, &err) == 0, "connect: %s", err.message);
	return c;
}

/* A query on c's socket that bypasses pgorm (and its statement cache). */
static long raw_int(pgorm_conn *c, const char *sql)
{
	PGresult *res = PQexec(pgorm_conn_pq(c), sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(res));
	long v = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static void raw_exec(pgorm_conn *c, const char *sql)
{
	PGresult *res = PQexec(pgorm_conn_pq(c), sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
}

/* Prepared statements the server holds for this session. */
static long server_prepared(pgorm_conn *c)
{
	return raw_int(c, "SELECT count(*) FROM pg_prepared_statements");
}

static long server_prepared_like(pgorm_conn *c, const char *sql)
{
	char q[512];
	snprintf(q, sizeof q, "SELECT count(*) FROM pg_prepared_statements WHERE statement = '%s'", sql);
	return raw_int(c, q);
}

static int64_t select_one(pgorm_conn *c, const char *sql, int64_t arg)
{
	pgorm_value p = PGORM_INT8(arg);
	pgorm_result *r = NULL;
	int rc = pgorm_conn_exec(c, sql, 1, &p, &r);
	ck_assert_msg(rc == 0, "%s: %s (%s)", sql, pgorm_conn_error(c)->message, pgorm_conn_error(c)->sqlstate);
	int64_t v = 0;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &v), 0);
	pgorm_result_free(r);
	return v;
}

static pgorm_conn_stats stats(pgorm_conn *c)
{
	pgorm_conn_stats s;
	pgorm_conn_stats_get(c, &s);
	return s;
}

/* ---- basics ---- */

START_TEST(test_roundtrip_params)
{
	pgorm_conn *c = pgtest_connect();
	pgorm_result *r = NULL;
	pgorm_value p[] = { PGORM_INT8(41), PGORM_TEXT("héllo") };
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1::int8 + 1, $2::text || '!'", 2, p, &r), 0);
	int64_t v;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_str_eq(pgorm_result_text(r, 0, 1), "héllo!");
	pgorm_result_free(r);
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_server_error_has_sqlstate)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "CREATE TABLE u (id int PRIMARY KEY)");
	pgtest_exec(c, "INSERT INTO u VALUES (1)");
	int rc = pgorm_conn_exec(c, "INSERT INTO u VALUES (1)", 0, NULL, NULL);
	ck_assert_int_eq(rc, PGORM_ECONSTRAINT);
	const pgorm_error *e = pgorm_conn_error(c);
	ck_assert_str_eq(e->sqlstate, "23505");
	ck_assert_str_eq(e->constraint, "u_pkey");
	ck_assert_str_eq(e->table, "u");
	ck_assert_str_eq(e->severity, "ERROR");
	ck_assert_ptr_nonnull(strstr(e->statement, "INSERT INTO u"));
	ck_assert(pgorm_conn_ok(c));
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_transactions)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "CREATE TABLE tx (id int)");
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_IDLE);
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_INTRANS);
	pgtest_exec(c, "INSERT INTO tx VALUES (1)");
	ck_assert_int_eq(pgorm_conn_savepoint(c, "sp \"1\""), 0);
	pgtest_exec(c, "INSERT INTO tx VALUES (2)");
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT 1/0", 0, NULL, NULL), PGORM_ESERVER);
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_INERROR);
	ck_assert_int_eq(pgorm_conn_rollback_to(c, "sp \"1\""), 0);
	ck_assert_int_eq(pgorm_conn_release_savepoint(c, "sp \"1\""), 0);
	ck_assert_int_eq(pgorm_conn_commit(c), 0);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM tx"), 1);
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	pgtest_exec(c, "INSERT INTO tx VALUES (3)");
	ck_assert_int_eq(pgorm_conn_rollback(c), 0);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM tx"), 1);
	ck_assert_int_eq(pgorm_conn_savepoint(c, ""), PGORM_EINVAL);
	pgorm_conn_close(c);
}
END_TEST

/* ---- statement cache ---- */

START_TEST(test_cache_hits_misses)
{
	pgorm_conn *c = pgtest_connect();
	pgorm_conn_stats s0 = stats(c);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(select_one(c, "SELECT $1::int8 * 2", i), 2 * i);
	pgorm_conn_stats s1 = stats(c);
	ck_assert_uint_eq(s1.cache_misses - s0.cache_misses, 1);
	ck_assert_uint_eq(s1.cache_hits - s0.cache_hits, 2);
	ck_assert_uint_eq(s1.prepares - s0.prepares, 1);
	ck_assert_uint_eq(s1.statements - s0.statements, 3);
	ck_assert_uint_eq(s1.round_trips - s0.round_trips, 3); /* the PREPARE travels with the first execution */
	/* same SQL, other parameter type: another statement */
	pgorm_value p = PGORM_INT4(5);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1::int8 * 2", 1, &p, NULL), 0);
	pgorm_conn_stats s2 = stats(c);
	ck_assert_uint_eq(s2.cache_misses - s1.cache_misses, 1);
	ck_assert_uint_eq(s2.cached, 2);
	ck_assert_int_eq(server_prepared(c), 2);
	pgorm_conn_close(c);

	/* unnamed mode never prepares */
	c = pgtest_connect_mode(PGORM_STMT_UNNAMED);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(select_one(c, "SELECT $1::int8 * 2", i), 2 * i);
	s1 = stats(c);
	ck_assert_uint_eq(s1.prepares, 0);
	ck_assert_uint_eq(s1.cache_hits + s1.cache_misses, 0);
	ck_assert_uint_eq(s1.statements, 3);
	ck_assert_uint_eq(s1.round_trips, 3);
	ck_assert_int_eq(server_prepared(c), 0);
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_lru_eviction)
{
	pgorm_conn *c = connect_cfg(PGORM_STMT_NAMED, 3);
	pgtest_log log = { 0 };
	pgorm_conn_set_hook(c, pgtest_log_hook, &log, false);
	static const char *sql[] = { "SELECT $1::int8 + 0", "SELECT $1::int8 + 1", "SELECT $1::int8 + 2",
	                             "SELECT $1::int8 + 3", "SELECT $1::int8 + 4" };
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(select_one(c, sql[i], 10), 10 + i);
	pgorm_conn_stats s = stats(c);
	ck_assert_uint_eq(s.evictions, 2);
	ck_assert_uint_eq(s.cached, 3);
	ck_assert_int_eq(server_prepared(c), 3);
	ck_assert_uint_eq(pgtest_log_count(&log, "DEALLOCATE"), 2);
	ck_assert_int_eq(server_prepared_like(c, "SELECT $1::int8 + 0"), 0);
	ck_assert_int_eq(server_prepared_like(c, "SELECT $1::int8 + 4"), 1);
	/* 2 is the least recently used now; touching it makes 3 the next victim */
	ck_assert_int_eq(select_one(c, sql[2], 0), 2);
	ck_assert_uint_eq(stats(c).cache_hits, s.cache_hits + 1);
	ck_assert_int_eq(select_one(c, sql[0], 0), 0); /* miss: evicts 3 */
	ck_assert_int_eq(server_prepared_like(c, "SELECT $1::int8 + 3"), 0);
	ck_assert_int_eq(server_prepared_like(c, "SELECT $1::int8 + 2"), 1);
	ck_assert_int_eq(server_prepared(c), 3);
	ck_assert_uint_eq(stats(c).evictions, 3);
	pgtest_log_clear(&log);
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_recover_26000)
{
	pgorm_conn *c = pgtest_connect();
	ck_assert_int_eq(select_one(c, "SELECT $1::int8 + 100", 1), 101);
	ck_assert_int_eq(select_one(c, "SELECT $1::int8 + 200", 1), 201);
	raw_exec(c, "DEALLOCATE ALL"); /* behind the cache's back */
	ck_assert_int_eq(server_prepared(c), 0);
	ck_assert_int_eq(select_one(c, "SELECT $1::int8 + 100", 2), 102);
	ck_assert_uint_eq(stats(c).reprepares, 1);
	ck_assert_int_eq(select_one(c, "SELECT $1::int8 + 200", 2), 202);
	ck_assert_int_eq(server_prepared(c), 2);
	ck_assert_uint_eq(stats(c).cached, 2);
	pgorm_conn_close(c);
}
END_TEST

/* Bug: with a full cache, the eviction's DEALLOCATE failed with 26000 after a DEALLOCATE ALL
 * behind the cache's back, and the user's statement failed with it. */
START_TEST(test_recover_26000_full_cache)
{
	pgorm_conn *c = connect_cfg(PGORM_STMT_NAMED, 2);
	ck_assert_int_eq(select_one(c, "SELECT $1::int8 + 1", 1), 2);
	ck_assert_int_eq(select_one(c, "SELECT $1::int8 + 2", 1), 3);
	raw_exec(c, "DEALLOCATE ALL");
	ck_assert_int_eq(select_one(c, "SELECT $1::int8 + 3", 1), 4);
	ck_assert_int_eq(select_one(c, "SELECT $1::int8 + 4", 1), 5);
	ck_assert_int_eq(select_one(c, "SELECT $1::int8 + 1", 1), 2);
	ck_assert_int_eq(server_prepared(c), (long)stats(c).cached);
	ck_assert_uint_le(stats(c).cached, 2);
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_recover_0A000)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "CREATE TABLE chg (a int)");
	pgtest_exec(c, "INSERT INTO chg VALUES (1)");
	pgorm_result *r = NULL;
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT * FROM chg", 0, NULL, &r), 0);
	ck_assert_uint_eq(pgorm_result_cols(r), 1);
	pgorm_result_free(r);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT * FROM chg", 0, NULL, NULL), 0);
	raw_exec(c, "ALTER TABLE chg ADD COLUMN b text DEFAULT 'x'");
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT * FROM chg", 0, NULL, &r), 0);
	ck_assert_uint_eq(pgorm_result_cols(r), 2);
	ck_assert_str_eq(pgorm_result_text(r, 0, 1), "x");
	pgorm_result_free(r);
	ck_assert_uint_eq(stats(c).reprepares, 1);
	ck_assert_int_eq(server_prepared_like(c, "SELECT * FROM chg"), 1); /* the stale one is gone */
	pgorm_conn_close(c);
}
END_TEST

/* Bug: 0A000 inside a transaction dropped the cache entry but left the stale statement on the
 * server for the life of the connection. It fails inside the transaction (the transaction is
 * aborted), then recovers afterwards, without leaking. */
START_TEST(test_0A000_in_transaction)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "CREATE TABLE chg2 (a int)");
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT * FROM chg2", 0, NULL, NULL), 0);
	raw_exec(c, "ALTER TABLE chg2 ADD COLUMN b int");
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT * FROM chg2", 0, NULL, NULL), PGORM_ESERVER);
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "0A000");
	ck_assert_int_eq(pgorm_conn_rollback(c), 0);
	/* next transaction works at once */
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	pgorm_result *r = NULL;
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT * FROM chg2", 0, NULL, &r), 0);
	ck_assert_uint_eq(pgorm_result_cols(r), 2);
	pgorm_result_free(r);
	ck_assert_int_eq(pgorm_conn_commit(c), 0);
	ck_assert_int_eq(server_prepared_like(c, "SELECT * FROM chg2"), 1);
	ck_assert_int_eq(server_prepared(c), (long)stats(c).cached);
	pgorm_conn_close(c);
}
END_TEST

/* ---- pipelines ---- */

static void pipeline_error_middle(pgorm_stmt_mode mode)
{
	pgorm_conn *c = connect_cfg(mode, 256);
	pgtest_exec(c, mode == PGORM_STMT_NAMED ? "CREATE TABLE pe_n (id int PRIMARY KEY)"
	                                        : "CREATE TABLE pe_u (id int PRIMARY KEY)");
	const char *ins = mode == PGORM_STMT_NAMED ? "INSERT INTO pe_n VALUES ($1) RETURNING id"
	                                           : "INSERT INTO pe_u VALUES ($1) RETURNING id";
	pgorm_value v[4] = { PGORM_INT4(1), PGORM_INT4(2), PGORM_INT4(1), PGORM_INT4(3) };
	pgorm_stmt st[4];
	for (int i = 0; i < 4; i++)
		st[i] = (pgorm_stmt){ ins, 1, &v[i] };
	pgorm_result *res[4] = { 0 };
	pgtest_log log = { 0 };
	pgorm_conn_set_hook(c, pgtest_log_hook, &log, false);
	int rc = pgorm_conn_pipeline(c, 4, st, res);
	ck_assert_int_eq(rc, PGORM_ECONSTRAINT);
	const pgorm_error *e = pgorm_conn_error(c);
	ck_assert_int_eq(e->stmt_index, 2);
	ck_assert_str_eq(e->sqlstate, "23505");
	ck_assert_ptr_nonnull(strstr(e->statement, "INSERT INTO pe_"));
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_null(res[i]);
	ck_assert(pgorm_conn_ok(c));
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_IDLE);
	pgorm_conn_set_hook(c, NULL, NULL, false);
	ck_assert_uint_eq(pgtest_log_count(&log, "INSERT INTO pe_"), 4);
	pgtest_log_clear(&log);
	ck_assert_int_eq(pgtest_int(c, mode == PGORM_STMT_NAMED ? "SELECT count(*) FROM pe_n"
	                                                       : "SELECT count(*) FROM pe_u"), 0);
	/* the same batch without the duplicate commits everything and returns each result */
	v[2] = PGORM_INT4(4);
	ck_assert_int_eq(pgorm_conn_pipeline(c, 4, st, res), 0);
	for (int i = 0; i < 4; i++) {
		int64_t id;
		ck_assert_int_eq(pgorm_result_int64(res[i], 0, 0, &id), 0);
		ck_assert_int_eq(id, v[i].u.i32);
		pgorm_result_free(res[i]);
	}
	ck_assert_int_eq(pgtest_int(c, mode == PGORM_STMT_NAMED ? "SELECT count(*) FROM pe_n"
	                                                       : "SELECT count(*) FROM pe_u"), 4);
	pgorm_conn_close(c);
}

START_TEST(test_pipeline_error_middle_named) { pipeline_error_middle(PGORM_STMT_NAMED); }
END_TEST
START_TEST(test_pipeline_error_middle_unnamed) { pipeline_error_middle(PGORM_STMT_UNNAMED); }
END_TEST

START_TEST(test_pipeline_prepare_failure)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "CREATE TABLE pf (id int)");
	pgorm_value v = PGORM_INT4(1);
	pgorm_stmt st[3] = {
		{ "INSERT INTO pf VALUES ($1)", 1, &v },
		{ "SELEC nonsense", 0, NULL },
		{ "INSERT INTO pf VALUES ($1 + 1)", 1, &v },
	};
	ck_assert_int_eq(pgorm_conn_pipeline(c, 3, st, NULL), PGORM_ESERVER);
	ck_assert_int_eq(pgorm_conn_error(c)->stmt_index, 1);
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "42601");
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM pf"), 0);
	/* nothing half-prepared stays in the cache */
	ck_assert_int_eq(server_prepared(c), (long)stats(c).cached);
	st[1] = (pgorm_stmt){ "SELECT 1", 0, NULL };
	ck_assert_int_eq(pgorm_conn_pipeline(c, 3, st, NULL), 0);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM pf"), 2);
	ck_assert_int_eq(server_prepared(c), (long)stats(c).cached);
	pgorm_conn_close(c);
}
END_TEST

static void pipeline_large(pgorm_stmt_mode mode, const char *table)
{
	enum { N = 20000 };
	pgorm_conn *c = connect_cfg(mode, 256);
	char sql[128];
	snprintf(sql, sizeof sql, "CREATE TABLE %s (id int8, label text)", table);
	pgtest_exec(c, sql);
	snprintf(sql, sizeof sql, "INSERT INTO %s VALUES ($1, $2)", table);
	pgorm_value *v = calloc(2 * N, sizeof *v);
	pgorm_stmt *st = calloc(N, sizeof *st);
	static const char label[] = "a label long enough to fill the socket buffers quickly ........";
	for (int i = 0; i < N; i++) {
		v[2 * i] = PGORM_INT8(i);
		v[2 * i + 1] = PGORM_TEXT(label);
		st[i] = (pgorm_stmt){ sql, 2, &v[2 * i] };
	}
	pgorm_conn_stats s0 = stats(c);
	int rc = pgorm_conn_pipeline(c, N, st, NULL);
	ck_assert_msg(rc == 0, "pipeline: %s", pgorm_conn_error(c)->message);
	pgorm_conn_stats s1 = stats(c);
	ck_assert_uint_eq(s1.round_trips - s0.round_trips, 1);
	ck_assert_uint_eq(s1.statements - s0.statements, N);
	ck_assert_uint_eq(s1.prepares - s0.prepares, mode == PGORM_STMT_NAMED ? 1 : 0);
	snprintf(sql, sizeof sql, "SELECT (count(*) + sum(id))::int8 FROM %s", table);
	ck_assert_int_eq(pgtest_int(c, sql), N + (int64_t)N * (N - 1) / 2);
	free(v);
	free(st);
	pgorm_conn_close(c);
}

START_TEST(test_pipeline_large_named) { pipeline_large(PGORM_STMT_NAMED, "big_n"); }
END_TEST
START_TEST(test_pipeline_large_unnamed) { pipeline_large(PGORM_STMT_UNNAMED, "big_u"); }
END_TEST

/* Bug: a batch that needed an eviction sent DEALLOCATE inside the batch; after DEALLOCATE ALL
 * behind the cache's back it failed with 26000, aborted the whole batch, and the error was
 * reported against an innocent statement. */
START_TEST(test_pipeline_eviction_after_deallocate_all)
{
	pgorm_conn *c = connect_cfg(PGORM_STMT_NAMED, 2);
	pgtest_exec(c, "CREATE TABLE pev (id int)");
	pgorm_value v = PGORM_INT4(1);
	pgorm_stmt a[2] = { { "INSERT INTO pev VALUES ($1)", 1, &v }, { "INSERT INTO pev VALUES ($1 + 1)", 1, &v } };
	ck_assert_int_eq(pgorm_conn_pipeline(c, 2, a, NULL), 0);
	raw_exec(c, "DEALLOCATE ALL");
	pgorm_stmt b[2] = { { "INSERT INTO pev VALUES ($1 + 2)", 1, &v }, { "INSERT INTO pev VALUES ($1 + 3)", 1, &v } };
	int rc = pgorm_conn_pipeline(c, 2, b, NULL);
	ck_assert_msg(rc == 0, "pipeline: %s (%s) at %ld", pgorm_conn_error(c)->message,
	              pgorm_conn_error(c)->sqlstate, pgorm_conn_error(c)->stmt_index);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM pev"), 4);
	pgorm_conn_close(c);
}
END_TEST

/* Bug: a cached statement that failed with 26000 / 0A000 inside a batch stayed in the cache,
 * so every later batch using it failed the same way. Outside a transaction the batch is now
 * retried once (it was rolled back as a whole); either way the cache is repaired. */
START_TEST(test_pipeline_stale_cache)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "CREATE TABLE pst (a int)");
	pgorm_value v = PGORM_INT4(1);
	pgorm_stmt st[2] = { { "INSERT INTO pst VALUES ($1)", 1, &v }, { "SELECT * FROM pst", 0, NULL } };
	pgorm_result *res[2];
	ck_assert_int_eq(pgorm_conn_pipeline(c, 2, st, res), 0);
	ck_assert_uint_eq(pgorm_result_cols(res[1]), 1);
	pgorm_result_free(res[0]);
	pgorm_result_free(res[1]);

	raw_exec(c, "DEALLOCATE ALL");
	int rc = pgorm_conn_pipeline(c, 2, st, NULL);
	ck_assert_msg(rc == 0, "after DEALLOCATE ALL: %s", pgorm_conn_error(c)->message);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM pst"), 2);

	raw_exec(c, "ALTER TABLE pst ADD COLUMN b int");
	rc = pgorm_conn_pipeline(c, 2, st, res);
	ck_assert_msg(rc == 0, "after ALTER TABLE: %s", pgorm_conn_error(c)->message);
	ck_assert_uint_eq(pgorm_result_cols(res[1]), 2);
	pgorm_result_free(res[0]);
	pgorm_result_free(res[1]);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM pst"), 3);

	/* inside a transaction: the batch fails, the next one (new transaction) works */
	raw_exec(c, "ALTER TABLE pst DROP COLUMN b");
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	ck_assert_int_eq(pgorm_conn_pipeline(c, 2, st, NULL), PGORM_ESERVER);
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "0A000");
	ck_assert_int_eq(pgorm_conn_error(c)->stmt_index, 1);
	ck_assert_int_eq(pgorm_conn_rollback(c), 0);
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	ck_assert_int_eq(pgorm_conn_pipeline(c, 2, st, NULL), 0);
	ck_assert_int_eq(pgorm_conn_commit(c), 0);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM pst"), 4);
	/* the stale statements were DEALLOCATEd, not leaked */
	ck_assert_int_eq(server_prepared_like(c, "SELECT * FROM pst"), 1);
	ck_assert_int_eq(server_prepared_like(c, "INSERT INTO pst VALUES ($1)"), 1);
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_pipeline_in_transaction_and_empty)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "CREATE TABLE ptx (id int PRIMARY KEY)");
	ck_assert_int_eq(pgorm_conn_pipeline(c, 0, NULL, NULL), 0);
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	pgorm_value v[2] = { PGORM_INT4(1), PGORM_INT4(2) };
	pgorm_stmt st[2] = { { "INSERT INTO ptx VALUES ($1)", 1, &v[0] }, { "INSERT INTO ptx VALUES ($1)", 1, &v[1] } };
	ck_assert_int_eq(pgorm_conn_pipeline(c, 2, st, NULL), 0);
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_INTRANS);
	ck_assert_int_eq(pgorm_conn_rollback(c), 0);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM ptx"), 0);
	/* a batch larger than the cache bound still works (entries pinned for the batch) */
	pgorm_conn_close(c);
	c = connect_cfg(PGORM_STMT_NAMED, 2);
	char sql[5][64];
	pgorm_stmt many[5];
	for (int i = 0; i < 5; i++) {
		snprintf(sql[i], sizeof sql[i], "INSERT INTO ptx VALUES ($1 + %d)", 10 * i);
		many[i] = (pgorm_stmt){ sql[i], 1, &v[0] };
	}
	ck_assert_int_eq(pgorm_conn_pipeline(c, 5, many, NULL), 0);
	ck_assert_int_eq(pgorm_conn_pipeline(c, 5, many, NULL), PGORM_ECONSTRAINT);
	ck_assert_int_eq(pgorm_conn_error(c)->stmt_index, 0);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM ptx"), 5);
	ck_assert_int_eq(server_prepared(c), (long)stats(c).cached);
	ck_assert_uint_le(stats(c).cached, 5);
	pgorm_conn_close(c);
}
END_TEST

/* ---- cancel / terminate from another connection ---- */

typedef struct killer {
	int pid;
	const char *fn;     /* pg_cancel_backend or pg_terminate_backend */
	bool done;
} killer;

static void *killer_main(void *arg)
{
	killer *k = arg;
	pgorm_conn *c = pgtest_connect_mode(PGORM_STMT_UNNAMED);
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SELECT %s(pid) FROM pg_stat_activity WHERE pid = $1 AND state = 'active' "
	         "AND query LIKE '%%pg_sleep%%'", k->fn);
	pgorm_value p = PGORM_INT4(k->pid);
	/* bounded: wait for the victim to be inside pg_sleep */
	for (int i = 0; i < 3000 && !k->done; i++) {
		pgorm_result *r = NULL;
		if (pgorm_conn_exec(c, sql, 1, &p, &r) == 0 && pgorm_result_rows(r) == 1)
			k->done = true;
		pgorm_result_free(r);
		if (!k->done)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	pgorm_conn_close(c);
	return NULL;
}

static pthread_t start_killer(killer *k, pgorm_conn *victim, const char *fn)
{
	k->pid = PQbackendPID(pgorm_conn_pq(victim));
	k->fn = fn;
	k->done = false;
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, killer_main, k), 0);
	return t;
}

START_TEST(test_cancel)
{
	pgorm_conn *c = pgtest_connect();
	killer k;
	pthread_t t = start_killer(&k, c, "pg_cancel_backend");
	pgorm_value p = PGORM_FLOAT8(60);
	int rc = pgorm_conn_exec(c, "SELECT pg_sleep($1)", 1, &p, NULL);
	pthread_join(t, NULL);
	ck_assert(k.done);
	ck_assert_int_eq(rc, PGORM_ESERVER);
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "57014");
	ck_assert(!pgorm_error_is_connection(pgorm_conn_error(c)));
	ck_assert(pgorm_conn_ok(c));
	ck_assert_int_eq(select_one(c, "SELECT $1::int8", 7), 7);
	pgorm_conn_close(c);
}
END_TEST

static void check_lost(pgorm_conn *c, int rc)
{
	ck_assert_int_eq(rc, PGORM_ECONN);
	ck_assert(pgorm_error_is_connection(pgorm_conn_error(c)));
	ck_assert(!pgorm_conn_ok(c));
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_UNKNOWN);
	/* further use fails at once with a connection error, nothing hangs */
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT 1", 0, NULL, NULL), PGORM_ECONN);
	pgorm_stmt st = { "SELECT 1", 0, NULL };
	ck_assert_int_eq(pgorm_conn_pipeline(c, 1, &st, NULL), PGORM_ECONN);
	ck_assert_int_eq(pgorm_conn_begin(c), PGORM_ECONN);
}

START_TEST(test_terminate)
{
	pgorm_conn *c = pgtest_connect();
	killer k;
	pthread_t t = start_killer(&k, c, "pg_terminate_backend");
	pgorm_value p = PGORM_FLOAT8(60);
	int rc = pgorm_conn_exec(c, "SELECT pg_sleep($1)", 1, &p, NULL);
	pthread_join(t, NULL);
	ck_assert(k.done);
	ck_assert_msg(strcmp(pgorm_conn_error(c)->sqlstate, "57P01") == 0 || pgorm_conn_error(c)->sqlstate[0] == '\0',
	              "sqlstate %s", pgorm_conn_error(c)->sqlstate);
	check_lost(c, rc);
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_terminate_in_pipeline)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "CREATE TABLE pterm (id int)");
	killer k;
	pthread_t t = start_killer(&k, c, "pg_terminate_backend");
	pgorm_value v = PGORM_INT4(1), s = PGORM_FLOAT8(60);
	pgorm_stmt st[4] = {
		{ "INSERT INTO pterm VALUES ($1)", 1, &v },
		{ "SELECT pg_sleep($1)", 1, &s },
		{ "INSERT INTO pterm VALUES ($1)", 1, &v },
		{ "SELECT 1", 0, NULL },
	};
	pgorm_result *res[4];
	int rc = pgorm_conn_pipeline(c, 4, st, res);
	pthread_join(t, NULL);
	ck_assert(k.done);
	ck_assert_int_eq(pgorm_conn_error(c)->stmt_index, 1);
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_null(res[i]);
	check_lost(c, rc);
	pgorm_conn_close(c);
	c = pgtest_connect();
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM pterm"), 0);
	pgorm_conn_close(c);
}
END_TEST

/* ---- bad input ---- */

START_TEST(test_bad_input)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_log log = { 0 };
	pgorm_conn_set_hook(c, pgtest_log_hook, &log, false);
	pgorm_conn_stats s0 = stats(c);

	ck_assert_int_eq(pgorm_conn_exec(c, NULL, 0, NULL, NULL), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1", 1, NULL, NULL), PGORM_EINVAL);
	size_t big = 65536;
	pgorm_value *many = calloc(big, sizeof *many);
	for (size_t i = 0; i < big; i++)
		many[i] = PGORM_INT4(1);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT 1", big, many, NULL), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_conn_error(c)->message, "65535"));
	pgorm_value bad_utf8 = PGORM_TEXTN("ok\xc3\x28", 4);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1", 1, &bad_utf8, NULL), PGORM_EENCODING);
	static const char *const bad_arr[] = { "fine", "\xff" };
	pgorm_value bad_elem = PGORM_TEXT_ARRAY(bad_arr, 2);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1", 1, &bad_elem, NULL), PGORM_EENCODING);
	pgorm_value unknown = { .type = (pgorm_type)4242 };
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1", 1, &unknown, NULL), PGORM_ETYPE);
	pgorm_value invalid = { .type = PGORM_TYPE_INVALID };
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1", 1, &invalid, NULL), PGORM_ETYPE);
	pgorm_value nullptr_text = PGORM_TEXTN(NULL, 3);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1", 1, &nullptr_text, NULL), PGORM_EINVAL);
	static const char *const null_elem[] = { "a", NULL };
	pgorm_value ne = PGORM_TEXT_ARRAY(null_elem, 2);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1", 1, &ne, NULL), PGORM_EINVAL);
	/* pipelines check every statement before sending anything */
	pgorm_value one = PGORM_INT4(1);
	pgorm_stmt st[3] = { { "SELECT $1", 1, &one }, { "SELECT $1", 1, &bad_utf8 }, { NULL, 0, NULL } };
	ck_assert_int_eq(pgorm_conn_pipeline(c, 3, st, NULL), PGORM_EENCODING);
	ck_assert_int_eq(pgorm_conn_error(c)->stmt_index, 1);
	st[1].params = &one;
	ck_assert_int_eq(pgorm_conn_pipeline(c, 3, st, NULL), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_conn_error(c)->stmt_index, 2);
	ck_assert_int_eq(pgorm_conn_pipeline(c, 2, NULL, NULL), PGORM_EINVAL);
	st[0].nparams = big;
	st[0].params = many;
	ck_assert_int_eq(pgorm_conn_pipeline(c, 1, st, NULL), PGORM_EINVAL);
	free(many);

	pgorm_conn_stats s1 = stats(c);
	ck_assert_uint_eq(s1.statements, s0.statements);
	ck_assert_uint_eq(s1.round_trips, s0.round_trips);
	ck_assert_uint_eq(log.n, 0);
	/* nothing reached the server, and the connection is fine */
	ck_assert(pgorm_conn_ok(c));
	ck_assert_int_eq(select_one(c, "SELECT $1::int8", 3), 3);

	/* NULL handles */
	ck_assert_int_eq(pgorm_conn_exec(NULL, "SELECT 1", 0, NULL, NULL), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_conn_pipeline(NULL, 0, NULL, NULL), PGORM_EINVAL);
	ck_assert(!pgorm_conn_ok(NULL));
	pgorm_conn_close(NULL);
	pgtest_log_clear(&log);
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_result_getters)
{
	pgorm_conn *c = pgtest_connect();
	pgorm_result *r = NULL;
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT 'abc'::text AS name, 5::int4 AS n, NULL::int8 AS z", 0, NULL, &r), 0);
	pgorm_value v;
	pgorm_error err;
	ck_assert_int_eq(pgorm_result_get(r, 0, 0, PGORM_TYPE_INT8, &v, &err), PGORM_ETYPE);
	ck_assert_ptr_nonnull(strstr(err.message, "\"name\""));
	ck_assert_ptr_nonnull(strstr(err.message, "int8"));
	ck_assert_int_eq(pgorm_result_get(r, 0, 1, PGORM_TYPE_TEXT, &v, &err), PGORM_ETYPE);
	ck_assert_ptr_nonnull(strstr(err.message, "\"n\""));
	ck_assert_int_eq(pgorm_result_get(r, 1, 0, PGORM_TYPE_TEXT, &v, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_result_get(r, 0, 3, PGORM_TYPE_TEXT, &v, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_result_get(r, SIZE_MAX, SIZE_MAX, PGORM_TYPE_TEXT, &v, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_result_get(r, 0, 0, PGORM_TYPE_TEXT, NULL, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_result_get(NULL, 0, 0, PGORM_TYPE_TEXT, &v, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_result_get(r, 0, 2, PGORM_TYPE_INT8, &v, &err), 0);
	ck_assert(v.is_null);
	ck_assert(pgorm_result_is_null(r, 0, 2));
	ck_assert(pgorm_result_is_null(r, 5, 5));
	ck_assert_ptr_null(pgorm_result_col_name(r, 3));
	ck_assert_str_eq(pgorm_result_col_name(r, 1), "n");
	ck_assert_int_eq(pgorm_result_col_type(r, 9), PGORM_TYPE_INVALID);
	ck_assert_ptr_null(pgorm_result_text(r, 0, 1)); /* not a text column */
	ck_assert_ptr_null(pgorm_result_text(r, 7, 0));
	int64_t i = 99;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &i), PGORM_ETYPE);
	ck_assert_int_eq(i, 0);
	ck_assert_uint_eq(pgorm_result_rows(NULL), 0);
	pgorm_result_free(r);
	pgtest_exec(c, "CREATE TABLE aff (id int)");
	ck_assert_int_eq(pgorm_conn_exec(c, "INSERT INTO aff SELECT generate_series(1, 7)", 0, NULL, &r), 0);
	ck_assert_uint_eq(pgorm_result_affected(r), 7);
	pgorm_result_free(r);
	pgorm_conn_close(c);
}
END_TEST

/* ---- connecting: errors never carry the password ---- */

START_TEST(test_password_not_in_errors)
{
	static const char *dsns[] = {
		"password=SeCrEt123 host=127.0.0.1 port=1 connect_timeout=5",
		"host=127.0.0.1 port=1 user=u password=SeCrEt123",
		"host=no-such-host.invalid password=SeCrEt123",
		"password=SeCrEt123 no_such_option=1",
		"password='SeCrEt123",
		"password=SeCrEt123 port=notaport",
		"postgresql://u:SeCrEt123@127.0.0.1:1/db",
		"postgresql://u:SeCrEt123@[::1",
		"postgresql://u:SeCrEt123@127.0.0.1:1/db?bogus=1",
		"postgresql://u:SeCrEt123@127.0.0.1:notaport/db",
		"postgresql://u:SeCrEt123@host/db?sslmode=nonsense",
	};
	for (size_t i = 0; i < sizeof dsns / sizeof dsns[0]; i++) {
		pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
		cfg.conninfo = dsns[i];
		pgorm_conn *c = (pgorm_conn *)&cfg; /* must be reset to NULL */
		pgorm_error err;
		int rc = pgorm_conn_connect(&c, &cfg, &err);
		ck_assert_msg(rc == PGORM_ECONN || rc == PGORM_EINVAL, "%s: rc %d", dsns[i], rc);
		ck_assert_ptr_null(c);
		ck_assert_int_eq(err.code, rc);
		ck_assert_msg(err.message[0] != '\0', "%s: empty message", dsns[i]);
		ck_assert_msg(strstr(err.message, "SeCrEt123") == NULL && strstr(err.detail, "SeCrEt123") == NULL,
		              "password leaked: %s", err.message);
	}
	ck_assert_int_eq(pgorm_conn_connect(NULL, NULL, NULL), PGORM_EINVAL);
}
END_TEST

static void assert_connect_hides(const char *conninfo, const char *secret)
{
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = conninfo;
	pgorm_conn *c = NULL;
	pgorm_error err;
	int rc = pgorm_conn_connect(&c, &cfg, &err);
	ck_assert_msg(rc == PGORM_ECONN || rc == PGORM_EINVAL, "%s: rc %d", conninfo, rc);
	ck_assert_ptr_null(c);
	ck_assert_msg(err.message[0] != '\0', "%s: empty message", conninfo);
	ck_assert_msg(strstr(err.message, secret) == NULL, "%s: password leaked: %s", conninfo, err.message);
}

/* A password given as a URI query parameter, or as a second password= keyword of a conninfo
 * libpq cannot parse, is taken out of the message too. */
START_TEST(test_issue_password_uri_query)
{
	assert_connect_hides("postgresql://[::1/db?password=SeCrEt123", "SeCrEt");
	assert_connect_hides("postgresql://[::1/db?sslmode=disable&password=SeCrEt123", "SeCrEt");
	assert_connect_hides("postgresql://[::1/db?password=SeCrEt123&sslmode=disable", "SeCrEt");
	assert_connect_hides("host=/nonexistent password=x password=SeCrEt123 bogus=1", "SeCrEt");
	assert_connect_hides("host=/nonexistent password=SeCrEt123 password=x bogus=1", "SeCrEt");
}
END_TEST

/* The message is redacted before it is cut to its 256 bytes: a password that straddles the
 * cut does not show, not even its first characters. */
START_TEST(test_issue_password_truncation)
{
	char user[300], ci[512];
	for (size_t ul = 100; ul < 160; ul++) {
		memset(user, 'u', ul);
		user[ul] = '\0';
		snprintf(ci, sizeof ci, "postgresql://%s:SeCrEt123@[::1/db", user);
		assert_connect_hides(ci, ":S"); /* not even one character */
	}
}
END_TEST

/* Issue 12 item 9: an absurd stmt_cache_size looped forever sizing the cache; an unknown
 * stmt_mode was accepted. Both are PGORM_EINVAL, before anything is connected. */
START_TEST(test_issue12_conn_config_refused)
{
	size_t sizes[] = { SIZE_MAX, SIZE_MAX / 2 + 1, (size_t)1 << 40, PGORM_STMT_CACHE_MAX + 1 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
		cfg.conninfo = pgtest_dsn();
		cfg.stmt_cache_size = sizes[i];
		pgorm_conn *c = (pgorm_conn *)&cfg;
		pgorm_error err;
		ck_assert_int_eq(pgorm_conn_connect(&c, &cfg, &err), PGORM_EINVAL);
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(err.message, "stmt_cache_size") != NULL, "%s", err.message);
	}
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = pgtest_dsn();
	cfg.stmt_mode = (pgorm_stmt_mode)7;
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_conn_connect(&c, &cfg, &err), PGORM_EINVAL);
	ck_assert_msg(strstr(err.message, "stmt_mode 7") != NULL, "%s", err.message);
	/* adopt checks the same, and leaves the PGconn to the caller */
	PGconn *pq = PQconnectdb(pgtest_dsn());
	ck_assert_int_eq(PQstatus(pq), CONNECTION_OK);
	ck_assert_int_eq(pgorm_conn_adopt(&c, pq, &cfg, &err), PGORM_EINVAL);
	cfg.stmt_mode = PGORM_STMT_NAMED;
	cfg.stmt_cache_size = SIZE_MAX;
	ck_assert_int_eq(pgorm_conn_adopt(&c, pq, &cfg, &err), PGORM_EINVAL);
	cfg.stmt_cache_size = PGORM_STMT_CACHE_MAX; /* the limit itself is fine */
	ck_assert_int_eq(pgorm_conn_adopt(&c, pq, &cfg, &err), 0);
	ck_assert_int_eq(pgtest_int(c, "SELECT 3"), 3);
	pgorm_conn_close(c);
}
END_TEST

/* Issue 12 item 12: the server ends an idle-in-transaction session with FATAL 25P03 and closes
 * the socket; the next statement reads that error, then EOF. It used to be reported as libpq's
 * "server closed the connection unexpectedly" (no SQLSTATE): the server's reason is kept. */
static void idle_in_tx_timeout(pgorm_stmt_mode mode, int how)
{
	pgorm_conn *c = pgtest_connect_mode(mode);
	pgtest_exec(c, "SET idle_in_transaction_session_timeout = 200");
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	pgtest_wait_server_closed(c); /* the timeout fired (not a fixed sleep: a loaded server is late) */
	int rc;
	if (how == 0) {
		rc = pgorm_conn_exec(c, "SELECT $1::int", 1, (pgorm_value[]){ PGORM_INT4(1) }, NULL);
	} else if (how == 1) {
		rc = pgorm_conn_commit(c);
	} else {
		pgorm_stmt st[2] = { { "SELECT 1", 0, NULL }, { "SELECT 2", 0, NULL } };
		rc = pgorm_conn_pipeline(c, 2, st, NULL);
	}
	const pgorm_error *e = pgorm_conn_error(c);
	ck_assert_msg(rc == PGORM_ECONN, "mode %d how %d: %s: %s", (int)mode, how, pgorm_err_name(rc), e->message);
	ck_assert_msg(strcmp(e->sqlstate, "25P03") == 0, "mode %d how %d: sqlstate \"%s\": %s", (int)mode, how,
	              e->sqlstate, e->message);
	ck_assert_msg(strstr(e->message, "idle-in-transaction") != NULL, "%s", e->message);
	ck_assert_str_eq(e->severity, "FATAL");
	ck_assert(pgorm_error_is_connection(e));
	ck_assert(!pgorm_conn_ok(c));
	pgorm_conn_close(c);
}

START_TEST(test_issue12_idle_in_transaction_timeout_sqlstate)
{
	for (int how = 0; how < 3; how++) {
		idle_in_tx_timeout(PGORM_STMT_NAMED, how);
		idle_in_tx_timeout(PGORM_STMT_UNNAMED, how);
	}
}
END_TEST

/* A connect error the server sends carries its SQLSTATE (libpq's own PQconnectdb message does
 * not), and the message reads as libpq's default one. */
START_TEST(test_connect_error_sqlstate)
{
	char dsn[1024];
	snprintf(dsn, sizeof dsn, "%s dbname=pgorm_no_such_db", pgtest_dsn());
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = dsn;
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_conn_connect(&c, &cfg, &err), PGORM_ECONN);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err.sqlstate, "3D000");
	ck_assert_msg(strncmp(err.message, "connect failed: ", 16) == 0, "%s", err.message);
	ck_assert_msg(strstr(err.message, "FATAL:  database \"pgorm_no_such_db\" does not exist") != NULL, "%s", err.message);
	ck_assert_msg(strstr(err.message, "3D000") == NULL && strstr(err.message, "LOCATION") == NULL, "%s", err.message);
	snprintf(dsn, sizeof dsn, "%s user=pgorm_no_such_role", pgtest_dsn());
	ck_assert_int_eq(pgorm_conn_connect(&c, &cfg, &err), PGORM_ECONN);
	ck_assert_str_eq(err.sqlstate, "28000");
	ck_assert_uint_eq(pgorm__sqlstate_flags(err.sqlstate), PGORM__SQLSTATE_PERMANENT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exec");
	TCase *tc = tcase_create("core");
	tcase_add_unchecked_fixture(tc, pgtest_schema_setup, pgtest_schema_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_roundtrip_params);
	tcase_add_test(tc, test_server_error_has_sqlstate);
	tcase_add_test(tc, test_transactions);
	tcase_add_test(tc, test_cache_hits_misses);
	tcase_add_test(tc, test_lru_eviction);
	tcase_add_test(tc, test_recover_26000);
	tcase_add_test(tc, test_recover_26000_full_cache);
	tcase_add_test(tc, test_recover_0A000);
	tcase_add_test(tc, test_0A000_in_transaction);
	tcase_add_test(tc, test_pipeline_error_middle_named);
	tcase_add_test(tc, test_pipeline_error_middle_unnamed);
	tcase_add_test(tc, test_pipeline_prepare_failure);
	tcase_add_test(tc, test_pipeline_large_named);
	tcase_add_test(tc, test_pipeline_large_unnamed);
	tcase_add_test(tc, test_pipeline_eviction_after_deallocate_all);
	tcase_add_test(tc, test_pipeline_stale_cache);
	tcase_add_test(tc, test_pipeline_in_transaction_and_empty);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_terminate);
	tcase_add_test(tc, test_terminate_in_pipeline);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_result_getters);
	tcase_add_test(tc, test_password_not_in_errors);
	tcase_add_test(tc, test_issue_password_uri_query);
	tcase_add_test(tc, test_issue_password_truncation);
	tcase_add_test(tc, test_issue12_conn_config_refused);
	tcase_add_test(tc, test_issue12_idle_in_transaction_timeout_sqlstate);
	tcase_add_test(tc, test_connect_error_sqlstate);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
