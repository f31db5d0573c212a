/* Randomized relationship test (issue 6 acceptance): a few thousand random operations —
 * new objects, append, remove, move between parents, set NULL, delete parent / child, lazy
 * loads, expiry, flush, commit, rollback — on two parent/child model pairs: "d" with the
 * default cascade (removed children keep their row with a NULL FK) and "o" with
 * all + delete-orphan. A shadow model computes what the database must hold. After every
 * commit and rollback the test checks that
 *   - the rows of all four tables equal the shadow model,
 *   - queries return the very objects the test holds, and pgorm_session_get then answers
 *     from the identity map without SQL,
 *   - both sides of every loaded relationship agree (and agree with the rows).
 * The seed comes from PGORM_TEST_SEED or the clock; it is printed at the start and in every
 * failure message, so `PGORM_TEST_SEED=<seed> meson test random` replays a failure.
 * PGORM_TEST_OPS sets the number of operations (default 4000). */
#include "pgtest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct RP {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;
} RP;

typedef struct RC {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	RP *parent;
} RC;

#define PAIR(sfx, _casc)                                                                                  \
	extern const pgorm_model rp_##sfx, rc_##sfx;                                                      \
	static const pgorm_column rp_cols_##sfx[] = {                                                     \
		PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, RP, id),                        \
		PGORM_COLUMN(TEXT, "name", 0, RP, name), PGORM_COLUMN_END };                              \
	static const pgorm_relationship rp_rels_##sfx[] = {                                               \
		PGORM_ONE_TO_MANY("children", RP, children, &rc_##sfx, NULL, "parent", (_casc)),          \
		PGORM_RELATIONSHIP_END };                                                                 \
	const pgorm_model rp_##sfx = PGORM_MODEL("rparents_" #sfx, RP, rp_cols_##sfx, rp_rels_##sfx);   \
	static const pgorm_column rc_cols_##sfx[] = {                                                     \
		PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, RC, id),                        \
		PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, RC, parent_id, "rparents_" #sfx, "id", \
		                PGORM_FK_NO_ACTION),                                                      \
		PGORM_COLUMN(TEXT, "name", 0, RC, name), PGORM_COLUMN_END };                              \
	static const pgorm_relationship rc_rels_##sfx[] = {                                               \
		PGORM_MANY_TO_ONE("parent", RC, parent, &rp_##sfx, NULL, "children"),                     \
		PGORM_RELATIONSHIP_END };                                                                 \
	const pgorm_model rc_##sfx = PGORM_MODEL("rchildren_" #sfx, RC, rc_cols_##sfx, rc_rels_##sfx);

PAIR(d, 0)
PAIR(o, PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN)

enum { NPAIR = 2, MAXOBJ = 4096, MAX_PARENTS = 12, MAX_CHILDREN = 40 };

typedef struct pairdef {
	const pgorm_model *pm, *cm;
	const char *ptable, *ctable;
	bool orphan;                 /* delete + delete-orphan */
	const pgorm_rel *children, *parent;
} pairdef;

static pairdef pairs[NPAIR] = {
	{ &rp_d, &rc_d, "rparents_d", "rchildren_d", false, NULL, NULL },
	{ &rp_o, &rc_o, "rparents_o", "rchildren_o", true, NULL, NULL },
};

/* The shadow model: one entry per object the test created. */
typedef struct sobj {
	void *o;
	bool is_parent;
	int pair;
	int parent;                  /* children: shadow index of the parent, -1 none */
	bool alive;                  /* in the session (pending or persistent), not deleted */
	bool flushed;                /* its row exists in the transaction (or did, if deleted) */
	bool deleted;                /* pgorm_session_delete called / cascaded */
	bool orphaned;               /* link cut since the last flush (delete-orphan candidate) */
	bool dirty;                  /* link changed since the last flush */
} sobj;

static sobj sh[MAXOBJ], committed[MAXOBJ];
static size_t nsh, ncommitted;

