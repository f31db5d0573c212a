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

/* What a SQLSTATE means to pgorm: one table (error.c) used by exec, the error helpers and the
 * pool. FAILOVER: the connection is gone or the server is no longer what it was (class 08,
 * 57P01-03 shutdown/crash/starting, 25006 read-only: a former primary), so other connections to
 * it are suspect too. PERMANENT: a connect error that will not go away by retrying (class 28
 * authentication, 3D000 no such database). */
enum { PGORM__SQLSTATE_FAILOVER = 1u << 0, PGORM__SQLSTATE_PERMANENT = 1u << 1 };
/* The PGORM_E* code for a server error with SQLSTATE st (PGORM_ESERVER when none applies). */
int pgorm__sqlstate_code(const char *st);
/* The PGORM__SQLSTATE_* flags of st (0 for NULL, "" or an unlisted state). */
unsigned pgorm__sqlstate_flags(const char *st);

/* The protocol's limit on bind parameters per statement (a 16-bit count). */
#define PGORM__MAX_PARAMS 65535

#define PGORM__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
