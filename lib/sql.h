/* lib/sql.h — building SQL text: a string builder that quotes identifiers. Values never go
 * into SQL text: they are bind parameters ($n) added by the callers. */
#ifndef PGORM_SQL_H
#define PGORM_SQL_H

#include "pgorm/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct pgorm__sb {
	char *data;
	size_t len, cap;
	bool oom;        /* sticky: any failed append makes the whole string invalid */
} pgorm__sb;

void pgorm__sb_init(pgorm__sb *b);
void pgorm__sb_free(pgorm__sb *b);
void pgorm__sb_reset(pgorm__sb *b);
void pgorm__sb_add(pgorm__sb *b, const char *s);
void pgorm__sb_addn(pgorm__sb *b, const char *s, size_t n);
void pgorm__sb_addf(pgorm__sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "name" with embedded quotes doubled. */
void pgorm__sb_ident(pgorm__sb *b, const char *name);
/* "schema"."table" (schema may be NULL). */
void pgorm__sb_qualified(pgorm__sb *b, const char *schema, const char *name);
/* $n */
void pgorm__sb_param(pgorm__sb *b, size_t n);
/* Copy s[0..n) into dst with the LIKE wildcards '%' and '_' and the escape character '\\'
 * each preceded by '\\' (PostgreSQL's default LIKE escape); dst needs 2n bytes. Returns the
 * bytes written (no NUL is added). */
size_t pgorm__like_escape(char *dst, const char *s, size_t n);
/* The string, or NULL after an allocation failure. Stays owned by b. */
const char *pgorm__sb_str(const pgorm__sb *b);
/* Detach the string (caller frees with pgorm__free); NULL after an allocation failure. */
char *pgorm__sb_take(pgorm__sb *b);

/* Append the raw SQL fragment sql to b with every parameter reference $n (1 <= n <= nparams)
 * written as $(base + n). The fragment is lexed as PostgreSQL's scanner does (with
 * standard_conforming_strings on, the default since 9.1), so only real parameters move:
 * '…' strings ('' escapes; also b'', x'', n'', U&''), E'…' strings (backslash escapes),
 * $$…$$ and $tag$…$tag$ strings, "quoted identifiers", '$' inside identifiers (t.x$1 is a
 * column), -- comments (a newline is added when one ends the fragment) and nested block
 * comments are copied as they are. Refused with PGORM_EINVAL (message in *err, b unchanged):
 * an unterminated string, quoted identifier, dollar quote or block comment; $0, $n beyond
 * nparams, $n followed by a letter or '_'; parentheses that do not balance (the fragment
 * must stay inside the parentheses the caller wraps it in). */
int pgorm__sql_renumber(pgorm__sb *b, const char *sql, size_t nparams, size_t base, pgorm_error *err);

#endif
