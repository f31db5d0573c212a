/* lib/codec.c — binary send/receive for every pgorm_type.
 *
 * Formats follow the server's send and recv functions: big-endian integers, IEEE floats,
 * dates as days and timestamps as microseconds since 2000-01-01, uuid as 16 bytes, jsonb with
 * a version byte, arrays with the ndim/flags/elemtype/dims header. numeric is sent as text
 * (exact, no binary base-10000 encoding needed on the way in) and decoded from binary.
 */
#include "codec.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	unsigned oid;
} type_info[PGORM_TYPE__COUNT] = {
	[PGORM_TYPE_INVALID] = { "invalid", 0 },
	[PGORM_TYPE_BOOL] = { "bool", PGORM_OID_BOOL },
	[PGORM_TYPE_INT2] = { "int2", PGORM_OID_INT2 },
	[PGORM_TYPE_INT4] = { "int4", PGORM_OID_INT4 },
	[PGORM_TYPE_INT8] = { "int8", PGORM_OID_INT8 },
	[PGORM_TYPE_FLOAT4] = { "float4", PGORM_OID_FLOAT4 },
	[PGORM_TYPE_FLOAT8] = { "float8", PGORM_OID_FLOAT8 },
	[PGORM_TYPE_TEXT] = { "text", PGORM_OID_TEXT },
	[PGORM_TYPE_BYTEA] = { "bytea", PGORM_OID_BYTEA },
	[PGORM_TYPE_NUMERIC] = { "numeric", PGORM_OID_NUMERIC },
	[PGORM_TYPE_DATE] = { "date", PGORM_OID_DATE },
	[PGORM_TYPE_TIMESTAMP] = { "timestamp", PGORM_OID_TIMESTAMP },
	[PGORM_TYPE_TIMESTAMPTZ] = { "timestamptz", PGORM_OID_TIMESTAMPTZ },
	[PGORM_TYPE_UUID] = { "uuid", PGORM_OID_UUID },
	[PGORM_TYPE_JSON] = { "json", PGORM_OID_JSON },
	[PGORM_TYPE_JSONB] = { "jsonb", PGORM_OID_JSONB },
	[PGORM_TYPE_INT8_ARRAY] = { "int8[]", PGORM_OID_INT8_ARRAY },
	[PGORM_TYPE_TEXT_ARRAY] = { "text[]", PGORM_OID_TEXT_ARRAY },
};

const char *pgorm_type_name(pgorm_type t)
{
	return (unsigned)t < PGORM_TYPE__COUNT ? type_info[t].name : "invalid";
}

unsigned pgorm_type_oid(pgorm_type t)
{
	return (unsigned)t < PGORM_TYPE__COUNT ? type_info[t].oid : 0;
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
	case PGORM_OID_TEXT_ARRAY: return PGORM_TYPE_TEXT_ARRAY;
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

int pgorm__value_check(const pgorm_value *v, size_t i, pgorm_error *err)
{
	if (v->is_null)
		return 0;
	switch (v->type) {
	case PGORM_TYPE_TEXT:
	case PGORM_TYPE_JSON:
	case PGORM_TYPE_JSONB:
	case PGORM_TYPE_BYTEA:
	case PGORM_TYPE_NUMERIC:
		if (v->u.str.ptr == NULL && v->u.str.len > 0)
			return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: NULL pointer with length %zu",
			                        i + 1, v->u.str.len);
		return 0;
	case PGORM_TYPE_INT8_ARRAY:
		if (v->u.i64s.items == NULL && v->u.i64s.n > 0)
			return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: NULL int8[] items with length %zu",
			                        i + 1, v->u.i64s.n);
		return 0;
	case PGORM_TYPE_TEXT_ARRAY:
		if (v->u.strs.items == NULL && v->u.strs.n > 0)
			return pgorm__error_set(err, PGORM_EINVAL, "parameter $%zu: NULL text[] items with length %zu",
			                        i + 1, v->u.strs.n);
		for (size_t k = 0; k < v->u.strs.n; k++)
			if (v->u.strs.items[k] == NULL)
				return pgorm__error_set(err, PGORM_EINVAL,
				                        "parameter $%zu: NULL element %zu in text[] (not supported)", i + 1, k);
		return 0;
	default:
		return 0;
	}
}

