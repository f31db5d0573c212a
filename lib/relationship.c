/* lib/relationship.c — relationship changes that keep both sides in sync at once, and the
 * save-update cascade.
 *
 * The link between a parent and a child of a one-to-many relationship is recorded on the
 * child: its many-to-one pointer (a struct field, or a header slot for backrefs and for the
 * hidden reverse side of one-directional relationships). The parent's collection mirrors
 * it; the invariant "child's link == parent ⇔ child is in parent's collection" lets appends
 * skip a search. A changed link sets a dirty bit; flush turns it into the FK value (or NULL,
 * or a DELETE for orphans). Many-to-many links live in both collections.
 */
#include "relationship.h"
#include "identity_map.h"
#include "internal.h"

#include <string.h>

void *pgorm__link_get(void *obj, const pgorm_rel *r)
{
	void *p;
	if (r->offset != PGORM_NO_FIELD)
		memcpy(&p, pgorm__field(obj, r->offset), sizeof p);
	else
		memcpy(&p, pgorm__slot(obj, r->owner, r->slot), sizeof p);
	return p;
}

void pgorm__link_put(void *obj, const pgorm_rel *r, void *target)
{
	if (r->offset != PGORM_NO_FIELD)
		memcpy(pgorm__field(obj, r->offset), &target, sizeof target);
	else
		memcpy(pgorm__slot(obj, r->owner, r->slot), &target, sizeof target);
}

pgorm_collection *pgorm__coll(void *obj, const pgorm_rel *r)
{
	if (r->offset != PGORM_NO_FIELD)
		return pgorm__field(obj, r->offset);
	return pgorm__slot(obj, r->owner, r->slot);
}

void **pgorm__rel_items(void *obj, const pgorm_rel *r, void **single, size_t *n)
{
	if (r->scalar) {
		*single = pgorm__link_get(obj, r);
		*n = *single != NULL;
		return single;
	}
	pgorm_collection *c = pgorm__coll(obj, r);
	if (!((pgorm__st(obj)->loaded >> r->index) & 1)) { /* unloaded: what was added meanwhile */
		*n = c->priv ? c->priv->nadded : 0;
		return c->priv ? c->priv->added : NULL;
	}
	*n = c->len;
	return c->items;
}

bool pgorm__coll_push(pgorm_session *s, pgorm_collection *c, void *item)
{
	if (c->len == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		/* arena memory: the old array is abandoned, which is the arena's contract */
		void **items = pgorm__arena_alloc(&s->arena, cap * sizeof *items);
		if (items == NULL)
			return false;
		if (c->len)
			memcpy(items, c->items, c->len * sizeof *items);
		c->items = items;
		c->cap = cap;
	}
	c->items[c->len++] = item;
	return true;
}

bool pgorm__coll_remove_item(pgorm_collection *c, void *item)
{
	for (size_t i = c->len; i-- > 0;) {
		if (c->items[i] == item) {
			memmove(&c->items[i], &c->items[i + 1], (c->len - i - 1) * sizeof *c->items);
			c->len--;
			return true;
		}
	}
	return false;
}

bool pgorm__coll_contains(const pgorm_collection *c, const void *item)
{
	for (size_t i = 0; i < c->len; i++)
		if (c->items[i] == item)
			return true;
	return false;
}

static bool is_loaded(const void *obj, const pgorm_rel *r)
{
	return (pgorm__st(obj)->loaded >> r->index) & 1;
}

bool pgorm_rel_is_loaded(const pgorm_rel *r, const void *obj)
{
	return r && obj && pgorm__st(obj) && ((const pgorm_object *)obj)->model == r->owner->model && is_loaded(obj, r);
}

