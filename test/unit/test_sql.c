/* Unit tests: the raw-fragment lexer (pgorm__sql_renumber) follows PostgreSQL's scanner — only
 * real parameters are renumbered; what it cannot lex is refused and leaves the output untouched;
 * and the SQL string builder (pgorm__sb_*) — appending and growth, identifier quoting,
 * qualified names, parameter references, take/reset, and the sticky out-of-memory state. */
#include "pgtest.h"
#include "internal.h"
#include "sql.h"

#include <stdlib.h>
#include <string.h>

/* The built string, asserting there was no allocation failure. */
static const char *str(const pgorm__sb *b)
{
	const char *s = pgorm__sb_str(b);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), b->len);
	return s;
}

/* name quoted alone */
static void ident_is(const char *name, const char *want)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_ident(&b, name);
	ck_assert_str_eq(str(&b), want);
	pgorm__sb_free(&b);
}

START_TEST(test_builder_append)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	ck_assert_str_eq(str(&b), "");           /* nothing allocated yet */
	ck_assert_ptr_null(b.data);
	pgorm__sb_add(&b, "SELECT ");
	pgorm__sb_addn(&b, "1, 2, 3", 4);
	pgorm__sb_addf(&b, " %s%d", "x", -5);
	pgorm__sb_add(&b, "");
	ck_assert_str_eq(str(&b), "SELECT 1, 2 x-5");
	/* growth well past the first block, byte for byte */
	pgorm__sb_reset(&b);
	for (int i = 0; i < 5000; i++)
		pgorm__sb_add(&b, "0123456789");
	ck_assert_uint_eq(b.len, 50000);
	ck_assert_uint_gt(b.cap, b.len);
	size_t bad = 0;
	for (size_t i = 0; i < b.len; i++)
		bad += b.data[i] != '0' + (int)(i % 10);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(b.data[b.len], '\0');
	/* a formatted piece larger than the room left */
	pgorm__sb_reset(&b);
	char big[1000];
	memset(big, 'y', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	pgorm__sb_add(&b, "a");
	pgorm__sb_addf(&b, "<%s>", big);
	ck_assert_uint_eq(b.len, 1 + 1 + 999 + 1);
	ck_assert_int_eq(str(&b)[1], '<');
	ck_assert_int_eq(str(&b)[1000], 'y');
	ck_assert_int_eq(str(&b)[1001], '>');
	pgorm__sb_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(test_ident_quoting)
{
	ident_is("plain", "\"plain\"");
	ident_is("Mixed Case", "\"Mixed Case\"");
	ident_is("", "\"\"");
	ident_is("a\"b", "\"a\"\"b\"");
	ident_is("\"", "\"\"\"\"");
	ident_is("\"lead", "\"\"\"lead\"");
	ident_is("trail\"", "\"trail\"\"\"");
	ident_is("two\"\"in", "\"two\"\"\"\"in\"");
	ident_is("x\"); DROP TABLE t; --", "\"x\"\"); DROP TABLE t; --\"");
	ident_is("caf\xc3\xa9", "\"caf\xc3\xa9\"");      /* bytes other than '"' as they are */
	ident_is("a'b", "\"a'b\"");
	/* schema-qualified, or not */
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_qualified(&b, NULL, "t");
	ck_assert_str_eq(str(&b), "\"t\"");
	pgorm__sb_reset(&b);
	pgorm__sb_qualified(&b, "s", "t");
	ck_assert_str_eq(str(&b), "\"s\".\"t\"");
	pgorm__sb_reset(&b);
	pgorm__sb_qualified(&b, "my\"schema", "a.b");
	ck_assert_str_eq(str(&b), "\"my\"\"schema\".\"a.b\"");
	pgorm__sb_free(&b);
}
END_TEST

START_TEST(test_params)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_add(&b, "a = ");
	pgorm__sb_param(&b, 1);
	pgorm__sb_add(&b, " AND ");
	pgorm__sb_ident(&b, "b");
	pgorm__sb_add(&b, " = ANY(");
	pgorm__sb_param(&b, 2);
	pgorm__sb_add(&b, "::int8[]) AND c = ");
	pgorm__sb_param(&b, PGORM__MAX_PARAMS);
	ck_assert_str_eq(str(&b), "a = $1 AND \"b\" = ANY($2::int8[]) AND c = $65535");
	pgorm__sb_free(&b);
}
END_TEST

