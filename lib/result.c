/* lib/result.c — results: a PGresult in binary format plus an arena for decoded values. */
#include "exec.h"
#include "internal.h"

#include <string.h>

int pgorm__result_wrap(PGresult *res, pgorm_result **out)
{
	pgorm_result *r = pgorm__malloc(sizeof *r);
	if (r == NULL) {
		PQclear(res);
		*out = NULL;
		return PGORM_ENOMEM;
	}
	r->res = res;
	pgorm__arena_init(&r->arena);
	*out = r;
	return 0;
}

void pgorm_result_free(pgorm_result *r)
{
	if (r == NULL)
		return;
	PQclear(r->res);
	pgorm__arena_free_all(&r->arena);
	pgorm__free(r);
}

size_t pgorm_result_rows(const pgorm_result *r) { return r ? (size_t)PQntuples(r->res) : 0; }
size_t pgorm_result_cols(const pgorm_result *r) { return r ? (size_t)PQnfields(r->res) : 0; }

uint64_t pgorm_result_affected(const pgorm_result *r)
{
	if (r == NULL)
		return 0;
	const char *s = PQcmdTuples(r->res);
	uint64_t n = 0;
	for (; s && *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (uint64_t)(*s - '0');
	return n;
}

const char *pgorm_result_col_name(const pgorm_result *r, size_t col)
{
	if (r == NULL || col >= (size_t)PQnfields(r->res))
		return NULL;
	return PQfname(r->res, (int)col);
}

pgorm_type pgorm_result_col_type(const pgorm_result *r, size_t col)
{
	if (r == NULL || col >= (size_t)PQnfields(r->res))
		return PGORM_TYPE_INVALID;
	return pgorm__type_from_oid(PQftype(r->res, (int)col));
}

static bool in_range(const pgorm_result *r, size_t row, size_t col)
{
	return r != NULL && row < (size_t)PQntuples(r->res) && col < (size_t)PQnfields(r->res);
}

bool pgorm_result_is_null(const pgorm_result *r, size_t row, size_t col)
{
	return !in_range(r, row, col) || PQgetisnull(r->res, (int)row, (int)col);
}

int pgorm_result_get(pgorm_result *r, size_t row, size_t col, pgorm_type t, pgorm_value *out,
                     pgorm_error *err)
{
	if (out == NULL)
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_result_get: out is NULL");
	memset(out, 0, sizeof *out);
	out->type = t;
	if (!in_range(r, row, col))
		return pgorm__error_set(err, PGORM_EINVAL, "row %zu / column %zu out of range", row, col);
	if (PQgetisnull(r->res, (int)row, (int)col)) {
		out->is_null = true;
		return 0;
	}
	int rc = pgorm__codec_decode(t, PQftype(r->res, (int)col), PQgetvalue(r->res, (int)row, (int)col),
	                             (size_t)PQgetlength(r->res, (int)row, (int)col), out, &r->arena, err);
	if (rc != 0 && err != NULL && rc == PGORM_ETYPE) {
		char m[sizeof err->message];
		memcpy(m, err->message, sizeof m);
		pgorm__error_set(err, rc, "column \"%s\": %s", PQfname(r->res, (int)col), m);
	}
	return rc;
}

int pgorm_result_int64(pgorm_result *r, size_t row, size_t col, int64_t *out)
{
	pgorm_value v;
	int rc = pgorm_result_get(r, row, col, PGORM_TYPE_INT8, &v, NULL);
	if (out != NULL)
		*out = rc == 0 && !v.is_null ? v.u.i64 : 0;
	return rc;
}

const char *pgorm_result_text(pgorm_result *r, size_t row, size_t col)
{
	/* Binary text values are not NUL-terminated in general, but libpq always appends one. */
	if (!in_range(r, row, col) || PQgetisnull(r->res, (int)row, (int)col))
		return NULL;
	pgorm_type t = pgorm__type_from_oid(PQftype(r->res, (int)col));
	if (t != PGORM_TYPE_TEXT && t != PGORM_TYPE_JSON)
		return NULL;
	return PQgetvalue(r->res, (int)row, (int)col);
}
