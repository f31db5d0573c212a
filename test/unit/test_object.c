/* Unit tests: the object module — snapshots and dirty detection (pgorm__observe sees a write
 * when a field's bytes, or a string's content, changed), assigning and unassigning columns,
 * column values in and out (pgorm__set_col / pgorm__get_col), value equality, and key arrays
 * for integer, text and uuid keys. Objects are built as the session builds them
 * (pgtest_object_new). */
#include "pgtest.h"
#include "arena.h"
#include "internal.h"
#include "object.h"

#include <stdint.h>
#include <string.h>

typedef struct Row {
	pgorm_object hdr;
	int64_t id;
	int16_t small;
	int32_t medium;
	bool flag;
	double ratio;
	float f4;
	char *name;
	pgorm_bytes blob;
	pgorm_uuid uid;
	char *amount;
	int32_t day;
	int64_t at;
	int64_t parent_id;
	struct Row *parent;
} Row;

/* column indexes, in the order of row_cols */
enum { C_ID, C_SMALL, C_MEDIUM, C_FLAG, C_RATIO, C_F4, C_NAME, C_BLOB, C_UID, C_AMOUNT, C_DAY, C_AT, C_PARENT, NCOLS };

#define BIT(i) (UINT64_C(1) << (i))
/* The address of a value (PGORM_TEXT is a function call, not an lvalue). */
#define V(x) (&(pgorm_value[]){ x }[0])
#define ALL ((UINT64_C(1) << NCOLS) - 1)

static const pgorm_model row_model;

static const pgorm_column row_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK, Row, id),
	PGORM_COLUMN(INT2, "small", PGORM_NULLABLE, Row, small),
	PGORM_COLUMN(INT4, "medium", PGORM_NULLABLE, Row, medium),
	PGORM_COLUMN(BOOL, "flag", PGORM_NULLABLE, Row, flag),
	PGORM_COLUMN(FLOAT8, "ratio", PGORM_NULLABLE, Row, ratio),
	PGORM_COLUMN(FLOAT4, "f4", PGORM_NULLABLE, Row, f4),
	PGORM_COLUMN(TEXT, "name", PGORM_NULLABLE, Row, name),
	PGORM_COLUMN(BYTEA, "blob", PGORM_NULLABLE, Row, blob),
	PGORM_COLUMN(UUID, "uid", PGORM_NULLABLE, Row, uid),
	PGORM_COLUMN(NUMERIC, "amount", PGORM_NULLABLE, Row, amount),
	PGORM_COLUMN(DATE, "day", PGORM_NULLABLE, Row, day),
	PGORM_COLUMN(TIMESTAMPTZ, "at", PGORM_NULLABLE, Row, at),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Row, parent_id, "obj_rows", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END
};
static const pgorm_relationship row_rels[] = {
	PGORM_MANY_TO_ONE("parent", Row, parent, &row_model, "parent_id", NULL),
	PGORM_RELATIONSHIP_END
};
static const pgorm_model row_model = PGORM_MODEL("obj_rows", Row, row_cols, row_rels);

static pgorm_registry *reg;
static const pgtest_env env = { .reg = &reg };
static pgorm__arena arena;
static const pgorm__model_info *mi;

static void setup(void)
{
	const pgorm_model *models[] = { &row_model };
	pgtest_env_setup(&env, models, 1, NULL);
	mi = pgorm__registry_info(reg, &row_model);
	ck_assert_uint_eq(mi->ncols, NCOLS);
	pgorm__arena_init(&arena);
}

static void teardown(void)
{
	pgorm__arena_free_all(&arena);
	pgtest_env_teardown(&env);
}

static Row *row(void) { return pgtest_object_new(&arena, reg, &row_model); }

static uint64_t dirty(Row *r) { return pgorm__dirty_cols(r, mi); }
static uint64_t nulls(Row *r) { return pgorm__st(r)->nulls; }

/* A loaded object: every column assigned a value, snapshot taken, nothing dirty. */
static Row *loaded(void)
{
	Row *r = row();
	static uint8_t bytes[] = { 1, 2, 3 };
	r->id = 1;
	r->small = 2;
	r->medium = 3;
	r->flag = true;
	r->ratio = 0.5;
	r->f4 = 1.5f;
	r->name = "name";
	r->blob = (pgorm_bytes){ bytes, sizeof bytes };
	memset(r->uid.bytes, 0xab, 16);
	r->amount = "12.50";
	r->day = 100;
	r->at = 1000000;
	r->parent_id = 9;
	pgorm__st(r)->nulls = 0;
	pgorm__snapshot(r, mi);
	return r;
}

