/* lib/codec.c — binary send/receive for every pgorm_type.
 *
 * Formats follow the server's send and recv functions: big-endian integers, IEEE floats,
 * dates as days and timestamps as microseconds since 2000-01-01, uuid as 16 bytes, jsonb with
 * a version byte, arrays with the ndim/flags/elemtype/dims header. numeric is sent as text
 * (exact, no binary base-10000 encoding needed on the way in) and decoded from binary.
 */
#include "codec.h"
#include "internal.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row per type: its name, its OID (0: resolved by the server, per database) and the SQL
 * type a column of it is created with (NULL: named by the column, or not a column type). */
static const struct {
	const char *name;
	unsigned oid;
	const char *sql;
} type_info[PGORM_TYPE__COUNT] = {
	[PGORM_TYPE_INVALID] = { "invalid", 0, NULL },
	[PGORM_TYPE_BOOL] = { "bool", PGORM_OID_BOOL, "boolean" },
	[PGORM_TYPE_INT2] = { "int2", PGORM_OID_INT2, "smallint" },
	[PGORM_TYPE_INT4] = { "int4", PGORM_OID_INT4, "integer" },
	[PGORM_TYPE_INT8] = { "int8", PGORM_OID_INT8, "bigint" },
	[PGORM_TYPE_FLOAT4] = { "float4", PGORM_OID_FLOAT4, "real" },
	[PGORM_TYPE_FLOAT8] = { "float8", PGORM_OID_FLOAT8, "double precision" },
	[PGORM_TYPE_TEXT] = { "text", PGORM_OID_TEXT, "text" },
	[PGORM_TYPE_BYTEA] = { "bytea", PGORM_OID_BYTEA, "bytea" },
	[PGORM_TYPE_NUMERIC] = { "numeric", PGORM_OID_NUMERIC, "numeric" },
	[PGORM_TYPE_DATE] = { "date", PGORM_OID_DATE, "date" },
	[PGORM_TYPE_TIMESTAMP] = { "timestamp", PGORM_OID_TIMESTAMP, "timestamp" },
	[PGORM_TYPE_TIMESTAMPTZ] = { "timestamptz", PGORM_OID_TIMESTAMPTZ, "timestamptz" },
	[PGORM_TYPE_UUID] = { "uuid", PGORM_OID_UUID, "uuid" },
	[PGORM_TYPE_JSON] = { "json", PGORM_OID_JSON, "json" },
	[PGORM_TYPE_JSONB] = { "jsonb", PGORM_OID_JSONB, "jsonb" },
	[PGORM_TYPE_INT8_ARRAY] = { "int8[]", PGORM_OID_INT8_ARRAY, "bigint[]" },
	[PGORM_TYPE_TEXT_ARRAY] = { "text[]", PGORM_OID_TEXT_ARRAY, "text[]" },
	[PGORM_TYPE_ENUM] = { "enum", 0, NULL },
	[PGORM_TYPE_CENUM] = { "enum (C)", 0, NULL },
	[PGORM_TYPE_BOOL_ARRAY] = { "bool[]", PGORM_OID_BOOL_ARRAY, "boolean[]" },
	[PGORM_TYPE_INT2_ARRAY] = { "int2[]", PGORM_OID_INT2_ARRAY, "smallint[]" },
	[PGORM_TYPE_INT4_ARRAY] = { "int4[]", PGORM_OID_INT4_ARRAY, "integer[]" },
	[PGORM_TYPE_FLOAT8_ARRAY] = { "float8[]", PGORM_OID_FLOAT8_ARRAY, "double precision[]" },
	[PGORM_TYPE_UUID_ARRAY] = { "uuid[]", PGORM_OID_UUID_ARRAY, "uuid[]" },
	[PGORM_TYPE_INTERVAL] = { "interval", PGORM_OID_INTERVAL, "interval" },
	[PGORM_TYPE_TIME] = { "time", PGORM_OID_TIME, "time" },
	[PGORM_TYPE_TIMETZ] = { "timetz", PGORM_OID_TIMETZ, "timetz" },
	[PGORM_TYPE_INET] = { "inet", PGORM_OID_INET, "inet" },
	[PGORM_TYPE_CIDR] = { "cidr", PGORM_OID_CIDR, "cidr" },
	[PGORM_TYPE_VARCHAR] = { "varchar", PGORM_OID_VARCHAR, "varchar" },
	[PGORM_TYPE_CHAR] = { "bpchar", PGORM_OID_BPCHAR, "char" },
	[PGORM_TYPE_CUSTOM] = { "custom", 0, NULL },
};

static const pgorm__array_info array_info[PGORM_TYPE__COUNT] = {
	[PGORM_TYPE_BOOL_ARRAY] = { PGORM_TYPE_BOOL, PGORM_OID_BOOL, sizeof(bool) },
	[PGORM_TYPE_INT2_ARRAY] = { PGORM_TYPE_INT2, PGORM_OID_INT2, sizeof(int16_t) },
	[PGORM_TYPE_INT4_ARRAY] = { PGORM_TYPE_INT4, PGORM_OID_INT4, sizeof(int32_t) },
	[PGORM_TYPE_INT8_ARRAY] = { PGORM_TYPE_INT8, PGORM_OID_INT8, sizeof(int64_t) },
	[PGORM_TYPE_FLOAT8_ARRAY] = { PGORM_TYPE_FLOAT8, PGORM_OID_FLOAT8, sizeof(double) },
	[PGORM_TYPE_TEXT_ARRAY] = { PGORM_TYPE_TEXT, PGORM_OID_TEXT, sizeof(char *) },
	[PGORM_TYPE_UUID_ARRAY] = { PGORM_TYPE_UUID, PGORM_OID_UUID, 16 },
};

const char *pgorm_type_name(pgorm_type t)
{
	return (unsigned)t < PGORM_TYPE__COUNT ? type_info[t].name : "invalid";
}

unsigned pgorm_type_oid(pgorm_type t)
{
	return (unsigned)t < PGORM_TYPE__COUNT ? type_info[t].oid : 0;
}

const char *pgorm_type_sql(pgorm_type t)
{
	return (unsigned)t < PGORM_TYPE__COUNT ? type_info[t].sql : NULL;
}

const pgorm__array_info *pgorm__array_info_of(pgorm_type t)
{
	return (unsigned)t < PGORM_TYPE__COUNT && array_info[t].elem != PGORM_TYPE_INVALID ? &array_info[t] : NULL;
}

