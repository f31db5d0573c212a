/* pgorm/session.h — the session: identity map, object states, relationship changes that keep
 * both sides in sync, cascades, and the unit of work (flush, commit, rollback).
 *
 * Ownership: objects are allocated in memory of the session (an arena: objects, the strings
 * pgorm copies, collections, query lists), freed all at once, never one by one. That memory is
 * a graph (pgorm_graph): it is freed when its last holder lets go — the session (at
 * pgorm_session_close / _destroy) and every pgorm_graph handle (pgorm_graph_retain / _release).
 * Expunge detaches an object but does not free it. Strings stored in objects are read as
 * NUL-terminated text; pgorm never frees a string you stored, so any pointer that lives as long
 * as the object works (pgorm_strdup / pgorm_object_strdup make copies in pgorm memory).
 *
 * Detached objects (SQLAlchemy's): pgorm_session_close detaches every object (pending ones
 * become TRANSIENT, the others DETACHED) and hands their memory to the caller as a graph;
 * pgorm_session_destroy does the same and drops it, so the objects are freed unless a handle
 * (pgorm_graph_retain(pgorm_object_graph(obj))) or another session still holds their graph.
 * A detached object can be read and written (fields, pgorm_object_set_null, PGORM_SET); its
 * loaded relationships can be read, pgorm_rel_load of an unloaded one fails (PGORM_ESTATE,
 * SQLAlchemy's DetachedInstanceError), and calls that need it in a session (delete, refresh,
 * expire) refuse it (PGORM_ESTATE: "detached") until it is added or merged.
 * Its loaded relationships can be changed, as in SQLAlchemy: pgorm_rel_append / _remove /
 * _replace on a loaded collection, many-to-many included, and pgorm_rel_set of a to-one, loaded
 * or not (as SQLAlchemy's set: a many-to-one needs no previous value, a one-to-one's previous
 * child is loaded by the flush after the add), through any session s (it is used for errors;
 * the other object must be detached too, or s's, or transient in no open session); changing
 * an unloaded collection fails (PGORM_ESTATE, "…is not loaded…"). Both sides change at once (an unloaded other side queues
 * the change) and nothing is sent; the memories of the two objects are joined. An object in a
 * session (s's) linked to a detached one pulls it in by its save-update cascade, as
 * pgorm_session_add does; without that cascade, the session's flush leaves a foreign key that
 * would name an object in no session as it is (a logged warning, SQLAlchemy's "not in session").
 * pgorm_session_add(s2, obj) adopts it: it is PERSISTENT in s2 again, with the save-update
 * cascade along its loaded graph and along what left its relationships while detached (the
 * relationship's history in SQLAlchemy: a child removed from its collection, a many-to-one's
 * previous target, a tag removed from a many-to-many): detached objects reached are adopted,
 * new (transient) ones become PENDING. An object reached that another open session holds makes
 * the add fail (PGORM_EINVAL, SQLAlchemy's "already attached to session"), checked before
 * anything changes. s2's flush then writes what was changed since the last load or flush:
 * columns as UPDATEs, new children INSERTed with the parent's key, removed children's foreign
 * keys NULL (DELETE under delete-orphan), many-to-one changes, association rows inserted and
 * deleted (those once s2 holds both of their objects). pgorm_session_close keeps the unflushed
 * changes of the session's objects with them the same way (a child removed from a loaded
 * collection is reached again by adding its parent; association changes). Adopting joins
 * the object's graph to s2's memory: from then on they are freed together, when s2 and every
 * handle on either have let go. pgorm_session_merge(s2, obj) copies instead and leaves obj
 * detached and its graph apart: use it for objects kept in a cache across requests (the
 * cache's memory then stays its own). Objects to keep are best detached without a commit, or
 * with expire_on_commit off: a commit expires collections (they show nothing), and an expired
 * relationship cannot be loaded while detached. Using an object after its graph was freed is
 * a use after free, as with any freed memory: keep a handle as long as you keep the objects.
 * A graph, its objects and the sessions that adopted from it are used by one thread at a time.
 *
 * Thread safety: a session is used by one thread at a time (checked in debug builds). It
 * takes a connection from its pool on first use and gives it back at commit / rollback.
 *
 * Object states (SQLAlchemy's): TRANSIENT (new, not in the unit of work), PENDING (added,
 * INSERT at next flush), PERSISTENT (has a row), DELETED (marked for deletion, or DELETE
 * flushed and not committed: pgorm_object_is_marked_deleted / pgorm_object_was_deleted tell
 * which, as SQLAlchemy's session.deleted / was_deleted), DETACHED (expunged, deleted and
 * committed, or its session closed).
 *
 * Expiry: C cannot trap a field read, so an expired object keeps its last values in its
 * fields; the next query or get that returns its row overwrites them, and expired
 * collections must be loaded again with pgorm_rel_load.
 *
 * In-doubt commit (PGORM_ECOMMIT_UNKNOWN): when the connection is lost after COMMIT was sent
 * and before its reply arrived, nobody on the client side can know whether the transaction
 * committed — the server may have committed and then lost the reply. pgorm_session_commit then
 * returns PGORM_ECOMMIT_UNKNOWN (the lost connection's message and SQLSTATE, if any, in
 * pgorm_session_error) and leaves the objects as after a successful commit, all expired:
 * inserted ones PERSISTENT with their keys, deleted ones DETACHED. Generated keys are reserved
 * before the INSERTs when another row of the commit needs one (a child's foreign key); when none
 * does, the INSERTs read them back with RETURNING in the batch that carries COMMIT, and if that
 * batch's answer is lost those new objects cannot know their keys: they leave the session
 * TRANSIENT, key unset (the error message says how many; pgorm_session_error_object is the
 * first), and their rows may exist: look for them by another column before adding them again. No rollback is needed (one is accepted and changes nothing); the
 * connection is given back (a pool drops it). Do not simply do the work again: if it
 * committed, that writes it twice. Find out first. pgorm_session_refresh on an object the
 * transaction inserted returns 0 if its row exists (it committed) and PGORM_ENOTFOUND if not
 * (it did not; the object is then detached: redo the work with new objects). When the work
 * has no row to look up by key (updates, deletes, server-generated values), write an
 * idempotency key in the same transaction (a UNIQUE column such as a request id) and look
 * for it, or let its unique constraint refuse the second attempt. A failure before COMMIT
 * was sent (flush errors, a connection already known lost) is not in doubt: it is reported as
 * itself and the transaction did not commit; nor is a session joined to the caller's
 * transaction, which sends no COMMIT. Round trips: BEGIN travels with the transaction's first
 * statements and a commit's COMMIT with its flush's statements (when nothing read back must be
 * checked first: no version column, no RETURNING but of generated keys); a statement the server refuses there makes
 * it skip the COMMIT (not in doubt, reported as itself), while a connection lost after that
 * batch went out and before COMMIT's answer is in doubt, as above. SQLAlchemy (and any client of any database) has
 * the same hazard; it reports it as a plain connection error.
 */
