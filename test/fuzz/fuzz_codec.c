/* fuzz_codec — every binary decoder of lib/codec.c on arbitrary bytes, directly (an exact-size
 * heap copy, so ASan sees any over-read) and through a PGresult built in memory
 * (pgorm_result_get, pgorm_result_int64, pgorm_result_text).
 *
 * Input: byte 0 picks the server type oid, byte 1 the requested pgorm_type, the rest is the value.
 * Properties: no crash, leak or UB; an error is ETYPE (or ENOMEM) with a message; a decoded
 * value is what the bytes say (integers, floats, uuid bit for bit; text points into the
 * value; numeric is a well-formed decimal string with dscale fraction digits whose digits are
 * the base-10000 groups; arrays hold every element), and encoding it with pgorm's encoder and
 * decoding again gives the same value. */
#include "fuzz.h"

#include "codec.h"
#include "exec.h"
#include "internal.h"

#include <libpq-fe.h>

static const unsigned oids[] = {
	PGORM_OID_BOOL, PGORM_OID_INT2, PGORM_OID_INT4, PGORM_OID_INT8, PGORM_OID_OID,
	PGORM_OID_FLOAT4, PGORM_OID_FLOAT8, PGORM_OID_TEXT, PGORM_OID_VARCHAR, PGORM_OID_BPCHAR,
	PGORM_OID_NAME, PGORM_OID_BYTEA, PGORM_OID_NUMERIC, PGORM_OID_DATE, PGORM_OID_TIMESTAMP,
	PGORM_OID_TIMESTAMPTZ, PGORM_OID_UUID, PGORM_OID_JSON, PGORM_OID_JSONB,
	PGORM_OID_INT8_ARRAY, PGORM_OID_TEXT_ARRAY, PGORM_OID_CHAR, 0,
	/* issue 15 */
	PGORM_OID_BOOL_ARRAY, PGORM_OID_INT2_ARRAY, PGORM_OID_INT4_ARRAY, PGORM_OID_FLOAT8_ARRAY,
	PGORM_OID_UUID_ARRAY, PGORM_OID_VARCHAR_ARRAY, PGORM_OID_INTERVAL, PGORM_OID_TIME, PGORM_OID_TIMETZ,
	PGORM_OID_INET, PGORM_OID_CIDR, PGORM_OID_FIRST_NORMAL + 77, 600 /* point: custom */,
};
#define NOIDS (sizeof oids / sizeof oids[0])

/* Arrays: the same items (text by content) and NULL flags. */
static bool same_array(const pgorm_value *a, const pgorm_value *b)
{
	const pgorm__array_info *ai = pgorm__array_info_of(a->type);
	const void *ia, *ib;
	size_t na, nb;
	const bool *fa, *fb;
	pgorm__array_parts(a, &ia, &na, &fa);
	pgorm__array_parts(b, &ib, &nb, &fb);
	if (na != nb)
		return false;
	for (size_t k = 0; k < na; k++) {
		bool nulla = fa && fa[k], nullb = fb && fb[k];
		if (nulla != nullb)
			return false;
		if (nulla)
			continue;
		pgorm_value ea, eb;
		pgorm__array_elem(ai->elem, ia, k, &ea);
		pgorm__array_elem(ai->elem, ib, k, &eb);
		if (ai->elem == PGORM_TYPE_TEXT ? strcmp(ea.u.str.ptr, eb.u.str.ptr) != 0
		                                : memcmp(&ea.u, &eb.u, sizeof ea.u) != 0)
			return false;
	}
	return true;
}

