/* pgorm/types.h — SQL types pgorm encodes and decodes in binary, and typed values.
 *
 * A pgorm_value is a tagged union used for bind parameters and decoded results. Values never
 * own memory: for parameters the caller keeps pointed-to data alive during the call; for
 * results, pointers are borrowed from the result and valid until it is freed.
 */
#ifndef PGORM_TYPES_H
#define PGORM_TYPES_H

#include "common.h"
#include <string.h>

PGORM_BEGIN_DECLS

/* Append-only. */
typedef enum pgorm_type {
	PGORM_TYPE_INVALID = 0,
	PGORM_TYPE_BOOL,
	PGORM_TYPE_INT2,
	PGORM_TYPE_INT4,
	PGORM_TYPE_INT8,
	PGORM_TYPE_FLOAT4,
	PGORM_TYPE_FLOAT8,
	PGORM_TYPE_TEXT,        /* UTF-8, validated before sending */
	PGORM_TYPE_BYTEA,
	PGORM_TYPE_NUMERIC,     /* decimal string, e.g. "-12.5000"; "NaN" */
	PGORM_TYPE_DATE,        /* days since 2000-01-01 */
	PGORM_TYPE_TIMESTAMP,   /* microseconds since 2000-01-01 00:00:00 */
	PGORM_TYPE_TIMESTAMPTZ, /* microseconds since 2000-01-01 00:00:00 UTC */
	PGORM_TYPE_UUID,        /* 16 bytes */
	PGORM_TYPE_JSON,        /* text */
	PGORM_TYPE_JSONB,       /* text */
	PGORM_TYPE_INT8_ARRAY,  /* one-dimensional, no NULL elements */
	PGORM_TYPE_TEXT_ARRAY,  /* one-dimensional, no NULL elements */
	PGORM_TYPE__COUNT
} pgorm_type;

typedef struct pgorm_value {
	pgorm_type type;
	bool is_null;
	union {
		bool b;
		int16_t i16;
		int32_t i32;
		int64_t i64;           /* INT8, TIMESTAMP, TIMESTAMPTZ */
		float f4;
		double f8;
		int32_t date;
		struct { const char *ptr; size_t len; } str;   /* TEXT, BYTEA, NUMERIC, JSON(B) */
		uint8_t uuid[16];
		struct { const int64_t *items; size_t n; } i64s;
		struct { const char *const *items; size_t n; } strs;
	} u;
} pgorm_value;

static inline pgorm_value pgorm__value_text(const char *s)
{
	pgorm_value v; /* no designated initializers: this header also compiles as C++11 */
	memset(&v, 0, sizeof v);
	v.type = PGORM_TYPE_TEXT;
	v.is_null = s == NULL;
	v.u.str.ptr = s;
	v.u.str.len = s ? strlen(s) : 0;
	return v;
}

/* Compound-literal constructors: (pgorm_value[]){ PGORM_INT8(1), PGORM_TEXT("x") }. */
#define PGORM_NULL(_t) ((pgorm_value){ .type = PGORM_TYPE_##_t, .is_null = true })
#define PGORM_BOOL(_v) ((pgorm_value){ .type = PGORM_TYPE_BOOL, .u.b = (_v) })
#define PGORM_INT2(_v) ((pgorm_value){ .type = PGORM_TYPE_INT2, .u.i16 = (_v) })
#define PGORM_INT4(_v) ((pgorm_value){ .type = PGORM_TYPE_INT4, .u.i32 = (_v) })
#define PGORM_INT8(_v) ((pgorm_value){ .type = PGORM_TYPE_INT8, .u.i64 = (_v) })
#define PGORM_FLOAT4(_v) ((pgorm_value){ .type = PGORM_TYPE_FLOAT4, .u.f4 = (_v) })
#define PGORM_FLOAT8(_v) ((pgorm_value){ .type = PGORM_TYPE_FLOAT8, .u.f8 = (_v) })
#define PGORM_TEXT(_s) pgorm__value_text(_s)  /* NULL pointer gives SQL NULL */
#define PGORM_TEXTN(_s, _n) ((pgorm_value){ .type = PGORM_TYPE_TEXT, .u.str = { (_s), (_n) } })
#define PGORM_BYTEA(_p, _n) ((pgorm_value){ .type = PGORM_TYPE_BYTEA, .u.str = { (const char *)(_p), (_n) } })
#define PGORM_NUMERIC(_s) ((pgorm_value){ .type = PGORM_TYPE_NUMERIC, .u.str = { (_s), strlen(_s) } })
#define PGORM_DATE(_d) ((pgorm_value){ .type = PGORM_TYPE_DATE, .u.date = (_d) })
#define PGORM_TIMESTAMP(_us) ((pgorm_value){ .type = PGORM_TYPE_TIMESTAMP, .u.i64 = (_us) })
#define PGORM_TIMESTAMPTZ(_us) ((pgorm_value){ .type = PGORM_TYPE_TIMESTAMPTZ, .u.i64 = (_us) })
#define PGORM_JSON(_s) ((pgorm_value){ .type = PGORM_TYPE_JSON, .u.str = { (_s), strlen(_s) } })
#define PGORM_JSONB(_s) ((pgorm_value){ .type = PGORM_TYPE_JSONB, .u.str = { (_s), strlen(_s) } })
#define PGORM_INT8_ARRAY(_p, _n) ((pgorm_value){ .type = PGORM_TYPE_INT8_ARRAY, .u.i64s = { (_p), (_n) } })
#define PGORM_TEXT_ARRAY(_p, _n) ((pgorm_value){ .type = PGORM_TYPE_TEXT_ARRAY, .u.strs = { (_p), (_n) } })

/** SQL name of a type ("int8", "text", ...); "invalid" for unknown values. Thread-safe. */
PGORM_API const char *pgorm_type_name(pgorm_type t);
/** PostgreSQL type OID of a type; 0 for unknown values. Thread-safe. */
PGORM_API unsigned pgorm_type_oid(pgorm_type t);

PGORM_END_DECLS

#endif