/* Queue a change on an unloaded collection, to merge when it loads. */
static int queue_change(pgorm_session *s, pgorm_collection *c, void *item, bool add)
{
	if (c->priv == NULL) {
		c->priv = pgorm__arena_calloc(&s->arena, sizeof *c->priv);
		if (c->priv == NULL)
			return PGORM_ENOMEM;
	}
	pgorm__collstate *q = c->priv;
	void ***arr = add ? &q->added : &q->removed;
	size_t *n = add ? &q->nadded : &q->nremoved, *cap = add ? &q->capadded : &q->capremoved;
	/* an add cancels a queued remove of the same item and vice versa */
	void **other = add ? q->removed : q->added;
	size_t *nother = add ? &q->nremoved : &q->nadded;
	for (size_t i = 0; i < *nother; i++) {
		if (other[i] == item) {
			other[i] = other[--*nother];
			return 0;
		}
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		void **a = pgorm__arena_alloc(&s->arena, ncap * sizeof *a);
		if (a == NULL)
			return PGORM_ENOMEM;
		if (*n)
			memcpy(a, *arr, *n * sizeof *a);
		*arr = a;
		*cap = ncap;
	}
	(*arr)[(*n)++] = item;
	return 0;
}

/* Add / remove item in the collection r of obj, loaded or not. */
static int coll_add(pgorm_session *s, void *obj, const pgorm_rel *r, void *item)
{
	pgorm_collection *c = pgorm__coll(obj, r);
	if (!is_loaded(obj, r)) {
		/* items/len show only what was loaded (nothing while unloaded): queued for the load */
		int rc = queue_change(s, c, item, true);
		return rc != 0 ? pgorm__session_fail(s, rc, "out of memory") : 0;
	}
	if (r->kind == PGORM_REL_MANY_TO_MANY && pgorm__coll_contains(c, item))
		return 0;
	if (!pgorm__coll_push(s, c, item))
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory growing a collection");
	return 0;
}

static int coll_del(pgorm_session *s, void *obj, const pgorm_rel *r, void *item)
{
	pgorm_collection *c = pgorm__coll(obj, r);
	if (!is_loaded(obj, r)) {
		int rc = queue_change(s, c, item, false);
		if (rc != 0)
			return pgorm__session_fail(s, rc, "out of memory");
	}
	pgorm__coll_remove_item(c, item);
	return 0;
}

int pgorm__coll_merge_pending(pgorm_session *s, void *obj, const pgorm_rel *r)
{
	pgorm_collection *c = pgorm__coll(obj, r);
	pgorm__collstate *q = c->priv;
	if (q == NULL)
		return 0;
	for (size_t i = 0; i < q->nremoved; i++)
		pgorm__coll_remove_item(c, q->removed[i]);
	for (size_t i = 0; i < q->nadded; i++)
		if (!pgorm__coll_contains(c, q->added[i]) && !pgorm__coll_push(s, c, q->added[i]))
			return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	q->nadded = q->nremoved = 0;
	return 0;
}

/* The scalar (one-to-one) parent side holds a pointer instead of a collection. */
static void *scalar_get(void *obj, const pgorm_rel *r) { return pgorm__link_get(obj, r); }

static bool in_session(const void *obj)
{
	uint8_t st = pgorm__st(obj)->state;
	return st == PGORM_STATE_PENDING || st == PGORM_STATE_PERSISTENT;
}

bool pgorm__orphan_cascade(const pgorm_rel *m2o)
{
	return m2o->kind == PGORM_REL_MANY_TO_ONE && (m2o->partner->cascade & PGORM_CASCADE_DELETE_ORPHAN);
}

/* SQLAlchemy's save-update cascade refuses an object whose DELETE was flushed ("has been
 * deleted; use make_transient()"): linking one to an object in the session, along a
 * relationship that cascades save-update, is refused before anything changes. Through the
 * other side only when that side is loaded (SQLAlchemy queues a backref change to an unloaded
 * collection without cascading it). */
