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
	PGORM_TYPE_TEXT_ARRAY,  /* one-dimensional; NULL elements with u.strs.nulls */
	/* Issue 15. Column C types in pgorm/model.h. */
	PGORM_TYPE_ENUM,        /* a label of an enum type, u.label: sent with the type's OID
	                           with PGORM_VALUE_TYPED (u.label.type names it), else untyped
	                           (the server resolves it from the context, e.g. its column) */
	PGORM_TYPE_CENUM,       /* a C enum (int) and its label table: u.cenum (decoded from a
	                           result: the label, as type ENUM) */
	PGORM_TYPE_BOOL_ARRAY,  /* arrays: one-dimensional, u.arr (NULL elements with nulls) */
	PGORM_TYPE_INT2_ARRAY,
	PGORM_TYPE_INT4_ARRAY,
	PGORM_TYPE_FLOAT8_ARRAY,
	PGORM_TYPE_UUID_ARRAY,
	PGORM_TYPE_INTERVAL,    /* u.interval */
	PGORM_TYPE_TIME,        /* microseconds since midnight, u.i64 */
	PGORM_TYPE_TIMETZ,      /* u.timetz */
	PGORM_TYPE_INET,        /* u.inet */
	PGORM_TYPE_CIDR,        /* u.inet */
	PGORM_TYPE_VARCHAR,     /* text; the column's length is its DDL's varchar(n) */
	PGORM_TYPE_CHAR,        /* text; char(n), blank-padded by the server */
	PGORM_TYPE_CUSTOM,      /* a user-registered type: u.custom (pgorm/model.h) */
	PGORM_TYPE__COUNT
} pgorm_type;

/* interval: PostgreSQL keeps the three parts apart ('1 mon' is not '30 days'). */
typedef struct pgorm_interval {
	int64_t usecs;             /* microseconds */
	int32_t days;
	int32_t months;
} pgorm_interval;

/* time with time zone: the time of day and its UTC offset in seconds EAST of Greenwich
 * (+02:00 is 7200; the server stores the opposite sign). */
typedef struct pgorm_timetz {
	int64_t usecs;             /* microseconds since midnight, 0 .. 86400000000 */
	int32_t utc_offset;        /* seconds, -57599 .. 57599 */
} pgorm_timetz;

/* inet / cidr: an IPv4 (family 4, 4 bytes of addr) or IPv6 (family 6, 16 bytes) address and
 * its netmask length (0..32 / 0..128; 32 / 128 for a host). */
typedef struct pgorm_inet {
	uint8_t family;            /* 4 or 6 */
	uint8_t bits;
	uint8_t addr[16];
} pgorm_inet;

/* A user-registered binary codec for a type pgorm does not know (an extension's, a
 * composite, a domain over one): the column's C field is `size` bytes of the user's type.
 * The type is known by its name: each connection looks up the OIDs of the type names it needs
 * once (one query, `to_regtype`, for every name of the session's registry and of the
 * statement, the first time one is needed), caches them until the connection is closed or
 * its caches are reset, and sends parameters in binary with that OID; a result column mapped
 * to the type must have that OID (else PGORM_ETYPE naming it). A name the server does not
 * know is PGORM_ETYPE naming it, before the statement is sent. pgorm_registry_check compares
 * the type name too. Same for the enum types of ENUM/CENUM columns (pgorm/model.h). */
typedef struct pgorm_custom_type {
	const char *name;        /* SQL type, as format_type() shows it ("point", "geometry",
	                            "public.geometry"): looked up with to_regtype, so the
	                            search_path applies to an unqualified name */
	size_t size, align;      /* sizeof / _Alignof the C type; dirty detection compares
	                            its bytes (keep padding zeroed, or use a type without) */
	/* Write the binary send form of *value into out (cap bytes); return its length (write
	 * only when it fits: called again with a larger buffer), or (size_t)-1 when the value
	 * cannot be encoded (the call fails with PGORM_EINVAL before anything is sent). */
	size_t (*send)(const void *value, unsigned char *out, size_t cap);
	/* Read the binary form (len bytes) into *value; alloc(ctx, n) returns memory that lives
	 * as long as the object (NULL on out of memory). 0, or nonzero for malformed bytes. */
	int (*recv)(const unsigned char *data, size_t len, void *value, void *(*alloc)(void *ctx, size_t n),
	            void *ctx);
	const void *reserved[4];
} pgorm_custom_type;