static pgorm_registry *reg;
static pgorm_conn *conn, *check;
static pgorm_session *s;
static pgtest_log log_;
static const pgtest_env env = { .reg = &reg, .conn = &conn, .check = &check, .session = &s, .log = &log_ };
static unsigned long long seed, rng;
static long opno;
static char ctx[160];            /* the current operation, for failure messages */

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		char m_[512]; \
		snprintf(m_, sizeof m_, __VA_ARGS__); \
		ck_abort_msg("seed=%llu op=%ld (%s): %s [%s]", seed, opno, ctx, m_, pgorm_session_error(s)->message); \
	} \
} while (0)

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static size_t pick(size_t n) { return (size_t)(rnd() % n); }

static void setup(void)
{
	const pgorm_model *models[] = { &rp_d, &rc_d, &rp_o, &rc_o };
	pgtest_env_setup(&env, models, 4, "DROP TABLE IF EXISTS rchildren_d, rparents_d, rchildren_o, rparents_o", NULL);
	for (int p = 0; p < NPAIR; p++) {
		pairs[p].children = pgorm_registry_rel(reg, pairs[p].pm, "children");
		pairs[p].parent = pgorm_registry_rel(reg, pairs[p].cm, "parent");
	}
	for (int p = 0; p < NPAIR; p++) {
		char sql[256];
		snprintf(sql, sizeof sql, "CREATE TABLE %s (id bigserial PRIMARY KEY, name text NOT NULL)", pairs[p].ptable);
		pgtest_exec(conn, sql);
		snprintf(sql, sizeof sql, "CREATE TABLE %s (id bigserial PRIMARY KEY, parent_id bigint REFERENCES %s(id), "
		         "name text NOT NULL)", pairs[p].ctable, pairs[p].ptable);
		pgtest_exec(conn, sql);
	}
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	cfg.nplus1_threshold = 0;
	s = pgtest_env_session(&env, &cfg, &log_);
	const char *env = getenv("PGORM_TEST_SEED");
	seed = env && *env ? strtoull(env, NULL, 10) : (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 20);
	if (seed == 0)
		seed = 1;
	rng = seed;
	fprintf(stderr, "test_random: seed %llu (replay with PGORM_TEST_SEED=%llu)\n", seed, seed);
	nsh = ncommitted = 0;
	opno = 0;
}

static void teardown(void) { pgtest_env_teardown(&env); }

static int64_t obj_id(const sobj *x) { return x->is_parent ? ((RP *)x->o)->id : ((RC *)x->o)->id; }

/* Random live object of a pair (parent or child); -1 when there is none. */
static int pick_obj(int pair, bool parent, bool need_flushed)
{
	int cand[MAXOBJ];
	size_t n = 0;
	for (size_t i = 0; i < nsh; i++)
		if (sh[i].alive && sh[i].pair == pair && sh[i].is_parent == parent && (!need_flushed || sh[i].flushed))
			cand[n++] = (int)i;
	return n ? cand[pick(n)] : -1;
}

static size_t count_alive(int pair, bool parent)
{
	size_t n = 0;
	for (size_t i = 0; i < nsh; i++)
		n += sh[i].alive && sh[i].pair == pair && sh[i].is_parent == parent;
	return n;
}

static int index_of(const void *o)
{
	for (size_t i = 0; i < nsh; i++)
		if (sh[i].o == o)
			return (int)i;
	return -1;
}

/* What a flush does, on the shadow model. */
static void sim_flush(void)
{
	/* delete-orphan: children whose link was cut and not re-attached */
	for (size_t i = 0; i < nsh; i++) {
		sobj *c = &sh[i];
		if (c->alive && !c->is_parent && pairs[c->pair].orphan && c->orphaned && c->parent < 0) {
			c->alive = false;
			c->deleted = c->flushed;
		}
	}
	/* deleted parents: their children are deleted (o) or lose their FK (d) */
	for (size_t i = 0; i < nsh; i++) {
		sobj *p = &sh[i];
		if (!p->is_parent || !p->deleted)
			continue;
		for (size_t k = 0; k < nsh; k++) {
			sobj *c = &sh[k];
			if (c->is_parent || !c->alive || c->parent != (int)i)
				continue;
			c->parent = -1;
			if (pairs[c->pair].orphan) {
				c->alive = false;
				c->deleted = c->flushed;
			}
		}
	}
	for (size_t i = 0; i < nsh; i++) {
		if (sh[i].alive)
			sh[i].flushed = true;
		sh[i].orphaned = sh[i].dirty = false;
	}
}

