/* test/integration/test_differential.c — a randomized differential test against SQLAlchemy
 * (issue 11).
 *
 * WHAT. Random sequences of operations (new, add, append, remove, set, set NULL, delete,
 * expunge, a nullable column written or set NULL, relationship reads, flush, commit, rollback)
 * run through pgorm here and through SQLAlchemy 1.4 with Session(engine, future=True) (2.0
 * behaviour) in test/differential/sa_runner.py, on the same tables created twice with the same
 * DDL: in this program's schema (pgorm) and in "<schema>_sa" (SQLAlchemy). After every
 * operation both sides record
 *   - the result: ok, or an error category (below);
 *   - the state of every object created so far (transient, pending, persistent, deleted,
 *     detached);
 *   - for relationship reads, the labels read;
 *   - after a flush the rows inside the transaction (read on the session's connection), after a
 *     commit and after a failed operation the committed rows (read on a separate connection).
 * The first operation where they differ fails the test with the seed, the operations and both
 * sides' results, states and rows.
 *
 * THE TABLES (pairs[] below; sa_runner.py builds its models from the same table, written into
 * the operation file). One parent/child pair per cascade setting, a one-to-one pair per
 * setting, a many-to-one with delete-orphan and single_parent, and two self-referential trees:
 *     d  one-to-many, default cascade (save-update, merge)
 *     a  one-to-many, all
 *     o  one-to-many, all + delete-orphan
 *     p  one-to-many, all + passive_deletes, ON DELETE CASCADE in the schema
 *     n  one-to-many, default cascade, NOT NULL foreign key
 *     m  one-to-many; the many-to-one carries all + delete-orphan + single_parent
 *     s  one-to-one (uselist=False), default cascade, UNIQUE foreign key
 *     r  one-to-one, all + delete-orphan, UNIQUE foreign key
 *     t  tree (node.parent / node.children), default cascade
 *     u  tree, all + delete-orphan
 * Every table has a label (text, unique, set by the generator when the object is made) and a
 * nullable bigint "val". Keys differ between the two sides, so rows are compared by label and
 * each foreign key is shown as the label of the row it references ("d_chi dC7>dP3 =42").
 *
 * HOW. The generator draws each operation from a seed and from pgorm's current object states
 * (so it picks operations that make sense, e.g. deletes persistent objects only), executes it
 * at once through pgorm, and appends it to an operation file (one per line). The file then
 * runs through sa_runner.py, which prints one JSON line per operation; the two records are
 * compared operation by operation. Generation follows pgorm's states: when pgorm's state is
 * wrong, the next operations look wrong to SQLAlchemy, which is reported all the same.
 *
 * ERRORS compare by category: "db:<SQLSTATE>" (pgorm: the error's SQLSTATE; SQLAlchemy: the
 * DBAPI error's pgcode), "stale" (PGORM_ESTALE, PGORM_ENOTFOUND / StaleDataError,
 * ObjectDeletedError), "invalid" (any other pgorm code / any other SQLAlchemyError,
 * ValueError, AssertionError). After a failed operation both sides roll back (pgorm needs it
 * after a failed flush, SQLAlchemy too; after other errors it keeps both sides alike).
 *
 * SEEDS. CI runs NSEQ_DEFAULT sequences of OPS_DEFAULT operations with the fixed seeds
 * 1..NSEQ_DEFAULT, so the run is deterministic (about 4,800 operations, a few seconds).
 *   PGORM_TEST_SEED=<n>       run the one sequence of seed n (printed with every failure);
 *   PGORM_TEST_SEED=random    one sequence from the clock (exploration);
 *   PGORM_TEST_SEQS=<k>       k sequences with seeds from PGORM_TEST_SEED (default 1) on;
 *   PGORM_TEST_OPS=<n>        operations per sequence;
 *   PGORM_DIFF_OPS=<file>     run an operation file (e.g. a reproducer in
 *                             test/differential/repro) instead of generating one;
 *   PGORM_DIFF_SHRINK=1       on a divergence, shrink the operations to a minimal list that
 *                             still diverges the same way, and print it (the shrinker
 *                             does not apply the generator's rules: a shrunk list can fall
 *                             into a difference listed below, so check it against the
 *                             original sequence);
 *   PGORM_DIFF_KEEP=<file>    copy the operation file there;
 *   PGORM_DIFF_TRACE=1        print every operation with both sides' results and states.
 *
 * DELIBERATE DIFFERENCES from SQLAlchemy. The generator avoids (or the runner normalizes)
 * exactly these cases, nothing else; README's "Differences from SQLAlchemy" states the
 * user-visible ones.
 *   D1 Lazy loads do not autoflush (pgorm_rel_load, and a pgorm_session_get miss): in C a
 *      relationship read is an explicit call, and a flush hidden in it would surprise. The
 *      runner runs every operation but flush/commit under session.no_autoflush, so
 *      SQLAlchemy's attribute loads (p.children.append loads p.children) do not flush.
 *   D2 Appending NULL to a collection fails at once (PGORM_EINVAL) instead of failing at the
 *      flush: the generator never appends NULL.
 *   D3 A child is in its parent's collection once: appending it again is a no-op, while
 *      SQLAlchemy's list collection holds it twice (and a later remove takes out one copy
 *      only). The generator does not attach a child to the parent it already has.
 *   D4 Delete cascades are resolved at the flush; SQLAlchemy's session.delete() marks the
 *      objects the cascade reaches at once. Object states are therefore compared after every
 *      flush, commit, rollback and failed operation only (the flush brings both sides together).
 *   D5 An expired object keeps its in-memory links (C cannot reload a field on read), also to
 *      transient objects; SQLAlchemy's expiry forgets the persistent side's end while the
 *      transient side keeps its own, so e.g. "p.child = None" after a commit no longer reaches
 *      the transient child. A transient object linked to an object in the session when a
 *      transaction ends (commit, rollback, failed operation) is not used again.
 *   D6 Re-adopting the child of a deleted parent before the flush (issue 11 item 12): pgorm
 *      resolves the delete cascade at the flush, so the re-adoption wins and the child stays;
 *      SQLAlchemy's delete cascade already marked the child, which is deleted (at the
 *      commit's second flush). From a delete that cascades until the next flush, the generator
 *      leaves alone (no relationship change, no expunge) every object linked to the deleted one.
 *   D7 Both sides of a one-to-one cut while both are expired (child.parent = None, then
 *      parent.child = None, before a flush), under delete-orphan: pgorm nulls the child's
 *      foreign key and keeps it (its many-to-one was set while unloaded, so it is no orphan);
 *      SQLAlchemy's parent side loads the child again and deletes it as an orphan. Rare enough
 *      that the generator meets it only in long runs; reproducer:
 *      test/differential/repro/d7-o2o-both-sides-unloaded.ops.
 *      The generator's D7 guards (attached, orphan_doomed) also keep a delete or an orphaning
 *      from meeting an attachment made since the last flush, also further down what the
 *      delete cascades to (delete_reaches_attached(): a grandchild attached; D4/D6 resolved at
 *      different times; repro/d7-*.ops).
 *   D8 Expunge follows the links in memory: an object that stays in the session while one it
 *      links to is expunged (the expunge cascade did not reach it) is treated differently by
 *      the two (repro/d8-*.ops); the generator does not expunge then.
 *   D9 A persistent object whose row is gone (ON DELETE CASCADE under passive_deletes): a
 *      pgorm load that finds no row detaches it (repro/d9-gone-row-refresh.ops); the
 *      generator leaves such an object alone (ghost()).
 *   D10 A many-to-one still pointing at a parent whose DELETE was flushed (loaded with the
 *      parent's collection), or the many-to-one of a child whose DELETE was flushed: not read,
 *      nor followed by an expunge. A child orphaned from its parent's side has its link cut in
 *      memory at once in pgorm ("both sides move at once"); SQLAlchemy's lazy load of the
 *      deleted child reads the old foreign key (repro/d10-*.ops).
 *   D11 An append to an unloaded collection is queued (pgorm: no I/O in an append);
 *      SQLAlchemy loads the collection first (under no_autoflush: the rows as of the last
 *      flush), and with it each child's many-to-one. So (a) a child deleted since stays in
 *      SQLAlchemy's loaded collection until the commit (lost_unloaded(): such a collection is
 *      not read), (b) a child of that collection whose parent is then set to NULL is an
 *      orphan for SQLAlchemy but not for pgorm (its many-to-one is unloaded: no orphan, as in
 *      SQLAlchemy when unloaded): the generator reads the child's parent in pgorm first
 *      (sa_loads_children()). repro/d11-*.ops.
 *   D12 single_parent (pair m): SQLAlchemy's check uses in-memory has-parent flags, which
 *      expiry resets, and is not made through the collection side; pgorm checks every link it
 *      knows. A second parent is given only where both refuse it.
 *   D13 A one-to-one parent given a second child through the child's many-to-one, or while a
 *      child it has is not in memory: pgorm cuts the previous child at once ("both sides move
 *      at once"), SQLAlchemy's backref does not reach a child it has not loaded; the two then
 *      differ on that child (its link, the UNIQUE key at the flush). Not generated
 *      (replaces_o2o_child()).
 *   D14 One-to-one replace with a UNIQUE foreign key: pgorm frees the key first (issue 11 item
 *      5); SQLAlchemy 1.4.46 runs UPDATEs in key order and an orphan's DELETE after the INSERT,
 *      and fails with 23505 for a persistent new child or a deleted orphan (repro/d14-*.ops).
 * SQLALCHEMY 1.4.46 BEHAVIOUR NOT FOLLOWED (the generator does not produce these patterns):
 *   S1 the save-update cascade from a transient child moved to a parent in the session (through
 *      the collection side) reaches its previous transient parent through the attribute
 *      history and inserts it (repro/s1-cascade-old-parent.ops);
 *   S2 a pending or transient child moved between parents under delete-orphan (s2-*);
 *   S3 a one-to-one child attached since the last flush moving to another parent: the outcome
 *      depends on SQLAlchemy's flush order (s3-*);
 *   S4 a transient one-to-one parent set to None, rolled back, flushed again: AttributeError in
 *      get_attribute_history (s4-crash.ops);
 *   S5 an object inserted and deleted in a rolled-back transaction stays "deleted": add()
 *      then inserts nothing;
 *   S7 an object deleted as an orphan at the flush does not cascade its delete to its own
 *      children (they are neither deleted nor nulled: the flush fails with 23503); pgorm
 *      deletes them (seed 113; repro/s113-orphan-with-children.ops). Not generated
 *      (orphan_has_children()).
 *   S6 after a rollback, the save-update cascade of a transient object still visits the
 *      attribute history of the rolled-back transaction: its previous parent, or a member
 *      removed from its collection / one-to-one, comes back in when it is added again
 *      (repro/s6-history-cascade.ops, s98-collection-history-cascade.ops). Such an object is
 *      retired (not used again).
 * KNOWN BUGS the generator steps around: none. The AVOID_* switches below are all 0 (every bug
 * they stepped around is fixed, each with a test_issue_* test in test_trust.c); they stay so
 * that a regression can be bisected with the old avoidance (set one to 1). The reproducers of
 * the divergences fixed run as test_issue_differential_repros (fixed_repros[] below); the
 * other files of test/differential/repro reproduce a difference listed above (they diverge).
 * Long runs: seeds 1-200 (PGORM_TEST_SEED=1 PGORM_TEST_SEQS=100 and PGORM_TEST_SEED=101
 * PGORM_TEST_SEQS=100, 600 operations each) agree on every seed; seeds 201-300 agreed but for
 * seed 275, fixed since (a one-to-one parent set to NULL while unloaded and then deleted: the
 * flush did not load its previous child and deleted the parent first, 23503; reproducer
 * s275-o2o-null-rollback-delete.ops); with that fix seeds 1-300 agree on every seed. Seeds
 * 301-400 agreed but for seed 379, fixed since (a flushed-deleted child's own many-to-one set
 * to a parent whose collection is loaded was refused: only the named relationship cascades,
 * not its backref; reproducer s379-deleted-child-sets-parent.ops). Seeds 401-500: 98 agree;
 * seed 494 was a pgorm bug, fixed (a child appended to an unloaded passive_deletes collection
 * and flushed stayed PERSISTENT when its parent was deleted; the delete cascade now reaches
 * children queued in memory; reproducer s494-passive-delete-queued-child.ops); seed 470 is D11
 * not yet stepped around by the generator (SQLAlchemy's append loaded the collection, so its
 * delete cascade also reaches a sibling pgorm never loaded: d11-s470-…ops diverges).
 */