#ifndef PGORM_SESSION_H
#define PGORM_SESSION_H

#include "common.h"
#include "error.h"
#include "exec.h"
#include "model.h"

PGORM_BEGIN_DECLS

typedef struct pgorm_session pgorm_session;
/* The memory of objects: see "Ownership" above. */
typedef struct pgorm_graph pgorm_graph;
struct pgorm_pool;

typedef enum pgorm_state {
	PGORM_STATE_TRANSIENT = 0,
	PGORM_STATE_PENDING,
	PGORM_STATE_PERSISTENT,
	PGORM_STATE_DELETED,
	PGORM_STATE_DETACHED
} pgorm_state;

typedef enum pgorm_log_level { PGORM_LOG_DEBUG, PGORM_LOG_INFO, PGORM_LOG_WARNING } pgorm_log_level;
/** Log callback: message is borrowed for the call. Never receives parameter values. */
typedef void (*pgorm_log_fn)(void *ctx, pgorm_log_level level, const char *message);

typedef struct pgorm_session_config {
	bool autoflush;              /* flush before queries (default true) */
	bool expire_on_commit;       /* expire everything at commit (default true) */
	pgorm_log_fn log;            /* warnings (N+1, skipped cascades), optional */
	void *log_ctx;
	pgorm_stmt_hook stmt_hook;   /* statement log hook, passed to the connection */
	void *stmt_hook_ctx;
	bool log_params;             /* give parameter values to stmt_hook (default false) */
	unsigned nplus1_threshold;   /* lazy loads of one relationship from one result (0 = off; default 10) */
	bool nplus1_fail;            /* past the threshold: fail with PGORM_ENPLUSONE instead of a warning */
} pgorm_session_config;

