/* Integration test: run each relationship example of examples/ against the server, twice (a
 * rerun must work and print the same), compare its standard output with
 * examples/expected/<name>.txt line by line, and check the rows it left in its schema.
 *
 * Environment (set by test/meson.build): PGORM_EXAMPLES_DIR (built example programs),
 * PGORM_EXAMPLES_EXPECTED (the expected-output files). PGORM_EXAMPLES_UPDATE=1 rewrites the
 * expected files from the actual output instead of comparing (review the diff before committing).
 */
#include "pgtest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *read_fd(int fd, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_msg(r >= 0, "read: %s", strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Run <dir>/<name> <dsn>; returns its stdout (malloc'd); *status gets the exit status. */
static char *run_example(const char *name, int *status)
{
	const char *dir = getenv("PGORM_EXAMPLES_DIR");
	ck_assert_msg(dir != NULL, "PGORM_EXAMPLES_DIR is not set (run through meson test)");
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	const char *dsn = pgtest_dsn();
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(path, name, dsn, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	size_t len;
	char *out = read_fd(fds[0], &len);
	close(fds[0]);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	ck_assert_msg(strlen(out) == len, "%s printed a NUL byte", name);
	return out;
}

static char *expected_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("PGORM_EXAMPLES_EXPECTED");
	ck_assert_msg(dir != NULL, "PGORM_EXAMPLES_EXPECTED is not set (run through meson test)");
	snprintf(path, sizeof path, "%s/%s.txt", dir, name);
	return path;
}

/* Fail with the first differing line (1-based) of actual vs expected. */
static void compare(const char *name, const char *actual, const char *expected)
{
	const char *a = actual, *e = expected;
	for (unsigned line = 1;; line++) {
		const char *ae = strchr(a, '\n'), *ee = strchr(e, '\n');
		size_t al = ae ? (size_t)(ae - a) : strlen(a), el = ee ? (size_t)(ee - e) : strlen(e);
		if (al != el || memcmp(a, e, al) != 0 || (ae == NULL) != (ee == NULL))
			ck_abort_msg("%s: output differs from %s at line %u:\n  expected: %.*s\n  actual:   %.*s",
			             name, expected_path(name), line, (int)el, e, (int)al, a);
		if (ae == NULL)
			return;
		a = ae + 1;
		e = ee + 1;
	}
}

static void check_example(const char *name)
{
	int status;
	char *first = run_example(name, &status);
	ck_assert_msg(status == 0, "%s exited with status %d; output:\n%s", name, status, first);
	char *out = run_example(name, &status);   /* a rerun starts over in a fresh schema */
	ck_assert_msg(status == 0, "%s (second run) exited with status %d; output:\n%s", name, status, out);
	compare(name, out, first);

	const char *path = expected_path(name);
	if (getenv("PGORM_EXAMPLES_UPDATE")) {
		FILE *f = fopen(path, "w");
		ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
		fputs(out, f);
		ck_assert_int_eq(fclose(f), 0);
	}
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s (PGORM_EXAMPLES_UPDATE=1 creates it)", path, strerror(errno));
	size_t len;
	char *exp = read_fd(fileno(f), &len);
	fclose(f);
	compare(name, out, exp);
	free(exp);
	free(out);
	free(first);
}

static pgorm_conn *conn;

static void setup(void) { conn = pgtest_connect(); }
static void teardown(void) { pgorm_conn_close(conn); }

START_TEST(test_one_to_many)
{
	check_example("one_to_many");
	/* p1 deleted with the default cascade: its children stay, orphaned */
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ex_one_to_many.parent_table"), 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ex_one_to_many.child_table WHERE parent_id IS NULL"), 3);
}
END_TEST

START_TEST(test_bidirectional)
{
	check_example("bidirectional");
	ck_assert_str_eq(pgtest_text(conn, "SELECT string_agg(c.name || '->' || p.name, ',' ORDER BY c.id) "
	                                   "FROM ex_bidirectional.children c JOIN ex_bidirectional.parents p "
	                                   "ON p.id = c.parent_id"), "a->p2,b->p1");
}
END_TEST

START_TEST(test_backref)
{
	check_example("backref");
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ex_backref.table_children WHERE parent_id = "
	                                  "(SELECT id FROM ex_backref.table_parents WHERE name = 'p2')"), 2);
	/* the rejected registry never reached the database */
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'ex_backref'"), 2);
}
END_TEST

START_TEST(test_cascade)
{
	check_example("cascade");
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ex_cascade.default_children WHERE parent_id IS NULL"), 3);
	ck_assert_str_eq(pgtest_text(conn, "SELECT string_agg(name || ':' || coalesce(parent_id::text, 'NULL'), ',') "
	                                   "FROM ex_cascade.delete_children"), "a:NULL");
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ex_cascade.orphan_children"), 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT (SELECT count(*) FROM ex_cascade.default_parents) + "
	                                  "(SELECT count(*) FROM ex_cascade.delete_parents) + "
	                                  "(SELECT count(*) FROM ex_cascade.orphan_parents)"), 0);
}
END_TEST

START_TEST(test_service)
{
	check_example("service");
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ex_service.customers") +
	                 pgtest_int(conn, "SELECT count(*) FROM ex_service.orders") +
	                 pgtest_int(conn, "SELECT count(*) FROM ex_service.lines") +
	                 pgtest_int(conn, "SELECT count(*) FROM ex_service.order_tags"), 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ex_service.products"), 3);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM ex_service.tags"), 2);
}
END_TEST

START_TEST(test_queries)
{
	check_example("queries");
	ck_assert_str_eq(pgtest_text(conn, "SELECT string_agg(sku || ':' || price || ':' || stock, ',' ORDER BY sku) "
	                                   "FROM ex_queries.products"),
	                 "B-1:0.12:500,N-1:0.05:800,S-1:0.0880:200,W-1:0.0220:900");
}
END_TEST

START_TEST(test_types)
{
	check_example("types");
	ck_assert_str_eq(pgtest_text(conn, "SELECT string_agg(status::text || ':' || tags::text || ':' || "
	                                   "coalesce(votes::text, 'NULL'), ' ' ORDER BY id) FROM ex_types.tickets"),
	                 "open:{bug,ui}:{3,NULL,5} closed:{docs}:NULL");
}
END_TEST

int main(void)
{
	Suite *su = suite_create("examples");
	TCase *tc = tcase_create("examples");
	tcase_add_unchecked_fixture(tc, pgtest_schema_setup, pgtest_schema_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_one_to_many);
	tcase_add_test(tc, test_bidirectional);
	tcase_add_test(tc, test_backref);
	tcase_add_test(tc, test_cascade);
	tcase_add_test(tc, test_service);
	tcase_add_test(tc, test_queries);
	tcase_add_test(tc, test_types);
	suite_add_tcase(su, tc);
	return pgtest_run(su);
}
