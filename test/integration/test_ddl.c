/* Integration tests: pgorm_registry_create_all / drop_all / check against a real server.
 *
 * The models cover a parent/child pair (FK ON DELETE CASCADE), a composite primary key, every
 * column type, a many-to-many pair through an association table and a self-referencing tree.
 * Every assertion reads pg_catalog (or the statements the connection issued), not only return
 * codes. Everything runs in this executable's own schema (search_path).
 */
#include "pgtest.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- models ---- */

typedef struct Parent { pgorm_object hdr; int64_t id; char *name; pgorm_collection children; } Parent;
typedef struct Child { pgorm_object hdr; int64_t id; int64_t parent_id; char *name; Parent *parent; } Child;
typedef struct Cpk { pgorm_object hdr; int32_t a; char *b; double val; } Cpk;
typedef struct AllTypes {
	pgorm_object hdr;
	int32_t id;
	bool flag;
	int16_t small;
	int64_t big;
	float f4;
	double f8;
	char *txt;
	pgorm_bytes bin;
	char *num;
	int32_t d;
	int64_t ts;
	int64_t tstz;
	pgorm_uuid u;
	char *j;
	char *jb;
	int32_t ver;
} AllTypes;
typedef struct Post { pgorm_object hdr; int64_t id; char *title; pgorm_collection tags; } Post;
typedef struct Tag { pgorm_object hdr; int32_t id; char *label; pgorm_collection posts; } Tag;
typedef struct Node {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	struct Node *parent;
	pgorm_collection children;
} Node;

extern const pgorm_model parent_model, child_model, cpk_model, alltypes_model, post_model, tag_model,
	node_model;

static const pgorm_column parent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Parent, id),
	PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, Parent, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship parent_rels[] = {
	PGORM_ONE_TO_MANY("children", Parent, children, &child_model, "parent_id", "parent", 0),
	PGORM_RELATIONSHIP_END
};
const pgorm_model parent_model = PGORM_MODEL("parent_table", Parent, parent_cols, parent_rels);

static const pgorm_column child_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Child, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Child, parent_id, "parent_table", "id", PGORM_FK_CASCADE),
	PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, Child, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship child_rels[] = {
	PGORM_MANY_TO_ONE("parent", Child, parent, &parent_model, "parent_id", "children"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model child_model = PGORM_MODEL("child_table", Child, child_cols, child_rels);

static const pgorm_column cpk_cols[] = {
	PGORM_COLUMN(INT4, "a", PGORM_PK, Cpk, a),
	PGORM_COLUMN(TEXT, "b", PGORM_PK, Cpk, b),
	PGORM_COLUMN(FLOAT8, "val", PGORM_NULLABLE, Cpk, val),
	PGORM_COLUMN_END
};
const pgorm_model cpk_model = PGORM_MODEL("cpk", Cpk, cpk_cols, NULL);

static const pgorm_column alltypes_cols[] = {
	PGORM_COLUMN(INT4, "id", PGORM_PK | PGORM_SERVER_DEFAULT, AllTypes, id),
	PGORM_COLUMN(BOOL, "flag", PGORM_NOT_NULL, AllTypes, flag),
	PGORM_COLUMN(INT2, "small", PGORM_NULLABLE, AllTypes, small),
	PGORM_COLUMN(INT8, "big", PGORM_UNIQUE, AllTypes, big),
	PGORM_COLUMN(FLOAT4, "f4", PGORM_NULLABLE, AllTypes, f4),
	PGORM_COLUMN(FLOAT8, "f8", PGORM_NULLABLE, AllTypes, f8),
	PGORM_COLUMN(TEXT, "txt", PGORM_NULLABLE, AllTypes, txt),
	PGORM_COLUMN(BYTEA, "bin", PGORM_NULLABLE, AllTypes, bin),
	PGORM_COLUMN(NUMERIC, "num", PGORM_NULLABLE, AllTypes, num),
	PGORM_COLUMN(DATE, "d", PGORM_NULLABLE, AllTypes, d),
	PGORM_COLUMN(TIMESTAMP, "ts", PGORM_NULLABLE, AllTypes, ts),
	PGORM_COLUMN(TIMESTAMPTZ, "tstz", PGORM_SERVER_DEFAULT, AllTypes, tstz),
	PGORM_COLUMN(UUID, "u", PGORM_NULLABLE, AllTypes, u),
	PGORM_COLUMN(JSON, "j", PGORM_NULLABLE, AllTypes, j),
	PGORM_COLUMN(JSONB, "jb", PGORM_NULLABLE, AllTypes, jb),
	PGORM_COLUMN(INT4, "ver", PGORM_VERSION, AllTypes, ver),
	PGORM_COLUMN_END
};
const pgorm_model alltypes_model = PGORM_MODEL("alltypes", AllTypes, alltypes_cols, NULL);

static const pgorm_secondary post_tag = { "post_tag", "post_id", "tag_id" };
static const pgorm_secondary tag_post = { "post_tag", "tag_id", "post_id" };

static const pgorm_column post_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Post, id),
	PGORM_COLUMN(TEXT, "title", PGORM_NOT_NULL, Post, title),
	PGORM_COLUMN_END
};
static const pgorm_relationship post_rels[] = {
	{ .name = "tags", .target = &tag_model, .kind = PGORM_REL_MANY_TO_MANY, .offset = offsetof(Post, tags),
	  .size = sizeof(pgorm_collection), .back_populates = "posts", .secondary = &post_tag },
	PGORM_RELATIONSHIP_END
};
const pgorm_model post_model = PGORM_MODEL("post", Post, post_cols, post_rels);