#define PGORM_SESSION_CONFIG_INIT { true, true, NULL, NULL, NULL, NULL, false, 10, false }

typedef struct pgorm_stats {
	uint64_t selects, inserts, updates, deletes, other; /* statements by kind */
	uint64_t lazy_loads;         /* pgorm_rel_load calls that issued SQL */
	uint64_t round_trips;
	uint64_t identity_hits;      /* get / loads answered from the identity map */
	uint64_t flushes;
} pgorm_stats;

/** Create a session on a pool (connections borrowed per transaction) or on one connection
 * (pool NULL, conn not NULL; the session does not close it). cfg may be NULL (defaults).
 * On a connection that is already inside the caller's transaction when the session starts
 * its own, the session joins it (SQLAlchemy's join_transaction_mode="create_savepoint"): it
 * opens SAVEPOINT pgorm_join instead of BEGIN, its commit RELEASEs it (the rows are committed
 * when the caller commits), its rollback and a failed flush roll back to it, and the caller's
 * transaction stays usable. "BEGIN; run the code under test; ROLLBACK" thus leaves nothing.
 * Several sessions may share a connection, one transaction at a time: a session that wants
 * to start one while another session's is open on the connection gets PGORM_ESTATE.
 * Ownership: *out belongs to the caller (pgorm_session_destroy). reg/pool/conn must outlive it.
 * Errors: PGORM_EINVAL, PGORM_ENOMEM (message in *err). */
PGORM_API int pgorm_session_create(pgorm_session **out, const pgorm_registry *reg,
                                   struct pgorm_pool *pool, pgorm_conn *conn,
                                   const pgorm_session_config *cfg, pgorm_error *err);
/** pgorm_session_close(s, NULL), then free the session. Its objects are freed unless their
 * graph is still held (a pgorm_graph handle, a session that adopted one of them); those that
 * survive are TRANSIENT or DETACHED. Accepts NULL. */
PGORM_API void pgorm_session_destroy(pgorm_session *s);
/** SQLAlchemy's close: roll back any open transaction and give back the connection; every object
 * leaves the session (PENDING → TRANSIENT, PERSISTENT / DELETED → DETACHED, keeping the values
 * and the changes not flushed yet, relationship changes included (children taken out of a
 * collection, many-to-many appends and removes), for the session that adds them; objects the rolled-back transaction had inserted are TRANSIENT again, those it had
 * deleted are back, DETACHED). The session is empty and usable again, with new memory.
 * Ownership: *out (out may be NULL: then the memory is dropped as by pgorm_session_destroy)
 * receives a reference on the memory of the objects the session had (pgorm_graph_release).
 * Errors: PGORM_EINVAL (s NULL), PGORM_ENOMEM (nothing changed), PGORM_ESTATE (another thread). */
PGORM_API int pgorm_session_close(pgorm_session *s, pgorm_graph **out);
/** The graph (memory) obj was allocated in, or NULL; borrowed: retain it to keep obj alive
 * after its session is gone. */
PGORM_API pgorm_graph *pgorm_object_graph(const void *obj);
/** Take one more reference on g (and every graph joined to it); returns g. Accepts NULL. */
PGORM_API pgorm_graph *pgorm_graph_retain(pgorm_graph *g);
/** Drop one reference; the last one frees the memory and every object in it. Accepts NULL. */
PGORM_API void pgorm_graph_release(pgorm_graph *g);
/** The error of the most recent call on s that returned non-zero: read it right after such a
 * call. Calls that succeed do not clear it (except commit, rollback and rollback_nested), so
 * its code is meaningful only when the call you are checking failed.
 * Ownership: borrowed, valid until the next call on s. */
PGORM_API const pgorm_error *pgorm_session_error(const pgorm_session *s);
/** After a failed flush (or commit): the object the failing statement was writing, where it
 * can be known (a one-row statement; in a multi-row INSERT or UPDATE, the row whose key
 * column holds the value a unique or foreign key violation quotes), else NULL. Valid while
 * pgorm_session_error describes that failure. The flush's message then starts with
 * "<table>.<column>: " for the attribute the server's error is about. */
