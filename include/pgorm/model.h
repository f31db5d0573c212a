/* pgorm/model.h — models as static descriptor tables, and the registry that validates them.
 *
 * A model maps a C struct to a table. The struct embeds pgorm_object as its FIRST member and
 * one field per column; relationship fields are pgorm_collection (to-many) or a pointer to the
 * target struct (to-one). Descriptors are const data built with offsetof (the macros below
 * or designated initializers) and validated once by pgorm_registry_create.
 *
 * C types per column type: BOOL bool, INT2 int16_t, INT4 int32_t, INT8 int64_t, FLOAT4 float,
 * FLOAT8 double, TEXT/NUMERIC/JSON/JSONB char * (NUL-terminated), BYTEA pgorm_bytes, DATE
 * int32_t (days since 2000-01-01), TIMESTAMP/TIMESTAMPTZ int64_t (µs since 2000-01-01),
 * UUID pgorm_uuid; ENUM char * (a label), CENUM int (index into the column's labels),
 * arrays (BOOL/INT2/INT4/INT8/FLOAT8/TEXT/UUID_ARRAY) pgorm_array, INTERVAL pgorm_interval,
 * TIME int64_t (µs since midnight), TIMETZ pgorm_timetz, INET/CIDR pgorm_inet, VARCHAR/CHAR
 * char *, CUSTOM the C type of its pgorm_custom_type (size and alignment given there).
 *
 * Enums: an ENUM or CENUM column names the server's enum type in sql_type (in the model's
 * schema). Query values for it (filters, BETWEEN, SET) are sent with the type's OID, which each
 * connection looks up by name once (as a custom type's, pgorm/types.h: a type the server does
 * not have is PGORM_ETYPE naming it, nothing sent); IN / NOT IN take a text[] of labels (a C
 * enum column also an int4[] of its values), sent as = ANY($n::text[]::"schema"."type"[]);
 * a label not in the column's labels (when it has them) is PGORM_ETYPE before any SQL. The
 * flush sends labels untyped (the target column gives their type). Values are read back as
 * labels, from a column whose type OID must be the enum's. A CENUM maps the label to its
 * index in labels (NULL-terminated, in the type's order); a label the table does not have is
 * an error (PGORM_ETYPE), never a default, and so is an int outside the table on the way out. create_all creates the enum type
 * (CREATE TYPE … AS ENUM (labels), when it does not exist) before the tables.
 *
 * Values, NULL and never-assigned columns — one rule, SQLAlchemy's, for new and loaded objects:
 * pgorm sees a write when a field's bytes differ from what it last saw there (the flush,
 * pgorm_object_is_null/set_null and merge look). A seen write assigns the column: it holds the
 * field's value, non-NULL, except that a NULL pointer (char *, pgorm_bytes.data) is SQL NULL,
 * never '' . A new object starts zeroed with every column never assigned (reading as NULL);
 * the INSERT leaves never-assigned columns out, so the server's default applies, or NULL, and
 * a NOT NULL column without default fails with the server's 23502 naming it; the values the
 * server chose are read back (RETURNING). Nothing is ever sent that the user did not write.
 * A write of the bytes already there cannot be seen: to store 0, false or 0.0 in a new object
 * (or in a column loaded as NULL), use PGORM_SET(obj, member, value) or
 * pgorm_object_set_null(obj, "col", false), which assign the field's current value;
 * pgorm_object_set_null(obj, "col", true) assigns NULL. Relationship calls assign the foreign
 * keys they copy. A version column of a new row starts at 1.
 *
 * Foreign keys: a column's fk_table/fk_column name its target (a PK or UNIQUE column). Columns
 * that together reference a composite primary key form one composite foreign key; relationships
 * over it match, sync and null all its columns together. A relationship's direction comes from
 * the side holding the foreign key; for a self-referencing table set kind to ONE_TO_MANY or
 * MANY_TO_ONE explicitly (SQLAlchemy's remote_side), and fk_column picks one of several paths.
 *
 * DDL (pgorm_registry_create_all): an integer PGORM_SERVER_DEFAULT primary key becomes a serial
 * column (the flush reserves keys with nextval over its sequence); other server defaults:
 * timestamptz now(), timestamp LOCALTIMESTAMP, date CURRENT_DATE, uuid gen_random_uuid(), a
 * version column 1, other types none. Every FK column gets an index unless it leads the PK or is
 * UNIQUE; many-to-many association tables get a (local, remote) primary key and ON DELETE
 * CASCADE foreign keys. Types take their modifiers (varchar(n), char(n), numeric(p,s)); enum
 * types are created first; a model's checks and uniques become table constraints and its
 * indexes CREATE [UNIQUE] INDEX … [WHERE …] (partial). pgorm_registry_check compares all of
 * these with the database.
 *
 * Thread safety: descriptors and a created registry are immutable and can be shared by any
 * number of threads.
 */
