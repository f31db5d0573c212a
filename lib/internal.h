/* lib/internal.h — internals shared by every module: allocation, error filling. */
#ifndef PGORM_INTERNAL_H
#define PGORM_INTERNAL_H

#include "pgorm/alloc.h"
#include "pgorm/error.h"

#include <stdarg.h>
#include <stddef.h>

void *pgorm__malloc(size_t n);
void *pgorm__calloc(size_t n, size_t size); /* NULL on overflow */
void *pgorm__realloc(void *p, size_t n);
void *pgorm__reallocarray(void *p, size_t n, size_t size); /* NULL on overflow */
char *pgorm__strdup(const char *s);
char *pgorm__strndup(const char *s, size_t n);
void pgorm__free(void *p);

/* Fill *e (may be NULL) with code and a formatted message; returns code. */
int pgorm__error_set(pgorm_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int pgorm__error_vset(pgorm_error *e, int code, const char *fmt, va_list ap);
/* Bounded copy that always terminates. */
void pgorm__strlcpy(char *dst, const char *src, size_t n);

/* The protocol's limit on bind parameters per statement (a 16-bit count). */
#define PGORM__MAX_PARAMS 65535

#define PGORM__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