PGORM_API void *pgorm_session_error_object(const pgorm_session *s);
/** Copy the session's statement counters into *out (nothing when s or out is NULL). */
PGORM_API void pgorm_session_stats(const pgorm_session *s, pgorm_stats *out);
/** The connection the session holds (acquiring one if needed), or NULL with the error set. */
PGORM_API pgorm_conn *pgorm_session_connection(pgorm_session *s);
/** The registry the session was created with (borrowed), NULL for NULL s. */
PGORM_API const pgorm_registry *pgorm_session_registry(const pgorm_session *s);

/* ---- objects ---- */

/** A new zeroed TRANSIENT object of model m; every column starts never assigned (reading as
 * NULL), see "Values, NULL and never-assigned columns" in model.h.
 * Ownership: in the session's memory (see the top of this header). Returns NULL on error
 * (unknown model, ENOMEM; see session error). */
PGORM_API void *pgorm_object_new(pgorm_session *s, const pgorm_model *m);
/** Session-owned copy of str (NULL → NULL). */
PGORM_API char *pgorm_strdup(pgorm_session *s, const char *str);
/** A copy of str in obj's own memory (lives as long as obj; works on a detached object);
 * NULL for a NULL argument or out of memory. */
PGORM_API char *pgorm_object_strdup(void *obj, const char *str);
/** Assign a column NULL (is_null; the field is zeroed) or the value its field holds now (!is_null:
 * this is how a new object stores 0, false or 0.0, which a plain write cannot show; a NULL
 * pointer field still means NULL). The flush writes the column.
 * Errors: PGORM_EINVAL (not an object of a session, unknown column, NULL on a NOT NULL column;
 * the message goes to the object's session). */
PGORM_API int pgorm_object_set_null(void *obj, const char *column, bool is_null);
/** As pgorm_object_set_null(obj, <column at offset>, false): the column whose field starts at
 * byte `offset` of the struct is assigned its current value. PGORM_SET uses it.
 * Errors: PGORM_EINVAL (not an object of a session, no column at that offset). */
PGORM_API int pgorm_object_assign_at(void *obj, size_t offset);
/** Write a field and assign its column, even when the value is zero:
 * PGORM_SET(item, qty, 0). Evaluates to pgorm_object_assign_at's status. */
#define PGORM_SET(_obj, _member, _value) \
	((_obj)->_member = (_value), \
	 pgorm_object_assign_at((_obj), (size_t)((char *)&(_obj)->_member - (char *)(_obj))))
/** Whether the column is NULL (never assigned counts as NULL), after taking in the writes made
 * to the struct; false for an unknown column or a NULL obj. */
PGORM_API bool pgorm_object_is_null(const void *obj, const char *column);
/** The object's state (see the top of this header); TRANSIENT for NULL. */
PGORM_API pgorm_state pgorm_object_state(const void *obj);

/** TRANSIENT → PENDING, cascading save-update along relationships. Adding a PENDING or
 * PERSISTENT object again is a no-op (cascade still runs). A DETACHED object (of any session,
 * open or closed), or a TRANSIENT one whose session was closed, is adopted (see "Detached
 * objects" above): DETACHED → PERSISTENT with its unflushed changes (relationship changes
 * made while detached included), its graph joined to s's memory; the cascade adopts the
 * detached objects it reaches. Everything the cascade reaches is checked before anything
 * changes: a refused add leaves every object as it was. A rollback then treats it as any
 * persistent object (expired, unflushed changes discarded; it stays in s).
 * Errors: PGORM_EINVAL (NULL; it or an object its cascade reaches attached to another session,
 * or transient of another open one; model not in s's registry), PGORM_ESTATE (deleted; s
 * already holds another object with the same key — merge instead; session needs rollback),
 * PGORM_ENOMEM. */