#ifndef PGORM_MODEL_H
#define PGORM_MODEL_H

#include "common.h"
#include "error.h"
#include "exec.h"
#include "types.h"

PGORM_BEGIN_DECLS

typedef struct pgorm_model pgorm_model;
typedef struct pgorm_registry pgorm_registry;
typedef struct pgorm_rel pgorm_rel;          /* a resolved relationship (opaque) */
struct pgorm__objstate;

/* The header every mapped struct starts with. Fields are managed by the session. */
typedef struct pgorm_object {
	const pgorm_model *model;
	struct pgorm__objstate *priv;
} pgorm_object;

/* A to-many relationship field. items/len are readable by the user; change it only through
 * pgorm_rel_append / pgorm_rel_remove so that both sides stay in sync. */
typedef struct pgorm_collection {
	void **items;            /* the related objects, owned by the session */
	size_t len;
	size_t cap;              /* private */
	struct pgorm__collstate *priv; /* private: loaded flag, changes queued while unloaded */
} pgorm_collection;

typedef struct pgorm_bytes {
	uint8_t *data;
	size_t len;
} pgorm_bytes;

typedef struct pgorm_uuid {
	uint8_t bytes[16];
} pgorm_uuid;

/* An array column's value: len items of the element's C type (bool, int16_t, int32_t,
 * int64_t, double, char *, pgorm_uuid) and, when some are NULL, one flag per item (true =
 * NULL); nulls NULL means none is. A NULL items with len 0 is the empty array; SQL NULL is the
 * column's null bit (pgorm_object_set_null). Loaded arrays live in the session's memory;
 * assign a new array (items and nulls in memory that outlives the flush) to change it. */
typedef struct pgorm_array {
	void *items;
	size_t len;
	bool *nulls;
} pgorm_array;

/* pgorm_custom_type (a user-registered codec): pgorm/types.h */

/* Column flags. */
enum {
	PGORM_NOT_NULL = 0,
	PGORM_PK = 1u << 0,             /* part of the primary key */
	PGORM_NULLABLE = 1u << 1,
	PGORM_SERVER_DEFAULT = 1u << 2, /* generated by the server (bigserial/identity/DEFAULT) */
	PGORM_UNIQUE = 1u << 3,
	PGORM_VERSION = 1u << 4         /* INT4/INT8 optimistic-concurrency version counter */
};
/* private: every column flag; the registry refuses other bits (keep it with the list above) */
#define PGORM__COLUMN_FLAGS (PGORM_PK | PGORM_NULLABLE | PGORM_SERVER_DEFAULT | PGORM_UNIQUE | PGORM_VERSION)

typedef enum pgorm_fk_action {
	PGORM_FK_NO_ACTION = 0,
	PGORM_FK_CASCADE,
	PGORM_FK_SET_NULL,
	PGORM_FK_RESTRICT,
	PGORM_FK_SET_DEFAULT
} pgorm_fk_action;

typedef struct pgorm_column {
	const char *name;
	pgorm_type type;
	unsigned flags;
	size_t offset;               /* offsetof(struct, member) */
	size_t size;                 /* sizeof(member), checked against the type */
	const char *fk_table;        /* foreign key target table, or NULL */
	const char *fk_column;       /* target column (a PK or UNIQUE column of fk_table) */
	pgorm_fk_action on_delete;
	pgorm_fk_action on_update;
	const void *reserved[2];
	/* types of issue 15 (after reserved: initializers of the fields above are unchanged) */
	const char *sql_type;        /* ENUM/CENUM: the enum type (created in the model's schema) */
	const char *const *labels;   /* CENUM: labels, NULL-terminated, in the type's order; ENUM:
	                                optional, only for CREATE TYPE (create_all) */
	const pgorm_custom_type *custom; /* CUSTOM: the codec */
	unsigned length;             /* VARCHAR/CHAR: n of varchar(n)/char(n) (0: none / 1);
	                                NUMERIC: precision (0: unconstrained numeric) */
	unsigned scale;              /* NUMERIC: scale (<= precision) */
} pgorm_column;