void pgorm__array_parts(const pgorm_value *v, const void **items, size_t *n, const bool **nulls)
{
	switch (v->type) {
	case PGORM_TYPE_INT8_ARRAY: *items = v->u.i64s.items; *n = v->u.i64s.n; *nulls = v->u.i64s.nulls; return;
	case PGORM_TYPE_TEXT_ARRAY: *items = v->u.strs.items; *n = v->u.strs.n; *nulls = v->u.strs.nulls; return;
	default: *items = v->u.arr.items; *n = v->u.arr.n; *nulls = v->u.arr.nulls; return;
	}
}

void pgorm__array_set(pgorm_value *v, const void *items, size_t n, const bool *nulls)
{
	switch (v->type) {
	case PGORM_TYPE_INT8_ARRAY: v->u.i64s.items = items; v->u.i64s.n = n; v->u.i64s.nulls = nulls; return;
	case PGORM_TYPE_TEXT_ARRAY:
		v->u.strs.items = (const char *const *)items; v->u.strs.n = n; v->u.strs.nulls = nulls;
		return;
	default: v->u.arr.items = items; v->u.arr.n = n; v->u.arr.nulls = nulls; return;
	}
}

void pgorm__array_elem(pgorm_type elem, const void *items, size_t k, pgorm_value *out)
{
	const char *base = items;
	memset(out, 0, sizeof *out);
	out->type = elem;
	switch (elem) {
	case PGORM_TYPE_BOOL: memcpy(&out->u.b, base + k * sizeof(bool), sizeof(bool)); break;
	case PGORM_TYPE_INT2: memcpy(&out->u.i16, base + k * 2, 2); break;
	case PGORM_TYPE_INT4: memcpy(&out->u.i32, base + k * 4, 4); break;
	case PGORM_TYPE_INT8: memcpy(&out->u.i64, base + k * 8, 8); break;
	case PGORM_TYPE_FLOAT8: memcpy(&out->u.f8, base + k * 8, 8); break;
	case PGORM_TYPE_UUID: memcpy(out->u.uuid, base + k * 16, 16); break;
	default: {
		const char *str;
		memcpy(&str, base + k * sizeof str, sizeof str);
		out->is_null = str == NULL;
		out->u.str.ptr = str;
		out->u.str.len = str ? strlen(str) : 0;
	}
	}
}

pgorm_type pgorm__type_from_oid(unsigned oid)
{
	switch (oid) {
	case PGORM_OID_BOOL: return PGORM_TYPE_BOOL;
	case PGORM_OID_INT2: return PGORM_TYPE_INT2;
	case PGORM_OID_INT4: return PGORM_TYPE_INT4;
	case PGORM_OID_INT8: case PGORM_OID_OID: return PGORM_TYPE_INT8;
	case PGORM_OID_FLOAT4: return PGORM_TYPE_FLOAT4;
	case PGORM_OID_FLOAT8: return PGORM_TYPE_FLOAT8;
	case PGORM_OID_TEXT: case PGORM_OID_VARCHAR: case PGORM_OID_BPCHAR: case PGORM_OID_NAME:
		return PGORM_TYPE_TEXT;
	case PGORM_OID_BYTEA: return PGORM_TYPE_BYTEA;
	case PGORM_OID_NUMERIC: return PGORM_TYPE_NUMERIC;
	case PGORM_OID_DATE: return PGORM_TYPE_DATE;
	case PGORM_OID_TIMESTAMP: return PGORM_TYPE_TIMESTAMP;
	case PGORM_OID_TIMESTAMPTZ: return PGORM_TYPE_TIMESTAMPTZ;
	case PGORM_OID_UUID: return PGORM_TYPE_UUID;
	case PGORM_OID_JSON: return PGORM_TYPE_JSON;
	case PGORM_OID_JSONB: return PGORM_TYPE_JSONB;
	case PGORM_OID_INT8_ARRAY: return PGORM_TYPE_INT8_ARRAY;
	case PGORM_OID_TEXT_ARRAY: case PGORM_OID_VARCHAR_ARRAY: case PGORM_OID_BPCHAR_ARRAY:
		return PGORM_TYPE_TEXT_ARRAY;
	case PGORM_OID_BOOL_ARRAY: return PGORM_TYPE_BOOL_ARRAY;
	case PGORM_OID_INT2_ARRAY: return PGORM_TYPE_INT2_ARRAY;
	case PGORM_OID_INT4_ARRAY: return PGORM_TYPE_INT4_ARRAY;
	case PGORM_OID_FLOAT8_ARRAY: return PGORM_TYPE_FLOAT8_ARRAY;
	case PGORM_OID_UUID_ARRAY: return PGORM_TYPE_UUID_ARRAY;
	case PGORM_OID_INTERVAL: return PGORM_TYPE_INTERVAL;
	case PGORM_OID_TIME: return PGORM_TYPE_TIME;
	case PGORM_OID_TIMETZ: return PGORM_TYPE_TIMETZ;
	case PGORM_OID_INET: return PGORM_TYPE_INET;
	case PGORM_OID_CIDR: return PGORM_TYPE_CIDR;
	default: return PGORM_TYPE_INVALID;
	}
}

bool pgorm__utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p;
		if (c < 0x80) {
			if (c == 0)
				return false; /* the server rejects NUL in text */
			p++;
			continue;
		}
		size_t len;
		unsigned min;
		if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
		else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
		else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
		else return false;
		if ((size_t)(end - p) < len)
			return false;
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return false;
		p += len;
	}
	return true;
}

int pgorm__buf_reserve(pgorm__buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
		return PGORM_ENOMEM;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < extra)
		cap *= 2;
	char *d = pgorm__realloc(b->data, cap);
	if (d == NULL)
		return PGORM_ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

void pgorm__buf_free(pgorm__buf *b)
{
	pgorm__free(b->data);
	memset(b, 0, sizeof *b);
}

void pgorm__params_free(pgorm__params *p)
{
	pgorm__free(p->oids);
	pgorm__free(p->values);
	pgorm__free(p->lengths);
	pgorm__free(p->formats);
	pgorm__free(p->offsets);
	pgorm__buf_free(&p->buf);
	memset(p, 0, sizeof *p);
}

static int params_grow(pgorm__params *p, size_t n)
{
	if (n <= p->cap)
		return 0;
	size_t cap = p->cap ? p->cap : 8;
	while (cap < n)
		cap *= 2;
	unsigned *oids = pgorm__reallocarray(p->oids, cap, sizeof *oids);
	if (oids) p->oids = oids;
	const char **values = pgorm__reallocarray(p->values, cap, sizeof *values);
	if (values) p->values = values;
	int *lengths = pgorm__reallocarray(p->lengths, cap, sizeof *lengths);
	if (lengths) p->lengths = lengths;
	int *formats = pgorm__reallocarray(p->formats, cap, sizeof *formats);
	if (formats) p->formats = formats;
	size_t *offsets = pgorm__reallocarray(p->offsets, cap, sizeof *offsets);
	if (offsets) p->offsets = offsets;
	if (!oids || !values || !lengths || !formats || !offsets)
		return PGORM_ENOMEM;
	p->cap = cap;
	return 0;
}

