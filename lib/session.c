/* lib/session.c — sessions: connection and transaction handling, object lifecycle,
 * identity lookups, commit and rollback. The unit of work itself is in flush.c, relationship
 * changes in relationship.c, loading in loader.c. */
#include "exec.h"
#include "flush.h"
#include "identity_map.h"
#include "internal.h"
#include "loader.h"
#include "pgorm/pool.h"
#include "relationship.h"
#include "state.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- lifecycle ---- */

int pgorm_session_create(pgorm_session **out, const pgorm_registry *reg, struct pgorm_pool *pool,
                         pgorm_conn *conn, const pgorm_session_config *cfg, pgorm_error *err)
{
	if (out == NULL || reg == NULL || (pool == NULL && conn == NULL))
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_session_create: needs a registry and a pool or a connection");
	*out = NULL;
	pgorm_session *s = pgorm__calloc(1, sizeof *s);
	if (s == NULL)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory creating a session");
	if (pgorm__state_init(s, reg, pool, conn, cfg) != 0 || pgorm__loader_create(&s->ld, reg) != 0) {
		pgorm__state_finish(s);
		pgorm__free(s);
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory creating a session");
	}
	*out = s;
	return 0;
}

static void close_tx(pgorm_session *s);

/* Closing keeps the relationship changes not flushed yet with the objects (SQLAlchemy keeps
 * them in the attributes' history): a child's link is on the child, but what the session
 * would have reached by itself is recorded in the objects' memory (pgorm__graph_record) for the
 * session that adds them — the association changes, and the children taken out of a loaded
 * collection of a persistent parent (found by the key their foreign key still holds), so that
 * adding the parent again reaches them. Counts the records (record false) or makes them, in
 * room reserved before (pgorm__graph_reserve), so that making them cannot fail. */
static size_t keep_history(pgorm_session *s, bool record)
{
	size_t n = s->nm2m;
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if (st->link_dirty == 0 || st->state != PGORM_STATE_PERSISTENT)
			continue;
		const pgorm__model_info *mi = pgorm__session_info(s, o);
		for (size_t b = 0; b < mi->nrels; b++) {
			const pgorm_rel *r = mi->rels[b];
			if (!((st->link_dirty >> b) & 1) || r->kind != PGORM_REL_MANY_TO_ONE || (r->flags & PGORM_REL_VIEWONLY) ||
			    r->partner == NULL)
				continue;
			void *old = pgorm__m2o_in_map(s, r, o);
			if (old == NULL || old == pgorm__link_get(o, r) || !((pgorm__st(old)->loaded >> r->partner->index) & 1))
				continue;
			n++;
			pgorm__m2m_op lost = { r->partner, old, o, false };
			if (record)
				(void)pgorm__graph_record(&lost);
		}
	}
	for (size_t i = 0; record && i < s->nm2m; i++)
		(void)pgorm__graph_record(&s->m2m_ops[i]);
	if (record)
		s->nm2m = 0;
	return n;
}

void pgorm_session_destroy(pgorm_session *s)
{
	if (s == NULL)
		return;
	size_t n = s->mem != NULL ? keep_history(s, false) : 0;
	if (n > 0 && pgorm__graph_reserve(s->mem, n) == 0) /* else they are dropped */
		keep_history(s, true);
	close_tx(s);
	pgorm__loader_destroy(s->ld);
	pgorm__state_finish(s);
	pgorm__free(s);
}

/* ---- objects ---- */

void *pgorm_object_new(pgorm_session *s, const pgorm_model *m)
{
	if (s == NULL)
		return NULL;
	pgorm__model_info *mi = m ? pgorm__registry_info(s->reg, m) : NULL;
	if (mi == NULL) {
		pgorm__session_fail(s, PGORM_EINVAL, "pgorm_object_new: model %s is not in the registry",
		                    m && m->table ? m->table : "(NULL)");
		return NULL;
	}
	void *obj = pgorm__object_alloc(s, mi);
	if (obj == NULL)
		return NULL;
	pgorm__objstate *st = pgorm__st(obj);
	st->session = NULL; /* transient: s's through its memory (graph->live) until added */
	/* Every column starts never assigned, reading as NULL, with the snapshot of its zero
	 * bytes: the writes pgorm__observe sees later assign it (model.h). */
	st->nulls = mi->ncols < 64 ? (1ULL << mi->ncols) - 1 : UINT64_MAX;
	pgorm__snapshot_zero(obj, mi);
	/* A new object's collections are complete (empty), not unloaded. */
	st->loaded = UINT32_MAX;
	st->state = PGORM_STATE_TRANSIENT;
	return obj;
}

char *pgorm_strdup(pgorm_session *s, const char *str)
{
	if (s == NULL || str == NULL)
		return NULL;
	char *d = pgorm__arena_strndup(&s->arena, str, strlen(str));
	if (d == NULL)
		pgorm__session_fail(s, PGORM_ENOMEM, "out of memory copying a string");
	return d;
}

static long col_of(const void *obj, const char *column, const pgorm_column **out)
{
	const pgorm_object *h = obj;
	if (h == NULL || h->model == NULL || column == NULL)
		return -1;
	long i = 0;
	for (const pgorm_column *c = h->model->columns; c->name; c++, i++)
		if (strcmp(c->name, column) == 0) {
			*out = c;
			return i;
		}
	return -1;
}

int pgorm_object_set_null(void *obj, const char *column, bool is_null)
{
	const pgorm_column *c = NULL;
	long i = col_of(obj, column, &c);
	const pgorm_object *h = obj;
	pgorm_session *s = h && h->model && h->priv ? pgorm__obj_session(obj) : NULL; /* for the message */
	pgorm__model_info *mi = h && h->model && h->priv ? pgorm__obj_info(obj) : NULL;
	if (i < 0 || mi == NULL) {
		if (s != NULL)
			pgorm__session_fail(s, PGORM_EINVAL, "pgorm_object_set_null: %s has no column \"%s\"",
			                    h->model->table, column ? column : "(NULL)");
		return PGORM_EINVAL;
	}
	if (is_null && !(c->flags & PGORM_NULLABLE))
		return s ? pgorm__session_fail(s, PGORM_EINVAL, "pgorm_object_set_null: %s.%s is NOT NULL", h->model->table,
		                               c->name)
		         : PGORM_EINVAL;
	pgorm__observe(obj, mi); /* a write made before this call is older than it */
	pgorm__assign_col(obj, mi, (size_t)i, is_null || pgorm__col_null_ptr(obj, c));
	return 0;
}