/* A model's extra index (CREATE [UNIQUE] INDEX name ON table (columns) [WHERE where]) or, in
 * the uniques list, a UNIQUE (columns) table constraint named name. Lists end with a NULL name. */
typedef struct pgorm_index {
	const char *name;
	const char *const *columns;  /* NULL-terminated; at least one */
	bool unique;                 /* indexes: a unique index */
	const char *where;           /* indexes: the predicate of a partial index (SQL written by
	                                the developer, never a user value), or NULL */
} pgorm_index;

/* A CHECK constraint: CONSTRAINT name CHECK (expr). */
typedef struct pgorm_check {
	const char *name;
	const char *expr;            /* SQL, written by the developer */
} pgorm_check;

/* Relationship cascades (SQLAlchemy's names). 0 means the default: SAVE_UPDATE | MERGE.
 * DELETE_ORPHAN without DELETE is accepted, as in SQLAlchemy 1.4 (which only warns): a child
 * removed from the collection is deleted at the flush, but deleting the parent does not delete
 * its children: their foreign key is set to NULL, as with the default cascade (add DELETE for
 * that). PGORM_PASSIVE_ALL (never touch the children) together with DELETE or DELETE_ORPHAN is
 * a registry error, as SQLAlchemy's ArgumentError for passive_deletes='all'. */
enum {
	PGORM_CASCADE_SAVE_UPDATE = 1u << 0,
	PGORM_CASCADE_MERGE = 1u << 1,
	PGORM_CASCADE_DELETE = 1u << 2,
	PGORM_CASCADE_DELETE_ORPHAN = 1u << 3,
	PGORM_CASCADE_REFRESH_EXPIRE = 1u << 4,
	PGORM_CASCADE_EXPUNGE = 1u << 5,
	PGORM_CASCADE_NONE = 1u << 6,   /* explicitly no cascade at all */
	/* "all" = save-update, merge, refresh-expire, expunge, delete (not delete-orphan) */
	PGORM_CASCADE_ALL = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 4) | (1u << 5)
};
/* private: every cascade bit; the registry refuses other bits (keep it with the list above) */
#define PGORM__CASCADE_BITS (PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN | PGORM_CASCADE_NONE)

typedef enum pgorm_rel_kind {
	PGORM_REL_AUTO = 0,          /* inferred from which side holds the foreign key */
	PGORM_REL_ONE_TO_MANY,
	PGORM_REL_MANY_TO_ONE,
	PGORM_REL_MANY_TO_MANY       /* through a secondary table */
} pgorm_rel_kind;

typedef enum pgorm_passive {
	PGORM_PASSIVE_OFF = 0,       /* load unloaded children to cascade / null them */
	PGORM_PASSIVE_ON,            /* trust ON DELETE for unloaded children */
	PGORM_PASSIVE_ALL            /* never null children's FK */
} pgorm_passive;

typedef enum pgorm_loader {
	PGORM_LOAD_DEFAULT = 0,      /* the relationship's own default (lazy if unset) */
	PGORM_LOAD_LAZY,             /* explicit pgorm_rel_load call, one SELECT */
	PGORM_LOAD_SELECTIN,         /* one SELECT ... = ANY($1) per relationship per level */
	PGORM_LOAD_JOINED,           /* LEFT OUTER JOIN in the parent query */
	PGORM_LOAD_RAISE,            /* loading is an error */
	PGORM_LOAD_NOLOAD            /* stays empty, marked unloaded */
} pgorm_loader;

/* Relationship flags. */
enum {
	PGORM_REL_SCALAR = 1u << 0,        /* uselist=False: one-to-one (field is a pointer) */
	PGORM_REL_VIEWONLY = 1u << 1,      /* never written at flush */
	PGORM_REL_SINGLE_PARENT = 1u << 2, /* a child has at most one parent through this rel */
	PGORM_REL_INNER_JOIN = 1u << 3,    /* joined loading uses INNER JOIN */
	/* SQLAlchemy's post_update, on a many-to-one: its foreign key is written by an UPDATE
	 * after the INSERTs (new rows are inserted with it NULL) and set NULL by an UPDATE before
	 * the DELETEs, so that rows may point at each other (two rows, or a row at itself) */
	PGORM_REL_POST_UPDATE = 1u << 4
};
/* private: every relationship flag; the registry refuses other bits (keep it with the list) */
#define PGORM__REL_FLAGS (PGORM_REL_SCALAR | PGORM_REL_VIEWONLY | PGORM_REL_SINGLE_PARENT | \
                          PGORM_REL_INNER_JOIN | PGORM_REL_POST_UPDATE)