/* Flags of a pgorm_value. */
enum {
	/* JSON/JSONB/TEXT from a NUL-terminated string that is handed to libpq as it is (text
	 * format, not copied into the parameter buffer): it must stay unchanged until the call
	 * returns. PGORM_JSONB_BORROWED builds one. */
	PGORM_VALUE_BORROWED = 1u << 0,
	/* ENUM / CENUM: u.label.type / u.cenum_of.type names the enum type; the value is sent
	 * with its OID (looked up once per connection). PGORM_ENUM_OF sets it. */
	PGORM_VALUE_TYPED = 1u << 1
};

typedef struct pgorm_value {
	pgorm_type type;
	bool is_null;
	uint8_t flags;             /* PGORM_VALUE_* (0 by default) */
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
		struct { const int64_t *items; size_t n; const bool *nulls; } i64s;  /* INT8_ARRAY */
		struct { const char *const *items; size_t n; const bool *nulls; } strs; /* TEXT_ARRAY */
		/* the other arrays: items of the element's C type (bool, int16_t, int32_t, double,
		 * pgorm_uuid); nulls NULL (no NULL element) or n flags, true = NULL (its item is
		 * not read) */
		struct { const void *items; size_t n; const bool *nulls; } arr;
		struct { const char *const *labels; int value; } cenum; /* labels NULL-terminated */
		/* CENUM with PGORM_VALUE_TYPED: cenum's members and the enum type's SQL name */
		struct { const char *const *labels; int value; const char *type; } cenum_of;
		/* ENUM: the label (ptr, len, as u.str: the same first members) and (read with
		 * PGORM_VALUE_TYPED) the enum type's SQL name, e.g. "\"sales\".\"status\"" */
		struct { const char *ptr; size_t len; const char *type; } label;
		pgorm_interval interval;
		pgorm_timetz timetz;
		pgorm_inet inet;
		/* CUSTOM: for a parameter, type and a pointer to the C value (len unused); decoded
		 * from a result, type NULL and the raw binary bytes (ptr, len) */
		struct { const struct pgorm_custom_type *type; const void *ptr; size_t len; } custom;
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
#define PGORM_INT8_ARRAY(_p, _n) ((pgorm_value){ .type = PGORM_TYPE_INT8_ARRAY, .u.i64s = { (_p), (_n), NULL } })
#define PGORM_TEXT_ARRAY(_p, _n) ((pgorm_value){ .type = PGORM_TYPE_TEXT_ARRAY, .u.strs = { (_p), (_n), NULL } })
/* Arrays with NULL elements (_nulls: NULL or one flag per item, true = NULL); _T is one of
 * BOOL INT2 INT4 INT8 FLOAT8 TEXT UUID: PGORM_ARRAY(INT4, items, nulls, n). */
#define PGORM_ARRAY(_T, _p, _nulls, _n) ((pgorm_value){ .type = PGORM_TYPE_##_T##_ARRAY, \
	.u.arr = { (const void *)(_p), (_n), (_nulls) } })
#define PGORM_ENUM(_label) ((pgorm_value){ .type = PGORM_TYPE_ENUM, .u.str = { (_label), strlen(_label) } })
/* A label of the enum type _type (its SQL name, quoted where needed: "status", "\"s\".\"t\""),
 * sent with the type's OID (looked up once per connection). */
#define PGORM_ENUM_OF(_type, _label) ((pgorm_value){ .type = PGORM_TYPE_ENUM, .flags = PGORM_VALUE_TYPED, \
	.u.label = { (_label), strlen(_label), (_type) } })