int pgorm_object_assign_at(void *obj, size_t offset)
{
	const pgorm_object *h = obj;
	if (h == NULL || h->model == NULL || h->priv == NULL)
		return PGORM_EINVAL;
	pgorm_session *s = pgorm__obj_session(obj);
	pgorm__model_info *mi = pgorm__obj_info(obj);
	if (mi == NULL)
		return PGORM_EINVAL;
	for (size_t i = 0; i < mi->ncols; i++)
		if (mi->cols[i].offset == offset)
			return pgorm_object_set_null(obj, mi->cols[i].name, false);
	return s ? pgorm__session_fail(s, PGORM_EINVAL, "pgorm_object_assign_at: %s has no column at offset %zu",
	                               h->model->table, offset)
	         : PGORM_EINVAL;
}

bool pgorm_object_is_null(const void *obj, const char *column)
{
	const pgorm_column *c = NULL;
	long i = col_of(obj, column, &c);
	if (i < 0 || pgorm__st(obj) == NULL || pgorm__obj_info(obj) == NULL)
		return false;
	pgorm__observe((void *)obj, pgorm__obj_info(obj));
	return (pgorm__st(obj)->nulls & (1ULL << i)) != 0;
}

pgorm_state pgorm_object_state(const void *obj)
{
	return obj && pgorm__st(obj) ? (pgorm_state)pgorm__st(obj)->state : PGORM_STATE_TRANSIENT;
}

int pgorm_session_add(pgorm_session *s, void *obj)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_thread_check(s, "pgorm_session_add");
	if (rc != 0)
		return rc;
	const pgorm_object *h = obj;
	if (h == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_add: object is NULL");
	if (h->model == NULL || h->priv == NULL || h->priv->graph == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL,
		                           "pgorm_session_add: not an object created by pgorm_object_new or a query");
	if (s->needs_rollback)
		return pgorm__session_begin(s); /* reports the state error */
	pgorm__objstate *st = pgorm__st(obj);
	if (st->flags2 & OBJ2_WAS_DELETED) /* SQLAlchemy: "has been deleted; use make_transient()" */
		return pgorm__session_fail(s, PGORM_ESTATE, "pgorm_session_add: the %s object has been deleted (its DELETE was flushed)",
		                           ((pgorm_object *)obj)->model->table);
	if (st->state == PGORM_STATE_DELETED && st->session == s)
		return pgorm__session_fail(s, PGORM_ESTATE, "pgorm_session_add: %s object is deleted",
		                           ((pgorm_object *)obj)->model->table);
	/* a detached object, or a transient one of a closed session's memory, is adopted: its
	 * graph's memory joins s's, and a detached one is persistent again (SQLAlchemy's add);
	 * the same for what its save-update cascade reaches, all checked before any change */
	return pgorm__session_take(s, obj, "pgorm_session_add");
}

int pgorm_session_delete(pgorm_session *s, void *obj)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_check_obj(s, obj, "pgorm_session_delete");
	if (rc != 0)
		return rc;
	pgorm__objstate *st = pgorm__st(obj);
	switch (st->state) {
	case PGORM_STATE_PERSISTENT:
		st->state = PGORM_STATE_DELETED;
		st->flags &= (uint8_t)~OBJ_DELETE_DONE;
		return 0;
	case PGORM_STATE_PENDING:
		/* never inserted: it simply leaves the unit of work */
		st->state = PGORM_STATE_TRANSIENT;
		return 0;
	case PGORM_STATE_DELETED:
		return 0;
	default:
		return pgorm__session_fail(s, PGORM_ESTATE, "pgorm_session_delete: %s object is %s (not persistent)",
		                           ((pgorm_object *)obj)->model->table,
		                           st->state == PGORM_STATE_TRANSIENT ? "transient" : "detached");
	}
}

int pgorm_session_expunge(pgorm_session *s, void *obj)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_check_obj(s, obj, "pgorm_session_expunge");
	if (rc != 0)
		return rc;
	if (pgorm__st(obj)->state == PGORM_STATE_DETACHED)
		return 0;
	return pgorm__expunge(s, obj);
}