static int check_not_deleted(pgorm_session *s, const pgorm_rel *r, void *owner, void *target, const char *what)
{
	const pgorm_rel *p = r->partner;
	void *gone = NULL;
	if (target != NULL && in_session(owner) && (r->cascade & PGORM_CASCADE_SAVE_UPDATE) &&
	    (pgorm__st(target)->flags2 & OBJ2_WAS_DELETED))
		gone = target;
	else if (target != NULL && p != NULL && in_session(target) && (p->cascade & PGORM_CASCADE_SAVE_UPDATE) &&
	         is_loaded(target, p) && (pgorm__st(owner)->flags2 & OBJ2_WAS_DELETED))
		gone = owner;
	if (gone == NULL || (r->flags & PGORM_REL_VIEWONLY))
		return 0;
	return pgorm__session_fail(s, PGORM_ESTATE, "%s: the %s object has been deleted (its DELETE was flushed): it cannot be linked to an object in the session",
	                           what, ((pgorm_object *)gone)->model->table);
}

/* Set child's link. A pending child cut from its parent under delete-orphan leaves the
 * session at once, as SQLAlchemy expunges it: added again, it is a new object, not an
 * orphan to drop at the flush. An old parent that the child's own many-to-one orphans
 * (delete-orphan on the many-to-one, single_parent) is checked at the flush. */
static int mark_link(pgorm_session *s, void *child, const pgorm_rel *m2o, void *parent)
{
	void *old = pgorm__link_get(child, m2o);
	pgorm__link_put(child, m2o, parent);
	pgorm__objstate *st = pgorm__st(child);
	st->link_dirty |= 1ULL << m2o->index;
	st->loaded |= 1ULL << m2o->index;
	st->flags2 &= (uint8_t)~OBJ2_NO_ORPHAN;
	if (old != NULL && old != parent && (m2o->cascade & PGORM_CASCADE_DELETE_ORPHAN))
		pgorm__st(old)->flags |= OBJ_ORPHAN;
	if (parent == NULL && st->state == PGORM_STATE_PENDING && pgorm__orphan_cascade(m2o)) {
		st->link_dirty &= ~(1ULL << m2o->index);
		return pgorm__expunge(s, child);
	}
	return 0;
}

/* Core of every one-to-many change: attach child to parent (NULL detaches). o2m is the
 * parent-side relationship; its partner is the child's many-to-one. */
static int relink(pgorm_session *s, const pgorm_rel *o2m, void *parent, void *child)
{
	const pgorm_rel *m2o = o2m->partner;
	void *old = pgorm__link_get(child, m2o);
	if (old == parent && is_loaded(child, m2o) && parent != NULL)
		return 0;
	if (old != NULL && old != parent) {
		if (o2m->scalar) {
			if (scalar_get(old, o2m) == child)
				pgorm__link_put(old, o2m, NULL);
		} else {
			int rc = coll_del(s, old, o2m, child);
			if (rc != 0)
				return rc;
		}
	}
	if (parent != NULL && o2m->scalar) {
		/* one-to-one: the parent's previous child loses its link (nulled or orphaned) */
		void *prev = scalar_get(parent, o2m);
		if (prev != NULL && prev != child) {
			int rc = mark_link(s, prev, m2o, NULL);
			if (rc != 0)
				return rc;
		}
		if (!is_loaded(parent, o2m)) /* the previous child is unknown: flush loads it */
			pgorm__st(parent)->link_dirty |= 1ULL << o2m->index;
		pgorm__link_put(parent, o2m, child);
		pgorm__st(parent)->loaded |= 1ULL << o2m->index;
	} else if (parent != NULL && old != parent) {
		int rc = coll_add(s, parent, o2m, child);
		if (rc != 0)
			return rc;
	}
	return mark_link(s, child, m2o, parent);
}

/* After a change that linked a transient object to one in the session without pulling it in
 * (2.0: no save-update along a backref): the flush reports it (report_skipped). */
static void note_transient(void *holder, void *other)
{
	if (holder != NULL && other != NULL && in_session(holder) && pgorm__st(other)->state == PGORM_STATE_TRANSIENT)
		pgorm__st(holder)->flags |= OBJ_HOLDS_TRANSIENT;
}

