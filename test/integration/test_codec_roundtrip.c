/* Integration tests: every codec through a real server.
 *
 * For each value: send it as a bind parameter and select it back (binary both ways), check the
 * server's own text rendering of the parameter, and decode the same value produced by the
 * server from a SQL literal. NULL, empty values and extremes included; a value over
 * max_value_size is rejected before anything reaches the server.
 */
#include "pgtest.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool value_eq(const pgorm_value *a, const pgorm_value *b)
{
	if (a->is_null || b->is_null)
		return a->is_null == b->is_null;
	switch (a->type) {
	case PGORM_TYPE_BOOL: return a->u.b == b->u.b;
	case PGORM_TYPE_INT2: return a->u.i16 == b->u.i16;
	case PGORM_TYPE_INT4: return a->u.i32 == b->u.i32;
	case PGORM_TYPE_DATE: return a->u.date == b->u.date;
	case PGORM_TYPE_INT8:
	case PGORM_TYPE_TIMESTAMP:
	case PGORM_TYPE_TIMESTAMPTZ: return a->u.i64 == b->u.i64;
	case PGORM_TYPE_FLOAT4:
		return (isnan(a->u.f4) && isnan(b->u.f4)) || memcmp(&a->u.f4, &b->u.f4, sizeof(float)) == 0;
	case PGORM_TYPE_FLOAT8:
		return (isnan(a->u.f8) && isnan(b->u.f8)) || memcmp(&a->u.f8, &b->u.f8, sizeof(double)) == 0;
	case PGORM_TYPE_UUID: return memcmp(a->u.uuid, b->u.uuid, 16) == 0;
	case PGORM_TYPE_TEXT:
	case PGORM_TYPE_BYTEA:
	case PGORM_TYPE_NUMERIC:
	case PGORM_TYPE_JSON:
	case PGORM_TYPE_JSONB:
		return a->u.str.len == b->u.str.len && (a->u.str.len == 0 ||
		       memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0);
	case PGORM_TYPE_INT8_ARRAY:
		if (a->u.i64s.n != b->u.i64s.n)
			return false;
		for (size_t i = 0; i < a->u.i64s.n; i++)
			if (a->u.i64s.items[i] != b->u.i64s.items[i])
				return false;
		return true;
	case PGORM_TYPE_TEXT_ARRAY:
		if (a->u.strs.n != b->u.strs.n)
			return false;
		for (size_t i = 0; i < a->u.strs.n; i++)
			if (strcmp(a->u.strs.items[i], b->u.strs.items[i]) != 0)
				return false;
		return true;
	default:
		return false;
	}
}

static pgorm_conn *conn_utc(void)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "SET TimeZone = 'UTC'");
	pgtest_exec(c, "SET DateStyle = 'ISO, YMD'");
	pgtest_exec(c, "SET extra_float_digits = 1");
	return c;
}

/* Send v as $1::sqltype, select it back, its server text form (compared with text when not
 * NULL), and the server's decoding of literal (when not NULL) as the same type. */
static void roundtrip(pgorm_conn *c, pgorm_value v, const char *sqltype, const char *text,
                      const char *literal)
{
	char sql[4096];
	snprintf(sql, sizeof sql, "SELECT $1::%s, ($1::%s)::text, %s%s%s", sqltype, sqltype,
	         literal ? "(" : "NULL::", literal ? literal : sqltype, literal ? ")" : "");
	if (literal != NULL) {
		size_t l = strlen(sql);
		snprintf(sql + l, sizeof sql - l, "::%s", sqltype);
	}
	pgorm_result *r = NULL;
	int rc = pgorm_conn_exec(c, sql, 1, &v, &r);
	ck_assert_msg(rc == 0, "%s: %s", sql, pgorm_conn_error(c)->message);
	ck_assert_uint_eq(pgorm_result_rows(r), 1);
	ck_assert_int_eq(pgorm_result_col_type(r, 0), v.type);

	pgorm_value back;
	pgorm_error err;
	rc = pgorm_result_get(r, 0, 0, v.type, &back, &err);
	ck_assert_msg(rc == 0, "%s: decode: %s", sql, err.message);
	ck_assert_msg(value_eq(&v, &back), "%s: value changed in the round trip", sql);

	const char *t = pgorm_result_text(r, 0, 1);
	if (v.is_null)
		ck_assert_ptr_null(t);
	else if (text != NULL)
		ck_assert_msg(t != NULL && strcmp(t, text) == 0, "%s: server text '%s', expected '%s'", sql,
		              t ? t : "(null)", text);

	if (literal != NULL) {
		rc = pgorm_result_get(r, 0, 2, v.type, &back, &err);
		ck_assert_msg(rc == 0, "%s: decode literal: %s", sql, err.message);
		ck_assert_msg(value_eq(&v, &back), "%s: server literal %s decodes differently", sql, literal);
	}
	pgorm_result_free(r);
}