START_TEST(test_take_and_reset)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_add(&b, "SELECT 1");
	char *data = b.data;
	size_t cap = b.cap;
	pgorm__sb_reset(&b);                      /* keeps the memory */
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_str_eq(str(&b), "");
	pgorm__sb_add(&b, "SELECT 2");
	char *s = pgorm__sb_take(&b);             /* the caller's now; the builder starts over */
	ck_assert_str_eq(s, "SELECT 2");
	ck_assert_ptr_eq(s, data);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	pgorm__free(s);
	s = pgorm__sb_take(&b);                   /* an empty builder gives "" to free all the same */
	ck_assert_str_eq(s, "");
	pgorm__free(s);
	pgorm__sb_add(&b, "again");
	ck_assert_str_eq(str(&b), "again");
	pgorm__sb_free(&b);
}
END_TEST

/* An allocator whose realloc fails after `allow` successful calls. */
static long allow;
static void *fail_malloc(size_t n) { return allow-- > 0 ? malloc(n) : NULL; }
static void *fail_calloc(size_t n, size_t k) { return allow-- > 0 ? calloc(n, k) : NULL; }
static void *fail_realloc(void *p, size_t n) { return allow-- > 0 ? realloc(p, n) : NULL; }

START_TEST(test_oom_is_sticky)
{
	static const pgorm_allocator failing = { fail_malloc, fail_calloc, fail_realloc, free };
	pgorm_set_allocator(&failing);
	pgorm__sb b;
	pgorm__sb_init(&b);
	allow = 1;                                 /* the first block only */
	pgorm__sb_add(&b, "SELECT ");
	ck_assert_str_eq(str(&b), "SELECT ");
	char big[300];
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	pgorm__sb_add(&b, big);                    /* needs a second block: fails */
	ck_assert(b.oom);
	ck_assert_ptr_null(pgorm__sb_str(&b));
	allow = 100;
	pgorm__sb_add(&b, "x");                    /* nothing is appended after a failure */
	pgorm__sb_ident(&b, "t");
	pgorm__sb_param(&b, 1);
	pgorm__sb_addf(&b, "%d", 1);
	ck_assert_ptr_null(pgorm__sb_str(&b));
	ck_assert_uint_eq(b.len, 7);
	ck_assert_uint_eq(allow, 100);             /* and nothing is allocated either */
	/* reset starts over with the memory it has */
	pgorm__sb_reset(&b);
	ck_assert(!b.oom);
	pgorm__sb_add(&b, "ok");
	ck_assert_str_eq(str(&b), "ok");
	/* take after a failure gives NULL and frees the memory */
	allow = 0;
	pgorm__sb_add(&b, big);
	ck_assert_ptr_null(pgorm__sb_take(&b));
	ck_assert_ptr_null(b.data);
	ck_assert(!b.oom);
	/* a failure on the first block */
	pgorm__sb_add(&b, "y");
	ck_assert_ptr_null(pgorm__sb_str(&b));
	ck_assert_ptr_null(b.data);
	pgorm__sb_free(&b);
	ck_assert(!b.oom);
	pgorm_set_allocator(NULL);
}
END_TEST

/* ---- the raw-fragment lexer ---- */

/* Renumber sql with base 2 (as after two earlier parameters); returns the output (static). */
static const char *renum(const char *sql, size_t nparams)
{
	static char out[1024];
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_add(&b, "<");
	pgorm_error err;
	int rc = pgorm__sql_renumber(&b, sql, nparams, 2, &err);
	ck_assert_msg(rc == 0, "%s: %s", sql, err.message);
	pgorm__sb_add(&b, ">");
	ck_assert_ptr_nonnull(pgorm__sb_str(&b));
	ck_assert_uint_lt(strlen(pgorm__sb_str(&b)), sizeof out);
	strcpy(out, pgorm__sb_str(&b));
	pgorm__sb_free(&b);
	return out;
}