static const pgorm_column tag_cols[] = {
	PGORM_COLUMN(INT4, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Tag, id),
	PGORM_COLUMN(TEXT, "label", PGORM_UNIQUE, Tag, label),
	PGORM_COLUMN_END
};
static const pgorm_relationship tag_rels[] = {
	{ .name = "posts", .target = &post_model, .kind = PGORM_REL_MANY_TO_MANY, .offset = offsetof(Tag, posts),
	  .size = sizeof(pgorm_collection), .back_populates = "tags", .secondary = &tag_post },
	PGORM_RELATIONSHIP_END
};
const pgorm_model tag_model = PGORM_MODEL("tag", Tag, tag_cols, tag_rels);

static const pgorm_column node_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Node, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Node, parent_id, "node", "id", PGORM_FK_SET_NULL),
	PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, Node, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship node_rels[] = {
	{ .name = "children", .target = &node_model, .kind = PGORM_REL_ONE_TO_MANY,
	  .offset = offsetof(Node, children), .size = sizeof(pgorm_collection), .fk_column = "parent_id",
	  .back_populates = "parent", .passive_deletes = PGORM_PASSIVE_ON },
	{ .name = "parent", .target = &node_model, .kind = PGORM_REL_MANY_TO_ONE, .offset = offsetof(Node, parent),
	  .size = sizeof(struct Node *), .fk_column = "parent_id", .back_populates = "children" },
	PGORM_RELATIONSHIP_END
};
const pgorm_model node_model = PGORM_MODEL("node", Node, node_cols, node_rels);

/* Children listed before their parents on purpose: create_all must order them. */
static const pgorm_model *const all_models[] = {
	&child_model, &parent_model, &cpk_model, &alltypes_model, &node_model, &post_model, &tag_model,
};
static const char *const all_tables[] = {
	"parent_table", "child_table", "cpk", "alltypes", "node", "post", "tag", "post_tag",
};
#define NTABLES (sizeof all_tables / sizeof all_tables[0])

/* ---- helpers ---- */

static pgorm_registry *make_registry(void)
{
	pgorm_registry *reg = NULL;
	pgorm_error err;
	int rc = pgorm_registry_create(&reg, all_models, sizeof all_models / sizeof all_models[0], &err);
	ck_assert_msg(rc == 0, "registry: %s", err.message);
	return reg;
}

/* Query with one text parameter; the first column of the first row as text ("(null)"). */
static char *q1(pgorm_conn *c, const char *sql, const char *arg)
{
	static char buf[2048];
	pgorm_value p = PGORM_TEXT(arg);
	pgorm_result *r = NULL;
	int rc = pgorm_conn_exec(c, sql, arg ? 1 : 0, arg ? &p : NULL, &r);
	ck_assert_msg(rc == 0, "%s: %s", sql, pgorm_conn_error(c)->message);
	const char *t = pgorm_result_rows(r) ? pgorm_result_text(r, 0, 0) : NULL;
	snprintf(buf, sizeof buf, "%s", t ? t : "(null)");
	pgorm_result_free(r);
	return buf;
}