static int check_pair(pgorm_session *s, const pgorm_rel *r, void *a, void *b, const char *what)
{
	if (r == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s: relationship is NULL", what);
	int rc = pgorm__session_check_obj(s, a, what);
	if (rc == 0 && b != NULL)
		rc = pgorm__session_check_obj(s, b, what);
	if (rc != 0)
		return rc;
	if (((pgorm_object *)a)->model != r->owner->model)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s: %s.%s used on a %s object", what,
		                           r->owner->model->table, r->name, ((pgorm_object *)a)->model->table);
	if (b != NULL && ((pgorm_object *)b)->model != r->target->model)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s: %s.%s expects a %s object, got %s", what,
		                           r->owner->model->table, r->name, r->target->model->table,
		                           ((pgorm_object *)b)->model->table);
	return 0;
}

/* Many-to-many: both collections change now; the association row change is recorded for
 * flush (an add after a remove of the same pair cancels out there). */
int pgorm__m2m_record(pgorm_session *s, const pgorm_rel *r, void *a, void *b, bool add)
{
	int rc = add ? coll_add(s, a, r, b) : coll_del(s, a, r, b);
	if (rc == 0)
		rc = add ? coll_add(s, b, r->partner, a) : coll_del(s, b, r->partner, a);
	if (rc != 0)
		return rc;

	if (s->nm2m == s->capm2m) {
		size_t cap = s->capm2m ? s->capm2m * 2 : 16;
		pgorm__m2m_op *ops = pgorm__reallocarray(s->m2m_ops, cap, sizeof *ops);
		if (ops == NULL)
			return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		s->m2m_ops = ops;
		s->capm2m = cap;
	}
	s->m2m_ops[s->nm2m++] = (pgorm__m2m_op){ r, a, b, add };
	return 0;
}

/* Whether v is attached through r to an object other than obj (what is in memory, as
 * SQLAlchemy's hasparent without optimism). */
static bool has_other_parent(const pgorm_rel *r, void *obj, void *v)
{
	const pgorm_rel *p = r->partner;
	if (p->scalar) {
		void *cur = pgorm__link_get(v, p);
		return cur != NULL && cur != obj;
	}
	void *single;
	size_t n;
	void **items = pgorm__rel_items(v, p, &single, &n);
	for (size_t i = 0; i < n; i++)
		if (items[i] != obj)
			return true;
	return false;
}

/* single_parent: v may be attached through r to one object at a time. Checked before any
 * change, so a refused call has no effect. */
static int check_single_parent(pgorm_session *s, const pgorm_rel *r, void *obj, void *v, const char *what)
{
	if (!(r->flags & PGORM_REL_SINGLE_PARENT) || v == NULL || !has_other_parent(r, obj, v))
		return 0;
	return pgorm__session_fail(s, PGORM_EINVAL,
	                           "%s: the %s object is already attached through %s.%s, which is single_parent",
	                           what, r->target->model->table, r->owner->model->table, r->name);
}

int pgorm_rel_append(pgorm_session *s, const pgorm_rel *r, void *parent, void *child)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = check_pair(s, r, parent, child, "pgorm_rel_append");
	if (rc != 0)
		return rc;
	if (child == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_append: child is NULL");
	if (r->scalar && r->kind != PGORM_REL_ONE_TO_MANY)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_append: %s.%s is not a collection (use pgorm_rel_set)",
		                           r->owner->model->table, r->name);
	if ((rc = check_single_parent(s, r, parent, child, "pgorm_rel_append")) != 0 ||
	    (rc = check_not_deleted(s, r, parent, child, "pgorm_rel_append")) != 0)
		return rc;
	if (r->kind == PGORM_REL_MANY_TO_MANY)
		rc = pgorm__m2m_record(s, r, parent, child, true);
	else
		rc = relink(s, r, parent, child);
	if (rc != 0)
		return rc;
	/* appending to a collection of an object in the session pulls the child in */
	if (in_session(parent) && (r->cascade & PGORM_CASCADE_SAVE_UPDATE) && !in_session(child) &&
	    pgorm__st(child)->state == PGORM_STATE_TRANSIENT) {
		if ((rc = pgorm__make_pending(s, child)) == 0)
			rc = pgorm__cascade_add(s, child);
	}
	note_transient(parent, child);
	if (r->kind == PGORM_REL_MANY_TO_MANY)
		note_transient(child, parent);
	return rc;
}

