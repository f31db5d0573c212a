/* Integration tests: out of memory. pgorm_set_allocator installs an allocator that fails the
 * Nth allocation; each scenario is run for N = 1, 2, … until it succeeds. Every run that
 * fails must fail cleanly with PGORM_ENOMEM (no crash, no other error, no half-applied
 * change), and every run must free what it allocated (run under ASan or
 * `meson test --setup valgrind oom` for the leak check). */
#include "pgtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct P { pgorm_object hdr; int64_t id; char *name; pgorm_collection kids; } P;
typedef struct C { pgorm_object hdr; int64_t id; int64_t pid; char *name; P *parent; pgorm_collection kids; } C;
typedef struct G { pgorm_object hdr; int64_t id; int64_t cid; C *parent; } G;
extern const pgorm_model oom_p_model, oom_c_model, oom_g_model;

static const pgorm_column pcols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, P, id),
	PGORM_COLUMN(TEXT, "name", 0, P, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship prels[] = {
	PGORM_ONE_TO_MANY("kids", P, kids, &oom_c_model, "pid", "parent", PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN),
	PGORM_RELATIONSHIP_END
};
const pgorm_model oom_p_model = PGORM_MODEL("oom_p", P, pcols, prels);

static const pgorm_column ccols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, C, id),
	PGORM_COLUMN_FK(INT8, "pid", PGORM_NULLABLE, C, pid, "oom_p", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, C, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship crels[] = {
	PGORM_MANY_TO_ONE("parent", C, parent, &oom_p_model, "pid", "kids"),
	PGORM_ONE_TO_MANY("kids", C, kids, &oom_g_model, "cid", "parent", PGORM_CASCADE_ALL),
	PGORM_RELATIONSHIP_END
};
const pgorm_model oom_c_model = PGORM_MODEL("oom_c", C, ccols, crels);

static const pgorm_column gcols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, G, id),
	PGORM_COLUMN_FK(INT8, "cid", PGORM_NULLABLE, G, cid, "oom_c", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END
};
static const pgorm_relationship grels[] = {
	PGORM_MANY_TO_ONE("parent", G, parent, &oom_c_model, "cid", "kids"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model oom_g_model = PGORM_MODEL("oom_g", G, gcols, grels);

static const pgorm_model *models[] = { &oom_p_model, &oom_c_model, &oom_g_model };

/* ---- the failing allocator ---- */

static long countdown = -1; /* fail when it reaches 0; -1: never */
static long calls;
static bool failed;         /* the planned failure happened */

static bool fail_now(void)
{
	calls++;
	if (countdown > 0 && --countdown == 0) {
		failed = true;
		return true;
	}
	return false;
}
static void *m_(size_t n) { return fail_now() ? NULL : malloc(n); }
static void *c_(size_t n, size_t s) { return fail_now() ? NULL : calloc(n, s); }
static void *r_(void *p, size_t n) { return fail_now() ? NULL : realloc(p, n); }
static const pgorm_allocator failing = { m_, c_, r_, free };

static void arm(long n)
{
	countdown = n;
	calls = 0;
	failed = false;
	pgorm_set_allocator(&failing);
}

static void disarm(void)
{
	pgorm_set_allocator(NULL);
	countdown = -1;
}

/* A session on its own connection, over tables created afresh (normal allocator). */
typedef struct fixture {
	pgorm_registry *reg;
	pgorm_conn *c;
	pgorm_session *s;
} fixture;

static void fixture_open(fixture *f, bool create)
{
	const pgtest_env env = { .reg = &f->reg, .conn = &f->c };
	if (create)
		pgtest_env_setup(&env, models, 3, PGTEST_DROP_ALL, PGTEST_CREATE_ALL, NULL);
	else
		pgtest_env_setup(&env, models, 3, NULL);
	f->s = pgtest_env_session(&env, NULL, NULL);
}

static void fixture_close(fixture *f)
{
	pgtest_env_teardown(&(const pgtest_env){ .reg = &f->reg, .conn = &f->c, .session = &f->s });
}

/* ---- the whole life of a session, every allocation failing in turn ---- */

/* -2 when a pointer-returning call gave NULL (then the session's error says why). */
static int scenario(const char *dsn, bool plan, pgorm_session **sp)
{
	int rc = 0;
	pgorm_error err;
	pgorm_registry *reg = NULL;
	pgorm_conn *c = NULL;
	pgorm_session *s = NULL;
	pgorm_query *q = NULL;
	char *rep = NULL;
#define CK(x) do { if ((rc = (x)) != 0) goto out; } while (0)
	CK(pgorm_registry_create(&reg, models, 3, &err));
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	cc.conninfo = dsn;
	CK(pgorm_conn_connect(&c, &cc, &err));
	CK(pgorm_registry_drop_all(reg, c));
	CK(pgorm_registry_create_all(reg, c, false));
	int nd = pgorm_registry_check(reg, c, &rep);
	pgorm_free(rep);
	if (nd < 0) {
		rc = nd;
		goto out;
	}
	CK(pgorm_session_create(&s, reg, NULL, c, NULL, &err));
	*sp = s;
	const pgorm_rel *kids = pgorm_registry_rel(reg, &oom_p_model, "kids");
	const pgorm_rel *par = pgorm_registry_rel(reg, &oom_c_model, "parent");
	const pgorm_rel *gpar = pgorm_registry_rel(reg, &oom_g_model, "parent");
	for (int i = 0; i < 3; i++) {
		P *p = pgorm_object_new(s, &oom_p_model);
		if (p == NULL || (p->name = pgorm_strdup(s, "p")) == NULL) {
			rc = -2;
			goto out;
		}
		for (int k = 0; k < 3; k++) {
			C *ch = pgorm_object_new(s, &oom_c_model);
			G *g = pgorm_object_new(s, &oom_g_model);
			if (ch == NULL || g == NULL) {
				rc = -2;
				goto out;
			}
			ch->name = "c";
			CK(k == 0 ? pgorm_rel_set(s, par, ch, p) : pgorm_rel_append(s, kids, p, ch));
			CK(pgorm_rel_set(s, gpar, g, ch));
		}
		CK(pgorm_session_add(s, p));
	}
	if (plan) {
		char *text = NULL;
		CK(pgorm_session_plan(s, &text));
		pgorm_free(text);
	}
	CK(pgorm_session_commit(s));
	CK(pgorm_query_create(&q, s, &oom_p_model));
	CK(pgorm_query_option(q, "kids", PGORM_LOAD_SELECTIN));
	CK(pgorm_query_option(q, "kids.kids", PGORM_LOAD_SELECTIN));
	CK(pgorm_query_filter(q, "name", "=", PGORM_TEXT("p")));
	CK(pgorm_query_order_by(q, "id", false));
	pgorm_list l;
	CK(pgorm_query_all(q, &l));
	pgorm_query_destroy(q);
	q = NULL;
	CK(pgorm_query_create(&q, s, &oom_c_model));
	CK(pgorm_query_option(q, "parent", PGORM_LOAD_JOINED));
	pgorm_list l2;
	CK(pgorm_query_all(q, &l2));
	if (l.len != 3 || l2.len != 9) {
		rc = -99;
		goto out;
	}
	P *p0 = l.items[0];
	CK(pgorm_rel_remove(s, kids, p0, p0->kids.items[0])); /* orphan: deleted with its G */
	CK(pgorm_session_delete(s, l.items[1]));              /* cascade: P → C → G */
	if (plan) {
		char *text = NULL;
		CK(pgorm_session_plan(s, &text));
		pgorm_free(text);
	}
	CK(pgorm_session_begin_nested(s));
	((P *)l.items[2])->name = "renamed";
	CK(pgorm_session_flush(s));
	CK(pgorm_session_rollback_nested(s));
	CK(pgorm_session_commit(s));
	void *got;
	pgorm_value pk = PGORM_INT8(((P *)l.items[0])->id);
	CK(pgorm_session_get(s, &oom_p_model, &pk, &got));
	int64_t cnt;
	pgorm_query_destroy(q);
	q = NULL;
	CK(pgorm_query_create(&q, s, &oom_c_model));
	CK(pgorm_query_count(q, &cnt));
	if (cnt != 5) { /* 9 - 1 orphan - 3 cascaded */
		rc = -98;
		goto out;
	}
	uint64_t aff;
	CK(pgorm_query_update(q, "name", PGORM_TEXT("z"), &aff));
	CK(pgorm_session_commit(s));
#undef CK
out:
	if (rc == -2 && s != NULL && pgorm_session_error(s)->code != PGORM_ENOMEM)
		rc = -97; /* a NULL without an out-of-memory error in the session */
	if (s != NULL)
		pgorm_session_rollback(s);
	pgorm_query_destroy(q);
	*sp = NULL;
	pgorm_session_destroy(s);
	pgorm_conn_close(c);
	pgorm_registry_destroy(reg);
	return rc;
}

static void run_all(bool plan)
{
	const char *dsn = pgtest_dsn();
	pgorm_session *s = NULL;
	arm(-1);
	int rc = scenario(dsn, plan, &s);
	long total = calls;
	disarm();
	ck_assert_msg(rc == 0, "baseline: rc %d (%s)", rc, pgorm_err_name(rc));
	long n;
	for (n = 1; n <= total + 1; n++) {
		arm(n);
		rc = scenario(dsn, plan, &s);
		bool hit = failed;
		disarm();
		if (!hit) {
			ck_assert_msg(rc == 0, "N=%ld: no allocation failed, rc %d (%s)", n, rc, pgorm_err_name(rc));
			break;
		}
		ck_assert_msg(rc == 0 || rc == PGORM_ENOMEM || rc == -2,
		              "N=%ld: rc %d (%s), expected PGORM_ENOMEM", n, rc, pgorm_err_name(rc));
	}
	ck_assert_msg(n > 1 && n <= total + 1, "the scenario never ran to completion (N=%ld, %ld allocations)", n, total);
}

START_TEST(test_oom_session_scenario) { run_all(false); }
END_TEST

/* pgorm_session_plan's dry run: a failed calloc of its saved states left restore_states
 * walking NULL arrays. */
START_TEST(test_issue_plan_oom) { run_all(true); }
END_TEST

/* ---- delete cascade over three levels: a failed push used to cut the cascade short and
 * the flush went on (grandchildren left behind, their FK then failing the DELETE) ---- */

static void seed_tree(fixture *f, int64_t *pid)
{
	const pgorm_rel *kids = pgorm_registry_rel(f->reg, &oom_p_model, "kids");
	const pgorm_rel *gkids = pgorm_registry_rel(f->reg, &oom_c_model, "kids");
	P *p = pgorm_object_new(f->s, &oom_p_model);
	p->name = "root";
	for (int k = 0; k < 3; k++) {
		C *ch = pgorm_object_new(f->s, &oom_c_model);
		ch->name = "c";
		ck_assert_int_eq(pgorm_rel_append(f->s, kids, p, ch), 0);
		for (int j = 0; j < 2; j++)
			ck_assert_int_eq(pgorm_rel_append(f->s, gkids, ch, pgorm_object_new(f->s, &oom_g_model)), 0);
	}
	ck_assert_int_eq(pgorm_session_add(f->s, p), 0);
	ck_assert_int_eq(pgorm_session_commit(f->s), 0);
	*pid = p->id;
}

START_TEST(test_issue_cascade_oom)
{
	bool created = false;
	for (long n = 1;; n++) {
		fixture f;
		fixture_open(&f, !created);
		created = true;
		int64_t pid;
		seed_tree(&f, &pid);
		pgorm_session_destroy(f.s);
		pgorm_error err;
		ck_assert_int_eq(pgorm_session_create(&f.s, f.reg, NULL, f.c, NULL, &err), 0);
		/* load the tree (unfailing), then delete the root with every allocation failing in turn */
		pgorm_value pk = PGORM_INT8(pid);
		void *root;
		ck_assert_int_eq(pgorm_session_get(f.s, &oom_p_model, &pk, &root), 0);
		const pgorm_rel *kids = pgorm_registry_rel(f.reg, &oom_p_model, "kids");
		const pgorm_rel *gkids = pgorm_registry_rel(f.reg, &oom_c_model, "kids");
		ck_assert_int_eq(pgorm_rel_load(f.s, kids, root, NULL), 0);
		P *p = root;
		for (size_t k = 0; k < p->kids.len; k++)
			ck_assert_int_eq(pgorm_rel_load(f.s, gkids, p->kids.items[k], NULL), 0);
		arm(n);
		int rc = pgorm_session_delete(f.s, root);
		if (rc == 0)
			rc = pgorm_session_commit(f.s);
		bool hit = failed;
		disarm();
		ck_assert_msg(rc == 0 || rc == PGORM_ENOMEM, "N=%ld: rc %d (%s): %s", n, rc, pgorm_err_name(rc),
		              pgorm_session_error(f.s)->message);
		if (rc != 0)
			pgorm_session_rollback(f.s);
		char sql[128];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM oom_p WHERE id = %lld", (long long)pid);
		int64_t roots = pgtest_int(f.c, sql);
		int64_t cs = pgtest_int(f.c, "SELECT count(*) FROM oom_c");
		int64_t gs = pgtest_int(f.c, "SELECT count(*) FROM oom_g");
		if (rc == 0) { /* all gone, or nothing applied */
			ck_assert_msg(roots == 0 && cs == 0 && gs == 0, "N=%ld: left %lld/%lld/%lld", n, (long long)roots,
			              (long long)cs, (long long)gs);
		} else {
			ck_assert_msg(roots == 1 && cs == 3 && gs == 6, "N=%ld: half applied %lld/%lld/%lld", n,
			              (long long)roots, (long long)cs, (long long)gs);
			pgtest_exec(f.c, "DELETE FROM oom_g");
			pgtest_exec(f.c, "DELETE FROM oom_c");
			pgtest_exec(f.c, "DELETE FROM oom_p");
		}
		fixture_close(&f);
		if (!hit) {
			ck_assert_int_eq(rc, 0);
			ck_assert_int_gt(n, 1);
			break;
		}
	}
}
END_TEST

/* ---- query building: an out-of-memory in the WHERE / ORDER BY builder is an error, not a
 * NULL string formatted into the SQL ---- */

static int count_rows(void *ctx, void **objs, size_t n)
{
	(void)objs;
	*(size_t *)ctx += n;
	return 0;
}

START_TEST(test_issue_query_oom)
{
	fixture f;
	fixture_open(&f, true);
	pgtest_exec(f.c, "INSERT INTO oom_p (name) VALUES ('a'), ('b')");
	for (long n = 1;; n++) {
		pgorm_query *q = NULL;
		ck_assert_int_eq(pgorm_query_create(&q, f.s, &oom_p_model), 0);
		arm(n);
		int rc = pgorm_query_filter(q, "name", "=", PGORM_TEXT("a"));
		int rc2 = pgorm_query_where(q, "t.id > $1", 1, (pgorm_value[]){ PGORM_INT8(0) });
		int rc3 = pgorm_query_order_by(q, "id", true);
		int64_t cnt = -1;
		int rc4 = pgorm_query_count(q, &cnt);
		pgorm_list l = { 0 };
		int rc5 = pgorm_query_all(q, &l);
		uint64_t aff = 0;
		int rc6 = pgorm_query_update(q, "name", PGORM_TEXT("a"), &aff);
		size_t streamed = 0;
		int rc7 = pgorm_query_stream(q, 10, count_rows, &streamed);
		bool hit = failed;
		disarm();
		int rcs[] = { rc, rc2, rc3, rc4, rc5, rc6, rc7 };
		bool any = false;
		for (size_t i = 0; i < 7; i++) {
			/* after a failure inside the transaction, the session asks for a rollback */
			ck_assert_msg(rcs[i] == 0 || rcs[i] == PGORM_ENOMEM || (any && rcs[i] == PGORM_ESTATE),
			              "N=%ld: call %zu: rc %d (%s): %s", n, i, rcs[i], pgorm_err_name(rcs[i]),
			              pgorm_session_error(f.s)->message);
			any |= rcs[i] != 0;
		}
		if (rc != 0 || rc2 != 0 || rc3 != 0) { /* a query that failed to build never runs */
			ck_assert_int_eq(rc4, PGORM_ENOMEM);
			ck_assert_int_eq(rc5, PGORM_ENOMEM);
			ck_assert_int_eq(rc6, PGORM_ENOMEM);
			ck_assert_int_eq(rc7, PGORM_ENOMEM);
			ck_assert_int_eq(pgorm_session_error(f.s)->code, PGORM_ENOMEM);
		}
		if (rc4 == 0)
			ck_assert_int_eq(cnt, 1);
		if (rc5 == 0)
			ck_assert_uint_eq(l.len, 1);
		if (rc6 == 0)
			ck_assert_uint_eq(aff, 1);
		if (rc7 == 0)
			ck_assert_uint_eq(streamed, 1);
		pgorm_query_destroy(q);
		ck_assert_int_eq(pgorm_session_rollback(f.s), 0);
		if (!hit) {
			ck_assert(!any);
			ck_assert_int_gt(n, 1);
			break;
		}
	}
	fixture_close(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("oom");
	TCase *tc = pgtest_tcase(s, "core", 600, NULL, NULL);
	tcase_add_test(tc, test_oom_session_scenario);
	tcase_add_test(tc, test_issue_plan_oom);
	tcase_add_test(tc, test_issue_cascade_oom);
	tcase_add_test(tc, test_issue_query_oom);
	return pgtest_run(s);
}
