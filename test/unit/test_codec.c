/* Unit tests: parameter encoding and binary decoding, without a server. */
#include "pgtest.h"
#include "codec.h"

#include <math.h>
#include <string.h>

START_TEST(test_encode_int8)
{
	pgorm__params p = { 0 };
	pgorm_error err;
	pgorm_value v[] = { PGORM_INT8(INT64_MIN), PGORM_NULL(TEXT) };
	ck_assert_int_eq(pgorm__params_encode(&p, 2, v, 1024, &err), 0);
	ck_assert_uint_eq(p.oids[0], 20);
	ck_assert_int_eq(p.lengths[0], 8);
	ck_assert_int_eq((int64_t)pgorm__be64(p.values[0]), INT64_MIN);
	ck_assert_ptr_null(p.values[1]);
	pgorm__params_free(&p);
}
END_TEST

START_TEST(test_reject_bad_input)
{
	pgorm__params p = { 0 };
	pgorm_error err;
	pgorm_value bad_utf8[] = { PGORM_TEXTN("\xff\xfe", 2) };
	ck_assert_int_eq(pgorm__params_encode(&p, 1, bad_utf8, 1024, &err), PGORM_EENCODING);
	ck_assert_ptr_nonnull(strstr(err.message, "$1"));
	pgorm_value big[] = { PGORM_TEXT("0123456789") };
	ck_assert_int_eq(pgorm__params_encode(&p, 1, big, 5, &err), PGORM_ETOOBIG);
	pgorm_value unknown = { .type = (pgorm_type)999 };
	ck_assert_int_eq(pgorm__params_encode(&p, 1, &unknown, 1024, &err), PGORM_ETYPE);
	ck_assert_int_eq(pgorm__params_encode(&p, 70000, big, 1024, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm__params_encode(&p, 1, NULL, 1024, &err), PGORM_EINVAL);
	pgorm__params_free(&p);
}
END_TEST

START_TEST(test_utf8)
{
	ck_assert(pgorm__utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
	ck_assert(!pgorm__utf8_valid("\xc0\xaf", 2));         /* overlong */
	ck_assert(!pgorm__utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	ck_assert(!pgorm__utf8_valid("a\0b", 3));             /* NUL */
	ck_assert(!pgorm__utf8_valid("\xe2\x82", 2));         /* truncated */
}
END_TEST

START_TEST(test_decode_numeric)
{
	/* 1234.5600: ndigits 3, weight 0, sign +, dscale 4: digits 1234, 5600 → "1234.5600" */
	char d[] = { 0, 2, 0, 0, 0, 0, 0, 4, 0x04, (char)0xD2, 0x15, (char)0xE0 };
	pgorm_value v;
	pgorm__arena a;
	pgorm__arena_init(&a);
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_NUMERIC, 1700, d, sizeof d, &v, &a, NULL), 0);
	ck_assert_str_eq(v.u.str.ptr, "1234.5600");
	pgorm__arena_free_all(&a);
}
END_TEST

START_TEST(test_decode_type_mismatch)
{
	char d[8] = { 0 };
	pgorm_value v;
	pgorm_error err;
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INT8, 25, d, 8, &v, NULL, &err), PGORM_ETYPE);
	ck_assert_ptr_nonnull(strstr(err.message, "text"));
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INT8, 20, d, 3, &v, NULL, &err), PGORM_ETYPE);
}
END_TEST

START_TEST(test_empty_value_not_null)
{
	/* A fresh params buffer encoding only empty values must still give non-NULL pointers:
	 * libpq sends a NULL value pointer as SQL NULL. */
	pgorm__params p = { 0 };
	pgorm_error err;
	pgorm_value v[] = { PGORM_TEXT(""), PGORM_BYTEA("", 0), PGORM_NULL(TEXT) };
	ck_assert_int_eq(pgorm__params_encode(&p, 3, v, 1024, &err), 0);
	ck_assert_ptr_nonnull(p.values[0]);
	ck_assert_int_eq(p.lengths[0], 0);
	ck_assert_ptr_nonnull(p.values[1]);
	ck_assert_ptr_null(p.values[2]);
	pgorm__params_free(&p);
}
END_TEST