static bool same_value(const pgorm_value *a, const pgorm_value *b)
{
	if (a->type != b->type || a->is_null != b->is_null)
		return false;
	if (pgorm__array_info_of(a->type) != NULL)
		return same_array(a, b);
	switch (a->type) {
	case PGORM_TYPE_BOOL: return a->u.b == b->u.b;
	case PGORM_TYPE_INT2: return a->u.i16 == b->u.i16;
	case PGORM_TYPE_INT4: return a->u.i32 == b->u.i32;
	case PGORM_TYPE_DATE: return a->u.date == b->u.date;
	case PGORM_TYPE_INT8: case PGORM_TYPE_TIMESTAMP: case PGORM_TYPE_TIMESTAMPTZ: case PGORM_TYPE_TIME:
		return a->u.i64 == b->u.i64;
	case PGORM_TYPE_FLOAT4: return memcmp(&a->u.f4, &b->u.f4, sizeof a->u.f4) == 0;
	case PGORM_TYPE_FLOAT8: return memcmp(&a->u.f8, &b->u.f8, sizeof a->u.f8) == 0;
	case PGORM_TYPE_UUID: return memcmp(a->u.uuid, b->u.uuid, 16) == 0;
	case PGORM_TYPE_TEXT: case PGORM_TYPE_BYTEA: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB:
	case PGORM_TYPE_NUMERIC: case PGORM_TYPE_ENUM: case PGORM_TYPE_VARCHAR: case PGORM_TYPE_CHAR:
		return a->u.str.len == b->u.str.len &&
		       (a->u.str.len == 0 || memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0);
	case PGORM_TYPE_INTERVAL:
		return a->u.interval.usecs == b->u.interval.usecs && a->u.interval.days == b->u.interval.days &&
		       a->u.interval.months == b->u.interval.months;
	case PGORM_TYPE_TIMETZ:
		return a->u.timetz.usecs == b->u.timetz.usecs && a->u.timetz.utc_offset == b->u.timetz.utc_offset;
	case PGORM_TYPE_INET: case PGORM_TYPE_CIDR:
		return memcmp(&a->u.inet, &b->u.inet, sizeof a->u.inet) == 0;
	case PGORM_TYPE_CUSTOM:
		return a->u.custom.len == b->u.custom.len && memcmp(a->u.custom.ptr, b->u.custom.ptr, a->u.custom.len) == 0;
	default: return false;
	}
}

/* Each element of a decoded array is what its bytes say (NULL for length -1). */
static void check_array(const char *d, size_t len, const pgorm_value *v)
{
	const pgorm__array_info *ai = pgorm__array_info_of(v->type);
	const void *items;
	size_t n;
	const bool *nulls;
	pgorm__array_parts(v, &items, &n, &nulls);
	FZ_CHECK(len >= 12 && (n == 0 || len >= 20 + 4 * n), "%s of %zu items in %zu bytes", pgorm_type_name(v->type), n,
	         len);
	const char *e = d + 20;
	for (size_t k = 0; k < n; k++) {
		int32_t el = (int32_t)pgorm__be32(e);
		e += 4;
		FZ_CHECK((el < 0) == (nulls != NULL && nulls[k]), "%s item %zu: NULL flag", pgorm_type_name(v->type), k);
		if (el < 0)
			continue;
		FZ_CHECK((size_t)(e + el - d) <= len, "item %zu past the end", k);
		pgorm_value ev;
		pgorm__array_elem(ai->elem, items, k, &ev);
		switch (ai->elem) {
		case PGORM_TYPE_TEXT:
			FZ_CHECK(strnlen(e, (size_t)el) == ev.u.str.len && memcmp(ev.u.str.ptr, e, ev.u.str.len) == 0,
			         "text item %zu", k);
			break;
		case PGORM_TYPE_BOOL: FZ_CHECK(el == 1 && ev.u.b == (e[0] != 0), "bool item %zu", k); break;
		case PGORM_TYPE_INT2: FZ_CHECK(el == 2 && ev.u.i16 == (int16_t)pgorm__be16(e), "int2 item %zu", k); break;
		case PGORM_TYPE_INT4: FZ_CHECK(el == 4 && ev.u.i32 == (int32_t)pgorm__be32(e), "int4 item %zu", k); break;
		case PGORM_TYPE_INT8: FZ_CHECK(el == 8 && ev.u.i64 == (int64_t)pgorm__be64(e), "int8 item %zu", k); break;
		case PGORM_TYPE_FLOAT8: {
			uint64_t bits;
			memcpy(&bits, &ev.u.f8, 8);
			FZ_CHECK(el == 8 && bits == pgorm__be64(e), "float8 item %zu", k);
			break;
		}
		default: FZ_CHECK(el == 16 && memcmp(ev.u.uuid, e, 16) == 0, "uuid item %zu", k); break;
		}
		e += el;
	}
	FZ_CHECK((size_t)(e - d) == len || n == 0, "array bytes left over");
}