#include "pgtest.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef DIFF_RUNNER
#error "DIFF_RUNNER (path of test/differential/sa_runner.py) must be defined by meson"
#endif
#ifndef DIFF_PYTHON
#define DIFF_PYTHON "/usr/bin/python3"
#endif

/* Known issue-11 bugs the test steps around until they are fixed: 1 = avoid, 0 = let the
 * generator produce the pattern (PGORM_DIFF_NO_AVOID=1 turns every switch off at run time, to
 * see which bugs are fixed). Each is described where it is tested. */
#ifndef AVOID_ISSUE11_ITEM1
#define AVOID_ISSUE11_ITEM1 0   /* NULL and never-assigned values */
#endif
#ifndef AVOID_ISSUE11_ITEM4
#define AVOID_ISSUE11_ITEM4 0   /* delete-orphan on a many-to-one does nothing */
#endif
/* Bugs found by this test (fixed; test_trust.c), same rule. */
#ifndef AVOID_NEW_EXPIRED_LINKS
#define AVOID_NEW_EXPIRED_LINKS 0 /* the last links of an expired relationship are followed */
#endif
#ifndef AVOID_NEW_ROLLBACK_SNAPSHOT
#define AVOID_NEW_ROLLBACK_SNAPSHOT 0 /* after a rollback, writing the rolled-back value back is lost */
#endif
#ifndef AVOID_NEW_M2O_DELETE_CASCADE
#define AVOID_NEW_M2O_DELETE_CASCADE 0 /* delete cascade along a many-to-one is not applied */
#endif
#ifndef AVOID_NEW_STALE_QUEUE
#define AVOID_NEW_STALE_QUEUE 0 /* changes queued on an unloaded collection outlive the flush */
#endif
#ifndef AVOID_NEW_LINK_DELETED
#define AVOID_NEW_LINK_DELETED 0 /* linking a deleted (flushed) object is accepted silently */
#endif
#ifndef AVOID_NEW_GHOST_ROWS
#define AVOID_NEW_GHOST_ROWS 0 /* UPDATE/DELETE of a row that is gone is a silent no-op */
#endif
#ifndef AVOID_NEW_RELOAD_OVERWRITES
#define AVOID_NEW_RELOAD_OVERWRITES 0 /* a many-to-one load re-reads the row over unflushed writes */
#endif
#ifndef AVOID_NEW_EXPUNGED_ROLLBACK
#define AVOID_NEW_EXPUNGED_ROLLBACK 0 /* expunged while pending, then a rollback: writes forgotten */
#endif
#ifndef AVOID_NEW_ORPHAN_ROLLBACK
#define AVOID_NEW_ORPHAN_ROLLBACK 0 /* many-to-one orphan status survives a rollback */
#endif
#ifndef AVOID_ISSUE11_ITEM2
#define AVOID_ISSUE11_ITEM2 0   /* a pending child removed under delete-orphan stays; re-added, it is dropped */
#endif

/* Whether switch `name` (value on) avoids its pattern: PGORM_DIFF_NO_AVOID=1 turns every switch
 * off, PGORM_DIFF_NO_AVOID=AVOID_X,AVOID_Y the named ones. */
static bool avoiding_(int on, const char *name)
{
	const char *env = getenv("PGORM_DIFF_NO_AVOID");
	if (!on || env == NULL || *env == '\0' || strcmp(env, "0") == 0)
		return on != 0;
	if (strcmp(env, "1") == 0)
		return false;
	size_t n = strlen(name);
	for (const char *p = env; (p = strstr(p, name)) != NULL; p += n)
		if ((p == env || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return false;
	return true;
}
#define avoiding(sw) avoiding_((sw), #sw)

extern char **environ;

enum { OPS_DEFAULT = 600, NSEQ_DEFAULT = 8 };

/* ---- the models: one struct for every table ---- */

typedef struct Obj Obj;
struct Obj {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *label;
	int64_t val;
	Obj *parent;                 /* child side: many-to-one */
	pgorm_collection children;   /* parent side: one-to-many */
	Obj *child;                  /* parent side: one-to-one */
};

/* NAME_par.children (a collection, or one-to-one) <-> NAME_chi.parent */
#define PAIR(n, _o2o, _pcasc, _passive, _fkflags, _ondelete, _ccasc, _cflags)                              \
	extern const pgorm_model n##_par, n##_chi;                                                         \
	static const pgorm_column n##_par_cols[] = {                                                       \
		PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Obj, id),                        \
		PGORM_COLUMN(TEXT, "label", PGORM_NOT_NULL, Obj, label),                                   \
		PGORM_COLUMN(INT8, "val", PGORM_NULLABLE, Obj, val), PGORM_COLUMN_END };                   \
	static const pgorm_relationship n##_par_rels[] = {                                                 \
		{ .name = "children", .target = &n##_chi, .kind = PGORM_REL_ONE_TO_MANY,                   \
		  .offset = (_o2o) ? offsetof(Obj, child) : offsetof(Obj, children),                       \
		  .size = (_o2o) ? sizeof(Obj *) : sizeof(pgorm_collection), .back_populates = "parent",  \
		  .cascade = (_pcasc), .passive_deletes = (_passive), .flags = (_o2o) ? PGORM_REL_SCALAR : 0u }, \
		PGORM_RELATIONSHIP_END };                                                                  \
	const pgorm_model n##_par = PGORM_MODEL(#n "_par", Obj, n##_par_cols, n##_par_rels);              \
	static const pgorm_column n##_chi_cols[] = {                                                       \
		PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Obj, id),                        \
		PGORM_COLUMN_FK(INT8, "parent_id", (_fkflags), Obj, parent_id, #n "_par", "id", (_ondelete)), \
		PGORM_COLUMN(TEXT, "label", PGORM_NOT_NULL, Obj, label),                                   \
		PGORM_COLUMN(INT8, "val", PGORM_NULLABLE, Obj, val), PGORM_COLUMN_END };                   \
	static const pgorm_relationship n##_chi_rels[] = {                                                 \
		{ .name = "parent", .target = &n##_par, .kind = PGORM_REL_MANY_TO_ONE,                     \
		  .offset = offsetof(Obj, parent), .size = sizeof(Obj *), .back_populates = "children",    \
		  .cascade = (_ccasc), .flags = (_cflags) },                                               \
		PGORM_RELATIONSHIP_END };                                                                  \
	const pgorm_model n##_chi = PGORM_MODEL(#n "_chi", Obj, n##_chi_cols, n##_chi_rels);

/* NAME_node.children <-> NAME_node.parent */
#define TREE(n, _casc)                                                                                     \
	extern const pgorm_model n##_node;                                                                 \
	static const pgorm_column n##_node_cols[] = {                                                      \
		PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Obj, id),                        \
		PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Obj, parent_id, #n "_node", "id",       \
		                PGORM_FK_NO_ACTION),                                                       \
		PGORM_COLUMN(TEXT, "label", PGORM_NOT_NULL, Obj, label),                                   \
		PGORM_COLUMN(INT8, "val", PGORM_NULLABLE, Obj, val), PGORM_COLUMN_END };                   \
	static const pgorm_relationship n##_node_rels[] = {                                                \
		{ .name = "children", .target = &n##_node, .kind = PGORM_REL_ONE_TO_MANY,                  \
		  .offset = offsetof(Obj, children), .size = sizeof(pgorm_collection),                     \
		  .back_populates = "parent", .cascade = (_casc) },                                        \
		{ .name = "parent", .target = &n##_node, .kind = PGORM_REL_MANY_TO_ONE,                    \
		  .offset = offsetof(Obj, parent), .size = sizeof(Obj *), .back_populates = "children" },  \
		PGORM_RELATIONSHIP_END };                                                                  \
	const pgorm_model n##_node = PGORM_MODEL(#n "_node", Obj, n##_node_cols, n##_node_rels);

#define ORPHAN (PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN)

PAIR(d, 0, 0, PGORM_PASSIVE_OFF, PGORM_NULLABLE, PGORM_FK_NO_ACTION, 0, 0u)
PAIR(a, 0, PGORM_CASCADE_ALL, PGORM_PASSIVE_OFF, PGORM_NULLABLE, PGORM_FK_NO_ACTION, 0, 0u)
PAIR(o, 0, ORPHAN, PGORM_PASSIVE_OFF, PGORM_NULLABLE, PGORM_FK_NO_ACTION, 0, 0u)
PAIR(p, 0, PGORM_CASCADE_ALL, PGORM_PASSIVE_ON, PGORM_NULLABLE, PGORM_FK_CASCADE, 0, 0u)
PAIR(n, 0, 0, PGORM_PASSIVE_OFF, PGORM_NOT_NULL, PGORM_FK_NO_ACTION, 0, 0u)
PAIR(m, 0, 0, PGORM_PASSIVE_OFF, PGORM_NULLABLE, PGORM_FK_NO_ACTION, ORPHAN, PGORM_REL_SINGLE_PARENT)
PAIR(s, 1, 0, PGORM_PASSIVE_OFF, PGORM_NULLABLE | PGORM_UNIQUE, PGORM_FK_NO_ACTION, 0, 0u)
PAIR(r, 1, ORPHAN, PGORM_PASSIVE_OFF, PGORM_NULLABLE | PGORM_UNIQUE, PGORM_FK_NO_ACTION, 0, 0u)
TREE(t, 0)
TREE(u, ORPHAN)

enum { K_O2M, K_O2O, K_TREE };

typedef struct pairdef {
	const char *name;            /* table prefix */
	int kind;
	const pgorm_model *pm, *cm;  /* a tree: both the node model */
	const char *sa_pcasc;        /* the parent side's cascade in SQLAlchemy's spelling */
	const char *sa_ccasc;        /* the child side's */
	bool passive, single;        /* passive_deletes (parent side), single_parent (child side) */
	const char *fk_mod;          /* DDL after "parent_id bigint" */
	const char *fk_tail;         /* DDL after "REFERENCES t(id)" */
	const pgorm_rel *down, *up;  /* children / parent, resolved at setup */
} pairdef;

#define SA_DEFAULT "save-update,merge"
#define SA_ORPHAN "all,delete-orphan"

static pairdef pairs[] = {
	{ "d", K_O2M, &d_par, &d_chi, SA_DEFAULT, SA_DEFAULT, false, false, "", "", NULL, NULL },
	{ "a", K_O2M, &a_par, &a_chi, "all", SA_DEFAULT, false, false, "", "", NULL, NULL },
	{ "o", K_O2M, &o_par, &o_chi, SA_ORPHAN, SA_DEFAULT, false, false, "", "", NULL, NULL },
	{ "p", K_O2M, &p_par, &p_chi, "all", SA_DEFAULT, true, false, "", " ON DELETE CASCADE", NULL, NULL },
	{ "n", K_O2M, &n_par, &n_chi, SA_DEFAULT, SA_DEFAULT, false, false, " NOT NULL", "", NULL, NULL },
	{ "m", K_O2M, &m_par, &m_chi, SA_DEFAULT, SA_ORPHAN, false, true, "", "", NULL, NULL },
	{ "s", K_O2O, &s_par, &s_chi, SA_DEFAULT, SA_DEFAULT, false, false, " UNIQUE", "", NULL, NULL },
	{ "r", K_O2O, &r_par, &r_chi, SA_ORPHAN, SA_DEFAULT, false, false, " UNIQUE", "", NULL, NULL },
	{ "t", K_TREE, &t_node, &t_node, SA_DEFAULT, SA_DEFAULT, false, false, "", "", NULL, NULL },
	{ "u", K_TREE, &u_node, &u_node, SA_ORPHAN, SA_DEFAULT, false, false, "", "", NULL, NULL },
};
enum { NPAIRS = sizeof pairs / sizeof pairs[0] };

/* ---- state of one run ---- */

