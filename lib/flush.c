/* lib/flush.c — the unit of work: turn the session's changes into ordered, batched,
 * parameterized statements and send them in one pipeline.
 *
 * Order of work:
 *   1. resolve cascades: orphans (delete-orphan), delete cascades and FK nulling for deleted
 *      parents, loading unloaded collections in one SELECT … = ANY per relationship per level;
 *   2. generated primary keys for new rows: when another row of the flush needs one (a
 *      child's foreign key, an association row, a post_update), one nextval() batch per table
 *      for every new row, so those keys are known before anything is inserted; otherwise none,
 *      and each INSERT reads its keys back with RETURNING (keys_needed);
 *   3. foreign keys copied from changed links (child → parent pointers);
 *   4. statements: INSERT (tables parents-first, rows in add order, multi-row VALUES),
 *      association rows, UPDATE of changed columns only, association deletes, DELETE
 *      (tables children-first, WHERE pk = ANY($1) batches);
 *   5. one pipeline, one sync; on error the transaction is rolled back and the session
 *      waits for pgorm_session_rollback.
 */
#include "exec.h"
#include "internal.h"
#include "flush.h"
#include "identity_map.h"
#include "loader.h"
#include "relationship.h"
#include "state.h"

#include <stdio.h>
#include <string.h>

enum { INSERT_BATCH_ROWS = 1000 };

typedef enum stmt_kind { K_INSERT, K_ASSOC_INSERT, K_UPDATE, K_POST_UPDATE, K_ASSOC_DELETE, K_DELETE, K_LEAF_DELETE } stmt_kind;

typedef struct planned {
	pgorm_stmt stmt;
	stmt_kind kind;
	pgorm__model_info *mi;
	void **objs;          /* the objects the statement writes */
	size_t nobjs;
	bool versioned;       /* affected rows must equal nobjs */
	uint64_t returned;    /* INSERT: the columns RETURNING gives back (after the key) */
	bool key_back;        /* INSERT: the key column is left out, its value read back by RETURNING */
	const char *reason;
} planned;

/* A delete cascade along r to leaf rows not loaded (leaf_cascade): the parents whose rows go. */
typedef struct leaf_del {
	const pgorm_rel *r;
	void **parents;       /* plan arena */
	size_t n;
} leaf_del;

typedef struct plan {
	pgorm__arena arena;   /* SQL text, parameter arrays, object lists */
	uint64_t *pu_cols;    /* per model index: post_update key columns (computed once) */
	uint64_t *uq_cols;    /* per model index: UNIQUE columns outside the key */
	planned *items;
	size_t n, cap;
	bool keys_back;       /* no key reserved: generated keys come back from the INSERTs */
	bool oom;
	leaf_del *leaf;       /* delete cascades to leaf rows, by foreign key (plan_leaf_deletes) */
	size_t nleaf, capleaf;
} plan;

static void *plan_alloc(plan *p, size_t n)
{
	void *m = pgorm__arena_alloc(&p->arena, n ? n : 1);
	if (m == NULL)
		p->oom = true;
	return m;
}

static char *plan_str(plan *p, pgorm__sb *b)
{
	const char *s = pgorm__sb_str(b);
	char *d = s ? pgorm__arena_strndup(&p->arena, s, b->len) : NULL;
	if (d == NULL)
		p->oom = true;
	pgorm__sb_reset(b);
	return d;
}

static planned *plan_add(plan *p)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		planned *items = pgorm__reallocarray(p->items, cap, sizeof *items);
		if (items == NULL) {
			p->oom = true;
			return NULL;
		}
		p->items = items;
		p->cap = cap;
	}
	planned *it = &p->items[p->n++];
	memset(it, 0, sizeof *it);
	return it;
}

static void plan_free(plan *p)
{
	pgorm__free(p->pu_cols);
	pgorm__free(p->uq_cols);
	pgorm__free(p->items);
	pgorm__free(p->leaf);
	pgorm__arena_free_all(&p->arena);
}

/* ---- 1. cascades ---- */


/* False on out of memory, o unchanged: its cascade is not cut short silently. */
static bool mark_deleted(void *o, pgorm__objlist *next)
{
	pgorm__objstate *st = pgorm__st(o);
	if (st->state == PGORM_STATE_PERSISTENT) {
		if (!pgorm__objlist_push(next, o))
			return false;
		st->state = PGORM_STATE_DELETED;
		st->flags &= (uint8_t)~OBJ_DELETE_DONE;
	} else if (st->state == PGORM_STATE_PENDING) {
		st->state = PGORM_STATE_TRANSIENT;
	}
	return true;
}

/* ---- 1a. delete cascade to leaf rows, without loading them ----
 *
 * Deleting the parents of an unloaded one-to-many with delete cascade loads the children and
 * deletes them by key (SQLAlchemy's way). When the children are leaves (leaf_cascade: deleting
 * one needs nothing else of the flush) the rows the load would bring in are instead deleted
 * by "DELETE FROM child WHERE fk = ANY($1) [AND pk <> ALL($2)]" at the point of the flush
 * where their DELETE by key would be, when the session holds none of them but re-linked or
 * deleted ones (leaf_children): the results (database, object states and links, errors) are
 * those of the load, with fewer statements. The rule is stated in session.h
 * (pgorm_session_delete). */

static bool any_key_type(const pgorm__model_info *mi);

enum { LEAF_MAX_KEEP = 1000 }; /* children in the session left out of the DELETE by key, at most */

/* r's children can be deleted without loading them: r is a plain one-to-many with delete
 * cascade that loads when deleted (passive_deletes off), keyed by the parent's one-column
 * primary key; the child is deleted by one statement over an array of keys (one-column key,
 * no version), refers to no row of its own table, has only many-to-one relationships without
 * delete or delete-orphan cascade nor post_update, and no model of the registry refers to its
 * table (by a foreign key column or a many-to-many), so no other row of the flush can depend
 * on it and a failure can only be the statement's own. */
static bool leaf_cascade(const pgorm_registry *reg, const pgorm_rel *r)
{
	const pgorm__model_info *pm = r->owner, *cm = r->target;
	const pgorm_rel *m2o = r->partner;
	if (r->kind != PGORM_REL_ONE_TO_MANY || r->scalar || !(r->cascade & PGORM_CASCADE_DELETE) ||
	    r->passive != PGORM_PASSIVE_OFF || (r->flags & PGORM_REL_VIEWONLY) || m2o == NULL ||
	    m2o->kind != PGORM_REL_MANY_TO_ONE || m2o->owner != cm)
		return false;
	if (!any_key_type(cm) || cm->self_ref || r->nfk != 1 || pm->npk != 1 || r->ref_cols[0] != pm->pk[0] ||
	    !pgorm__keyarray_supports(pm->cols[pm->pk[0]].type) || cm->cols[r->fk_cols[0]].type != pm->cols[pm->pk[0]].type)
		return false;
	for (size_t k = 0; k < cm->nrels; k++) {
		const pgorm_rel *c = cm->rels[k];
		if (c->kind != PGORM_REL_MANY_TO_ONE || (c->flags & PGORM_REL_POST_UPDATE) ||
		    (c->cascade & (PGORM_CASCADE_DELETE | PGORM_CASCADE_DELETE_ORPHAN)))
			return false;
	}
	for (size_t m = 0; m < reg->nmodels; m++) {
		const pgorm__model_info *o = &reg->models[m];
		for (size_t i = 0; i < o->ncols; i++)
			if (o->cols[i].fk_table != NULL && strcmp(o->cols[i].fk_table, cm->model->table) == 0)
				return false;
		for (size_t k = 0; k < o->nrels; k++)
			if (o->rels[k]->target == cm && o->rels[k]->kind == PGORM_REL_MANY_TO_MANY)
				return false;
	}
	return true;
}

/* Whether the children of r in the session allow the leaf path, against the parents marked
 * OBJ2_SEEN (deleted, r not loaded). Only its row tells where a persistent child belongs (its
 * copy may be older: another transaction may have moved the row since it was loaded), so one
 * not re-linked in memory makes the path unsafe, as do a child whose foreign key column was
 * written since it was loaded and a new child with a foreign key written and no parent linked
 * (its INSERT may name a deleted parent). A re-linked one goes where its link says (the queued
 * children of cascade_rel, or away with its UPDATE: *nkeep counts these persistent ones, which
 * the DELETE by foreign key leaves out). With mark (after a check that returned true), a
 * deleted child whose foreign key names a seen parent gets its link and loaded bit as the
 * load sets them (not in a dry run, which changes no link). */
static bool leaf_children(pgorm_session *s, const pgorm_rel *r, bool mark, bool dry, size_t *nkeep)
{
	const pgorm__model_info *cm = r->target;
	const pgorm_rel *m2o = r->partner;
	uint64_t fk = pgorm__fk_mask(m2o);
	uint32_t lbit = 1u << m2o->index;
	size_t keep = 0;
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		if (((pgorm_object *)o)->model != cm->model)
			continue;
		pgorm__objstate *st = pgorm__st(o);
		if (st->state == PGORM_STATE_PENDING) {
			if (pgorm__link_get(o, m2o) == NULL && (st->nulls & fk) != fk)
				return false;
			continue;
		}
		if (!(st->flags & OBJ_IN_MAP) || (st->state != PGORM_STATE_PERSISTENT && st->state != PGORM_STATE_DELETED))
			continue;
		if (st->link_dirty & lbit) {
			keep += st->state == PGORM_STATE_PERSISTENT;
			continue;
		}
		if ((st->dirty & fk) || st->state == PGORM_STATE_PERSISTENT)
			return false;
		if (!mark || dry)
			continue;
		void *p = pgorm__m2o_in_map(s, m2o, o); /* deleted already: linked as the load links it */
		if (p != NULL && (pgorm__st(p)->flags2 & OBJ2_SEEN)) {
			pgorm__link_put(o, m2o, p);
			st->loaded |= lbit;
		}
	}
	*nkeep = keep;
	return keep <= LEAF_MAX_KEEP;
}

/* Take the leaf path for the parents in unloaded (r not loaded) when it is safe: the children
 * in the session linked, the parents recorded for plan_leaf_deletes. *taken false: load. */
static int leaf_delete(pgorm_session *s, const pgorm_rel *r, pgorm__objlist *unloaded, bool dry, plan *pl,
                       bool *taken)
{
	*taken = false;
	/* only in a commit's flush: the deleted parents are detached right after it, so their
	 * collections (loaded by the load, not here) cannot be read while they are in the session;
	 * a dry run shows what a commit would send */
	if ((!dry && !s->commit_asked) || !leaf_cascade(s->reg, r))
		return 0;
	/* children queued on the collections: each must be one the load would bring in and delete
	 * (in the collection then, so that commit unlinks it there); any other, e.g. a new child
	 * that becomes transient, is left to the load */
	for (size_t i = 0; i < unloaded->n; i++) {
		void *single;
		size_t nk;
		void **kids = pgorm__rel_items(unloaded->items[i], r, &single, &nk);
		for (size_t k = 0; k < nk; k++)
			if (pgorm__st(kids[k])->state != PGORM_STATE_PERSISTENT ||
			    pgorm__link_get(kids[k], r->partner) != unloaded->items[i])
				return 0;
	}
	for (size_t i = 0; i < unloaded->n; i++)
		pgorm__st(unloaded->items[i])->flags2 |= OBJ2_SEEN;
	int rc = 0;
	size_t nkeep = 0;
	bool ok = leaf_children(s, r, false, dry, &nkeep);
	void **parents = NULL;
	if (ok && pl->nleaf == pl->capleaf) {
		size_t cap = pl->capleaf ? 2 * pl->capleaf : 4;
		leaf_del *l = pgorm__reallocarray(pl->leaf, cap, sizeof *l);
		if (l != NULL) {
			pl->leaf = l;
			pl->capleaf = cap;
		}
	}
	if (ok && (pl->nleaf == pl->capleaf || (parents = plan_alloc(pl, unloaded->n * sizeof *parents)) == NULL))
		rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	if (ok && rc == 0)
		(void)leaf_children(s, r, true, dry, &nkeep);
	for (size_t i = 0; i < unloaded->n; i++)
		pgorm__st(unloaded->items[i])->flags2 &= (uint8_t)~OBJ2_SEEN;
	if (!ok || rc != 0)
		return rc;
	memcpy(parents, unloaded->items, unloaded->n * sizeof *parents);
	pl->leaf[pl->nleaf++] = (leaf_del){ r, parents, unloaded->n };
	*taken = true;
	return 0;
}