/* Append len bytes (or reserve them when src is NULL); returns the offset or -1. */
static long buf_put(pgorm__buf *b, const void *src, size_t len)
{
	if (pgorm__buf_reserve(b, len) != 0)
		return -1;
	long off = (long)b->len;
	if (src != NULL)
		memcpy(b->data + b->len, src, len);
	b->len += len;
	return off;
}

static int encode_array_header(pgorm__buf *b, size_t n, unsigned elem_oid)
{
	char hdr[20];
	pgorm__put32(hdr, n ? 1 : 0);
	pgorm__put32(hdr + 4, 0);
	pgorm__put32(hdr + 8, elem_oid);
	pgorm__put32(hdr + 12, (uint32_t)n);
	pgorm__put32(hdr + 16, 1);
	return buf_put(b, hdr, n ? 20 : 12) < 0 ? PGORM_ENOMEM : 0;
}

static bool is_str_type(pgorm_type t)
{
	switch (t) {
	case PGORM_TYPE_TEXT: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB: case PGORM_TYPE_BYTEA:
	case PGORM_TYPE_NUMERIC: case PGORM_TYPE_ENUM: case PGORM_TYPE_VARCHAR: case PGORM_TYPE_CHAR:
		return true;
	default:
		return false;
	}
}

#define USECS_PER_DAY INT64_C(86400000000)
#define TZ_LIMIT 57599   /* the server's TZDISP_LIMIT - 1: 15:59:59 */

/* A label table's length, or -1 when labels is NULL. */
static long labels_count(const char *const *labels)
{
	long n = 0;
	if (labels == NULL)
		return -1;
	while (labels[n] != NULL)
		n++;
	return n;
}

static int check_inet(const pgorm_value *v, size_t i, pgorm_error *err)
{
	const pgorm_inet *a = &v->u.inet;
	unsigned maxbits = a->family == 4 ? 32 : a->family == 6 ? 128 : 0;
	if (maxbits == 0)
		return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: %s family %u (4 or 6)", i + 1,
		                        pgorm_type_name(v->type), a->family);
	if (a->bits > maxbits)
		return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: %s netmask /%u is longer than %u bits", i + 1,
		                        pgorm_type_name(v->type), a->bits, maxbits);
	if (v->type == PGORM_TYPE_CIDR)
		for (unsigned bit = a->bits; bit < maxbits; bit++)
			if (a->addr[bit / 8] & (0x80u >> (bit % 8)))
				return pgorm__error_set(err, PGORM_EINVAL,
				                        "parameter $%zu: cidr has bits set to the right of its /%u netmask",
				                        i + 1, a->bits);
	return 0;
}

int pgorm__value_check(const pgorm_value *v, size_t i, pgorm_error *err)
{
	if (v->is_null)
		return 0;
	if (is_str_type(v->type)) {
		if (v->u.str.ptr == NULL && v->u.str.len > 0)
			return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: NULL pointer with length %zu",
			                        i + 1, v->u.str.len);
		if ((v->flags & PGORM_VALUE_BORROWED) && (v->u.str.ptr == NULL || v->u.str.ptr[v->u.str.len] != '\0'))
			return pgorm__error_set(err, PGORM_EINVAL,
			                        "parameter $%zu: a borrowed value must be a NUL-terminated string of its length",
			                        i + 1);
		return 0;
	}
	const pgorm__array_info *ai = pgorm__array_info_of(v->type);
	if (ai != NULL) {
		const void *items;
		size_t n;
		const bool *nulls;
		pgorm__array_parts(v, &items, &n, &nulls);
		if (items == NULL && n > 0)
			return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: NULL %s items with length %zu", i + 1,
			                        pgorm_type_name(v->type), n);
		if (ai->elem == PGORM_TYPE_TEXT && n <= SIZE_MAX / sizeof(char *))
			for (size_t k = 0; k < n; k++)
				if (((const char *const *)items)[k] == NULL && !(nulls && nulls[k]))
					return pgorm__error_set(err, PGORM_EINVAL,
					                        "parameter $%zu: NULL element %zu in text[] without its nulls flag",
					                        i + 1, k);
		return 0;
	}
	switch (v->type) {
	case PGORM_TYPE_CENUM: {
		long n = labels_count(v->u.cenum.labels);
		if (n < 0)
			return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: enum without a label table", i + 1);
		if (v->u.cenum.value < 0 || v->u.cenum.value >= n)
			return pgorm__error_set(err, PGORM_EINVAL,
			                        "parameter $%zu: enum value %d is not in its label table (%ld labels)",
			                        i + 1, v->u.cenum.value, n);
		return 0;
	}
	case PGORM_TYPE_TIME:
		if (v->u.i64 < 0 || v->u.i64 > USECS_PER_DAY)
			return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: time %lld µs is outside 00:00..24:00",
			                        i + 1, (long long)v->u.i64);
		return 0;
	case PGORM_TYPE_TIMETZ:
		if (v->u.timetz.usecs < 0 || v->u.timetz.usecs > USECS_PER_DAY)
			return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: timetz %lld µs is outside 00:00..24:00",
			                        i + 1, (long long)v->u.timetz.usecs);
		if (v->u.timetz.utc_offset < -TZ_LIMIT || v->u.timetz.utc_offset > TZ_LIMIT)
			return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: timetz offset %d s is outside ±15:59:59",
			                        i + 1, (int)v->u.timetz.utc_offset);
		return 0;
	case PGORM_TYPE_INET:
	case PGORM_TYPE_CIDR:
		return check_inet(v, i, err);
	case PGORM_TYPE_CUSTOM:
		if (v->u.custom.type == NULL || v->u.custom.type->send == NULL || v->u.custom.ptr == NULL)
			return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: custom value without its type, send or value",
			                        i + 1);
		return 0;
	default:
		return 0;
	}
}

static int encode_one(const pgorm_value *v, size_t i, pgorm__buf *b, int *fmt, size_t max, pgorm_error *err);

