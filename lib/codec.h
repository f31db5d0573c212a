/* lib/codec.h — binary wire encoding and decoding of pgorm_value. */
#ifndef PGORM_CODEC_H
#define PGORM_CODEC_H

#include "arena.h"
#include "pgorm/error.h"
#include "pgorm/types.h"

#include <stdint.h>
#include <string.h>

enum {
	PGORM_OID_BOOL = 16, PGORM_OID_BYTEA = 17, PGORM_OID_INT8 = 20, PGORM_OID_INT2 = 21,
	PGORM_OID_INT4 = 23, PGORM_OID_TEXT = 25, PGORM_OID_JSON = 114, PGORM_OID_FLOAT4 = 700,
	PGORM_OID_FLOAT8 = 701, PGORM_OID_VARCHAR = 1043, PGORM_OID_BPCHAR = 1042,
	PGORM_OID_DATE = 1082, PGORM_OID_TIMESTAMP = 1114, PGORM_OID_TIMESTAMPTZ = 1184,
	PGORM_OID_NUMERIC = 1700, PGORM_OID_UUID = 2950, PGORM_OID_JSONB = 3802,
	PGORM_OID_INT8_ARRAY = 1016, PGORM_OID_TEXT_ARRAY = 1009, PGORM_OID_NAME = 19,
	PGORM_OID_OID = 26, PGORM_OID_CHAR = 18,
	PGORM_OID_BOOL_ARRAY = 1000, PGORM_OID_INT2_ARRAY = 1005, PGORM_OID_INT4_ARRAY = 1007,
	PGORM_OID_FLOAT8_ARRAY = 1022, PGORM_OID_UUID_ARRAY = 2951, PGORM_OID_VARCHAR_ARRAY = 1015,
	PGORM_OID_BPCHAR_ARRAY = 1014, PGORM_OID_INTERVAL = 1186, PGORM_OID_TIME = 1083,
	PGORM_OID_TIMETZ = 1266, PGORM_OID_INET = 869, PGORM_OID_CIDR = 650,
	PGORM_OID_FIRST_NORMAL = 16384  /* FirstNormalObjectId: types created by users/extensions */
};

/* Array types: the element's type, its server OID and the C size of one item. */
typedef struct pgorm__array_info {
	pgorm_type elem;
	unsigned elem_oid;
	size_t elem_size;
} pgorm__array_info;
/* NULL when t is not an array type. */
const pgorm__array_info *pgorm__array_info_of(pgorm_type t);
/* The items, count and NULL flags of an array value (whatever union member its type uses). */
void pgorm__array_parts(const pgorm_value *v, const void **items, size_t *n, const bool **nulls);
/* text, varchar(n), char(n): strings that compare and key as text. */
static inline bool pgorm__is_text_type(pgorm_type t)
{
	return t == PGORM_TYPE_TEXT || t == PGORM_TYPE_VARCHAR || t == PGORM_TYPE_CHAR;
}
/* Set an array value's items, count and NULL flags (v->type chosen). */
void pgorm__array_set(pgorm_value *v, const void *items, size_t n, const bool *nulls);
/* Element k of an array's items as a scalar value of type elem (a NULL char * reads as NULL). */
void pgorm__array_elem(pgorm_type elem, const void *items, size_t k, pgorm_value *out);

/* The SQL type name a parameter is sent with, its OID looked up per connection (lib/exec.c):
 * a CUSTOM value's codec name, a PGORM_VALUE_TYPED ENUM/CENUM value's enum type; NULL for
 * every other value (its OID is pgorm_type_oid's, or 0). */
static inline const char *pgorm__value_type_name(const pgorm_value *v)
{
	switch (v->type) {
	case PGORM_TYPE_ENUM: return (v->flags & PGORM_VALUE_TYPED) ? v->u.label.type : NULL;
	case PGORM_TYPE_CENUM: return (v->flags & PGORM_VALUE_TYPED) ? v->u.cenum_of.type : NULL;
	case PGORM_TYPE_CUSTOM: return v->u.custom.type != NULL ? v->u.custom.type->name : NULL;
	default: return NULL;
	}
}

