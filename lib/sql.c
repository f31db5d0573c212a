/* lib/sql.c — the string builder. */
#include "sql.h"
#include "internal.h"

#include <stdarg.h>
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

void pgorm__sb_qualified(pgorm__sb *b, const char *schema, const char *name)
{
	if (schema != NULL) {
		pgorm__sb_ident(b, schema);
		pgorm__sb_addn(b, ".", 1);
	}
	pgorm__sb_ident(b, name);
}

void pgorm__sb_param(pgorm__sb *b, size_t n) { pgorm__sb_addf(b, "$%zu", n); }

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