static void do_flush(void)
{
	int rc = pgorm_session_flush(s);
	CHECK(rc == 0, "flush failed: %d", rc);
	sim_flush();
}

/* ---- verification ---- */

static void expect_rows(int pair)
{
	/* parents */
	char want[65536], sql[512];
	size_t k = 0;
	int64_t ids[MAXOBJ];
	size_t n = 0;
	want[0] = '\0';
	for (size_t i = 0; i < nsh; i++)
		if (sh[i].pair == pair && sh[i].is_parent && sh[i].alive && sh[i].flushed)
			ids[n++] = obj_id(&sh[i]);
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && ids[b - 1] > ids[b]; b--) {
			int64_t t = ids[b];
			ids[b] = ids[b - 1];
			ids[b - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(want + k, sizeof want - k, "%s%lld", i ? "," : "", (long long)ids[i]);
	snprintf(sql, sizeof sql, "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM %s", pairs[pair].ptable);
	const char *got = pgtest_text(check, sql);
	CHECK(strcmp(got, want) == 0, "%s rows: database [%s], expected [%s]", pairs[pair].ptable, got, want);
	/* children: id:parent_id */
	struct crow { int64_t id, pid; bool null; } rows[MAXOBJ];
	n = 0;
	for (size_t i = 0; i < nsh; i++) {
		if (sh[i].pair != pair || sh[i].is_parent || !sh[i].alive || !sh[i].flushed)
			continue;
		rows[n].id = obj_id(&sh[i]);
		rows[n].null = sh[i].parent < 0;
		rows[n].pid = sh[i].parent < 0 ? 0 : obj_id(&sh[sh[i].parent]);
		n++;
	}
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && rows[b - 1].id > rows[b].id; b--) {
			struct crow t = rows[b];
			rows[b] = rows[b - 1];
			rows[b - 1] = t;
		}
	k = 0;
	want[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (rows[i].null)
			k += (size_t)snprintf(want + k, sizeof want - k, "%s%lld:-", i ? "," : "", (long long)rows[i].id);
		else
			k += (size_t)snprintf(want + k, sizeof want - k, "%s%lld:%lld", i ? "," : "", (long long)rows[i].id,
			                      (long long)rows[i].pid);
	}
	snprintf(sql, sizeof sql,
	         "SELECT coalesce(string_agg(id || ':' || coalesce(parent_id::text, '-'), ',' ORDER BY id), '') FROM %s",
	         pairs[pair].ctable);
	got = pgtest_text(check, sql);
	CHECK(strcmp(got, want) == 0, "%s rows: database [%s], expected [%s]", pairs[pair].ctable, got, want);
}

/* Reload everything through queries, then: same objects, identity map without SQL, both
 * sides of every loaded relationship consistent. */