#define PGORM_NO_FIELD ((size_t)-1)

/* Many-to-many association table: secondary(local_column -> this PK, remote_column -> target PK). */
typedef struct pgorm_secondary {
	const char *table;
	const char *local_column;
	const char *remote_column;
} pgorm_secondary;

typedef struct pgorm_relationship {
	const char *name;
	const pgorm_model *target;
	pgorm_rel_kind kind;           /* PGORM_REL_AUTO: inferred from the foreign key */
	size_t offset;                 /* field offset, or PGORM_NO_FIELD (lives in the header) */
	size_t size;                   /* sizeof the field (pgorm_collection or a pointer) */
	const char *fk_column;         /* the FK column on the child side; NULL: the only FK path */
	const char *back_populates;    /* partner relationship on target, or NULL */
	const char *backref;           /* create the partner on target with this name, or NULL */
	unsigned cascade;              /* PGORM_CASCADE_* (0 = default save-update, merge) */
	pgorm_passive passive_deletes;
	unsigned flags;                /* PGORM_REL_* */
	const char *order_by;          /* target column, optionally followed by " DESC" */
	pgorm_loader loader;           /* default loading strategy */
	const pgorm_secondary *secondary;
	const void *reserved[4];
} pgorm_relationship;

#define PGORM_MODEL_MAGIC 0x70676f72u /* "pgor" */

struct pgorm_model {
	uint32_t magic;
	const char *schema;                       /* NULL: the search_path */
	const char *table;
	size_t size;                              /* sizeof the struct */
	size_t hdr_offset;                        /* offsetof the pgorm_object: must be 0 */
	const pgorm_column *columns;              /* terminated by PGORM_COLUMN_END */
	const pgorm_relationship *relationships;  /* terminated by PGORM_RELATIONSHIP_END, or NULL */
	const void *reserved[4];
	const pgorm_index *uniques;               /* composite UNIQUE constraints, or NULL */
	const pgorm_index *indexes;               /* extra indexes (unique, partial), or NULL */
	const pgorm_check *checks;                /* CHECK constraints, or NULL */
};

/* ---- descriptor macros (fixed arity: pedantic-safe) ---- */

#define PGORM_COLUMN(_TYPE, _name, _flags, _struct, _member) { \
	.name = (_name), .type = PGORM_TYPE_##_TYPE, .flags = (_flags), \
	.offset = offsetof(_struct, _member), .size = sizeof(((_struct *)0)->_member) }
#define PGORM_COLUMN_FK(_TYPE, _name, _flags, _struct, _member, _fk_table, _fk_column, _on_delete) { \
	.name = (_name), .type = PGORM_TYPE_##_TYPE, .flags = (_flags), \
	.offset = offsetof(_struct, _member), .size = sizeof(((_struct *)0)->_member), \
	.fk_table = (_fk_table), .fk_column = (_fk_column), .on_delete = (_on_delete) }
#define PGORM_COLUMN_END { .name = NULL }
/* Without braces, to be completed with designated initializers:
 *   { PGORM_COL(NUMERIC, "price", PGORM_NOT_NULL, Item, price), .length = 10, .scale = 2 } */
#define PGORM_COL(_TYPE, _name, _flags, _struct, _member) \
	.name = (_name), .type = PGORM_TYPE_##_TYPE, .flags = (_flags), \
	.offset = offsetof(_struct, _member), .size = sizeof(((_struct *)0)->_member)
/* ENUM (char * label) / CENUM (int) of the enum type _enum_type with labels _labels. */
#define PGORM_COLUMN_ENUM(_name, _flags, _struct, _member, _enum_type, _labels) { \
	PGORM_COL(ENUM, _name, _flags, _struct, _member), .sql_type = (_enum_type), .labels = (_labels) }
#define PGORM_COLUMN_CENUM(_name, _flags, _struct, _member, _enum_type, _labels) { \
	PGORM_COL(CENUM, _name, _flags, _struct, _member), .sql_type = (_enum_type), .labels = (_labels) }
#define PGORM_COLUMN_VARCHAR(_name, _flags, _struct, _member, _n) { \
	PGORM_COL(VARCHAR, _name, _flags, _struct, _member), .length = (_n) }
