/* lib/object.h — the private per-object state behind pgorm_object.priv.
 *
 * An object is one arena allocation: [user struct | objstate | snapshot[ncols] | slots].
 * The snapshot holds, per column, the value at load/flush time for fixed-size types, or a
 * 64-bit hash of the content for strings/bytea/uuid: dirty detection compares it with the
 * struct at flush (C cannot trap field writes). Slots hold relationships that have no struct
 * field (backrefs, hidden reverse sides): a pointer or a pgorm_collection each.
 */
#ifndef PGORM_OBJECT_H
#define PGORM_OBJECT_H

#include "arena.h"
#include "hash.h"
#include "pgorm/session.h"
#include "registry.h"

#include <stdint.h>
#include <string.h>

enum {
	OBJ_EXPIRED = 1u << 0,      /* attributes must be overwritten by the next load */
	OBJ_PK_ASSIGNED = 1u << 1,  /* the PK came from a sequence at flush: reset on rollback */
	OBJ_IN_MAP = 1u << 2,       /* registered in the identity map */
	OBJ_DELETE_DONE = 1u << 3,  /* delete cascades already resolved */
	OBJ_TRACKED = 1u << 4,      /* in the session's tracked list */
	OBJ_NEW_IN_TX = 1u << 5,    /* INSERTed in the current transaction */
	OBJ_ORPHAN = 1u << 6,       /* lost its child under a many-to-one delete-orphan: checked at flush */
	OBJ_HOLDS_TRANSIENT = 1u << 7 /* got a transient related object: the flush reports it if still so */
};

enum {
	OBJ2_SEEN = 1u << 0,        /* scratch mark while folding joined rows / walking a cascade */
	OBJ2_LOADING = 1u << 1,     /* scratch mark: a parent whose collection is being loaded */
	OBJ2_WAS_DELETED = 1u << 2, /* its DELETE was flushed (until a rollback brings it back) */
	OBJ2_UPDATED_IN_TX = 1u << 3, /* an UPDATE of it was flushed in the current transaction */
	OBJ2_NO_ORPHAN = 1u << 4,   /* its many-to-one was set NULL while unloaded: no orphan (flush) */
	OBJ2_FOLDING = 1u << 7      /* scratch mark: a parent whose relationship a joined query rebuilds */
};

typedef struct pgorm__objstate {
	pgorm_session *session;     /* the session it is attached to (tracked), else NULL: see state.h */
	struct pgorm_graph *graph;  /* the memory it was allocated in (lib/state.c), never NULL */
	uint8_t state;              /* pgorm_state */
	uint8_t flags;              /* OBJ_* */
	uint8_t flags2;             /* OBJ2_* */
	uint8_t pad;
	uint32_t result_gen;        /* which query result loaded it (N+1 detector) */
	uint64_t nulls;             /* current NULL bits, one per column */
	uint64_t dirty;             /* columns assigned since the last load / flush (see observe) */
	uint32_t link_dirty;        /* to-one links changed since the last flush, one bit per rel */
	uint32_t loaded;            /* relationships loaded, one bit per rel */
	uint32_t raise_mask;        /* per-query raise, one bit per rel */
	uint32_t noload_mask;       /* per-query noload, one bit per rel */
	uint64_t snap[];            /* ncols snapshot words, then the slots */
} pgorm__objstate;

/* Changes to a collection made while it was not loaded; merged when it loads. */
typedef struct pgorm__collstate {
	void **added;
	size_t nadded, capadded;
	void **removed;
	size_t nremoved, capremoved;
} pgorm__collstate;

/* A growable list of objects (malloc'd: pgorm__free(items)), for cascade walks and plans. */
typedef struct pgorm__objlist {
	void **items;
	size_t n, cap;
} pgorm__objlist;

/* Append o; false on out of memory (the list is unchanged). Inline: cascade walks and
 * flush plans push one per object. */
bool pgorm__objlist_grow(pgorm__objlist *l);
static inline bool pgorm__objlist_push(pgorm__objlist *l, void *o)
{
	if (l->n == l->cap && !pgorm__objlist_grow(l))
		return false;
	l->items[l->n++] = o;
	return true;
}

/* Bytes of an object's state: the objstate, a snapshot word per column, the slots. Inline:
 * every object allocation computes it. */
static inline size_t pgorm__objstate_size(const pgorm__model_info *mi)
{
	return sizeof(pgorm__objstate) + mi->ncols * sizeof(uint64_t) + mi->nslots * sizeof(pgorm_collection);
}
/* Where the objstate starts in an object's allocation (after the struct, 8-byte aligned), and
 * the allocation's whole size: [struct | objstate | snapshot[ncols] | slots]. */
static inline size_t pgorm__state_offset(const pgorm__model_info *mi) { return (mi->model->size + 7) & ~(size_t)7; }
static inline size_t pgorm__object_size(const pgorm__model_info *mi)
{
	return pgorm__state_offset(mi) + pgorm__objstate_size(mi);
}

/* Make the zeroed allocation mem (pgorm__object_size(mi) bytes) an object of mi attached to
 * session s and allocated in graph g (lib/state.c); returns mem. Inline: pgorm__object_alloc
 * and the loader's rows. */
static inline void *pgorm__object_init(void *mem, const pgorm__model_info *mi, pgorm_session *s,
                                       struct pgorm_graph *g)
{
	pgorm_object *h = (pgorm_object *)mem;
	h->model = mi->model;
	h->priv = (pgorm__objstate *)(void *)((char *)mem + pgorm__state_offset(mi));
	h->priv->session = s;
	h->priv->graph = g;
	return mem;
}

