/* Unit tests: the identity map — (model, primary key) → object over integer, text, composite
 * and uuid keys; growth and rehashing with many objects; backward-shift deletion across the
 * end of the table; the hash tags in the pointers' top bits; reserve and the find_h/put_h
 * pair the loader uses. Objects are built as the session builds them (pgtest_object_new). */
#include "pgtest.h"
#include "arena.h"
#include "identity_map.h"

#include <stdint.h>
#include <string.h>

typedef struct IntRow {
	pgorm_object hdr;
	int64_t id;
	char *name;
} IntRow;

typedef struct TextRow {
	pgorm_object hdr;
	char *code;
	int32_t n;
} TextRow;

typedef struct PairRow {
	pgorm_object hdr;
	int32_t a;
	char *b;
} PairRow;

typedef struct UuidRow {
	pgorm_object hdr;
	pgorm_uuid id;
} UuidRow;

static const pgorm_column int_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK, IntRow, id),
	PGORM_COLUMN(TEXT, "name", PGORM_NULLABLE, IntRow, name),
	PGORM_COLUMN_END
};
static const pgorm_model int_model = PGORM_MODEL("im_int", IntRow, int_cols, NULL);
static const pgorm_model int2_model = PGORM_MODEL("im_int2", IntRow, int_cols, NULL); /* same keys, other model */

static const pgorm_column text_cols[] = {
	PGORM_COLUMN(TEXT, "code", PGORM_PK, TextRow, code),
	PGORM_COLUMN(INT4, "n", PGORM_NULLABLE, TextRow, n),
	PGORM_COLUMN_END
};
static const pgorm_model text_model = PGORM_MODEL("im_text", TextRow, text_cols, NULL);

static const pgorm_column pair_cols[] = {
	PGORM_COLUMN(INT4, "a", PGORM_PK, PairRow, a),
	PGORM_COLUMN(TEXT, "b", PGORM_PK, PairRow, b),
	PGORM_COLUMN_END
};
static const pgorm_model pair_model = PGORM_MODEL("im_pair", PairRow, pair_cols, NULL);

static const pgorm_column uuid_cols[] = {
	PGORM_COLUMN(UUID, "id", PGORM_PK, UuidRow, id),
	PGORM_COLUMN_END
};
static const pgorm_model uuid_model = PGORM_MODEL("im_uuid", UuidRow, uuid_cols, NULL);

#define TAG_SHIFT 48
#define PTR_MASK ((UINT64_C(1) << TAG_SHIFT) - 1)

static pgorm_registry *reg;
static const pgtest_env env = { .reg = &reg };
static pgorm__arena arena;
static pgorm__imap map;
static const pgorm__model_info *mi_int, *mi_int2, *mi_text, *mi_pair, *mi_uuid;

static void setup(void)
{
	const pgorm_model *models[] = { &int_model, &int2_model, &text_model, &pair_model, &uuid_model };
	pgtest_env_setup(&env, models, 5, NULL);
	mi_int = pgorm__registry_info(reg, &int_model);
	mi_int2 = pgorm__registry_info(reg, &int2_model);
	mi_text = pgorm__registry_info(reg, &text_model);
	mi_pair = pgorm__registry_info(reg, &pair_model);
	mi_uuid = pgorm__registry_info(reg, &uuid_model);
	pgorm__arena_init(&arena);
	ck_assert_int_eq(pgorm__imap_init(&map, reg), 0);
}

static void teardown(void)
{
	pgorm__imap_finish(&map);
	pgorm__arena_free_all(&arena);
	pgtest_env_teardown(&env);
}

static IntRow *int_row(const pgorm_model *m, int64_t id)
{
	IntRow *r = pgtest_object_new(&arena, reg, m);
	r->id = id;
	return r;
}

/* Put a new IntRow with key id; NULL when the put failed or did not mark the object. Loops
 * count failures and assert once: in fork mode every Check assertion writes to a pipe. */
static IntRow *put_int(const pgorm__model_info *mi, int64_t id)
{
	IntRow *r = int_row(mi->model, id);
	if (pgorm__imap_put(&map, mi, r) != 0 || !(pgorm__st(r)->flags & OBJ_IN_MAP))
		return NULL;
	return r;
}