/* The decimal text of a binary numeric, computed independently of decode_numeric: all
 * base-10000 groups as 4 digits each around the point, integer part without leading zeros,
 * fraction cut or padded to dscale. */
static void expect_numeric(const char *d, size_t len, char *buf, size_t cap)
{
	int ndigits = (int16_t)pgorm__be16(d), weight = (int16_t)pgorm__be16(d + 2);
	int dscale = (int16_t)pgorm__be16(d + 6);
	size_t o = 0;
	if (pgorm__be16(d + 4) == 0x4000)
		buf[o++] = '-';
	size_t istart = o;
	for (int g = 0; g <= weight; g++) {
		int dig = g < ndigits ? (int16_t)pgorm__be16(d + 8 + 2 * g) : 0;
		o += (size_t)snprintf(buf + o, cap - o, "%04d", dig);
	}
	size_t z = 0; /* strip leading zeros, keep one digit */
	while (istart + z + 1 < o && buf[istart + z] == '0')
		z++;
	memmove(buf + istart, buf + istart + z, o - istart - z);
	o -= z;
	if (o == istart)
		buf[o++] = '0';
	if (dscale > 0) {
		buf[o++] = '.';
		for (int g = weight + 1, w = 0; w < dscale; g++) {
			int dig = g >= 0 && g < ndigits ? (int16_t)pgorm__be16(d + 8 + 2 * g) : 0;
			char four[8];
			snprintf(four, sizeof four, "%04d", dig);
			for (int k = 0; k < 4 && w < dscale; k++, w++)
				buf[o++] = four[k];
		}
	}
	buf[o] = '\0';
	(void)len;
}