/* Any array type: header, then each element as its length and its scalar encoding. */
static int encode_array(const pgorm_value *v, size_t i, pgorm__buf *b, size_t max, pgorm_error *err)
{
	const pgorm__array_info *ai = pgorm__array_info_of(v->type);
	const void *items;
	size_t n;
	const bool *nulls;
	pgorm__array_parts(v, &items, &n, &nulls);
	if (n > INT32_MAX || n > max / 4)
		return pgorm__error_set(err, PGORM_ETOOBIG, "parameter $%zu: %s of %zu elements exceeds the limit of %zu bytes",
		                        i + 1, pgorm_type_name(v->type), n, max);
	bool hasnull = false;
	for (size_t k = 0; nulls && k < n; k++)
		hasnull |= nulls[k];
	char hdr[20];
	pgorm__put32(hdr, n ? 1 : 0);
	pgorm__put32(hdr + 4, hasnull);
	pgorm__put32(hdr + 8, ai->elem_oid);
	pgorm__put32(hdr + 12, (uint32_t)n);
	pgorm__put32(hdr + 16, 1);
	size_t start = b->len;
	if (buf_put(b, hdr, n ? 20 : 12) < 0)
		return PGORM_ENOMEM;
	for (size_t k = 0; k < n; k++) {
		long off = buf_put(b, NULL, 4);
		if (off < 0)
			return PGORM_ENOMEM;
		if (nulls && nulls[k]) {
			pgorm__put32(b->data + off, UINT32_MAX); /* -1: NULL */
			continue;
		}
		pgorm_value ev;
		int fmt, rc;
		pgorm__array_elem(ai->elem, items, k, &ev);
		if ((rc = encode_one(&ev, i, b, &fmt, max, err)) != 0)
			return rc;
		pgorm__put32(b->data + off, (uint32_t)(b->len - (size_t)off - 4));
		if (b->len - start > max)
			return pgorm__error_set(err, PGORM_ETOOBIG, "parameter $%zu: %s exceeds the limit of %zu bytes", i + 1,
			                        pgorm_type_name(v->type), max);
	}
	return 0;
}

static int encode_custom(const pgorm_value *v, size_t i, pgorm__buf *b, size_t max, pgorm_error *err)
{
	const pgorm_custom_type *ct = v->u.custom.type;
	if (pgorm__buf_reserve(b, 64) != 0)
		return PGORM_ENOMEM;
	size_t room = b->cap - b->len;
	size_t need = ct->send(v->u.custom.ptr, (unsigned char *)b->data + b->len, room);
	if (need != (size_t)-1 && need > room) {
		if (need > max)
			return pgorm__error_set(err, PGORM_ETOOBIG, "parameter $%zu: %s value of %zu bytes exceeds the limit",
			                        i + 1, ct->name ? ct->name : "custom", need);
		if (pgorm__buf_reserve(b, need) != 0)
			return PGORM_ENOMEM;
		room = b->cap - b->len;
		need = ct->send(v->u.custom.ptr, (unsigned char *)b->data + b->len, room);
		if (need > room && need != (size_t)-1)
			return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: %s send wanted more room on its second call",
			                        i + 1, ct->name ? ct->name : "custom");
	}
	if (need == (size_t)-1)
		return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: the %s value cannot be encoded (its send failed)",
		                        i + 1, ct->name ? ct->name : "custom");
	b->len += need;
	return 0;
}

/* Encode one value at the end of b; *fmt gets 0 (text) or 1 (binary). */
static int encode_one(const pgorm_value *v, size_t i, pgorm__buf *b, int *fmt, size_t max,
                      pgorm_error *err)
{
	char tmp[20];
	size_t len = 0;
	*fmt = 1;
	int rc = pgorm__value_check(v, i, err);
	if (rc != 0)
		return rc;
	switch (v->type) {
	case PGORM_TYPE_BOOL: tmp[0] = v->u.b ? 1 : 0; len = 1; break;
	case PGORM_TYPE_INT2: pgorm__put16(tmp, (uint16_t)v->u.i16); len = 2; break;
	case PGORM_TYPE_INT4: pgorm__put32(tmp, (uint32_t)v->u.i32); len = 4; break;
	case PGORM_TYPE_DATE: pgorm__put32(tmp, (uint32_t)v->u.date); len = 4; break;
	case PGORM_TYPE_INT8:
	case PGORM_TYPE_TIME:
	case PGORM_TYPE_TIMESTAMP:
	case PGORM_TYPE_TIMESTAMPTZ: pgorm__put64(tmp, (uint64_t)v->u.i64); len = 8; break;
	case PGORM_TYPE_FLOAT4: {
		uint32_t bits;
		memcpy(&bits, &v->u.f4, 4);
		pgorm__put32(tmp, bits);
		len = 4;
		break;
	}
	case PGORM_TYPE_FLOAT8: {
		uint64_t bits;
		memcpy(&bits, &v->u.f8, 8);
		pgorm__put64(tmp, bits);
		len = 8;
		break;
	}
	case PGORM_TYPE_UUID: memcpy(tmp, v->u.uuid, 16); len = 16; break;
	case PGORM_TYPE_INTERVAL: /* interval_send: time, day, month */
		pgorm__put64(tmp, (uint64_t)v->u.interval.usecs);
		pgorm__put32(tmp + 8, (uint32_t)v->u.interval.days);
		pgorm__put32(tmp + 12, (uint32_t)v->u.interval.months);
		len = 16;
		break;
	case PGORM_TYPE_TIMETZ: /* timetz_send: time, zone in seconds WEST of UTC */
		pgorm__put64(tmp, (uint64_t)v->u.timetz.usecs);
		pgorm__put32(tmp + 8, (uint32_t)-v->u.timetz.utc_offset);
		len = 12;
		break;
	case PGORM_TYPE_INET:
	case PGORM_TYPE_CIDR: { /* inet_send: family (PGSQL_AF_INET 2, _INET6 3), bits, is_cidr, nb, addr */
		size_t nb = v->u.inet.family == 4 ? 4 : 16;
		tmp[0] = (char)(v->u.inet.family == 4 ? 2 : 3);
		tmp[1] = (char)v->u.inet.bits;
		tmp[2] = v->type == PGORM_TYPE_CIDR;
		tmp[3] = (char)nb;
		memcpy(tmp + 4, v->u.inet.addr, nb);
		len = 4 + nb;
		break;
	}
	case PGORM_TYPE_CENUM: {
		const char *label = v->u.cenum.labels[v->u.cenum.value];
		pgorm_value lv = *v;
		lv.type = PGORM_TYPE_ENUM;
		lv.u.str.ptr = label;
		lv.u.str.len = strlen(label);
		return encode_one(&lv, i, b, fmt, max, err);
	}
	case PGORM_TYPE_TEXT:
	case PGORM_TYPE_JSON:
	case PGORM_TYPE_JSONB:
	case PGORM_TYPE_BYTEA:
	case PGORM_TYPE_NUMERIC:
	case PGORM_TYPE_ENUM:
	case PGORM_TYPE_VARCHAR:
	case PGORM_TYPE_CHAR: {
		if (v->u.str.len > max)
			return pgorm__error_set(err, PGORM_ETOOBIG,
			                        "parameter $%zu: %s value of %zu bytes exceeds the limit of %zu bytes",
			                        i + 1, pgorm_type_name(v->type), v->u.str.len, max);
		if (v->type != PGORM_TYPE_BYTEA && !pgorm__utf8_valid(v->u.str.ptr, v->u.str.len))
			return pgorm__error_set(err, PGORM_EENCODING,
			                        "parameter $%zu: %s value is not valid UTF-8 (or contains NUL)",
			                        i + 1, pgorm_type_name(v->type));
		if (v->type == PGORM_TYPE_JSONB && buf_put(b, "\1", 1) < 0)
			return PGORM_ENOMEM;
		if (buf_put(b, v->u.str.ptr ? v->u.str.ptr : "", v->u.str.len) < 0)
			return PGORM_ENOMEM;
		if (v->type == PGORM_TYPE_NUMERIC) { /* text format: NUL-terminated */
			*fmt = 0;
			if (buf_put(b, "", 1) < 0)
				return PGORM_ENOMEM;
		}
		return 0;
	}
	case PGORM_TYPE_INT8_ARRAY: {
		if (v->u.i64s.nulls != NULL)
			return encode_array(v, i, b, max, err);
		/* the key arrays of loaders and flushes: no NULL, one pass */
		if (v->u.i64s.n > max / 12 || v->u.i64s.n > INT32_MAX)
			return pgorm__error_set(err, PGORM_ETOOBIG, "parameter $%zu: int8[] of %zu elements is too large",
			                        i + 1, v->u.i64s.n);
		if (encode_array_header(b, v->u.i64s.n, PGORM_OID_INT8) != 0)
			return PGORM_ENOMEM;
		long off = buf_put(b, NULL, v->u.i64s.n * 12);
		if (off < 0)
			return PGORM_ENOMEM;
		char *p = b->data + off;
		for (size_t k = 0; k < v->u.i64s.n; k++, p += 12) {
			pgorm__put32(p, 8);
			pgorm__put64(p + 4, (uint64_t)v->u.i64s.items[k]);
		}
		return 0;
	}
	case PGORM_TYPE_TEXT_ARRAY:
	case PGORM_TYPE_BOOL_ARRAY:
	case PGORM_TYPE_INT2_ARRAY:
	case PGORM_TYPE_INT4_ARRAY:
	case PGORM_TYPE_FLOAT8_ARRAY:
	case PGORM_TYPE_UUID_ARRAY:
		return encode_array(v, i, b, max, err);
	case PGORM_TYPE_CUSTOM:
		return encode_custom(v, i, b, max, err);
	default:
		return pgorm__error_set(err, PGORM_ETYPE, "parameter $%zu: unknown type %d", i + 1, (int)v->type);
	}
	return buf_put(b, tmp, len) < 0 ? PGORM_ENOMEM : 0;
}