PGORM_API int pgorm_session_add(pgorm_session *s, void *obj);
/* Delete cascade to leaf rows. The children of a deleted parent along a one-to-many with DELETE
 * cascade (passive_deletes off) whose collection is not loaded are loaded and deleted, as in
 * SQLAlchemy; in a commit's flush, when they are leaves and the session holds none of them
 * (but ones re-linked in memory), the rows are deleted without loading them, by
 * "DELETE FROM child WHERE fk = ANY($1) [AND pk <> ALL($2)]" where their DELETE by key would
 * be in the flush ($2: the re-linked ones, whose own UPDATE or DELETE decides them). Leaves: a
 * one-column key, no version, no reference to their own table, only many-to-one
 * relationships without delete, delete-orphan or post_update, and no model of the registry
 * referring to their table; the parent's key is one column, the foreign key's type. Loaded as
 * before when the session holds a persistent child of that model not re-linked in memory (the
 * rows decide where such a child belongs, and its copy may be older than its row: another
 * transaction may have moved it), a new child has its foreign key written with no parent
 * linked, a collection has changes queued other than children moved to it, or more than 1000
 * re-linked children stay in the session. The result is the load's (rows, states, links,
 * errors and their SQLSTATE) but for: the deleted parents' collection stays unloaded (after
 * the commit, detached, reading it is PGORM_ESTATE where the load left the deleted children
 * in it; a plain pgorm_session_flush loads them, so the parents' collections read right); an
 * error of that DELETE (a reference from a table outside the registry, a trigger) names no
 * object. */
/** Mark a PERSISTENT object for deletion at the next flush (PENDING ones are just dropped);
 * delete cascades are resolved at flush. Errors: PGORM_ESTATE for TRANSIENT/DETACHED objects. */
PGORM_API int pgorm_session_delete(pgorm_session *s, void *obj);
/** Remove the object from the session (DETACHED); cascades along expunge.
 * Errors: PGORM_EINVAL (NULL, not an object of this session), PGORM_ESTATE (other thread). */
PGORM_API int pgorm_session_expunge(pgorm_session *s, void *obj);
/** Reload the object's columns from its row now. Errors: PGORM_ENOTFOUND if the row is gone. */
PGORM_API int pgorm_session_refresh(pgorm_session *s, void *obj);
/** Mark the object's attributes and collections expired (see the top of this header); the
 * refresh-expire cascade takes related objects along. Errors: PGORM_EINVAL (not an object of
 * this session), PGORM_ENOMEM. */
PGORM_API int pgorm_session_expire(pgorm_session *s, void *obj);
/** Expire every persistent object of the session (SQLAlchemy's expire_all). Errors:
 * PGORM_EINVAL (NULL), PGORM_ESTATE (another thread, debug builds). */
PGORM_API int pgorm_session_expire_all(pgorm_session *s);
/** Expire only the n named attributes of obj (columns and relationships): unflushed changes
 * to those columns are discarded and the next load of the row overwrites them (and every
 * other column not changed since); named relationships are unloaded (collections show
 * nothing). Errors: PGORM_EINVAL naming the model and the unknown attribute. */
PGORM_API int pgorm_session_expire_attrs(pgorm_session *s, void *obj, const char *const *names, size_t n);
/** As pgorm_session_expire_attrs, then reload now: the row (one SELECT by key) when a column
 * is named, each named relationship (as pgorm_rel_load). Errors: those of expire_attrs,
 * PGORM_ESTATE (not persistent), PGORM_ENOTFOUND (row gone: obj detached), loader errors. */
PGORM_API int pgorm_session_refresh_attrs(pgorm_session *s, void *obj, const char *const *names, size_t n);
/** Whether the next flush has something to write for obj: PENDING, or PERSISTENT with columns
 * assigned or links changed since its last load or flush (SQLAlchemy's is_modified). */
PGORM_API bool pgorm_object_is_modified(const void *obj);
/** Whether obj is in s: PENDING, PERSISTENT or DELETED in s (SQLAlchemy's `obj in session`). */
PGORM_API bool pgorm_session_contains(const pgorm_session *s, const void *obj);
/** Marked for deletion by pgorm_session_delete or a cascade, DELETE not flushed yet. */
PGORM_API bool pgorm_object_is_marked_deleted(const void *obj);
/** Its DELETE was flushed: true from that flush on, also once the commit made it DETACHED;
 * false again when the transaction (or the savepoint) that deleted it rolls back. */