static int64_t qint(pgorm_conn *c, const char *sql, const char *arg)
{
	pgorm_value p = PGORM_TEXT(arg);
	pgorm_result *r = NULL;
	int rc = pgorm_conn_exec(c, sql, arg ? 1 : 0, arg ? &p : NULL, &r);
	ck_assert_msg(rc == 0, "%s: %s", sql, pgorm_conn_error(c)->message);
	int64_t v = 0;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &v), 0);
	pgorm_result_free(r);
	return v;
}

static bool table_exists(pgorm_conn *c, const char *t)
{
	return qint(c, "SELECT count(*) FROM pg_class WHERE oid = to_regclass($1)", t) == 1;
}

/* Relations (tables, sequences, indexes) in this executable's schema. */
static int64_t relations_in_schema(pgorm_conn *c)
{
	return qint(c, "SELECT count(*) FROM pg_class WHERE relnamespace = $1::regnamespace", pgtest_schema());
}

/* "name type [NOT NULL]" for every column, in order. */
static const char *columns_of(pgorm_conn *c, const char *t)
{
	return q1(c,
	          "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || "
	          "CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END, ', ' ORDER BY attnum) "
	          "FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
	          t);
}

static const char *pk_of(pgorm_conn *c, const char *t)
{
	return q1(c,
	          "SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM pg_index i, "
	          "unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) "
	          "JOIN pg_attribute a ON a.attnum = k.attnum "
	          "WHERE i.indrelid = to_regclass($1) AND i.indisprimary AND a.attrelid = i.indrelid",
	          t);
}

/* "col->target(refcol) ON DELETE x ON UPDATE y" of every FK of t, sorted. */
static const char *fks_of(pgorm_conn *c, const char *t)
{
	return q1(c,
	          "SELECT string_agg(a.attname || '->' || k.confrelid::regclass::text || '(' || fa.attname || ')' || "
	          "' del=' || k.confdeltype::text || ' upd=' || k.confupdtype::text, '; ' ORDER BY a.attname) "
	          "FROM pg_constraint k "
	          "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
	          "JOIN pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = k.confkey[1] "
	          "WHERE k.conrelid = to_regclass($1) AND k.contype = 'f'",
	          t);
}

/* Number of indexes of table whose leading column is col. */
static int64_t leading_indexes(pgorm_conn *c, const char *table, const char *col)
{
	char sql[512];
	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
	         "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass($1) AND a.attname = '%s'",
	         col);
	return qint(c, sql, table);
}