START_TEST(test_bool)
{
	pgorm_conn *c = conn_utc();
	roundtrip(c, PGORM_BOOL(true), "bool", "true", "true");
	roundtrip(c, PGORM_BOOL(false), "bool", "false", "false");
	roundtrip(c, PGORM_NULL(BOOL), "bool", NULL, "NULL");
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_ints)
{
	pgorm_conn *c = conn_utc();
	roundtrip(c, PGORM_INT2(INT16_MIN), "int2", "-32768", "'-32768'");
	roundtrip(c, PGORM_INT2(INT16_MAX), "int2", "32767", "32767");
	roundtrip(c, PGORM_INT2(0), "int2", "0", "0");
	roundtrip(c, PGORM_INT4(INT32_MIN), "int4", "-2147483648", "'-2147483648'");
	roundtrip(c, PGORM_INT4(INT32_MAX), "int4", "2147483647", "2147483647");
	roundtrip(c, PGORM_INT4(-1), "int4", "-1", "-1");
	roundtrip(c, PGORM_INT8(INT64_MIN), "int8", "-9223372036854775808", "'-9223372036854775808'");
	roundtrip(c, PGORM_INT8(INT64_MAX), "int8", "9223372036854775807", "9223372036854775807");
	roundtrip(c, PGORM_INT8(0), "int8", "0", "0");
	roundtrip(c, PGORM_NULL(INT2), "int2", NULL, "NULL");
	roundtrip(c, PGORM_NULL(INT4), "int4", NULL, "NULL");
	roundtrip(c, PGORM_NULL(INT8), "int8", NULL, "NULL");

	/* narrower integer columns read through wider getters */
	pgorm_result *r = NULL;
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT (-32768)::int2, (-2147483648)::int4", 0, NULL, &r), 0);
	int64_t v;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &v), 0);
	ck_assert_int_eq(v, INT16_MIN);
	ck_assert_int_eq(pgorm_result_int64(r, 0, 1, &v), 0);
	ck_assert_int_eq(v, INT32_MIN);
	pgorm_value w;
	ck_assert_int_eq(pgorm_result_get(r, 0, 0, PGORM_TYPE_INT4, &w, NULL), 0);
	ck_assert_int_eq(w.u.i32, INT16_MIN);
	/* ... but not narrower getters on wider columns */
	ck_assert_int_eq(pgorm_result_get(r, 0, 1, PGORM_TYPE_INT2, &w, NULL), PGORM_ETYPE);
	pgorm_result_free(r);
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_floats)
{
	pgorm_conn *c = conn_utc();
	roundtrip(c, PGORM_FLOAT4(3.25f), "float4", "3.25", "3.25");
	roundtrip(c, PGORM_FLOAT4(FLT_MAX), "float4", "3.4028235e+38", "'3.4028235e+38'");
	roundtrip(c, PGORM_FLOAT4(-0.0f), "float4", "-0", "'-0'");
	roundtrip(c, PGORM_FLOAT4(NAN), "float4", "NaN", "'NaN'");
	roundtrip(c, PGORM_FLOAT4(INFINITY), "float4", "Infinity", "'Infinity'");
	roundtrip(c, PGORM_FLOAT4(-INFINITY), "float4", "-Infinity", "'-Infinity'");
	roundtrip(c, PGORM_FLOAT8(1.5), "float8", "1.5", "1.5");
	roundtrip(c, PGORM_FLOAT8(0.1), "float8", "0.1", "0.1");
	roundtrip(c, PGORM_FLOAT8(DBL_MAX), "float8", "1.7976931348623157e+308", "'1.7976931348623157e+308'");
	roundtrip(c, PGORM_FLOAT8(-DBL_MIN), "float8", "-2.2250738585072014e-308", "'-2.2250738585072014e-308'");
	roundtrip(c, PGORM_FLOAT8(-0.0), "float8", "-0", "'-0'");
	roundtrip(c, PGORM_FLOAT8(NAN), "float8", "NaN", "'NaN'");
	roundtrip(c, PGORM_FLOAT8(INFINITY), "float8", "Infinity", "'Infinity'");
	roundtrip(c, PGORM_FLOAT8(-INFINITY), "float8", "-Infinity", "'-Infinity'");
	roundtrip(c, PGORM_NULL(FLOAT4), "float4", NULL, "NULL");
	roundtrip(c, PGORM_NULL(FLOAT8), "float8", NULL, "NULL");
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_text)
{
	pgorm_conn *c = conn_utc();
	roundtrip(c, PGORM_TEXT(""), "text", "", "''");
	roundtrip(c, PGORM_TEXT("plain"), "text", "plain", "'plain'");
	roundtrip(c, PGORM_TEXT("h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87"),
	          "text", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87",
	          "'h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87'");
	roundtrip(c, PGORM_TEXT("quote ' and \\ backslash"), "text", "quote ' and \\ backslash",
	          "'quote '' and \\ backslash'");
	roundtrip(c, PGORM_NULL(TEXT), "text", NULL, "NULL");
	roundtrip(c, PGORM_TEXT("v"), "varchar", "v", "'v'"); /* varchar decodes as text */

	/* a 1 MiB value */
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	big[n] = '\0';
	roundtrip(c, PGORM_TEXTN(big, n), "text", big, NULL);
	free(big);
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_bytea)
{
	pgorm_conn *c = conn_utc();
	static const unsigned char bin[] = { 0, 1, 0x7f, 0x80, 0xff, 0, '\\', '\'' };
	roundtrip(c, PGORM_BYTEA(bin, sizeof bin), "bytea", "\\x00017f80ff005c27", "'\\x00017f80ff005c27'");
	roundtrip(c, PGORM_BYTEA("", 0), "bytea", "\\x", "''");
	roundtrip(c, PGORM_NULL(BYTEA), "bytea", NULL, "NULL");
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_numeric)
{
	pgorm_conn *c = conn_utc();
	static const char *cases[] = {
		"-12345678901234567890.000123", "0", "0.0001", "NaN", "Infinity", "-Infinity",
		"0.00", "-0.5", "100000000", "10000.0001", "123456789012345678901234567890",
		"1.000000000000000000000000000001", "0.00000001", "-99999999.99999999",
	};
	char lit[256];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(lit, sizeof lit, "'%s'", cases[i]);
		roundtrip(c, PGORM_NUMERIC(cases[i]), "numeric", cases[i], lit);
	}
	/* big scale and a big integer part */
	char big[1200], biglit[1210];
	strcpy(big, "0.");
	memset(big + 2, '0', 999);
	strcpy(big + 1001, "7");
	snprintf(biglit, sizeof biglit, "'%s'", big);
	roundtrip(c, PGORM_NUMERIC(big), "numeric", big, biglit);
	strcpy(big, "-1");
	memset(big + 2, '0', 300);
	strcpy(big + 302, ".5");
	snprintf(biglit, sizeof biglit, "'%s'", big);
	roundtrip(c, PGORM_NUMERIC(big), "numeric", big, biglit);
	roundtrip(c, PGORM_NULL(NUMERIC), "numeric", NULL, "NULL");

	/* the server computes a value: 1/3 to 20 places */
	pgorm_result *r = NULL;
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT round(1::numeric / 3, 20), 2::numeric ^ 100", 0, NULL, &r), 0);
	pgorm_value v;
	ck_assert_int_eq(pgorm_result_get(r, 0, 0, PGORM_TYPE_NUMERIC, &v, NULL), 0);
	ck_assert_str_eq(v.u.str.ptr, "0.33333333333333333333");
	ck_assert_int_eq(pgorm_result_get(r, 0, 1, PGORM_TYPE_NUMERIC, &v, NULL), 0);
	ck_assert_str_eq(v.u.str.ptr, "1267650600228229401496703205376.0000000000000000");
	pgorm_result_free(r);

	/* malformed numeric text is the server's error, with its SQLSTATE */
	pgorm_value bad = PGORM_NUMERIC("12abc");
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1::numeric", 1, &bad, NULL), PGORM_ESERVER);
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "22P02");
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_dates_and_timestamps)
{
	pgorm_conn *c = conn_utc();
	roundtrip(c, PGORM_DATE(0), "date", "2000-01-01", "'2000-01-01'");
	roundtrip(c, PGORM_DATE(-1), "date", "1999-12-31", "'1999-12-31'");
	roundtrip(c, PGORM_DATE(-2451545), "date", "4714-11-24 BC", "'4714-11-24 BC'");
	roundtrip(c, PGORM_DATE(INT32_MAX), "date", "infinity", "'infinity'");
	roundtrip(c, PGORM_DATE(INT32_MIN), "date", "-infinity", "'-infinity'");
	roundtrip(c, PGORM_NULL(DATE), "date", NULL, "NULL");

	roundtrip(c, PGORM_TIMESTAMP(0), "timestamp", "2000-01-01 00:00:00", "'2000-01-01 00:00:00'");
	roundtrip(c, PGORM_TIMESTAMP(1500000), "timestamp", "2000-01-01 00:00:01.5", "'2000-01-01 00:00:01.5'");
	roundtrip(c, PGORM_TIMESTAMP(-1), "timestamp", "1999-12-31 23:59:59.999999", "'1999-12-31 23:59:59.999999'");
	roundtrip(c, PGORM_TIMESTAMP(INT64_MAX), "timestamp", "infinity", "'infinity'");
	roundtrip(c, PGORM_TIMESTAMP(INT64_MIN), "timestamp", "-infinity", "'-infinity'");
	roundtrip(c, PGORM_NULL(TIMESTAMP), "timestamp", NULL, "NULL");

	/* 2024-02-29 12:34:56.789012 UTC = 8825 days + 45296.789012 s after the epoch */
	int64_t us = (int64_t)8825 * 86400 * 1000000 + 45296789012LL;
	roundtrip(c, PGORM_TIMESTAMPTZ(us), "timestamptz", "2024-02-29 12:34:56.789012+00",
	          "'2024-02-29 14:34:56.789012+02'");
	roundtrip(c, PGORM_TIMESTAMPTZ(INT64_MAX), "timestamptz", "infinity", "'infinity'");
	roundtrip(c, PGORM_TIMESTAMPTZ(INT64_MIN), "timestamptz", "-infinity", "'-infinity'");
	roundtrip(c, PGORM_NULL(TIMESTAMPTZ), "timestamptz", NULL, "NULL");
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_uuid_json)
{
	pgorm_conn *c = conn_utc();
	pgorm_value u = { .type = PGORM_TYPE_UUID };
	static const uint8_t bytes[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	                                   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	memcpy(u.u.uuid, bytes, 16);
	roundtrip(c, u, "uuid", "00112233-4455-6677-8899-aabbccddeeff", "'00112233-4455-6677-8899-AABBCCDDEEFF'");
	memset(u.u.uuid, 0, 16);
	roundtrip(c, u, "uuid", "00000000-0000-0000-0000-000000000000", "'00000000-0000-0000-0000-000000000000'");
	roundtrip(c, PGORM_NULL(UUID), "uuid", NULL, "NULL");

	/* json keeps the text as is; jsonb normalizes, so send the normal form */
	roundtrip(c, PGORM_JSON("{\"a\":[1, 2,\"\xc3\xa9\"]}"), "json", "{\"a\":[1, 2,\"\xc3\xa9\"]}",
	          "'{\"a\":[1, 2,\"\xc3\xa9\"]}'");
	roundtrip(c, PGORM_JSON("\"\""), "json", "\"\"", "'\"\"'");
	roundtrip(c, PGORM_JSONB("{\"a\": [1, 2, \"\xc3\xa9\"], \"b\": null}"), "jsonb",
	          "{\"a\": [1, 2, \"\xc3\xa9\"], \"b\": null}", "'{\"b\":null,\"a\":[1,2,\"\xc3\xa9\"]}'");
	roundtrip(c, PGORM_JSONB("[]"), "jsonb", "[]", "'[]'");
	roundtrip(c, PGORM_JSONB("{}"), "jsonb", "{}", "'{}'");
	roundtrip(c, PGORM_NULL(JSON), "json", NULL, "NULL");
	roundtrip(c, PGORM_NULL(JSONB), "jsonb", NULL, "NULL");

	/* json columns read through the text getter */
	pgorm_result *r = NULL;
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT '[1]'::json", 0, NULL, &r), 0);
	ck_assert_str_eq(pgorm_result_text(r, 0, 0), "[1]");
	pgorm_result_free(r);

	/* invalid json is the server's error */
	pgorm_value bad = PGORM_JSONB("{nope");
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1::jsonb", 1, &bad, NULL), PGORM_ESERVER);
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "22P02");
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_arrays)
{
	pgorm_conn *c = conn_utc();
	static const int64_t ids[] = { INT64_MIN, -1, 0, 3, INT64_MAX };
	roundtrip(c, PGORM_INT8_ARRAY(ids, 5), "int8[]", "{-9223372036854775808,-1,0,3,9223372036854775807}",
	          "'{-9223372036854775808,-1,0,3,9223372036854775807}'");
	roundtrip(c, PGORM_INT8_ARRAY(NULL, 0), "int8[]", "{}", "'{}'");
	roundtrip(c, PGORM_NULL(INT8_ARRAY), "int8[]", NULL, "NULL");
	static const char *const strs[] = { "a", "", "\xc3\xa9t\xc3\xa9", "with,comma \"quote\"", "NULL" };
	roundtrip(c, PGORM_TEXT_ARRAY(strs, 5), "text[]", "{a,\"\",\xc3\xa9t\xc3\xa9,\"with,comma \\\"quote\\\"\",\"NULL\"}",
	          "ARRAY['a', '', '\xc3\xa9t\xc3\xa9', 'with,comma \"quote\"', 'NULL']");
	roundtrip(c, PGORM_TEXT_ARRAY(NULL, 0), "text[]", "{}", "'{}'");
	roundtrip(c, PGORM_NULL(TEXT_ARRAY), "text[]", NULL, "NULL");

	/* = ANY($1): one array parameter selects the rows */
	pgtest_exec(c, "CREATE TABLE arr_t (id int8 PRIMARY KEY, name text)");
	pgtest_exec(c, "INSERT INTO arr_t SELECT g, 'n' || g FROM generate_series(1, 100) g");
	static const int64_t want[] = { 3, 50, 100, 101, -5 };
	pgorm_value p = PGORM_INT8_ARRAY(want, 5);
	pgorm_result *r = NULL;
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT id FROM arr_t WHERE id = ANY($1) ORDER BY id", 1, &p, &r), 0);
	ck_assert_uint_eq(pgorm_result_rows(r), 3);
	int64_t v;
	ck_assert_int_eq(pgorm_result_int64(r, 2, 0, &v), 0);
	ck_assert_int_eq(v, 100);
	pgorm_result_free(r);
	static const char *const names[] = { "n7", "n8", "zz", "" };
	p = PGORM_TEXT_ARRAY(names, 4);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT id FROM arr_t WHERE name = ANY($1) ORDER BY id", 1, &p, &r), 0);
	ck_assert_uint_eq(pgorm_result_rows(r), 2);
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &v), 0);
	ck_assert_int_eq(v, 7);
	pgorm_result_free(r);
	p = PGORM_INT8_ARRAY(NULL, 0);
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT id FROM arr_t WHERE id = ANY($1)", 1, &p, &r), 0);
	ck_assert_uint_eq(pgorm_result_rows(r), 0);
	pgorm_result_free(r);

	/* server arrays with a NULL element decode with their nulls flags (issue 15); two
	 * dimensions are a clear error, not a crash */
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT ARRAY[1, NULL]::int8[], '{{1},{2}}'::int8[], ARRAY['a', NULL]", 0, NULL, &r), 0);
	pgorm_value a;
	pgorm_error err;
	ck_assert_int_eq(pgorm_result_get(r, 0, 0, PGORM_TYPE_INT8_ARRAY, &a, &err), 0);
	ck_assert(a.u.i64s.n == 2 && a.u.i64s.items[0] == 1 && a.u.i64s.nulls && !a.u.i64s.nulls[0] && a.u.i64s.nulls[1]);
	ck_assert_int_eq(pgorm_result_get(r, 0, 1, PGORM_TYPE_INT8_ARRAY, &a, &err), PGORM_ETYPE);
	ck_assert_ptr_nonnull(strstr(err.message, "dimension"));
	ck_assert_int_eq(pgorm_result_get(r, 0, 2, PGORM_TYPE_TEXT_ARRAY, &a, &err), 0);
	ck_assert(a.u.strs.n == 2 && strcmp(a.u.strs.items[0], "a") == 0 && a.u.strs.items[1] == NULL && a.u.strs.nulls[1]);
	pgorm_result_free(r);
	pgorm_conn_close(c);
}
END_TEST

