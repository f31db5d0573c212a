/* fuzz_registry — descriptor validation: random pgorm_model / pgorm_column /
 * pgorm_relationship tables built from the input go to pgorm_registry_create.
 *
 * Names come from small lists (so that foreign keys, back_populates and duplicates meet),
 * numbers (offsets, sizes, flags, enums) are mostly plausible and sometimes absurd. Every
 * descriptor array is its own heap block, so reading past a sentinel is an ASan report.
 * Properties:
 *  - no crash, leak or UB; a refusal is EMODEL (or EINVAL/ENOMEM) with a message and no
 *    registry;
 *  - an accepted registry satisfies the invariants the rest of pgorm relies on (check_*
 *    below): every column inside its struct with the size of its type, distinct names, a
 *    non-nullable primary key, every relationship resolved with a partner that points back, key
 *    columns in range, fields of the right size inside the struct, a topological order;
 *  - and the ones issue 12 item 8 added: no empty name, no overlapping
 *    fields, one VERSION column at most, no unknown flag bit or enum value, aligned offsets,
 *    no scalar many-to-many, sizes that do not wrap, table names distinct in their first
 *    63 bytes (PostgreSQL's NAMEDATALEN - 1);
 *  - objects of an accepted registry can be created, their columns set NULL, and every
 *    relationship set / appended / read / removed between two new objects (no SQL: the
 *    session's connection never connected). */
#include "fuzz.h"

#include "internal.h"
#include "object.h"
#include "registry.h"

#include <libpq-fe.h>
#include <stdalign.h>

#define MAXM 3
#define MAXC 7
#define MAXR 4

#define L63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
static const char *const tables[] = { "a", "b", "c", "a", "", L63 "x", L63 "y", "t\"q" };
static const char *const colnames[] = { "id", "x", "y", "a_id", "b_id", "c_id", "", "id", "kids", "v" };
static const char *const relnames[] = { "kids", "owner", "other", "x", "", "kids", "back" };
static const char *const fktables[] = { NULL, NULL, NULL, "a", "b", "c", "zz", L63 "x" };
static const char *const fkcols[] = { NULL, NULL, "id", "x", "nope", "a_id", "b_id" };
static const char *const orders[] = { NULL, NULL, NULL, "id", "x DESC", "nope", "id desc", "" };
static const pgorm_secondary secs[] = {
	{ "assoc", "l_id", "r_id" }, { NULL, "l_id", "r_id" }, { "assoc", "", "r_id" },
};
static const uint32_t oddbits[] = { 0, 1u << 5, 1u << 7, 1u << 31 };

/* The C size of a column type (model.h's table, written out here: the oracle does not ask the
 * code under test), 0 for what is no column type. */
static size_t csize(pgorm_type t)
{
	switch (t) {
	case PGORM_TYPE_BOOL: return sizeof(bool);
	case PGORM_TYPE_INT2: return sizeof(int16_t);
	case PGORM_TYPE_INT4: case PGORM_TYPE_DATE: return sizeof(int32_t);
	case PGORM_TYPE_INT8: case PGORM_TYPE_TIMESTAMP: case PGORM_TYPE_TIMESTAMPTZ: return sizeof(int64_t);
	case PGORM_TYPE_FLOAT4: return sizeof(float);
	case PGORM_TYPE_FLOAT8: return sizeof(double);
	case PGORM_TYPE_TEXT: case PGORM_TYPE_NUMERIC: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB: return sizeof(char *);
	case PGORM_TYPE_BYTEA: return sizeof(pgorm_bytes);
	case PGORM_TYPE_UUID: return sizeof(pgorm_uuid);
	/* issue 15 (ENUM, CENUM and CUSTOM need descriptor fields the generator leaves NULL) */
	case PGORM_TYPE_VARCHAR: case PGORM_TYPE_CHAR: return sizeof(char *);
	case PGORM_TYPE_BOOL_ARRAY: case PGORM_TYPE_INT2_ARRAY: case PGORM_TYPE_INT4_ARRAY: case PGORM_TYPE_INT8_ARRAY:
	case PGORM_TYPE_FLOAT8_ARRAY: case PGORM_TYPE_TEXT_ARRAY: case PGORM_TYPE_UUID_ARRAY: return sizeof(pgorm_array);
	case PGORM_TYPE_INTERVAL: return sizeof(pgorm_interval);
	case PGORM_TYPE_TIME: return sizeof(int64_t);
	case PGORM_TYPE_TIMETZ: return sizeof(pgorm_timetz);
	case PGORM_TYPE_INET: case PGORM_TYPE_CIDR: return sizeof(pgorm_inet);
	default: return 0;
	}
}