START_TEST(test_decode_malformed)
{
	pgorm_value v;
	pgorm_error err;
	pgorm__arena a;
	pgorm__arena_init(&a);
	/* numeric digit out of base-10000 range (would overflow the text buffer) */
	char num[] = { 0, 1, 0, 0, 0, 0, 0, 0, 0x7f, (char)0xff };
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_NUMERIC, 1700, num, sizeof num, &v, &a, &err), PGORM_ETYPE);
	char neg[] = { 0, 1, 0, 0, 0, 0, 0, 0, (char)0xff, (char)0xff };
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_NUMERIC, 1700, neg, sizeof neg, &v, &a, &err), PGORM_ETYPE);
	char badsign[] = { 0, 0, 0, 0, 0x12, 0x34, 0, 0 };
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_NUMERIC, 1700, badsign, sizeof badsign, &v, &a, &err), PGORM_ETYPE);
	/* text[] header claiming 2^31 elements in 20 bytes: rejected before allocating */
	char arr[20] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, (char)0x80, 0, 0, 0, 0, 0, 0, 1 };
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_TEXT_ARRAY, 1009, arr, sizeof arr, &v, &a, &err), PGORM_ETYPE);
	/* int8[] with a NULL element: decoded with its nulls flag (issue 15) */
	char i8[] = { 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 1, (char)0xff, (char)0xff, (char)0xff, (char)0xff };
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INT8_ARRAY, 1016, i8, sizeof i8, &v, &a, &err), 0);
	ck_assert_uint_eq(v.u.i64s.n, 1);
	ck_assert_ptr_nonnull(v.u.i64s.nulls);
	ck_assert(v.u.i64s.nulls[0]);
	/* an int4[] announced as int8[]: the element type is checked */
	char i4[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 7 };
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INT8_ARRAY, 1016, i4, sizeof i4, &v, &a, &err), PGORM_ETYPE);
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INT4_ARRAY, 1007, i4, sizeof i4, &v, &a, &err), 0);
	ck_assert_int_eq(((const int32_t *)v.u.arr.items)[0], 7);
	/* an int4[] element of the wrong length */
	char i4bad[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 7 };
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INT4_ARRAY, 1007, i4bad, sizeof i4bad, &v, &a, &err), PGORM_ETYPE);
	/* interval, timetz, inet: wrong lengths and families */
	char iv[15] = { 0 };
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INTERVAL, 1186, iv, sizeof iv, &v, &a, &err), PGORM_ETYPE);
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_TIMETZ, 1266, iv, 11, &v, &a, &err), PGORM_ETYPE);
	/* a timetz zone out of the server's range (INT32_MIN: its negation overflowed, fuzz_codec) */
	char tz[12] = { 0, 0, 0, 0, 0, 0, 0, 0, (char)0x80, 0, 0, 0 };
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_TIMETZ, 1266, tz, sizeof tz, &v, &a, &err), PGORM_ETYPE);
	tz[8] = 0;
	tz[10] = (char)0xe0;
	tz[11] = 0x0f; /* 57359 s west: within 15:59:59 */
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_TIMETZ, 1266, tz, sizeof tz, &v, &a, &err), 0);
	ck_assert_int_eq(v.u.timetz.utc_offset, -57359);
	char in4[] = { 2, 33, 0, 4, 10, 0, 0, 1 };     /* /33 on IPv4 */
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INET, 869, in4, sizeof in4, &v, &a, &err), PGORM_ETYPE);
	char in7[] = { 7, 8, 0, 4, 10, 0, 0, 1 };      /* unknown family */
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INET, 869, in7, sizeof in7, &v, &a, &err), PGORM_ETYPE);
	char in6s[] = { 3, 64, 0, 4, 10, 0, 0, 1 };    /* IPv6 with 4 bytes */
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INET, 869, in6s, sizeof in6s, &v, &a, &err), PGORM_ETYPE);
	char in4ok[] = { 2, 24, 1, 4, 10, 1, 2, 0 };
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INET, 650, in4ok, sizeof in4ok, &v, &a, &err), 0);
	ck_assert_int_eq(v.u.inet.family, 4);
	ck_assert_int_eq(v.u.inet.bits, 24);
	/* an enum column only reads user-created types (OID >= 16384), a custom one only types
	 * pgorm has no codec for */
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_ENUM, 25, "a", 1, &v, &a, &err), PGORM_ETYPE);
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_ENUM, 16500, "a", 1, &v, &a, &err), 0);
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_CUSTOM, 23, "abcd", 4, &v, &a, &err), PGORM_ETYPE);
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_CUSTOM, 600, "abcd", 4, &v, &a, &err), 0);
	/* a truncated int8[] element */
	char trunc[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 8, 1, 2 };
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INT8_ARRAY, 1016, trunc, sizeof trunc, &v, &a, &err), PGORM_ETYPE);
	pgorm__arena_free_all(&a);
}
END_TEST