START_TEST(test_new_object_nothing_assigned)
{
	Row *r = row();
	ck_assert_uint_eq(nulls(r), ALL);
	ck_assert_uint_eq(dirty(r), 0);
	/* writing the zero bytes a field already holds is not a write pgorm can see */
	r->medium = 0;
	r->flag = false;
	r->name = NULL;
	ck_assert_uint_eq(dirty(r), 0);
	ck_assert_uint_eq(nulls(r), ALL);
}
END_TEST

START_TEST(test_each_write_assigns_its_column)
{
	static uint8_t one = 1;
	for (int c = 0; c < NCOLS; c++) {
		Row *r = row();
		switch (c) {
		case C_ID: r->id = -1; break;
		case C_SMALL: r->small = 1; break;
		case C_MEDIUM: r->medium = 1; break;
		case C_FLAG: r->flag = true; break;
		case C_RATIO: r->ratio = -0.0; break;  /* other bytes than 0.0 */
		case C_F4: r->f4 = 2.0f; break;
		case C_NAME: r->name = ""; break;     /* '' is a value, not NULL */
		case C_BLOB: r->blob.data = &one; break; /* empty but not NULL */
		case C_UID: r->uid.bytes[7] = 1; break;
		case C_AMOUNT: r->amount = "0"; break;
		case C_DAY: r->day = -1; break;
		case C_AT: r->at = 1; break;
		case C_PARENT: r->parent_id = 3; break;
		}
		ck_assert_msg(dirty(r) == BIT(c), "column %d: dirty %#llx", c, (unsigned long long)dirty(r));
		ck_assert_msg(nulls(r) == (ALL & ~BIT(c)), "column %d: nulls %#llx", c, (unsigned long long)nulls(r));
	}
}
END_TEST

START_TEST(test_strings_by_content)
{
	Row *r = loaded();
	char same[] = "name";
	r->name = same;                       /* another pointer, the same text */
	ck_assert_uint_eq(dirty(r), 0);
	same[0] = 'N';                        /* the text changed in place */
	ck_assert_uint_eq(dirty(r), BIT(C_NAME));
	pgorm__snapshot(r, mi);
	r->name = NULL;                       /* a NULL pointer is SQL NULL */
	ck_assert_uint_eq(dirty(r), BIT(C_NAME));
	ck_assert_uint_eq(nulls(r), BIT(C_NAME));
	r->name = "back";
	ck_assert_uint_eq(dirty(r), BIT(C_NAME));
	ck_assert_uint_eq(nulls(r), 0);

	/* bytea: content, and NULL data differs from empty data */
	pgorm__snapshot(r, mi);
	uint8_t copy[] = { 1, 2, 3 };
	r->blob.data = copy;
	ck_assert_uint_eq(dirty(r), 0);
	r->blob.len = 2;
	ck_assert_uint_eq(dirty(r), BIT(C_BLOB));
	pgorm__snapshot(r, mi);
	r->blob.len = 0;
	ck_assert_uint_eq(dirty(r), BIT(C_BLOB));
	ck_assert_uint_eq(nulls(r), 0);       /* empty, not NULL */
	pgorm__snapshot(r, mi);
	r->blob.data = NULL;
	ck_assert_uint_eq(dirty(r), BIT(C_BLOB));
	ck_assert_uint_eq(nulls(r), BIT(C_BLOB));

	/* uuid and numeric */
	pgorm__snapshot(r, mi);
	r->uid.bytes[15] ^= 0x80;
	r->amount = "12.5";                   /* another decimal string: numerics are text here */
	ck_assert_uint_eq(dirty(r), BIT(C_UID) | BIT(C_AMOUNT));
}
END_TEST