static void expect_session(int pair)
{
	const pairdef *pd = &pairs[pair];
	pgorm_query *q;
	pgorm_list ps, cs;
	CHECK(pgorm_query_create(&q, s, pd->pm) == 0, "query");
	pgorm_query_option(q, "children", PGORM_LOAD_SELECTIN);
	pgorm_query_populate_existing(q, true);
	CHECK(pgorm_query_all(q, &ps) == 0, "query parents");
	pgorm_query_destroy(q);
	CHECK(pgorm_query_create(&q, s, pd->cm) == 0, "query");
	pgorm_query_option(q, "parent", PGORM_LOAD_SELECTIN);
	CHECK(pgorm_query_all(q, &cs) == 0, "query children");
	pgorm_query_destroy(q);
	/* every row is an object the test holds (same pointer), alive in the shadow */
	for (size_t i = 0; i < ps.len; i++) {
		int k = index_of(ps.items[i]);
		CHECK(k >= 0 && sh[k].alive, "query returned an unknown or dead %s object (id %lld)", pd->ptable,
		      (long long)((RP *)ps.items[i])->id);
	}
	for (size_t i = 0; i < cs.len; i++) {
		int k = index_of(cs.items[i]);
		CHECK(k >= 0 && sh[k].alive, "query returned an unknown or dead %s object (id %lld)", pd->ctable,
		      (long long)((RC *)cs.items[i])->id);
	}
	/* identity map: get answers with the same pointer and no SQL */
	size_t before = log_.n;
	for (size_t i = 0; i < nsh; i++) {
		if (sh[i].pair != pair || !sh[i].alive)
			continue;
		void *got = NULL;
		pgorm_value pk = PGORM_INT8(obj_id(&sh[i]));
		int rc = pgorm_session_get(s, sh[i].is_parent ? pd->pm : pd->cm, &pk, &got);
		CHECK(rc == 0 && got == sh[i].o, "get %s %lld: rc %d, %p vs %p", sh[i].is_parent ? pd->ptable : pd->ctable,
		      (long long)obj_id(&sh[i]), rc, got, sh[i].o);
		CHECK(pgorm_object_state(got) == PGORM_STATE_PERSISTENT, "state %d", pgorm_object_state(got));
	}
	CHECK(log_.n == before, "pgorm_session_get issued %zu statement(s)", log_.n - before);
	/* both sides, and agreement with the shadow (= the rows) */
	for (size_t i = 0; i < nsh; i++) {
		if (sh[i].pair != pair || !sh[i].alive)
			continue;
		if (sh[i].is_parent) {
			RP *p = sh[i].o;
			CHECK(pgorm_rel_is_loaded(pd->children, p), "children of %lld not loaded", (long long)p->id);
			size_t expect = 0;
			for (size_t k = 0; k < nsh; k++)
				expect += sh[k].alive && !sh[k].is_parent && sh[k].parent == (int)i;
			if (p->children.len != expect) {
				char detail[256] = "";
				size_t dk = 0;
				for (size_t k = 0; k < nsh && dk < sizeof detail - 40; k++)
					if (sh[k].alive && !sh[k].is_parent && sh[k].parent == (int)i) {
						RC *c = sh[k].o;
						dk += (size_t)snprintf(detail + dk, sizeof detail - dk, " shadow child %lld (parent_id %lld%s, link %p)",
						                       (long long)c->id, (long long)c->parent_id,
						                       pgorm_object_is_null(c, "parent_id") ? " NULL" : "", (void *)c->parent);
					}
				CHECK(false, "parent %lld (%p) has %zu children in memory, %zu in the shadow:%s", (long long)p->id,
				      (void *)p, p->children.len, expect, detail);
			}
			for (size_t k = 0; k < p->children.len; k++) {
				RC *c = p->children.items[k];
				CHECK(c->parent == p, "child %lld in %lld's collection points to %p", (long long)c->id,
				      (long long)p->id, (void *)c->parent);
				for (size_t j = k + 1; j < p->children.len; j++)
					CHECK(p->children.items[j] != c, "child %lld twice in a collection", (long long)c->id);
			}
		} else {
			RC *c = sh[i].o;
			CHECK(pgorm_rel_is_loaded(pd->parent, c), "parent of %lld not loaded", (long long)c->id);
			void *want = sh[i].parent < 0 ? NULL : sh[sh[i].parent].o;
			CHECK(c->parent == want, "child %lld: parent %p, shadow %p", (long long)c->id, (void *)c->parent, want);
			if (c->parent) {
				CHECK(c->parent_id == c->parent->id, "child %lld: parent_id %lld, parent %lld", (long long)c->id,
				      (long long)c->parent_id, (long long)c->parent->id);
				size_t seen = 0;
				for (size_t k = 0; k < c->parent->children.len; k++)
					seen += c->parent->children.items[k] == c;
				CHECK(seen == 1, "child %lld appears %zu times in its parent's collection", (long long)c->id, seen);
			} else {
				CHECK(pgorm_object_is_null(c, "parent_id"), "child %lld without parent has a non-NULL FK",
				      (long long)c->id);
			}
		}
	}
}