typedef struct counter {
	int calls;
} counter;

static void count_hook(void *ctx, const char *sql, size_t n, const pgorm_value *p, double us, int st)
{
	(void)sql; (void)n; (void)p; (void)us; (void)st;
	((counter *)ctx)->calls++;
}

START_TEST(test_max_value_size)
{
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = pgtest_dsn();
	cfg.max_value_size = 16;
	counter cnt = { 0 };
	cfg.hook = count_hook;
	cfg.hook_ctx = &cnt;
	pgorm_conn *c = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_conn_connect(&c, &cfg, &err), 0);
	pgorm_conn_stats before, after;
	pgorm_conn_stats_get(c, &before);

	static const char s17[] = "0123456789abcdefg";
	static const int64_t three[] = { 1, 2, 3 };
	static const char *const strs[] = { "0123456", "0123456" }; /* 2 * (4 + 7) = 22 bytes */
	pgorm_value too_big[] = {
		PGORM_TEXT(s17), PGORM_BYTEA(s17, 17), PGORM_NUMERIC("12345678901234567"),
		PGORM_JSON("\"0123456789abcde\""), PGORM_JSONB("\"0123456789abcde\""),
		PGORM_INT8_ARRAY(three, 3), PGORM_TEXT_ARRAY(strs, 2),
	};
	for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++) {
		pgorm_value v[2] = { PGORM_INT4(1), too_big[i] };
		int rc = pgorm_conn_exec(c, "SELECT $1, $2", 2, v, NULL);
		ck_assert_msg(rc == PGORM_ETOOBIG, "value %zu: rc %d", i, rc);
		ck_assert_ptr_nonnull(strstr(pgorm_conn_error(c)->message, "$2"));
		pgorm_stmt st = { "SELECT $1, $2", 2, v };
		ck_assert_int_eq(pgorm_conn_pipeline(c, 1, &st, NULL), PGORM_ETOOBIG);
	}
	pgorm_conn_stats_get(c, &after);
	ck_assert_uint_eq(after.statements, before.statements);
	ck_assert_uint_eq(after.round_trips, before.round_trips);
	ck_assert_uint_eq(after.prepares, before.prepares);
	ck_assert_int_eq(cnt.calls, 0);

	/* exactly at the limit is accepted */
	pgorm_value ok = PGORM_TEXTN(s17, 16);
	pgorm_result *r = NULL;
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT length($1::text)", 1, &ok, &r), 0);
	int64_t len;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &len), 0);
	ck_assert_int_eq(len, 16);
	pgorm_result_free(r);
	ck_assert_int_eq(cnt.calls, 1);
	pgorm_conn_close(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("codec_roundtrip");
	TCase *tc = tcase_create("core");
	tcase_add_unchecked_fixture(tc, pgtest_schema_setup, pgtest_schema_teardown);
	tcase_add_test(tc, test_bool);
	tcase_add_test(tc, test_ints);
	tcase_add_test(tc, test_floats);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_bytea);
	tcase_add_test(tc, test_numeric);
	tcase_add_test(tc, test_dates_and_timestamps);
	tcase_add_test(tc, test_uuid_json);
	tcase_add_test(tc, test_arrays);
	tcase_add_test(tc, test_max_value_size);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