/* Process one relationship of the deleted parents at this level. */
static int cascade_rel(pgorm_session *s, const pgorm_rel *r, pgorm__objlist *parents, pgorm__objlist *next, bool dry, plan *pl)
{
	bool del = (r->cascade & PGORM_CASCADE_DELETE) != 0; /* delete-orphan alone: children are nulled (model.h) */
	if (r->flags & PGORM_REL_VIEWONLY)
		return 0;
	if (!del && r->passive == PGORM_PASSIVE_ALL)
		return 0;
	/* unloaded collections: load them all at once unless the schema is trusted */
	pgorm__objlist unloaded = { 0 };
	for (size_t i = 0; i < parents->n; i++)
		if (!((pgorm__st(parents->items[i])->loaded >> r->index) & 1))
			if (!pgorm__objlist_push(&unloaded, parents->items[i]))
				return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	int rc = 0;
	bool leaf = false;
	if (unloaded.n > 0 && r->passive == PGORM_PASSIVE_OFF && del)
		rc = leaf_delete(s, r, &unloaded, dry, pl, &leaf);
	if (rc == 0 && !leaf && unloaded.n > 0 && r->passive == PGORM_PASSIVE_OFF) {
		if (dry) {
			char *note = plan_alloc(pl, 200);
			if (note) {
				snprintf(note, 200, "load %s.%s of %zu deleted %s (unloaded) to %s", r->owner->model->table,
				         r->name, unloaded.n, r->owner->model->table, del ? "delete the children" : "null their FK");
				planned *it = plan_add(pl);
				if (it) {
					it->stmt.sql = "SELECT … = ANY($1)";
					it->reason = note;
					it->kind = K_UPDATE;
				}
			}
		} else {
			rc = pgorm__load_selectin(s, r, unloaded.items, unloaded.n, false);
		}
	}
	pgorm__free(unloaded.items);
	if (rc != 0)
		return rc;
	if (r->kind == PGORM_REL_MANY_TO_MANY)
		return 0; /* association rows are deleted with the row (flush plans them) */
	const pgorm_rel *m2o = r->partner;
	for (size_t i = 0; i < parents->n; i++) {
		void *p = parents->items[i];
		/* still unloaded (passive_deletes): only the children queued in memory are known;
		 * they are reached as SQLAlchemy reaches them (its append loaded the collection) */
		void *single;
		size_t nk;
		void **kids = pgorm__rel_items(p, r, &single, &nk);
		for (size_t k = 0; k < nk; k++) {
			void *kid = kids[k];
			pgorm__objstate *kst = pgorm__st(kid);
			if (kst->state == PGORM_STATE_DELETED || kst->state == PGORM_STATE_DETACHED ||
			    kst->state == PGORM_STATE_TRANSIENT)
				continue;
			if (pgorm__link_get(kid, m2o) != p && ((kst->loaded >> m2o->index) & 1))
				continue; /* re-parented in memory */
			if (del) {
				if (!mark_deleted(kid, next))
					return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			} else if (!((kst->link_dirty >> m2o->index) & 1)) {
				/* default: the child stays, its FK becomes NULL */
				pgorm__fk_set_null(kid, m2o);
			}
		}
	}
	return 0;
}

/* Load the one-to-one r of parents (persistent, replaced while r was not loaded): each old
 * child found that is not the current one loses its link, as if it had been loaded then. */
static int reload_scalar(pgorm_session *s, const pgorm_rel *r, pgorm__objlist *parents)
{
	const pgorm_rel *m2o = r->partner;
	void **cur = pgorm__calloc(parents->n, sizeof *cur);
	if (cur == NULL)
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	for (size_t i = 0; i < parents->n; i++)
		cur[i] = pgorm__link_get(parents->items[i], r);
	int rc = pgorm__load_selectin(s, r, parents->items, parents->n, false);
	for (size_t i = 0; i < parents->n; i++) {
		void *old = pgorm__link_get(parents->items[i], r);
		pgorm__link_put(parents->items[i], r, cur[i]);
		if (rc == 0 && old != NULL && old != cur[i]) {
			pgorm__objstate *ost = pgorm__st(old);
			pgorm__link_put(old, m2o, NULL);
			ost->link_dirty |= 1ULL << m2o->index;
			ost->loaded |= 1ULL << m2o->index;
			ost->flags2 &= (uint8_t)~OBJ2_NO_ORPHAN; /* cut by its parent: an orphan after all */
		}
	}
	pgorm__free(cur);
	return rc;
}

/* One-to-one (scalar one-to-many) relationships set while they were not loaded: relink()
 * marks the parent's link_dirty bit of r. The old child is unknown in memory, so it is
 * loaded here (one SELECT … = ANY per relationship) to be nulled or orphaned below; also
 * when the parent is deleted since (its delete cascade finds the relationship loaded). */
static int resolve_replaced_scalars(pgorm_session *s, bool dry, plan *pl)
{
	bool any = false;
	for (size_t i = 0; i < s->ntracked && !any; i++) {
		pgorm__objstate *st = pgorm__st(s->tracked[i]);
		if (st->link_dirty == 0 || (st->state != PGORM_STATE_PERSISTENT && st->state != PGORM_STATE_DELETED))
			continue;
		pgorm__model_info *mi = pgorm__session_info(s, s->tracked[i]);
		for (size_t k = 0; k < mi->nrels && !any; k++)
			any = mi->rels[k]->kind == PGORM_REL_ONE_TO_MANY && mi->rels[k]->scalar && ((st->link_dirty >> k) & 1);
	}
	int rc = 0;
	for (size_t m = 0; any && m < s->reg->nmodels && rc == 0; m++) {
		pgorm__model_info *mi = &s->reg->models[m];
		for (size_t k = 0; k < mi->nrels && rc == 0; k++) {
			const pgorm_rel *r = mi->rels[k];
			if (r->kind != PGORM_REL_ONE_TO_MANY || !r->scalar || (r->flags & PGORM_REL_VIEWONLY))
				continue;
			pgorm__objlist parents = { 0 };
			for (size_t i = 0; i < s->ntracked && rc == 0; i++) {
				void *o = s->tracked[i];
				pgorm__objstate *st = pgorm__st(o);
				if (((pgorm_object *)o)->model == mi->model &&
				    (st->state == PGORM_STATE_PERSISTENT || st->state == PGORM_STATE_DELETED) &&
				    ((st->link_dirty >> k) & 1) && !pgorm__objlist_push(&parents, o))
					rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			}
			if (rc == 0 && parents.n > 0 && dry) {
				char *note = plan_alloc(pl, 200);
				planned *it = note ? plan_add(pl) : NULL;
				if (it) {
					snprintf(note, 200, "load the previous %s.%s of %zu %s (replaced while unloaded) to %s it",
					         mi->model->table, r->name, parents.n, mi->model->table,
					         (r->cascade & PGORM_CASCADE_DELETE_ORPHAN) ? "delete" : "null");
					it->stmt.sql = "SELECT … = ANY($1)";
					it->reason = note;
					it->kind = K_UPDATE;
				}
			} else if (rc == 0 && parents.n > 0) {
				rc = reload_scalar(s, r, &parents);
			}
			pgorm__free(parents.items);
		}
	}
	return rc;
}

/* Delete cascade along a many-to-one (the child's parent goes with it: SQLAlchemy's
 * cascade="all" on the many-to-one side). An unloaded link is loaded first, as SQLAlchemy's
 * cascade does (not in a dry run: the plan then says so). */
static int cascade_m2o(pgorm_session *s, const pgorm_rel *r, pgorm__objlist *deleted, pgorm__objlist *next, bool dry, plan *pl)
{
	for (size_t i = 0; i < deleted->n; i++) {
		void *o = deleted->items[i];
		void *t = pgorm__link_get(o, r);
		if (t == NULL && !((pgorm__st(o)->loaded >> r->index) & 1) && !(pgorm__st(o)->nulls & pgorm__fk_mask(r))) {
			if (dry) {
				char *note = plan_alloc(pl, 160);
				planned *it = note ? plan_add(pl) : NULL;
				if (it) {
					snprintf(note, 160, "load %s.%s to delete it with its %s (delete cascade)",
					         r->owner->model->table, r->name, r->owner->model->table);
					it->stmt.sql = "SELECT … WHERE pk = $1";
					it->reason = note;
					it->kind = K_DELETE;
				}
				continue;
			}
			int rc = pgorm__load_lazy(s, r, o);
			if (rc != 0 && rc != PGORM_ENOTFOUND)
				return rc;
			t = pgorm__link_get(o, r);
		}
		if (t != NULL && !mark_deleted(t, next))
			return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	return 0;
}

static int resolve_cascades(pgorm_session *s, bool dry, plan *pl)
{
	pgorm__objlist level = { 0 }, next = { 0 };
	int rc = resolve_replaced_scalars(s, dry, pl);
	if (rc != 0)
		return rc;
	/* targets cut loose by a many-to-one delete-orphan (single_parent): deleted when nothing
	 * in memory refers to them through that relationship any more */
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if (!(st->flags & OBJ_ORPHAN))
			continue;
		if (!dry)
			st->flags &= (uint8_t)~OBJ_ORPHAN;
		if (st->state != PGORM_STATE_PERSISTENT && st->state != PGORM_STATE_PENDING)
			continue;
		pgorm__model_info *mi = pgorm__session_info(s, o);
		bool orphan = false, held = false;
		for (size_t k = 0; k < mi->nrels && !held; k++) {
			const pgorm_rel *r = mi->rels[k];
			if (r->partner == NULL || r->partner->kind != PGORM_REL_MANY_TO_ONE ||
			    !(r->partner->cascade & PGORM_CASCADE_DELETE_ORPHAN))
				continue;
			void *single;
			size_t n;
			pgorm__rel_items(o, r, &single, &n);
			orphan = true;
			held = n > 0;
		}
		if (orphan && !held) {
			st->state = st->state == PGORM_STATE_PERSISTENT ? PGORM_STATE_DELETED : PGORM_STATE_TRANSIENT;
			st->flags &= (uint8_t)~OBJ_DELETE_DONE;
		}
	}
	/* orphans first: a child whose link was cut under delete-orphan is deleted */
	for (size_t i = 0; i < s->ntracked && rc == 0; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if (st->link_dirty == 0 || (st->state != PGORM_STATE_PERSISTENT && st->state != PGORM_STATE_PENDING))
			continue;
		if (st->flags2 & OBJ2_NO_ORPHAN) {
			if (!dry)
				st->flags2 &= (uint8_t)~OBJ2_NO_ORPHAN;
			continue;
		}
		pgorm__model_info *mi = pgorm__session_info(s, o);
		for (size_t b = 0; b < mi->nrels; b++) {
			const pgorm_rel *m2o = mi->rels[b];
			if (((st->link_dirty >> b) & 1) && pgorm__orphan_cascade(m2o) && pgorm__link_get(o, m2o) == NULL) {
				if (st->state == PGORM_STATE_PERSISTENT) {
					st->state = PGORM_STATE_DELETED;
					st->flags &= (uint8_t)~OBJ_DELETE_DONE;
				} else {
					st->state = PGORM_STATE_TRANSIENT;
				}
				break;
			}
		}
	}
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		if (pgorm__st(o)->state == PGORM_STATE_DELETED && !(pgorm__st(o)->flags & OBJ_DELETE_DONE))
			if (!pgorm__objlist_push(&level, o))
				rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	while (rc == 0 && level.n > 0) {
		/* group this level by model, then walk each one-to-many relationship once */
		for (size_t m = 0; m < s->reg->nmodels && rc == 0; m++) {
			pgorm__model_info *mi = &s->reg->models[m];
			pgorm__objlist parents = { 0 };
			for (size_t i = 0; i < level.n; i++)
				if (((pgorm_object *)level.items[i])->model == mi->model && !pgorm__objlist_push(&parents, level.items[i]))
					rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			for (size_t k = 0; k < mi->nrels && rc == 0 && parents.n > 0; k++) {
				const pgorm_rel *r = mi->rels[k];
				if (r->kind == PGORM_REL_ONE_TO_MANY)
					rc = cascade_rel(s, r, &parents, &next, dry, pl);
				else if (r->kind == PGORM_REL_MANY_TO_ONE && (r->cascade & PGORM_CASCADE_DELETE) &&
				         !(r->flags & PGORM_REL_VIEWONLY))
					rc = cascade_m2o(s, r, &parents, &next, dry, pl);
			}
			pgorm__free(parents.items);
		}
		for (size_t i = 0; i < level.n && rc == 0; i++) /* a failed level is redone next flush */
			pgorm__st(level.items[i])->flags |= OBJ_DELETE_DONE;
		pgorm__objlist t = level;
		level = next;
		next = t;
		next.n = 0;
	}
	pgorm__free(level.items);
	pgorm__free(next.items);
	return rc;
}