int pgorm_session_get(pgorm_session *s, const pgorm_model *m, const pgorm_value *pk, void **out)
{
	if (s == NULL)
		return PGORM_EINVAL;
	if (out == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_get: out is NULL");
	*out = NULL;
	pgorm__model_info *mi = m ? pgorm__registry_info(s->reg, m) : NULL;
	if (mi == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_get: model is not in the registry");
	if (pk == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_get: pk is NULL");
	return pgorm__get(s, mi, pk, out);
}

int pgorm_session_refresh(pgorm_session *s, void *obj)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_check_obj(s, obj, "pgorm_session_refresh");
	if (rc != 0)
		return rc;
	if (pgorm__st(obj)->state != PGORM_STATE_PERSISTENT)
		return pgorm__session_fail(s, PGORM_ESTATE, "pgorm_session_refresh: object is not persistent");
	/* the refresh-expire cascade: the persistent objects it reaches are refreshed too; a
	 * related row gone meanwhile detaches its object, which is no error of obj's */
	pgorm__objlist all = { 0 };
	rc = pgorm__cascade_reach(s, obj, PGORM_CASCADE_REFRESH_EXPIRE, pgorm__is_persistent, &all);
	for (size_t i = 0; i < all.n && rc == 0; i++) {
		rc = pgorm__refresh_one(s, all.items[i], true);
		if (rc == PGORM_ENOTFOUND && i > 0)
			rc = 0;
	}
	pgorm__free(all.items);
	return rc;
}

/* Expired: columns are reloaded by the next load, relationships are unloaded, and an
 * unloaded collection shows nothing (len 0) rather than items that may be stale; changes
 * queued on it are dropped (the links they mirrored were flushed or are discarded). */
static void expire_obj(void *obj, const pgorm__model_info *mi)
{
	pgorm__objstate *st = pgorm__st(obj);
	if (mi == NULL)
		mi = pgorm__session_info(st->session, obj);
	st->flags |= OBJ_EXPIRED;
	st->loaded = 0;
	for (size_t k = 0; k < mi->nrels; k++) {
		if (mi->rels[k]->scalar)
			continue;
		pgorm_collection *c = pgorm__coll(obj, mi->rels[k]);
		c->len = 0;
		if (c->priv != NULL)
			c->priv->nadded = c->priv->nremoved = 0;
	}
}

static bool gone(const void *obj)
{
	uint8_t st = pgorm__st(obj)->state;
	return st == PGORM_STATE_TRANSIENT || st == PGORM_STATE_DETACHED;
}

/* Rollback, after every state is reset: relationship changes queued on unloaded collections
 * are undone with the links they mirrored (else the next load would merge them back in),
 * and links / collection items that refer to objects which left the session are cut (else
 * a later change or cascade would follow them back in). */
static void forget_rolled_back_links(void *obj, const pgorm__model_info *mi)
{
	for (size_t k = 0; k < mi->nrels; k++) {
		const pgorm_rel *r = mi->rels[k];
		if (r->scalar) {
			void *t = pgorm__link_get(obj, r);
			if (t != NULL && gone(t))
				pgorm__link_put(obj, r, NULL);
			continue;
		}
		pgorm_collection *c = pgorm__coll(obj, r);
		if (c->priv != NULL)
			c->priv->nadded = c->priv->nremoved = 0;
		size_t n = 0;
		for (size_t i = 0; i < c->len; i++)
			if (!gone(c->items[i]))
				c->items[n++] = c->items[i];
		c->len = n;
	}
}

static void forget_all_rolled_back_links(pgorm_session *s)
{
	for (size_t i = 0; i < s->ntracked; i++)
		if (!gone(s->tracked[i]))
			forget_rolled_back_links(s->tracked[i], pgorm__session_info(s, s->tracked[i]));
}

int pgorm_session_expire(pgorm_session *s, void *obj)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_check_obj(s, obj, "pgorm_session_expire");
	if (rc != 0)
		return rc;
	pgorm__objlist all = { 0 }; /* the refresh-expire cascade */
	rc = pgorm__cascade_reach(s, obj, PGORM_CASCADE_REFRESH_EXPIRE, pgorm__is_persistent, &all);
	for (size_t i = 0; i < all.n && rc == 0; i++)
		expire_obj(all.items[i], NULL);
	pgorm__free(all.items);
	return rc;
}

/* Merge one object: find or create its counterpart in s and copy the columns the source
 * holds (all of them for a loaded source; the assigned ones of a new source). */
static int merge_one(pgorm_session *s, const void *obj, void **out)
{
	const pgorm_object *h = obj;
	pgorm__model_info *mi = h->model ? pgorm__registry_info(s->reg, h->model) : NULL;
	if (mi == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_merge: model %s is not in the registry",
		                           h->model && h->model->table ? h->model->table : "(NULL)");
	pgorm__objstate *src = h->priv;
	if (src != NULL)
		pgorm__observe((void *)obj, mi); /* the source's writes count, as anywhere else */
	bool fresh = src != NULL && (src->state == PGORM_STATE_TRANSIENT || src->state == PGORM_STATE_PENDING);
	uint64_t all = mi->ncols < 64 ? (1ULL << mi->ncols) - 1 : UINT64_MAX;
	uint64_t copy = fresh ? src->dirty | (all & ~src->nulls) : all;
	pgorm_value keys[PGORM__MAX_PK];
	pgorm__pk_values(obj, mi, keys);
	bool keyless = false;
	for (size_t k = 0; k < mi->npk; k++)
		keyless |= keys[k].is_null;
	void *target = NULL;
	int rc = keyless ? PGORM_ENOTFOUND : pgorm_session_get(s, h->model, keys, &target);
	if (rc == PGORM_ENOTFOUND) { /* no such row: a new object with the source's values */
		target = pgorm_object_new(s, h->model);
		if (target == NULL)
			return s->err.code;
		rc = pgorm_session_add(s, target);
	}
	if (rc != 0)
		return rc;
	pgorm__observe(target, mi);
	for (size_t i = 0; i < mi->ncols; i++) {
		if (!((copy >> i) & 1))
			continue;
		const pgorm_column *c = &mi->cols[i];
		pgorm_value v;
		pgorm__get_col(obj, c, i, &v);
		bool was_null = (pgorm__st(target)->nulls >> i) & 1;
		if (v.is_null) {
			if (!was_null)
				pgorm__assign_col(target, mi, i, true);
			continue;
		}
		/* strings are copied into the session; a value equal to the target's is no change */
		if ((rc = pgorm__set_col(&s->arena, target, c, i, &v)) != 0)
			return pgorm__session_fail(s, rc, "out of memory");
		if (was_null)
			pgorm__assign_col(target, mi, i, false);
	}
	*out = target;
	return 0;
}

/* The counterpart merged for src (already visited), by a search of the pairs so far. */
static void *merged_of(const pgorm__objlist *srcs, const pgorm__objlist *tgts, const void *src)
{
	for (size_t i = 0; i < srcs->n; i++)
		if (srcs->items[i] == src)
			return tgts->items[i];
	return NULL;
}

/* Make target's relationship r hold exactly the merged objects want[0..n). */
static int merge_rel(pgorm_session *s, const pgorm_rel *r, void *target, void **want, size_t n)
{
	if (!r->scalar)
		return pgorm_rel_replace(s, r, target, want, n);
	void *cur = pgorm__link_get(target, r);
	if (cur == (n ? want[0] : NULL) && ((pgorm__st(target)->loaded >> r->index) & 1))
		return 0;
	return pgorm_rel_set(s, r, target, n ? want[0] : NULL);
}

int pgorm_session_merge(pgorm_session *s, const void *obj, void **out)
{
	if (s == NULL || obj == NULL || out == NULL)
		return s ? pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_merge: NULL argument") : PGORM_EINVAL;
	/* Breadth-first over the relationships with the merge cascade whose source side is
	 * loaded; each source object is merged once (a visited mark), cycles included. */
	pgorm__objlist srcs = { 0 }, tgts = { 0 }, want = { 0 };
	void *target = NULL;
	int rc = merge_one(s, obj, &target);
	if (rc == 0 && (!pgorm__objlist_push(&srcs, (void *)obj) || !pgorm__objlist_push(&tgts, target)))
		rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	if (rc == 0 && ((const pgorm_object *)obj)->priv != NULL)
		pgorm__st(obj)->flags2 |= OBJ2_SEEN;
	for (size_t i = 0; i < srcs.n && rc == 0; i++) {
		void *src = srcs.items[i], *tgt = tgts.items[i];
		if (((pgorm_object *)src)->priv == NULL)
			continue; /* a plain struct: its columns only */
		pgorm__model_info *mi = pgorm__session_info(s, tgt);
		for (size_t k = 0; k < mi->nrels && rc == 0; k++) {
			const pgorm_rel *r = mi->rels[k];
			if (!(r->cascade & PGORM_CASCADE_MERGE) || (r->flags & PGORM_REL_VIEWONLY) ||
			    !((pgorm__st(src)->loaded >> r->index) & 1))
				continue;
			void *single;
			size_t n;
			void **items = pgorm__rel_items(src, r, &single, &n);
			want.n = 0;
			for (size_t j = 0; j < n && rc == 0; j++) {
				void *it = items[j], *m = NULL;
				if (pgorm__st(it)->flags2 & OBJ2_SEEN) {
					m = merged_of(&srcs, &tgts, it);
				} else if ((rc = merge_one(s, it, &m)) == 0) {
					if (!pgorm__objlist_push(&srcs, it) || !pgorm__objlist_push(&tgts, m))
						rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
					else
						pgorm__st(it)->flags2 |= OBJ2_SEEN;
				}
				if (rc == 0 && m != NULL && !pgorm__objlist_push(&want, m))
					rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			}
			if (rc == 0)
				rc = merge_rel(s, r, tgt, want.items, want.n);
		}
	}
	for (size_t i = 0; i < srcs.n; i++)
		if (((pgorm_object *)srcs.items[i])->priv != NULL)
			pgorm__st(srcs.items[i])->flags2 &= (uint8_t)~OBJ2_SEEN;
	pgorm__free(srcs.items);
	pgorm__free(tgts.items);
	pgorm__free(want.items);
	if (rc == 0)
		*out = target;
	return rc;
}

/* ---- transactions ---- */

/* Drop objects that left the unit of work from the tracked list. */
static void compact_tracked(pgorm_session *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if (st->state == PGORM_STATE_TRANSIENT || st->state == PGORM_STATE_DETACHED) {
			st->flags &= (uint8_t)~OBJ_TRACKED;
			st->session = NULL; /* no longer attached (state.h) */
			continue;
		}
		s->tracked[k++] = o;
	}
	s->ntracked = k;
}