/* Encode one value at the end of b; *fmt gets 0 (text) or 1 (binary). */
static int encode_one(const pgorm_value *v, size_t i, pgorm__buf *b, int *fmt, size_t max,
                      pgorm_error *err)
{
	char tmp[16];
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
	case PGORM_TYPE_TEXT:
	case PGORM_TYPE_JSON:
	case PGORM_TYPE_JSONB:
	case PGORM_TYPE_BYTEA:
	case PGORM_TYPE_NUMERIC: {
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
	case PGORM_TYPE_TEXT_ARRAY: {
		if (encode_array_header(b, v->u.strs.n, PGORM_OID_TEXT) != 0)
			return PGORM_ENOMEM;
		size_t total = 0;
		for (size_t k = 0; k < v->u.strs.n; k++) {
			const char *s = v->u.strs.items[k];
			size_t sl = strlen(s);
			total += sl + 4;
			if (total > max)
				return pgorm__error_set(err, PGORM_ETOOBIG, "parameter $%zu: text[] exceeds the limit of %zu bytes",
				                        i + 1, max);
			if (!pgorm__utf8_valid(s, sl))
				return pgorm__error_set(err, PGORM_EENCODING,
				                        "parameter $%zu: element %zu of text[] is not valid UTF-8", i + 1, k);
			char l[4];
			pgorm__put32(l, (uint32_t)sl);
			if (buf_put(b, l, 4) < 0 || buf_put(b, s, sl) < 0)
				return PGORM_ENOMEM;
		}
		return 0;
	}
	default:
		return pgorm__error_set(err, PGORM_ETYPE, "parameter $%zu: unknown type %d", i + 1, (int)v->type);
	}
	return buf_put(b, tmp, len) < 0 ? PGORM_ENOMEM : 0;
}

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
		p->oids[k] = pgorm_type_oid(v[i].type);
		if (p->oids[k] == 0 || v[i].type == PGORM_TYPE_INVALID)
			return pgorm__error_set(err, PGORM_ETYPE, "parameter $%zu: unknown type %d", i + 1, (int)v[i].type);
		if (v[i].is_null) {
			p->offsets[k] = SIZE_MAX;
			p->lengths[k] = 0;
			p->formats[k] = 1;
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

/* Parse a one-dimensional array header; returns the element count or -1. */
static long array_header(const char *d, size_t len, unsigned elem_oid, const char **elems)
{
	if (len < 12)
		return -1;
	uint32_t ndim = pgorm__be32(d), hasnull = pgorm__be32(d + 4), oid = pgorm__be32(d + 8);
	(void)hasnull;
	if (oid != elem_oid && !(elem_oid == PGORM_OID_TEXT && (oid == PGORM_OID_VARCHAR || oid == PGORM_OID_BPCHAR)))
		return -1;
	if (ndim == 0) {
		*elems = d + 12;
		return 0;
	}
	if (ndim != 1 || len < 20)
		return -1;
	*elems = d + 20;
	uint32_t n = pgorm__be32(d + 12);
	/* every element takes at least its 4-byte length: bounds the count before allocating */
	if (n > (len - 20) / 4)
		return -1;
	return (long)n;
}

static int array_error(pgorm_error *err, unsigned oid, const char *d, size_t len)
{
	if (len >= 12 && pgorm__be32(d) > 1)
		return pgorm__error_set(err, PGORM_ETYPE, "%u-dimensional array: only one dimension is supported",
		                        pgorm__be32(d));
	return bad_data(err, oid, len);
}

int pgorm__codec_decode(pgorm_type t, unsigned oid, const char *d, size_t len, pgorm_value *out,
                        pgorm__arena *a, pgorm_error *err)
{
	memset(out, 0, sizeof *out);
	out->type = t;
	if (!pgorm__type_accepts(t, oid))
		return pgorm__error_set(err, PGORM_ETYPE, "cannot read a column of type oid %u (%s) as %s", oid,
		                        pgorm_type_name(pgorm__type_from_oid(oid)), pgorm_type_name(t));
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
	case PGORM_TYPE_INT8_ARRAY: {
		const char *e;
		const char *end = d + len;
		long n = array_header(d, len, PGORM_OID_INT8, &e);
		if (n < 0)
			return array_error(err, oid, d, len);
		int64_t *items = pgorm__arena_alloc(a, (size_t)n * sizeof *items);
		if (items == NULL && n > 0)
			return pgorm__error_set(err, PGORM_ENOMEM, "out of memory decoding int8[]");
		for (long k = 0; k < n; k++, e += 12) {
			if (end - e < 4)
				return bad_data(err, oid, len);
			int32_t el = (int32_t)pgorm__be32(e);
			if (el < 0)
				return pgorm__error_set(err, PGORM_ETYPE, "int8[] element %ld is NULL (not supported)", k);
			if (el != 8 || end - e < 12)
				return bad_data(err, oid, len);
			items[k] = (int64_t)pgorm__be64(e + 4);
		}
		if (e != end)
			return bad_data(err, oid, len);
		out->u.i64s.items = items;
		out->u.i64s.n = (size_t)n;
		return 0;
	}
	case PGORM_TYPE_TEXT_ARRAY: {
		const char *e, *end = d + len;
		long n = array_header(d, len, PGORM_OID_TEXT, &e);
		if (n < 0)
			return array_error(err, oid, d, len);
		const char **items = pgorm__arena_alloc(a, (size_t)n * sizeof *items);
		if (items == NULL && n > 0)
			return pgorm__error_set(err, PGORM_ENOMEM, "out of memory decoding text[]");
		for (long k = 0; k < n; k++) {
			if (end - e < 4)
				return bad_data(err, oid, len);
			int32_t el = (int32_t)pgorm__be32(e);
			if (el < 0)
				return pgorm__error_set(err, PGORM_ETYPE, "text[] element %ld is NULL (not supported)", k);
			if (end - e - 4 < el)
				return bad_data(err, oid, len);
			items[k] = pgorm__arena_strndup(a, e + 4, (size_t)el);
			if (items[k] == NULL)
				return pgorm__error_set(err, PGORM_ENOMEM, "out of memory decoding text[]");
			e += 4 + el;
		}
		out->u.strs.items = items;
		out->u.strs.n = (size_t)n;
		return 0;
	}
	default:
		return pgorm__error_set(err, PGORM_ETYPE, "no codec for type oid %u", oid);
	}
}