static void assert_contains(const char *hay, const char *needle)
{
	ck_assert_msg(hay != NULL && strstr(hay, needle) != NULL, "expected \"%s\" in:\n%s", needle,
	              hay ? hay : "(null)");
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

/* Start from an empty schema even when an earlier test failed half-way. */
static void reset(pgorm_registry *reg, pgorm_conn *c)
{
	pgtest_exec(c, "DROP TABLE IF EXISTS outsider, keep_me");
	ck_assert_int_eq(pgorm_registry_drop_all(reg, c), 0);
	ck_assert_int_eq(relations_in_schema(c), 0);
}

/* ---- tests ---- */

START_TEST(test_create_all_catalog)
{
	pgorm_registry *reg = make_registry();
	pgorm_conn *c = pgtest_connect();
	reset(reg, c);
	pgtest_log log = { 0 };
	pgorm_conn_set_hook(c, pgtest_log_hook, &log, false);
	int rc = pgorm_registry_create_all(reg, c, false);
	ck_assert_msg(rc == 0, "create_all: %s", pgorm_conn_error(c)->message);
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_IDLE);

	/* one transaction, parents before children, one CREATE TABLE per table */
	ck_assert_str_eq(log.sql[0], "BEGIN");
	ck_assert_str_eq(log.sql[log.n - 1], "COMMIT");
	ck_assert_uint_eq(pgtest_log_count(&log, "CREATE TABLE "), NTABLES);
	long parent_at = -1, child_at = -1, assoc_at = -1, post_at = -1, tag_at = -1;
	for (size_t i = 0; i < log.n; i++) {
		if (strstr(log.sql[i], "CREATE TABLE \"parent_table\"")) parent_at = (long)i;
		if (strstr(log.sql[i], "CREATE TABLE \"child_table\"")) child_at = (long)i;
		if (strstr(log.sql[i], "CREATE TABLE \"post_tag\"")) assoc_at = (long)i;
		if (strstr(log.sql[i], "CREATE TABLE \"post\"")) post_at = (long)i;
		if (strstr(log.sql[i], "CREATE TABLE \"tag\"")) tag_at = (long)i;
	}
	ck_assert(parent_at >= 0 && parent_at < child_at);
	ck_assert(post_at >= 0 && tag_at >= 0 && assoc_at > post_at && assoc_at > tag_at);
	pgtest_log_clear(&log);
	pgorm_conn_set_hook(c, NULL, NULL, false);

	for (size_t i = 0; i < NTABLES; i++)
		ck_assert_msg(table_exists(c, all_tables[i]), "table %s missing", all_tables[i]);

	/* columns, types, NOT NULL */
	ck_assert_str_eq(columns_of(c, "parent_table"), "id bigint NOT NULL, name text NOT NULL");
	ck_assert_str_eq(columns_of(c, "child_table"), "id bigint NOT NULL, parent_id bigint, name text NOT NULL");
	ck_assert_str_eq(columns_of(c, "cpk"), "a integer NOT NULL, b text NOT NULL, val double precision");
	ck_assert_str_eq(columns_of(c, "alltypes"),
	                 "id integer NOT NULL, flag boolean NOT NULL, small smallint, big bigint NOT NULL, f4 real, "
	                 "f8 double precision, txt text, bin bytea, num numeric, d date, "
	                 "ts timestamp without time zone, tstz timestamp with time zone NOT NULL, u uuid, j json, "
	                 "jb jsonb, ver integer NOT NULL");
	ck_assert_str_eq(columns_of(c, "tag"), "id integer NOT NULL, label text NOT NULL");
	ck_assert_str_eq(columns_of(c, "post_tag"), "post_id bigint NOT NULL, tag_id integer NOT NULL");
	ck_assert_str_eq(columns_of(c, "node"), "id bigint NOT NULL, parent_id bigint, name text NOT NULL");

	/* primary keys, composite ones in declaration order */
	ck_assert_str_eq(pk_of(c, "parent_table"), "id");
	ck_assert_str_eq(pk_of(c, "cpk"), "a,b");
	ck_assert_str_eq(pk_of(c, "post_tag"), "post_id,tag_id");

	/* generated keys have a sequence the flush can find; other server defaults */
	ck_assert_str_ne(q1(c, "SELECT pg_get_serial_sequence('parent_table', 'id')", NULL), "(null)");
	ck_assert_str_ne(q1(c, "SELECT pg_get_serial_sequence('alltypes', 'id')", NULL), "(null)");
	ck_assert_str_ne(q1(c, "SELECT pg_get_serial_sequence('tag', 'id')", NULL), "(null)");
	ck_assert_str_eq(q1(c, "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
	                       "ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
	                       "WHERE d.adrelid = to_regclass($1) AND a.attname = 'tstz'", "alltypes"),
	                 "now()");
	ck_assert_int_eq(qint(c, "SELECT count(*) FROM pg_attrdef WHERE adrelid = to_regclass($1)", "cpk"), 0);

	/* unique constraints */
	ck_assert_int_eq(qint(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'u'",
	                      "alltypes"), 1);
	ck_assert_int_eq(qint(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'u'",
	                      "tag"), 1);

	/* foreign keys with their actions (a = no action, c = cascade, n = set null) */
	ck_assert_str_eq(fks_of(c, "child_table"), "parent_id->parent_table(id) del=c upd=a");
	ck_assert_str_eq(fks_of(c, "node"), "parent_id->node(id) del=n upd=a");
	ck_assert_str_eq(fks_of(c, "post_tag"), "post_id->post(id) del=c upd=a; tag_id->tag(id) del=c upd=a");
	ck_assert_str_eq(fks_of(c, "parent_table"), "(null)");

	/* an index leads with every FK column */
	ck_assert_int_eq(leading_indexes(c, "child_table", "parent_id"), 1);
	ck_assert_int_eq(leading_indexes(c, "node", "parent_id"), 1);
	ck_assert_int_eq(leading_indexes(c, "post_tag", "post_id"), 1); /* the primary key */
	ck_assert_int_eq(leading_indexes(c, "post_tag", "tag_id"), 1);

	/* the schema works: ON DELETE CASCADE and the self-reference */
	pgtest_exec(c, "INSERT INTO parent_table (name) VALUES ('p1')");
	pgtest_exec(c, "INSERT INTO child_table (parent_id, name) SELECT id, 'c' FROM parent_table");
	pgtest_exec(c, "DELETE FROM parent_table");
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM child_table"), 0);
	pgtest_exec(c, "INSERT INTO node (name) VALUES ('root')");
	pgtest_exec(c, "INSERT INTO node (parent_id, name) SELECT id, 'leaf' FROM node");
	pgtest_exec(c, "DELETE FROM node WHERE parent_id IS NULL");
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM node WHERE parent_id IS NULL AND name = 'leaf'"), 1);

	ck_assert_int_eq(pgorm_registry_drop_all(reg, c), 0);
	pgorm_conn_close(c);
	pgorm_registry_destroy(reg);
}
END_TEST