int pgorm_session_flush(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	return pgorm__flush(s, false, NULL);
}

int pgorm_session_plan(pgorm_session *s, char **out)
{
	if (s == NULL)
		return PGORM_EINVAL;
	if (out == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_plan: out is NULL");
	*out = NULL;
	return pgorm__flush(s, true, out);
}

int pgorm_session_commit(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	s->commit_asked = true; /* the flush's last batch may carry the COMMIT (state.c) */
	int rc = pgorm__flush(s, false, NULL);
	s->commit_asked = false;
	bool in_doubt = s->tx_in_doubt;
	if (rc != 0 && !in_doubt)
		return rc;
	if (s->in_tx && !in_doubt) {
		/* COMMIT goes out on a connection not known to be lost; if the connection fails
		 * now, the server may have committed before the reply was lost (in doubt). A joined
		 * session only releases its savepoint: a lost connection then takes the caller's
		 * open transaction with it, which is not in doubt. */
		bool sent = !s->joined && pgorm_conn_ok(s->conn);
		if ((rc = pgorm__tx_commit(s)) != 0) {
			in_doubt = sent && (rc == PGORM_ECONN || !pgorm_conn_ok(s->conn));
			if (!in_doubt) {
				s->needs_rollback = true;
				return rc;
			}
		}
	}
	/* In doubt, the objects are left as after a commit (keys kept, nothing becomes transient)
	 * and all expired, so that the next read asks the database what happened. */
	/* Deleted objects become detached and leave every collection that still shows them. */
	for (size_t i = 0; i < s->nflushed_deleted; i++) {
		void *o = s->flushed_deleted[i];
		pgorm__unlink_everywhere(s, o);
		pgorm__st(o)->state = PGORM_STATE_DETACHED;
	}
	s->nflushed_deleted = 0;
	compact_tracked(s);
	for (size_t i = 0; i < s->ntracked; i++) {
		pgorm__st(s->tracked[i])->flags &= (uint8_t)~(OBJ_PK_ASSIGNED | OBJ_NEW_IN_TX);
		pgorm__st(s->tracked[i])->flags2 &= (uint8_t)~OBJ2_UPDATED_IN_TX;
		if (s->cfg.expire_on_commit || in_doubt)
			expire_obj(s->tracked[i], NULL);
	}
	pgorm__session_end_tx(s);
	if (in_doubt && s->track_lsn)
		s->commit_lsn = UINT64_MAX; /* its LSN is unknown: a read that asks goes to the primary */
	if (in_doubt) {
		char was[sizeof s->err.message];
		pgorm__strlcpy(was, s->err.message, sizeof was);
		snprintf(s->err.message, sizeof s->err.message,
		         "connection lost after COMMIT was sent (%.150s): the transaction may or may not have committed", was);
		s->err.code = PGORM_ECOMMIT_UNKNOWN;
		return PGORM_ECOMMIT_UNKNOWN;
	}
	pgorm_error_clear(&s->err);
	return 0;
}

/* o leaves the unit of work with a rollback (it was pending, or inserted by a rolled-back
 * flush). The key a sequence gave it and the foreign keys copied from its links are reset:
 * the rows they named are gone with the transaction, and the links, which stay, are copied
 * again at its next flush. The other columns it holds stay assigned, as the user wrote them. */
static void back_to_transient(pgorm_session *s, void *o, pgorm__model_info *mi)
{
	pgorm__objstate *st = pgorm__st(o);
	if (st->flags & OBJ_IN_MAP) /* first: the map finds it by the key about to be reset */
		pgorm__imap_del(&s->imap, mi, o);
	pgorm__observe(o, mi);
	if (st->flags & OBJ_NEW_IN_TX) /* its INSERT is undone: every value it holds is written again */
		st->dirty |= ~st->nulls & (mi->ncols < 64 ? (1ULL << mi->ncols) - 1 : UINT64_MAX);
	if (st->flags & OBJ_PK_ASSIGNED)
		pgorm__unassign_col(o, mi, mi->pk[0]);
	for (size_t k = 0; k < mi->nrels; k++) {
		const pgorm_rel *r = mi->rels[k];
		if (r->kind != PGORM_REL_MANY_TO_ONE || (r->flags & PGORM_REL_VIEWONLY) || pgorm__link_get(o, r) == NULL)
			continue;
		for (size_t c = 0; c < r->nfk; c++)
			pgorm__unassign_col(o, mi, r->fk_cols[c]);
		st->link_dirty |= 1u << k;
	}
	st->flags &= (uint8_t)~(OBJ_PK_ASSIGNED | OBJ_NEW_IN_TX);
	st->state = PGORM_STATE_TRANSIENT;
	st->loaded = UINT32_MAX;
}

/* After a rollback, a persistent object whose fields hold values the transaction wrote (an
 * UPDATE flushed in it, or a write not flushed yet) would keep them in memory, and a later write
 * of those same bytes could not be seen (model.h's rule): SQLAlchemy reloads such an object on
 * its next read. pgorm cannot load on a read, so it reads them again now, on a connection of
 * its own outside any transaction of the session. Returns whether o needs it (observes o). */
static bool holds_rolled_back_values(void *o, const pgorm__model_info *mi)
{
	return pgorm__dirty_cols(o, mi) != 0 || (pgorm__st(o)->flags2 & OBJ2_UPDATED_IN_TX);
}

/* After the objects of l were read again: their many-to-one links made in the rolled-back
 * transaction are undone. A link follows the foreign key again (the object it names when in
 * the identity map, else none and unloaded); a one-to-one parent still pointing at the object
 * lets go. The orphan marks of the transaction are void as well. */
static void relink_from_keys(pgorm_session *s, const pgorm__objlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		void *o = l->items[i];
		if (pgorm__st(o)->state != PGORM_STATE_PERSISTENT)
			continue;
		const pgorm__model_info *mi = pgorm__session_info(s, o);
		for (size_t k = 0; k < mi->nrels; k++) {
			const pgorm_rel *r = mi->rels[k];
			if (r->kind != PGORM_REL_MANY_TO_ONE || (r->flags & PGORM_REL_VIEWONLY))
				continue;
			void *cur = pgorm__link_get(o, r);
			void *t = pgorm__m2o_in_map(s, r, o);
			if (cur == t)
				continue;
			if (cur != NULL && r->partner != NULL && r->partner->scalar && pgorm__link_get(cur, r->partner) == o)
				pgorm__link_put(cur, r->partner, NULL);
			else if (cur != NULL && r->partner != NULL && !r->partner->scalar)
				pgorm__coll_remove_item(pgorm__coll(cur, r->partner), o);
			pgorm__link_put(o, r, t);
			pgorm__st(o)->loaded &= ~(1u << r->index);
		}
	}
}