PGORM_API bool pgorm_object_was_deleted(const void *obj);
/** Copy the state of a detached or foreign object onto the session's object for the same key
 * (loading it if needed; a new PENDING one when no row has that key or the source has no key),
 * return that object in *out. As SQLAlchemy's merge of a graph: the relationships with the
 * merge cascade (in the default) that are loaded on the source are merged too, each related
 * object once (cycles included), and the target's relationship then holds exactly their
 * counterparts (dropped members go through the remove path). A new source contributes the
 * columns it assigned. The source objects are not changed. Errors: PGORM_EINVAL (NULL
 * argument, model not in the registry), PGORM_ETYPE, PGORM_ENOMEM, those of
 * pgorm_session_get, pgorm_rel_set/append/remove and pgorm_rel_load. */
PGORM_API int pgorm_session_merge(pgorm_session *s, const void *obj, void **out);

/** The object with primary key pk (one value per PK column, in column order): from the
 * identity map without SQL when present and not expired, else one SELECT (no autoflush, as
 * Hibernate's find: pending changes cannot move a row's key). Errors:
 * PGORM_ENOTFOUND (*out NULL), PGORM_ETYPE (pk values of the wrong type), server errors. */
PGORM_API int pgorm_session_get(pgorm_session *s, const pgorm_model *m, const pgorm_value *pk, void **out);

/* ---- unit of work ---- */

/** Send pending changes (INSERT, UPDATE of changed columns, DELETE, cascades) in one
 * transaction; batched and pipelined. On failure the database transaction is rolled back (inside
 * a savepoint: to the savepoint only, the outer work stays), the error is kept (later calls fail
 * with PGORM_ESTATE and keep its SQLSTATE/constraint), and the session accepts only
 * pgorm_session_rollback, or pgorm_session_rollback_nested inside a savepoint.
 * Errors: PGORM_ECONSTRAINT, PGORM_ESERIALIZATION, PGORM_ESERVER, PGORM_ECONN (server error
 * fields and the failed statement in pgorm_session_error), PGORM_ESTALE (a versioned row
 * changed), PGORM_ENOMEM, PGORM_ESTATE (a previous flush failed: roll back first). */
PGORM_API int pgorm_session_flush(pgorm_session *s);
/** Flush, COMMIT, expire everything (expire_on_commit), give back the connection.
 * Errors: those of pgorm_session_flush; the COMMIT's (then the session needs a rollback);
 * PGORM_ECOMMIT_UNKNOWN when the connection was lost after COMMIT was sent: the outcome is
 * unknown, see "In-doubt commit" at the top of this file. */
PGORM_API int pgorm_session_commit(pgorm_session *s);
/** ROLLBACK: pending objects leave the session (TRANSIENT), deleted ones come back,
 * everything is expired; the session is usable again (a lost connection is not an error).
 * Errors: PGORM_EINVAL (NULL), the ROLLBACK's error on a live connection (the session state
 * is reset all the same). */
PGORM_API int pgorm_session_rollback(pgorm_session *s);
/** Savepoints: begin_nested flushes then opens a SAVEPOINT; commit_nested releases it;
 * rollback_nested rolls back to it (also after a flush failed inside it): objects inserted in
 * it become TRANSIENT, objects deleted in it PERSISTENT, everything else is expired. */
PGORM_API int pgorm_session_begin_nested(pgorm_session *s);
PGORM_API int pgorm_session_commit_nested(pgorm_session *s);
PGORM_API int pgorm_session_rollback_nested(pgorm_session *s);

/** Dry run: the ordered statements the next flush would send, one per line, each followed
 * by the reason that placed it ("insert parent_table before child_table (FK parent_id)").
 * Ownership: *out is pgorm-allocated (pgorm_free). Nothing is sent; objects and their fields
 * are left as they were. Errors: PGORM_EINVAL (out NULL), PGORM_ENOMEM, PGORM_ESTATE. */
PGORM_API int pgorm_session_plan(pgorm_session *s, char **out);

/* ---- relationships (both sides change at once) ----
 * Each call takes objects of s, and objects in no session: detached ones (their relationship
 * being changed must be loaded, else PGORM_ESTATE), or transient ones of a closed session's
 * memory (see "Detached objects" above). An object of another open session is PGORM_EINVAL. */