START_TEST(test_snapshot_and_observe)
{
	Row *r = loaded();
	ck_assert_uint_eq(dirty(r), 0);
	r->medium = 42;
	r->ratio = 0.25;
	pgorm__observe(r, mi);
	ck_assert_uint_eq(pgorm__st(r)->dirty, BIT(C_MEDIUM) | BIT(C_RATIO));
	/* written back to the loaded value: still assigned since the last load / flush */
	r->medium = 3;
	ck_assert_uint_eq(dirty(r), BIT(C_MEDIUM) | BIT(C_RATIO));
	/* observe takes the new bytes in: nothing more to see */
	ck_assert_uint_eq(pgorm__st(r)->snap[C_MEDIUM], pgorm__col_word(r, &mi->cols[C_MEDIUM]));
	/* the snapshot (after a flush) clears dirty and keeps NULL bits as they are */
	pgorm__st(r)->nulls = BIT(C_AT);
	pgorm__snapshot(r, mi);
	ck_assert_uint_eq(pgorm__st(r)->dirty, 0);
	ck_assert_uint_eq(nulls(r), BIT(C_AT));
	ck_assert_uint_eq(dirty(r), 0);
	for (size_t i = 0; i < NCOLS; i++)
		ck_assert_uint_eq(pgorm__st(r)->snap[i], pgorm__col_word(r, &mi->cols[i]));
}
END_TEST

START_TEST(test_assign_and_unassign)
{
	Row *r = loaded();
	/* assign with the current value: dirty, not NULL, and not seen again as a write */
	pgorm__st(r)->nulls = BIT(C_MEDIUM);
	pgorm__assign_col(r, mi, C_MEDIUM, false);
	ck_assert_uint_eq(pgorm__st(r)->dirty, BIT(C_MEDIUM));
	ck_assert_uint_eq(nulls(r), 0);
	ck_assert_int_eq(r->medium, 3);
	ck_assert_uint_eq(dirty(r), BIT(C_MEDIUM));
	/* assign NULL: the field is zeroed as a load of NULL leaves it */
	pgorm__assign_col(r, mi, C_NAME, true);
	ck_assert_ptr_null(r->name);
	ck_assert_uint_eq(nulls(r), BIT(C_NAME));
	ck_assert_uint_eq(dirty(r), BIT(C_MEDIUM) | BIT(C_NAME));
	pgorm__assign_col(r, mi, C_UID, true);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(r->uid.bytes[i], 0);
	ck_assert_uint_eq(dirty(r), BIT(C_MEDIUM) | BIT(C_NAME) | BIT(C_UID));
	/* unassign: zeroed, NULL, and no longer dirty (the INSERT leaves it out) */
	pgorm__unassign_col(r, mi, C_MEDIUM);
	ck_assert_int_eq(r->medium, 0);
	ck_assert_uint_eq(nulls(r), BIT(C_MEDIUM) | BIT(C_NAME) | BIT(C_UID));
	ck_assert_uint_eq(dirty(r), BIT(C_NAME) | BIT(C_UID));
	pgorm__unassign_col(r, mi, C_BLOB);
	ck_assert_ptr_null(r->blob.data);
	ck_assert_uint_eq(r->blob.len, 0);
	ck_assert_uint_eq(dirty(r), BIT(C_NAME) | BIT(C_UID));
	/* a later write assigns it again */
	r->medium = 5;
	ck_assert_uint_eq(dirty(r), BIT(C_MEDIUM) | BIT(C_NAME) | BIT(C_UID));
	ck_assert_uint_eq(nulls(r), BIT(C_BLOB) | BIT(C_NAME) | BIT(C_UID));
}
END_TEST

START_TEST(test_fk_set_null)
{
	Row *r = loaded();
	const pgorm_rel *parent = pgorm_registry_rel(reg, &row_model, "parent");
	ck_assert_ptr_nonnull(parent);
	pgorm__fk_set_null(r, parent);
	ck_assert_uint_eq(nulls(r), BIT(C_PARENT));
	ck_assert_uint_eq(dirty(r), BIT(C_PARENT));
	ck_assert_int_eq(r->parent_id, 9);    /* the field is left alone: the NULL bit decides */
	pgorm_value v;
	pgorm__get_col(r, &mi->cols[C_PARENT], C_PARENT, &v);
	ck_assert(v.is_null);
}
END_TEST