/* Read the objects of l again (pgorm__refresh_one); a row gone meanwhile detaches its object.
 * On an error the rest keep the values they hold, expired (the next query returning their rows
 * overwrites them). */
static int reload_rolled_back(pgorm_session *s, const pgorm__objlist *l)
{
	int rc = 0;
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		if (pgorm__st(l->items[i])->state != PGORM_STATE_PERSISTENT)
			continue;
		rc = pgorm__refresh_one(s, l->items[i], true);
		if (rc == PGORM_ENOTFOUND)
			rc = 0;
	}
	return rc;
}

int pgorm_session_rollback(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = 0;
	pgorm__objlist stale = { 0 };
	if (s->in_tx && s->conn != NULL && pgorm__tx_rollback(s) != 0 && pgorm_conn_ok(s->conn))
		rc = s->err.code;
	/* Objects deleted by a flush of this transaction come back. */
	for (size_t i = 0; i < s->nflushed_deleted; i++) {
		void *o = s->flushed_deleted[i];
		pgorm__model_info *mi = pgorm__session_info(s, o);
		pgorm__st(o)->state = PGORM_STATE_PERSISTENT;
		pgorm__st(o)->flags2 &= (uint8_t)~OBJ2_WAS_DELETED;
		if (!(pgorm__st(o)->flags & OBJ_IN_MAP) && pgorm__imap_find(&s->imap, mi, o) == NULL)
			(void)pgorm__imap_put(&s->imap, mi, o);
	}
	s->nflushed_deleted = 0;
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		pgorm__model_info *mi = pgorm__session_info(s, o);
		if (st->state == PGORM_STATE_PENDING || (st->flags & OBJ_NEW_IN_TX)) {
			back_to_transient(s, o, mi); /* inserted in this transaction, or about to be */
			continue;
		}
		if (gone(o)) /* expunged: not the session's any more, its values are the user's */
			continue;
		if (st->state == PGORM_STATE_DELETED)
			st->state = PGORM_STATE_PERSISTENT;
		st->flags &= (uint8_t)~OBJ_ORPHAN;
		if (holds_rolled_back_values(o, mi) || st->link_dirty != 0)
			(void)pgorm__objlist_push(&stale, o); /* out of memory: it keeps them, expired */
		st->flags2 &= (uint8_t)~(OBJ2_UPDATED_IN_TX | OBJ2_NO_ORPHAN);
		st->link_dirty = 0;
		pgorm__snapshot(o, mi); /* unflushed column changes are discarded, not flushed later */
		expire_obj(o, mi);
	}
	forget_all_rolled_back_links(s);
	compact_tracked(s);
	s->needs_rollback = false;
	bool conn_ok = s->conn == NULL || pgorm_conn_ok(s->conn);
	pgorm__session_end_tx(s);
	if (rc == 0 && conn_ok && stale.n > 0) {
		/* in a transaction of its own, rolled back: the reads change nothing */
		rc = reload_rolled_back(s, &stale);
		if (rc == 0)
			relink_from_keys(s, &stale);
		if (s->in_tx && pgorm_conn_ok(s->conn))
			(void)pgorm__tx_rollback(s);
		pgorm__session_end_tx(s);
	}
	pgorm__free(stale.items);
	if (rc == 0)
		pgorm_error_clear(&s->err);
	return rc;
}