enum { MAXOBJ = 2048, MAXOPS = 16384, LINE = 96, MAX_PARENTS = 5, MAX_CHILDREN = 10, MAX_NODES = 12 };

typedef struct dobj {
	char label[16];
	int pair;
	bool is_parent;              /* parent side (trees: false, every node is both) */
	Obj *o;
	bool retired;                /* D5: never used again */
	long retired_at;             /* since this operation */
	bool doomed;                 /* D6, D7: deleted, or linked to a deleted one, since the last flush */
	bool attached;               /* D7: given a parent since the last flush */
	bool orphan_doomed;          /* D7: an orphan (or below one) the next flush deletes */
	bool orphaned;               /* AVOID_ISSUE11_ITEM2: taken from a delete-orphan parent */
	bool touched;                /* AVOID_NEW_ROLLBACK_SNAPSHOT: named since the last commit */
	bool queued;                 /* AVOID_NEW_STALE_QUEUE: a change queued on its unloaded collection */
	bool in_queue;               /* AVOID_NEW_STALE_QUEUE: itself queued there since the last flush */
	bool val_written;            /* AVOID_NEW_RELOAD_OVERWRITES: val written since the last flush */
	bool set_none;               /* S4: its one-to-one set to None since the last commit */
	bool lost_child;             /* D11: a child of it was deleted since the last commit */
	bool sa_m2o_loaded;          /* D11: SQLAlchemy's append to its parent loaded its many-to-one */
	bool deleted_in_tx;          /* S5: deleted since the last commit */
	bool relinked_in_tx;         /* S6: its parent, or a member of its collection, changed since the last commit */
	bool expunged_in_tx;         /* AVOID_NEW_EXPUNGED_ROLLBACK: expunged since the last commit */
} dobj;

/* What one side did for one operation. */
typedef struct rec {
	char op[LINE];
	char res[24];                /* "ok", "db:23505", "stale", "invalid" */
	char *view;                  /* labels read, or NULL */
	char *states;                /* one letter per object (see sa_runner.py) */
	char *rows;                  /* snapshot, or NULL */
	bool end;                    /* a flush, commit, rollback or failed operation: states compared (D4) */
	char detail[320];
} rec;

static pgorm_registry *reg;
static pgorm_conn *conn, *check, *check_sa;
static pgorm_session *s;
static char schema_sa[96];
static char snapshot_sql[8192];
static dobj objs[MAXOBJ];
static size_t nobj;
static rec recs[MAXOPS], sarecs[MAXOPS];
static size_t nrec, nsarec;
static unsigned long long seed, rng;
static bool moved_expired[NPAIRS];  /* D1: an expired child changed parent since the last flush */
static unsigned label_no;
static FILE *opfile;
static char oppath[256];

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static size_t pick(size_t n) { return (size_t)(rnd() % n); }

static char *xstrdup(const char *str)
{
	char *d = strdup(str);
	ck_assert_msg(d != NULL, "out of memory");
	return d;
}

/* ---- schema ---- */

static void build_snapshot_sql(void)
{
	size_t k = (size_t)snprintf(snapshot_sql, sizeof snapshot_sql, "SELECT x FROM (");
	for (int i = 0; i < NPAIRS; i++) {
		const char *n = pairs[i].name;
		if (pairs[i].kind == K_TREE) {
			k += (size_t)snprintf(snapshot_sql + k, sizeof snapshot_sql - k,
			                      "%sSELECT '%s_node ' || c.label || '>' || coalesce(p.label, '-') || "
			                      "coalesce(' =' || c.val, '') FROM %s_node c LEFT JOIN %s_node p ON p.id = c.parent_id",
			                      i ? " UNION ALL " : "", n, n, n);
		} else {
			k += (size_t)snprintf(snapshot_sql + k, sizeof snapshot_sql - k,
			                      "%sSELECT '%s_par ' || label || coalesce(' =' || val, '') FROM %s_par"
			                      " UNION ALL SELECT '%s_chi ' || c.label || '>' || coalesce(p.label, '-') || "
			                      "coalesce(' =' || c.val, '') FROM %s_chi c LEFT JOIN %s_par p ON p.id = c.parent_id",
			                      i ? " UNION ALL " : "", n, n, n, n, n);
		}
	}
	k += (size_t)snprintf(snapshot_sql + k, sizeof snapshot_sql - k, ") AS s(x) ORDER BY x COLLATE \"C\"");
	ck_assert_msg(k < sizeof snapshot_sql, "snapshot query too long");
}

/* Drop and create every table on c (whose search_path selects the schema). */
static void create_tables(pgorm_conn *c)
{
	char sql[512];
	for (int i = NPAIRS; i-- > 0;) {
		const char *n = pairs[i].name;
		if (pairs[i].kind == K_TREE)
			snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s_node", n);
		else
			snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s_chi, %s_par", n, n);
		pgtest_exec(c, sql);
	}
	for (int i = 0; i < NPAIRS; i++) {
		const pairdef *pd = &pairs[i];
		const char *n = pd->name;
		if (pd->kind == K_TREE) {
			snprintf(sql, sizeof sql,
			         "CREATE TABLE %s_node (id bigserial PRIMARY KEY, parent_id bigint REFERENCES %s_node(id), "
			         "label text NOT NULL UNIQUE, val bigint)", n, n);
			pgtest_exec(c, sql);
			continue;
		}
		snprintf(sql, sizeof sql, "CREATE TABLE %s_par (id bigserial PRIMARY KEY, label text NOT NULL UNIQUE, val bigint)", n);
		pgtest_exec(c, sql);
		snprintf(sql, sizeof sql,
		         "CREATE TABLE %s_chi (id bigserial PRIMARY KEY, parent_id bigint%s REFERENCES %s_par(id)%s, "
		         "label text NOT NULL UNIQUE, val bigint)", n, pd->fk_mod, n, pd->fk_tail);
		pgtest_exec(c, sql);
	}
}

/* Unchecked fixtures: this program's schema (pgorm) and "<schema>_sa" (SQLAlchemy). */
static void schemas_setup(void)
{
	pgtest_schema_setup();
	snprintf(schema_sa, sizeof schema_sa, "%s_sa", pgtest_schema());
	pgorm_conn *c = pgtest_connect_mode(PGORM_STMT_UNNAMED);
	char sql[256];
	snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", schema_sa);
	pgtest_exec(c, sql);
	snprintf(sql, sizeof sql, "CREATE SCHEMA \"%s\"", schema_sa);
	pgtest_exec(c, sql);
	pgorm_conn_close(c);
}

static void schemas_teardown(void)
{
	pgorm_error err;
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = getenv("PGORM_TEST_DSN");
	pgorm_conn *c = NULL;
	if (cfg.conninfo && pgorm_conn_connect(&c, &cfg, &err) == 0) {
		char sql[256];
		snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", schema_sa);
		pgorm_conn_exec(c, sql, 0, NULL, NULL);
		pgorm_conn_close(c);
	}
	pgtest_schema_teardown();
}

static void setup(void)
{
	const pgorm_model *models[2 * NPAIRS];
	size_t nm = 0;
	for (int i = 0; i < NPAIRS; i++) {
		models[nm++] = pairs[i].pm;
		if (pairs[i].cm != pairs[i].pm)
			models[nm++] = pairs[i].cm;
	}
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(&reg, models, nm, &err) == 0, "registry: %s", err.message);
	for (int i = 0; i < NPAIRS; i++) {
		pairs[i].down = pgorm_registry_rel(reg, pairs[i].pm, "children");
		pairs[i].up = pgorm_registry_rel(reg, pairs[i].cm, "parent");
		ck_assert(pairs[i].down && pairs[i].up);
	}
	conn = pgtest_connect();
	check = pgtest_connect();
	check_sa = pgtest_connect();
	char sql[160];
	snprintf(sql, sizeof sql, "SET search_path TO \"%s\"", schema_sa);
	pgtest_exec(check_sa, sql);
	build_snapshot_sql();
	s = NULL;
}

static void free_recs(rec *r, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free(r[i].view);
		free(r[i].states);
		free(r[i].rows);
	}
	memset(r, 0, *n * sizeof *r);
	*n = 0;
}

static void teardown(void)
{
	pgorm_session_destroy(s);
	s = NULL;
	pgorm_conn_close(conn);
	pgorm_conn_close(check);
	pgorm_conn_close(check_sa);
	pgorm_registry_destroy(reg);
	free_recs(recs, &nrec);
	free_recs(sarecs, &nsarec);
}

/* Fresh tables on both sides, a fresh session, no objects, an empty operation file. */
static void start_run(void)
{
	pgorm_session_destroy(s);
	create_tables(check);
	create_tables(check_sa);
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	cfg.nplus1_threshold = 0;
	pgorm_error err;
	ck_assert_int_eq(pgorm_session_create(&s, reg, NULL, conn, &cfg, &err), 0);
	nobj = 0;
	label_no = 0;
	free_recs(recs, &nrec);
	free_recs(sarecs, &nsarec);
	const char *tmp = getenv("TMPDIR");
	snprintf(oppath, sizeof oppath, "%s/pgorm-diff-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(oppath);
	ck_assert_msg(fd >= 0, "mkstemp %s: %s", oppath, strerror(errno));
	opfile = fdopen(fd, "w");
	ck_assert(opfile != NULL);
	for (int i = 0; i < NPAIRS; i++) {
		const pairdef *pd = &pairs[i];
		fprintf(opfile, "#pair %s %s %s %s %d %d\n", pd->name,
		        pd->kind == K_TREE ? "tree" : pd->kind == K_O2O ? "o2o" : "o2m", pd->sa_pcasc, pd->sa_ccasc,
		        pd->passive, pd->single);
	}
	fprintf(opfile, "#snapshot %s\n", snapshot_sql);
}

/* ---- the pgorm side ---- */

static char *snapshot(pgorm_conn *c)
{
	pgorm_result *r = NULL;
	int rc = pgorm_conn_exec(c, snapshot_sql, 0, NULL, &r);
	ck_assert_msg(rc == 0, "snapshot: %s", pgorm_conn_error(c)->message);
	size_t n = pgorm_result_rows(r), len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(pgorm_result_text(r, i, 0)) + 1;
	char *out = malloc(len), *p = out;
	ck_assert(out != NULL);
	*p = '\0';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? ";" : "", pgorm_result_text(r, i, 0));
	pgorm_result_free(r);
	return out;
}

static char state_letter(const void *o)
{
	switch (pgorm_object_state(o)) {
	case PGORM_STATE_TRANSIENT: return 'T';
	case PGORM_STATE_PENDING: return 'P';
	case PGORM_STATE_PERSISTENT: return 'S';
	case PGORM_STATE_DELETED: return 'D';
	case PGORM_STATE_DETACHED: return 'X';
	}
	return '?';
}