/* ---- 2. generated keys ---- */

static bool pk_is_zero(const void *o, const pgorm__model_info *mi)
{
	const pgorm_column *c = &mi->cols[mi->pk[0]];
	static const char zero[8];
	return memcmp(pgorm__field((void *)o, c->offset), zero, c->size) == 0;
}

/* t is a new row whose key the server generates and nobody set. */
static bool key_to_generate(pgorm_session *s, const void *t)
{
	if (t == NULL || pgorm__st(t)->state != PGORM_STATE_PENDING)
		return false;
	const pgorm__model_info *mi = pgorm__session_info(s, t);
	return mi->pk_generated && pk_is_zero(t, mi);
}

/* Whether another row of the flush needs a generated key before the INSERTs go out: a new row
 * that a new or persistent row links to (sync_fks copies its key into that row's foreign key),
 * one in a queued many-to-many change (its association row names it), or a new row with a
 * post_update relationship (its UPDATE after the inserts names it). Then every new row's key is
 * reserved in that round trip (one statement per table whatever the count, and an in-doubt
 * commit leaves every inserted object with its key); otherwise nothing is reserved and each
 * INSERT reads its keys back with RETURNING, so such a commit takes one round trip. */
static bool keys_needed(pgorm_session *s, const plan *pl)
{
	bool any = false;
	for (size_t i = 0; i < s->ntracked && !any; i++)
		any = key_to_generate(s, s->tracked[i]);
	if (!any)
		return false;
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		uint8_t state = pgorm__st(o)->state;
		if (state != PGORM_STATE_PENDING && state != PGORM_STATE_PERSISTENT)
			continue;
		const pgorm__model_info *mi = pgorm__session_info(s, o);
		if (state == PGORM_STATE_PENDING && pl->pu_cols[mi->index] != 0 && key_to_generate(s, o))
			return true;
		for (size_t k = 0; k < mi->nrels; k++) {
			const pgorm_rel *r = mi->rels[k];
			if (r->kind == PGORM_REL_MANY_TO_ONE && !(r->flags & PGORM_REL_VIEWONLY) &&
			    key_to_generate(s, pgorm__link_get(o, r)))
				return true;
		}
	}
	for (size_t i = 0; i < s->nm2m; i++)
		if (key_to_generate(s, s->m2m_ops[i].a) || key_to_generate(s, s->m2m_ops[i].b))
			return true;
	return false;
}

static int assign_keys(pgorm_session *s)
{
	size_t nm = s->reg->nmodels;
	size_t *need = pgorm__calloc(nm, sizeof *need);
	if (need == NULL)
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	size_t total = 0;
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		if (pgorm__st(o)->state != PGORM_STATE_PENDING)
			continue;
		pgorm__model_info *mi = pgorm__session_info(s, o);
		if (mi->pk_generated && pk_is_zero(o, mi)) {
			need[mi->index]++;
			total++;
		}
	}
	int rc = 0;
	if (total == 0) {
		pgorm__free(need);
		return 0;
	}
	pgorm_stmt *stmts = pgorm__calloc(nm, sizeof *stmts);
	pgorm_value *params = pgorm__calloc(nm * 3, sizeof *params);
	pgorm_result **res = pgorm__calloc(nm, sizeof *res);
	size_t *which = pgorm__calloc(nm, sizeof *which);
	size_t ns = 0;
	if (!stmts || !params || !res || !which) {
		rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t m = 0; m < nm; m++) {
		if (need[m] == 0)
			continue;
		pgorm__model_info *mi = &s->reg->models[m];
		params[3 * ns] = PGORM_TEXT(mi->qtable);
		params[3 * ns + 1] = PGORM_TEXT(mi->cols[mi->pk[0]].name);
		params[3 * ns + 2] = PGORM_INT8((int64_t)need[m]);
		stmts[ns] = (pgorm_stmt){ "SELECT nextval(pg_get_serial_sequence($1, $2)) FROM generate_series(1, $3)",
		                          3, &params[3 * ns] };
		which[ns++] = m;
	}
	if ((rc = pgorm__session_pipeline(s, ns, stmts, res)) != 0)
		goto out;
	for (size_t k = 0; k < ns && rc == 0; k++) {
		pgorm__model_info *mi = &s->reg->models[which[k]];
		const pgorm_column *pc = &mi->cols[mi->pk[0]];
		if (pgorm_result_rows(res[k]) != need[which[k]] || pgorm_result_is_null(res[k], 0, 0)) {
			rc = pgorm__session_fail(s, PGORM_EUNSUPPORTED,
			                         "%s.%s: PGORM_SERVER_DEFAULT primary key without a sequence; set the key in the struct",
			                         mi->model->table, pc->name);
			break;
		}
		size_t row = 0;
		for (size_t i = 0; i < s->ntracked; i++) {
			void *o = s->tracked[i];
			if (((pgorm_object *)o)->model != mi->model || pgorm__st(o)->state != PGORM_STATE_PENDING ||
			    !pk_is_zero(o, mi))
				continue;
			int64_t id = 0;
			pgorm_result_int64(res[k], row++, 0, &id);
			pgorm_value v = PGORM_INT8(id);
			pgorm__set_col(NULL, o, pc, mi->pk[0], &v);
			pgorm__assign_col(o, mi, mi->pk[0], false);
			pgorm__st(o)->flags |= OBJ_PK_ASSIGNED;
		}
	}
out:
	for (size_t k = 0; res && k < ns; k++)
		pgorm_result_free(res[k]);
	pgorm__free(stmts);
	pgorm__free(params);
	pgorm__free(res);
	pgorm__free(which);
	pgorm__free(need);
	if (rc != 0)
		s->needs_rollback = true;
	return rc;
}

/* ---- 3. foreign keys from links ---- */

/* The FK fields a dry run wrote into user structs, with their old bytes, to put back. */
typedef struct fk_saved {
	char *field;
	size_t size, off;     /* off: where the old bytes are in fk_undo.bytes */
} fk_saved;

typedef struct fk_undo {
	fk_saved *items;
	size_t n, cap;
	unsigned char *bytes;
	size_t nbytes, capbytes;
} fk_undo;

static bool fk_undo_save(fk_undo *u, char *field, size_t size)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 16;
		fk_saved *items = pgorm__reallocarray(u->items, cap, sizeof *items);
		if (items == NULL)
			return false;
		u->items = items;
		u->cap = cap;
	}
	if (u->capbytes - u->nbytes < size) {
		size_t cap = u->capbytes ? u->capbytes : 256;
		while (cap - u->nbytes < size)
			cap *= 2;
		unsigned char *b = pgorm__realloc(u->bytes, cap);
		if (b == NULL)
			return false;
		u->bytes = b;
		u->capbytes = cap;
	}
	memcpy(u->bytes + u->nbytes, field, size);
	u->items[u->n++] = (fk_saved){ field, size, u->nbytes };
	u->nbytes += size;
	return true;
}

/* Put every saved field back (last saved first: a field saved twice ends with its first,
 * original, bytes) and free the log. */
static void fk_undo_apply(fk_undo *u)
{
	for (size_t i = u->n; i-- > 0;)
		memcpy(u->items[i].field, u->bytes + u->items[i].off, u->items[i].size);
	pgorm__free(u->items);
	pgorm__free(u->bytes);
	memset(u, 0, sizeof *u);
}

/* undo (dry run only): the old bytes of every FK field written, so they can be restored;
 * PGORM_ENOMEM when they cannot be saved (the field is then left untouched). */
static int sync_fks(pgorm_session *s, fk_undo *undo)
{
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if (st->link_dirty == 0 || (st->state != PGORM_STATE_PENDING && st->state != PGORM_STATE_PERSISTENT))
			continue;
		pgorm__model_info *mi = pgorm__session_info(s, o);
		for (size_t b = 0; b < mi->nrels; b++) {
			const pgorm_rel *r = mi->rels[b];
			if (!((st->link_dirty >> b) & 1) || r->kind != PGORM_REL_MANY_TO_ONE || (r->flags & PGORM_REL_VIEWONLY))
				continue;
			void *t = pgorm__link_get(o, r);
			/* no parent, or a parent deleted in this flush (its cascade did not take the
			 * child along): the key becomes NULL, as SQLAlchemy's dependency processing does */
			if (t == NULL || pgorm__st(t)->state == PGORM_STATE_DELETED) {
				pgorm__fk_set_null(o, r);
				continue;
			}
			if (pgorm__st(t)->state == PGORM_STATE_TRANSIENT || pgorm__st(t)->state == PGORM_STATE_DETACHED) {
				pgorm__session_log(s, PGORM_LOG_WARNING,
				                   "%s.%s refers to a %s object that is not in the session: foreign key left as is",
				                   mi->model->table, r->name, r->target->model->table);
				continue;
			}
			for (size_t c = 0; c < r->nfk; c++) {
				pgorm_value v;
				pgorm__get_col(t, &r->target->cols[r->ref_cols[c]], r->ref_cols[c], &v);
				if (v.is_null)
					continue;
				const pgorm_column *fk = &mi->cols[r->fk_cols[c]];
				if (undo != NULL && !fk_undo_save(undo, pgorm__field(o, fk->offset), fk->size))
					return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
				/* borrows the parent's string, stable in the arena; the same key again is no change */
				uint64_t before = pgorm__col_word(o, fk);
				bool was_null = (st->nulls >> r->fk_cols[c]) & 1;
				pgorm__set_col(NULL, o, fk, r->fk_cols[c], &v);
				if (was_null || pgorm__col_word(o, fk) != before)
					pgorm__assign_col(o, mi, r->fk_cols[c], false);
			}
		}
	}
	return 0;
}

/* ---- 4. statements ---- */

static bool is_post_update(const pgorm_rel *r)
{
	return r->kind == PGORM_REL_MANY_TO_ONE && (r->flags & PGORM_REL_POST_UPDATE) && !(r->flags & PGORM_REL_VIEWONLY);
}

/* The foreign key columns of mi's post_update relationships. */
static uint64_t post_update_cols(const pgorm__model_info *mi)
{
	uint64_t m = 0;
	for (size_t k = 0; k < mi->nrels; k++)
		if (is_post_update(mi->rels[k]))
			for (size_t c = 0; c < mi->rels[k]->nfk; c++)
				m |= 1ULL << mi->rels[k]->fk_cols[c];
	return m;
}

/* The columns an INSERT of o names: the ones assigned (model.h's rule) and the key, less the
 * post_update keys (written by an UPDATE after the inserts), and less a generated key nobody
 * reserved (keys_back: the server's default gives it, RETURNING reads it back); a new row's
 * version starts at 1, as SQLAlchemy's. */