START_TEST(test_set_and_get_col)
{
	Row *r = row();
	const pgorm_column *cols = mi->cols;
	/* integers widen and narrow to the field */
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_ID], C_ID, V(PGORM_INT2(-3))), 0);
	ck_assert_int_eq(r->id, -3);
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_SMALL], C_SMALL, V(PGORM_INT8(70000))), 0);
	ck_assert_int_eq(r->small, (int16_t)70000);
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_MEDIUM], C_MEDIUM, V(PGORM_INT4(-9))), 0);
	ck_assert_int_eq(r->medium, -9);
	/* the wrong type */
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_MEDIUM], C_MEDIUM, V(PGORM_TEXT("1"))), PGORM_ETYPE);
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_NAME], C_NAME, V(PGORM_INT4(1))), PGORM_ETYPE);
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_RATIO], C_RATIO, V(PGORM_FLOAT4(1))), PGORM_ETYPE);
	ck_assert_int_eq(r->medium, -9);
	/* strings: copied into the arena, or borrowed without one */
	char src[] = "text";
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_NAME], C_NAME, V(PGORM_TEXT(src))), 0);
	ck_assert_ptr_ne(r->name, src);
	ck_assert_str_eq(r->name, "text");
	ck_assert_int_eq(pgorm__set_col(NULL, r, &cols[C_NAME], C_NAME, V(PGORM_TEXT(src))), 0);
	ck_assert_ptr_eq(r->name, src);
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_NAME], C_NAME, V(PGORM_TEXTN("abc", 2))), 0);
	ck_assert_str_eq(r->name, "ab");
	/* bytes: copied, an empty value gets non-NULL data */
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_BLOB], C_BLOB, V(PGORM_BYTEA("\0\1", 2))), 0);
	ck_assert_uint_eq(r->blob.len, 2);
	ck_assert_int_eq(memcmp(r->blob.data, "\0\1", 2), 0);
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_BLOB], C_BLOB, V(PGORM_BYTEA("", 0))), 0);
	ck_assert_ptr_nonnull(r->blob.data);
	ck_assert_uint_eq(r->blob.len, 0);
	pgorm_value u = { .type = PGORM_TYPE_UUID };
	memset(u.u.uuid, 0x5a, 16);
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_UID], C_UID, &u), 0);
	ck_assert_int_eq(memcmp(r->uid.bytes, u.u.uuid, 16), 0);
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_DAY], C_DAY, V(PGORM_DATE(-5))), 0);
	ck_assert_int_eq(r->day, -5);
	ck_assert_int_eq(pgorm__set_col(&arena, r, &cols[C_AT], C_AT, V(PGORM_TIMESTAMPTZ(77))), 0);
	ck_assert_int_eq(r->at, 77);

	/* out again: the NULL bit wins; a NULL pointer is NULL */
	pgorm_value v;
	pgorm__get_col(r, &cols[C_MEDIUM], C_MEDIUM, &v);
	ck_assert(v.is_null);                 /* never assigned: the object's NULL bits */
	ck_assert_int_eq(v.type, PGORM_TYPE_INT4);
	pgorm__st(r)->nulls = 0;
	pgorm__get_col(r, &cols[C_MEDIUM], C_MEDIUM, &v);
	ck_assert(!v.is_null);
	ck_assert_int_eq(v.u.i32, -9);
	pgorm__get_col(r, &cols[C_SMALL], C_SMALL, &v);
	ck_assert_int_eq(v.u.i16, (int16_t)70000);
	pgorm__get_col(r, &cols[C_NAME], C_NAME, &v);
	ck_assert_uint_eq(v.u.str.len, 2);
	ck_assert_ptr_eq(v.u.str.ptr, r->name);
	pgorm__get_col(r, &cols[C_BLOB], C_BLOB, &v);
	ck_assert(!v.is_null);
	ck_assert_uint_eq(v.u.str.len, 0);
	pgorm__get_col(r, &cols[C_UID], C_UID, &v);
	ck_assert_int_eq(memcmp(v.u.uuid, u.u.uuid, 16), 0);
	r->name = NULL;
	pgorm__get_col(r, &cols[C_NAME], C_NAME, &v);
	ck_assert(v.is_null);
	r->blob.data = NULL;
	pgorm__get_col(r, &cols[C_BLOB], C_BLOB, &v);
	ck_assert(v.is_null);
	/* the primary key as parameters */
	pgorm_value pk[1];
	pgorm__pk_values(r, mi, pk);
	ck_assert_int_eq(pk[0].type, PGORM_TYPE_INT8);
	ck_assert_int_eq(pk[0].u.i64, -3);
}
END_TEST

