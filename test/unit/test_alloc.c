/* Unit tests: the allocator hook refuses an allocator with a NULL member (it used to be
 * installed, and the next allocation called through the NULL pointer). */
#include "pgtest.h"

#include <stdlib.h>
#include <string.h>

static int calls;
static void *count_malloc(size_t n) { calls++; return malloc(n); }
static void *count_calloc(size_t n, size_t k) { calls++; return calloc(n, k); }
static void *count_realloc(void *p, size_t n) { calls++; return realloc(p, n); }

/* Something that allocates through every hook: a registry. */
typedef struct T {
	pgorm_object hdr;
	int64_t id;
} T;
static const pgorm_column t_cols[] = { PGORM_COLUMN(INT8, "id", PGORM_PK, T, id), PGORM_COLUMN_END };
static const pgorm_model t_model = PGORM_MODEL("t", T, t_cols, NULL);

static void allocate_something(void)
{
	const pgorm_model *m[] = { &t_model };
	pgorm_registry *reg = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(&reg, m, 1, &err) == 0, "%s", err.message);
	pgorm_registry_destroy(reg);
}

START_TEST(test_issue12_allocator_with_null_member_refused)
{
	for (int k = 0; k < 4; k++) {
		pgorm_allocator a = { malloc, calloc, realloc, free };
		switch (k) {
		case 0: a.malloc_fn = NULL; break;
		case 1: a.calloc_fn = NULL; break;
		case 2: a.realloc_fn = NULL; break;
		case 3: a.free_fn = NULL; break;
		}
		pgorm_allocator prev = pgorm_set_allocator(&a);
		/* refused: nothing changed, and an all-NULL allocator says so */
		ck_assert(prev.malloc_fn == NULL);
		ck_assert(prev.calloc_fn == NULL);
		ck_assert(prev.realloc_fn == NULL);
		ck_assert(prev.free_fn == NULL);
		allocate_something();
		pgorm_allocator out;
		ck_assert_int_eq(pgorm_allocator_set(&a, &out), PGORM_EINVAL);
		allocate_something();
	}
}
END_TEST

START_TEST(test_allocator_set_and_restore)
{
	pgorm_allocator mine = { count_malloc, count_calloc, count_realloc, free }, prev;
	ck_assert_int_eq(pgorm_allocator_set(&mine, &prev), 0);
	ck_assert(prev.malloc_fn == malloc); /* libc's */
	calls = 0;
	allocate_something();
	ck_assert_int_gt(calls, 0);
	pgorm_allocator back = pgorm_set_allocator(&prev);
	ck_assert(back.malloc_fn == count_malloc);
	calls = 0;
	allocate_something();
	ck_assert_int_eq(calls, 0);
	ck_assert_int_eq(pgorm_allocator_set(NULL, NULL), 0); /* NULL: libc's again */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("hook");
	tcase_add_test(tc, test_issue12_allocator_with_null_member_refused);
	tcase_add_test(tc, test_allocator_set_and_restore);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