/* When a session closes or is destroyed, its open transaction ends with a rollback: the
 * objects it inserted (or gave keys to) are transient again, as their rows are gone, and the
 * objects whose DELETE it flushed are back. Other objects keep their state and the changes
 * not flushed yet (SQLAlchemy's close: expunge_all, then the rollback). */
static void close_tx(pgorm_session *s)
{
	if (s->in_tx && s->conn != NULL && pgorm_conn_ok(s->conn))
		(void)pgorm__tx_rollback(s);
	for (size_t i = 0; i < s->nflushed_deleted; i++) {
		pgorm__objstate *st = pgorm__st(s->flushed_deleted[i]);
		st->state = PGORM_STATE_PERSISTENT;
		st->flags2 &= (uint8_t)~OBJ2_WAS_DELETED;
	}
	s->nflushed_deleted = 0;
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		if ((st->flags & OBJ_NEW_IN_TX) || (st->state == PGORM_STATE_PENDING && (st->flags & OBJ_PK_ASSIGNED)))
			back_to_transient(s, o, pgorm__session_info(s, o));
	}
	s->needs_rollback = false;
	pgorm__session_end_tx(s);
}

int pgorm_session_close(pgorm_session *s, pgorm_graph **out)
{
	if (out != NULL)
		*out = NULL;
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_thread_check(s, "pgorm_session_close");
	if (rc != 0)
		return rc;
	struct pgorm_graph *fresh = pgorm__graph_new(s->reg, s); /* first: a failure changes nothing */
	size_t n = keep_history(s, false);
	if (fresh == NULL || (n > 0 && pgorm__graph_reserve(s->mem, n) != 0)) {
		pgorm__graph_release(fresh);
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory closing the session");
	}
	keep_history(s, true); /* before the rollback: the identity map still finds old parents */
	close_tx(s);
	pgorm__state_detach_all(s);
	pgorm__state_hand_over(s, fresh, out);
	pgorm_error_clear(&s->err);
	return 0;
}

int pgorm_session_begin_nested(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__flush(s, false, NULL);
	if (rc == 0)
		rc = pgorm__session_begin(s);
	if (rc != 0)
		return rc;
	if ((rc = pgorm__session_savepoint(s, PGORM__SP_OPEN, s->nest + 1)) != 0)
		return rc;
	s->nest++;
	return 0;
}

int pgorm_session_commit_nested(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	if (s->nest == 0)
		return pgorm__session_fail(s, PGORM_ESTATE, "no savepoint is open");
	int rc = pgorm__flush(s, false, NULL);
	if (rc != 0)
		return rc;
	if ((rc = pgorm__session_savepoint(s, PGORM__SP_RELEASE, s->nest)) != 0)
		return rc;
	s->nest--;
	return 0;
}

/* After ROLLBACK TO SAVEPOINT, whether the rows this transaction wrote still exist tells what
 * the savepoint covered: a row INSERTed inside it is gone, a row DELETEd inside it is back.
 * Marks each candidate whose row exists with OBJ2_SEEN. One SELECT per model for a
 * single-column integer or text key, one per object otherwise. */
static int mark_existing_rows(pgorm_session *s, void **cand, size_t n)
{
	void **objs = pgorm__calloc(n, sizeof *objs);
	int rc = objs ? 0 : pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	pgorm__sb b;
	pgorm__sb_init(&b);
	for (size_t m = 0; m < s->reg->nmodels && rc == 0; m++) {
		pgorm__model_info *mi = &s->reg->models[m];
		const pgorm_column *pc = &mi->cols[mi->pk[0]];
		bool batch = mi->npk == 1 && pgorm__keyarray_supports(pc->type);
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (((pgorm_object *)cand[i])->model == mi->model)
				objs[k++] = cand[i];
		for (size_t i = 0; i < k && rc == 0 && !batch; i++) {
			pgorm_value keys[PGORM__MAX_PK];
			pgorm_result *res = NULL;
			pgorm__pk_values(objs[i], mi, keys);
			pgorm__sb_reset(&b);
			pgorm__sql_by_pk(&b, mi);
			rc = pgorm__sb_str(&b) ? pgorm__session_exec(s, pgorm__sb_str(&b), mi->npk, keys, &res)
			                       : pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			if (rc == 0 && pgorm_result_rows(res) > 0)
				pgorm__st(objs[i])->flags2 |= OBJ2_SEEN;
			pgorm_result_free(res);
		}
		if (k == 0 || !batch || rc != 0)
			continue;
		pgorm__keyarray keys;
		if (pgorm__keyarray_build(&keys, pc, mi->pk[0], objs, k) != 0) {
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			break;
		}
		pgorm__sb_reset(&b);
		pgorm__sb_addf(&b, "SELECT u.i FROM unnest($1%s) WITH ORDINALITY AS u(k, i) WHERE EXISTS (SELECT 1 FROM %s t WHERE t.",
		               keys.cast, mi->qtable);
		pgorm__sb_ident(&b, pc->name);
		pgorm__sb_add(&b, " = u.k)");
		pgorm_result *res = NULL;
		rc = pgorm__sb_str(&b) ? pgorm__session_exec(s, pgorm__sb_str(&b), 1, &keys.param, &res)
		                       : pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		for (size_t row = 0; rc == 0 && row < pgorm_result_rows(res); row++) {
			int64_t ord = 0;
			if (pgorm_result_int64(res, row, 0, &ord) == 0 && ord >= 1 && (size_t)ord <= k)
				pgorm__st(objs[ord - 1])->flags2 |= OBJ2_SEEN;
		}
		pgorm_result_free(res);
		pgorm__keyarray_free(&keys);
	}
	pgorm__sb_free(&b);
	pgorm__free(objs);
	return rc;
}