/* The object of model mi with key id, or NULL (the probe is a bare struct, as the loader's is). */
static void *find_int(const pgorm__model_info *mi, int64_t id)
{
	IntRow probe = { .id = id };
	return pgorm__imap_find(&map, mi, &probe);
}

/* The hash the map uses for key id of model mi. */
static uint64_t hash_int(const pgorm__model_info *mi, int64_t id)
{
	IntRow probe = { .id = id };
	uint64_t h = 0;
	pgorm__imap_find_h(&map, mi, &probe, &h);
	return h;
}

static size_t nonempty_slots(void)
{
	size_t k = 0;
	for (size_t i = 0; i < map.cap; i++)
		k += map.slots[i] != 0;
	return k;
}

START_TEST(test_put_find_del)
{
	ck_assert_uint_eq(map.cap, 1024);
	ck_assert_uint_eq(map.count, 0);
	ck_assert_ptr_null(find_int(mi_int, 1));
	IntRow *a = put_int(mi_int, 1), *b = put_int(mi_int, 2), *c = put_int(mi_int, -7);
	ck_assert(a && b && c);
	ck_assert_uint_eq(map.count, 3);
	ck_assert_ptr_eq(find_int(mi_int, 1), a);
	ck_assert_ptr_eq(find_int(mi_int, 2), b);
	ck_assert_ptr_eq(find_int(mi_int, -7), c);
	ck_assert_ptr_null(find_int(mi_int, 3));
	/* the same key in another model is another object */
	ck_assert_ptr_null(find_int(mi_int2, 1));
	IntRow *a2 = put_int(mi_int2, 1);
	ck_assert_ptr_nonnull(a2);
	ck_assert_ptr_eq(find_int(mi_int2, 1), a2);
	ck_assert_ptr_eq(find_int(mi_int, 1), a);
	/* delete */
	pgorm__imap_del(&map, mi_int, a);
	ck_assert(!(pgorm__st(a)->flags & OBJ_IN_MAP));
	ck_assert_ptr_null(find_int(mi_int, 1));
	ck_assert_ptr_eq(find_int(mi_int2, 1), a2);
	ck_assert_ptr_eq(find_int(mi_int, 2), b);
	ck_assert_uint_eq(map.count, 3);
	/* deleting an object that is not in the map (again, or never put) changes nothing */
	pgorm__imap_del(&map, mi_int, a);
	pgorm__imap_del(&map, mi_int, int_row(&int_model, 2)); /* same key as b, not in the map */
	ck_assert_uint_eq(map.count, 3);
	ck_assert_ptr_eq(find_int(mi_int, 2), b);
	ck_assert_uint_eq(nonempty_slots(), 3);
	/* put back after delete */
	ck_assert_int_eq(pgorm__imap_put(&map, mi_int, a), 0);
	ck_assert_ptr_eq(find_int(mi_int, 1), a);
	pgorm__imap_prefetch_int(&map, mi_int, 1); /* a hint only: nothing to observe but no fault */
}
END_TEST