static inline pgorm__objstate *pgorm__st(const void *obj)
{
	return ((const pgorm_object *)obj)->priv;
}

static inline void *pgorm__field(void *obj, size_t offset) { return (char *)obj + offset; }

/* The slot area of an object (after the snapshot). */
static inline void *pgorm__slot(void *obj, const pgorm__model_info *mi, size_t slot)
{
	pgorm__objstate *st = pgorm__st(obj);
	return (char *)&st->snap[mi->ncols] + slot * sizeof(pgorm_collection);
}

/* Hash of a column value as stored in the struct (for the snapshot and the identity map). */
uint64_t pgorm__col_word(const void *obj, const pgorm_column *c);
/* True for the column types held through a pointer (a NULL pointer reads as SQL NULL). */
bool pgorm__col_is_ptr(const pgorm_column *c);
/* True when c is held through a pointer and obj's pointer (pgorm_bytes: data) is NULL. */
bool pgorm__col_null_ptr(const void *obj, const pgorm_column *c);
/* Snapshot every column of obj (after load / flush): nothing is dirty. */
void pgorm__snapshot(void *obj, const pgorm__model_info *mi);
/* pgorm__snapshot of an object whose fields are all zero, without reading them. */
void pgorm__snapshot_zero(void *obj, const pgorm__model_info *mi);
/* Take in the writes made since pgorm last looked (the one rule of model.h): a column whose
 * field bytes changed is assigned (dirty), and non-NULL unless it holds a NULL pointer. */
void pgorm__observe(void *obj, const pgorm__model_info *mi);
/* Mark column i assigned with the field's current value, or NULL (the field is then zeroed):
 * the flush writes it. */
void pgorm__assign_col(void *obj, const pgorm__model_info *mi, size_t i, bool is_null);
/* Column i back to never assigned: zeroed, NULL, not written by the next INSERT. */
void pgorm__unassign_col(void *obj, const pgorm__model_info *mi, size_t i);
/* The bits of r's foreign key columns (in nulls, dirty, …). */
static inline uint64_t pgorm__fk_mask(const pgorm_rel *r)
{
	uint64_t m = 0;
	for (size_t c = 0; c < r->nfk; c++)
		m |= 1ULL << r->fk_cols[c];
	return m;
}
/* The foreign key columns of the many-to-one r become NULL at the next flush. */
void pgorm__fk_set_null(void *obj, const pgorm_rel *r);
/* Columns assigned since the last load or flush (observes first). */
uint64_t pgorm__dirty_cols(void *obj, const pgorm__model_info *mi);

/* Set a column of obj from a value (integers widen or narrow). Strings and bytes are copied
 * into arena, or borrowed when arena is NULL. Errors: PGORM_ETYPE, PGORM_ENOMEM. */
int pgorm__set_col(pgorm__arena *arena, void *obj, const pgorm_column *c, size_t idx, const pgorm_value *v);
/* pgorm__set_col with a message in *e on failure (an enum label the C table does not have, a
 * custom recv that refused the bytes, a type mismatch). */
int pgorm__set_col_err(pgorm__arena *arena, void *obj, const pgorm_column *c, const pgorm_value *v, pgorm_error *e);
/* The value of column idx of obj as a bind parameter (borrowing the struct's memory); NULL
 * when its NULL bit is set or a pointer field is NULL. */
void pgorm__get_col(const void *obj, const pgorm_column *c, size_t idx, pgorm_value *v);

static inline bool pgorm__is_int_type(pgorm_type t)
{
	return t == PGORM_TYPE_INT2 || t == PGORM_TYPE_INT4 || t == PGORM_TYPE_INT8;
}
/* The integer an INT2/INT4/INT8 value holds, widened. */
static inline int64_t pgorm__value_int(const pgorm_value *v)
{
	return v->type == PGORM_TYPE_INT2 ? v->u.i16 : v->type == PGORM_TYPE_INT4 ? v->u.i32 : v->u.i64;
}
/* The primary key values of obj as bind parameters (borrowing its memory). */
void pgorm__pk_values(const void *obj, const pgorm__model_info *mi, pgorm_value *pk);
/* Equal non-NULL values: integers of any width by value, strings and bytes by content. */
bool pgorm__value_equal(const pgorm_value *a, const pgorm_value *b);

/* One key column of many objects as one array parameter (WHERE k = ANY($1…)): integers
 * widen to int8[], text goes as text[], uuid as text[] of its text form cast to uuid[]. */
typedef struct pgorm__keyarray {
	int64_t *ints;
	const char **strs;
	char *text;            /* uuid texts, 37 bytes each */
	size_t n;
	pgorm_value param;     /* borrows the arrays above */
	const char *cast;      /* what follows the parameter: "::int8[]", "::text[]", "::text[]::uuid[]" */
	int64_t one;           /* ints of a one-key integer set (a lazy load): no allocation, so the
	                        * keyarray must not be moved while param is in use */
} pgorm__keyarray;

/* Whether keys of type t can go in one array parameter. */
bool pgorm__keyarray_supports(pgorm_type t);
/* Column col of the n objects (none of them NULL there) into k. Errors: PGORM_EUNSUPPORTED
 * (type), PGORM_ENOMEM; k is empty then. Free with pgorm__keyarray_free. */
int pgorm__keyarray_build(pgorm__keyarray *k, const pgorm_column *col, size_t idx, void *const *objs, size_t n);
void pgorm__keyarray_free(pgorm__keyarray *k);

#endif
