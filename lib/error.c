/* lib/error.c — the error table and error-object helpers. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

const char *pgorm_strerror(int code)
{
	switch (code) {
	case 0: return "success";
#define XX(name, val, msg) case val: return msg;
	PGORM_ERRNO_MAP(XX)
#undef XX
	default: return "unknown error";
	}
}

const char *pgorm_err_name(int code)
{
	switch (code) {
	case 0: return "PGORM_OK";
#define XX(name, val, msg) case val: return "PGORM_" #name;
	PGORM_ERRNO_MAP(XX)
#undef XX
	default: return "PGORM_EUNKNOWN";
	}
}

void pgorm_error_clear(pgorm_error *e)
{
	if (e == NULL)
		return;
	/* Every field a string: emptying the first byte is "no error" and spares a 1.2 KB memset
	 * on every statement (the hot path clears before each execution). */
	e->code = 0;
	e->sqlstate[0] = e->severity[0] = e->message[0] = e->detail[0] = e->hint[0] = '\0';
	e->constraint[0] = e->table[0] = e->column[0] = e->statement[0] = '\0';
	e->stmt_index = -1;
}

/* ---- the SQLSTATE table: the one place that says what a server error means ---- */

typedef struct sqlstate_class {
	const char *prefix;  /* a whole SQLSTATE, or its class (first two characters) */
	int code;            /* PGORM_E* */
	unsigned flags;      /* PGORM__SQLSTATE_* */
} sqlstate_class;

/* First match wins: whole states before the class they belong to. */
static const sqlstate_class sqlstate_table[] = {
	{ "23", PGORM_ECONSTRAINT, 0 },                            /* integrity constraint */
	{ "40001", PGORM_ESERIALIZATION, 0 },                      /* serialization failure */
	{ "40P01", PGORM_ESERIALIZATION, 0 },                      /* deadlock */
	/* 08P01 with a live connection (e.g. a Bind with too few parameters) is the statement's
	 * error; a FATAL one closes the connection, which PQstatus reports as ECONN */
	{ "08P01", PGORM_ESERVER, 0 },
	{ "08", PGORM_ECONN, PGORM__SQLSTATE_FAILOVER },           /* connection exception */
	{ "57P01", PGORM_ECONN, PGORM__SQLSTATE_FAILOVER },        /* admin shutdown */
	{ "57P02", PGORM_ECONN, PGORM__SQLSTATE_FAILOVER },        /* crash shutdown */
	{ "57P03", PGORM_ECONN, PGORM__SQLSTATE_FAILOVER },        /* cannot connect now (starting) */
	{ "57P04", PGORM_ECONN, 0 },                               /* database dropped */
	{ "57P05", PGORM_ECONN, 0 },                               /* idle session timeout */
	{ "25006", PGORM_ESERVER, PGORM__SQLSTATE_FAILOVER },      /* read-only transaction */
	/* at connect time these are PGORM_ECONN (every connect error is); after it, a DROP
	 * DATABASE of a missing one (3D000) is an ordinary server error */
	{ "28", PGORM_ESERVER, PGORM__SQLSTATE_PERMANENT },        /* authorization / password */
	{ "3D000", PGORM_ESERVER, PGORM__SQLSTATE_PERMANENT },     /* database does not exist */
};

static const sqlstate_class *sqlstate_find(const char *st)
{
	if (st == NULL || strlen(st) != 5)
		return NULL;
	for (size_t i = 0; i < PGORM__ARRAY_LEN(sqlstate_table); i++) {
		const char *pf = sqlstate_table[i].prefix;
		if (strncmp(st, pf, strlen(pf)) == 0)
			return &sqlstate_table[i];
	}
	return NULL;
}

int pgorm__sqlstate_code(const char *st)
{
	const sqlstate_class *k = sqlstate_find(st);
	return k != NULL ? k->code : PGORM_ESERVER;
}

unsigned pgorm__sqlstate_flags(const char *st)
{
	const sqlstate_class *k = sqlstate_find(st);
	return k != NULL ? k->flags : 0;
}

bool pgorm_error_is_connection(const pgorm_error *e)
{
	if (e == NULL)
		return false;
	if (e->code == PGORM_ECONN || e->code == PGORM_ECOMMIT_UNKNOWN)
		return true;
	return (pgorm__sqlstate_flags(e->sqlstate) & PGORM__SQLSTATE_FAILOVER) != 0;
}

void pgorm__strlcpy(char *dst, const char *src, size_t n)
{
	if (n == 0)
		return;
	if (src == NULL)
		src = "";
	size_t len = strnlen(src, n - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int pgorm__error_vset(pgorm_error *e, int code, const char *fmt, va_list ap)
{
	if (e == NULL)
		return code;
	pgorm_error_clear(e);
	e->code = code;
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	return code;
}

int pgorm__error_set(pgorm_error *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pgorm__error_vset(e, code, fmt, ap);
	va_end(ap);
	return code;
}
