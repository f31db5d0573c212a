/* lib/loader.h — rows into objects through the identity map, and the relationship loaders
 * (lib/loader.c). */
#ifndef PGORM_LOADER_H
#define PGORM_LOADER_H

#include "exec.h"
#include "state.h"

/* Load every row of res (columns in model order from col0) into objects of mi; out (may be
 * NULL) receives them in row order. Rows already in the identity map keep their state unless
 * overwrite or they are expired. */
int pgorm__load_rows(pgorm_session *s, pgorm__model_info *mi, pgorm_result *res, size_t col0,
                     bool overwrite, void ***out, size_t *nout);
/* As pgorm__load_rows; with aligned, out[row] is NULL for rows whose key is NULL. */
int pgorm__load_rows_ex(pgorm_session *s, pgorm__model_info *mi, pgorm_result *res, size_t col0,
                        bool overwrite, bool aligned, void ***out, size_t *nout);
/* Put the primary key found in the first columns of row (a RETURNING of the key) into the
 * loader's probe object, for identity-map lookups; returns the probe. */
void *pgorm__probe_from_key_row(pgorm_session *s, pgorm__model_info *mi, pgorm_result *res, size_t row);
/* Load r for every object in objs (selectin); marks them loaded. */
int pgorm__load_selectin(pgorm_session *s, const pgorm_rel *r, void **objs, size_t n, bool overwrite);
/* Several relationships at once (siblings), their statements in one pipeline. */
int pgorm__load_selectin_many(pgorm_session *s, const pgorm_rel *const *rels, void ***objs, const size_t *n,
                              size_t nrels, bool overwrite);
/* Lazy load of one relationship of one object. */
int pgorm__load_lazy(pgorm_session *s, const pgorm_rel *r, void *obj);

/* The loader's own state, one per session (statements built once, the identity probe, the
 * N+1 counters). Errors: PGORM_ENOMEM. */
typedef struct pgorm__loader pgorm__loader;
int pgorm__loader_create(pgorm__loader **out, const pgorm_registry *reg);
void pgorm__loader_destroy(pgorm__loader *ld);
/* "SELECT <columns> FROM <table> t WHERE pk1 = $1 AND …" into b. */
void pgorm__sql_by_pk(pgorm__sb *b, const pgorm__model_info *mi);
/* SELECT the row of a primary key and load it: overwriting every column (a refresh), or, when
 * !overwrite, as any load (an expired object keeps the columns written since it expired).
 * Errors: PGORM_ENOTFOUND, those of the statement. */
int pgorm__load_by_pk(pgorm_session *s, pgorm__model_info *mi, const pgorm_value *pk, bool overwrite, void **out);
/* The object for a primary key: from the identity map when there and not expired, else
 * loaded (pgorm_session_get). */
int pgorm__get(pgorm_session *s, pgorm__model_info *mi, const pgorm_value *pk, void **out);
/* The target of obj's many-to-one r that its foreign key names, from the identity map
 * (NULL: the key is NULL, or that object is not in the map); no SQL. */
void *pgorm__m2o_in_map(pgorm_session *s, const pgorm_rel *r, void *obj);
/* Reload obj's row (expiring it first; overwrite: as pgorm__load_by_pk); a row gone detaches
 * obj (PGORM_ENOTFOUND). */
int pgorm__refresh_one(pgorm_session *s, void *obj, bool overwrite);
#endif