static char *states(void)
{
	char *out = malloc(nobj + 1);
	ck_assert(out != NULL);
	for (size_t i = 0; i < nobj; i++)
		out[i] = state_letter(objs[i].o);
	out[nobj] = '\0';
	return out;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted labels of n objects, comma-separated ("-" for none when scalar). */
static char *labels(void *const *items, size_t n, bool scalar)
{
	if (scalar && n == 0)
		return xstrdup("-");
	const char **l = malloc((n ? n : 1) * sizeof *l);
	ck_assert(l != NULL);
	size_t len = 1;
	for (size_t i = 0; i < n; i++) {
		l[i] = ((const Obj *)items[i])->label;
		len += strlen(l[i]) + 1;
	}
	qsort(l, n, sizeof *l, cmp_str);
	char *out = malloc(len), *p = out;
	ck_assert(out != NULL);
	*p = '\0';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", l[i]);
	free(l);
	return out;
}

static int find(const char *label)
{
	for (size_t i = 0; i < nobj; i++)
		if (strcmp(objs[i].label, label) == 0)
			return (int)i;
	return -1;
}

static Obj *obj_of(const char *label)
{
	if (strcmp(label, "-") == 0)
		return NULL;
	int k = find(label);
	ck_assert_msg(k >= 0, "operation file: unknown label %s", label);
	return objs[k].o;
}

static const pairdef *pair_of_obj(const char *label)
{
	int k = find(label);
	ck_assert_msg(k >= 0, "operation file: unknown label %s", label);
	return &pairs[objs[k].pair];
}

static void categorize(int rc, rec *r)
{
	const pgorm_error *e = pgorm_session_error(s);
	bool server = rc == PGORM_ECONSTRAINT || rc == PGORM_ESERVER || rc == PGORM_ESERIALIZATION;
	if (server && e->sqlstate[0])
		snprintf(r->res, sizeof r->res, "db:%s", e->sqlstate);
	else if (rc == PGORM_ESTALE || rc == PGORM_ENOTFOUND)
		snprintf(r->res, sizeof r->res, "stale");
	else
		snprintf(r->res, sizeof r->res, "invalid");
	snprintf(r->detail, sizeof r->detail, "%s: %s", pgorm_err_name(rc), e->message);
}

/* Run one operation line through pgorm and record what happened. */
static void exec_line(const char *line, rec *r)
{
	char buf[LINE], *w[4] = { NULL, NULL, NULL, NULL };
	snprintf(buf, sizeof buf, "%s", line);
	snprintf(r->op, sizeof r->op, "%s", line);
	size_t nw = 0;
	for (char *t = strtok(buf, " "); t && nw < 4; t = strtok(NULL, " "))
		w[nw++] = t;
	ck_assert_msg(nw >= 1, "empty operation");
	const char *op = w[0];
	int rc = 0;
	enum { NONE, TX, COMMITTED } rows = NONE;
#define ARGS(k) ck_assert_msg(nw == (k) + 1, "operation '%s' needs %d argument(s)", line, (k))
	if (strcmp(op, "new") == 0) {
		ARGS(2);
		ck_assert_msg(find(w[1]) < 0 && nobj < MAXOBJ, "new %s: duplicate label or too many objects", w[1]);
		const pgorm_model *m = NULL;
		int pi = -1;
		bool is_parent = false;
		for (int i = 0; i < NPAIRS && m == NULL; i++) {
			if (strcmp(pairs[i].pm->table, w[2]) == 0) {
				m = pairs[i].pm;
				is_parent = pairs[i].kind != K_TREE;
				pi = i;
			} else if (strcmp(pairs[i].cm->table, w[2]) == 0) {
				m = pairs[i].cm;
				pi = i;
			}
		}
		ck_assert_msg(m != NULL, "new: unknown table %s", w[2]);
		Obj *o = pgorm_object_new(s, m);
		ck_assert_msg(o != NULL, "pgorm_object_new: %s", pgorm_session_error(s)->message);
		o->label = pgorm_strdup(s, w[1]);
		dobj *d = &objs[nobj++];
		*d = (dobj){ .o = o };
		snprintf(d->label, sizeof d->label, "%s", w[1]);
		d->pair = pi;
		d->is_parent = is_parent;
	} else if (strcmp(op, "add") == 0) {
		ARGS(1);
		rc = pgorm_session_add(s, obj_of(w[1]));
	} else if (strcmp(op, "delete") == 0) {
		ARGS(1);
		rc = pgorm_session_delete(s, obj_of(w[1]));
	} else if (strcmp(op, "expunge") == 0) {
		ARGS(1);
		rc = pgorm_session_expunge(s, obj_of(w[1]));
	} else if (strcmp(op, "val") == 0) {
		ARGS(2);
		Obj *o = obj_of(w[1]);
		if (strcmp(w[2], "-") == 0) {
			o->val = 0;
			rc = pgorm_object_set_null(o, "val", true);
		} else {
			o->val = strtoll(w[2], NULL, 10);
			if (avoiding(AVOID_ISSUE11_ITEM1))
				rc = pgorm_object_set_null(o, "val", false);
		}
	} else if (strcmp(op, "append") == 0) {
		ARGS(2);
		rc = pgorm_rel_append(s, pair_of_obj(w[1])->down, obj_of(w[1]), obj_of(w[2]));
	} else if (strcmp(op, "remove") == 0) {
		ARGS(2);
		rc = pgorm_rel_remove(s, pair_of_obj(w[1])->down, obj_of(w[1]), obj_of(w[2]));
	} else if (strcmp(op, "set1") == 0) {
		ARGS(2);
		rc = pgorm_rel_set(s, pair_of_obj(w[1])->down, obj_of(w[1]), obj_of(w[2]));
	} else if (strcmp(op, "setparent") == 0) {
		ARGS(2);
		rc = pgorm_rel_set(s, pair_of_obj(w[1])->up, obj_of(w[1]), obj_of(w[2]));
	} else if (strcmp(op, "children") == 0) {
		ARGS(1);
		const pairdef *pd = pair_of_obj(w[1]);
		void *out = NULL;
		rc = pgorm_rel_load(s, pd->down, obj_of(w[1]), &out);
		if (rc == 0 && pd->kind == K_O2O)
			r->view = labels(&out, out != NULL, true);
		else if (rc == 0)
			r->view = labels(((pgorm_collection *)out)->items, ((pgorm_collection *)out)->len, false);
	} else if (strcmp(op, "parent") == 0) {
		ARGS(1);
		void *out = NULL;
		rc = pgorm_rel_load(s, pair_of_obj(w[1])->up, obj_of(w[1]), &out);
		if (rc == 0)
			r->view = labels(&out, out != NULL, true);
	} else if (strcmp(op, "refresh") == 0) {
		ARGS(1);
		rc = pgorm_session_refresh(s, obj_of(w[1]));
	} else if (strcmp(op, "flush") == 0) {
		ARGS(0);
		rc = pgorm_session_flush(s);
		rows = TX;
	} else if (strcmp(op, "commit") == 0) {
		ARGS(0);
		rc = pgorm_session_commit(s);
		rows = COMMITTED;
	} else if (strcmp(op, "rollback") == 0) {
		ARGS(0);
		rc = pgorm_session_rollback(s);
	} else {
		ck_abort_msg("unknown operation '%s'", line);
	}
#undef ARGS
	snprintf(r->res, sizeof r->res, "ok");
	r->detail[0] = '\0';
	if (rc != 0) {
		categorize(rc, r);
		free(r->view);
		r->view = NULL;
		int rb = pgorm_session_rollback(s);
		ck_assert_msg(rb == 0, "rollback after a failed operation: %s", pgorm_session_error(s)->message);
		rows = COMMITTED;
	}
	r->end = rows != NONE || strcmp(op, "rollback") == 0;
	if (rows == TX)
		r->rows = snapshot(conn);
	else if (rows == COMMITTED)
		r->rows = snapshot(check);
	r->states = states();
}

static void after_op(const rec *r);
static bool generating, step_failed;
static bool replay_uses_retired;   /* a replayed operation names an object retired before it */

/* Execute one operation and append it to the file. While generating, the rest of a step
 * after a failed operation (or a rollback) is dropped: it was planned for a state that is gone. */
static void emit(const char *fmt, ...)
{
	if (generating && step_failed)
		return;
	ck_assert_msg(nrec < MAXOPS, "too many operations");
	char line[LINE];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(opfile, "%s\n", line);
	if (!generating && strncmp(line, "new ", 4) != 0) {
		char copy[LINE], *save = NULL;
		snprintf(copy, sizeof copy, "%s", line);
		for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			int k = find(t);
			if (k >= 0 && objs[k].retired)
				replay_uses_retired = true;
		}
	}
	exec_line(line, &recs[nrec++]);
	after_op(&recs[nrec - 1]);
	if (strcmp(recs[nrec - 1].res, "ok") != 0 || strcmp(recs[nrec - 1].op, "rollback") == 0)
		step_failed = true;
}

/* ---- the generator ---- */

#define SM(st) (1u << (st))
#define LIVE (SM(PGORM_STATE_TRANSIENT) | SM(PGORM_STATE_PENDING) | SM(PGORM_STATE_PERSISTENT) | SM(PGORM_STATE_DELETED))
#define ALIVE (SM(PGORM_STATE_TRANSIENT) | SM(PGORM_STATE_PENDING) | SM(PGORM_STATE_PERSISTENT))
#define INSESSION (SM(PGORM_STATE_PENDING) | SM(PGORM_STATE_PERSISTENT))

enum { ROLE_ANY, ROLE_PARENT, ROLE_CHILD };

static pgorm_state state(int k) { return pgorm_object_state(objs[k].o); }
static bool is_transient(const Obj *o) { return pgorm_object_state(o) == PGORM_STATE_TRANSIENT; }

static bool role_ok(const dobj *d, int role)
{
	if (pairs[d->pair].kind == K_TREE || role == ROLE_ANY)
		return true;
	return d->is_parent == (role == ROLE_PARENT);
}

static bool ghost(int k);

static bool usable(int k, int pair, int role, unsigned mask)
{
	return objs[k].pair == pair && !objs[k].retired && role_ok(&objs[k], role) && (mask & SM(state(k))) &&
	       !ghost(k);
}

/* A random usable object of the pair created in (lo, hi) (trees: a parent is older than its
 * child, so no operation makes a cycle); -1 when there is none. */
static int pick_in(int pair, int role, unsigned mask, int lo, int hi)
{
	int cand[MAXOBJ];
	size_t n = 0;
	for (int i = lo + 1; i < hi; i++)
		if (usable(i, pair, role, mask))
			cand[n++] = i;
	return n ? cand[pick(n)] : -1;
}

static int pick_obj(int pair, int role, unsigned mask) { return pick_in(pair, role, mask, -1, (int)nobj); }

static size_t count(int pair, int role, unsigned mask)
{
	size_t n = 0;
	for (size_t i = 0; i < nobj; i++)
		n += usable((int)i, pair, role, mask);
	return n;
}

static int index_of(const Obj *o)
{
	for (size_t i = 0; i < nobj; i++)
		if (objs[i].o == o)
			return (int)i;
	return -1;
}

/* Whether objs[a] and objs[b] are linked: in memory, or by the FK value last read or flushed. */
static bool linked(int a, int b)
{
	const Obj *x = objs[a].o, *y = objs[b].o;
	if (objs[a].pair != objs[b].pair || a == b)
		return false;
	if (x->parent == y || y->parent == x || x->child == y || y->child == x)
		return true;
	if (!is_transient(x) && !is_transient(y) &&
	    ((y->id && x->parent_id == y->id && !objs[a].is_parent) || (x->id && y->parent_id == x->id && !objs[b].is_parent)))
		return true;
	for (size_t i = 0; i < x->children.len; i++)
		if (x->children.items[i] == y)
			return true;
	for (size_t i = 0; i < y->children.len; i++)
		if (y->children.items[i] == x)
			return true;
	return false;
}

static bool linked_in_memory(const Obj *x, const Obj *y)
{
	if (x->parent == y || y->parent == x || x->child == y || y->child == x)
		return true;
	for (size_t i = 0; i < x->children.len; i++)
		if (x->children.items[i] == y)
			return true;
	for (size_t i = 0; i < y->children.len; i++)
		if (y->children.items[i] == x)
			return true;
	return false;
}

/* D8: mark in[] the objects an expunge of objs[k] takes along (its expunge cascades, over the
 * links in memory). */
static void expunge_closure(int k, bool *in)
{
	if (k < 0 || in[k])
		return;
	in[k] = true;
	const pairdef *pd = &pairs[objs[k].pair];
	const Obj *o = objs[k].o;
	if (strstr(pd->sa_pcasc, "all") && role_ok(&objs[k], ROLE_PARENT)) {
		if (o->child)
			expunge_closure(index_of(o->child), in);
		for (size_t i = 0; i < o->children.len; i++)
			expunge_closure(index_of(o->children.items[i]), in);
	}
	if (strstr(pd->sa_ccasc, "all") && role_ok(&objs[k], ROLE_CHILD) && o->parent)
		expunge_closure(index_of(o->parent), in);
}

/* Whether objs[k] has a parent: in memory, or by its FK as last read or flushed. */
static bool has_any_parent(int k)
{
	const Obj *o = objs[k].o;
	return o->parent != NULL || (!is_transient(o) && o->parent_id != 0 && !pgorm_object_is_null(o, "parent_id"));
}

/* D6/D7: after "delete objs[k]" nothing is attached to it until the next flush; when its
 * relationships cascade the delete, everything linked to it (transitively) is left alone too. */