START_TEST(test_create_twice)
{
	pgorm_registry *reg = make_registry();
	pgorm_conn *c = pgtest_connect();
	reset(reg, c);
	ck_assert_int_eq(pgorm_registry_create_all(reg, c, true), 0);
	int64_t rels = relations_in_schema(c);
	ck_assert_int_gt(rels, (int64_t)NTABLES);

	/* if_not_exists again: nothing to do, no CREATE sent, nothing changes */
	pgtest_log log = { 0 };
	pgorm_conn_set_hook(c, pgtest_log_hook, &log, false);
	ck_assert_int_eq(pgorm_registry_create_all(reg, c, true), 0);
	ck_assert_uint_eq(pgtest_log_count(&log, "CREATE "), 0);
	pgtest_log_clear(&log);
	pgorm_conn_set_hook(c, NULL, NULL, false);
	ck_assert_int_eq(relations_in_schema(c), rels);

	/* without it: 42P07, and the connection is usable afterwards */
	int rc = pgorm_registry_create_all(reg, c, false);
	ck_assert_int_lt(rc, 0);
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "42P07");
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_IDLE);
	ck_assert_int_eq(relations_in_schema(c), rels);

	/* a failure after several tables were created leaves none of them */
	ck_assert_int_eq(pgorm_registry_drop_all(reg, c), 0);
	ck_assert_int_eq(relations_in_schema(c), 0);
	pgtest_exec(c, "CREATE TABLE post_tag (x int)"); /* the last table create_all makes */
	rc = pgorm_registry_create_all(reg, c, false);
	ck_assert_int_lt(rc, 0);
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "42P07");
	assert_contains(pgorm_conn_error(c)->statement, "CREATE TABLE \"post_tag\"");
	ck_assert_int_eq(relations_in_schema(c), 1);
	for (size_t i = 0; i + 1 < NTABLES; i++)
		ck_assert_msg(!table_exists(c, all_tables[i]), "%s was left behind", all_tables[i]);

	/* inside the caller's transaction: a savepoint undoes our part, the transaction lives on */
	pgtest_exec(c, "BEGIN");
	pgtest_exec(c, "CREATE TABLE keep_me (x int)");
	rc = pgorm_registry_create_all(reg, c, false);
	ck_assert_int_lt(rc, 0);
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "42P07");
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_INTRANS);
	ck_assert(table_exists(c, "keep_me"));
	ck_assert(!table_exists(c, "parent_table"));
	/* with if_not_exists the existing post_tag is skipped and the rest is created */
	ck_assert_int_eq(pgorm_registry_create_all(reg, c, true), 0);
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_INTRANS);
	pgtest_exec(c, "COMMIT");
	ck_assert(table_exists(c, "keep_me"));
	ck_assert(table_exists(c, "parent_table"));
	ck_assert_str_eq(columns_of(c, "post_tag"), "x integer"); /* left alone */

	pgtest_exec(c, "DROP TABLE keep_me");
	ck_assert_int_eq(pgorm_registry_drop_all(reg, c), 0);
	ck_assert_int_eq(relations_in_schema(c), 0);
	pgorm_conn_close(c);
	pgorm_registry_destroy(reg);
}
END_TEST