static void verify(void)
{
	for (int p = 0; p < NPAIR; p++)
		expect_rows(p);
	for (int p = 0; p < NPAIR; p++)
		expect_session(p);
	/* expire about half of the objects so that the next steps also meet unloaded relationships */
	for (size_t i = 0; i < nsh; i++)
		if (sh[i].alive && pick(2) == 0)
			CHECK(pgorm_session_expire(s, sh[i].o) == 0, "expire");
	pgtest_log_clear(&log_);
}

static void do_commit(void)
{
	int rc = pgorm_session_commit(s);
	CHECK(rc == 0, "commit failed: %d", rc);
	sim_flush();
	/* flushed deletes become detached; the rest stays */
	for (size_t i = 0; i < nsh; i++) {
		if (sh[i].deleted) {
			CHECK(pgorm_object_state(sh[i].o) == PGORM_STATE_DETACHED, "deleted object not detached");
			sh[i].deleted = false;
			sh[i].flushed = false;
		}
	}
	memcpy(committed, sh, nsh * sizeof *sh);
	ncommitted = nsh;
	verify();
}

static void do_rollback(void)
{
	CHECK(pgorm_session_rollback(s) == 0, "rollback failed");
	for (size_t i = ncommitted; i < nsh; i++)
		CHECK(pgorm_object_state(sh[i].o) == PGORM_STATE_TRANSIENT, "object created since the commit is not transient");
	memcpy(sh, committed, ncommitted * sizeof *sh);
	nsh = ncommitted;
	verify();
}

/* ---- operations ---- */

static int new_object(int pair, bool parent)
{
	CHECK(nsh < MAXOBJ, "too many objects");
	const pairdef *pd = &pairs[pair];
	void *o = pgorm_object_new(s, parent ? pd->pm : pd->cm);
	CHECK(o != NULL, "object_new");
	char name[32];
	snprintf(name, sizeof name, "%c%ld", parent ? 'p' : 'c', opno);
	if (parent)
		((RP *)o)->name = pgorm_strdup(s, name);
	else
		((RC *)o)->name = pgorm_strdup(s, name);
	sh[nsh] = (sobj){ .o = o, .is_parent = parent, .pair = pair, .parent = -1, .alive = false };
	return (int)nsh++;
}

static void attach(int ci, int pi)
{
	/* pgorm marks the link changed whenever the in-memory link differed, which the shadow
	 * cannot see (an expired link): count every attach as a change */
	sh[ci].dirty = true;
	if (sh[ci].parent != pi)
		sh[ci].orphaned = false;
	sh[ci].parent = pi;
}

/* A pending child cut from its parent under delete-orphan leaves the session at once
 * (SQLAlchemy expunges it): it is transient, and the test does not use it again. */
static void cut_pending_orphan(int c)
{
	if (!pairs[sh[c].pair].orphan || sh[c].flushed)
		return;
	CHECK(pgorm_object_state(sh[c].o) == PGORM_STATE_TRANSIENT, "pending orphan not expunged");
	sh[c].alive = false;
}