/* offsets[] mark of a parameter whose values[] points at the caller's memory */
#define BORROWED_OFFSET (SIZE_MAX - 1)

void pgorm__params_reset(pgorm__params *p)
{
	p->n = 0;
	p->buf.len = 0;
}

int pgorm__params_append(pgorm__params *p, size_t n, const pgorm_value *v, size_t max_value,
                         pgorm_error *err)
{
	if (n > PGORM__MAX_PARAMS)
		return pgorm__error_set(err, PGORM_EINVAL, "%zu parameters: PostgreSQL accepts at most 65535", n);
	if (n > 0 && v == NULL)
		return pgorm__error_set(err, PGORM_EINVAL, "%zu parameters announced but params is NULL", n);
	size_t base = p->n;
	if (n > SIZE_MAX - base || params_grow(p, base + n) != 0)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory encoding parameters");
	/* Keep data non-NULL: libpq reads a NULL value pointer as SQL NULL, so an empty string
	 * encoded into a never-grown buffer would otherwise turn into NULL. */
	if (pgorm__buf_reserve(&p->buf, 1) != 0)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory encoding parameters");
	for (size_t i = 0; i < n; i++) {
		size_t k = base + i;
		/* ENUM, CENUM and CUSTOM go untyped (0): the server takes the column's type */
		p->oids[k] = pgorm_type_oid(v[i].type);
		if (v[i].type <= PGORM_TYPE_INVALID || v[i].type >= PGORM_TYPE__COUNT)
			return pgorm__error_set(err, PGORM_ETYPE, "parameter $%zu: unknown type %d", i + 1, (int)v[i].type);
		if (v[i].is_null) {
			p->offsets[k] = SIZE_MAX;
			p->lengths[k] = 0;
			p->formats[k] = 1;
			continue;
		}
		if ((v[i].flags & PGORM_VALUE_BORROWED) && (v[i].type == PGORM_TYPE_JSONB || v[i].type == PGORM_TYPE_JSON ||
		                                            v[i].type == PGORM_TYPE_TEXT)) {
			/* the caller's NUL-terminated text as it is: text format, no copy */
			int rc = pgorm__value_check(&v[i], i, err);
			if (rc != 0)
				return rc;
			if (v[i].u.str.len > max_value || v[i].u.str.len > (size_t)INT32_MAX)
				return pgorm__error_set(err, PGORM_ETOOBIG,
				                        "parameter $%zu: %s value of %zu bytes exceeds the limit of %zu bytes", i + 1,
				                        pgorm_type_name(v[i].type), v[i].u.str.len, max_value);
			if (!pgorm__utf8_valid(v[i].u.str.ptr, v[i].u.str.len))
				return pgorm__error_set(err, PGORM_EENCODING,
				                        "parameter $%zu: %s value is not valid UTF-8 (or contains NUL)", i + 1,
				                        pgorm_type_name(v[i].type));
			p->offsets[k] = BORROWED_OFFSET;
			p->values[k] = v[i].u.str.ptr;
			p->lengths[k] = (int)v[i].u.str.len;
			p->formats[k] = 0;
			continue;
		}
		size_t start = p->buf.len;
		int rc = encode_one(&v[i], i, &p->buf, &p->formats[k], max_value, err);
		if (rc != 0)
			return rc == PGORM_ENOMEM ? pgorm__error_set(err, rc, "out of memory encoding parameters") : rc;
		if (p->buf.len - start > (size_t)INT32_MAX)
			return pgorm__error_set(err, PGORM_ETOOBIG, "parameter $%zu is larger than 2 GiB", i + 1);
		p->offsets[k] = start;
		p->lengths[k] = (int)(p->buf.len - start);
	}
	p->n = base + n;
	return 0;
}