START_TEST(test_text_composite_uuid_keys)
{
	/* text: found by content through another pointer */
	TextRow *t = pgtest_object_new(&arena, reg, &text_model);
	t->code = "alpha";
	ck_assert_int_eq(pgorm__imap_put(&map, mi_text, t), 0);
	char buf[] = "alpha";
	TextRow probe = { .code = buf };
	ck_assert_ptr_eq(pgorm__imap_find(&map, mi_text, &probe), t);
	probe.code = "alph";
	ck_assert_ptr_null(pgorm__imap_find(&map, mi_text, &probe));
	probe.code = "alphab";
	ck_assert_ptr_null(pgorm__imap_find(&map, mi_text, &probe));

	/* composite (int4, text): both columns count */
	PairRow *p1 = pgtest_object_new(&arena, reg, &pair_model), *p2 = pgtest_object_new(&arena, reg, &pair_model);
	p1->a = 1;
	p1->b = "x";
	p2->a = 1;
	p2->b = "y";
	ck_assert_int_eq(pgorm__imap_put(&map, mi_pair, p1), 0);
	ck_assert_int_eq(pgorm__imap_put(&map, mi_pair, p2), 0);
	PairRow pp = { .a = 1, .b = "y" };
	ck_assert_ptr_eq(pgorm__imap_find(&map, mi_pair, &pp), p2);
	pp.b = "x";
	ck_assert_ptr_eq(pgorm__imap_find(&map, mi_pair, &pp), p1);
	pp.a = 2;
	ck_assert_ptr_null(pgorm__imap_find(&map, mi_pair, &pp));

	/* uuid: 16 bytes */
	UuidRow *u = pgtest_object_new(&arena, reg, &uuid_model);
	for (int i = 0; i < 16; i++)
		u->id.bytes[i] = (uint8_t)(i * 17);
	ck_assert_int_eq(pgorm__imap_put(&map, mi_uuid, u), 0);
	UuidRow up = { .id = u->id };
	ck_assert_ptr_eq(pgorm__imap_find(&map, mi_uuid, &up), u);
	up.id.bytes[15] ^= 1;
	ck_assert_ptr_null(pgorm__imap_find(&map, mi_uuid, &up));

	pgorm__imap_del(&map, mi_pair, p1);
	pp.a = 1;
	ck_assert_ptr_null(pgorm__imap_find(&map, mi_pair, &pp));
	pp.b = "y";
	ck_assert_ptr_eq(pgorm__imap_find(&map, mi_pair, &pp), p2);
	ck_assert_uint_eq(map.count, 3);
}
END_TEST

START_TEST(test_pk_equal)
{
	TextRow a = { .code = "k" }, b = { .code = NULL }, c = { .code = NULL };
	char k[] = "k";
	TextRow d = { .code = k };
	ck_assert(pgorm__pk_equal(mi_text, &a, &d));
	ck_assert(!pgorm__pk_equal(mi_text, &a, &b));
	ck_assert(!pgorm__pk_equal(mi_text, &b, &a));
	ck_assert(pgorm__pk_equal(mi_text, &b, &c));
	a.n = 5; /* not a key column */
	ck_assert(pgorm__pk_equal(mi_text, &a, &d));
	PairRow p = { .a = 1, .b = "x" }, q = { .a = 1, .b = "x" };
	ck_assert(pgorm__pk_equal(mi_pair, &p, &q));
	q.a = -1;
	ck_assert(!pgorm__pk_equal(mi_pair, &p, &q));
	IntRow i1 = { .id = INT64_MIN, .name = "a" }, i2 = { .id = INT64_MIN, .name = "b" };
	ck_assert(pgorm__pk_equal(mi_int, &i1, &i2));
}
END_TEST

enum { MANY = 30000 }; /* grows the map from 1024 to 65536 slots, six rebuilds */

START_TEST(test_growth_many_objects)
{
	static IntRow *rows[MANY];
	size_t bad = 0;
	for (int64_t i = 0; i < MANY; i++)
		bad += (rows[i] = put_int(mi_int, i * 7919 - 50000)) == NULL;
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(map.count, MANY);
	ck_assert_uint_eq(map.cap & (map.cap - 1), 0);       /* a power of two */
	ck_assert_uint_ge(map.cap * 4, map.count * 5);        /* load factor at most 0.8 */
	ck_assert_uint_eq(nonempty_slots(), MANY);
	for (int64_t i = 0; i < MANY; i++)
		bad += find_int(mi_int, i * 7919 - 50000) != rows[i];
	ck_assert_uint_eq(bad, 0);
	ck_assert_ptr_null(find_int(mi_int, 1));              /* 1 is not of the form i*7919-50000 */
	/* delete every third; the rest stay reachable across the shifted chains */
	for (int64_t i = 0; i < MANY; i += 3)
		pgorm__imap_del(&map, mi_int, rows[i]);
	size_t left = MANY - (MANY + 2) / 3;
	ck_assert_uint_eq(map.count, left);
	ck_assert_uint_eq(nonempty_slots(), left);
	for (int64_t i = 0; i < MANY; i++)
		bad += find_int(mi_int, i * 7919 - 50000) != (i % 3 == 0 ? NULL : rows[i]);
	ck_assert_uint_eq(bad, 0);
	size_t cap = map.cap;
	for (int64_t i = 0; i < MANY; i += 3)
		bad += pgorm__imap_put(&map, mi_int, rows[i]) != 0;
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(map.cap, cap);                      /* the room was there */
	for (int64_t i = 0; i < MANY; i++)
		bad += find_int(mi_int, i * 7919 - 50000) != rows[i];
	ck_assert_uint_eq(bad, 0);
}
END_TEST