static uint64_t insert_cols(void *o, const pgorm__model_info *mi, uint64_t post_update, bool keys_back)
{
	uint64_t m = pgorm__st(o)->dirty & ~post_update; /* observed when the flush started */
	bool back = keys_back && mi->pk_generated && pk_is_zero(o, mi);
	for (size_t k = 0; k < mi->npk; k++)
		m = back ? m & ~(1ULL << mi->pk[k]) : m | 1ULL << mi->pk[k];
	if (mi->version_col >= 0 && !((m >> mi->version_col) & 1)) {
		const pgorm_column *vc = &mi->cols[mi->version_col];
		pgorm_value one = PGORM_INT8(1);
		pgorm__set_col(NULL, o, vc, (size_t)mi->version_col, &one);
		pgorm__assign_col(o, mi, (size_t)mi->version_col, false);
		m |= 1ULL << mi->version_col;
	}
	return m;
}

/* Rows of a self-referencing table ordered so that parents come first. */
static int order_self_ref(pgorm_session *s, pgorm__model_info *mi, pgorm__objlist *rows)
{
	const pgorm_rel *self = NULL;
	for (size_t k = 0; k < mi->nrels; k++)
		if (mi->rels[k]->kind == PGORM_REL_MANY_TO_ONE && mi->rels[k]->target == mi && !is_post_update(mi->rels[k]))
			self = mi->rels[k];
	if (self == NULL)
		return 0;
	void **out = pgorm__calloc(rows->n ? rows->n : 1, sizeof *out);
	bool *placed = pgorm__calloc(rows->n ? rows->n : 1, sizeof *placed);
	if (out == NULL || placed == NULL) {
		pgorm__free(out);
		pgorm__free(placed);
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	size_t n = 0;
	bool progress = true;
	while (n < rows->n && progress) {
		progress = false;
		for (size_t i = 0; i < rows->n; i++) {
			if (placed[i])
				continue;
			void *parent = pgorm__link_get(rows->items[i], self);
			bool ready = parent == NULL || pgorm__st(parent)->state != PGORM_STATE_PENDING;
			for (size_t j = 0; j < rows->n && !ready; j++)
				if (rows->items[j] == parent)
					ready = placed[j];
			if (!ready)
				for (size_t j = 0; j < rows->n; j++)
					if (rows->items[j] == parent)
						goto next;
			placed[i] = true;
			out[n++] = rows->items[i];
			progress = true;
		next:;
		}
	}
	int rc = 0;
	if (n < rows->n)
		rc = pgorm__session_fail(s, PGORM_EUNSUPPORTED,
		                         "%s: new rows reference each other in a cycle through %s.%s: mark that relationship "
		                         "PGORM_REL_POST_UPDATE, or insert one side first",
		                         mi->model->table, mi->model->table, self->name);
	else
		memcpy(rows->items, out, n * sizeof *out);
	pgorm__free(out);
	pgorm__free(placed);
	return rc;
}

/* Does row `child` refer to row `parent` through one of the self-referencing FKs? */
static bool refers_to(const pgorm__model_info *mi, const pgorm_rel *const *self, size_t nself, const void *child,
                      const void *parent)
{
	for (size_t r = 0; r < nself; r++) {
		bool all = true;
		for (size_t c = 0; c < self[r]->nfk && all; c++) {
			pgorm_value f, k;
			pgorm__get_col(child, &mi->cols[self[r]->fk_cols[c]], self[r]->fk_cols[c], &f);
			pgorm__get_col(parent, &mi->cols[self[r]->ref_cols[c]], self[r]->ref_cols[c], &k);
			all = pgorm__value_equal(&f, &k);
		}
		if (all)
			return true;
	}
	return false;
}

/* Per-row DELETEs of a self-referencing table: every row after the rows that refer to it
 * (children first), by the FK values the rows have in the database. Rows in a cycle keep
 * their order and the database reports the FK violation. */
static int order_self_ref_deletes(pgorm_session *s, pgorm__model_info *mi, pgorm__objlist *rows)
{
	const pgorm_rel *self[PGORM__MAX_RELS];
	size_t nself = 0;
	for (size_t k = 0; k < mi->nrels; k++)
		if (mi->rels[k]->kind == PGORM_REL_MANY_TO_ONE && mi->rels[k]->target == mi && !is_post_update(mi->rels[k]))
			self[nself++] = mi->rels[k];
	if (nself == 0 || rows->n < 2)
		return 0;
	void **out = pgorm__calloc(rows->n, sizeof *out);
	bool *placed = pgorm__calloc(rows->n, sizeof *placed);
	if (out == NULL || placed == NULL) {
		pgorm__free(out);
		pgorm__free(placed);
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	size_t n = 0;
	while (n < rows->n) {
		bool progress = false;
		for (size_t i = 0; i < rows->n; i++) {
			if (placed[i])
				continue;
			bool referenced = false;
			for (size_t j = 0; j < rows->n && !referenced; j++)
				referenced = j != i && !placed[j] && refers_to(mi, self, nself, rows->items[j], rows->items[i]);
			if (!referenced) {
				placed[i] = true;
				out[n++] = rows->items[i];
				progress = true;
			}
		}
		for (size_t i = 0; i < rows->n && !progress; i++)
			if (!placed[i]) {
				placed[i] = true;
				out[n++] = rows->items[i];
			}
	}
	memcpy(rows->items, out, n * sizeof *out);
	pgorm__free(out);
	pgorm__free(placed);
	return 0;
}

/* " RETURNING key…, omitted…": the values the server chose for the columns an INSERT left out
 * (the key itself when key_back). */
static void add_returning(pgorm__sb *b, const pgorm__model_info *mi, uint64_t omitted, bool key_back)
{
	if (omitted == 0 && !key_back)
		return;
	pgorm__sb_add(b, " RETURNING ");
	for (size_t k = 0; k < mi->npk; k++) {
		if (k)
			pgorm__sb_add(b, ", ");
		pgorm__sb_ident(b, mi->cols[mi->pk[k]].name);
	}
	for (size_t i = 0; i < mi->ncols; i++) {
		if (!((omitted >> i) & 1))
			continue;
		pgorm__sb_add(b, ", ");
		pgorm__sb_ident(b, mi->cols[i].name);
	}
}

static const char *fk_reason(plan *pl, const pgorm__model_info *mi, const char *verb)
{
	char buf[256];
	size_t k = (size_t)snprintf(buf, sizeof buf, "%s %s", verb, mi->model->table);
	for (size_t i = 0; i < mi->ncols && k < sizeof buf; i++)
		if (mi->cols[i].fk_table && strcmp(mi->cols[i].fk_table, mi->model->table) != 0)
			k += (size_t)snprintf(buf + k, sizeof buf - k, "%s %s (FK %s)",
			                      strcmp(verb, "insert") == 0 ? " after" : " before", mi->cols[i].fk_table,
			                      mi->cols[i].name);
	return pgorm__arena_strndup(&pl->arena, buf, strlen(buf));
}

/* Column idx of the n objects as one array parameter in the plan's memory (the statement is
 * sent after the keyarray is gone); *cast is what follows "$1". NULL on out of memory. */
static pgorm_value *plan_keys(plan *pl, const pgorm_column *c, size_t idx, void *const *objs, size_t n,
                              const char **cast)
{
	pgorm__keyarray k;
	if (pgorm__keyarray_build(&k, c, idx, objs, n) != 0) {
		pl->oom = true;
		return NULL;
	}
	pgorm_value *v = plan_alloc(pl, sizeof *v);
	if (v != NULL && k.ints != NULL) {
		int64_t *ids = plan_alloc(pl, (n ? n : 1) * sizeof *ids);
		if (ids != NULL) {
			memcpy(ids, k.ints, n * sizeof *ids);
			*v = PGORM_INT8_ARRAY(ids, n);
		}
		v = ids ? v : NULL;
	} else if (v != NULL) {
		const char **strs = plan_alloc(pl, (n ? n : 1) * sizeof *strs);
		char *text = k.text ? plan_alloc(pl, 37 * (n ? n : 1)) : NULL;
		if (strs != NULL && (k.text == NULL || text != NULL)) {
			for (size_t i = 0; i < n; i++)
				strs[i] = text ? text + 37 * i : k.strs[i]; /* strings of the objects stay put */
			if (text)
				memcpy(text, k.text, 37 * n);
			*v = PGORM_TEXT_ARRAY(strs, n);
		} else {
			v = NULL;
		}
	}
	*cast = k.cast;
	pgorm__keyarray_free(&k);
	return v;
}

/* "INSERT INTO t (cols) VALUES ($1, …), … RETURNING …" for nrows rows naming the columns
 * in cols (none: every row all defaults, the key generated), parameters row by row. */
static void insert_sql(pgorm__sb *b, const pgorm__model_info *mi, uint64_t cols, size_t nrows, uint64_t returned,
                       bool key_back)
{
	pgorm__sb_addf(b, "INSERT INTO %s (", mi->qtable);
	for (size_t i = 0, first = 1; i < mi->ncols; i++) {
		if (!((cols >> i) & 1))
			continue;
		if (!first)
			pgorm__sb_add(b, ", ");
		pgorm__sb_ident(b, mi->cols[i].name);
		first = 0;
	}
	if (cols == 0)
		pgorm__sb_ident(b, mi->cols[mi->pk[0]].name);
	pgorm__sb_add(b, ") VALUES ");
	size_t ncols = (size_t)__builtin_popcountll(cols), p = 0;
	for (size_t r = 0; r < nrows; r++) {
		pgorm__sb_add(b, r ? ", (" : "(");
		if (cols == 0)
			pgorm__sb_add(b, "DEFAULT");
		for (size_t k = 0; k < ncols; k++) {
			if (k)
				pgorm__sb_add(b, ", ");
			pgorm__sb_param(b, ++p);
		}
		pgorm__sb_add(b, ")");
	}
	add_returning(b, mi, returned, key_back);
}

static int plan_inserts(pgorm_session *s, pgorm__model_info *mi, plan *pl, pgorm__sb *b)
{
	pgorm__objlist rows = { 0 };
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		if (((pgorm_object *)o)->model == mi->model && pgorm__st(o)->state == PGORM_STATE_PENDING)
			if (!pgorm__objlist_push(&rows, o))
				return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	int rc = 0;
	if (rows.n > 1 && mi->self_ref)
		rc = order_self_ref(s, mi, &rows);
	uint64_t all = mi->ncols < 64 ? (1ULL << mi->ncols) - 1 : UINT64_MAX;
	uint64_t pu = pl->pu_cols[mi->index];
	const char *reason = rows.n ? fk_reason(pl, mi, "insert") : NULL;
	const char *sql = NULL; /* the last statement's text, for sql_rows rows naming sql_cols */
	uint64_t sql_cols = 0;
	size_t sql_rows = 0;
	/* one statement per run of rows (in order) that name the same columns */
	for (size_t start = 0, cnt; start < rows.n && rc == 0; start += cnt) {
		uint64_t cols = insert_cols(rows.items[start], mi, pu, pl->keys_back);
		size_t ncols = (size_t)__builtin_popcountll(cols);
		size_t per = ncols ? PGORM__MAX_PARAMS / ncols : INSERT_BATCH_ROWS;
		if (per > INSERT_BATCH_ROWS)
			per = INSERT_BATCH_ROWS;
		for (cnt = 1; start + cnt < rows.n && cnt < per; cnt++)
			if (insert_cols(rows.items[start + cnt], mi, pu, pl->keys_back) != cols)
				break;
		planned *it = plan_add(pl);
		pgorm_value *vals = plan_alloc(pl, cnt * ncols * sizeof *vals);
		void **objs = plan_alloc(pl, cnt * sizeof *objs);
		if (it == NULL || vals == NULL || objs == NULL) {
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush");
			break;
		}
		size_t p = 0;
		for (size_t r = 0; r < cnt; r++) {
			void *o = rows.items[start + r];
			objs[r] = o;
			if (!((cols >> mi->pk[0]) & 1)) /* set again when its key comes back (apply_keys) */
				pgorm__st(o)->flags &= (uint8_t)~OBJ_PK_ASSIGNED;
			for (size_t i = 0; i < mi->ncols; i++)
				if ((cols >> i) & 1)
					pgorm__get_col(o, &mi->cols[i], i, &vals[p++]);
		}
		uint64_t keys = 0;
		for (size_t k = 0; k < mi->npk; k++)
			keys |= 1ULL << mi->pk[k];
		bool key_back = (cols & keys) != keys;
		uint64_t returned = all & ~cols & ~pu & ~keys; /* post_update keys come after */
		/* the text depends on the columns and the row count only: a run of full batches shares it */
		if (sql == NULL || cols != sql_cols || cnt != sql_rows) {
			insert_sql(b, mi, cols, cnt, returned, key_back);
			sql = plan_str(pl, b);
			sql_cols = cols;
			sql_rows = cnt;
		}
		it->stmt = (pgorm_stmt){ sql, p, vals };
		it->kind = K_INSERT;
		it->mi = mi;
		it->objs = objs;
		it->nobjs = cnt;
		it->returned = returned;
		it->key_back = key_back;
		it->reason = reason;
	}
	pgorm__free(rows.items);
	return pl->oom ? pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush") : rc;
}

/* " WHERE pk = $n [AND …] [AND version = $m]": one row, guarded by its version when the model
 * has one (a mismatch then shows as a row count of 0: PGORM_ESTALE). */
static void where_row(pgorm__sb *b, const pgorm__model_info *mi, void *o, pgorm_value *vals, size_t *p)
{
	pgorm__sb_add(b, " WHERE ");
	for (size_t k = 0; k < mi->npk; k++) {
		if (k)
			pgorm__sb_add(b, " AND ");
		pgorm__sb_ident(b, mi->cols[mi->pk[k]].name);
		pgorm__sb_add(b, " = ");
		pgorm__get_col(o, &mi->cols[mi->pk[k]], mi->pk[k], &vals[*p]);
		pgorm__sb_param(b, ++*p);
	}
	if (mi->version_col >= 0) {
		pgorm__sb_add(b, " AND ");
		pgorm__sb_ident(b, mi->cols[mi->version_col].name);
		pgorm__sb_add(b, " = ");
		pgorm__get_col(o, &mi->cols[mi->version_col], (size_t)mi->version_col, &vals[*p]);
		pgorm__sb_param(b, ++*p);
	}
}

/* Fill a planned statement that writes the one row of o. */
static void plan_row(planned *it, plan *pl, pgorm__sb *b, stmt_kind kind, pgorm__model_info *mi, void *o,
                     pgorm_value *vals, size_t nvals, void **objs, const char *reason)
{
	objs[0] = o;
	it->stmt = (pgorm_stmt){ plan_str(pl, b), nvals, vals };
	it->kind = kind;
	it->mi = mi;
	it->objs = objs;
	it->nobjs = 1;
	it->versioned = mi->version_col >= 0;
	it->reason = reason;
}

static bool any_key_type(const pgorm__model_info *mi);

/* Rows whose only change is "these columns become NULL" (children of a deleted or removed
 * parent): one UPDATE … WHERE pk = ANY($1) per table and column set, not one per row. */
typedef struct null_group {
	pgorm__model_info *mi;
	uint64_t cols;
	pgorm__objlist rows;
} null_group;

static int plan_null_groups(pgorm_session *s, plan *pl, pgorm__sb *b, null_group *g, size_t ng)
{
	for (size_t k = 0; k < ng; k++) {
		pgorm__model_info *mi = g[k].mi;
		const pgorm_column *pc = &mi->cols[mi->pk[0]];
		size_t n = g[k].rows.n;
		const char *cast = "";
		planned *it = plan_add(pl);
		void **objs = plan_alloc(pl, n * sizeof *objs);
		pgorm_value *v = plan_keys(pl, pc, mi->pk[0], g[k].rows.items, n, &cast);
		if (it == NULL || v == NULL || objs == NULL)
			return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush");
		memcpy(objs, g[k].rows.items, n * sizeof *objs);
		pgorm__sb_addf(b, "UPDATE %s SET ", mi->qtable);
		for (size_t c = 0, first = 1; c < mi->ncols; c++) {
			if (!((g[k].cols >> c) & 1))
				continue;
			if (!first)
				pgorm__sb_add(b, ", ");
			pgorm__sb_ident(b, mi->cols[c].name);
			pgorm__sb_add(b, " = NULL");
			first = 0;
		}
		pgorm__sb_add(b, " WHERE ");
		pgorm__sb_ident(b, pc->name);
		pgorm__sb_addf(b, " = ANY($1%s)", cast);
		it->stmt = (pgorm_stmt){ plan_str(pl, b), 1, v };
		it->kind = K_UPDATE;
		it->mi = mi;
		it->objs = objs;
		it->nobjs = n;
		it->reason = "foreign keys set to NULL, batched";
	}
	return pl->oom ? pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush") : 0;
}

/* The UNIQUE columns of mi outside its key. */
static uint64_t unique_cols(const pgorm__model_info *mi)
{
	uint64_t m = 0;
	for (size_t i = 0; i < mi->ncols; i++)
		if ((mi->cols[i].flags & PGORM_UNIQUE) && !(mi->cols[i].flags & PGORM_PK))
			m |= 1ULL << i;
	return m;
}

/* An update that only sets UNIQUE columns (and others) to NULL frees values another row of
 * the same flush may take (a one-to-one child replaced: the old child's key is nulled before
 * the new child is inserted with it). Such updates go before the inserts. */
static bool vacates(uint64_t unique, uint64_t dirty, uint64_t nulls)
{
	return (dirty & ~nulls) == 0 && (dirty & unique) != 0;
}

/* vacating: plan only the updates vacates() picks; otherwise only the others. */
static int plan_updates(pgorm_session *s, plan *pl, pgorm__sb *b, bool vacating)
{
	null_group groups[16];
	size_t ng = 0;
	int rc = 0;
	for (size_t i = 0; i < s->ntracked && rc == 0; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if (st->state != PGORM_STATE_PERSISTENT)
			continue;
		pgorm__model_info *mi = pgorm__session_info(s, o);
		uint64_t dirty = st->dirty; /* observed when the flush started */
		if (mi->version_col >= 0)
			dirty &= ~(1ULL << mi->version_col);
		if (dirty == 0 || vacates(pl->uq_cols[mi->index], dirty, st->nulls) != vacating)
			continue;
		for (size_t k = 0; k < mi->npk; k++)
			if ((dirty >> mi->pk[k]) & 1)
				rc = pgorm__session_fail(s, PGORM_EINVAL, "%s.%s: the primary key of a persistent object was changed",
				                         mi->model->table, mi->cols[mi->pk[k]].name);
		if (rc != 0)
			break;
		if ((dirty & st->nulls) == dirty && any_key_type(mi)) {
			size_t k = 0;
			while (k < ng && !(groups[k].mi == mi && groups[k].cols == dirty))
				k++;
			if (k == ng && ng < sizeof groups / sizeof groups[0])
				groups[ng++] = (null_group){ mi, dirty, { 0 } };
			if (k < ng) {
				if (!pgorm__objlist_push(&groups[k].rows, o))
					rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
				continue;
			}
		}
		planned *it = plan_add(pl);
		pgorm_value *vals = plan_alloc(pl, (mi->ncols + mi->npk + 2) * sizeof *vals);
		void **objs = plan_alloc(pl, sizeof *objs);
		if (it == NULL || vals == NULL || objs == NULL) {
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush");
			break;
		}
		pgorm__sb_addf(b, "UPDATE %s SET ", mi->qtable);
		size_t p = 0;
		for (size_t c = 0; c < mi->ncols; c++) {
			if (!((dirty >> c) & 1))
				continue;
			if (p)
				pgorm__sb_add(b, ", ");
			pgorm__sb_ident(b, mi->cols[c].name);
			pgorm__sb_add(b, " = ");
			pgorm__get_col(o, &mi->cols[c], c, &vals[p]);
			pgorm__sb_param(b, ++p);
		}
		if (mi->version_col >= 0) {
			const char *vn = mi->cols[mi->version_col].name;
			pgorm__sb_add(b, ", ");
			pgorm__sb_ident(b, vn);
			pgorm__sb_add(b, " = ");
			pgorm__sb_ident(b, vn);
			pgorm__sb_add(b, " + 1");
		}
		where_row(b, mi, o, vals, &p);
		plan_row(it, pl, b, K_UPDATE, mi, o, vals, p, objs, "changed columns only");
	}
	if (rc == 0)
		rc = plan_null_groups(s, pl, b, groups, ng);
	for (size_t k = 0; k < ng; k++)
		pgorm__free(groups[k].rows.items);
	if (rc == 0 && pl->oom)
		rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush");
	return rc;
}

/* Rows of mi can be written by one statement over an array of keys (no version to check). */
static bool any_key_type(const pgorm__model_info *mi)
{
	return mi->npk == 1 && mi->version_col < 0 && pgorm__keyarray_supports(mi->cols[mi->pk[0]].type);
}

static int plan_deletes(pgorm_session *s, pgorm__model_info *mi, plan *pl, pgorm__sb *b)
{
	pgorm__objlist rows = { 0 };
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		if (((pgorm_object *)o)->model == mi->model && pgorm__st(o)->state == PGORM_STATE_DELETED &&
		    (pgorm__st(o)->flags & OBJ_IN_MAP))
			if (!pgorm__objlist_push(&rows, o))
				return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	if (rows.n == 0)
		return 0;
	const char *reason = fk_reason(pl, mi, "delete");
	/* association rows of many-to-many relationships go first */
	for (size_t k = 0; k < mi->nrels; k++) {
		const pgorm_rel *r = mi->rels[k];
		if (r->kind != PGORM_REL_MANY_TO_MANY || (r->flags & PGORM_REL_VIEWONLY))
			continue;
		const pgorm_column *pc = &mi->cols[mi->pk[0]];
		if (mi->npk != 1 || !pgorm__keyarray_supports(pc->type)) {
			pgorm__free(rows.items);
			return pgorm__session_fail(s, PGORM_EUNSUPPORTED, "%s.%s: many-to-many needs a one-column key",
			                           mi->model->table, r->name);
		}
		const char *cast = "";
		planned *it = plan_add(pl);
		pgorm_value *v = plan_keys(pl, pc, mi->pk[0], rows.items, rows.n, &cast);
		if (it == NULL || v == NULL)
			break;
		pgorm__sb_add(b, "DELETE FROM ");
		pgorm__sb_qualified(b, r->sec_schema, r->sec_table);
		pgorm__sb_add(b, " WHERE ");
		pgorm__sb_ident(b, r->sec_local);
		pgorm__sb_addf(b, " = ANY($1%s)", cast);
		it->stmt = (pgorm_stmt){ plan_str(pl, b), 1, v };
		it->kind = K_ASSOC_DELETE;
		it->reason = "association rows of deleted objects";
	}
	if (any_key_type(mi)) {
		const pgorm_column *pc = &mi->cols[mi->pk[0]];
		const char *cast = "";
		planned *it = plan_add(pl);
		void **objs = plan_alloc(pl, rows.n * sizeof *objs);
		pgorm_value *v = plan_keys(pl, pc, mi->pk[0], rows.items, rows.n, &cast);
		if (it && v && objs) {
			memcpy(objs, rows.items, rows.n * sizeof *objs);
			pgorm__sb_addf(b, "DELETE FROM %s WHERE ", mi->qtable);
			pgorm__sb_ident(b, pc->name);
			pgorm__sb_addf(b, " = ANY($1%s)", cast);
			it->stmt = (pgorm_stmt){ plan_str(pl, b), 1, v };
			it->kind = K_DELETE;
			it->mi = mi;
			it->objs = objs;
			it->nobjs = rows.n;
			it->reason = reason;
		}
	} else if (mi->version_col >= 0 && mi->npk == 1 && pgorm__keyarray_supports(mi->cols[mi->pk[0]].type) &&
	           !mi->self_ref) {
		/* versioned rows: one DELETE over (key, version) pairs; a row count short of the
		 * number of rows is PGORM_ESTALE, as for one row */
		const pgorm_column *pc = &mi->cols[mi->pk[0]], *vc = &mi->cols[mi->version_col];
		const char *ck = "", *cv = "";
		planned *it = plan_add(pl);
		pgorm_value *v = plan_alloc(pl, 2 * sizeof *v);
		void **objs = plan_alloc(pl, rows.n * sizeof *objs);
		pgorm_value *keys = plan_keys(pl, pc, mi->pk[0], rows.items, rows.n, &ck);
		pgorm_value *vers = plan_keys(pl, vc, (size_t)mi->version_col, rows.items, rows.n, &cv);
		if (it && v && objs && keys && vers) {
			memcpy(objs, rows.items, rows.n * sizeof *objs);
			v[0] = *keys;
			v[1] = *vers;
			pgorm__sb_addf(b, "DELETE FROM %s WHERE (", mi->qtable);
			pgorm__sb_ident(b, pc->name);
			pgorm__sb_add(b, ", ");
			pgorm__sb_ident(b, vc->name);
			pgorm__sb_addf(b, ") IN (SELECT * FROM unnest($1%s, $2%s))", ck, cv);
			it->stmt = (pgorm_stmt){ plan_str(pl, b), 2, v };
			it->kind = K_DELETE;
			it->mi = mi;
			it->objs = objs;
			it->nobjs = rows.n;
			it->versioned = true;
			it->reason = reason;
		}
	} else {
		if (mi->self_ref && order_self_ref_deletes(s, mi, &rows) != 0) {
			pgorm__free(rows.items);
			return s->err.code;
		}
		for (size_t i = 0; i < rows.n; i++) {
			void *o = rows.items[i];
			planned *it = plan_add(pl);
			pgorm_value *vals = plan_alloc(pl, (mi->npk + 1) * sizeof *vals);
			void **objs = plan_alloc(pl, sizeof *objs);
			if (it == NULL || vals == NULL || objs == NULL)
				break;
			size_t p = 0;
			pgorm__sb_addf(b, "DELETE FROM %s", mi->qtable);
			where_row(b, mi, o, vals, &p);
			plan_row(it, pl, b, K_DELETE, mi, o, vals, p, objs, reason);
		}
	}
	pgorm__free(rows.items);
	return pl->oom ? pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush") : 0;
}

/* The rows of mi that delete cascades reach without loading them (leaf_delete): one
 * DELETE … WHERE fk = ANY(parents' keys) per cascade, right after mi's DELETE by key, so at the
 * point where the load's rows would have been deleted by key; the persistent children still
 * in the session (re-linked in memory: leaf_children) are left out by key. */
static int plan_leaf_deletes(pgorm_session *s, pgorm__model_info *mi, plan *pl, pgorm__sb *b)
{
	for (size_t l = 0; l < pl->nleaf; l++) {
		const pgorm_rel *r = pl->leaf[l].r;
		if (r->target != mi)
			continue;
		const pgorm__model_info *pm = r->owner;
		const pgorm_column *pc = &pm->cols[pm->pk[0]], *kc = &mi->cols[mi->pk[0]];
		pgorm__objlist keep = { 0 };
		for (size_t i = 0; i < s->ntracked; i++) {
			void *o = s->tracked[i];
			if (((pgorm_object *)o)->model == mi->model && pgorm__st(o)->state == PGORM_STATE_PERSISTENT &&
			    (pgorm__st(o)->flags & OBJ_IN_MAP) && !pgorm__objlist_push(&keep, o)) {
				pgorm__free(keep.items);
				return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			}
		}
		const char *cast = "", *kcast = "";
		planned *it = plan_add(pl);
		pgorm_value *v = plan_alloc(pl, 2 * sizeof *v);
		pgorm_value *keys = plan_keys(pl, pc, pm->pk[0], pl->leaf[l].parents, pl->leaf[l].n, &cast);
		pgorm_value *kept = keep.n ? plan_keys(pl, kc, mi->pk[0], keep.items, keep.n, &kcast) : NULL;
		char *reason = plan_alloc(pl, 200);
		if (it && v && keys && reason && (kept || keep.n == 0)) {
			v[0] = *keys;
			pgorm__sb_addf(b, "DELETE FROM %s WHERE ", mi->qtable);
			pgorm__sb_ident(b, mi->cols[r->fk_cols[0]].name);
			pgorm__sb_addf(b, " = ANY($1%s)", cast);
			if (kept) {
				v[1] = *kept;
				pgorm__sb_add(b, " AND ");
				pgorm__sb_ident(b, kc->name);
				pgorm__sb_addf(b, " <> ALL($2%s)", kcast);
			}
			snprintf(reason, 200, "%s of %zu deleted %s (not loaded: leaf rows deleted by foreign key; in a commit)",
			         r->name, pl->leaf[l].n, pm->model->table);
			it->stmt = (pgorm_stmt){ plan_str(pl, b), kept ? 2 : 1, v };
			it->kind = K_LEAF_DELETE;
			it->mi = mi;
			it->reason = reason;
		}
		pgorm__free(keep.items);
		if (pl->oom)
			return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush");
	}
	return 0;
}

/* Every DELETE of mi's rows: by key, then by foreign key for the leaf cascades. */
static int plan_model_deletes(pgorm_session *s, pgorm__model_info *mi, plan *pl, pgorm__sb *b)
{
	int rc = plan_deletes(s, mi, pl, b);
	return rc != 0 ? rc : plan_leaf_deletes(s, mi, pl, b);
}

static const pgorm_rel *canonical_m2m(const pgorm_rel *r)
{
	const pgorm_rel *p = r->partner;
	if (p == NULL)
		return r;
	return p->owner->index < r->owner->index || (p->owner == r->owner && p->index < r->index) ? p : r;
}

/* Net many-to-many changes: the last operation on a pair wins; pairs whose objects are
 * deleted are handled by the delete of their rows. One statement per relationship and
 * direction, over two key arrays (unnest). */
static int plan_assoc(pgorm_session *s, plan *pl, pgorm__sb *b, bool add)
{
	bool *take = pgorm__calloc(s->nm2m + 1, sizeof *take);
	void **as = pgorm__calloc(s->nm2m + 1, sizeof *as), **bs = pgorm__calloc(s->nm2m + 1, sizeof *bs);
	if (take == NULL || as == NULL || bs == NULL) {
		pgorm__free(take);
		pgorm__free(as);
		pgorm__free(bs);
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush");
	}
	for (size_t i = 0; i < s->nm2m; i++) {
		const pgorm__m2m_op *op = &s->m2m_ops[i];
		if (op->add != add)
			continue;
		bool superseded = false;
		for (size_t j = i + 1; j < s->nm2m && !superseded; j++) {
			const pgorm__m2m_op *o2 = &s->m2m_ops[j];
			superseded = (o2->rel == op->rel && o2->a == op->a && o2->b == op->b) ||
			             (o2->rel == op->rel->partner && o2->a == op->b && o2->b == op->a);
		}
		uint8_t sa = pgorm__st(op->a)->state, sb = pgorm__st(op->b)->state;
		take[i] = !superseded && sa != PGORM_STATE_TRANSIENT && sb != PGORM_STATE_TRANSIENT &&
		          sa != PGORM_STATE_DETACHED && sb != PGORM_STATE_DETACHED &&
		          !(add && (sa == PGORM_STATE_DELETED || sb == PGORM_STATE_DELETED));
	}
	int rc = 0;
	for (size_t i = 0; i < s->nm2m && rc == 0; i++) {
		if (!take[i])
			continue;
		/* one side of the pair of relationships speaks for the association table */
		const pgorm_rel *r = canonical_m2m(s->m2m_ops[i].rel);
		size_t n = 0;
		for (size_t j = i; j < s->nm2m; j++) /* this table's pairs, taken once */
			if (take[j] && canonical_m2m(s->m2m_ops[j].rel) == r) {
				bool same = s->m2m_ops[j].rel == r;
				as[n] = same ? s->m2m_ops[j].a : s->m2m_ops[j].b;
				bs[n++] = same ? s->m2m_ops[j].b : s->m2m_ops[j].a;
				take[j] = false;
			}
		const char *ca = "", *cb = "";
		planned *it = plan_add(pl);
		pgorm_value *vals = plan_alloc(pl, 2 * sizeof *vals);
		pgorm_value *ka = plan_keys(pl, &r->owner->cols[r->owner->pk[0]], r->owner->pk[0], as, n, &ca);
		pgorm_value *kb = plan_keys(pl, &r->target->cols[r->target->pk[0]], r->target->pk[0], bs, n, &cb);
		if (it == NULL || vals == NULL || ka == NULL || kb == NULL) {
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush");
			break;
		}
		vals[0] = *ka;
		vals[1] = *kb;
		if (add) {
			pgorm__sb_add(b, "INSERT INTO ");
			pgorm__sb_qualified(b, r->sec_schema, r->sec_table);
			pgorm__sb_add(b, " (");
			pgorm__sb_ident(b, r->sec_local);
			pgorm__sb_add(b, ", ");
			pgorm__sb_ident(b, r->sec_remote);
			pgorm__sb_addf(b, ") SELECT * FROM unnest($1%s, $2%s) ON CONFLICT DO NOTHING", ca, cb);
		} else {
			pgorm__sb_add(b, "DELETE FROM ");
			pgorm__sb_qualified(b, r->sec_schema, r->sec_table);
			pgorm__sb_add(b, " WHERE (");
			pgorm__sb_ident(b, r->sec_local);
			pgorm__sb_add(b, ", ");
			pgorm__sb_ident(b, r->sec_remote);
			pgorm__sb_addf(b, ") IN (SELECT * FROM unnest($1%s, $2%s))", ca, cb);
		}
		it->stmt = (pgorm_stmt){ plan_str(pl, b), 2, vals };
		it->kind = add ? K_ASSOC_INSERT : K_ASSOC_DELETE;
		it->reason = add ? "many-to-many appends (after both rows exist), batched" : "many-to-many removes, batched";
	}
	pgorm__free(take);
	pgorm__free(as);
	pgorm__free(bs);
	return rc == 0 && pl->oom ? pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush") : rc;
}

/* post_update keys, one UPDATE per row: after the inserts, the keys of the new rows that
 * have one (their INSERT left it out); before the deletes (deleting), NULL in the rows about
 * to be deleted that still have one, so that rows pointing at each other can go. */
static int plan_post_updates(pgorm_session *s, plan *pl, pgorm__sb *b, bool deleting)
{
	int rc = 0;
	for (size_t i = 0; i < s->ntracked && rc == 0; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if (deleting ? !(st->state == PGORM_STATE_DELETED && (st->flags & OBJ_IN_MAP)) : st->state != PGORM_STATE_PENDING)
			continue;
		pgorm__model_info *mi = pgorm__session_info(s, o);
		uint64_t cols = pl->pu_cols[mi->index] & ~st->nulls;
		if (cols == 0)
			continue;
		planned *it = plan_add(pl);
		pgorm_value *vals = plan_alloc(pl, (mi->ncols + mi->npk + 2) * sizeof *vals);
		void **objs = plan_alloc(pl, sizeof *objs);
		if (it == NULL || vals == NULL || objs == NULL)
			return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush");
		pgorm__sb_addf(b, "UPDATE %s SET ", mi->qtable);
		size_t p = 0;
		for (size_t c = 0, first = 1; c < mi->ncols; c++) {
			if (!((cols >> c) & 1))
				continue;
			if (!first)
				pgorm__sb_add(b, ", ");
			pgorm__sb_ident(b, mi->cols[c].name);
			first = 0;
			if (deleting) {
				pgorm__sb_add(b, " = NULL");
			} else {
				pgorm__sb_add(b, " = ");
				pgorm__get_col(o, &mi->cols[c], c, &vals[p]);
				pgorm__sb_param(b, ++p);
			}
		}
		where_row(b, mi, o, vals, &p);
		plan_row(it, pl, b, K_POST_UPDATE, mi, o, vals, p, objs,
		         deleting ? "post_update: key set NULL before the delete" : "post_update: key written after the inserts");
	}
	return pl->oom ? pgorm__session_fail(s, PGORM_ENOMEM, "out of memory planning the flush") : rc;
}

/* Rows of mi can be deleted before anything else of the flush: no table references mi, and
 * mi has UNIQUE columns whose values a new row of the same flush may take (a one-to-one
 * child replaced under delete-orphan). */
static bool delete_early(const pgorm_registry *reg, const pgorm__model_info *mi)
{
	if (unique_cols(mi) == 0)
		return false;
	for (size_t m = 0; m < reg->nmodels; m++)
		for (size_t i = 0; i < reg->models[m].ncols; i++) {
			const char *t = reg->models[m].cols[i].fk_table;
			if (t != NULL && strcmp(t, mi->model->table) == 0)
				return false;
		}
	return true;
}

static int build_plan(pgorm_session *s, plan *pl)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	int rc = 0;
	const pgorm_registry *reg = s->reg;
	/* post_update keys of rows to delete nulled, UNIQUE values freed (see vacates and
	 * delete_early), then parents-first inserts */
	rc = plan_post_updates(s, pl, &b, true);
	if (rc == 0)
		rc = plan_updates(s, pl, &b, true);
	for (size_t k = reg->nmodels; k-- > 0 && rc == 0;)
		if (delete_early(reg, &reg->models[reg->topo_order[k]]))
			rc = plan_model_deletes(s, &reg->models[reg->topo_order[k]], pl, &b);
	for (size_t k = 0; k < reg->nmodels && rc == 0; k++)
		rc = plan_inserts(s, &reg->models[reg->topo_order[k]], pl, &b);
	if (rc == 0)
		rc = plan_assoc(s, pl, &b, true);
	if (rc == 0)
		rc = plan_post_updates(s, pl, &b, false);
	if (rc == 0)
		rc = plan_updates(s, pl, &b, false);
	if (rc == 0)
		rc = plan_assoc(s, pl, &b, false);
	for (size_t k = reg->nmodels; k-- > 0 && rc == 0;)
		if (!delete_early(reg, &reg->models[reg->topo_order[k]]))
			rc = plan_model_deletes(s, &reg->models[reg->topo_order[k]], pl, &b);
	pgorm__sb_free(&b);
	return rc;
}

/* ---- 5. execution and bookkeeping ---- */

static int fail_flush(pgorm_session *s, int rc)
{
	pgorm__session_abort_flush(s);
	return rc;
}

/* it's generated keys, read back: row i is objs[i] (PostgreSQL returns the rows of an INSERT …
 * VALUES in the order of its VALUES list, as it inserts them). Each key is marked
 * OBJ_PK_ASSIGNED (a rollback resets it, as a reserved one). */
static int apply_keys(pgorm_session *s, planned *it, pgorm_result *res)
{
	pgorm__model_info *mi = it->mi;
	const pgorm_column *pc = &mi->cols[mi->pk[0]];
	if (pgorm_result_rows(res) != it->nobjs)
		return pgorm__session_fail(s, PGORM_ESERVER, "%s: INSERT … RETURNING gave %zu row(s) for %zu new object(s)",
		                           mi->model->table, pgorm_result_rows(res), it->nobjs);
	for (size_t row = 0; row < it->nobjs; row++) {
		pgorm_value v;
		if (pgorm_result_get(res, row, 0, pc->type, &v, &s->err) != 0)
			return s->err.code;
		if (v.is_null)
			return pgorm__session_fail(s, PGORM_ESERVER, "%s.%s: INSERT … RETURNING gave a NULL key",
			                           mi->model->table, pc->name);
		void *o = it->objs[row];
		pgorm__set_col(NULL, o, pc, mi->pk[0], &v); /* an integer: no memory */
		pgorm__assign_col(o, mi, mi->pk[0], false);
		pgorm__st(o)->flags |= OBJ_PK_ASSIGNED;
	}
	return 0;
}

static int apply_returning(pgorm_session *s, planned *it, pgorm_result *res)
{
	pgorm__model_info *mi = it->mi;
	size_t nrows = pgorm_result_rows(res);
	if (it->key_back) {
		int rc = apply_keys(s, it, res);
		if (rc != 0 || it->returned == 0)
			return rc;
	}
	for (size_t row = 0; row < nrows; row++) {
		/* match by primary key (known now): row `row` is objs[row] unless the server says otherwise */
		void *o = NULL;
		void *probe = pgorm__probe_from_key_row(s, mi, res, row);
		if (row < it->nobjs && pgorm__pk_equal(mi, it->objs[row], probe))
			o = it->objs[row];
		for (size_t i = 0; i < it->nobjs && o == NULL; i++)
			if (pgorm__pk_equal(mi, it->objs[i], probe))
				o = it->objs[i];
		if (o == NULL)
			continue;
		size_t col = mi->npk;
		for (size_t i = 0; i < mi->ncols; i++) {
			const pgorm_column *c = &mi->cols[i];
			if (!((it->returned >> i) & 1))
				continue;
			pgorm_value v;
			if (pgorm_result_get(res, row, col++, c->type, &v, &s->err) != 0)
				return s->err.code;
			if (!v.is_null) {
				int rc = pgorm__set_col(&s->arena, o, c, i, &v);
				if (rc != 0)
					return pgorm__session_fail(s, rc, "out of memory");
			}
			pgorm__assign_col(o, mi, i, v.is_null);
		}
	}
	return 0;
}

static int push_flushed_deleted(pgorm_session *s, void *o)
{
	if (s->nflushed_deleted == s->capflushed_deleted) {
		size_t cap = s->capflushed_deleted ? s->capflushed_deleted * 2 : 64;
		void **a = pgorm__reallocarray(s->flushed_deleted, cap, sizeof *a);
		if (a == NULL)
			return PGORM_ENOMEM;
		s->flushed_deleted = a;
		s->capflushed_deleted = cap;
	}
	s->flushed_deleted[s->nflushed_deleted++] = o;
	return 0;
}

/* The attribute a server error is about: its column field, or the first column of the
 * DETAIL's "Key (col, …)=(…)" (unique and foreign key violations); -1 when neither names
 * one of mi's columns. *val gets the key's value text when the DETAIL has one column. */
static long failed_col(const pgorm__model_info *mi, const pgorm_error *e, char *val, size_t nval)
{
	char name[64] = "";
	val[0] = '\0';
	const char *d = strncmp(e->detail, "Key (", 5) == 0 ? e->detail + 5 : NULL;
	if (e->column[0]) {
		pgorm__strlcpy(name, e->column, sizeof name);
	} else if (d != NULL) {
		size_t n = strcspn(d, ",)");
		if (n < sizeof name) {
			memcpy(name, d, n);
			name[n] = '\0';
		}
		const char *v = d[n] == ')' && strncmp(d + n, ")=(", 3) == 0 ? d + n + 3 : NULL;
		size_t vn = v ? strcspn(v, ")") : 0;
		if (v && vn < nval) {
			memcpy(val, v, vn);
			val[vn] = '\0';
		}
	}
	for (size_t i = 0; name[0] && i < mi->ncols; i++)
		if (strcmp(mi->cols[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Name what the failing statement was doing, the model and attribute the server's error is
 * about, and (s->err_obj) the object it was writing where that can be known: the only one,
 * or the one whose key column holds the value a unique violation quotes. The server's fields
 * (SQLSTATE, constraint, …) stay. */
static void name_failure(pgorm_session *s, const planned *it)
{
	char m[sizeof s->err.message], val[128], attr[160] = "";
	memcpy(m, s->err.message, sizeof m);
	long c = it->mi ? failed_col(it->mi, &s->err, val, sizeof val) : -1;
	if (c >= 0)
		snprintf(attr, sizeof attr, "%s.%s: ", it->mi->model->table, it->mi->cols[c].name);
	if (it->nobjs == 1) {
		s->err_obj = it->objs[0];
	} else if (c >= 0 && val[0] && it->mi->cols[c].type == PGORM_TYPE_TEXT) {
		for (size_t i = 0; i < it->nobjs && s->err_obj == NULL; i++) {
			pgorm_value v;
			pgorm__get_col(it->objs[i], &it->mi->cols[c], (size_t)c, &v);
			if (!v.is_null && v.u.str.len == strlen(val) && memcmp(v.u.str.ptr, val, v.u.str.len) == 0)
				s->err_obj = it->objs[i];
		}
	} else if (c >= 0 && val[0] && pgorm__is_int_type(it->mi->cols[c].type)) {
		for (size_t i = 0; i < it->nobjs && s->err_obj == NULL; i++) {
			pgorm_value v;
			pgorm__get_col(it->objs[i], &it->mi->cols[c], (size_t)c, &v);
			char buf[32];
			snprintf(buf, sizeof buf, "%lld", (long long)pgorm__value_int(&v));
			if (!v.is_null && strcmp(buf, val) == 0)
				s->err_obj = it->objs[i];
		}
	}
	int k = snprintf(s->err.message, sizeof s->err.message, "flush failed at statement %ld (%.60s): %s",
	                 s->err.stmt_index, it->reason ? it->reason : "", attr);
	if (k > 0 && (size_t)k < sizeof s->err.message)
		pgorm__strlcpy(s->err.message + k, m, sizeof s->err.message - (size_t)k);
}

/* A commit's flush sends COMMIT in the same pipeline as its statements (one round trip less)
 * when nothing checked after the results can still fail: no version check (PGORM_ESTALE must
 * roll back), no RETURNING of server values to decode but generated integer keys (no memory
 * needed; see execute for what follows when one cannot be read all the same), and room in the
 * identity map and the deleted list reserved now for what finish() adds. Otherwise COMMIT goes
 * out on its own. */
static bool carry_commit(pgorm_session *s, plan *pl)
{
	if (!s->commit_asked)
		return false;
	size_t ins = 0, del = 0;
	for (size_t i = 0; i < pl->n; i++) {
		const planned *it = &pl->items[i];
		if (it->versioned || (it->kind == K_INSERT && it->returned != 0))
			return false;
		if (it->kind == K_INSERT)
			ins += it->nobjs;
		else if (it->kind == K_DELETE)
			del += it->nobjs;
	}
	if (pgorm__imap_reserve(&s->imap, ins) != 0)
		return false;
	if (s->capflushed_deleted - s->nflushed_deleted < del) {
		size_t cap = s->nflushed_deleted + del;
		void **a = pgorm__reallocarray(s->flushed_deleted, cap, sizeof *a);
		if (a == NULL)
			return false;
		s->flushed_deleted = a;
		s->capflushed_deleted = cap;
	}
	return true;
}

static int execute(pgorm_session *s, plan *pl)
{
	pgorm_stmt *stmts = pgorm__calloc(pl->n, sizeof *stmts);
	pgorm_result **res = pgorm__calloc(pl->n, sizeof *res);
	if (stmts == NULL || res == NULL) {
		pgorm__free(stmts);
		pgorm__free(res);
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < pl->n; i++)
		stmts[i] = pl->items[i].stmt;
	int rc = carry_commit(s, pl) ? pgorm__session_pipeline_commit(s, pl->n, stmts, res, true)
	                             : pgorm__session_pipeline(s, pl->n, stmts, res);
	s->err_obj = NULL;
	if (rc != 0 && !s->tx_in_doubt && s->err.stmt_index >= 0 && (size_t)s->err.stmt_index < pl->n)
		name_failure(s, &pl->items[s->err.stmt_index]);
	for (size_t i = 0; i < pl->n && rc == 0; i++) {
		planned *it = &pl->items[i];
		if (res[i] == NULL) /* committed with the results lost (state.c): keys unread (finish) */
			continue;
		uint64_t n = pgorm_result_affected(res[i]);
		if (it->versioned && n != it->nobjs)
			rc = pgorm__session_fail(s, PGORM_ESTALE, "%s: %s expected %zu row(s), matched %llu (version changed or row deleted concurrently)",
			                         it->mi->model->table, it->kind == K_DELETE ? "DELETE" : "UPDATE", it->nobjs,
			                         (unsigned long long)n);
		else if (it->kind == K_DELETE && n != it->nobjs)
			pgorm__session_log(s, PGORM_LOG_WARNING, "%s: DELETE expected %zu row(s), matched %llu",
			                   it->mi->model->table, it->nobjs, (unsigned long long)n);
		if (rc == 0 && it->kind == K_INSERT && pgorm_result_cols(res[i]) > 0)
			rc = apply_returning(s, it, res[i]);
		if (rc != 0 && s->tx_done) {
			/* the COMMIT it carried stands: the objects whose keys could not be read are
			 * left out of the session by finish(); the rest goes on as committed */
			pgorm__session_log(s, PGORM_LOG_WARNING, "committed; %s", s->err.message);
			pgorm_error_clear(&s->err);
			rc = 0;
		}
	}
	for (size_t i = 0; i < pl->n; i++)
		pgorm_result_free(res[i]);
	pgorm__free(res);
	pgorm__free(stmts);
	return rc;
}

/* A committed (or in-doubt) INSERT whose generated keys did not come back (the connection lost
 * before its result, or the result lost to out of memory): its objects cannot be told apart
 * from rows of the table nor put in the identity map. They leave the session TRANSIENT, key
 * unset, as after a rollback; their rows may exist (do exist, when committed). Reported in the
 * session's error (pgorm_session_error_object: the first) and through the log hook. */
static void keys_unknown(pgorm_session *s, plan *pl)
{
	size_t n = 0;
	void *first = NULL;
	for (size_t i = 0; i < pl->n; i++) {
		planned *it = &pl->items[i];
		for (size_t k = 0; it->kind == K_INSERT && it->key_back && k < it->nobjs; k++) {
			pgorm__objstate *st = pgorm__st(it->objs[k]);
			if (st->flags & OBJ_PK_ASSIGNED)
				continue;
			st->state = PGORM_STATE_TRANSIENT;
			first = first ? first : it->objs[k];
			n++;
		}
	}
	if (n == 0)
		return;
	const char *table = ((pgorm_object *)first)->model->table;
	pgorm__session_log(s, PGORM_LOG_WARNING,
	                   "%zu new object(s) (first: %s) left TRANSIENT: their generated keys did not come back; "
	                   "their rows may exist", n, table);
	size_t len = strlen(s->err.message);
	if (s->err.code != 0 && len < sizeof s->err.message) { /* in doubt: the commit's error says it */
		snprintf(s->err.message + len, sizeof s->err.message - len, "; %zu new %s object(s) left TRANSIENT, keys unknown",
		         n, table);
		s->err_obj = first;
	}
}

static int finish(pgorm_session *s, plan *pl)
{
	keys_unknown(s, pl);
	for (size_t i = 0; i < pl->n; i++) {
		planned *it = &pl->items[i];
		for (size_t k = 0; k < it->nobjs; k++) {
			void *o = it->objs[k];
			pgorm__objstate *st = pgorm__st(o);
			if (it->kind == K_INSERT && st->state == PGORM_STATE_TRANSIENT)
				continue; /* keys_unknown */
			if (it->kind == K_INSERT) {
				st->state = PGORM_STATE_PERSISTENT;
				st->flags |= OBJ_NEW_IN_TX;
				if (!(st->flags & OBJ_IN_MAP) && pgorm__imap_put(&s->imap, it->mi, o) != 0)
					return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory in the identity map");
			} else if (it->kind == K_UPDATE || it->kind == K_POST_UPDATE) {
				st->flags2 |= OBJ2_UPDATED_IN_TX;
			}
			if (it->kind == K_UPDATE && it->mi->version_col >= 0) {
				const pgorm_column *vc = &it->mi->cols[it->mi->version_col];
				pgorm_value v;
				pgorm__get_col(o, vc, (size_t)it->mi->version_col, &v);
				int64_t nv = pgorm__value_int(&v) + 1;
				pgorm_value nvv = PGORM_INT8(nv);
				pgorm__set_col(NULL, o, vc, (size_t)it->mi->version_col, &nvv);
			} else if (it->kind == K_DELETE) {
				st->flags2 |= OBJ2_WAS_DELETED;
				pgorm__imap_del(&s->imap, it->mi, o);
				if (push_flushed_deleted(s, o) != 0)
					return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			}
		}
	}
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if (st->state == PGORM_STATE_PERSISTENT) {
			pgorm__snapshot(o, pgorm__session_info(s, o));
			st->link_dirty = 0;
		}
	}
	s->nm2m = 0;
	return 0;
}

/* Objects that hold a transient object in a collection or a one-to-one (2.0's rule: no
 * save-update cascade along a backref, so the transient one is not saved) are reported
 * through the log hook, as SQLAlchemy warns; the child → parent direction is reported by
 * sync_fks. */
static void report_skipped(pgorm_session *s)
{
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if (!(st->flags & OBJ_HOLDS_TRANSIENT))
			continue;
		st->flags &= (uint8_t)~OBJ_HOLDS_TRANSIENT;
		if (st->state != PGORM_STATE_PENDING && st->state != PGORM_STATE_PERSISTENT)
			continue;
		pgorm__model_info *mi = pgorm__session_info(s, o);
		for (size_t k = 0; k < mi->nrels; k++) {
			const pgorm_rel *r = mi->rels[k];
			if (r->kind == PGORM_REL_MANY_TO_ONE || (r->flags & PGORM_REL_VIEWONLY))
				continue;
			void *single;
			size_t n, skipped = 0;
			void **items = pgorm__rel_items(o, r, &single, &n);
			for (size_t j = 0; j < n; j++)
				skipped += pgorm__st(items[j])->state == PGORM_STATE_TRANSIENT;
			if (skipped > 0)
				pgorm__session_log(s, PGORM_LOG_WARNING,
				                   "%s.%s holds %zu %s object(s) not in the session: not saved (add them)",
				                   mi->model->table, r->name, skipped, r->target->model->table);
		}
	}
}

static char *render_plan(plan *pl)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	for (size_t i = 0; i < pl->n; i++)
		pgorm__sb_addf(&b, "%zu. %s\n   -- %s\n", i + 1, pl->items[i].stmt.sql ? pl->items[i].stmt.sql : "?",
		               pl->items[i].reason ? pl->items[i].reason : "");
	return pgorm__sb_take(&b);
}

/* States a dry run may change, to put back afterwards. */
static void save_states(pgorm_session *s, uint8_t *states, uint64_t *nulls, uint8_t *flags)
{
	for (size_t i = 0; i < s->ntracked; i++) {
		pgorm__objstate *st = pgorm__st(s->tracked[i]);
		states[i] = st->state;
		nulls[2 * i] = st->nulls;
		nulls[2 * i + 1] = st->dirty;
		flags[i] = st->flags;
	}
}

static void restore_states(pgorm_session *s, const uint8_t *states, const uint64_t *nulls, const uint8_t *flags, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pgorm__objstate *st = pgorm__st(s->tracked[i]);
		st->state = states[i];
		st->nulls = nulls[2 * i];
		st->dirty = nulls[2 * i + 1];
		st->flags = flags[i];
	}
}

int pgorm__flush(pgorm_session *s, bool dry, char **out)
{
	int trc = pgorm__session_thread_check(s, "pgorm_session_flush");
	if (trc != 0)
		return trc;
	if (s->needs_rollback)
		return pgorm__session_begin(s); /* reports the pending-rollback error */
	if (s->flushing)
		return 0;
	/* quick exit: nothing tracked can be dirty when nothing is tracked */
	if (s->ntracked == 0 && s->nm2m == 0) {
		if (dry && out)
			*out = pgorm__strdup("");
		return 0;
	}
	s->flushing = true;
	/* the writes made to the structs since the last look: every step below reads NULL and
	 * dirty bits, not the fields */
	for (size_t i = 0; i < s->ntracked; i++) {
		uint8_t state = pgorm__st(s->tracked[i])->state;
		if (state == PGORM_STATE_PENDING || state == PGORM_STATE_PERSISTENT)
			pgorm__observe(s->tracked[i], pgorm__session_info(s, s->tracked[i]));
	}
	if (!dry)
		report_skipped(s);
	plan pl;
	memset(&pl, 0, sizeof pl);
	pgorm__arena_init(&pl.arena);
	int rc = 0;
	pl.pu_cols = pgorm__calloc(s->reg->nmodels + 1, sizeof *pl.pu_cols);
	pl.uq_cols = pgorm__calloc(s->reg->nmodels + 1, sizeof *pl.uq_cols);
	if (pl.pu_cols == NULL || pl.uq_cols == NULL)
		rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	for (size_t m = 0; rc == 0 && m < s->reg->nmodels; m++) {
		pl.pu_cols[m] = post_update_cols(&s->reg->models[m]);
		pl.uq_cols[m] = unique_cols(&s->reg->models[m]);
	}
	uint8_t *states = NULL, *flags = NULL;
	uint64_t *nulls = NULL;
	size_t nsaved = 0;
	fk_undo fku = { 0 };
	if (dry) {
		nsaved = s->ntracked;
		states = pgorm__calloc(nsaved + 1, 1);
		flags = pgorm__calloc(nsaved + 1, 1);
		nulls = pgorm__calloc(2 * nsaved + 1, sizeof *nulls); /* NULL and dirty bits */
		if (!states || !flags || !nulls) {
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			nsaved = 0; /* nothing saved, nothing changed, nothing to restore */
		} else {
			save_states(s, states, nulls, flags);
		}
	}
	if (rc == 0)
		rc = resolve_cascades(s, dry, &pl);
	if (rc == 0)
		pl.keys_back = !keys_needed(s, &pl);
	if (rc == 0 && !dry && !pl.keys_back)
		rc = assign_keys(s);
	if (rc == 0)
		rc = sync_fks(s, dry ? &fku : NULL);
	if (rc == 0)
		rc = build_plan(s, &pl);
	if (dry) {
		fk_undo_apply(&fku);
		restore_states(s, states, nulls, flags, nsaved);
		if (rc == 0) {
			*out = render_plan(&pl);
			if (*out == NULL)
				rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		}
		pgorm__free(states);
		pgorm__free(flags);
		pgorm__free(nulls);
	} else if (rc == 0 && pl.n > 0) {
		rc = pgorm__session_begin(s);
		if (rc == 0)
			rc = execute(s, &pl);
		/* in doubt (a carried COMMIT may have committed): the objects as after a commit */
		if (rc == 0 || s->tx_in_doubt) {
			int frc = finish(s, &pl);
			rc = rc != 0 ? rc : frc;
		}
		if (rc != 0 && !s->tx_in_doubt)
			rc = fail_flush(s, rc);
		else if (rc == 0)
			s->stats.flushes++;
	} else if (rc == 0) {
		/* nothing to send (e.g. a link set to the parent it already had): the changes are
		 * settled all the same, else a stale link_dirty bit hides the child from the next
		 * load of its parent's collection */
		for (size_t i = 0; i < s->ntracked; i++)
			if (pgorm__st(s->tracked[i])->state == PGORM_STATE_PERSISTENT)
				pgorm__st(s->tracked[i])->link_dirty = 0;
		s->nm2m = 0;
	} else if (rc != 0 && s->in_tx) {
		rc = fail_flush(s, rc);
	}
	plan_free(&pl);
	s->flushing = false;
	return rc;
}