int pgorm_session_rollback_nested(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	if (s->nest == 0)
		return pgorm__session_fail(s, PGORM_ESTATE, "no savepoint is open");
	int rc = pgorm__session_savepoint(s, PGORM__SP_ROLLBACK_TO, s->nest);
	if (rc == 0)
		rc = pgorm__session_savepoint(s, PGORM__SP_RELEASE, s->nest);
	if (rc != 0)
		return rc;
	s->nest--;
	s->needs_rollback = false;
	s->nm2m = 0; /* association changes made inside the savepoint (begin_nested flushed the rest) */
	/* Objects INSERTed inside the savepoint leave the session (transient, keys from sequences
	 * reset), objects DELETEd inside it are persistent again, unflushed deletes are undone,
	 * pending objects become transient, everything else is expired. Which rows the savepoint
	 * covered is asked of the database (mark_existing_rows). An object both inserted and
	 * deleted by flushes of this transaction stays deleted. */
	void **cand = pgorm__calloc(s->ntracked + 1, sizeof *cand);
	if (cand == NULL)
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	pgorm__objlist stale = { 0 }; /* see holds_rolled_back_values */
	size_t nc = 0;
	for (size_t i = 0; i < s->ntracked; i++) {
		pgorm__objstate *st = pgorm__st(s->tracked[i]);
		bool flushed_del = st->state == PGORM_STATE_DELETED && !(st->flags & OBJ_IN_MAP);
		if (st->state != PGORM_STATE_PENDING && ((st->flags & OBJ_NEW_IN_TX) || flushed_del))
			cand[nc++] = s->tracked[i];
	}
	rc = nc > 0 ? mark_existing_rows(s, cand, nc) : 0;
	pgorm__free(cand);
	for (size_t i = 0; i < s->ntracked; i++) {
		void *o = s->tracked[i];
		pgorm__objstate *st = pgorm__st(o);
		pgorm__model_info *mi = pgorm__session_info(s, o);
		bool exists = (st->flags2 & OBJ2_SEEN) != 0;
		st->flags2 &= (uint8_t)~OBJ2_SEEN;
		if (st->state == PGORM_STATE_PENDING) {
			back_to_transient(s, o, mi); /* a flush that failed inside the savepoint may have given it a key */
			continue;
		}
		if (rc == 0 && st->state == PGORM_STATE_DELETED && !(st->flags & OBJ_IN_MAP)) {
			if (exists) { /* deleted inside the savepoint: back */
				st->state = PGORM_STATE_PERSISTENT;
				st->flags2 &= (uint8_t)~OBJ2_WAS_DELETED;
				if (pgorm__imap_find(&s->imap, mi, o) == NULL)
					(void)pgorm__imap_put(&s->imap, mi, o);
			}
		} else if (rc == 0 && (st->flags & OBJ_NEW_IN_TX) && !exists) { /* inserted inside it */
			back_to_transient(s, o, mi);
			continue;
		} else if (st->state == PGORM_STATE_DELETED) {
			st->state = PGORM_STATE_PERSISTENT; /* delete marked inside the savepoint, not flushed */
		}
		if (gone(o)) /* expunged: not the session's any more, its values are the user's */
			continue;
		st->flags &= (uint8_t)~OBJ_ORPHAN;
		if (rc == 0 && (holds_rolled_back_values(o, mi) || st->link_dirty != 0))
			(void)pgorm__objlist_push(&stale, o); /* out of memory: it keeps them, expired */
		st->link_dirty = 0;
		pgorm__snapshot(o, mi);
		expire_obj(o, NULL);
	}
	forget_all_rolled_back_links(s);
	if (rc == 0 && stale.n > 0) /* the transaction goes on: read inside it */
		rc = reload_rolled_back(s, &stale);
	if (rc == 0)
		relink_from_keys(s, &stale);
	pgorm__free(stale.items);
	/* flushed deletes that the savepoint undid are no longer pending detachment */
	size_t k = 0;
	for (size_t i = 0; i < s->nflushed_deleted; i++)
		if (pgorm__st(s->flushed_deleted[i])->state == PGORM_STATE_DELETED)
			s->flushed_deleted[k++] = s->flushed_deleted[i];
	s->nflushed_deleted = k;
	compact_tracked(s);
	if (rc == 0)
		pgorm_error_clear(&s->err);
	return rc;
}

/* ---- collection assignment ---- */

int pgorm_rel_replace(pgorm_session *s, const pgorm_rel *r, void *parent, void *const *items, size_t n)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_check_usable(s, parent, "pgorm_rel_replace");
	if (rc != 0)
		return rc;
	if (r == NULL || r->scalar || r->owner->model != ((pgorm_object *)parent)->model)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_replace: %s is not a collection of %s",
		                           r ? r->name : "(NULL relationship)", ((pgorm_object *)parent)->model->table);
	if (n > 0 && items == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_replace: items is NULL");
	/* everything checked before anything changes */
	for (size_t i = 0; i < n; i++) {
		if ((rc = pgorm__session_check_usable(s, items[i], "pgorm_rel_replace")) != 0)
			return rc;
		if (((pgorm_object *)items[i])->model != r->target->model)
			return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_replace: %s.%s holds %s objects, item %zu is a %s",
			                           r->owner->model->table, r->name, r->target->model->table, i,
			                           ((pgorm_object *)items[i])->model->table);
		for (size_t k = 0; k < i; k++)
			if (items[k] == items[i])
				return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_replace: item %zu is also item %zu", i, k);
	}
	if (!((pgorm__st(parent)->loaded >> r->index) & 1) && pgorm__st(parent)->state == PGORM_STATE_DETACHED)
		return pgorm__session_fail(s, PGORM_ESTATE,
		                           "pgorm_rel_replace: %s.%s is not loaded and the %s object is detached (in no "
		                           "session): pgorm_session_add or pgorm_session_merge it first",
		                           r->owner->model->table, r->name, r->owner->model->table);
	if (!((pgorm__st(parent)->loaded >> r->index) & 1) && pgorm__st(parent)->state == PGORM_STATE_PERSISTENT &&
	    (rc = pgorm__load_lazy(s, r, parent)) != 0)
		return rc;
	pgorm_collection *c = pgorm__coll(parent, r);
	for (size_t i = c->len; i-- > 0 && rc == 0;) {
		bool keep = false;
		for (size_t k = 0; k < n && !keep; k++)
			keep = items[k] == c->items[i];
		if (!keep)
			rc = pgorm_rel_remove(s, r, parent, c->items[i]);
	}
	for (size_t k = 0; k < n && rc == 0; k++)
		if (!pgorm__coll_contains(c, items[k]))
			rc = pgorm_rel_append(s, r, parent, items[k]);
	if (rc == 0 && n > 0 && c->len == n) /* the order given */
		memcpy(c->items, items, n * sizeof *items);
	return rc;
}