#define PICK(f, arr) ((arr)[fz_pick(f, sizeof(arr) / sizeof((arr)[0]))])

static size_t gen_offset(fz *f)
{
	uint8_t b = fz_u8(f);
	switch (b >> 5) {
	case 0: case 1: case 2: case 3: return 16 + 8 * (size_t)(b & 15);
	case 4: return 16 + 8 * (size_t)(b & 7) + 1 + (b >> 3 & 3);      /* misaligned */
	case 5: return PGORM_NO_FIELD - (b & 31);                          /* wraps */
	case 6: return (size_t)fz_u64(f);
	default: return b & 15;                                            /* over the header */
	}
}

static size_t gen_size(fz *f, size_t plausible)
{
	uint8_t b = fz_u8(f);
	switch (b >> 6) {
	case 0: case 1: case 2: return plausible;
	default:
		switch (b & 3) {
		case 0: return 0;
		case 1: return SIZE_MAX - (b >> 2 & 15);
		case 2: return (size_t)fz_u8(f);
		default: return (size_t)fz_u64(f);
		}
	}
}

typedef struct gen {
	pgorm_model models[MAXM + 1];       /* [MAXM] is a model outside the registry */
	pgorm_column *cols[MAXM + 1];
	pgorm_relationship *rels[MAXM + 1];
	const pgorm_model *list[MAXM];
	size_t n;
} gen;

static void gen_models(gen *g, fz *f)
{
	g->n = 1 + fz_pick(f, MAXM);
	for (size_t i = 0; i <= MAXM; i++) {
		pgorm_model *m = &g->models[i];
		uint8_t b = fz_u8(f);
		m->magic = (b & 31) == 31 ? 0x12345678u : PGORM_MODEL_MAGIC;
		m->schema = (b & 96) == 96 ? "s" : NULL;
		m->table = i == MAXM ? "outside" : (b & 128) && (fz_u8(f) & 7) == 0 ? NULL : PICK(f, tables);
		size_t sizes[] = { 16, 24, 32, 48, 64, 96, 128, 256, 17, SIZE_MAX, SIZE_MAX - 7, 8 };
		m->size = PICK(f, sizes);
		m->hdr_offset = (fz_u8(f) & 63) == 63 ? 8 : 0;
		size_t nc = fz_pick(f, MAXC + 1);
		g->cols[i] = calloc(nc + 1, sizeof(pgorm_column));
		for (size_t k = 0; k < nc; k++) {
			pgorm_column *c = &g->cols[i][k];
			c->name = PICK(f, colnames);
			c->type = (pgorm_type)fz_pick(f, PGORM_TYPE__COUNT + 2);
			uint8_t fb = fz_u8(f);
			c->flags = (fb & 31) | ((fb & 224) == 224 ? PICK(f, oddbits) : 0);
			if (k == 0 && (fb & 192) != 192)
				c->flags |= PGORM_PK, c->flags &= ~(unsigned)PGORM_NULLABLE;
			c->offset = gen_offset(f);
			c->size = gen_size(f, csize(c->type) ? csize(c->type) : 8);
			c->fk_table = PICK(f, fktables);
			c->fk_column = PICK(f, fkcols);
			uint8_t eb = fz_u8(f);
			c->on_delete = (pgorm_fk_action)((eb & 7) == 7 ? 42 : eb % 6);
			c->on_update = (pgorm_fk_action)((eb >> 3) % 6);
		}
		m->columns = (fz_u8(f) & 31) == 31 ? NULL : g->cols[i];
		size_t nr = fz_pick(f, MAXR + 1);
		g->rels[i] = nr ? calloc(nr + 1, sizeof(pgorm_relationship)) : NULL;
		for (size_t k = 0; k < nr; k++) {
			pgorm_relationship *r = &g->rels[i][k];
			r->name = PICK(f, relnames);
			uint8_t tb = fz_u8(f);
			r->target = (tb & 15) == 15 ? NULL : (tb & 15) == 14 ? &g->models[MAXM] : &g->models[tb % MAXM];
			r->kind = (pgorm_rel_kind)((tb >> 4) % 5);
			r->offset = (fz_u8(f) & 3) == 0 ? PGORM_NO_FIELD : gen_offset(f);
			r->size = gen_size(f, (fz_u8(f) & 1) ? sizeof(void *) : sizeof(pgorm_collection));
			r->fk_column = PICK(f, fkcols);
			uint8_t nb = fz_u8(f);
			r->back_populates = (nb & 3) == 0 ? PICK(f, relnames) : NULL;
			r->backref = (nb & 12) == 0 ? PICK(f, relnames) : NULL;
			r->cascade = fz_u8(f);
			if ((nb & 48) == 48)
				r->cascade |= PICK(f, oddbits);
			uint8_t eb = fz_u8(f);
			r->passive_deletes = (pgorm_passive)(eb % 4);
			r->flags = (eb >> 2) % 32;
			r->order_by = PICK(f, orders);
			r->loader = (pgorm_loader)((eb >> 6 == 3) ? 99 : fz_u8(f) % 7);
			r->secondary = (nb & 192) == 192 ? &secs[fz_pick(f, 3)] : NULL;
		}
		m->relationships = g->rels[i];
	}
	for (size_t i = 0; i < g->n; i++) {
		uint8_t b = fz_u8(f);
		g->list[i] = (b & 31) == 31 ? NULL : &g->models[(b & 31) == 30 ? (i + 1) % g->n : i];
	}
}