static void doom(int k)
{
	const pairdef *pd = &pairs[objs[k].pair];
	if (objs[k].doomed)
		return;
	objs[k].doomed = true;
	if (!strstr(pd->sa_pcasc, "all") && !strstr(pd->sa_ccasc, "all"))
		return;
	for (size_t i = 0; i < nobj; i++)
		if (linked(k, (int)i))
			doom((int)i);
}

/* Bookkeeping after every operation (generated or replayed from a file). */
static void after_op(const rec *r)
{
	bool ok = strcmp(r->res, "ok") == 0;
	if (ok && (strncmp(r->op, "append ", 7) == 0 || strncmp(r->op, "remove ", 7) == 0)) {
		char a[LINE], b[LINE];
		if (sscanf(r->op + 7, "%63s %63s", a, b) == 2 && find(b) >= 0)
			objs[find(b)].relinked_in_tx = true;
		if (strncmp(r->op, "remove ", 7) == 0 && find(a) >= 0)
			objs[find(a)].relinked_in_tx = true;  /* S6: its collection's history holds b */
	}
	if (ok && strncmp(r->op, "setparent ", 10) == 0) {
		char a[LINE];
		if (sscanf(r->op + 10, "%63s", a) == 1 && find(a) >= 0)
			objs[find(a)].relinked_in_tx = true;
	}
	if (ok && strncmp(r->op, "set1 ", 5) == 0) {
		char a[LINE], b[LINE];
		if (sscanf(r->op + 5, "%63s %63s", a, b) == 2 && find(b) >= 0)
			objs[find(b)].relinked_in_tx = true;
		if (find(a) >= 0)
			objs[find(a)].relinked_in_tx = true;  /* S6: its one-to-one's history holds the old child */
		if (find(a) >= 0 && objs[find(a)].o->child)
			objs[index_of(objs[find(a)].o->child)].relinked_in_tx = true;
	}
	if (ok && strncmp(r->op, "expunge ", 8) == 0)
		objs[find(r->op + 8)].expunged_in_tx = true;
	if (ok && strncmp(r->op, "delete ", 7) == 0) {
		doom(find(r->op + 7));
		objs[find(r->op + 7)].deleted_in_tx = true;
	}
	bool ends_tx = !ok || strcmp(r->op, "commit") == 0 || strcmp(r->op, "rollback") == 0;
	bool flushes = ends_tx || strcmp(r->op, "flush") == 0;
	if (!flushes)
		return;
	for (size_t i = 0; i < nobj; i++)
		objs[i].doomed = objs[i].attached = objs[i].val_written = objs[i].in_queue = objs[i].orphan_doomed = false;
	memset(moved_expired, 0, sizeof moved_expired);
	if (strcmp(r->op, "commit") == 0 && ok)
		for (size_t i = 0; i < nobj; i++)
			objs[i].touched = objs[i].set_none = objs[i].lost_child = objs[i].deleted_in_tx = false;
	bool rollback = !ok || strcmp(r->op, "rollback") == 0;
	if (ends_tx)
		for (size_t i = 0; i < nobj; i++)
			objs[i].lost_child = objs[i].sa_m2o_loaded = false;
	for (size_t i = 0; i < nobj; i++) {
		const Obj *o = objs[i].o;
		if (objs[i].retired || !is_transient(o))
			continue;
		/* S4: SQLAlchemy 1.4.46 crashes flushing it again (AttributeError in get_attribute_history) */
		if (ends_tx && rollback && objs[i].set_none)
			objs[i].retired = true;
		/* S5: inserted and deleted in the rolled-back transaction: SQLAlchemy 1.4.46 leaves it
		 * "deleted" (add() then inserts nothing) */
		if (ends_tx && rollback && objs[i].deleted_in_tx)
			objs[i].retired = true;
		/* S6: its many-to-one, or its collection / one-to-one, changed in the rolled-back
		 * transaction: SQLAlchemy's save-update cascade still visits the previous value or the
		 * removed member (pending history), which may be deleted or transient since */
		if (ends_tx && rollback && objs[i].relinked_in_tx)
			objs[i].retired = true;
		if (ends_tx && rollback && objs[i].expunged_in_tx && avoiding(AVOID_NEW_EXPUNGED_ROLLBACK))
			objs[i].retired = true;
		const Obj *l[MAXOBJ + 2];
		size_t n = 0;
		if (o->parent)
			l[n++] = o->parent;
		if (o->child)
			l[n++] = o->child;
		for (size_t j = 0; j < o->children.len && n < MAXOBJ; j++)
			l[n++] = o->children.items[j];
		for (size_t j = 0; j < n; j++) {
			/* D5: a transient object linked to an object in the session */
			if (!is_transient(l[j]))
				objs[i].retired = true;
			/* D5: linked to anything when the transaction rolls back */
			if (ends_tx && rollback)
				objs[i].retired = true;
		}
		if (objs[i].retired)
			objs[i].retired_at = (long)nrec - 1;
	}
	if (ends_tx)
		for (size_t i = 0; i < nobj; i++)
			objs[i].deleted_in_tx = objs[i].relinked_in_tx = objs[i].expunged_in_tx = false;
}

/* AVOID_ISSUE11_ITEM1: objs[k] would be inserted with a never-assigned NOT NULL FK. */
static bool unassigned_fk(int k)
{
	const dobj *d = &objs[k];
	return avoiding(AVOID_ISSUE11_ITEM1) && !d->is_parent && strstr(pairs[d->pair].fk_mod, "NOT NULL") &&
	       d->o->parent == NULL;
}

/* AVOID_ISSUE11_ITEM4: a change that takes child k away from a transient parent on pair m
 * (the parent becomes an orphan outside the session: item 2's remaining case). */
static bool orphans_m2o_parent(int k)
{
	if (!pairs[objs[k].pair].single)
		return false;
	/* AVOID_NEW_ORPHAN_ROLLBACK: any such change, since a rollback may follow */
	if (avoiding(AVOID_NEW_ORPHAN_ROLLBACK) && has_any_parent(k))
		return true;
	return avoiding(AVOID_ISSUE11_ITEM4) && objs[k].o->parent && is_transient(objs[k].o->parent);
}

/* Rows of pair's child table whose parent is objs[pi] (in the transaction's view). */
static int64_t db_children(int pi)
{
	const pairdef *pd = &pairs[objs[pi].pair];
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s c JOIN %s p ON p.id = c.parent_id WHERE p.label = $1",
	         pd->cm->table, pd->pm->table);
	pgorm_value v = PGORM_TEXT(objs[pi].label);
	pgorm_result *r = NULL;
	ck_assert_msg(pgorm_conn_exec(conn, sql, 1, &v, &r) == 0, "%s", pgorm_conn_error(conn)->message);
	int64_t n = 0;
	pgorm_result_int64(r, 0, 0, &n);
	pgorm_result_free(r);
	return n;
}

/* D11: an append to the unloaded collection of objs[pi] loads it in SQLAlchemy (under
 * no_autoflush: the rows as of the last flush), and with it the many-to-one of every child it
 * reads; pgorm queues the append. Marks those children. */
static void sa_loads_children(int pi)
{
	const pairdef *pd = &pairs[objs[pi].pair];
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT c.label FROM %s c JOIN %s p ON p.id = c.parent_id WHERE p.label = $1",
	         pd->cm->table, pd->pm->table);
	pgorm_value v = PGORM_TEXT(objs[pi].label);
	pgorm_result *r = NULL;
	ck_assert_msg(pgorm_conn_exec(conn, sql, 1, &v, &r) == 0, "%s", pgorm_conn_error(conn)->message);
	for (size_t i = 0; i < pgorm_result_rows(r); i++) {
		int k = find(pgorm_result_text(r, i, 0));
		if (k >= 0)
			objs[k].sa_m2o_loaded = true;
	}
	pgorm_result_free(r);
}

/* D13: one-to-one parent pi has (or may have) a child other than k. */
static bool replaces_o2o_child(int pi, int k)
{
	if (pairs[objs[pi].pair].kind != K_O2O)
		return false;
	if (!is_transient(objs[pi].o) && db_children(pi) > (objs[k].o->parent == objs[pi].o ? 1 : 0))
		return true;
	for (size_t i = 0; i < nobj; i++)
		if ((int)i != k && !objs[i].is_parent && linked(pi, (int)i) && state((int)i) != PGORM_STATE_DETACHED)
			return true;
	return false;
}

/* AVOID_NEW_EXPIRED_LINKS: objs[k]'s relationship r is not loaded but still points somewhere
 * (an expired object keeps its last links); pgorm follows them, SQLAlchemy does not. */
static bool stale_link(int k, const pgorm_rel *r, const void *target_or_items)
{
	return avoiding(AVOID_NEW_EXPIRED_LINKS) && !is_transient(objs[k].o) && !pgorm_rel_is_loaded(r, objs[k].o) &&
	       target_or_items != NULL;
}

/* D9 / AVOID_NEW_GHOST_ROWS: a persistent object whose row is gone (ON DELETE CASCADE of
 * pair p): pgorm detaches it when a load finds no row (D9), and an UPDATE or DELETE of it
 * matches no row without an error (new bug). The generator leaves it alone. */
static bool ghost(int k)
{
	const pairdef *pd = &pairs[objs[k].pair];
	if (!strstr(pd->fk_tail, "CASCADE") || objs[k].is_parent || state(k) != PGORM_STATE_PERSISTENT)
		return false;
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE label = $1", pd->cm->table);
	pgorm_value v = PGORM_TEXT(objs[k].label);
	pgorm_result *r = NULL;
	ck_assert_msg(pgorm_conn_exec(conn, sql, 1, &v, &r) == 0, "%s", pgorm_conn_error(conn)->message);
	int64_t n = 0;
	pgorm_result_int64(r, 0, 0, &n);
	pgorm_result_free(r);
	return n == 0;
}

/* D11: SQLAlchemy may have loaded the collection of objs[k] (an append loads it) before a
 * child of it was deleted, and a deleted child stays in a loaded collection until the commit;
 * pgorm's append does not load, so its later load shows the rows without the deleted child. */
static bool lost_unloaded(int k)
{
	return objs[k].lost_child && !pgorm_rel_is_loaded(pairs[objs[k].pair].down, objs[k].o);
}

/* Whether a delete-orphan relationship holds the children of this pair's parents. */
static bool orphan_pair(int pair) { return strstr(pairs[pair].sa_pcasc, "orphan") != NULL; }

/* D7: nothing is attached to the orphan objs[k] or to what its delete cascades to (its
 * children in memory) until the flush. */
static void doom_down(int k)
{
	if (k < 0 || objs[k].orphan_doomed)
		return;
	objs[k].orphan_doomed = true;
	const Obj *o = objs[k].o;
	if (o->child)
		doom_down(index_of(o->child));
	for (size_t i = 0; i < o->children.len; i++)
		doom_down(index_of(o->children.items[i]));
}

/* D7: taking child k from its parent makes it an orphan that the flush deletes: not when a
 * child was attached to it since the last flush (the delete then meets the attachment). */
static bool orphaning_meets_attach(int k)
{
	if (!orphan_pair(objs[k].pair) || is_transient(objs[k].o))
		return false;
	for (size_t i = 0; i < nobj; i++)
		if (objs[i].attached && objs[i].o->parent == objs[k].o)
			return true;
	return false;
}

/* Whether objs[c] is a child of objs[p] (in memory, or by the FK value last read or flushed). */
static bool child_of(int c, int p)
{
	const Obj *x = objs[c].o, *y = objs[p].o;
	if (c == p || objs[c].pair != objs[p].pair || !role_ok(&objs[c], ROLE_CHILD) || !role_ok(&objs[p], ROLE_PARENT))
		return false;
	if (x->parent == y || y->child == x)
		return true;
	for (size_t i = 0; i < y->children.len; i++)
		if (y->children.items[i] == x)
			return true;
	return !is_transient(x) && !is_transient(y) && y->id && x->parent_id == y->id;
}

/* D7: whether a delete of objs[k] cascades (SQLAlchemy: at once, over what it loads) to an
 * object attached to a parent since the last flush; reach[] marks the walk. */