#define PGORM_INTERVAL(_months, _days, _usecs) ((pgorm_value){ .type = PGORM_TYPE_INTERVAL, \
	.u.interval = { (_usecs), (_days), (_months) } })
#define PGORM_TIME(_us) ((pgorm_value){ .type = PGORM_TYPE_TIME, .u.i64 = (_us) })
#define PGORM_TIMETZ(_us, _utc_offset) ((pgorm_value){ .type = PGORM_TYPE_TIMETZ, .u.timetz = { (_us), (_utc_offset) } })
#define PGORM_INET(_inet) ((pgorm_value){ .type = PGORM_TYPE_INET, .u.inet = (_inet) })
#define PGORM_CIDR(_inet) ((pgorm_value){ .type = PGORM_TYPE_CIDR, .u.inet = (_inet) })
#define PGORM_VARCHAR(_s) ((pgorm_value){ .type = PGORM_TYPE_VARCHAR, .u.str = { (_s), strlen(_s) } })
#define PGORM_CHAR(_s) ((pgorm_value){ .type = PGORM_TYPE_CHAR, .u.str = { (_s), strlen(_s) } })
/* An already-built JSON document (NUL-terminated), passed to libpq without a copy. */
#define PGORM_JSONB_BORROWED(_s) ((pgorm_value){ .type = PGORM_TYPE_JSONB, .flags = PGORM_VALUE_BORROWED, \
	.u.str = { (_s), strlen(_s) } })
#define PGORM_CUSTOM(_type, _ptr) ((pgorm_value){ .type = PGORM_TYPE_CUSTOM, .u.custom = { (_type), (_ptr), 0 } })

/** SQL name of a type ("int8", "text", ...); "invalid" for unknown values. Thread-safe. */
PGORM_API const char *pgorm_type_name(pgorm_type t);
/** PostgreSQL type OID of a type; 0 for unknown values, and for ENUM, CENUM and CUSTOM,
 * whose OID depends on the database (each connection looks it up by the value's type name,
 * see pgorm_custom_type). Thread-safe. */
PGORM_API unsigned pgorm_type_oid(pgorm_type t);
/** The SQL type a column of type t is created with ("bigint", "interval", "integer[]",
 * "character varying" …; ENUM, CENUM and CUSTOM take their name from the column), or NULL
 * for INVALID and unknown values. Data for tools (pgorm-gen) and the DDL. Thread-safe. */
PGORM_API const char *pgorm_type_sql(pgorm_type t);

/* numeric helpers: the column stays a decimal string (exact); these convert. */
/** Write v / 10^scale as a decimal into buf (cap bytes; 24 + scale bytes always suffice),
 * e.g. (12345, 2) -> "123.45". Errors: PGORM_EINVAL (scale outside 0..1000, buf too small). */
PGORM_API int pgorm_numeric_from_int64(char *buf, size_t cap, int64_t v, int scale);
/** Parse the decimal s as an integer scaled by 10^scale ("123.45", 2 -> 12345; "1.005", 2
 * is refused rather than rounded). Errors: PGORM_EINVAL (not a finite decimal, digits past
 * scale that are not 0), PGORM_ERANGE (out of int64). */
PGORM_API int pgorm_numeric_to_int64(const char *s, int scale, int64_t *out);
/** The shortest decimal that reads back as v (%.17g-style, never an exponent the server
 * would refuse); NaN -> "NaN", infinities -> "Infinity"/"-Infinity". cap >= 32 always
 * suffices. Errors: PGORM_EINVAL (buf too small). */
PGORM_API int pgorm_numeric_from_double(char *buf, size_t cap, double v);
/** strtod of a numeric's text ("NaN", "Infinity" accepted). Errors: PGORM_EINVAL. */
PGORM_API int pgorm_numeric_to_double(const char *s, double *out);

PGORM_END_DECLS

#endif