static void gen_free(gen *g)
{
	for (size_t i = 0; i <= MAXM; i++) {
		free(g->cols[i]);
		free(g->rels[i]);
	}
}

/* FZ_DUMP=1 prints the descriptors of each input (to read a crash-* file). */
static void gen_dump(const gen *g)
{
	for (size_t i = 0; i < g->n; i++) {
		const pgorm_model *m = g->list[i];
		if (m == NULL) {
			fprintf(stderr, "model #%zu: NULL\n", i);
			continue;
		}
		fprintf(stderr, "model #%zu (%p): table \"%s\" schema %s size %zu hdr %zu magic %#x\n", i, (void *)m,
		        m->table ? m->table : "(NULL)", m->schema ? m->schema : "-", m->size, m->hdr_offset, m->magic);
		for (const pgorm_column *c = m->columns; c && c->name; c++)
			fprintf(stderr, "  column \"%s\" type %d flags %#x offset %zu size %zu fk %s.%s on_delete %d on_update %d\n",
			        c->name, c->type, c->flags, c->offset, c->size, c->fk_table ? c->fk_table : "-",
			        c->fk_column ? c->fk_column : "-", c->on_delete, c->on_update);
		for (const pgorm_relationship *r = m->relationships; r && r->name; r++)
			fprintf(stderr, "  rel \"%s\" target %p (%s) kind %d offset %zu size %zu fk %s back_populates %s backref %s "
			        "cascade %#x passive %d flags %#x order_by %s loader %d secondary %s\n", r->name, (const void *)r->target,
			        r->target && r->target->table ? r->target->table : "-", r->kind, r->offset, r->size,
			        r->fk_column ? r->fk_column : "-", r->back_populates ? r->back_populates : "-",
			        r->backref ? r->backref : "-", r->cascade, r->passive_deletes, r->flags,
			        r->order_by ? r->order_by : "-", r->loader, r->secondary ? r->secondary->table ? r->secondary->table : "(NULL)" : "-");
	}
}

/* ---- invariants of an accepted registry ---- */