START_TEST(test_drop_all)
{
	pgorm_registry *reg = make_registry();
	pgorm_conn *c = pgtest_connect();
	reset(reg, c);
	ck_assert_int_eq(pgorm_registry_drop_all(reg, c), 0); /* nothing there: IF EXISTS */
	ck_assert_int_eq(pgorm_registry_create_all(reg, c, false), 0);
	ck_assert_int_gt(relations_in_schema(c), (int64_t)NTABLES);

	/* a table outside the registry that refers to ours: no CASCADE, nothing dropped */
	pgtest_exec(c, "CREATE TABLE outsider (pid bigint REFERENCES parent_table (id))");
	int rc = pgorm_registry_drop_all(reg, c);
	ck_assert_int_lt(rc, 0);
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "2BP01");
	for (size_t i = 0; i < NTABLES; i++)
		ck_assert_msg(table_exists(c, all_tables[i]), "%s was dropped", all_tables[i]);
	pgtest_exec(c, "DROP TABLE outsider");

	pgtest_log log = { 0 };
	pgorm_conn_set_hook(c, pgtest_log_hook, &log, false);
	ck_assert_int_eq(pgorm_registry_drop_all(reg, c), 0);
	ck_assert_uint_eq(log.n, 1);
	/* association table first, children before parents */
	const char *s = log.sql[0];
	ck_assert_ptr_nonnull(strstr(s, "\"post_tag\""));
	ck_assert(strstr(s, "\"post_tag\"") < strstr(s, "\"post\""));
	ck_assert(strstr(s, "\"child_table\"") < strstr(s, "\"parent_table\""));
	ck_assert_ptr_null(strstr(s, "CASCADE"));
	pgtest_log_clear(&log);
	pgorm_conn_set_hook(c, NULL, NULL, false);
	ck_assert_int_eq(relations_in_schema(c), 0); /* sequences and indexes went too */
	pgorm_conn_close(c);
	pgorm_registry_destroy(reg);
}
END_TEST

START_TEST(test_check_clean)
{
	pgorm_registry *reg = make_registry();
	pgorm_conn *c = pgtest_connect();
	reset(reg, c);
	char *report = (char *)"sentinel";
	/* nothing created yet: one line per missing table */
	int n = pgorm_registry_check(reg, c, &report);
	ck_assert_msg(n == (int)NTABLES, "%d differences:\n%s", n, report ? report : "");
	ck_assert_uint_eq(count_lines(report), NTABLES);
	assert_contains(report, "parent_table: missing table\n");
	assert_contains(report, "post_tag: missing table\n");
	pgorm_free(report);

	ck_assert_int_eq(pgorm_registry_create_all(reg, c, false), 0);
	pgtest_log log = { 0 };
	pgorm_conn_set_hook(c, pgtest_log_hook, &log, true);
	n = pgorm_registry_check(reg, c, &report);
	ck_assert_msg(n == 0, "%d differences after create_all:\n%s", n, report ? report : "");
	ck_assert_ptr_null(report);
	/* catalog queries take the table name as a parameter, never in the SQL text */
	for (size_t i = 0; i < log.n; i++)
		ck_assert_msg(strstr(log.sql[i], "parent_table") == NULL, "name spliced into: %s", log.sql[i]);
	pgtest_log_clear(&log);
	pgorm_conn_set_hook(c, NULL, NULL, false);

	ck_assert_int_eq(pgorm_registry_drop_all(reg, c), 0);
	pgorm_conn_close(c);
	pgorm_registry_destroy(reg);
}
END_TEST