/* Issue 15: a borrowed jsonb goes to libpq as the caller's pointer, in text format; the
 * buffer moving while later parameters grow it does not touch it. */
START_TEST(test_jsonb_borrowed_not_copied)
{
	pgorm__params p = { 0 };
	pgorm_error err;
	static const char doc[] = "{\"a\": 1}";
	char big[600];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	pgorm_value v[] = { PGORM_JSONB_BORROWED(doc), PGORM_TEXT(big), PGORM_JSONB(doc), PGORM_ENUM("e") };
	ck_assert_int_eq(pgorm__params_encode(&p, 4, v, 1 << 20, &err), 0);
	ck_assert_ptr_eq(p.values[0], doc);
	ck_assert_int_eq(p.formats[0], 0);
	ck_assert_uint_eq(p.oids[0], 3802);
	ck_assert_int_eq(p.lengths[1], (int)sizeof big - 1);
	ck_assert_int_eq(p.values[2][0], 1);            /* the copied form: jsonb version byte */
	ck_assert_int_eq(p.formats[2], 1);
	ck_assert_uint_eq(p.oids[3], 0);                /* an enum goes untyped */
	/* a batch appends after it: still the caller's pointer */
	ck_assert_int_eq(pgorm__params_append(&p, 1, v, 1 << 20, &err), 0);
	pgorm__params_resolve(&p);
	ck_assert_ptr_eq(p.values[4], doc);
	pgorm__params_free(&p);
}
END_TEST

/* Issue 15: arrays with NULL elements: the header's has-null flag and -1 lengths. */
START_TEST(test_encode_array_nulls)
{
	pgorm__params p = { 0 };
	pgorm_error err;
	static const int16_t items[] = { 7, 0, -1 };
	static const bool nulls[] = { false, true, false };
	pgorm_value v[] = { PGORM_ARRAY(INT2, items, nulls, 3) };
	ck_assert_int_eq(pgorm__params_encode(&p, 1, v, 1024, &err), 0);
	const char *d = p.values[0];
	ck_assert_uint_eq(p.oids[0], 1005);
	ck_assert_int_eq(p.lengths[0], 20 + 6 + 4 + 6);
	ck_assert_uint_eq(pgorm__be32(d + 4), 1);       /* has NULLs */
	ck_assert_uint_eq(pgorm__be32(d + 8), 21);      /* int2 */
	ck_assert_uint_eq(pgorm__be32(d + 26), 0xffffffffu);
	pgorm__arena a;
	pgorm__arena_init(&a);
	pgorm_value back;
	ck_assert_int_eq(pgorm__codec_decode(PGORM_TYPE_INT2_ARRAY, 1005, d, (size_t)p.lengths[0], &back, &a, &err), 0);
	ck_assert(back.u.arr.n == 3 && back.u.arr.nulls[1] && !back.u.arr.nulls[2]);
	ck_assert_int_eq(((const int16_t *)back.u.arr.items)[2], -1);
	pgorm__arena_free_all(&a);
	/* the empty array: no dimension */
	pgorm_value e[] = { PGORM_ARRAY(UUID, NULL, NULL, 0) };
	ck_assert_int_eq(pgorm__params_encode(&p, 1, e, 1024, &err), 0);
	ck_assert_int_eq(p.lengths[0], 12);
	ck_assert_uint_eq(pgorm__be32(p.values[0]), 0);
	pgorm__params_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_encode_int8);
	tcase_add_test(tc, test_reject_bad_input);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_decode_numeric);
	tcase_add_test(tc, test_decode_type_mismatch);
	tcase_add_test(tc, test_empty_value_not_null);
	tcase_add_test(tc, test_decode_malformed);
	tcase_add_test(tc, test_jsonb_borrowed_not_copied);
	tcase_add_test(tc, test_encode_array_nulls);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