static size_t col_align(pgorm_type t)
{
	switch (t) {
	case PGORM_TYPE_BOOL: return alignof(bool);
	case PGORM_TYPE_INT2: return alignof(int16_t);
	case PGORM_TYPE_INT4: case PGORM_TYPE_DATE: return alignof(int32_t);
	case PGORM_TYPE_FLOAT4: return alignof(float);
	case PGORM_TYPE_UUID: return alignof(pgorm_uuid);
	case PGORM_TYPE_INET: case PGORM_TYPE_CIDR: return alignof(pgorm_inet);
	default: return alignof(int64_t);
	}
}

static bool overlap(size_t a, size_t an, size_t b, size_t bn) { return a < b + bn && b < a + an; }

/* The invariants item 8 adds; true when one is broken (then the registry should not exist). */
static bool item8_broken(const pgorm_registry *reg, char *why, size_t n)
{
	for (size_t i = 0; i < reg->nmodels; i++) {
		const pgorm__model_info *mi = &reg->models[i];
		const pgorm_model *m = mi->model;
		size_t nver = 0;
		size_t alloc = pgorm__object_size(mi);
		if (alloc < m->size || alloc - m->size < pgorm__objstate_size(mi))
			return snprintf(why, n, "%s: struct size %zu wraps the allocation", m->table, m->size), true;
		for (size_t j = 0; j < reg->nmodels; j++) {
			const pgorm_model *o = reg->models[j].model;
			if (j != i && strncmp(o->table, m->table, 63) == 0 &&
			    ((o->schema == NULL && m->schema == NULL) || (o->schema && m->schema && strcmp(o->schema, m->schema) == 0)))
				return snprintf(why, n, "tables %s and %s equal in 63 bytes", m->table, o->table), true;
		}
		for (size_t k = 0; k < mi->ncols; k++) {
			const pgorm_column *c = &mi->cols[k];
			if (c->name[0] == '\0')
				return snprintf(why, n, "%s: empty column name", m->table), true;
			if (c->flags & ~(unsigned)(PGORM_PK | PGORM_NULLABLE | PGORM_SERVER_DEFAULT | PGORM_UNIQUE | PGORM_VERSION))
				return snprintf(why, n, "%s.%s: unknown flags %#x", m->table, c->name, c->flags), true;
			if ((unsigned)c->on_delete > PGORM_FK_SET_DEFAULT || (unsigned)c->on_update > PGORM_FK_SET_DEFAULT)
				return snprintf(why, n, "%s.%s: on_delete %d", m->table, c->name, (int)c->on_delete), true;
			if (c->offset % col_align(c->type) != 0)
				return snprintf(why, n, "%s.%s: misaligned offset %zu", m->table, c->name, c->offset), true;
			if ((c->flags & PGORM_VERSION) && ++nver > 1)
				return snprintf(why, n, "%s: two VERSION columns", m->table), true;
			for (size_t l = 0; l < k; l++)
				if (overlap(c->offset, c->size, mi->cols[l].offset, mi->cols[l].size))
					return snprintf(why, n, "%s: columns %s and %s overlap", m->table, c->name, mi->cols[l].name), true;
		}
		for (const pgorm_relationship *d = m->relationships; d && d->name; d++) {
			if (d->name[0] == '\0')
				return snprintf(why, n, "%s: empty relationship name", m->table), true;
			if (d->flags & ~(unsigned)(PGORM_REL_SCALAR | PGORM_REL_VIEWONLY | PGORM_REL_SINGLE_PARENT |
			                           PGORM_REL_INNER_JOIN | PGORM_REL_POST_UPDATE) ||
			    d->cascade & ~(unsigned)(PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN | PGORM_CASCADE_NONE))
				return snprintf(why, n, "%s.%s: unknown flags", m->table, d->name), true;
			if ((unsigned)d->loader > PGORM_LOAD_NOLOAD || (unsigned)d->passive_deletes > PGORM_PASSIVE_ALL ||
			    (unsigned)d->kind > PGORM_REL_MANY_TO_MANY)
				return snprintf(why, n, "%s.%s: enum out of range", m->table, d->name), true;
			if (d->secondary && (d->flags & PGORM_REL_SCALAR))
				return snprintf(why, n, "%s.%s: scalar many-to-many", m->table, d->name), true;
			if ((d->backref && !d->backref[0]) || (d->back_populates && !d->back_populates[0]))
				return snprintf(why, n, "%s.%s: empty partner name", m->table, d->name), true;
			if (d->offset == PGORM_NO_FIELD)
				continue;
			if (d->offset % alignof(void *) != 0)
				return snprintf(why, n, "%s.%s: misaligned field", m->table, d->name), true;
			for (size_t k = 0; k < mi->ncols; k++)
				if (overlap(d->offset, d->size, mi->cols[k].offset, mi->cols[k].size))
					return snprintf(why, n, "%s.%s overlaps column %s", m->table, d->name, mi->cols[k].name), true;
			for (const pgorm_relationship *e = m->relationships; e != d; e++)
				if (e->offset != PGORM_NO_FIELD && overlap(d->offset, d->size, e->offset, e->size))
					return snprintf(why, n, "%s: fields %s and %s overlap", m->table, d->name, e->name), true;
		}
	}
	return false;
}

