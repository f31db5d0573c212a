/* lib/relationship.h — relationship changes that keep both sides in sync (lib/relationship.c),
 * the collections' private helpers, and the cascade walks over what is in memory. */
#ifndef PGORM_RELATIONSHIP_H
#define PGORM_RELATIONSHIP_H

#include "state.h"

/* Read / write the to-one pointer of r on obj (field or header slot). */
void *pgorm__link_get(void *obj, const pgorm_rel *r);
void pgorm__link_put(void *obj, const pgorm_rel *r, void *target);
pgorm_collection *pgorm__coll(void *obj, const pgorm_rel *r);
/* The objects r reaches from obj, as an array: the collection's items, or *single (the to-one
 * target, when set) — *n is 0, 1 or the collection length. */
void **pgorm__rel_items(void *obj, const pgorm_rel *r, void **single, size_t *n);
/* Append without side effects (loading); false on out of memory. */
bool pgorm__coll_push(pgorm_session *s, pgorm_collection *c, void *item);
bool pgorm__coll_remove_item(pgorm_collection *c, void *item);
bool pgorm__coll_contains(const pgorm_collection *c, const void *item);
/* Merge changes queued while r of obj was not loaded. */
int pgorm__coll_merge_pending(pgorm_session *s, void *obj, const pgorm_rel *r);
/* Remove obj from every loaded collection / to-one pointer that refers to it (at commit). */
void pgorm__unlink_everywhere(pgorm_session *s, void *obj);
int pgorm__m2m_record(pgorm_session *s, const pgorm_rel *r, void *a, void *b, bool add);

/* pgorm_session_add's work once obj is known to be a mapped object of s's registry: obj and
 * what its save-update cascade reaches (through loaded relationships, and the history recorded
 * in graphs for objects in no session) are checked, then adopted (detached, or transient of a
 * closed session's memory) or made pending; association changes recorded while objects were in
 * no session move to s once s holds both objects. A refused add changes nothing.
 * Errors: PGORM_EINVAL (attached to another session, transient of another open one, model not
 * in s's registry), PGORM_ESTATE (its DELETE was flushed; s holds another object with the
 * same key), PGORM_ENOMEM. */
int pgorm__session_take(pgorm_session *s, void *obj, const char *what);
/* TRANSIENT → PENDING (tracked); other states are left alone. */
int pgorm__make_pending(pgorm_session *s, void *obj);
/* m2o is a many-to-one whose one-to-many partner cascades delete-orphan. */
bool pgorm__orphan_cascade(const pgorm_rel *m2o);
/* Expunge obj and, iteratively, what its expunge cascade reaches (pending ones become transient). */
int pgorm__expunge(pgorm_session *s, void *obj);
/* obj is no longer the session's: out of the identity map, DETACHED. */
void pgorm__detach(pgorm_session *s, void *obj);
/* obj, then every object reachable from it along relationships carrying the cascade bit
 * (loaded collections, queued additions, to-one links), each once, breadth-first (no
 * recursion); keep() decides which related objects the walk enters. out->items is malloc'd. */
int pgorm__cascade_reach(pgorm_session *s, void *obj, unsigned bit, bool (*keep)(const void *), pgorm__objlist *out);
bool pgorm__not_detached(const void *o);
bool pgorm__is_persistent(const void *o);
#endif