START_TEST(test_value_equal)
{
	/* integers of any width by value */
	ck_assert(pgorm__value_equal(V(PGORM_INT2(5)), V(PGORM_INT8(5))));
	ck_assert(pgorm__value_equal(V(PGORM_INT4(-1)), V(PGORM_INT2(-1))));
	ck_assert(!pgorm__value_equal(V(PGORM_INT4(65536)), V(PGORM_INT2(0))));
	ck_assert(!pgorm__value_equal(V(PGORM_INT8(1)), V(PGORM_INT8(2))));
	/* NULL equals nothing, not even NULL */
	ck_assert(!pgorm__value_equal(V(PGORM_NULL(INT8)), V(PGORM_NULL(INT8))));
	ck_assert(!pgorm__value_equal(V(PGORM_NULL(TEXT)), V(PGORM_TEXT(""))));
	/* other types must match */
	ck_assert(!pgorm__value_equal(V(PGORM_INT8(1)), V(PGORM_TEXT("1"))));
	ck_assert(!pgorm__value_equal(V(PGORM_TIMESTAMP(1)), V(PGORM_TIMESTAMPTZ(1))));
	ck_assert(!pgorm__value_equal(V(PGORM_INT8(1)), V(PGORM_TIMESTAMP(1))));
	/* strings and bytes by content */
	char a[] = "abc", b[] = "abc";
	ck_assert(pgorm__value_equal(V(PGORM_TEXT(a)), V(PGORM_TEXT(b))));
	ck_assert(!pgorm__value_equal(V(PGORM_TEXT("abc")), V(PGORM_TEXT("abd"))));
	ck_assert(!pgorm__value_equal(V(PGORM_TEXT("abc")), V(PGORM_TEXT("ab"))));
	ck_assert(pgorm__value_equal(V(PGORM_TEXT("")), V(PGORM_TEXTN(NULL, 0))));
	ck_assert(pgorm__value_equal(V(PGORM_BYTEA("\0x", 2)), V(PGORM_BYTEA("\0x", 2))));
	ck_assert(!pgorm__value_equal(V(PGORM_BYTEA("\0x", 2)), V(PGORM_BYTEA("\0y", 2))));
	ck_assert(!pgorm__value_equal(V(PGORM_BYTEA("ab", 2)), V(PGORM_TEXT("ab"))));
	ck_assert(pgorm__value_equal(V(PGORM_NUMERIC("1.0")), V(PGORM_NUMERIC("1.0"))));
	ck_assert(!pgorm__value_equal(V(PGORM_NUMERIC("1.0")), V(PGORM_NUMERIC("1.00")))); /* text, not numbers */
	/* uuid by its 16 bytes */
	pgorm_value u1 = { .type = PGORM_TYPE_UUID }, u2 = { .type = PGORM_TYPE_UUID };
	memset(u1.u.uuid, 7, 16);
	memset(u2.u.uuid, 7, 16);
	ck_assert(pgorm__value_equal(&u1, &u2));
	u2.u.uuid[0] = 8;
	ck_assert(!pgorm__value_equal(&u1, &u2));
	/* fixed-size types by their bits */
	ck_assert(pgorm__value_equal(V(PGORM_BOOL(true)), V(PGORM_BOOL(true))));
	ck_assert(!pgorm__value_equal(V(PGORM_BOOL(true)), V(PGORM_BOOL(false))));
	ck_assert(pgorm__value_equal(V(PGORM_FLOAT8(0.5)), V(PGORM_FLOAT8(0.5))));
	ck_assert(!pgorm__value_equal(V(PGORM_FLOAT8(0.5)), V(PGORM_FLOAT8(0.25))));
	ck_assert(pgorm__value_equal(V(PGORM_DATE(3)), V(PGORM_DATE(3))));
}
END_TEST