static void check_registry(const pgorm_registry *reg, const gen *g)
{
	FZ_CHECK(reg->nmodels == g->n, "%zu models", reg->nmodels);
	bool seen[MAXM] = { false };
	for (size_t i = 0; i < reg->nmodels; i++) {
		size_t t = reg->topo_order[i];
		FZ_CHECK(t < reg->nmodels && !seen[t], "topological order is not a permutation");
		seen[t] = true;
	}
	for (size_t i = 0; i < reg->nmodels; i++) {
		const pgorm__model_info *mi = &reg->models[i];
		const pgorm_model *m = mi->model;
		FZ_CHECK(m == g->list[i] && m->magic == PGORM_MODEL_MAGIC && m->table && m->table[0], "model %zu", i);
		FZ_CHECK(m->hdr_offset == 0 && m->size >= sizeof(pgorm_object), "%s: header", m->table);
		FZ_CHECK(mi->ncols >= 1 && mi->ncols <= PGORM__MAX_COLS && mi->npk >= 1 && mi->npk <= PGORM__MAX_PK,
		         "%s: %zu columns, %zu key columns", m->table, mi->ncols, mi->npk);
		for (size_t k = 0; k < mi->ncols; k++) {
			const pgorm_column *c = &mi->cols[k];
			FZ_CHECK(c->name != NULL && csize(c->type) == c->size && c->size > 0, "%s.%s: type/size",
			         m->table, c->name);
			FZ_CHECK(c->offset >= sizeof(pgorm_object) && c->offset <= m->size && c->size <= m->size - c->offset,
			         "%s.%s: offset %zu size %zu outside %zu", m->table, c->name, c->offset, c->size, m->size);
			for (size_t l = 0; l < k; l++)
				FZ_CHECK(strcmp(mi->cols[l].name, c->name) != 0, "%s: duplicate column %s", m->table, c->name);
		}
		for (size_t k = 0; k < mi->npk; k++)
			FZ_CHECK(mi->pk[k] < mi->ncols && !(mi->cols[mi->pk[k]].flags & PGORM_NULLABLE), "%s: key column",
			         m->table);
		FZ_CHECK(mi->nrels <= PGORM__MAX_RELS, "%s: %zu relationships", m->table, mi->nrels);
		size_t nslots = 0;
		for (size_t j = 0; j < mi->nrels; j++) {
			const pgorm_rel *r = mi->rels[j];
			FZ_CHECK(r->owner == mi && r->index == j && r->target != NULL, "%s.%s: owner/target", m->table, r->name);
			FZ_CHECK(r->kind == PGORM_REL_ONE_TO_MANY || r->kind == PGORM_REL_MANY_TO_ONE ||
			         r->kind == PGORM_REL_MANY_TO_MANY, "%s.%s: kind %d", m->table, r->name, r->kind);
			const pgorm_rel *p = r->partner;
			FZ_CHECK(p != NULL && p->partner == r && p->owner == r->target && p->target == mi,
			         "%s.%s: partner does not point back", m->table, r->name);
			FZ_CHECK(r->kind == PGORM_REL_MANY_TO_MANY ? p->kind == r->kind
			         : p->kind == (r->kind == PGORM_REL_ONE_TO_MANY ? PGORM_REL_MANY_TO_ONE : PGORM_REL_ONE_TO_MANY),
			         "%s.%s: partner kind", m->table, r->name);
			if (r->kind == PGORM_REL_MANY_TO_ONE)
				FZ_CHECK(r->scalar, "%s.%s: many-to-one not scalar", m->table, r->name);
			if (r->kind != PGORM_REL_MANY_TO_MANY) {
				const pgorm__model_info *child = r->kind == PGORM_REL_ONE_TO_MANY ? r->target : mi;
				const pgorm__model_info *parent = r->kind == PGORM_REL_ONE_TO_MANY ? mi : r->target;
				FZ_CHECK(r->nfk >= 1 && r->nfk <= PGORM__MAX_PK, "%s.%s: %zu key columns", m->table, r->name, r->nfk);
				for (size_t k = 0; k < r->nfk; k++)
					FZ_CHECK(r->fk_cols[k] < child->ncols && r->ref_cols[k] < parent->ncols,
					         "%s.%s: key column out of range", m->table, r->name);
				FZ_CHECK(r->fk_col == r->fk_cols[0] && r->ref_col == r->ref_cols[0], "%s.%s: fk_col", m->table, r->name);
			} else {
				FZ_CHECK(r->sec_table && r->sec_local && r->sec_remote, "%s.%s: secondary", m->table, r->name);
			}
			if (r->offset == PGORM_NO_FIELD) {
				FZ_CHECK(r->slot < mi->nslots, "%s.%s: slot %zu of %zu", m->table, r->name, r->slot, mi->nslots);
				nslots++;
			} else {
				size_t want = r->scalar ? sizeof(void *) : sizeof(pgorm_collection);
				FZ_CHECK(r->offset >= sizeof(pgorm_object) && r->offset <= m->size && want <= m->size - r->offset,
				         "%s.%s: field outside the struct", m->table, r->name);
			}
			if (r->order_col >= 0)
				FZ_CHECK((size_t)r->order_col < r->target->ncols, "%s.%s: order column", m->table, r->name);
		}
		FZ_CHECK(nslots == mi->nslots, "%s: %zu slots, %zu used", m->table, mi->nslots, nslots);
	}
}