#define PGORM_COLUMN_NUMERIC(_name, _flags, _struct, _member, _precision, _scale) { \
	PGORM_COL(NUMERIC, _name, _flags, _struct, _member), .length = (_precision), .scale = (_scale) }
#define PGORM_COLUMN_CUSTOM(_name, _flags, _struct, _member, _custom) { \
	PGORM_COL(CUSTOM, _name, _flags, _struct, _member), .custom = (_custom) }

#define PGORM_ONE_TO_MANY(_name, _struct, _member, _target, _fk, _back_populates, _cascade) { \
	.name = (_name), .target = (_target), .kind = PGORM_REL_ONE_TO_MANY, \
	.offset = offsetof(_struct, _member), .size = sizeof(((_struct *)0)->_member), \
	.fk_column = (_fk), .back_populates = (_back_populates), .cascade = (_cascade) }
#define PGORM_ONE_TO_MANY_BACKREF(_name, _struct, _member, _target, _fk, _backref, _cascade) { \
	.name = (_name), .target = (_target), .kind = PGORM_REL_ONE_TO_MANY, \
	.offset = offsetof(_struct, _member), .size = sizeof(((_struct *)0)->_member), \
	.fk_column = (_fk), .backref = (_backref), .cascade = (_cascade) }
#define PGORM_MANY_TO_ONE(_name, _struct, _member, _target, _fk, _back_populates) { \
	.name = (_name), .target = (_target), .kind = PGORM_REL_MANY_TO_ONE, \
	.offset = offsetof(_struct, _member), .size = sizeof(((_struct *)0)->_member), \
	.fk_column = (_fk), .back_populates = (_back_populates) }
#define PGORM_RELATIONSHIP_END { .name = NULL }

/* Relationship field lists without braces, to be completed with designated initializers for
 * what a shape needs besides (no member is set twice):
 *   { PGORM_O2M("lines", Order, lines, &line_model, "order_id", "order"),
 *     .cascade = PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN, .order_by = "no",
 *     .passive_deletes = PGORM_PASSIVE_ON, .loader = PGORM_LOAD_SELECTIN },
 * O2M one-to-many (collection), M2O many-to-one (pointer), O2O one-to-one from the parent
 * (pointer, flag SCALAR set: add other flags with .flags = PGORM_REL_SCALAR | …), M2M many-to-many
 * through the association table (table, column to this model's key, column to the target's).
 * A self-referential relationship is one of these with the model as its own target. Not set
 * here, so free to add: cascade, passive_deletes, order_by, loader, backref (instead of
 * back_populates NULL), and for all but O2O, flags. */
#define PGORM__REL_FIELD(_struct, _member) \
	.offset = offsetof(_struct, _member), .size = sizeof(((_struct *)0)->_member)
#define PGORM_O2M(_name, _struct, _member, _target, _fk, _back_populates) \
	.name = (_name), .target = (_target), .kind = PGORM_REL_ONE_TO_MANY, PGORM__REL_FIELD(_struct, _member), \
	.fk_column = (_fk), .back_populates = (_back_populates)
#define PGORM_M2O(_name, _struct, _member, _target, _fk, _back_populates) \
	.name = (_name), .target = (_target), .kind = PGORM_REL_MANY_TO_ONE, PGORM__REL_FIELD(_struct, _member), \
	.fk_column = (_fk), .back_populates = (_back_populates)
#define PGORM_O2O(_name, _struct, _member, _target, _fk, _back_populates) \
	PGORM_O2M(_name, _struct, _member, _target, _fk, _back_populates), .flags = PGORM_REL_SCALAR
#define PGORM_M2M(_name, _struct, _member, _target, _table, _local_column, _remote_column, _back_populates) \
	.name = (_name), .target = (_target), .kind = PGORM_REL_MANY_TO_MANY, PGORM__REL_FIELD(_struct, _member), \
	.secondary = &(const pgorm_secondary){ (_table), (_local_column), (_remote_column) }, \
	.back_populates = (_back_populates)

/* A model: the struct's first member must be its pgorm_object (any name); the table is found
 * through the search_path, or in _schema with PGORM_MODEL_IN. */
#define PGORM_MODEL(_table, _struct, _columns, _relationships) { \
	.magic = PGORM_MODEL_MAGIC, .table = (_table), .size = sizeof(_struct), .hdr_offset = 0, \
	.columns = (_columns), .relationships = (_relationships) }
