/* Unit tests: the raw-fragment lexer (pgorm__sql_renumber) follows PostgreSQL's scanner —
 * only real parameters are renumbered; what it cannot lex is refused and leaves the output
 * untouched. */
#include "pgtest.h"
#include "internal.h"
#include "sql.h"

#include <string.h>

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

int main(void)
{
	Suite *s = suite_create("sql");
	TCase *tc = tcase_create("lexer");
	tcase_add_test(tc, test_issue12_params_renumbered);
	tcase_add_test(tc, test_issue12_standard_strings);
	tcase_add_test(tc, test_issue12_escape_strings);
	tcase_add_test(tc, test_issue12_dollar_quotes);
	tcase_add_test(tc, test_issue12_identifiers);
	tcase_add_test(tc, test_issue12_comments);
	tcase_add_test(tc, test_issue12_refusals);
	tcase_add_test(tc, test_issue12_offset_in_message);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