/* ---- objects and relationships on an accepted registry ---- */

static pgorm_conn *dead_conn(void)
{
	static pgorm_conn *c;
	if (c == NULL) {
		PGconn *pq = PQconnectStart("pgorm_fuzz_no_such_option=1"); /* never opens a socket */
		pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
		pgorm_error err;
		FZ_CHECK(pq != NULL && pgorm_conn_adopt(&c, pq, &cc, &err) == 0, "adopt");
	}
	return c;
}

static void exercise(const pgorm_registry *reg)
{
	pgorm_session *s = NULL;
	pgorm_error err;
	FZ_CHECK(pgorm_session_create(&s, reg, NULL, dead_conn(), NULL, &err) == 0, "session: %s", err.message);
	void *a[MAXM], *b[MAXM];
	for (size_t i = 0; i < reg->nmodels; i++) {
		const pgorm__model_info *mi = &reg->models[i];
		a[i] = pgorm_object_new(s, mi->model);
		b[i] = pgorm_object_new(s, mi->model);
		FZ_CHECK(a[i] != NULL && b[i] != NULL, "object_new %s: %s", mi->model->table, pgorm_session_error(s)->message);
		FZ_CHECK(pgorm_object_state(a[i]) == PGORM_STATE_TRANSIENT, "state");
		for (size_t k = 0; k < mi->ncols; k++) {
			const pgorm_column *c = &mi->cols[k];
			bool nullable = c->flags & PGORM_NULLABLE;
			/* never assigned: reads as NULL (model.h) */
			FZ_CHECK(pgorm_object_is_null(a[i], c->name), "new %s.%s does not read as NULL", mi->model->table, c->name);
			int rc = pgorm_object_set_null(a[i], c->name, true);
			FZ_CHECK(nullable ? rc == 0 : rc == PGORM_EINVAL, "set_null %s.%s: %d", mi->model->table, c->name, rc);
			FZ_CHECK(pgorm_object_set_null(a[i], c->name, false) == 0, "set_null false");
			bool pointer = c->type == PGORM_TYPE_TEXT || c->type == PGORM_TYPE_NUMERIC || c->type == PGORM_TYPE_JSON ||
			               c->type == PGORM_TYPE_JSONB || c->type == PGORM_TYPE_BYTEA || c->type == PGORM_TYPE_VARCHAR ||
			               c->type == PGORM_TYPE_CHAR; /* NULL pointer: SQL NULL */
			FZ_CHECK(pointer || !pgorm_object_is_null(a[i], c->name), "%s.%s assigned still reads NULL",
			         mi->model->table, c->name);
		}
	}
	for (size_t i = 0; i < reg->nmodels; i++) {
		const pgorm__model_info *mi = &reg->models[i];
		for (size_t j = 0; j < mi->nrels; j++) {
			const pgorm_rel *r = pgorm_registry_rel(reg, mi->model, mi->rels[j]->name);
			if (r == NULL)
				continue; /* hidden reverse side */
			size_t t = r->target->index;
			void *x = a[i], *y = b[t];
			if (r->scalar) {
				void *got = NULL;
				FZ_CHECK(pgorm_rel_set(s, r, x, y) == 0, "rel_set %s.%s: %s", mi->model->table, r->name,
				         pgorm_session_error(s)->message);
				FZ_CHECK(pgorm_rel_get(s, r, x, &got) == 0 && got == y, "rel_get %s.%s", mi->model->table, r->name);
				FZ_CHECK(pgorm_rel_set(s, r, x, NULL) == 0, "rel_set NULL");
				if (r->kind == PGORM_REL_MANY_TO_ONE)
					FZ_CHECK(pgorm_rel_append(s, r, x, y) == PGORM_EINVAL, "append on a many-to-one");
			} else {
				FZ_CHECK(pgorm_rel_append(s, r, x, y) == 0, "rel_append %s.%s: %s", mi->model->table, r->name,
				         pgorm_session_error(s)->message);
				pgorm_collection *col = pgorm_rel_collection(s, r, x);
				FZ_CHECK(col != NULL && col->len >= 1, "collection");
				FZ_CHECK(pgorm_rel_remove(s, r, x, y) == 0, "rel_remove %s.%s: %s", mi->model->table, r->name,
				         pgorm_session_error(s)->message);
				FZ_CHECK(pgorm_rel_set(s, r, x, y) == PGORM_EINVAL, "rel_set on a collection");
			}
			FZ_CHECK(pgorm_rel_append(s, r, y, x) == PGORM_EINVAL || t == i, "wrong model accepted");
		}
	}
	pgorm_session_destroy(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz f = { data, data + size };
	gen g;
	memset(&g, 0, sizeof g);
	gen_models(&g, &f);
	if (getenv("FZ_DUMP") != NULL)
		gen_dump(&g);
	pgorm_registry *reg = (pgorm_registry *)&g; /* any non-NULL value: must be reset */
	pgorm_error err;
	memset(&err, 0, sizeof err);
	int rc = pgorm_registry_create(&reg, g.list, g.n, &err);
	if (rc != 0) {
		FZ_CHECK(rc == PGORM_EMODEL || rc == PGORM_EINVAL || rc == PGORM_ENOMEM, "registry_create returned %d", rc);
		FZ_CHECK(reg == NULL && err.code == rc && err.message[0] != '\0', "refusal without a message");
	} else {
		FZ_CHECK(reg != NULL, "no registry");
		check_registry(reg, &g);
		char why[256];
		bool broken = item8_broken(reg, why, sizeof why);
		FZ_CHECK(!broken, "accepted: %s", why);
		exercise(reg);
		pgorm_registry_destroy(reg);
	}
	gen_free(&g);
	return 0;
}