#define PGORM_MODEL_IN(_schema, _table, _struct, _columns, _relationships) { \
	.magic = PGORM_MODEL_MAGIC, .schema = (_schema), .table = (_table), .size = sizeof(_struct), \
	.hdr_offset = 0, .columns = (_columns), .relationships = (_relationships) }

/* ---- registry ---- */

/** Build and validate a registry from n models. Every mistake is reported with the model and
 * attribute it concerns (bad magic, header not first, duplicate table/column/relationship,
 * offset outside the struct (overflow-safe), size not matching the type, a field misaligned
 * for its type, fields overlapping each other or the header, no PK, two VERSION columns, FK to
 * an unknown table or to a non-key column, back_populates/backref errors, no or ambiguous FK
 * path, delete-orphan on a many-to-one without single_parent, PASSIVE_ALL with a delete
 * cascade, SCALAR with a secondary table, a collection field of the wrong size, unknown flag
 * or cascade bits, enum values out of range, empty names, SQL names (schema, table, column,
 * fk_table/fk_column, secondary) longer than 63 bytes, which PostgreSQL would truncate …).
 * Ownership: *out belongs to the caller (pgorm_registry_destroy); the models must outlive it.
 * Errors: PGORM_EINVAL, PGORM_EMODEL (message in *err), PGORM_ENOMEM. */
PGORM_API int pgorm_registry_create(pgorm_registry **out, const pgorm_model *const *models, size_t n,
                                    pgorm_error *err);
/** Free the registry. Accepts NULL. Sessions using it must be destroyed first. */
PGORM_API void pgorm_registry_destroy(pgorm_registry *reg);
/** The relationship `name` of model m (including backref-generated ones), or NULL.
 * Ownership: borrowed from reg. Thread-safe. */
PGORM_API const pgorm_rel *pgorm_registry_rel(const pgorm_registry *reg, const pgorm_model *m,
                                              const char *name);
/** The relationship of model m whose struct field starts at byte offset of the struct, or
 * NULL (also for a relationship without a field). PGORM_REL_OF uses it: a misspelt member is a
 * compile error, not a NULL found at run time. Thread-safe. */
PGORM_API const pgorm_rel *pgorm_registry_rel_at(const pgorm_registry *reg, const pgorm_model *m, size_t offset);
#define PGORM_REL_OF(_reg, _model, _struct, _member) \
	pgorm_registry_rel_at((_reg), (_model), offsetof(_struct, _member))
/** Introspection of a resolved relationship. Thread-safe. */
PGORM_API const char *pgorm_rel_name(const pgorm_rel *r);
PGORM_API pgorm_rel_kind pgorm_rel_kind_of(const pgorm_rel *r);
PGORM_API const pgorm_rel *pgorm_rel_partner(const pgorm_rel *r);
PGORM_API const pgorm_model *pgorm_rel_target(const pgorm_rel *r);

/* ---- DDL and schema check (lib/ddl.c) ---- */

/** Create every table in FK order (PK, FKs with ON DELETE/UPDATE, an index per FK column,
 * UNIQUE constraints; association tables of many-to-many relationships too). With
 * if_not_exists, existing tables are left alone. Runs in one transaction.
 * Errors: as pgorm_conn_exec; nothing is created on error. */
PGORM_API int pgorm_registry_create_all(const pgorm_registry *reg, pgorm_conn *c, bool if_not_exists);
/** Drop every table in reverse FK order (IF EXISTS), one statement.
 * Errors: PGORM_EINVAL (NULL), PGORM_ENOMEM, as pgorm_conn_exec; details in pgorm_conn_error(c). */
PGORM_API int pgorm_registry_drop_all(const pgorm_registry *reg, pgorm_conn *c);
/** Compare the models with pg_catalog; every difference is one line in *report (missing
 * table/column, type or nullability mismatch (with varchar/char/numeric modifiers, enum type
 * and labels, custom type name), missing FK, missing CHECK or UNIQUE constraint, missing or
 * different index). Returns the number of
 * differences (>= 0) or an error. Ownership: *report is malloc-style memory from pgorm,
 * free with pgorm_free; NULL when there is no difference.
 * Errors: PGORM_EINVAL (NULL argument), PGORM_ENOMEM, as pgorm_conn_exec; details in
 * pgorm_conn_error(c). */
PGORM_API int pgorm_registry_check(const pgorm_registry *reg, pgorm_conn *c, char **report);
/** Free memory that pgorm returned to the caller. Accepts NULL. */
PGORM_API void pgorm_free(void *p);

PGORM_END_DECLS

#endif