START_TEST(test_check_differences)
{
	pgorm_registry *reg = make_registry();
	pgorm_conn *c = pgtest_connect();
	reset(reg, c);
	ck_assert_int_eq(pgorm_registry_create_all(reg, c, false), 0);
	pgtest_exec(c, "ALTER TABLE child_table DROP COLUMN name");
	pgtest_exec(c, "ALTER TABLE child_table ALTER COLUMN parent_id TYPE integer");
	pgtest_exec(c, "ALTER TABLE child_table ALTER COLUMN parent_id SET NOT NULL");
	pgtest_exec(c, "ALTER TABLE parent_table ALTER COLUMN name DROP NOT NULL");
	pgtest_exec(c, "ALTER TABLE node DROP CONSTRAINT node_parent_id_fkey");
	pgtest_exec(c, "DROP TABLE cpk");
	pgtest_exec(c, "ALTER TABLE alltypes ALTER COLUMN tstz DROP DEFAULT");
	pgtest_exec(c, "ALTER TABLE alltypes DROP CONSTRAINT alltypes_big_key");
	pgtest_exec(c, "ALTER TABLE tag ADD COLUMN extra int NOT NULL");
	pgtest_exec(c, "ALTER TABLE post_tag DROP CONSTRAINT post_tag_tag_id_fkey");
	pgtest_exec(c, "ALTER TABLE post_tag ADD FOREIGN KEY (tag_id) REFERENCES tag (id) ON DELETE RESTRICT");

	char *report = NULL;
	int n = pgorm_registry_check(reg, c, &report);
	const char *expected[] = {
		"child_table.name: missing column\n",
		"child_table.parent_id: type mismatch: model int8, database integer\n",
		"child_table.parent_id: NOT NULL in the database, but relationship parent_table.children sets it to NULL",
		"parent_table.name: nullability mismatch: model NOT NULL, database nullable\n",
		"node.parent_id: missing foreign key to node(id)\n",
		"cpk: missing table\n",
		"alltypes.tstz: model server default, database column has no default\n",
		"alltypes.big: model UNIQUE, database has no unique constraint on the column\n",
		"tag.extra: NOT NULL column without default is not in the model (INSERTs will fail)\n",
		"post_tag.tag_id: foreign key ON DELETE mismatch: model CASCADE, database RESTRICT\n",
	};
	size_t ne = sizeof expected / sizeof expected[0];
	ck_assert_msg(n == (int)ne, "%d differences (want %zu):\n%s", n, ne, report ? report : "");
	ck_assert_uint_eq(count_lines(report), ne);
	for (size_t i = 0; i < ne; i++)
		assert_contains(report, expected[i]);
	pgorm_free(report);

	ck_assert_int_eq(pgorm_registry_drop_all(reg, c), 0);
	pgorm_conn_close(c);
	pgorm_registry_destroy(reg);
}
END_TEST

START_TEST(test_check_passive_deletes)
{
	pgorm_registry *reg = make_registry();
	pgorm_conn *c = pgtest_connect();
	reset(reg, c);
	ck_assert_int_eq(pgorm_registry_create_all(reg, c, false), 0);
	/* node.children trusts ON DELETE (passive_deletes): NO ACTION in the database breaks that */
	pgtest_exec(c, "ALTER TABLE node DROP CONSTRAINT node_parent_id_fkey");
	pgtest_exec(c, "ALTER TABLE node ADD FOREIGN KEY (parent_id) REFERENCES node (id)");
	char *report = NULL;
	int n = pgorm_registry_check(reg, c, &report);
	ck_assert_msg(n == 2, "%d differences:\n%s", n, report ? report : "");
	assert_contains(report, "node.parent_id: foreign key ON DELETE mismatch: model SET NULL, database NO ACTION\n");
	assert_contains(report, "node.parent_id: relationship node.children has passive_deletes");
	pgorm_free(report);
	ck_assert_int_eq(pgorm_registry_drop_all(reg, c), 0);
	pgorm_conn_close(c);
	pgorm_registry_destroy(reg);
}
END_TEST

START_TEST(test_bad_arguments)
{
	pgorm_registry *reg = make_registry();
	pgorm_conn *c = pgtest_connect();
	reset(reg, c);
	ck_assert_int_eq(pgorm_registry_create_all(reg, NULL, false), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_registry_create_all(NULL, c, false), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_registry_drop_all(NULL, c), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_registry_check(reg, c, NULL), PGORM_EINVAL);
	/* a failed transaction block: refused without sending anything */
	pgtest_exec(c, "BEGIN");
	ck_assert_int_lt(pgorm_conn_exec(c, "SELECT 1/0", 0, NULL, NULL), 0);
	ck_assert_int_eq(pgorm_registry_create_all(reg, c, false), PGORM_ESTATE);
	pgtest_exec(c, "ROLLBACK");
	ck_assert_int_eq(relations_in_schema(c), 0);
	pgorm_conn_close(c);
	pgorm_registry_destroy(reg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ddl");
	TCase *tc = tcase_create("ddl");
	tcase_add_unchecked_fixture(tc, pgtest_schema_setup, pgtest_schema_teardown);
	tcase_add_test(tc, test_create_all_catalog);
	tcase_add_test(tc, test_create_twice);
	tcase_add_test(tc, test_drop_all);
	tcase_add_test(tc, test_check_clean);
	tcase_add_test(tc, test_check_differences);
	tcase_add_test(tc, test_check_passive_deletes);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