static bool delete_reaches_attached(int k, bool *reach)
{
	if (reach[k])
		return false;
	reach[k] = true;
	if (objs[k].attached)
		return true;
	const pairdef *pd = &pairs[objs[k].pair];
	for (size_t i = 0; i < nobj; i++) {
		bool down = strstr(pd->sa_pcasc, "all") && child_of((int)i, k);
		bool up = strstr(pd->sa_ccasc, "all") && child_of(k, (int)i);
		if ((down || up) && delete_reaches_attached((int)i, reach))
			return true;
	}
	return false;
}

static int64_t db_children(int pi);

/* S7: orphaning objs[k] (delete-orphan) deletes it at the flush; SQLAlchemy 1.4.46 does not
 * cascade that delete to its own children (neither deleted nor nulled: 23503), pgorm does. */
static bool orphan_has_children(int k)
{
	if (!orphan_pair(objs[k].pair) || pairs[objs[k].pair].kind != K_TREE)
		return false;
	for (size_t i = 0; i < nobj; i++)
		if (child_of((int)i, k))
			return true;
	return !is_transient(objs[k].o) && db_children(k) > 0;
}

/* Bookkeeping of the generator before a relationship change of child k (pi: new parent or -1). */
static void relinking(int k, int pi)
{
	const pairdef *pd = &pairs[objs[k].pair];
	objs[k].touched = objs[k].relinked_in_tx = true;
	if (pi >= 0) {
		objs[pi].touched = true;
		objs[k].attached = true;
		objs[k].orphaned = false;
	} else if (orphan_pair(objs[k].pair) && is_transient(objs[k].o)) {
		objs[k].orphaned = true;  /* AVOID_ISSUE11_ITEM2: orphaned outside the session */
	} else if (orphan_pair(objs[k].pair)) {
		doom_down(k);             /* D7: the flush deletes it: nothing is attached to it before */
	}
	if (objs[k].o->parent) {
		objs[index_of(objs[k].o->parent)].touched = true;
		/* S6: the old parent's collection history holds k */
		if (pi < 0 || objs[k].o->parent != objs[pi].o)
			objs[index_of(objs[k].o->parent)].relinked_in_tx = true;
	}
	/* AVOID_NEW_STALE_QUEUE: the old and the new parent's collections, when not loaded */
	const Obj *ends[2] = { objs[k].o->parent, pi >= 0 ? objs[pi].o : NULL };
	for (int e = 0; e < 2; e++)
		if (ends[e] && pd->kind != K_O2O && !is_transient(ends[e]) && !pgorm_rel_is_loaded(pd->down, ends[e]))
			objs[index_of(ends[e])].queued = objs[k].in_queue = true;
	/* D1: SQLAlchemy may not know where the child comes from (its many-to-one is expired, or
	 * was never loaded: pgorm's loaded bit is no guide, a collection load sets it) */
	if (!is_transient(objs[k].o))
		moved_expired[objs[k].pair] = true;
}

static void load_queued(void);

/* A flush or commit by the generator; then AVOID_NEW_STALE_QUEUE's loads. */
static void gen_flush(const char *op)
{
	emit("%s", op);
	if (!step_failed)
		load_queued();
}

/* D1: a relationship read after an expired child changed parent reads the flushed rows. */
static void before_read(int pair)
{
	if (moved_expired[pair])
		gen_flush("flush");
}

static const char *new_label(int pair, char role)
{
	static char l[16];
	snprintf(l, sizeof l, "%s%c%u", pairs[pair].name, role, ++label_no);
	return l;
}

/* Give child k the parent pi through one of the three ways (collection append / one-to-one
 * set / many-to-one set), unless a deliberate difference or an avoided bug is in the way. */
static void attach(int pair, int pi, int k)
{
	const pairdef *pd = &pairs[pair];
	const Obj *c = objs[k].o, *p = objs[pi].o;
	/* D3: already its parent (in memory or by FK); D3 for the one-to-one */
	if (c->parent == p || p->child == c || (p->id != 0 && c->parent_id == p->id))
		return;
	/* D6, D7: the parent was deleted (flushed or not), or the child hangs on a deleted one */
	if (objs[k].doomed || objs[pi].doomed || objs[pi].orphan_doomed || state(pi) == PGORM_STATE_DELETED)
		return;
	/* AVOID_NEW_LINK_DELETED: a child whose delete was flushed */
	if (avoiding(AVOID_NEW_LINK_DELETED) && state(k) == PGORM_STATE_DELETED)
		return;
	if (orphans_m2o_parent(k))
		return;
	/* AVOID_ISSUE11_ITEM2: an orphan (SQLAlchemy expunged it) pulled in as a parent */
	if (avoiding(AVOID_ISSUE11_ITEM2) && objs[pi].orphaned)
		return;
	bool m2o = pick(2) == 0;
	/* D5: an object in the session given a transient parent through the parent's side (the
	 * flush does not write that link, 2.0's rule; the two sides then disagree on the old
	 * parent's unloaded collection). Through the child's side the parent is pulled in. */
	if (!m2o && !is_transient(c) && is_transient(p))
		return;
	/* D12: a second child for a parent of the single-parent many-to-one (pair m): both refuse it
	 * through the many-to-one when the first link was made in this transaction; otherwise
	 * SQLAlchemy's check (in-memory has-parent flags, reset by expiry) does not see it, and
	 * through the collection SQLAlchemy never checks */
	if (pd->single)
		for (size_t i = 0; i < nobj; i++)
			if ((int)i != k && !objs[i].is_parent && linked(pi, (int)i) && state((int)i) != PGORM_STATE_DETACHED &&
			    !(m2o && objs[i].relinked_in_tx && objs[i].o->parent == p))
				return;
	/* D13: one-to-one, a second child through its many-to-one. D14: through the parent's side
	 * only a new child replacing a kept one (SQLAlchemy's UPDATE-before-INSERT order); a
	 * persistent new child (UPDATEs in key order) or a deleted orphan (DELETE after the INSERT)
	 * fails on the UNIQUE key in SQLAlchemy 1.4.46, pgorm frees the key first (item 5) */
	if (replaces_o2o_child(pi, k) &&
	    (m2o || orphan_pair(pair) || !(SM(state(k)) & (SM(PGORM_STATE_TRANSIENT) | SM(PGORM_STATE_PENDING)))))
		return;
	for (size_t i = 0; pd->kind == K_O2O && i < nobj; i++)
		if ((int)i != k && linked(pi, (int)i) && state((int)i) == PGORM_STATE_DELETED)
			return;
	/* S3: one-to-one, a child attached since the last flush moving on to another parent */
	if (pd->kind == K_O2O && objs[k].attached && c->parent != p)
		return;
	/* S2: a child not yet persistent moving between parents under delete-orphan */
	if (orphan_pair(pair) && (SM(state(k)) & (SM(PGORM_STATE_PENDING) | SM(PGORM_STATE_TRANSIENT))) &&
	    c->parent != NULL && c->parent != p)
		return;
	/* S1: collection side, a transient child leaving a transient parent for one in the session */
	if (!m2o && is_transient(c) && c->parent && c->parent != p && is_transient(c->parent) && !is_transient(p))
		m2o = true;
	if (!m2o)
		before_read(pair);  /* D1: SQLAlchemy loads the parent's side first */
	relinking(k, pi);
	if (m2o)
		emit("setparent %s %s", objs[k].label, objs[pi].label);
	else if (pd->kind == K_O2O)
		emit("set1 %s %s", objs[pi].label, objs[k].label);
	else {
		if (!is_transient(p) && !pgorm_rel_is_loaded(pd->down, p))
			sa_loads_children(pi);
		emit("append %s %s", objs[pi].label, objs[k].label);
	}
}

/* AVOID_NEW_STALE_QUEUE: right after a flush or commit, load the collections that had changes
 * queued while unloaded (flushed now), so that no stale queued change is merged later. */
static void load_queued(void)
{
	for (size_t i = 0; i < nobj; i++) {
		if (!objs[i].queued)
			continue;
		objs[i].queued = false;
		if (avoiding(AVOID_NEW_STALE_QUEUE) && !objs[i].retired && (SM(state((int)i)) & INSESSION) && !ghost((int)i) &&
		    !lost_unloaded((int)i))
			emit("children %s", objs[i].label);
	}
}

/* AVOID_NEW_ROLLBACK_SNAPSHOT: after a rollback, refresh every object the rolled-back
 * transaction may have changed in memory (named by an operation, or linked to one). */
static void refresh_touched(void)
{
	if (!avoiding(AVOID_NEW_ROLLBACK_SNAPSHOT))
		return;
	for (bool grew = true; grew;) {
		grew = false;
		for (size_t i = 0; i < nobj; i++)
			for (size_t j = 0; objs[i].touched && j < nobj; j++)
				if (!objs[j].touched && linked((int)i, (int)j))
					objs[j].touched = grew = true;
	}
	for (size_t i = 0; i < nobj; i++) {
		/* a many-to-one read refreshes the row and the link (pgorm_session_refresh reloads the
		 * columns only); an object with no many-to-one is refreshed */
		if (objs[i].touched && !objs[i].retired && state((int)i) == PGORM_STATE_PERSISTENT && !ghost((int)i))
			emit(role_ok(&objs[i], ROLE_CHILD) ? "parent %s" : "refresh %s", objs[i].label);
		objs[i].touched = false;
	}
}