START_TEST(test_col_word)
{
	Row *r = row();
	const pgorm_column *name = &mi->cols[C_NAME], *blob = &mi->cols[C_BLOB];
	ck_assert_uint_eq(pgorm__col_word(r, name), 0);        /* NULL text */
	uint64_t null_blob = pgorm__col_word(r, blob);
	uint8_t x = 0;
	r->blob.data = &x;
	ck_assert_uint_ne(pgorm__col_word(r, blob), null_blob); /* empty is not NULL */
	ck_assert(pgorm__col_is_ptr(name) && pgorm__col_is_ptr(blob));
	ck_assert(!pgorm__col_is_ptr(&mi->cols[C_UID]) && !pgorm__col_is_ptr(&mi->cols[C_ID]));
	ck_assert(pgorm__col_is_ptr(&mi->cols[C_AMOUNT]));
	ck_assert(!pgorm__col_null_ptr(r, blob));
	ck_assert(pgorm__col_null_ptr(r, name));
	ck_assert(!pgorm__col_null_ptr(r, &mi->cols[C_MEDIUM]));
	/* the content hash tells every prefix of a string from the others (the tail bytes count) */
	const char *s = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint64_t h[37];
	for (size_t n = 0; n <= 36; n++) {
		h[n] = pgorm__hash_bytes(s, n);
		for (size_t m = 0; m < n; m++)
			ck_assert_uint_ne(h[n], h[m]);
	}
	ck_assert_uint_eq(pgorm__hash_bytes("abcdefghi", 9), h[9]);
	ck_assert_uint_ne(pgorm__hash_bytes("\0", 1), pgorm__hash_bytes("", 0));
}
END_TEST

START_TEST(test_keyarray)
{
	Row *rows[3];
	const int32_t mediums[] = { -1, 0, INT32_MAX };
	const char *names[] = { "a", "", "c'\"" };
	for (int i = 0; i < 3; i++) {
		rows[i] = loaded();
		rows[i]->medium = mediums[i];
		rows[i]->small = (int16_t)(i - 1);
		rows[i]->id = INT64_MAX - i;
		rows[i]->name = (char *)names[i];
		for (int b = 0; b < 16; b++)
			rows[i]->uid.bytes[b] = (uint8_t)(b * 16 + b + i);
	}
	void *const *objs = (void *const *)rows;
	pgorm__keyarray k;

	/* integers of every width widen to int8[] */
	ck_assert_int_eq(pgorm__keyarray_build(&k, &mi->cols[C_MEDIUM], C_MEDIUM, objs, 3), 0);
	ck_assert_uint_eq(k.n, 3);
	ck_assert_int_eq(k.param.type, PGORM_TYPE_INT8_ARRAY);
	ck_assert_ptr_eq(k.param.u.i64s.items, k.ints);
	ck_assert_uint_eq(k.param.u.i64s.n, 3);
	ck_assert_str_eq(k.cast, "::int8[]");
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(k.ints[i], mediums[i]);
	pgorm__keyarray_free(&k);
	ck_assert_ptr_null(k.ints);
	ck_assert_uint_eq(k.n, 0);
	ck_assert_int_eq(pgorm__keyarray_build(&k, &mi->cols[C_SMALL], C_SMALL, objs, 3), 0);
	ck_assert_int_eq(k.ints[0], -1);
	ck_assert_int_eq(k.ints[2], 1);
	pgorm__keyarray_free(&k);
	ck_assert_int_eq(pgorm__keyarray_build(&k, &mi->cols[C_ID], C_ID, objs, 3), 0);
	ck_assert_int_eq(k.ints[0], INT64_MAX);
	ck_assert_int_eq(k.ints[2], INT64_MAX - 2);
	pgorm__keyarray_free(&k);

	/* text: text[] borrowing the objects' strings */
	ck_assert_int_eq(pgorm__keyarray_build(&k, &mi->cols[C_NAME], C_NAME, objs, 3), 0);
	ck_assert_int_eq(k.param.type, PGORM_TYPE_TEXT_ARRAY);
	ck_assert_uint_eq(k.param.u.strs.n, 3);
	ck_assert_str_eq(k.cast, "::text[]");
	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_eq(k.strs[i], names[i]);
		ck_assert_ptr_eq(k.param.u.strs.items[i], names[i]);
	}
	pgorm__keyarray_free(&k);

	/* uuid: the canonical text form, cast back to uuid[] */
	ck_assert_int_eq(pgorm__keyarray_build(&k, &mi->cols[C_UID], C_UID, objs, 3), 0);
	ck_assert_int_eq(k.param.type, PGORM_TYPE_TEXT_ARRAY);
	ck_assert_str_eq(k.cast, "::text[]::uuid[]");
	ck_assert_str_eq(k.strs[0], "00112233-4455-6677-8899-aabbccddeeff");
	ck_assert_str_eq(k.strs[2], "02132435-4657-6879-8a9b-acbdcedff001");
	ck_assert_uint_eq(strlen(k.strs[1]), 36);
	pgorm__keyarray_free(&k);

	/* no objects: an empty array */
	ck_assert_int_eq(pgorm__keyarray_build(&k, &mi->cols[C_NAME], C_NAME, objs, 0), 0);
	ck_assert_uint_eq(k.n, 0);
	ck_assert_uint_eq(k.param.u.strs.n, 0);
	pgorm__keyarray_free(&k);

	/* other types cannot be keys of an array parameter */
	const int unsupported[] = { C_FLAG, C_RATIO, C_F4, C_BLOB, C_AMOUNT, C_DAY, C_AT };
	for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
		const pgorm_column *c = &mi->cols[unsupported[i]];
		ck_assert_msg(!pgorm__keyarray_supports(c->type), "%s", c->name);
		memset(&k, 0x55, sizeof k);
		ck_assert_int_eq(pgorm__keyarray_build(&k, c, (size_t)unsupported[i], objs, 3), PGORM_EUNSUPPORTED);
		ck_assert_ptr_null(k.ints);
		ck_assert_ptr_null(k.strs);
		ck_assert_ptr_null(k.text);
		ck_assert_uint_eq(k.n, 0);
	}
	ck_assert(pgorm__keyarray_supports(PGORM_TYPE_INT2) && pgorm__keyarray_supports(PGORM_TYPE_INT4) &&
	          pgorm__keyarray_supports(PGORM_TYPE_INT8) && pgorm__keyarray_supports(PGORM_TYPE_TEXT) &&
	          pgorm__keyarray_supports(PGORM_TYPE_UUID));
}
END_TEST

