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
	memset(e, 0, sizeof *e);
	e->stmt_index = -1;
}

bool pgorm_error_is_connection(const pgorm_error *e)
{
	if (e == NULL)
		return false;
	if (e->code == PGORM_ECONN || e->code == PGORM_ECOMMIT_UNKNOWN)
		return true;
	/* 08P01 (protocol violation) with a live connection is the statement's error */
	return (strncmp(e->sqlstate, "08", 2) == 0 && strcmp(e->sqlstate, "08P01") != 0) ||
	       strcmp(e->sqlstate, "57P01") == 0 ||
	       strcmp(e->sqlstate, "57P02") == 0 || strcmp(e->sqlstate, "57P03") == 0 ||
	       strcmp(e->sqlstate, "25006") == 0;
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