static void step(void)
{
	int pair = (int)pick(NPAIR);
	const pairdef *pd = &pairs[pair];
	unsigned op = (unsigned)pick(100);
	int rc;
	if (op < 8) {                                   /* new parent */
		if (count_alive(pair, true) >= MAX_PARENTS)
			return;
		int p = new_object(pair, true);
		snprintf(ctx, sizeof ctx, "new %s", pd->ptable);
		CHECK(pgorm_session_add(s, sh[p].o) == 0, "add");
		sh[p].alive = true;
	} else if (op < 20) {                           /* new child, attached or not */
		if (count_alive(pair, false) >= MAX_CHILDREN)
			return;
		int p = pick(3) ? pick_obj(pair, true, false) : -1;
		int c = new_object(pair, false);
		snprintf(ctx, sizeof ctx, "new %s under %d", pd->ctable, p);
		if (p >= 0) {
			CHECK(pgorm_rel_append(s, pd->children, sh[p].o, sh[c].o) == 0, "append new");
			CHECK(pgorm_object_state(sh[c].o) == PGORM_STATE_PENDING, "append did not cascade");
			attach(c, p);
		} else {
			CHECK(pgorm_session_add(s, sh[c].o) == 0, "add");
		}
		sh[c].alive = true;
	} else if (op < 36) {                           /* append / move via the collection */
		int p = pick_obj(pair, true, false), c = pick_obj(pair, false, false);
		if (p < 0 || c < 0)
			return;
		snprintf(ctx, sizeof ctx, "append %s %lld to %lld", pd->ctable, (long long)obj_id(&sh[c]),
		         (long long)obj_id(&sh[p]));
		rc = pgorm_rel_append(s, pd->children, sh[p].o, sh[c].o);
		CHECK(rc == 0, "append: %d", rc);
		attach(c, p);
	} else if (op < 48) {                           /* move via the many-to-one, or set NULL */
		int c = pick_obj(pair, false, false);
		if (c < 0)
			return;
		int p = pick(4) ? pick_obj(pair, true, false) : -1;
		snprintf(ctx, sizeof ctx, "set %s %lld parent %d", pd->ctable, (long long)obj_id(&sh[c]), p);
		/* as SQLAlchemy: a many-to-one set while unloaded (expired) makes no orphan */
		bool was_loaded = pgorm_rel_is_loaded(pd->parent, sh[c].o);
		rc = pgorm_rel_set(s, pd->parent, sh[c].o, p >= 0 ? sh[p].o : NULL);
		CHECK(rc == 0, "set: %d", rc);
		if (p >= 0) {
			attach(c, p);
		} else if (sh[c].parent >= 0) {
			sh[c].parent = -1;
			sh[c].dirty = true;
			sh[c].orphaned = sh[c].orphaned || was_loaded;
			if (was_loaded)
				cut_pending_orphan(c);
		}
	} else if (op < 58) {                           /* remove from the current parent */
		int c = pick_obj(pair, false, false);
		if (c < 0 || sh[c].parent < 0 || !sh[sh[c].parent].alive)
			return;
		int p = sh[c].parent;
		snprintf(ctx, sizeof ctx, "remove %s %lld from %lld", pd->ctable, (long long)obj_id(&sh[c]),
		         (long long)obj_id(&sh[p]));
		rc = pgorm_rel_remove(s, pd->children, sh[p].o, sh[c].o);
		CHECK(rc == 0, "remove: %d", rc);
		sh[c].parent = -1;
		sh[c].dirty = sh[c].orphaned = true;
		cut_pending_orphan(c);
	} else if (op < 63) {                           /* delete a parent */
		int p = pick_obj(pair, true, true);
		if (p < 0)
			return;
		/* a child attached to it since the last flush would get its FK (as in SQLAlchemy):
		 * not a case for this test */
		for (size_t k = 0; k < nsh; k++)
			if (sh[k].alive && !sh[k].is_parent && sh[k].parent == p && (sh[k].dirty || !sh[k].flushed))
				return;
		snprintf(ctx, sizeof ctx, "delete %s %lld", pd->ptable, (long long)obj_id(&sh[p]));
		CHECK(pgorm_session_delete(s, sh[p].o) == 0, "delete");
		sh[p].alive = false;
		sh[p].deleted = true;
	} else if (op < 68) {                           /* delete a child */
		int c = pick_obj(pair, false, true);
		if (c < 0)
			return;
		snprintf(ctx, sizeof ctx, "delete %s %lld", pd->ctable, (long long)obj_id(&sh[c]));
		CHECK(pgorm_session_delete(s, sh[c].o) == 0, "delete");
		sh[c].alive = false;
		sh[c].deleted = true;
	} else if (op < 78) {                           /* explicit lazy loads */
		int p = pick_obj(pair, true, false), c = pick_obj(pair, false, false);
		snprintf(ctx, sizeof ctx, "load");
		if (p >= 0) {
			pgorm_collection *coll = NULL;
			rc = pgorm_rel_load(s, pd->children, sh[p].o, &coll);
			CHECK(rc == 0, "load children: %d", rc);
			for (size_t k = 0; k < coll->len; k++) {
				int ci = index_of(coll->items[k]);
				CHECK(ci >= 0, "collection holds an unknown object");
				CHECK(((RC *)coll->items[k])->parent == sh[p].o, "loaded child does not point back");
			}
		}
		if (c >= 0) {
			void *got = NULL;
			rc = pgorm_rel_load(s, pd->parent, sh[c].o, &got);
			CHECK(rc == 0, "load parent: %d", rc);
			void *want = sh[c].parent < 0 ? NULL : sh[sh[c].parent].o;
			/* a parent deleted without delete cascade stays referenced until commit
			 * (its children's FK is nulled at flush), as in SQLAlchemy */
			bool deleted_parent = want == NULL && got != NULL && pgorm_object_state(got) == PGORM_STATE_DELETED;
			CHECK(got == want || deleted_parent, "lazy parent %p, shadow %p", got, want);
		}
	} else if (op < 82) {                           /* get by key after a flush */
		snprintf(ctx, sizeof ctx, "flush+get");
		do_flush();
		int x = pick_obj(pair, pick(2) == 0, true);
		if (x < 0)
			return;
		void *got = NULL;
		pgorm_value pk = PGORM_INT8(obj_id(&sh[x]));
		rc = pgorm_session_get(s, sh[x].is_parent ? pd->pm : pd->cm, &pk, &got);
		CHECK(rc == 0 && got == sh[x].o, "get: rc %d, %p vs %p", rc, got, sh[x].o);
	} else if (op < 88) {
		snprintf(ctx, sizeof ctx, "flush");
		do_flush();
	} else if (op < 97) {
		snprintf(ctx, sizeof ctx, "commit");
		do_commit();
	} else {
		snprintf(ctx, sizeof ctx, "rollback");
		do_rollback();
	}
}