int pgorm_rel_remove(pgorm_session *s, const pgorm_rel *r, void *parent, void *child)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = check_pair(s, r, parent, child, "pgorm_rel_remove");
	if (rc != 0)
		return rc;
	if (child == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_remove: child is NULL");
	if (r->kind == PGORM_REL_MANY_TO_MANY)
		return pgorm__m2m_record(s, r, parent, child, false);
	if (r->kind != PGORM_REL_ONE_TO_MANY)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_remove: %s.%s is not one-to-many",
		                           r->owner->model->table, r->name);
	const pgorm_rel *m2o = r->partner;
	void *cur = pgorm__link_get(child, m2o);
	bool member = r->scalar ? scalar_get(parent, r) == child : pgorm__coll_contains(pgorm__coll(parent, r), child);
	if ((cur != NULL && cur != parent) || (cur == NULL && !member && is_loaded(parent, r)))
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_remove: the %s object is not in this %s.%s",
		                           r->target->model->table, r->owner->model->table, r->name);
	if (r->scalar) {
		if (scalar_get(parent, r) == child)
			pgorm__link_put(parent, r, NULL);
	} else if ((rc = coll_del(s, parent, r, child)) != 0) {
		return rc;
	}
	return mark_link(s, child, m2o, NULL);
}

int pgorm_rel_set(pgorm_session *s, const pgorm_rel *r, void *obj, void *target)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = check_pair(s, r, obj, target, "pgorm_rel_set");
	if (rc != 0)
		return rc;
	if (!r->scalar)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_set: %s.%s is a collection (use pgorm_rel_append)",
		                           r->owner->model->table, r->name);
	if (target != pgorm__link_get(obj, r) && ((rc = check_single_parent(s, r, obj, target, "pgorm_rel_set")) != 0 ||
	                                          (rc = check_not_deleted(s, r, obj, target, "pgorm_rel_set")) != 0))
		return rc;
	if (r->kind == PGORM_REL_MANY_TO_ONE) {
		/* Set while unloaded (expired), the previous parent in memory may be stale. As in
		 * SQLAlchemy, which does not load it, the object does not become an orphan of it; a
		 * delete-orphan on this many-to-one (SQLAlchemy loads the previous value there) orphans
		 * the parent its row names, so none when the foreign key is NULL. The link in memory is
		 * still cut, to keep both sides consistent. */
		void *prev = pgorm__link_get(obj, r);
		bool known = is_loaded(obj, r) || prev == NULL;
		bool prev_orphan = prev != NULL && (pgorm__st(prev)->flags & OBJ_ORPHAN);
		bool fk_was_null = (pgorm__st(obj)->nulls & pgorm__fk_mask(r)) != 0;
		/* many-to-one save-update: the child in the session pulls its parent in; a deleted
		 * child too, as it is in SQLAlchemy's session until the transaction ends. First, as
		 * SQLAlchemy's cascade runs before its backref: the cascade does not reach the child. */
		uint8_t ost = pgorm__st(obj)->state;
		if (target && (in_session(obj) || ost == PGORM_STATE_DELETED) && (r->cascade & PGORM_CASCADE_SAVE_UPDATE) &&
		    pgorm__st(target)->state == PGORM_STATE_TRANSIENT) {
			if ((rc = pgorm__make_pending(s, target)) == 0)
				rc = pgorm__cascade_add(s, target);
			if (rc != 0)
				return rc;
		}
		if (target != NULL) {
			rc = relink(s, r->partner, target, obj);
		} else {
			void *old = pgorm__link_get(obj, r);
			if (old != NULL) {
				rc = relink(s, r->partner, NULL, obj);
			} else {
				/* no parent known in memory: the FK becomes NULL, but the object was not
				 * detached from a parent, so it is no orphan (SQLAlchemy: has_parent is
				 * optimistic for persistent objects) */
				pgorm__link_put(obj, r, NULL);
				pgorm__st(obj)->loaded |= 1ULL << r->index;
				pgorm__fk_set_null(obj, r);
			}
		}
		if (rc == 0 && !known) {
			if (!prev_orphan && prev != target && fk_was_null)
				pgorm__st(prev)->flags &= (uint8_t)~OBJ_ORPHAN;
			if (target == NULL)
				pgorm__st(obj)->flags2 |= OBJ2_NO_ORPHAN;
		}
		note_transient(target, obj); /* the parent's collection holds a transient child */
		return rc;
	}
	/* one-to-one from the parent side */
	void *prev = scalar_get(obj, r);
	if (target == NULL) {
		if (!is_loaded(obj, r)) { /* the previous child is unknown: flush loads it */
			pgorm__st(obj)->link_dirty |= 1ULL << r->index;
			pgorm__st(obj)->loaded |= 1ULL << r->index;
		}
		if (prev != NULL) {
			pgorm__link_put(obj, r, NULL);
			return mark_link(s, prev, r->partner, NULL);
		}
		return 0;
	}
	rc = relink(s, r, obj, target);
	if (rc == 0 && in_session(obj) && (r->cascade & PGORM_CASCADE_SAVE_UPDATE) &&
	    pgorm__st(target)->state == PGORM_STATE_TRANSIENT) {
		if ((rc = pgorm__make_pending(s, target)) == 0)
			rc = pgorm__cascade_add(s, target);
	}
	note_transient(obj, target);
	return rc;
}