static void check_numeric(const char *d, size_t len, const pgorm_value *v)
{
	const char *s = v->u.str.ptr;
	FZ_CHECK(s != NULL && strlen(s) == v->u.str.len, "numeric: length %zu", v->u.str.len);
	if (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0)
		return;
	/* the integer part may carry leading zeros when the input's first group is 0 (the
	 * server never sends that): compare without them */
	const char *p = s + (*s == '-');
	FZ_CHECK(*p >= '0' && *p <= '9', "numeric \"%s\": no leading digit", s);
	size_t n = strlen(s) + 2;
	int weight = (int16_t)pgorm__be16(d + 2), dscale = (int16_t)pgorm__be16(d + 6);
	size_t wcap = (weight >= 0 ? (size_t)weight + 1 : 1) * 4 + (size_t)dscale + 16;
	char *want = malloc(wcap);
	expect_numeric(d, len, want, wcap);
	char *got = malloc(n);
	size_t o = 0;
	if (*s == '-')
		got[o++] = '-';
	while (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
		p++;
	strcpy(got + o, p);
	FZ_CHECK(strcmp(got, want) == 0, "numeric decoded as \"%.80s\", expected \"%.80s\"", got, want);
	free(got);
	free(want);
}

/* Properties of a successful decode of bytes d[0..len) of server type oid as t. */
static void check_value(pgorm_type t, unsigned oid, const char *d, size_t len, const pgorm_value *v)
{
	FZ_CHECK((v->type == t || (t == PGORM_TYPE_CENUM && v->type == PGORM_TYPE_ENUM)) && !v->is_null,
	         "type %d null %d", v->type, v->is_null);
	pgorm_type have = pgorm__type_from_oid(oid);
	FZ_CHECK(pgorm__type_accepts(t, oid), "decoded oid %u as %s", oid, pgorm_type_name(t));
	int64_t ival = 0;
	switch (have) {
	case PGORM_TYPE_INT2: FZ_CHECK(len == 2, "int2 of %zu bytes", len); ival = (int16_t)pgorm__be16(d); break;
	case PGORM_TYPE_INT4: case PGORM_TYPE_DATE: FZ_CHECK(len == 4, "int4 of %zu bytes", len); ival = (int32_t)pgorm__be32(d); break;
	case PGORM_TYPE_INT8:
		if (oid == PGORM_OID_OID) { FZ_CHECK(len == 4, "oid of %zu bytes", len); ival = pgorm__be32(d); }
		else { FZ_CHECK(len == 8, "int8 of %zu bytes", len); ival = (int64_t)pgorm__be64(d); }
		break;
	case PGORM_TYPE_TIMESTAMP: case PGORM_TYPE_TIMESTAMPTZ: FZ_CHECK(len == 8, "timestamp of %zu bytes", len); ival = (int64_t)pgorm__be64(d); break;
	default: break;
	}
	switch (t) {
	case PGORM_TYPE_INT2: FZ_CHECK(v->u.i16 == ival, "int2 %d, bytes say %lld", v->u.i16, (long long)ival); break;
	case PGORM_TYPE_INT4: FZ_CHECK(v->u.i32 == ival, "int4 %d, bytes say %lld", v->u.i32, (long long)ival); break;
	case PGORM_TYPE_DATE: FZ_CHECK(v->u.date == ival, "date %d, bytes say %lld", v->u.date, (long long)ival); break;
	case PGORM_TYPE_INT8: case PGORM_TYPE_TIMESTAMP: case PGORM_TYPE_TIMESTAMPTZ:
		FZ_CHECK(v->u.i64 == ival, "int8 %lld, bytes say %lld", (long long)v->u.i64, (long long)ival);
		break;
	case PGORM_TYPE_BOOL: FZ_CHECK(len == 1 && v->u.b == (d[0] != 0), "bool of %zu bytes", len); break;
	case PGORM_TYPE_FLOAT4: {
		FZ_CHECK(len == 4, "float4 of %zu bytes", len);
		uint32_t bits;
		memcpy(&bits, &v->u.f4, 4);
		FZ_CHECK(bits == pgorm__be32(d), "float4 bits differ");
		break;
	}
	case PGORM_TYPE_FLOAT8: {
		uint64_t bits;
		if (have == PGORM_TYPE_FLOAT4) {
			float f;
			uint32_t b4 = pgorm__be32(d);
			memcpy(&f, &b4, 4);
			double w = f;
			memcpy(&bits, &w, 8);
			uint64_t got;
			memcpy(&got, &v->u.f8, 8);
			FZ_CHECK(got == bits, "float4 widened to float8 differs");
			break;
		}
		FZ_CHECK(len == 8, "float8 of %zu bytes", len);
		memcpy(&bits, &v->u.f8, 8);
		FZ_CHECK(bits == pgorm__be64(d), "float8 bits differ");
		break;
	}
	case PGORM_TYPE_UUID: FZ_CHECK(len == 16 && memcmp(v->u.uuid, d, 16) == 0, "uuid differs"); break;
	case PGORM_TYPE_TEXT: case PGORM_TYPE_JSON: case PGORM_TYPE_BYTEA:
		if (have == PGORM_TYPE_JSON || have == PGORM_TYPE_TEXT || have == PGORM_TYPE_BYTEA)
			FZ_CHECK(v->u.str.ptr == d && v->u.str.len == len, "text does not point at the value");
		break;
	case PGORM_TYPE_JSONB:
		FZ_CHECK(len >= 1 && d[0] == 1 && v->u.str.ptr == d + 1 && v->u.str.len == len - 1, "jsonb body");
		break;
	case PGORM_TYPE_NUMERIC: check_numeric(d, len, v); break;
	case PGORM_TYPE_INT8_ARRAY: case PGORM_TYPE_TEXT_ARRAY: case PGORM_TYPE_BOOL_ARRAY: case PGORM_TYPE_INT2_ARRAY:
	case PGORM_TYPE_INT4_ARRAY: case PGORM_TYPE_FLOAT8_ARRAY: case PGORM_TYPE_UUID_ARRAY:
		check_array(d, len, v);
		break;
	case PGORM_TYPE_ENUM: case PGORM_TYPE_CENUM: case PGORM_TYPE_VARCHAR: case PGORM_TYPE_CHAR:
		FZ_CHECK(v->u.str.ptr == d && v->u.str.len == len, "%s does not point at the value", pgorm_type_name(t));
		break;
	case PGORM_TYPE_CUSTOM:
		FZ_CHECK(v->u.custom.type == NULL && v->u.custom.ptr == d && v->u.custom.len == len, "custom bytes");
		return; /* raw bytes: nothing to re-encode */
	case PGORM_TYPE_TIME: FZ_CHECK(len == 8 && v->u.i64 == (int64_t)pgorm__be64(d), "time"); break;
	case PGORM_TYPE_INTERVAL:
		FZ_CHECK(len == 16 && v->u.interval.usecs == (int64_t)pgorm__be64(d) &&
		         v->u.interval.days == (int32_t)pgorm__be32(d + 8) && v->u.interval.months == (int32_t)pgorm__be32(d + 12),
		         "interval");
		break;
	case PGORM_TYPE_TIMETZ:
		FZ_CHECK(len == 12 && v->u.timetz.usecs == (int64_t)pgorm__be64(d) &&
		         (uint32_t)v->u.timetz.utc_offset == 0u - pgorm__be32(d + 8), "timetz");
		break;
	case PGORM_TYPE_INET: case PGORM_TYPE_CIDR: {
		size_t nb = v->u.inet.family == 4 ? 4 : 16;
		FZ_CHECK(len == 4 + nb && (unsigned char)d[1] == v->u.inet.bits && memcmp(v->u.inet.addr, d + 4, nb) == 0 &&
		         v->u.inet.bits <= nb * 8, "inet");
		break;
	}
	default:
		FZ_CHECK(false, "decoded as unknown type %d", t);
	}

	/* encode it again and decode that: the same value */
	if (t == PGORM_TYPE_NUMERIC)
		return; /* numeric is sent as text */
	pgorm__params p;
	memset(&p, 0, sizeof p);
	pgorm_error err;
	if (pgorm__params_encode(&p, 1, v, (size_t)64 << 20, &err) == 0) {
		pgorm__arena a;
		pgorm__arena_init(&a);
		pgorm_value back;
		unsigned boid = pgorm_type_oid(t) ? pgorm_type_oid(t) : oid; /* enums go untyped */
		int rc = pgorm__codec_decode(t, boid, p.values[0], (size_t)p.lengths[0], &back, &a, &err);
		FZ_CHECK(rc == 0, "re-encoded %s does not decode: %s", pgorm_type_name(t), err.message);
		FZ_CHECK(same_value(v, &back), "%s changed through encode + decode", pgorm_type_name(t));
		pgorm__arena_free_all(&a);
	} else {
		/* only text that is not valid UTF-8 (or holds NUL) may be refused, and values the server
		 * itself would refuse: a time past 24:00, a timetz offset past 15:59:59, a cidr with
		 * host bits */
		bool range = (t == PGORM_TYPE_TIME || t == PGORM_TYPE_TIMETZ || t == PGORM_TYPE_CIDR) && err.code == PGORM_EINVAL;
		FZ_CHECK(err.code == PGORM_EENCODING || range, "encoding a decoded %s failed: %s", pgorm_type_name(t),
		         err.message);
	}
	pgorm__params_free(&p);
}

static void via_result(pgorm_type t, unsigned oid, const char *d, size_t len, const pgorm_value *direct, int direct_rc)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return;
	PGresAttDesc att = { .name = "c", .format = 1, .typid = oid, .typlen = -1, .atttypmod = -1 };
	if (!PQsetResultAttrs(res, 1, &att) || !PQsetvalue(res, 0, 0, (char *)d, (int)len)) {
		PQclear(res);
		return;
	}
	pgorm_result *r = NULL;
	if (pgorm__result_wrap(res, &r) != 0)
		return;
	FZ_CHECK(pgorm_result_rows(r) == 1 && pgorm_result_cols(r) == 1, "result shape");
	FZ_CHECK(pgorm_result_col_type(r, 0) == pgorm__type_from_oid(oid), "col type");
	FZ_CHECK(!pgorm_result_is_null(r, 0, 0) && pgorm_result_is_null(r, 1, 0) && pgorm_result_is_null(r, 0, 1),
	         "is_null");
	pgorm_value v;
	pgorm_error err;
	memset(&err, 0, sizeof err);
	int rc = pgorm_result_get(r, 0, 0, t, &v, &err);
	FZ_CHECK(rc == direct_rc, "pgorm_result_get %d, direct decode %d", rc, direct_rc);
	if (rc == 0) {
		FZ_CHECK(same_value(&v, direct), "pgorm_result_get and the direct decode differ");
	} else {
		FZ_CHECK(err.code == rc && err.message[0] != '\0', "error without a message");
		FZ_CHECK(strstr(err.message, "\"c\"") != NULL || rc != PGORM_ETYPE, "message does not name the column: %s",
		         err.message);
	}
	FZ_CHECK(pgorm_result_get(r, 0, 1, t, &v, &err) == PGORM_EINVAL, "column out of range");
	FZ_CHECK(pgorm_result_get(r, 0, 0, t, NULL, &err) == PGORM_EINVAL, "NULL out");
	int64_t i = 42;
	rc = pgorm_result_int64(r, 0, 0, &i);
	FZ_CHECK(rc != 0 || pgorm__type_accepts(PGORM_TYPE_INT8, oid), "int64 of oid %u", oid);
	FZ_CHECK(rc == 0 || i == 0, "int64 on error: %lld", (long long)i);
	const char *txt = pgorm_result_text(r, 0, 0);
	pgorm_type have = pgorm__type_from_oid(oid);
	FZ_CHECK((txt != NULL) == (have == PGORM_TYPE_TEXT || have == PGORM_TYPE_JSON), "result_text of oid %u", oid);
	pgorm_result_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned oid = oids[data[0] % NOIDS];
	pgorm_type t = (pgorm_type)(data[1] % (PGORM_TYPE__COUNT + 1));
	size_t len = size - 2;
	char *d = malloc(len ? len : 1); /* exact size: any over-read is an ASan report */
	memcpy(d, data + 2, len);
	pgorm__arena a;
	pgorm__arena_init(&a);
	pgorm_value v;
	pgorm_error err;
	memset(&err, 0, sizeof err);
	int rc = pgorm__codec_decode(t, oid, d, len, &v, &a, &err);
	if (rc == 0) {
		check_value(t, oid, d, len, &v);
	} else {
		FZ_CHECK(rc == PGORM_ETYPE || rc == PGORM_ENOMEM, "decode returned %d", rc);
		FZ_CHECK(err.code == rc && err.message[0] != '\0', "error %d without a message", rc);
	}
	via_result(t, oid, d, len, &v, rc);
	pgorm__arena_free_all(&a);
	free(d);
	return 0;
}