void pgorm__params_resolve(pgorm__params *p)
{
	/* The buffer may have moved while growing: pointers are made last. */
	for (size_t i = 0; i < p->n; i++)
		if (p->offsets[i] != BORROWED_OFFSET)
			p->values[i] = p->offsets[i] == SIZE_MAX ? NULL : p->buf.data + p->offsets[i];
}

int pgorm__params_encode(pgorm__params *p, size_t n, const pgorm_value *v, size_t max_value,
                         pgorm_error *err)
{
	pgorm__params_reset(p);
	int rc = pgorm__params_append(p, n, v, max_value, err);
	if (rc == 0)
		pgorm__params_resolve(p);
	return rc;
}

bool pgorm__type_accepts(pgorm_type want, unsigned oid)
{
	pgorm_type have = pgorm__type_from_oid(oid);
	if (have == want)
		return true;
	switch (want) {
	case PGORM_TYPE_INT8: return have == PGORM_TYPE_INT4 || have == PGORM_TYPE_INT2;
	case PGORM_TYPE_INT4: return have == PGORM_TYPE_INT2;
	case PGORM_TYPE_FLOAT8: return have == PGORM_TYPE_FLOAT4;
	case PGORM_TYPE_TEXT: return have == PGORM_TYPE_JSON;
	case PGORM_TYPE_VARCHAR: case PGORM_TYPE_CHAR: return have == PGORM_TYPE_TEXT;
	case PGORM_TYPE_INET: return have == PGORM_TYPE_CIDR;
	/* enum types are always created by users: their OIDs are past the built-in ones */
	case PGORM_TYPE_ENUM: case PGORM_TYPE_CENUM: return oid >= PGORM_OID_FIRST_NORMAL;
	/* a custom codec reads any type pgorm has none for */
	case PGORM_TYPE_CUSTOM: return have == PGORM_TYPE_INVALID && oid != 0;
	default: return false;
	}
}

static int bad_data(pgorm_error *err, unsigned oid, size_t len)
{
	return pgorm__error_set(err, PGORM_ETYPE, "malformed binary value for type oid %u (%zu bytes)", oid, len);
}

/* numeric binary → decimal text (see numeric_send in the server). */
static int decode_numeric(const char *d, size_t len, pgorm_value *out, pgorm__arena *a,
                          pgorm_error *err)
{
	if (len < 8)
		return bad_data(err, PGORM_OID_NUMERIC, len);
	int ndigits = (int16_t)pgorm__be16(d), weight = (int16_t)pgorm__be16(d + 2);
	unsigned sign = pgorm__be16(d + 4);
	int dscale = (int16_t)pgorm__be16(d + 6);
	if (ndigits < 0 || dscale < 0 || len < 8 + 2 * (size_t)ndigits)
		return bad_data(err, PGORM_OID_NUMERIC, len);
	const char *special = sign == 0xC000 ? "NaN" : sign == 0xD000 ? "Infinity" : sign == 0xF000 ? "-Infinity" : NULL;
	if (special != NULL) {
		out->u.str.ptr = special;
		out->u.str.len = strlen(special);
		return 0;
	}
	if (sign != 0 && sign != 0x4000)
		return bad_data(err, PGORM_OID_NUMERIC, len);
	for (int g = 0; g < ndigits; g++) /* base-10000 digits; anything else would overflow below */
		if ((int16_t)pgorm__be16(d + 8 + 2 * g) < 0 || pgorm__be16(d + 8 + 2 * g) > 9999)
			return bad_data(err, PGORM_OID_NUMERIC, len);
	size_t int_groups = weight >= 0 ? (size_t)weight + 1 : 1;
	size_t cap = 2 + int_groups * 4 + 1 + (size_t)dscale + 4 + 1;
	char *s = pgorm__arena_alloc(a, cap), *p = s;
	if (s == NULL)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory decoding numeric");
	if (sign == 0x4000)
		*p++ = '-';
	if (weight < 0) {
		*p++ = '0';
	} else {
		for (int g = 0; g <= weight; g++) {
			int dig = g < ndigits ? (int16_t)pgorm__be16(d + 8 + 2 * g) : 0;
			p += sprintf(p, g == 0 ? "%d" : "%04d", dig);
		}
	}
	if (dscale > 0) {
		*p++ = '.';
		int written = 0;
		for (int g = weight + 1; written < dscale; g++) {
			int dig = (g >= 0 && g < ndigits) ? (int16_t)pgorm__be16(d + 8 + 2 * g) : 0;
			char four[5] = { (char)('0' + dig / 1000 % 10), (char)('0' + dig / 100 % 10),
			                 (char)('0' + dig / 10 % 10), (char)('0' + dig % 10), 0 };
			for (int k = 0; k < 4 && written < dscale; k++, written++)
				*p++ = four[k];
		}
	}
	*p = '\0';
	out->u.str.ptr = s;
	out->u.str.len = (size_t)(p - s);
	return 0;
}

static bool elem_oid_ok(unsigned want, unsigned have)
{
	return have == want || (want == PGORM_OID_TEXT && (have == PGORM_OID_VARCHAR || have == PGORM_OID_BPCHAR ||
	                                                    have == PGORM_OID_NAME));
}

static int array_error(pgorm_error *err, unsigned oid, const char *d, size_t len)
{
	if (len >= 12 && pgorm__be32(d) > 1)
		return pgorm__error_set(err, PGORM_ETYPE, "%u-dimensional array: only one dimension is supported",
		                        pgorm__be32(d));
	return bad_data(err, oid, len);
}

/* A one-dimensional array of any of the array types: items (and nulls, when an element is
 * NULL) in the arena. */