int pgorm_rel_get(pgorm_session *s, const pgorm_rel *r, void *obj, void **out)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = check_pair(s, r, obj, NULL, "pgorm_rel_get");
	if (rc != 0)
		return rc;
	if (!r->scalar)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_get: %s.%s is a collection", r->owner->model->table, r->name);
	if (out)
		*out = pgorm__link_get(obj, r);
	return 0;
}

pgorm_collection *pgorm_rel_collection(pgorm_session *s, const pgorm_rel *r, void *obj)
{
	if (s == NULL || check_pair(s, r, obj, NULL, "pgorm_rel_collection") != 0)
		return NULL;
	if (r->scalar) {
		pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_collection: %s.%s is not a collection",
		                    r->owner->model->table, r->name);
		return NULL;
	}
	return pgorm__coll(obj, r);
}

int pgorm_rel_append_by_name(pgorm_session *s, const char *rel, void *parent, void *child)
{
	if (s == NULL || parent == NULL || rel == NULL)
		return s ? pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_append_by_name: NULL argument") : PGORM_EINVAL;
	const pgorm_rel *r = pgorm_registry_rel(s->reg, ((pgorm_object *)parent)->model, rel);
	if (r == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s has no relationship %s", ((pgorm_object *)parent)->model->table, rel);
	return pgorm_rel_append(s, r, parent, child);
}

int pgorm_rel_set_by_name(pgorm_session *s, const char *rel, void *obj, void *target)
{
	if (s == NULL || obj == NULL || rel == NULL)
		return s ? pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_set_by_name: NULL argument") : PGORM_EINVAL;
	const pgorm_rel *r = pgorm_registry_rel(s->reg, ((pgorm_object *)obj)->model, rel);
	if (r == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s has no relationship %s", ((pgorm_object *)obj)->model->table, rel);
	return pgorm_rel_set(s, r, obj, target);
}

/* ---- save-update cascade ---- */

int pgorm__make_pending(pgorm_session *s, void *obj)
{
	pgorm__objstate *st = pgorm__st(obj);
	if (st->state != PGORM_STATE_TRANSIENT)
		return 0;
	int rc = pgorm__session_track(s, obj);
	if (rc != 0)
		return rc;
	st->state = PGORM_STATE_PENDING;
	/* Cut from a parent under delete-orphan while transient, it is no orphan once added: it is
	 * inserted with no parent (SQLAlchemy's add clears _orphaned_outside_of_session). */
	const pgorm__model_info *mi = pgorm__session_info(s, obj);
	for (size_t i = 0; i < mi->nrels && i < 32; i++)
		if (pgorm__orphan_cascade(mi->rels[i]) && pgorm__link_get(obj, mi->rels[i]) == NULL)
			st->link_dirty &= ~(1u << i);
	st->flags &= (uint8_t)~OBJ_ORPHAN; /* the same for a parent cut loose by a many-to-one delete-orphan */
	return 0;
}

int pgorm__cascade_add(pgorm_session *s, void *obj)
{
	/* iterative depth-first walk: an explicit stack, no recursion depth limit */
	size_t cap = 64, n = 0;
	void **stack = pgorm__malloc(cap * sizeof *stack);
	if (stack == NULL)
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	stack[n++] = obj;
	int rc = 0;
	while (n > 0 && rc == 0) {
		void *o = stack[--n];
		pgorm__model_info *mi = pgorm__session_info(s, o);
		for (size_t i = 0; i < mi->nrels && rc == 0; i++) {
			const pgorm_rel *r = mi->rels[i];
			if (!(r->cascade & PGORM_CASCADE_SAVE_UPDATE) || (r->flags & PGORM_REL_VIEWONLY))
				continue;
			void *single;
			size_t cnt;
			void **items = pgorm__rel_items(o, r, &single, &cnt);
			for (size_t k = 0; k < cnt && rc == 0; k++) {
				void *t = items[k];
				if (pgorm__st(t)->flags2 & OBJ2_WAS_DELETED) {
					rc = pgorm__session_fail(s, PGORM_ESTATE, "save-update cascade from %s.%s reaches a %s object that has been deleted (its DELETE was flushed)",
					                         mi->model->table, r->name, r->target->model->table);
					break;
				}
				uint8_t ts = pgorm__st(t)->state;
				/* detached objects (and transient ones of another memory) come along: adopted */
				if (ts == PGORM_STATE_DETACHED || (ts == PGORM_STATE_TRANSIENT && pgorm__obj_session(t) == NULL)) {
					if ((rc = pgorm__adopt(s, t, "save-update cascade")) != 0)
						break;
				} else if (ts != PGORM_STATE_TRANSIENT) {
					continue;
				} else if (pgorm__obj_session(t) != s) {
					rc = pgorm__session_fail(s, PGORM_EINVAL, "cascade from %s.%s reaches an object of another session",
					                         mi->model->table, r->name);
					break;
				}
				if (ts == PGORM_STATE_TRANSIENT && (rc = pgorm__make_pending(s, t)) != 0)
					break;
				if (n == cap) {
					void **ns = pgorm__reallocarray(stack, cap * 2, sizeof *ns);
					if (ns == NULL) {
						rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
						break;
					}
					stack = ns;
					cap *= 2;
				}
				stack[n++] = t;
			}
		}
	}
	pgorm__free(stack);
	return rc;
}

/* ---- cascade walks: expunge, refresh-expire ---- */

void pgorm__detach(pgorm_session *s, void *obj)
{
	pgorm__objstate *st = pgorm__st(obj);
	pgorm__imap_del(&s->imap, pgorm__session_info(s, obj), obj);
	st->state = PGORM_STATE_DETACHED;
}

/* obj, then every object reachable from it along relationships carrying the cascade bit
 * (what is in memory: loaded collections, queued additions, loaded to-one links; an expired
 * object's to-one link may be stale, SQLAlchemy follows what is loaded), each once, in
 * breadth-first order: no recursion, whatever the depth or the cycles. Objects of another
 * state than the ones kept by `keep` stop the walk. */
int pgorm__cascade_reach(pgorm_session *s, void *obj, unsigned bit, bool (*keep)(const void *), pgorm__objlist *out)
{
	out->n = 0;
	if (!pgorm__objlist_push(out, obj))
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	pgorm__st(obj)->flags2 |= OBJ2_SEEN;
	int rc = 0;
	for (size_t i = 0; i < out->n && rc == 0; i++) {
		void *o = out->items[i];
		pgorm__model_info *mi = pgorm__session_info(s, o);
		for (size_t k = 0; k < mi->nrels && rc == 0; k++) {
			const pgorm_rel *r = mi->rels[k];
			if (!(r->cascade & bit) || (r->scalar && !is_loaded(o, r)))
				continue;
			void *single;
			size_t cnt;
			void **items = pgorm__rel_items(o, r, &single, &cnt);
			for (size_t j = 0; j < cnt && rc == 0; j++) {
				pgorm__objstate *ist = pgorm__st(items[j]);
				if ((ist->flags2 & OBJ2_SEEN) || !keep(items[j]))
					continue;
				if (!pgorm__objlist_push(out, items[j]))
					rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
				else
					ist->flags2 |= OBJ2_SEEN;
			}
		}
	}
	for (size_t i = 0; i < out->n; i++)
		pgorm__st(out->items[i])->flags2 &= (uint8_t)~OBJ2_SEEN;
	return rc;
}

bool pgorm__not_detached(const void *o) { return pgorm__st(o)->state != PGORM_STATE_DETACHED; }

bool pgorm__is_persistent(const void *o) { return pgorm__st(o)->state == PGORM_STATE_PERSISTENT; }

int pgorm__expunge(pgorm_session *s, void *obj)
{
	pgorm__objlist all = { 0 };
	int rc = pgorm__cascade_reach(s, obj, PGORM_CASCADE_EXPUNGE, pgorm__not_detached, &all);
	for (size_t i = 0; i < all.n && rc == 0; i++) {
		void *o = all.items[i];
		pgorm__objstate *st = pgorm__st(o);
		if (st->state == PGORM_STATE_PENDING || st->state == PGORM_STATE_TRANSIENT)
			st->state = PGORM_STATE_TRANSIENT;
		else
			pgorm__detach(s, o);
	}
	pgorm__free(all.items);
	return rc;
}

/* ---- commit-time cleanup ---- */

/* Remove item from a collection, and from the changes queued on it while unloaded (a
 * queued add of a deleted object would bring it back when the collection loads). */
static void coll_forget(pgorm_collection *c, void *item)
{
	pgorm__coll_remove_item(c, item);
	pgorm__collstate *q = c->priv;
	if (q == NULL)
		return;
	for (size_t i = q->nadded; i-- > 0;)
		if (q->added[i] == item)
			q->added[i] = q->added[--q->nadded];
}

void pgorm__unlink_everywhere(pgorm_session *s, void *obj)
{
	pgorm__model_info *mi = pgorm__session_info(s, obj);
	for (size_t i = 0; i < mi->nrels; i++) {
		const pgorm_rel *r = mi->rels[i];
		const pgorm_rel *p = r->partner;
		if (r->scalar) {
			void *t = pgorm__link_get(obj, r);
			if (t == NULL)
				continue;
			if (p->scalar) {
				if (pgorm__link_get(t, p) == obj)
					pgorm__link_put(t, p, NULL);
			} else {
				coll_forget(pgorm__coll(t, p), obj);
			}
		} else {
			pgorm_collection *c = pgorm__coll(obj, r);
			for (size_t k = 0; k < c->len; k++) {
				void *t = c->items[k];
				if (p->scalar) {
					if (pgorm__link_get(t, p) == obj)
						pgorm__link_put(t, p, NULL);
				} else {
					coll_forget(pgorm__coll(t, p), obj);
				}
			}
		}
	}
}
