/* lib/sql.c — identifier quoting, the string builder, and the lexer that renumbers parameters in raw SQL fragments. */
#include "sql.h"
#include "internal.h"
#include "pgorm/exec.h"
#include "pgorm/query.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void pgorm__sb_init(pgorm__sb *b) { memset(b, 0, sizeof *b); }

void pgorm__sb_free(pgorm__sb *b)
{
	pgorm__free(b->data);
	pgorm__sb_init(b);
}

void pgorm__sb_reset(pgorm__sb *b)
{
	b->len = 0;
	b->oom = false;
	if (b->data)
		b->data[0] = '\0';
}

static bool grow(pgorm__sb *b, size_t extra)
{
	if (b->oom)
		return false;
	if (b->cap - b->len > extra)
		return true;
	size_t cap = b->cap ? b->cap : 128;
	while (cap - b->len <= extra) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *d = pgorm__realloc(b->data, cap);
	if (d == NULL) {
		b->oom = true;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

void pgorm__sb_addn(pgorm__sb *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void pgorm__sb_add(pgorm__sb *b, const char *s) { pgorm__sb_addn(b, s, strlen(s)); }

void pgorm__sb_addf(pgorm__sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void pgorm__sb_ident(pgorm__sb *b, const char *name)
{
	pgorm__sb_addn(b, "\"", 1);
	for (const char *p = name; *p; p++) {
		const char *q = strchr(p, '"');
		if (q == NULL) {
			pgorm__sb_add(b, p);
			break;
		}
		pgorm__sb_addn(b, p, (size_t)(q - p));
		pgorm__sb_addn(b, "\"\"", 2);
		p = q;
	}
	pgorm__sb_addn(b, "\"", 1);
}

/* The public, fixed-buffer form of pgorm__sb_ident (declared in pgorm/exec.h). */
long pgorm_quote_ident(char *buf, size_t n, const char *name)
{
	if (buf == NULL || name == NULL || *name == '\0')
		return -1;
	size_t k = 0;
	if (k + 1 >= n)
		return -1;
	buf[k++] = '"';
	for (const char *p = name; *p; p++) {
		size_t need = *p == '"' ? 2 : 1;
		if (k + need + 1 >= n)
			return -1;
		if (*p == '"')
			buf[k++] = '"';
		buf[k++] = *p;
	}
	if (k + 2 > n)
		return -1;
	buf[k++] = '"';
	buf[k] = '\0';
	return (long)k;
}

size_t pgorm__like_escape(char *dst, const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			dst[k++] = '\\';
		dst[k++] = s[i];
	}
	return k;
}

/* The public, fixed-buffer form (declared in pgorm/query.h). */
long pgorm_like_escape(char *buf, size_t n, const char *s)
{
	if (buf == NULL || s == NULL)
		return -1;
	size_t len = strlen(s);
	if (n == 0 || len > (n - 1) / 2) { /* the worst case must fit: every byte escaped, and the NUL */
		size_t need = 0;
		for (const char *p = s; *p; p++)
			need += (*p == '%' || *p == '_' || *p == '\\') ? 2 : 1;
		if (need + 1 > n)
			return -1;
	}
	size_t k = pgorm__like_escape(buf, s, len);
	buf[k] = '\0';
	return (long)k;
}

void pgorm__sb_qualified(pgorm__sb *b, const char *schema, const char *name)
{
	if (schema != NULL) {
		pgorm__sb_ident(b, schema);
		pgorm__sb_addn(b, ".", 1);
	}
	pgorm__sb_ident(b, name);
}

/* "$n" without vsnprintf: a multi-row INSERT writes one per value (a 1000-row batch of a
 * 4-column model, 4,000), where printf's cost was half of a large flush's client time. */
void pgorm__sb_param(pgorm__sb *b, size_t n)
{
	char buf[24];
	size_t k = sizeof buf;
	do
		buf[--k] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	buf[--k] = '$';
	pgorm__sb_addn(b, buf + k, sizeof buf - k);
}

const char *pgorm__sb_str(const pgorm__sb *b)
{
	if (b->oom)
		return NULL;
	return b->data ? b->data : "";
}

char *pgorm__sb_take(pgorm__sb *b)
{
	char *s = b->oom ? NULL : (b->data ? b->data : pgorm__strdup(""));
	if (b->oom)
		pgorm__free(b->data);
	pgorm__sb_init(b);
	return s;
}

/* ---- raw SQL fragments: PostgreSQL's lexical rules (src/backend/parser/scan.l) ---- */

static bool ident_start(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80; }
static bool ident_cont(unsigned char c) { return ident_start(c) || (c >= '0' && c <= '9') || c == '$'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Length of the dollar-quote delimiter at p ("$$" or "$tag$"), 0 when there is none. */
static size_t dollar_delim(const char *p)
{
	if (p[0] != '$')
		return 0;
	size_t n = 1;
	if (ident_start((unsigned char)p[n]) && p[n] != '$') {
		n++;
		while (ident_cont((unsigned char)p[n]) && p[n] != '$')
			n++;
	}
	return p[n] == '$' ? n + 1 : 0;
}

/* End of a quoted token starting at p (p[0] is the opening quote q): q is doubled to escape
 * it; with backslash (E'' strings) a backslash escapes the next character. NULL when it is not
 * terminated. */
static const char *quoted_end(const char *p, char q, bool backslash)
{
	for (p++; *p; p++) {
		if (backslash && *p == '\\') {
			if (*++p == '\0')
				return NULL;
		} else if (*p == q) {
			if (p[1] != q)
				return p + 1;
			p++;
		}
	}
	return NULL;
}

static int lex_fail(pgorm__sb *b, size_t len, pgorm_error *err, const char *sql, const char *at, const char *what)
{
	b->len = len;
	if (b->data != NULL && !b->oom)
		b->data[len] = '\0';
	return pgorm__error_set(err, PGORM_EINVAL, "SQL fragment: %s at offset %zu", what, (size_t)(at - sql));
}

int pgorm__sql_renumber(pgorm__sb *b, const char *sql, size_t nparams, size_t base, pgorm_error *err)
{
	size_t start_len = b->len;
	long depth = 0;
	const char *p = sql;
	while (*p) {
		const char *tok = p;
		unsigned char c = (unsigned char)*p;
		if (c == '-' && p[1] == '-') {
			p += strcspn(p, "\r\n");
			pgorm__sb_addn(b, tok, (size_t)(p - tok));
			if (*p == '\0') /* the comment must not swallow what follows the fragment */
				pgorm__sb_addn(b, "\n", 1);
			continue;
		}
		if (c == '/' && p[1] == '*') {
			long nest = 0;
			do {
				if (*p == '\0')
					return lex_fail(b, start_len, err, sql, tok, "unterminated /* comment");
				if (p[0] == '/' && p[1] == '*') {
					nest++;
					p += 2;
				} else if (p[0] == '*' && p[1] == '/') {
					nest--;
					p += 2;
				} else {
					p++;
				}
			} while (nest > 0);
		} else if ((c == 'e' || c == 'E') && p[1] == '\'') {
			if ((p = quoted_end(p + 1, '\'', true)) == NULL)
				return lex_fail(b, start_len, err, sql, tok, "unterminated E'' string");
		} else if (c == '\'' || c == '"') {
			if ((p = quoted_end(p, (char)c, false)) == NULL)
				return lex_fail(b, start_len, err, sql, tok,
				                c == '"' ? "unterminated quoted identifier" : "unterminated string");
		} else if (is_digit(c) || (c == '.' && is_digit((unsigned char)p[1]))) {
			/* a numeric literal as scan.l reads it: digits [. digits] [e [+-] digits]. An
			 * exponent belongs to the number, so "6E5$1" is a number and $1, not an
			 * identifier "E5$1"; letters right after a number are refused, as PostgreSQL 15
			 * does ("trailing junk after numeric literal") */
			while (is_digit((unsigned char)*p))
				p++;
			if (*p == '.' && p[1] != '.')
				for (p++; is_digit((unsigned char)*p); p++)
					;
			if ((*p == 'e' || *p == 'E') &&
			    (is_digit((unsigned char)p[1]) || ((p[1] == '+' || p[1] == '-') && is_digit((unsigned char)p[2]))))
				for (p += 2; is_digit((unsigned char)*p); p++)
					;
			if (ident_start((unsigned char)*p))
				return lex_fail(b, start_len, err, sql, tok, "trailing junk after numeric literal");
		} else if (ident_start(c)) {
			/* an identifier or keyword: '$' continues it (t.x$1 is a column, not $1); a
			 * quote right after it starts a plain string (b'', x'', n'', U&'' need nothing
			 * more: no backslash escapes) */
			while (ident_cont((unsigned char)*p))
				p++;
		} else if (c == '$' && is_digit((unsigned char)p[1])) {
			const char *q = p + 1;
			size_t n = 0;
			bool big = false;
			for (; is_digit((unsigned char)*q); q++) {
				if (n > (SIZE_MAX - 9) / 10)
					big = true;
				else
					n = n * 10 + (size_t)(*q - '0');
			}
			if (ident_start((unsigned char)*q)) /* PostgreSQL 15+: "trailing junk after parameter" */
				return lex_fail(b, start_len, err, sql, tok, "trailing junk after parameter");
			if (big || n == 0 || n > nparams)
				return lex_fail(b, start_len, err, sql, tok,
				                nparams == 0 ? "parameter reference but no parameters given"
				                             : "parameter number out of range");
			pgorm__sb_param(b, base + n);
			p = q;
			continue;
		} else if (c == '$' && dollar_delim(p) > 0) {
			size_t dl = dollar_delim(p);
			const char *q = p + dl;
			for (;; q++) {
				if (*q == '\0')
					return lex_fail(b, start_len, err, sql, tok, "unterminated dollar-quoted string");
				if (*q == '$' && strncmp(q, p, dl) == 0)
					break;
			}
			p = q + dl;
		} else {
			if (c == '(')
				depth++;
			else if (c == ')' && --depth < 0)
				return lex_fail(b, start_len, err, sql, tok, "unbalanced ')'");
			p++;
		}
		pgorm__sb_addn(b, tok, (size_t)(p - tok));
	}
	if (depth != 0)
		return lex_fail(b, start_len, err, sql, p, "unbalanced '('");
	return 0;
}