static int decode_array(pgorm_type t, unsigned oid, const char *d, size_t len, pgorm_value *out, pgorm__arena *a,
                        pgorm_error *err)
{
	const pgorm__array_info *ai = pgorm__array_info_of(t);
	if (len < 12)
		return bad_data(err, oid, len);
	uint32_t ndim = pgorm__be32(d), eoid = pgorm__be32(d + 8);
	if (!elem_oid_ok(ai->elem_oid, eoid) || ndim > 1 || (ndim == 1 && len < 20))
		return array_error(err, oid, d, len);
	const char *e = d + (ndim ? 20 : 12), *end = d + len;
	uint32_t n = ndim ? pgorm__be32(d + 12) : 0;
	/* every element takes at least its 4-byte length: bounds the count before allocating */
	if (n > (size_t)(end - e) / 4)
		return bad_data(err, oid, len);
	char *items = pgorm__arena_alloc(a, (size_t)n * ai->elem_size + 1);
	bool *nulls = NULL;
	if (items == NULL)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory decoding %s", pgorm_type_name(t));
	for (uint32_t k = 0; k < n; k++) {
		if (end - e < 4)
			return bad_data(err, oid, len);
		int32_t el = (int32_t)pgorm__be32(e);
		e += 4;
		if (el < 0) {
			if (nulls == NULL && (nulls = pgorm__arena_calloc(a, n)) == NULL)
				return pgorm__error_set(err, PGORM_ENOMEM, "out of memory decoding %s", pgorm_type_name(t));
			nulls[k] = true;
			memset(items + (size_t)k * ai->elem_size, 0, ai->elem_size);
			continue;
		}
		if (end - e < el)
			return bad_data(err, oid, len);
		pgorm_value ev;
		int rc = pgorm__codec_decode(ai->elem, eoid, e, (size_t)el, &ev, a, err);
		if (rc != 0)
			return rc;
		char *slot = items + (size_t)k * ai->elem_size;
		switch (ai->elem) {
		case PGORM_TYPE_BOOL: memcpy(slot, &ev.u.b, sizeof(bool)); break;
		case PGORM_TYPE_INT2: memcpy(slot, &ev.u.i16, 2); break;
		case PGORM_TYPE_INT4: memcpy(slot, &ev.u.i32, 4); break;
		case PGORM_TYPE_INT8: memcpy(slot, &ev.u.i64, 8); break;
		case PGORM_TYPE_FLOAT8: memcpy(slot, &ev.u.f8, 8); break;
		case PGORM_TYPE_UUID: memcpy(slot, ev.u.uuid, 16); break;
		default: {
			char *str = pgorm__arena_strndup(a, ev.u.str.ptr, ev.u.str.len);
			if (str == NULL)
				return pgorm__error_set(err, PGORM_ENOMEM, "out of memory decoding %s", pgorm_type_name(t));
			memcpy(slot, &str, sizeof str);
		}
		}
		e += el;
	}
	if (e != end)
		return bad_data(err, oid, len);
	pgorm__array_set(out, items, n, nulls);
	return 0;
}

int pgorm__codec_decode(pgorm_type t, unsigned oid, const char *d, size_t len, pgorm_value *out,
                        pgorm__arena *a, pgorm_error *err)
{
	memset(out, 0, sizeof *out);
	out->type = t;
	if (!pgorm__type_accepts(t, oid))
		return pgorm__error_set(err, PGORM_ETYPE, "cannot read a column of type oid %u (%s) as %s", oid,
		                        pgorm_type_name(pgorm__type_from_oid(oid)), pgorm_type_name(t));
	if (t == PGORM_TYPE_ENUM || t == PGORM_TYPE_CENUM) { /* enum_send: the label's text */
		out->type = PGORM_TYPE_ENUM; /* a CENUM column maps it to its index */
		out->u.str.ptr = d;
		out->u.str.len = len;
		return 0;
	}
	if (t == PGORM_TYPE_CUSTOM) {
		out->u.custom.ptr = d;
		out->u.custom.len = len;
		return 0;
	}
	switch (pgorm__type_from_oid(oid)) {
	case PGORM_TYPE_INT2:
		if (len != 2) return bad_data(err, oid, len);
		out->u.i64 = (int16_t)pgorm__be16(d);
		if (t == PGORM_TYPE_INT2) out->u.i16 = (int16_t)out->u.i64;
		if (t == PGORM_TYPE_INT4) out->u.i32 = (int32_t)out->u.i64;
		return 0;
	case PGORM_TYPE_INT4:
		if (len != 4) return bad_data(err, oid, len);
		if (t == PGORM_TYPE_INT8) out->u.i64 = (int32_t)pgorm__be32(d);
		else out->u.i32 = (int32_t)pgorm__be32(d);
		return 0;
	case PGORM_TYPE_DATE:
		if (len != 4) return bad_data(err, oid, len);
		out->u.date = (int32_t)pgorm__be32(d);
		return 0;
	case PGORM_TYPE_INT8:
		if (oid == PGORM_OID_OID) {
			if (len != 4) return bad_data(err, oid, len);
			out->u.i64 = pgorm__be32(d);
			return 0;
		}
		/* fallthrough */
	case PGORM_TYPE_TIMESTAMP:
	case PGORM_TYPE_TIMESTAMPTZ:
		if (len != 8) return bad_data(err, oid, len);
		out->u.i64 = (int64_t)pgorm__be64(d);
		return 0;
	case PGORM_TYPE_BOOL:
		if (len != 1) return bad_data(err, oid, len);
		out->u.b = d[0] != 0;
		return 0;
	case PGORM_TYPE_FLOAT4: {
		if (len != 4) return bad_data(err, oid, len);
		uint32_t bits = pgorm__be32(d);
		float f;
		memcpy(&f, &bits, 4);
		if (t == PGORM_TYPE_FLOAT8) out->u.f8 = f;
		else out->u.f4 = f;
		return 0;
	}
	case PGORM_TYPE_FLOAT8: {
		if (len != 8) return bad_data(err, oid, len);
		uint64_t bits = pgorm__be64(d);
		memcpy(&out->u.f8, &bits, 8);
		return 0;
	}
	case PGORM_TYPE_UUID:
		if (len != 16) return bad_data(err, oid, len);
		memcpy(out->u.uuid, d, 16);
		return 0;
	case PGORM_TYPE_JSONB:
		if (len < 1 || d[0] != 1) return bad_data(err, oid, len);
		out->u.str.ptr = d + 1;
		out->u.str.len = len - 1;
		return 0;
	case PGORM_TYPE_TEXT:
	case PGORM_TYPE_JSON:
	case PGORM_TYPE_BYTEA:
		out->u.str.ptr = d;
		out->u.str.len = len;
		return 0;
	case PGORM_TYPE_NUMERIC:
		return decode_numeric(d, len, out, a, err);
	case PGORM_TYPE_INT8_ARRAY:
	case PGORM_TYPE_TEXT_ARRAY:
	case PGORM_TYPE_BOOL_ARRAY:
	case PGORM_TYPE_INT2_ARRAY:
	case PGORM_TYPE_INT4_ARRAY:
	case PGORM_TYPE_FLOAT8_ARRAY:
	case PGORM_TYPE_UUID_ARRAY:
		return decode_array(t, oid, d, len, out, a, err);
	case PGORM_TYPE_TIME:
		if (len != 8) return bad_data(err, oid, len);
		out->u.i64 = (int64_t)pgorm__be64(d);
		return 0;
	case PGORM_TYPE_INTERVAL:
		if (len != 16) return bad_data(err, oid, len);
		out->u.interval.usecs = (int64_t)pgorm__be64(d);
		out->u.interval.days = (int32_t)pgorm__be32(d + 8);
		out->u.interval.months = (int32_t)pgorm__be32(d + 12);
		return 0;
	case PGORM_TYPE_TIMETZ: {
		if (len != 12) return bad_data(err, oid, len);
		/* the zone as encoding bounds it (a hostile INT32_MIN could not even be negated) */
		int32_t zone = (int32_t)pgorm__be32(d + 8);
		if (zone < -TZ_LIMIT || zone > TZ_LIMIT) return bad_data(err, oid, len);
		out->u.timetz.usecs = (int64_t)pgorm__be64(d);
		out->u.timetz.utc_offset = -zone;
		return 0;
	}
	case PGORM_TYPE_INET:
	case PGORM_TYPE_CIDR: {
		if (len < 4) return bad_data(err, oid, len);
		unsigned fam = (unsigned char)d[0], bits = (unsigned char)d[1], nb = (unsigned char)d[3];
		if (!((fam == 2 && nb == 4 && bits <= 32) || (fam == 3 && nb == 16 && bits <= 128)) || len != 4 + nb)
			return bad_data(err, oid, len);
		out->u.inet.family = fam == 2 ? 4 : 6;
		out->u.inet.bits = (uint8_t)bits;
		memcpy(out->u.inet.addr, d + 4, nb);
		return 0;
	}
	default:
		return pgorm__error_set(err, PGORM_ETYPE, "no codec for type oid %u", oid);
	}
}