/* Random puts and deletes over a small key space, checked against a plain array. */
START_TEST(test_random_against_reference)
{
	enum { KEYS = 3000, OPS = 30000 };
	static IntRow *present[KEYS];
	memset(present, 0, sizeof present);
	uint64_t rng = 0x9E3779B97F4A7C15ULL;
	size_t n = 0, bad = 0;
	for (int op = 0; op < OPS; op++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		int64_t k = (int64_t)(rng % KEYS);
		if (present[k] != NULL) {
			pgorm__imap_del(&map, mi_int, present[k]);
			present[k] = NULL;
			n--;
		} else {
			present[k] = put_int(mi_int, k);
			bad += present[k] == NULL;
			n++;
		}
		bad += map.count != n;
		if (op % 3000 == 2999)
			for (int64_t j = 0; j < KEYS; j++)
				bad += find_int(mi_int, j) != present[j];
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(map.count, n);
	ck_assert_uint_eq(nonempty_slots(), n);
}
END_TEST

/* Keys of mi_int whose home slot (hash & mask) is want, from start on. */
static int64_t key_at_home(int64_t start, size_t want)
{
	for (int64_t k = start;; k++)
		if ((hash_int(mi_int, k) & (map.cap - 1)) == want)
			return k;
}

static void *slot_obj(size_t i) { return (void *)(uintptr_t)(map.slots[i] & PTR_MASK); }

/* A probe chain that wraps from the last slot to the first: deleting its head shifts every
 * later member back unless that would move it before its home slot. */
START_TEST(test_delete_shifts_across_the_end)
{
	size_t last = map.cap - 1;
	int64_t ka = key_at_home(0, last);
	int64_t kb = key_at_home(ka + 1, last);
	int64_t kc = key_at_home(0, 0);
	int64_t kd = key_at_home(kb + 1, last);
	int64_t ke = key_at_home(kc + 1, 1);
	IntRow *a = put_int(mi_int, ka), *b = put_int(mi_int, kb), *c = put_int(mi_int, kc);
	IntRow *d = put_int(mi_int, kd), *e = put_int(mi_int, ke);
	ck_assert(a && b && c && d && e);
	/* last: a (home last), 0: b (home last), 1: c (home 0), 2: d (home last), 3: e (home 1) */
	ck_assert_ptr_eq(slot_obj(last), a);
	ck_assert_ptr_eq(slot_obj(0), b);
	ck_assert_ptr_eq(slot_obj(1), c);
	ck_assert_ptr_eq(slot_obj(2), d);
	ck_assert_ptr_eq(slot_obj(3), e);
	pgorm__imap_del(&map, mi_int, a);
	ck_assert_ptr_eq(slot_obj(last), b);
	ck_assert_ptr_eq(slot_obj(0), c);
	ck_assert_ptr_eq(slot_obj(1), d);
	ck_assert_ptr_eq(slot_obj(2), e);
	ck_assert_uint_eq(map.slots[3], 0);
	/* c now sits at its home: deleting b may not move it back to the last slot */
	pgorm__imap_del(&map, mi_int, b);
	ck_assert_ptr_eq(slot_obj(last), d);
	ck_assert_ptr_eq(slot_obj(0), c);
	ck_assert_ptr_eq(slot_obj(1), e);
	ck_assert_uint_eq(map.slots[2], 0);
	ck_assert_ptr_null(find_int(mi_int, ka));
	ck_assert_ptr_null(find_int(mi_int, kb));
	ck_assert_ptr_eq(find_int(mi_int, kc), c);
	ck_assert_ptr_eq(find_int(mi_int, kd), d);
	ck_assert_ptr_eq(find_int(mi_int, ke), e);
	ck_assert_uint_eq(map.count, 3);
}
END_TEST

/* Each slot holds the object pointer in the low 48 bits and the key hash's top 16 bits. */
START_TEST(test_tagged_slots)
{
	ck_assert(map.tagged);
	IntRow *rows[500];
	size_t bad = 0, seen = 0;
	for (int i = 0; i < 500; i++)
		bad += (rows[i] = put_int(mi_int, i)) == NULL;
	ck_assert_uint_eq(bad, 0);
	for (size_t s = 0; s < map.cap; s++) {
		if (map.slots[s] == 0)
			continue;
		IntRow *r = slot_obj(s);
		ck_assert(r->id >= 0 && r->id < 500);
		bad += r != rows[r->id];
		bad += map.slots[s] >> TAG_SHIFT != hash_int(mi_int, r->id) >> TAG_SHIFT;
		seen++;
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(seen, 500);
}
END_TEST

/* Without tags (the mode the map drops to for a pointer above 2^48) slots are bare pointers
 * and keys are compared on every probe: the same answers. */
START_TEST(test_untagged_mode)
{
	map.tagged = false;
	IntRow *rows[3000];
	size_t bad = 0;
	for (int i = 0; i < 3000; i++)   /* grows twice: rebuilds without tags */
		bad += (rows[i] = put_int(mi_int, i)) == NULL;
	ck_assert_uint_eq(bad, 0);
	ck_assert(!map.tagged);
	ck_assert_uint_eq(map.cap, 4096);
	for (size_t s = 0; s < map.cap; s++)
		bad += map.slots[s] >> TAG_SHIFT != 0;
	ck_assert_uint_eq(bad, 0);
	for (int i = 0; i < 3000; i += 2)
		pgorm__imap_del(&map, mi_int, rows[i]);
	for (int i = 0; i < 3000; i++)
		bad += find_int(mi_int, i) != (i % 2 ? rows[i] : NULL);
	ck_assert_uint_eq(bad, 0);
}
END_TEST

/* The loader's path: probe (a miss) with find_h, then put_h with the hash it gave. */
static bool put_h_int(int64_t id)
{
	IntRow probe = { .id = id };
	uint64_t h;
	if (pgorm__imap_find_h(&map, mi_int, &probe, &h) != NULL)
		return false;
	IntRow *r = int_row(&int_model, id);
	return pgorm__imap_put_h(&map, r, h) == 0 && (pgorm__st(r)->flags & OBJ_IN_MAP);
}

START_TEST(test_reserve_and_put_h)
{
	ck_assert_int_eq(pgorm__imap_reserve(&map, 5000), 0);
	size_t cap = map.cap;
	ck_assert_uint_ge(cap * 4, 5000 * 5);
	ck_assert_uint_eq(cap, 8192);
	ck_assert_int_eq(pgorm__imap_reserve(&map, 10), 0);  /* already room */
	ck_assert_uint_eq(map.cap, cap);
	size_t bad = 0;
	for (int64_t i = 0; i < 5000; i++)
		bad += !put_h_int(i);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(map.cap, cap);                      /* no rehash in between */
	ck_assert_uint_eq(map.count, 5000);
	for (int64_t i = 0; i < 5000; i++) {
		IntRow *r = find_int(mi_int, i);
		bad += r == NULL || r->id != i;
	}
	ck_assert_uint_eq(bad, 0);
	/* put_h past the load factor without a reserve grows the map (through put) */
	for (int64_t i = 5000; i < 7000; i++)
		bad += !put_h_int(i);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(map.cap, 2 * cap);
	for (int64_t i = 0; i < 7000; i++)
		bad += find_int(mi_int, i) == NULL;
	ck_assert_uint_eq(bad, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("identity_map");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_put_find_del);
	tcase_add_test(tc, test_text_composite_uuid_keys);
	tcase_add_test(tc, test_pk_equal);
	tcase_add_test(tc, test_growth_many_objects);
	tcase_add_test(tc, test_random_against_reference);
	tcase_add_test(tc, test_delete_shifts_across_the_end);
	tcase_add_test(tc, test_tagged_slots);
	tcase_add_test(tc, test_untagged_mode);
	tcase_add_test(tc, test_reserve_and_put_h);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