static void gen_step(void)
{
	int pair = (int)pick(NPAIRS);
	const pairdef *pd = &pairs[pair];
	bool tree = pd->kind == K_TREE;
	int prole = tree ? ROLE_ANY : ROLE_PARENT, crole = tree ? ROLE_ANY : ROLE_CHILD;
	unsigned w = (unsigned)pick(100);
	if (w < 6) {                                            /* new parent (or root node) */
		if (count(pair, prole, ALIVE) >= (tree ? MAX_NODES : MAX_PARENTS))
			return;
		char label[16];
		snprintf(label, sizeof label, "%s", new_label(pair, tree ? 'N' : 'P'));
		emit("new %s %s", label, pd->pm->table);
		objs[nobj - 1].touched = true;
		if (pick(10) < 7)
			emit("add %s", label);
	} else if (w < 16) {                                    /* new child, attached or not */
		if (count(pair, crole, ALIVE) >= (tree ? MAX_NODES : MAX_CHILDREN))
			return;
		bool must_attach = avoiding(AVOID_ISSUE11_ITEM1) && strstr(pd->fk_mod, "NOT NULL");
		char label[16];
		snprintf(label, sizeof label, "%s", new_label(pair, tree ? 'N' : 'C'));
		int pi = pick_in(pair, prole, LIVE, -1, (int)nobj);
		if (must_attach && pi < 0)
			return;
		emit("new %s %s", label, pd->cm->table);
		objs[nobj - 1].touched = true;
		unsigned how = must_attach ? 0 : (unsigned)pick(20);
		if (how < 13 && pi >= 0)
			attach(pair, pi, (int)nobj - 1);
		else if (how < 17)
			emit("add %s", label);
	} else if (w < 32) {                                    /* attach an existing child */
		int k = pick_in(pair, crole, LIVE, tree ? 0 : -1, (int)nobj);
		int pi = k < 0 ? -1 : pick_in(pair, prole, LIVE, -1, tree ? k : (int)nobj);
		if (pi >= 0)
			attach(pair, pi, k);
	} else if (w < 38) {                                    /* many-to-one set NULL */
		int k = pick_obj(pair, crole, LIVE);
		if (k < 0 || objs[k].doomed || orphans_m2o_parent(k) || orphaning_meets_attach(k) || orphan_has_children(k) ||
		    (orphan_pair(pair) && stale_link(k, pd->up, objs[k].o->parent)))
			return;
		/* D11: SQLAlchemy knows the parent it loaded with the parent's collection (the child
		 * becomes an orphan), pgorm does not (no orphan): pgorm reads it first */
		if (orphan_pair(pair) && objs[k].sa_m2o_loaded && !is_transient(objs[k].o) &&
		    !pgorm_rel_is_loaded(pd->up, objs[k].o)) {
			if (objs[k].o->parent && pgorm_object_state(objs[k].o->parent) == PGORM_STATE_DELETED)
				return; /* D10 */
			before_read(pair);
			if (state(k) != PGORM_STATE_PERSISTENT ||
			    (objs[k].o->parent && pgorm_object_state(objs[k].o->parent) == PGORM_STATE_DELETED))
				return; /* D10, after the flush before the read */
			emit("parent %s", objs[k].label);
		}
		relinking(k, -1);
		emit("setparent %s -", objs[k].label);
	} else if (w < 46) {                                    /* remove from the parent side */
		int pi = pick_obj(pair, prole, LIVE);
		if (pi < 0 || objs[pi].doomed)
			return;
		if (pd->kind == K_O2O) {
			if (stale_link(pi, pd->down, objs[pi].o->child))
				return;
			int k = objs[pi].o->child ? index_of(objs[pi].o->child) : -1;
			if (k >= 0)
				relinking(k, -1);
			objs[pi].touched = objs[pi].set_none = true;
			emit("set1 %s -", objs[pi].label);
			return;
		}
		if (!is_transient(objs[pi].o)) {
			if (lost_unloaded(pi))
				return;
			before_read(pair);
			emit("children %s", objs[pi].label);
		}
		pgorm_collection *c = &objs[pi].o->children;
		if (strcmp(recs[nrec - 1].res, "ok") != 0 || c->len == 0)
			return;
		int k = index_of(c->items[pick(c->len)]);
		if (k >= 0 && !objs[k].retired && !orphans_m2o_parent(k) && !orphaning_meets_attach(k) && !orphan_has_children(k)) {
			relinking(k, -1);
			emit("remove %s %s", objs[pi].label, objs[k].label);
		}
	} else if (w < 54) {                                    /* delete */
		int k = pick_obj(pair, ROLE_ANY, SM(PGORM_STATE_PERSISTENT));
		if (k < 0)
			return;
		/* D7: a child attached since the last flush, or the object itself attached */
		if (objs[k].attached)
			return;
		for (size_t i = 0; i < nobj; i++)
			if (objs[i].attached && (objs[i].o->parent == objs[k].o || objs[k].o->child == objs[i].o))
				return;
		/* D7: the same further down what the delete cascades to (a grandchild attached) */
		static bool reach[MAXOBJ];
		memset(reach, 0, nobj * sizeof *reach);
		if (delete_reaches_attached(k, reach))
			return;
		/* AVOID_NEW_STALE_QUEUE: queued in a collection since the last flush */
		if (avoiding(AVOID_NEW_STALE_QUEUE) && objs[k].in_queue)
			return;
		/* AVOID_NEW_M2O_DELETE_CASCADE: the many-to-one of pair m cascades the delete */
		if (avoiding(AVOID_NEW_M2O_DELETE_CASCADE) && pd->single && !objs[k].is_parent && has_any_parent(k))
			return;
		objs[k].touched = true;
		for (size_t i = 0; i < nobj; i++)
			if (linked((int)i, k) && role_ok(&objs[i], ROLE_PARENT) && (objs[k].o->parent == objs[i].o ||
			    (objs[i].o->id && objs[k].o->parent_id == objs[i].o->id)))
				objs[i].lost_child = true;
		before_read(pair);  /* D1: the delete loads collections */
		emit("delete %s", objs[k].label);
	} else if (w < 56) {                                    /* expunge */
		int k = pick_obj(pair, ROLE_ANY, INSESSION);
		if (k < 0 || objs[k].doomed || (avoiding(AVOID_NEW_STALE_QUEUE) && objs[k].in_queue))
			return;
		/* AVOID_ISSUE11_ITEM2: SQLAlchemy already expunged the pending orphan */
		if (avoiding(AVOID_ISSUE11_ITEM2) && objs[k].orphaned && state(k) == PGORM_STATE_PENDING)
			return;
		const Obj *o = objs[k].o;
		bool down_cascades = strstr(pd->sa_pcasc, "all") != NULL, up_cascades = strstr(pd->sa_ccasc, "all") != NULL;
		if (role_ok(&objs[k], ROLE_PARENT) && down_cascades &&
		    stale_link(k, pd->down, pd->kind == K_O2O ? (const void *)o->child : o->children.len ? o->children.items : NULL))
			return;
		/* N1 (stale) or D10 (loaded by its parent's collection load): the many-to-one's expunge
		 * cascade follows a link SQLAlchemy has not loaded */
		if (role_ok(&objs[k], ROLE_CHILD) && up_cascades && o->parent)
			return;
		/* D8: an object left outside the expunge still links to one that goes */
		static bool gone[MAXOBJ];
		memset(gone, 0, nobj * sizeof *gone);
		expunge_closure(k, gone);
		for (size_t i = 0; i < nobj; i++)
			for (size_t j = 0; !gone[i] && state((int)i) != PGORM_STATE_DETACHED && j < nobj; j++)
				if (gone[j] && linked_in_memory(objs[i].o, objs[j].o))
					return;
		objs[k].touched = true;
		emit("expunge %s", objs[k].label);
	} else if (w < 62) {                                    /* write val, or set it NULL */
		int k = pick_obj(pair, ROLE_ANY, LIVE);
		if (k < 0)
			return;
		objs[k].touched = objs[k].val_written = true;
		if (pick(4) == 0)
			emit("val %s -", objs[k].label);
		else
			emit("val %s %u", objs[k].label, 1 + (unsigned)pick(99));
	} else if (w < 67) {                                    /* read children */
		int k = pick_obj(pair, prole, INSESSION);
		if (k >= 0 && !lost_unloaded(k)) {
			before_read(pair);
			if (SM(state(k)) & INSESSION)  /* D10: not deleted by that flush */
				emit("children %s", objs[k].label);
		}
	} else if (w < 71) {                                    /* read parent */
		int k = pick_obj(pair, crole, INSESSION);
		if (k < 0 || (avoiding(AVOID_NEW_RELOAD_OVERWRITES) && objs[k].val_written &&
		              !pgorm_rel_is_loaded(pd->up, objs[k].o)))
			return;
		/* D10: its many-to-one still points at a parent whose delete was flushed */
		if (objs[k].o->parent && pgorm_object_state(objs[k].o->parent) == PGORM_STATE_DELETED)
			return;
		before_read(pair);
		/* D10: the flush before the read (D1) may have deleted it (an orphan), or its parent: a
		 * flushed-deleted object's link is not read (pgorm cut it in memory when it was
		 * orphaned; SQLAlchemy's lazy load reads the old foreign key) */
		if (!(SM(state(k)) & INSESSION) ||
		    (objs[k].o->parent && pgorm_object_state(objs[k].o->parent) == PGORM_STATE_DELETED))
			return;
		emit("parent %s", objs[k].label);
	} else if (w < 76) {                                    /* add a transient object */
		int k = pick_obj(pair, ROLE_ANY, SM(PGORM_STATE_TRANSIENT));
		if (k < 0 || unassigned_fk(k) || (avoiding(AVOID_ISSUE11_ITEM2) && objs[k].orphaned))
			return;
		objs[k].touched = true;
		emit("add %s", objs[k].label);
	} else if (w < 84) {
		gen_flush("flush");
	} else if (w < 96) {
		gen_flush("commit");
	} else {
		emit("rollback");
	}
}

/* ---- the SQLAlchemy side ---- */

/* The JSON string value of key in line (json.dumps output), unescaped; NULL for null. */
static char *json_str(const char *line, const char *key)
{
	char pat[32];
	snprintf(pat, sizeof pat, "\"%s\": ", key);
	const char *p = strstr(line, pat);
	ck_assert_msg(p != NULL, "runner output without \"%s\": %s", key, line);
	p += strlen(pat);
	if (strncmp(p, "null", 4) == 0)
		return NULL;
	ck_assert_msg(*p == '"', "runner output: \"%s\" is not a string: %s", key, line);
	p++;
	char *out = malloc(strlen(p) + 1), *q = out;
	ck_assert(out != NULL);
	while (*p && *p != '"') {
		if (*p == '\\' && p[1]) {
			p++;
			switch (*p) {
			case 'n': *q++ = '\n'; break;
			case 't': *q++ = '\t'; break;
			case 'u': *q++ = '?'; p += strlen(p) >= 5 ? 4 : 0; break;
			default: *q++ = *p;
			}
			p++;
		} else {
			*q++ = *p++;
		}
	}
	*q = '\0';
	return out;
}

/* Run sa_runner.py on the operation file; its records go to sarecs. False when the runner
 * failed (its traceback goes to stderr). */
