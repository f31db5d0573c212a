/* lib/sql.h — building SQL text: a string builder that quotes identifiers. Values never go
 * into SQL text: they are bind parameters ($n) added by the callers. */
#ifndef PGORM_SQL_H
#define PGORM_SQL_H

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
/* The string, or NULL after an allocation failure. Stays owned by b. */
const char *pgorm__sb_str(const pgorm__sb *b);
/* Detach the string (caller frees with pgorm__free); NULL after an allocation failure. */
char *pgorm__sb_take(pgorm__sb *b);

#endif