/* ---- state queries ---- */

int pgorm_session_expire_all(pgorm_session *s)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_thread_check(s, "pgorm_session_expire_all");
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < s->ntracked; i++)
		if (pgorm__st(s->tracked[i])->state == PGORM_STATE_PERSISTENT)
			expire_obj(s->tracked[i], NULL);
	return 0;
}

/* Resolve attribute names to a column mask and a relationship list. */
static int attrs_of(pgorm_session *s, void *obj, const char *const *names, size_t n, const char *what,
                    uint64_t *cols, const pgorm_rel **rels, size_t *nrels)
{
	pgorm__model_info *mi = pgorm__session_info(s, obj);
	*cols = 0;
	*nrels = 0;
	if (n > 0 && names == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "%s: names is NULL", what);
	for (size_t i = 0; i < n; i++) {
		const pgorm_column *c = NULL;
		long ci = names[i] ? col_of(obj, names[i], &c) : -1;
		const pgorm_rel *r = names[i] && ci < 0 ? pgorm_registry_rel(s->reg, mi->model, names[i]) : NULL;
		if (ci >= 0)
			*cols |= 1ULL << ci;
		else if (r != NULL && *nrels < PGORM__MAX_RELS)
			rels[(*nrels)++] = r;
		else
			return pgorm__session_fail(s, PGORM_EINVAL, "%s: %s has no column or relationship \"%s\"", what,
			                           mi->model->table, names[i] ? names[i] : "(NULL)");
	}
	return 0;
}

int pgorm_session_expire_attrs(pgorm_session *s, void *obj, const char *const *names, size_t n)
{
	if (s == NULL)
		return PGORM_EINVAL;
	int rc = pgorm__session_check_obj(s, obj, "pgorm_session_expire_attrs");
	uint64_t cols = 0;
	const pgorm_rel *rels[PGORM__MAX_RELS];
	size_t nrels = 0;
	if (rc == 0)
		rc = attrs_of(s, obj, names, n, "pgorm_session_expire_attrs", &cols, rels, &nrels);
	if (rc != 0)
		return rc;
	pgorm__objstate *st = pgorm__st(obj);
	pgorm__model_info *mi = pgorm__session_info(s, obj);
	pgorm__observe(obj, mi);
	st->dirty &= ~cols; /* unflushed changes to them are discarded, as SQLAlchemy's expire */
	if (cols != 0)
		st->flags |= OBJ_EXPIRED; /* the next load overwrites every column not changed since */
	for (size_t i = 0; i < nrels; i++) {
		st->loaded &= ~(1u << rels[i]->index);
		if (!rels[i]->scalar) {
			pgorm_collection *c = pgorm__coll(obj, rels[i]);
			c->len = 0;
			if (c->priv != NULL)
				c->priv->nadded = c->priv->nremoved = 0;
		}
	}
	return 0;
}

int pgorm_session_refresh_attrs(pgorm_session *s, void *obj, const char *const *names, size_t n)
{
	int rc = pgorm_session_expire_attrs(s, obj, names, n);
	if (rc != 0)
		return rc;
	if (pgorm__st(obj)->state != PGORM_STATE_PERSISTENT)
		return pgorm__session_fail(s, PGORM_ESTATE, "pgorm_session_refresh_attrs: object is not persistent");
	uint64_t cols = 0;
	const pgorm_rel *rels[PGORM__MAX_RELS];
	size_t nrels = 0;
	attrs_of(s, obj, names, n, "pgorm_session_refresh_attrs", &cols, rels, &nrels);
	if (cols != 0) {
		pgorm__model_info *mi = pgorm__session_info(s, obj);
		pgorm_value keys[PGORM__MAX_PK];
		pgorm__pk_values(obj, mi, keys);
		void *got = NULL;
		rc = pgorm__load_by_pk(s, mi, keys, false, &got); /* expired: columns changed since are kept */
		if (rc == PGORM_ENOTFOUND)
			pgorm__detach(s, obj);
	}
	for (size_t i = 0; i < nrels && rc == 0; i++)
		rc = pgorm__load_lazy(s, rels[i], obj);
	return rc;
}

bool pgorm_object_is_modified(const void *obj)
{
	const pgorm_object *h = obj;
	if (h == NULL || h->priv == NULL || pgorm__obj_info(obj) == NULL)
		return false;
	pgorm__objstate *st = h->priv;
	if (st->state == PGORM_STATE_PENDING)
		return true;
	if (st->state != PGORM_STATE_PERSISTENT && st->state != PGORM_STATE_DETACHED)
		return false;
	/* a detached object's changes are what an add would flush */
	pgorm__observe((void *)obj, pgorm__obj_info(obj));
	if (st->dirty != 0 || st->link_dirty != 0)
		return true;
	/* relationship changes recorded in its memory while detached (pgorm__graph_record) */
	struct pgorm_graph *root = pgorm__graph_root(st->graph);
	for (struct pgorm_graph *g = root->nhist_all > 0 ? root : NULL; g != NULL; g = g->next)
		for (size_t i = 0; i < g->nhist; i++)
			if (g->hist[i].a == obj || (g->hist[i].b == obj && g->hist[i].rel->kind == PGORM_REL_MANY_TO_MANY))
				return true;
	return false;
}

bool pgorm_session_contains(const pgorm_session *s, const void *obj)
{
	const pgorm_object *h = obj;
	if (s == NULL || h == NULL || h->priv == NULL || h->priv->session != s)
		return false;
	uint8_t state = h->priv->state;
	return state == PGORM_STATE_PENDING || state == PGORM_STATE_PERSISTENT || state == PGORM_STATE_DELETED;
}

bool pgorm_object_is_marked_deleted(const void *obj)
{
	const pgorm_object *h = obj;
	return h != NULL && h->priv != NULL && h->priv->state == PGORM_STATE_DELETED && (h->priv->flags & OBJ_IN_MAP);
}

bool pgorm_object_was_deleted(const void *obj)
{
	const pgorm_object *h = obj;
	return h != NULL && h->priv != NULL && (h->priv->flags2 & OBJ2_WAS_DELETED);
}

void *pgorm_session_error_object(const pgorm_session *s)
{
	return s != NULL && s->err.code != 0 ? s->err_obj : NULL;
}