int pgorm__value_copy(pgorm__arena *a, pgorm_value *v)
{
	if (v->is_null)
		return 0;
	if (is_str_type(v->type)) {
		if (v->u.str.ptr != NULL && (v->u.str.ptr = pgorm__arena_strndup(a, v->u.str.ptr, v->u.str.len)) == NULL)
			return PGORM_ENOMEM;
		return 0;
	}
	const pgorm__array_info *ai = pgorm__array_info_of(v->type);
	if (ai != NULL) {
		const void *items;
		size_t n;
		const bool *nulls;
		pgorm__array_parts(v, &items, &n, &nulls);
		if (items == NULL)
			return 0;
		if (n > SIZE_MAX / ai->elem_size - 1)
			return PGORM_ENOMEM;
		char *ci = pgorm__arena_alloc(a, n * ai->elem_size + 1);
		bool *cn = nulls ? pgorm__arena_alloc(a, n + 1) : NULL;
		if (ci == NULL || (nulls && cn == NULL))
			return PGORM_ENOMEM;
		memcpy(ci, items, n * ai->elem_size);
		if (nulls)
			memcpy(cn, nulls, n);
		for (size_t k = 0; ai->elem == PGORM_TYPE_TEXT && k < n; k++) {
			char **slot = (char **)(void *)ci + k;
			if (*slot != NULL && (*slot = pgorm__arena_strndup(a, *slot, strlen(*slot))) == NULL)
				return PGORM_ENOMEM;
		}
		pgorm__array_set(v, ci, n, cn);
		return 0;
	}
	if (v->type == PGORM_TYPE_CUSTOM && v->u.custom.type != NULL && v->u.custom.ptr != NULL) {
		void *c = pgorm__arena_alloc(a, v->u.custom.type->size);
		if (c == NULL)
			return PGORM_ENOMEM;
		memcpy(c, v->u.custom.ptr, v->u.custom.type->size);
		v->u.custom.ptr = c;
	}
	return 0;
}

/* ---- numeric helpers ---- */

int pgorm_numeric_from_int64(char *buf, size_t cap, int64_t v, int scale)
{
	if (buf == NULL || scale < 0 || scale > 1000)
		return PGORM_EINVAL;
	char digits[24];
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t nd = 0;
	do {
		digits[nd++] = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag > 0);
	while (nd <= (size_t)scale) /* at least one digit before the point */
		digits[nd < sizeof digits ? nd : 0] = '0', nd++;
	/* nd may exceed digits[] only through padding zeros: they are written below, not read */
	size_t need = (v < 0) + nd + (scale > 0) + 1;
	if (need > cap)
		return PGORM_EINVAL;
	char *p = buf;
	if (v < 0)
		*p++ = '-';
	for (size_t k = nd; k-- > 0;) {
		*p++ = k < 20 ? digits[k] : '0';
		if (k == (size_t)scale && scale > 0)
			*p++ = '.';
	}
	*p = '\0';
	return 0;
}

int pgorm_numeric_to_int64(const char *s, int scale, int64_t *out)
{
	if (s == NULL || out == NULL || scale < 0 || scale > 1000)
		return PGORM_EINVAL;
	const char *p = s;
	bool neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, mag = 0;
	bool any = false, range = false;
	int frac = -1; /* digits read after the point, -1 before it */
	for (;; p++) {
		if (*p == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			break;
		any = true;
		if (frac >= 0 && frac >= scale) {
			if (*p != '0')
				return PGORM_EINVAL; /* would need rounding */
			continue;
		}
		if (frac >= 0)
			frac++;
		unsigned dg = (unsigned)(*p - '0');
		if (mag > (limit - dg) / 10)
			range = true;
		else
			mag = mag * 10 + dg;
	}
	if (!any || *p != '\0')
		return PGORM_EINVAL;
	for (int k = frac < 0 ? 0 : frac; k < scale && !range; k++) {
		if (mag > limit / 10)
			range = true;
		else
			mag *= 10;
	}
	if (range)
		return PGORM_ERANGE;
	*out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
	return 0;
}

int pgorm_numeric_from_double(char *buf, size_t cap, double v)
{
	if (buf == NULL)
		return PGORM_EINVAL;
	const char *special = v != v ? "NaN" : v > DBL_MAX ? "Infinity" : v < -DBL_MAX ? "-Infinity" : NULL;
	char tmp[40];
	if (special != NULL) {
		snprintf(tmp, sizeof tmp, "%s", special);
	} else {
		for (int prec = 1; prec <= 17; prec++) { /* the shortest that reads back exactly */
			snprintf(tmp, sizeof tmp, "%.*g", prec, v);
			if (strtod(tmp, NULL) == v)
				break;
		}
	}
	if (strlen(tmp) + 1 > cap)
		return PGORM_EINVAL;
	memcpy(buf, tmp, strlen(tmp) + 1);
	return 0;
}

int pgorm_numeric_to_double(const char *s, double *out)
{
	if (s == NULL || out == NULL || *s == '\0')
		return PGORM_EINVAL;
	char *end;
	double d = strtod(s, &end);
	if (*end != '\0')
		return PGORM_EINVAL;
	*out = d;
	return 0;
}