/* The loader copies and hashes a string in one pass: the same word as pgorm__hash_bytes of the
 * copy (what pgorm__observe computes later), the copy NUL-terminated, nothing written past the
 * room pgorm__arena_alloc(n + 1) gives. */
START_TEST(test_hash_copy)
{
	char src[80], dst[96];
	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (char)('a' + (i * 7) % 26);
	for (size_t n = 0; n < 72; n++) {
		size_t room = (n + 1 + 7) & ~(size_t)7;
		memset(dst, 0x55, sizeof dst);
		uint64_t h = pgorm__hash_copy(dst, src, n);
		ck_assert_uint_eq(h, pgorm__hash_bytes(src, n));
		ck_assert_int_eq(memcmp(dst, src, n), 0);
		ck_assert_int_eq(dst[n], '\0');
		for (size_t k = room; k < sizeof dst; k++)
			ck_assert_int_eq((unsigned char)dst[k], 0x55);
	}
}
END_TEST

START_TEST(test_objlist)
{
	pgorm__objlist l = { 0 };
	int x[200];
	for (int i = 0; i < 200; i++)
		ck_assert(pgorm__objlist_push(&l, &x[i]));
	ck_assert_uint_eq(l.n, 200);
	ck_assert_uint_ge(l.cap, 200);
	for (int i = 0; i < 200; i++)
		ck_assert_ptr_eq(l.items[i], &x[i]);
	pgorm__free(l.items);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("object");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_object_nothing_assigned);
	tcase_add_test(tc, test_each_write_assigns_its_column);
	tcase_add_test(tc, test_strings_by_content);
	tcase_add_test(tc, test_snapshot_and_observe);
	tcase_add_test(tc, test_assign_and_unassign);
	tcase_add_test(tc, test_fk_set_null);
	tcase_add_test(tc, test_set_and_get_col);
	tcase_add_test(tc, test_value_equal);
	tcase_add_test(tc, test_col_word);
	tcase_add_test(tc, test_keyarray);
	tcase_add_test(tc, test_objlist);
	tcase_add_test(tc, test_hash_copy);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