static void run_ops(long nops)
{
	bool trace = getenv("PGORM_TEST_TRACE") != NULL;
	for (opno = 0; opno < nops; opno++) {
		ctx[0] = '\0';
		step();
		if (trace && ctx[0])
			fprintf(stderr, "op %ld: %s\n", opno, ctx);
	}
	snprintf(ctx, sizeof ctx, "final commit");
	do_commit();
	fprintf(stderr, "test_random: %ld operations, %zu objects, seed %llu: ok\n", nops, nsh, seed);
}

START_TEST(test_random_operations)
{
	long nops = 4000;
	const char *env = getenv("PGORM_TEST_OPS");
	if (env && *env)
		nops = strtol(env, NULL, 10);
	run_ops(nops);
}
END_TEST

/* Seeds that once failed, replayed on every run. 15070947225: a child linked again to the
 * parent it already had was left out when that parent's collection reloaded (apply_o2m
 * skipped every child with a changed link), so deleting the parent did not null its FK. */
static const unsigned long long regression_seeds[] = { 15070947225ULL };

START_TEST(test_issue_regression_seeds)
{
	seed = rng = regression_seeds[_i];
	fprintf(stderr, "test_random: regression seed %llu\n", seed);
	run_ops(4000);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("random");
	TCase *tc = pgtest_tcase(su, "random", 120, setup, teardown);
	tcase_add_test(tc, test_random_operations);
	tcase_add_loop_test(tc, test_issue_regression_seeds, 0, (int)(sizeof regression_seeds / sizeof regression_seeds[0]));
	return pgtest_run(su);
}