static bool run_sqlalchemy(void)
{
	const char *py = getenv("PGORM_TEST_PYTHON");
	if (py == NULL || *py == '\0')
		py = DIFF_PYTHON;
	char *argv[] = { (char *)py, (char *)DIFF_RUNNER, (char *)"--dsn", (char *)pgtest_dsn(), (char *)"--schema",
	                 schema_sa, oppath, NULL };
	int pfd[2];
	ck_assert(pipe(pfd) == 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	posix_spawn_file_actions_addclose(&fa, pfd[1]);
	pid_t pid;
	int rc = posix_spawn(&pid, py, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	ck_assert_msg(rc == 0, "cannot run %s %s: %s (scripts/deps installs python3-sqlalchemy)", py, DIFF_RUNNER,
	              strerror(rc));
	FILE *in = fdopen(pfd[0], "r");
	ck_assert(in != NULL);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	free_recs(sarecs, &nsarec);
	while ((len = getline(&line, &cap, in)) > 0) {
		ck_assert_msg(nsarec < MAXOPS, "runner: too many records");
		rec *r = &sarecs[nsarec++];
		char *res = json_str(line, "r"), *detail = json_str(line, "d");
		snprintf(r->res, sizeof r->res, "%s", res ? res : "?");
		snprintf(r->detail, sizeof r->detail, "%s", detail ? detail : "");
		free(res);
		free(detail);
		r->view = json_str(line, "v");
		r->states = json_str(line, "s");
		r->rows = json_str(line, "rows");
	}
	free(line);
	fclose(in);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- comparison and report ---- */

static bool same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* The labels of view v minus those of objects retired (D5) before operation at, sorted. */
static char *view_filtered(const char *v, long at)
{
	char *out = xstrdup(v), *p = out, *save = NULL, *copy = xstrdup(v);
	*p = '\0';
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k = find(t);
		if (k >= 0 && objs[k].retired && objs[k].retired_at < at)
			continue;
		p += sprintf(p, "%s%s", p == out ? "" : ",", t);
	}
	free(copy);
	if (*out == '\0' && strcmp(v, "-") == 0)
		strcpy(out, "-");
	return out;
}

static bool same_view(const char *a, const char *b, long at)
{
	if (a == NULL || b == NULL)
		return a == b;
	char *fa = view_filtered(a, at), *fb = view_filtered(b, at);
	bool eq = strcmp(fa, fb) == 0 || ((*fa == '\0' || strcmp(fa, "-") == 0) && (*fb == '\0' || strcmp(fb, "-") == 0));
	free(fa);
	free(fb);
	return eq;
}

/* The first operation where the records differ, or -1; *what names the field. */
static long first_divergence(const char **what)
{
	size_t n = nrec < nsarec ? nrec : nsarec;
	for (size_t i = 0; i < n; i++) {
		const rec *a = &recs[i], *b = &sarecs[i];
		if (strcmp(a->res, b->res) != 0) { *what = "result"; return (long)i; }
		if (!same_view(a->view, b->view, (long)i)) { *what = "view"; return (long)i; }
		if (!same(a->rows, b->rows)) { *what = "rows"; return (long)i; }
		if ((a->end || b->rows) && !same(a->states, b->states)) { *what = "states"; return (long)i; }
	}
	if (nrec != nsarec) {
		*what = "length";
		return (long)n;
	}
	return -1;
}

/* Lines of ';'-separated a that are not in b. */
static void rows_only(FILE *f, const char *who, const char *a, const char *b)
{
	char *ca = xstrdup(a ? a : ""), *save = NULL;
	size_t lb = b ? strlen(b) : 0;
	for (char *t = strtok_r(ca, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		size_t lt = strlen(t);
		bool found = false;
		for (const char *p = b; p && (p = strstr(p, t)) != NULL; p += lt) {
			bool start = p == b || p[-1] == ';';
			bool end = p + lt == b + lb || p[lt] == ';';
			if (start && end) {
				found = true;
				break;
			}
		}
		if (!found)
			fprintf(f, "      only %-12s %s\n", who, t);
	}
	free(ca);
}

static void report(FILE *f, long at, const char *what)
{
	const rec *a = &recs[at], *b = at < (long)nsarec ? &sarecs[at] : NULL;
	fprintf(f, "\n=== test_differential: DIVERGENCE (%s) at operation #%ld, seed %llu\n", what, at, seed);
	fprintf(f, "    replay: PGORM_TEST_SEED=%llu meson test -C build differential\n", seed);
	fprintf(f, "    (operation file: %s; PGORM_DIFF_OPS=<file> runs one, PGORM_DIFF_SHRINK=1 minimizes)\n", oppath);
	fprintf(f, "--- operations up to there (pgorm result, and SQLAlchemy's where it differs)\n");
	for (long i = 0; i <= at && i < (long)nrec; i++) {
		bool diff = i < (long)nsarec && strcmp(recs[i].res, sarecs[i].res) != 0;
		fprintf(f, "%c %4ld %-28s %s%s%s\n", i == at ? '>' : ' ', i, recs[i].op, recs[i].res,
		        diff ? "  | sqlalchemy: " : "", diff ? sarecs[i].res : "");
	}
	fprintf(f, "--- at #%ld: %s\n", at, a->op);
	fprintf(f, "    result  pgorm:      %s %s\n", a->res, a->detail);
	if (b) {
		fprintf(f, "            sqlalchemy: %s %s\n", b->res, b->detail);
		fprintf(f, "    view    pgorm: %s | sqlalchemy: %s\n", a->view ? a->view : "(none)", b->view ? b->view : "(none)");
		if (a->states && b->states) {
			fprintf(f, "    states (T transient, P pending, S persistent, D deleted, X detached):\n");
			for (size_t i = 0; i < nobj && a->states[i] && b->states[i]; i++)
				if (a->states[i] != b->states[i])
					fprintf(f, "      %-8s pgorm %c  sqlalchemy %c\n", objs[i].label, a->states[i], b->states[i]);
		}
		if (a->rows || b->rows) {
			fprintf(f, "    rows (%s):\n", same(a->rows, b->rows) ? "equal" : "differ");
			rows_only(f, "pgorm", a->rows, b->rows);
			rows_only(f, "sqlalchemy", b->rows, a->rows);
		}
	} else {
		fprintf(f, "    sqlalchemy recorded only %zu operations\n", nsarec);
	}
	/* the last rows both sides agreed on */
	for (long i = at - 1; i >= 0; i--) {
		if (recs[i].rows) {
			fprintf(f, "--- rows after #%ld (%s), equal on both sides:\n      %s\n", i, recs[i].op, recs[i].rows);
			break;
		}
	}
	fflush(f);
}

/* ---- one sequence ---- */

static void finish_file(void)
{
	ck_assert(fclose(opfile) == 0);
	opfile = NULL;
}

static void run_generated(long nops)
{
	start_run();
	rng = seed;
	for (int i = 0; i < 8; i++)
		rnd();
	generating = true;
	while ((long)nrec < nops) {
		size_t before = nrec;
		step_failed = false;
		gen_step();
		step_failed = false;
		bool rolled_back = false;
		for (size_t i = before; i < nrec; i++)
			rolled_back |= strcmp(recs[i].res, "ok") != 0 || strcmp(recs[i].op, "rollback") == 0;
		if (rolled_back) {
			for (size_t i = 0; i < nobj; i++)
				objs[i].queued = false;
			refresh_touched();
		}
	}
	emit("commit");
	generating = false;
	finish_file();
}

static void run_file(const char *path)
{
	start_run();
	FILE *in = fopen(path, "r");
	ck_assert_msg(in != NULL, "PGORM_DIFF_OPS %s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, in) > 0) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		ck_assert_msg(strlen(line) < LINE, "operation too long: %s", line);
		emit("%s", line);
	}
	free(line);
	fclose(in);
	finish_file();
}

/* ---- shrinking a divergence (PGORM_DIFF_SHRINK=1) ---- */

static bool mentions(const char *line, const char *label)
{
	size_t n = strlen(label);
	for (const char *p = line; (p = strstr(p, label)) != NULL; p += n)
		if ((p == line || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

/* Run lines[0..n) through both sides; true when they diverge the same way (same field, at the
 * same operation). */
static bool still_diverges(char (*lines)[LINE], size_t n, const char *what, const char *verb)
{
	start_run();
	replay_uses_retired = false;
	for (size_t i = 0; i < n; i++)
		emit("%s", lines[i]);
	finish_file();
	if (replay_uses_retired) {  /* not a sequence the generator could make */
		unlink(oppath);
		return false;
	}
	if (!run_sqlalchemy()) {
		fprintf(stderr, "(shrink: the runner failed on this candidate, kept in %s)\n", oppath);
		return false;
	}
	unlink(oppath);
	const char *w = NULL;
	long at = first_divergence(&w);
	if (at < 0 || strcmp(w, what) != 0)
		return false;
	return strcmp(recs[at].op, verb) == 0;
}

/* Greedy delta debugging: drop chunks of operations (with every later operation on an object
 * whose "new" was dropped) while the divergence stays; then print the minimal list. */
static void shrink(long at, const char *what)
{
	static char lines[MAXOPS][LINE], trial[MAXOPS][LINE];
	size_t n = (size_t)at + 1, tries = 0;
	char verb[LINE];
	snprintf(verb, sizeof verb, "%s", recs[at].op);
	char whatc[16];
	snprintf(whatc, sizeof whatc, "%s", what);
	for (size_t i = 0; i < n; i++)
		memcpy(lines[i], recs[i].op, LINE);
	for (size_t size = n / 2 ? n / 2 : 1;; size = size / 2 ? size / 2 : 1) {
		for (size_t i = 0; i < n;) {
			size_t m = 0;
			for (size_t k = 0; k < n; k++) {
				bool drop = k >= i && k < i + size;
				for (size_t j = i; !drop && j < i + size && j < n && j < k; j++) {
					if (strncmp(lines[j], "new ", 4) == 0) {
						char label[LINE];
						sscanf(lines[j] + 4, "%63s", label);
						drop = mentions(lines[k], label);
					}
				}
				if (!drop)
					memcpy(trial[m++], lines[k], LINE);
			}
			tries++;
			if (m < n && still_diverges(trial, m, whatc, verb)) {
				memcpy(lines, trial, m * sizeof lines[0]);
				n = m;
			} else {
				i += size;
			}
		}
		if (size == 1)
			break;
	}
	fprintf(stderr, "\n=== shrunk to %zu operations (%zu trials), diverging the same way (%s at '%s'):\n", n, tries,
	        whatc, verb);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s\n", lines[i]);
	ck_assert(still_diverges(lines, n, whatc, verb));
	long at2 = first_divergence(&what);
	report(stderr, at2, what);
}

static void compare_and_report(void)
{
	ck_assert_msg(run_sqlalchemy(), "%s %s failed on %s (its traceback is above)", DIFF_PYTHON, DIFF_RUNNER, oppath);
	const char *keep = getenv("PGORM_DIFF_KEEP");
	if (keep && *keep) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "cp '%s' '%s'", oppath, keep);
		ck_assert(system(cmd) == 0);
	}
	if (getenv("PGORM_DIFF_TRACE") && *getenv("PGORM_DIFF_TRACE"))
		for (size_t i = 0; i < nrec; i++)
			fprintf(stderr, "%5zu %-28s %-8s %-8s %s | %s\n", i, recs[i].op, recs[i].res,
			        i < nsarec ? sarecs[i].res : "-", recs[i].states, i < nsarec ? sarecs[i].states : "-");
	const char *what = NULL;
	long at = first_divergence(&what);
	if (at < 0) {
		unlink(oppath);
		return;
	}
	report(stderr, at, what);
	const char *sh = getenv("PGORM_DIFF_SHRINK");
	if (sh && *sh && strcmp(sh, "0") != 0) {
		char first[LINE];
		snprintf(first, sizeof first, "%s", recs[at].op);
		shrink(at, what);
		ck_abort_msg("seed %llu: divergence (%s) at operation #%ld '%s'; shrunk list above", seed, what, at, first);
	}
	ck_abort_msg("seed %llu: pgorm and SQLAlchemy diverge (%s) at operation #%ld '%s': pgorm %s, sqlalchemy %s "
	             "(details above; operation file %s)",
	             seed, what, at, recs[at].op, recs[at].res, at < (long)nsarec ? sarecs[at].res : "-", oppath);
}

static unsigned long long base_seed(void)
{
	const char *env = getenv("PGORM_TEST_SEED");
	if (env == NULL || *env == '\0')
		return 1;
	if (strcmp(env, "random") == 0) {
		unsigned long long t = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 20);
		return t ? t : 1;
	}
	return strtoull(env, NULL, 10);
}

static long env_long(const char *name, long dflt)
{
	const char *env = getenv(name);
	return env && *env ? strtol(env, NULL, 10) : dflt;
}

START_TEST(test_differential_sequence)
{
	const char *file = getenv("PGORM_DIFF_OPS");
	if (file && *file) {
		seed = 0;
		run_file(file);
		fprintf(stderr, "test_differential: %zu operations from %s\n", nrec, file);
	} else {
		seed = base_seed() + (unsigned long long)_i;
		long nops = env_long("PGORM_TEST_OPS", OPS_DEFAULT);
		fprintf(stderr, "test_differential: seed %llu, %ld operations (replay with PGORM_TEST_SEED=%llu)\n", seed, nops,
		        seed);
		run_generated(nops);
	}
	compare_and_report();
	fprintf(stderr, "test_differential: seed %llu: %zu operations, %zu objects: pgorm and SQLAlchemy agree\n", seed,
	        nrec, nobj);
}
END_TEST

/* Reproducers of divergences fixed since (test/differential/repro): pgorm and SQLAlchemy
 * must agree on each. */
static const char *const fixed_repros[] = {
	"s10-orphaned-transient-then-added.ops", "s14-link-flushed-deleted.ops", "s18-append-flushed-deleted.ops",
	"s20-o2o-orphaned-transient-then-added.ops", "s21-rollback-same-write.ops", "s55-deleted-linked-to-unloaded.ops",
	"s97-null-twice-unloaded.ops", "m2o-delete-cascade-expired.ops",
	"orphan-mark-rolled-back.ops", "link-rolled-back-then-delete.ops", "expired-child-set-null-no-orphan.ops",
	"s68-deleted-child-new-parent.ops", "s83-orphan-deleted-new-parent.ops", "s223-expunge-expired-o2o.ops",
	"s275-o2o-null-rollback-delete.ops", "s379-deleted-child-sets-parent.ops", "s494-passive-delete-queued-child.ops",
};

START_TEST(test_issue_differential_repros)
{
	char path[1024];
	const char *slash = strrchr(DIFF_RUNNER, '/'); /* the runner's directory holds repro/ */
	int dirlen = slash ? (int)(slash - DIFF_RUNNER) : 1;
	snprintf(path, sizeof path, "%.*s/repro/%s", dirlen, slash ? DIFF_RUNNER : ".", fixed_repros[_i]);
	seed = 0;
	run_file(path);
	compare_and_report();
	fprintf(stderr, "test_differential: %s: pgorm and SQLAlchemy agree\n", fixed_repros[_i]);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("differential");
	TCase *tc = tcase_create("differential");
	tcase_add_unchecked_fixture(tc, schemas_setup, schemas_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	const char *sh = getenv("PGORM_DIFF_SHRINK");
	tcase_set_timeout(tc, sh && *sh && strcmp(sh, "0") != 0 ? 7200 : 240);
	const char *env = getenv("PGORM_TEST_SEED");
	bool one = (env && *env) || (getenv("PGORM_DIFF_OPS") && *getenv("PGORM_DIFF_OPS"));
	int nseq = (int)env_long("PGORM_TEST_SEQS", one ? 1 : NSEQ_DEFAULT);
	tcase_add_loop_test(tc, test_differential_sequence, 0, nseq);
	if (!one)
		tcase_add_loop_test(tc, test_issue_differential_repros, 0, (int)(sizeof fixed_repros / sizeof fixed_repros[0]));
	suite_add_tcase(su, tc);
	return pgtest_run(su);
}