/* A growable byte buffer for encoded parameters. */
typedef struct pgorm__buf {
	char *data;
	size_t len, cap;
} pgorm__buf;

int pgorm__buf_reserve(pgorm__buf *b, size_t extra);
void pgorm__buf_free(pgorm__buf *b);

/* Encoded parameters, ready for PQexecParams/PQsendQueryPrepared. */
typedef struct pgorm__params {
	size_t n;
	unsigned *oids;
	const char **values;
	int *lengths;
	int *formats;
	size_t *offsets;
	size_t cap;
	pgorm__buf buf;
} pgorm__params;

/* Encode params into p (reusing its storage). Nothing is sent; all checks happen here.
 * Errors: PGORM_EINVAL, PGORM_ETYPE, PGORM_ETOOBIG, PGORM_EENCODING, PGORM_ENOMEM. */
int pgorm__params_encode(pgorm__params *p, size_t n, const pgorm_value *v, size_t max_value,
                         pgorm_error *err);
/* A batch's parameters encoded once, one statement after the other in the same storage:
 * reset, append each statement's (they take indexes [p->n, p->n + n)), then resolve the value
 * pointers (the buffer may move while appending). Errors as pgorm__params_encode; a failed
 * append leaves p->n as it was. */
void pgorm__params_reset(pgorm__params *p);
int pgorm__params_append(pgorm__params *p, size_t n, const pgorm_value *v, size_t max_value,
                         pgorm_error *err);
void pgorm__params_resolve(pgorm__params *p);
void pgorm__params_free(pgorm__params *p);
/* The checks every parameter passes before it is encoded: a NULL data pointer with a length
 * (text/bytea/numeric/json, int8[] and text[] items), a NULL text[] element. i is its index
 * (the message says $i+1). Errors: PGORM_EINVAL. Used by the encoder and by the query builder,
 * which copies values before anything is encoded. */
int pgorm__value_check(const pgorm_value *v, size_t i, pgorm_error *err);

/* Make v own its data: strings, arrays (items, flags, text elements) and custom values are
 * copied into a. Errors: PGORM_ENOMEM. */
int pgorm__value_copy(pgorm__arena *a, pgorm_value *v);

/* Decode a binary value of server type oid as t. Arrays and numerics are allocated in arena.
 * ENUM/CENUM give the label (u.str), CUSTOM the raw bytes (u.custom, type NULL).
 * Errors: PGORM_ETYPE (incompatible oid or malformed data), PGORM_ENOMEM. */
int pgorm__codec_decode(pgorm_type t, unsigned oid, const char *data, size_t len,
                        pgorm_value *out, pgorm__arena *arena, pgorm_error *err);
/* pgorm type for a server oid (varchar/bpchar/name map to TEXT); INVALID if none. */
pgorm_type pgorm__type_from_oid(unsigned oid);
bool pgorm__utf8_valid(const char *s, size_t n);
/* Whether a column of server type oid can be read as t (integers widen, varchar is text…). */
bool pgorm__type_accepts(pgorm_type want, unsigned oid);

static inline uint16_t pgorm__be16(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint16_t)((u[0] << 8) | u[1]);
}
static inline uint32_t pgorm__be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) | u[3];
}
static inline uint64_t pgorm__be64(const char *p)
{
	return ((uint64_t)pgorm__be32(p) << 32) | pgorm__be32(p + 4);
}
static inline void pgorm__put16(char *p, uint16_t v)
{
	p[0] = (char)(v >> 8); p[1] = (char)v;
}
static inline void pgorm__put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24); p[1] = (char)(v >> 16); p[2] = (char)(v >> 8); p[3] = (char)v;
}
static inline void pgorm__put64(char *p, uint64_t v)
{
	pgorm__put32(p, (uint32_t)(v >> 32)); pgorm__put32(p + 4, (uint32_t)v);
}

#endif
