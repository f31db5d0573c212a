/* lib/relationship.c — relationship changes that keep both sides in sync at once, and the
 * save-update cascade.
 *
 * The link between a parent and a child of a one-to-many relationship is recorded on the
 * child: its many-to-one pointer (a struct field, or a header slot for backrefs and for the
 * hidden reverse side of one-directional relationships). The parent's collection mirrors
 * it; the invariant "child's link == parent ⇔ child is in parent's collection" lets appends
 * skip a search. A changed link sets a dirty bit; flush turns it into the FK value (or NULL,
 * or a DELETE for orphans). Many-to-many links live in both collections.
 *
 * Objects in no session (detached, or transient in a closed session's memory) can be changed
 * too, through any session (session.h): the changes are recorded on the objects as in a
 * session, their memories are joined (pgorm__graph_link), and what a later add needs that the
 * objects cannot hold (association changes, what left a detached object's relationship) is
 * recorded in their graph (pgorm__graph_record); the save-update cascade of the add follows it.
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

static bool coll_push_in(pgorm__arena *arena, pgorm_collection *c, void *item)
{
	if (c->len == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		/* arena memory: the old array is abandoned, which is the arena's contract */
		void **items = pgorm__arena_alloc(arena, cap * sizeof *items);
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

bool pgorm__coll_push(pgorm_session *s, pgorm_collection *c, void *item)
{
	return coll_push_in(&s->arena, c, item);
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

/* Queue a change on an unloaded collection, to merge when it loads (in the owner's memory:
 * it may be in no session). */
static int queue_change(pgorm__arena *arena, pgorm_collection *c, void *item, bool add)
{
	if (c->priv == NULL) {
		c->priv = pgorm__arena_calloc(arena, sizeof *c->priv);
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
		void **a = pgorm__arena_alloc(arena, ncap * sizeof *a);
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
		int rc = queue_change(pgorm__obj_arena(obj), c, item, true);
		return rc != 0 ? pgorm__session_fail(s, rc, "out of memory") : 0;
	}
	if (r->kind == PGORM_REL_MANY_TO_MANY && pgorm__coll_contains(c, item))
		return 0;
	if (!coll_push_in(pgorm__obj_arena(obj), c, item))
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory growing a collection");
	return 0;
}

static int coll_del(pgorm_session *s, void *obj, const pgorm_rel *r, void *item)
{
	pgorm_collection *c = pgorm__coll(obj, r);
	if (!is_loaded(obj, r)) {
		int rc = queue_change(pgorm__obj_arena(obj), c, item, false);
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

/* b left a's loaded relationship r while a was detached: recorded in their graph, so that
 * adding a cascades save-update to b as well (SQLAlchemy's cascade follows the loaded
 * attribute's history; an unloaded one has none). */
static int note_lost(pgorm_session *s, const pgorm_rel *r, void *a, void *b)
{
	if (a == NULL || b == NULL || pgorm__st(a)->state != PGORM_STATE_DETACHED || (r->flags & PGORM_REL_VIEWONLY) ||
	    !is_loaded(a, r))
		return 0;
	pgorm__m2m_op op = { r, a, b, false };
	return pgorm__graph_record(&op) != 0 ? pgorm__session_fail(s, PGORM_ENOMEM, "out of memory") : 0;
}

bool pgorm__orphan_cascade(const pgorm_rel *m2o)
{
	return m2o->kind == PGORM_REL_MANY_TO_ONE && (m2o->partner->cascade & PGORM_CASCADE_DELETE_ORPHAN);
}

/* SQLAlchemy's save-update cascade refuses an object whose DELETE was flushed ("has been
 * deleted; use make_transient()"): linking one as the target of a relationship that cascades
 * save-update, from an object in the session, is refused before anything changes. Only the
 * relationship the call names cascades (2.0: none along the backref), so a deleted owner may
 * still point at an object in the session: deleted_child.parent = p is accepted even with
 * p.children loaded (differential seed 379). */
static int check_not_deleted(pgorm_session *s, const pgorm_rel *r, void *owner, void *target, const char *what)
{
	if (target == NULL || !in_session(owner) || !(r->cascade & PGORM_CASCADE_SAVE_UPDATE) ||
	    (r->flags & PGORM_REL_VIEWONLY) || !(pgorm__st(target)->flags2 & OBJ2_WAS_DELETED))
		return 0;
	return pgorm__session_fail(s, PGORM_ESTATE, "%s: the %s object has been deleted (its DELETE was flushed): it cannot be linked to an object in the session",
	                           what, ((pgorm_object *)target)->model->table);
}

/* Set child's link. A pending child cut from its parent under delete-orphan leaves the
 * session at once, as SQLAlchemy expunges it: added again, it is a new object, not an
 * orphan to drop at the flush. An old parent that the child's own many-to-one orphans
 * (delete-orphan on the many-to-one, single_parent) is checked at the flush. */
static int mark_link(pgorm_session *s, void *child, const pgorm_rel *m2o, void *parent)
{
	void *old = pgorm__link_get(child, m2o);
	if (old != parent) {
		int rc = note_lost(s, m2o, child, old);
		if (rc != 0)
			return rc;
	}
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
		int rc = note_lost(s, o2m, old, child);
		if (rc != 0)
			return rc;
		if (o2m->scalar) {
			if (scalar_get(old, o2m) == child)
				pgorm__link_put(old, o2m, NULL);
		} else if ((rc = coll_del(s, old, o2m, child)) != 0) {
			return rc;
		}
	}
	if (parent != NULL && o2m->scalar) {
		/* one-to-one: the parent's previous child loses its link (nulled or orphaned) */
		void *prev = scalar_get(parent, o2m);
		if (prev != NULL && prev != child) {
			int rc = note_lost(s, o2m, parent, prev);
			if (rc == 0)
				rc = mark_link(s, prev, m2o, NULL);
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
	int rc = pgorm__session_check_usable(s, a, what);
	if (rc == 0 && b != NULL)
		rc = pgorm__session_check_usable(s, b, what);
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

/* o is s's and not detached: an association change between two such objects is s's to flush. */
static bool held_by(const pgorm_session *s, const void *o)
{
	return pgorm__obj_session(o) == s && pgorm__st(o)->state != PGORM_STATE_DETACHED;
}

static int push_m2m(pgorm_session *s, const pgorm__m2m_op *op)
{
	if (s->nm2m == s->capm2m) {
		size_t cap = s->capm2m ? s->capm2m * 2 : 16;
		pgorm__m2m_op *ops = pgorm__reallocarray(s->m2m_ops, cap, sizeof *ops);
		if (ops == NULL)
			return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		s->m2m_ops = ops;
		s->capm2m = cap;
	}
	s->m2m_ops[s->nm2m++] = *op;
	return 0;
}

/* SQLAlchemy's DetachedInstanceError: a relationship of a detached object that is not loaded
 * cannot be loaded, so it cannot be changed either. */
static int check_loaded_if_detached(pgorm_session *s, const pgorm_rel *r, void *obj, const char *what)
{
	if (pgorm__st(obj)->state != PGORM_STATE_DETACHED || is_loaded(obj, r))
		return 0;
	return pgorm__session_fail(s, PGORM_ESTATE,
	                           "%s: %s.%s is not loaded and the %s object is detached (in no session): "
	                           "pgorm_session_add or pgorm_session_merge it first",
	                           what, r->owner->model->table, r->name, r->owner->model->table);
}

/* Many-to-many: both collections change now; the association row change is recorded for
 * flush (an add after a remove of the same pair cancels out there): by s when s holds both
 * objects, else in their graph until a session does (pgorm__graph_record). */
int pgorm__m2m_record(pgorm_session *s, const pgorm_rel *r, void *a, void *b, bool add)
{
	int rc = add ? coll_add(s, a, r, b) : coll_del(s, a, r, b);
	if (rc == 0)
		rc = add ? coll_add(s, b, r->partner, a) : coll_del(s, b, r->partner, a);
	if (rc != 0)
		return rc;
	pgorm__m2m_op op = { r, a, b, add };
	if (!held_by(s, a) || !held_by(s, b))
		return pgorm__graph_record(&op) != 0 ? pgorm__session_fail(s, PGORM_ENOMEM, "out of memory") : 0;
	return push_m2m(s, &op);
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

static int cascade_collect(pgorm_session *s, void *obj, bool self, const char *what, pgorm__objlist *out);
static int cascade_apply(pgorm_session *s, const pgorm__objlist *l, const char *what);

/* Whether linking target to owner through r pulls target into owner's session (save-update
 * from an object in the session to one in none). A deleted child setting its many-to-one too:
 * it is in SQLAlchemy's session until the transaction ends (the cascade is collected before
 * the link, as SQLAlchemy's runs before its backref, so it does not reach the child). */
static bool pulls_in(const pgorm_rel *r, void *owner, void *target)
{
	bool attached = in_session(owner) ||
	                (r->kind == PGORM_REL_MANY_TO_ONE && pgorm__st(owner)->state == PGORM_STATE_DELETED);
	if (target == NULL || !attached || !(r->cascade & PGORM_CASCADE_SAVE_UPDATE))
		return false;
	uint8_t ts = pgorm__st(target)->state;
	return ts == PGORM_STATE_TRANSIENT || ts == PGORM_STATE_DETACHED;
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
	    (rc = check_not_deleted(s, r, parent, child, "pgorm_rel_append")) != 0 ||
	    (rc = check_loaded_if_detached(s, r, parent, "pgorm_rel_append")) != 0)
		return rc;
	/* appending to a collection of an object in the session pulls the child in (checked first) */
	pgorm__objlist pull = { 0 };
	bool pulls = pulls_in(r, parent, child);
	if (pulls && (rc = cascade_collect(s, child, true, "pgorm_rel_append", &pull)) != 0) {
		pgorm__free(pull.items);
		return rc;
	}
	pgorm__graph_link(parent, child);
	if (r->kind == PGORM_REL_MANY_TO_MANY)
		rc = pgorm__m2m_record(s, r, parent, child, true);
	else
		rc = relink(s, r, parent, child);
	if (rc == 0 && pulls)
		rc = cascade_apply(s, &pull, "pgorm_rel_append");
	pgorm__free(pull.items);
	if (rc != 0)
		return rc;
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
	if ((rc = check_loaded_if_detached(s, r, parent, "pgorm_rel_remove")) != 0)
		return rc;
	pgorm__graph_link(parent, child);
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
	if ((rc = note_lost(s, r, parent, child)) != 0)
		return rc;
	if (r->scalar) {
		if (scalar_get(parent, r) == child)
			pgorm__link_put(parent, r, NULL);
	} else if ((rc = coll_del(s, parent, r, child)) != 0) {
		return rc;
	}
	return mark_link(s, child, m2o, NULL);
}

/* The change of pgorm_rel_set, checked already. */
static int set_link(pgorm_session *s, const pgorm_rel *r, void *obj, void *target)
{
	int rc = 0;
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
			if ((rc = note_lost(s, r, obj, prev)) != 0)
				return rc;
			pgorm__link_put(obj, r, NULL);
			return mark_link(s, prev, r->partner, NULL);
		}
		return 0;
	}
	return relink(s, r, obj, target);
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
	/* set while unloaded, also on a detached object (SQLAlchemy's set does not load either): a
	 * many-to-one needs no previous value; a one-to-one parent side's previous child is loaded
	 * by the flush of the session that adopts it (link_dirty) */
	/* save-update: the object in the session pulls the target in (the child its parent, the
	 * one-to-one parent its child), checked first */
	pgorm__objlist pull = { 0 };
	bool pulls = pulls_in(r, obj, target);
	if (pulls && (rc = cascade_collect(s, target, true, "pgorm_rel_set", &pull)) != 0) {
		pgorm__free(pull.items);
		return rc;
	}
	pgorm__graph_link(obj, target);
	rc = set_link(s, r, obj, target);
	if (rc == 0 && pulls)
		rc = cascade_apply(s, &pull, "pgorm_rel_set");
	pgorm__free(pull.items);
	if (rc == 0 && r->kind == PGORM_REL_MANY_TO_ONE)
		note_transient(target, obj); /* the parent's collection holds a transient child */
	else if (rc == 0)
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

/* obj is attached to s: the save-update cascade stops there (SQLAlchemy's halt_on). */
static bool attached_to(const pgorm_session *s, const void *obj)
{
	const pgorm__objstate *st = pgorm__st(obj);
	return st->session == s && st->state != PGORM_STATE_TRANSIENT && st->state != PGORM_STATE_DETACHED;
}

/* Whether s can take t in (adopt it or make it pending), checked before anything changes.
 * via: the relationship whose cascade reached t, NULL for the object added itself. */
static int check_adoptable(pgorm_session *s, void *t, const char *what, const pgorm_rel *via)
{
	const pgorm_object *h = t;
	pgorm__objstate *st = pgorm__st(t);
	pgorm__model_info *mi = pgorm__registry_info(s->reg, h->model);
	pgorm_session *owner = pgorm__obj_session(t);
	int code = 0;
	const char *why = NULL;
	if (mi == NULL)
		code = PGORM_EINVAL, why = "is of a model that is not in this session's registry";
	else if (st->flags2 & OBJ2_WAS_DELETED) /* SQLAlchemy: "has been deleted; use make_transient()" */
		code = PGORM_ESTATE, why = "has been deleted (its DELETE was flushed)";
	else if (st->state == PGORM_STATE_TRANSIENT && owner != NULL && owner != s)
		code = PGORM_EINVAL, why = "is transient in another session, which is still open";
	else if (st->state != PGORM_STATE_TRANSIENT && st->state != PGORM_STATE_DETACHED) /* SQLAlchemy: "already attached to session" */
		code = PGORM_EINVAL, why = "is attached to another session (expunge it there or close that session first)";
	else if (st->state == PGORM_STATE_DETACHED && pgorm__imap_find(&s->imap, mi, t) != NULL &&
	         pgorm__imap_find(&s->imap, mi, t) != t)
		code = PGORM_ESTATE, why = "has the key of another object this session holds (same primary key: "
		                           "pgorm_session_merge copies into it)";
	if (code == 0)
		return 0;
	if (via != NULL)
		return pgorm__session_fail(s, code, "%s: a %s object reached by the save-update cascade from %s.%s %s", what,
		                           h->model->table, via->owner->model->table, via->name, why);
	return pgorm__session_fail(s, code, "%s: the %s object %s", what, h->model->table, why);
}

/* Visit t, reached from the object being walked along via: halt at s's objects, check the
 * others, each once (OBJ2_SEEN), in the order found. */
typedef struct walk_stack { /* a stack on the C stack while small (no allocation per add) */
	void **items, *local[32];
	size_t n, cap;
} walk_stack;

static bool walk_push(walk_stack *w, void *o)
{
	if (w->n == w->cap) {
		void **items = pgorm__reallocarray(w->items == w->local ? NULL : w->items, w->cap * 2, sizeof *items);
		if (items == NULL)
			return false;
		if (w->items == w->local)
			memcpy(items, w->local, sizeof w->local);
		w->items = items;
		w->cap *= 2;
	}
	w->items[w->n++] = o;
	return true;
}

static int reach(pgorm_session *s, void *t, const pgorm_rel *via, const char *what, pgorm__objlist *out,
                 walk_stack *stack)
{
	pgorm__objstate *st = pgorm__st(t);
	if ((st->flags2 & OBJ2_SEEN) || attached_to(s, t))
		return 0;
	int rc = check_adoptable(s, t, what, via);
	if (rc != 0)
		return rc;
	if (!pgorm__objlist_push(out, t) || !walk_push(stack, t))
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	st->flags2 |= OBJ2_SEEN;
	return 0;
}

/* The save-update cascade from obj (from obj itself too when self): every object it reaches
 * that s does not hold yet, in the order they are to be taken in, all checked first (a refused
 * add changes nothing). It follows what is in memory — loaded collections, changes queued on
 * unloaded ones, to-one links — and the history recorded in the objects' graphs for objects
 * in no session (pgorm__graph_record): what left a detached object's relationship, the
 * association changes. Iterative (an explicit stack): no recursion depth limit. */
static int cascade_collect(pgorm_session *s, void *obj, bool self, const char *what, pgorm__objlist *out)
{
	walk_stack stack;
	stack.items = stack.local;
	stack.n = 0;
	stack.cap = sizeof stack.local / sizeof *stack.local;
	out->n = 0;
	int rc = 0;
	if (self && !attached_to(s, obj) && (rc = check_adoptable(s, obj, what, NULL)) == 0 &&
	    !pgorm__objlist_push(out, obj))
		rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	if (rc == 0)
		walk_push(&stack, obj); /* room on the C stack */
	bool seen_obj = (pgorm__st(obj)->flags2 & OBJ2_SEEN) != 0;
	pgorm__st(obj)->flags2 |= OBJ2_SEEN;
	while (stack.n > 0 && rc == 0) {
		void *o = stack.items[--stack.n];
		pgorm__model_info *mi = pgorm__registry_info(s->reg, ((pgorm_object *)o)->model);
		struct pgorm_graph *root = pgorm__graph_root(pgorm__st(o)->graph);
		for (size_t i = 0; i < mi->nrels && rc == 0; i++) {
			const pgorm_rel *r = mi->rels[i];
			if (!(r->cascade & PGORM_CASCADE_SAVE_UPDATE) || (r->flags & PGORM_REL_VIEWONLY))
				continue;
			void *single;
			size_t cnt;
			void **items = pgorm__rel_items(o, r, &single, &cnt);
			for (size_t k = 0; k < cnt && rc == 0; k++)
				rc = reach(s, items[k], r, what, out, &stack);
			for (struct pgorm_graph *g = root->nhist_all > 0 ? root : NULL; g != NULL && rc == 0; g = g->next) {
				for (size_t k = 0; k < g->nhist && rc == 0; k++) {
					const pgorm__m2m_op *h = &g->hist[k];
					if (h->rel == r && h->a == o)
						rc = reach(s, h->b, r, what, out, &stack);
					else if (r->kind == PGORM_REL_MANY_TO_MANY && h->rel == r->partner && h->b == o)
						rc = reach(s, h->a, r, what, out, &stack);
				}
			}
		}
	}
	for (size_t i = 0; i < out->n; i++)
		pgorm__st(out->items[i])->flags2 &= (uint8_t)~OBJ2_SEEN;
	if (!seen_obj)
		pgorm__st(obj)->flags2 &= (uint8_t)~OBJ2_SEEN;
	if (stack.items != stack.local)
		pgorm__free(stack.items);
	return rc;
}

/* The history records of s's memory that s has taken over: association changes whose two
 * objects are s's now go to s's list (flushed by s), records of objects s holds are done. */
static int claim_history(pgorm_session *s)
{
	struct pgorm_graph *root = pgorm__graph_root(s->mem);
	int rc = 0;
	for (struct pgorm_graph *g = root->nhist_all > 0 ? root : NULL; g != NULL; g = g->next) {
		size_t k = 0;
		for (size_t i = 0; i < g->nhist; i++) {
			pgorm__m2m_op h = g->hist[i];
			bool done;
			if (h.rel->kind == PGORM_REL_MANY_TO_MANY)
				done = rc == 0 && held_by(s, h.a) && held_by(s, h.b) &&
				       (rc = push_m2m(s, &h)) == 0;
			else
				done = attached_to(s, h.a) || attached_to(s, h.b);
			if (!done)
				g->hist[k++] = h;
		}
		root->nhist_all -= g->nhist - k;
		g->nhist = k;
	}
	return rc;
}

/* Take in what cascade_collect found, in its order: objects in no session are adopted
 * (pgorm__adopt), transient ones become pending; then the history s now holds is claimed. */
static int cascade_apply(pgorm_session *s, const pgorm__objlist *l, const char *what)
{
	int rc = 0;
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		void *t = l->items[i];
		pgorm__objstate *st = pgorm__st(t);
		if (st->state == PGORM_STATE_DETACHED || (st->state == PGORM_STATE_TRANSIENT && pgorm__obj_session(t) != s))
			rc = pgorm__adopt(s, t, what);
		if (rc == 0 && st->state == PGORM_STATE_TRANSIENT)
			rc = pgorm__make_pending(s, t);
	}
	return rc == 0 ? claim_history(s) : rc;
}

int pgorm__session_take(pgorm_session *s, void *obj, const char *what)
{
	pgorm__objlist l = { 0 };
	int rc = cascade_collect(s, obj, true, what, &l);
	if (rc == 0)
		rc = cascade_apply(s, &l, what);
	pgorm__free(l.items);
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