/** Append child to parent's collection r (one-to-many or many-to-many); sets the partner
 * side. If the partner is an unloaded collection, the change is queued and merged on load.
 * Cascades save-update to the child when the parent is in the session (along r only, never
 * along its partner, as SQLAlchemy 2.0).
 * Errors: PGORM_EINVAL (NULL, wrong models, r not a collection), PGORM_ESTATE (the child's
 * DELETE was flushed and r cascades save-update: SQLAlchemy's "has been deleted"). */
PGORM_API int pgorm_rel_append(pgorm_session *s, const pgorm_rel *r, void *parent, void *child);
/** Remove child from parent's collection r; at flush its FK becomes NULL, or it is deleted
 * with delete-orphan, unless it was attached to another parent by then.
 * Errors: PGORM_EINVAL (NULL, wrong models, child not in the collection), PGORM_ENOMEM. */
PGORM_API int pgorm_rel_remove(pgorm_session *s, const pgorm_rel *r, void *parent, void *child);
/** Set a to-one relationship (many-to-one, or one-to-one) of obj to target (NULL detaches).
 * Cascades save-update along r to target; obj itself may be deleted (its DELETE flushed).
 * Errors: PGORM_EINVAL (NULL obj, wrong models, r a collection), PGORM_ENOMEM, PGORM_ESTATE
 * (target's DELETE was flushed and r cascades save-update). */
PGORM_API int pgorm_rel_set(pgorm_session *s, const pgorm_rel *r, void *obj, void *target);
/** Read a to-one relationship (works for header-stored backrefs too); no SQL. *out may be NULL.
 * Errors: PGORM_EINVAL (NULL obj, wrong model, r a collection). */
PGORM_API int pgorm_rel_get(pgorm_session *s, const pgorm_rel *r, void *obj, void **out);
/** The collection of a to-many relationship (header-stored backrefs too); no SQL. */
PGORM_API pgorm_collection *pgorm_rel_collection(pgorm_session *s, const pgorm_rel *r, void *obj);
/** Explicit lazy load: loads the collection / target if not loaded (many-to-one by PK from
 * the identity map without SQL; on an expired object its row is read first, since its FK
 * fields may be stale, keeping the columns written since the expiry). On a DETACHED object a
 * loaded relationship is returned without SQL; an unloaded one is PGORM_ESTATE (SQLAlchemy's
 * DetachedInstanceError), whichever session is passed. Counted in stats; PGORM_ERAISE under
 * the raise loader; PGORM_ENOTFOUND (obj detached) when an expired object's row is gone.
 * out (may be NULL) receives the collection (to-many) or the target pointer (to-one).
 * Errors: PGORM_EINVAL, PGORM_ERAISE, PGORM_ENPLUSONE (nplus1_fail), PGORM_ENOTFOUND,
 * PGORM_ENOMEM, PGORM_ESTATE, server and connection errors. */
PGORM_API int pgorm_rel_load(pgorm_session *s, const pgorm_rel *r, void *obj, void *out);
/** Collection assignment (SQLAlchemy's `parent.children = [c2, c3]`): r of parent holds exactly
 * items[0..n) afterwards, in that order. Members not in items go through the remove path (FK
 * NULL at flush, or DELETE under delete-orphan), new ones are appended (pulled into the session
 * by save-update), kept ones cause no statement. An unloaded collection of a persistent parent
 * is loaded first. Errors: PGORM_EINVAL (r not a collection of parent's model, NULL items,
 * an item of another model or twice: checked before anything changes), those of
 * pgorm_rel_load / pgorm_rel_append / pgorm_rel_remove. */
PGORM_API int pgorm_rel_replace(pgorm_session *s, const pgorm_rel *r, void *parent, void *const *items, size_t n);
/** Whether the relationship of obj is loaded. */
PGORM_API bool pgorm_rel_is_loaded(const pgorm_rel *r, const void *obj);

/** By-name variants (look the relationship up in obj's model). */
PGORM_API int pgorm_rel_append_by_name(pgorm_session *s, const char *rel, void *parent, void *child);
PGORM_API int pgorm_rel_set_by_name(pgorm_session *s, const char *rel, void *obj, void *target);

PGORM_END_DECLS

#endif