#define OK(sql, n, want) ck_assert_str_eq(renum(sql, n), "<" want ">")

/* Refused with PGORM_EINVAL, a message containing frag, and the builder unchanged. */
static void refused(const char *sql, size_t nparams, const char *frag)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_add(&b, "keep");
	pgorm_error err;
	memset(&err, 0, sizeof err);
	int rc = pgorm__sql_renumber(&b, sql, nparams, 2, &err);
	ck_assert_msg(rc == PGORM_EINVAL, "%s: rc %d", sql, rc);
	ck_assert_int_eq(err.code, PGORM_EINVAL);
	ck_assert_msg(strstr(err.message, frag) != NULL, "%s: \"%s\" lacks \"%s\"", sql, err.message, frag);
	ck_assert_str_eq(pgorm__sb_str(&b), "keep");
	ck_assert_uint_eq(b.len, 4);
	pgorm__sb_free(&b);
}

START_TEST(test_issue12_params_renumbered)
{
	OK("t.a = $1", 1, "t.a = $3");
	OK("$2 + $1 = $10", 10, "$4 + $3 = $12");
	OK("", 0, "");
	OK("f($1, ($2))", 2, "f($3, ($4))");
	OK("f(')', \")\", $$($$) = $1", 1, "f(')', \")\", $$($$) = $3"); /* quoted parentheses do not count */
	OK("5$1", 1, "5$3"); /* a number, then a parameter */
}
END_TEST

START_TEST(test_issue12_standard_strings)
{
	OK("'$1' = $1", 1, "'$1' = $3");
	OK("'it''s $1' || $1", 1, "'it''s $1' || $3");
	OK("'' = $1", 1, "'' = $3");
	/* standard_conforming_strings: a backslash is an ordinary character in '…' */
	OK("'a\\' = $1", 1, "'a\\' = $3");
	/* b'', x'', n'', U&'' are standard strings too */
	OK("b'$1' x'$1' N'$1' U&'$1' $1", 1, "b'$1' x'$1' N'$1' U&'$1' $3");
}
END_TEST

START_TEST(test_issue12_escape_strings)
{
	OK("E'\\'$1' = $1", 1, "E'\\'$1' = $3");
	OK("e'\\\\' = $1", 1, "e'\\\\' = $3");  /* an escaped backslash ends nothing */
	OK("E'x''$1\\'$1' $1", 1, "E'x''$1\\'$1' $3");
	/* E only opens an escape string at the start of a token: "code" then a plain string */
	OK("code'\\' = $1", 1, "code'\\' = $3");
}
END_TEST

START_TEST(test_issue12_dollar_quotes)
{
	OK("$$ $1 ' \" $$ = $1", 1, "$$ $1 ' \" $$ = $3");
	OK("$tag$ $1 $$ $tag$ || $1", 1, "$tag$ $1 $$ $tag$ || $3");
	OK("$a$ $b$ $1 $b$ $a$ $1", 1, "$a$ $b$ $1 $b$ $a$ $3");
	OK("$a$ $ab$ $1 $a$ $1", 1, "$a$ $ab$ $1 $a$ $3");   /* $ab$ does not close $a$ */
	OK("$_x9$ $1 $_x9$ $1", 1, "$_x9$ $1 $_x9$ $3");
	OK("$$$$ $1", 1, "$$$$ $3");                      /* an empty dollar-quoted string */
}
END_TEST

START_TEST(test_issue12_identifiers)
{
	OK("t.x$1 = $1", 1, "t.x$1 = $3");              /* '$' continues an identifier */
	OK("x$1$2 $1", 1, "x$1$2 $3");
	OK("x$$ $1", 1, "x$$ $3");                        /* not a dollar quote either */
	OK("_a$1 \xc3\xa9$1 $1", 1, "_a$1 \xc3\xa9$1 $3"); /* non-ASCII letters start identifiers */
	OK("\"$1\" = $1", 1, "\"$1\" = $3");
	OK("\"a\"\"$1\" = $1", 1, "\"a\"\"$1\" = $3");
	OK("U&\"$1\" $1", 1, "U&\"$1\" $3");
	OK("\"x\"$1", 1, "\"x\"$3");
}
END_TEST

START_TEST(test_issue12_comments)
{
	OK("$1 -- $1 'x\n= $1", 1, "$3 -- $1 'x\n= $3");
	OK("$1 -- $1\r$1", 1, "$3 -- $1\r$3");
	OK("$1 -- trailing", 1, "$3 -- trailing\n");     /* the wrapper's ')' stays outside */
	OK("/* $1 */ $1", 1, "/* $1 */ $3");
	OK("/* a /* $1 */ $1 ' */ $1", 1, "/* a /* $1 */ $1 ' */ $3");
	OK("1 /**/ - $1", 1, "1 /**/ - $3");
	OK("1 - -$1", 1, "1 - -$3");
	OK("'--' = $1", 1, "'--' = $3");
	OK("'/*' = $1", 1, "'/*' = $3");
}
END_TEST

START_TEST(test_issue12_refusals)
{
	refused("'open", 0, "unterminated string");
	refused("t = 'a'' ", 0, "unterminated string");
	refused("E'\\'", 0, "unterminated E'' string");
	refused("E'abc\\", 0, "unterminated E'' string");
	refused("\"ident", 0, "unterminated quoted identifier");
	refused("$$ abc", 0, "unterminated dollar-quoted string");
	refused("$a$ abc $b$", 0, "unterminated dollar-quoted string");
	refused("$a$ abc $A$", 0, "unterminated dollar-quoted string"); /* tags are case-sensitive */
	refused("/* abc", 0, "unterminated /* comment");
	refused("/* a /* b */", 0, "unterminated /* comment");
	refused("$0", 1, "out of range");
	refused("$2", 1, "out of range");
	refused("$1", 0, "no parameters");
	refused("$99999999999999999999999999", 3, "out of range");
	refused("$1abc", 1, "trailing junk");
	refused("$1_", 1, "trailing junk");
	refused("a) OR (b", 0, "unbalanced ')'");
	refused("(a", 0, "unbalanced '('");
	refused("$1AND", 1, "trailing junk");
}
END_TEST

START_TEST(test_issue12_offset_in_message)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm_error err;
	ck_assert_int_eq(pgorm__sql_renumber(&b, "a = 1 AND 'x", 0, 0, &err), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "offset 10"));
	pgorm__sb_free(&b);
}
END_TEST


/* A number's exponent is part of the number: "$388" after "643E58" is a parameter, not the
 * end of an identifier "E58$388" (found by fuzz_renumber: an out-of-range $388 was accepted). */
START_TEST(test_issue_number_exponent_then_param)
{
	OK("x = 643E58$1", 1, "x = 643E58$3");
	OK("x = 1.5e-3 + $1", 1, "x = 1.5e-3 + $3");
	OK("x = .5 + $1", 1, "x = .5 + $3");
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm_error err;
	ck_assert_int_eq(pgorm__sql_renumber(&b, "x = 643E58$388", 1, 0, &err), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "out of range"));
	ck_assert_int_eq(pgorm__sql_renumber(&b, "x = 12abc", 0, 0, &err), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "trailing junk"));
	pgorm__sb_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sql");
	TCase *tc = tcase_create("builder");
	tcase_add_test(tc, test_builder_append);
	tcase_add_test(tc, test_ident_quoting);
	tcase_add_test(tc, test_params);
	tcase_add_test(tc, test_take_and_reset);
	tcase_add_test(tc, test_oom_is_sticky);
	suite_add_tcase(s, tc);
	TCase *lx = tcase_create("lexer");
	tcase_add_test(lx, test_issue12_params_renumbered);
	tcase_add_test(lx, test_issue12_standard_strings);
	tcase_add_test(lx, test_issue12_escape_strings);
	tcase_add_test(lx, test_issue12_dollar_quotes);
	tcase_add_test(lx, test_issue12_identifiers);
	tcase_add_test(lx, test_issue12_comments);
	tcase_add_test(lx, test_issue12_refusals);
	tcase_add_test(lx, test_issue12_offset_in_message);
	tcase_add_test(lx, test_issue_number_exponent_then_param);
	suite_add_tcase(s, lx);
	return pgtest_run(s);
}
