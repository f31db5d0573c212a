/* lib/loader.c — rows into objects through the identity map, and relationship loaders
 * (lazy, selectin; joined rows are split by query.c and come through here too).
 *
 * Decoding goes straight from libpq's binary values into the struct fields: the column
 * types are checked once per result, not per value. */
#include "codec.h"
#include "exec.h"
#include "internal.h"
#include "identity_map.h"
#include "loader.h"
#include "relationship.h"
#include "state.h"

#include <stdio.h>
#include <string.h>

/* ---- the loader's state ---- */

/* What the loader keeps per session: statements built once, in three ranges of
 * nmodels * SQL_PER_MODEL slots: relationship loaders (one per model and relationship),
 * get-by-key (one per model), one-key loaders; the probe object for identity-map lookups
 * by key; the N+1 detector's counters per relationship index. */
struct pgorm__loader {
	const char **sql;
	size_t nsql;
	void *probe;
	size_t probe_size;
	uint64_t nplus1_counts[PGORM__MAX_RELS];
	const pgorm_rel *nplus1_rel[PGORM__MAX_RELS];
	uint32_t nplus1_gen[PGORM__MAX_RELS];
};

int pgorm__loader_create(pgorm__loader **out, const pgorm_registry *reg)
{
	pgorm__loader *ld = pgorm__calloc(1, sizeof *ld);
	if (ld == NULL)
		return PGORM_ENOMEM;
	size_t maxsize = 16;
	for (size_t i = 0; i < reg->nmodels; i++)
		if (pgorm__object_size(&reg->models[i]) > maxsize)
			maxsize = pgorm__object_size(&reg->models[i]);
	ld->probe_size = maxsize;
	ld->probe = pgorm__calloc(1, maxsize);
	ld->nsql = reg->nmodels * (2 * PGORM__MAX_RELS + 1);
	ld->sql = pgorm__calloc(ld->nsql + 1, sizeof *ld->sql);
	if (ld->probe == NULL || ld->sql == NULL) {
		pgorm__loader_destroy(ld);
		return PGORM_ENOMEM;
	}
	*out = ld;
	return 0;
}

void pgorm__loader_destroy(pgorm__loader *ld)
{
	if (ld == NULL)
		return;
	for (size_t i = 0; ld->sql != NULL && i < ld->nsql; i++)
		pgorm__free((void *)ld->sql[i]);
	pgorm__free(ld->sql);
	pgorm__free(ld->probe);
	pgorm__free(ld);
}

/* ---- rows ---- */

/* How each column of a result is decoded, chosen once per result (not per value). */
enum {
	D_GENERIC = 0,  /* through the codec */
	D_INT8,         /* int8 → int64_t */
	D_INT4_INT8,    /* int4 → int64_t */
	D_INT4,         /* int4 → int32_t */
	D_FLOAT8,       /* float8 → double */
	D_BOOL,
	D_TEXT          /* text/varchar → session-owned copy */
};

/* One column to decode: which model column, from which result column, how. */
typedef struct colplan {
	uint8_t kind;   /* D_* */
	uint8_t i;      /* the model's column index */
	int col;        /* the result's column number */
	size_t off;     /* the field's offset in the struct */
} colplan;

/* A result's decoding plan: the key columns (decoded into the probe when the key cannot be
 * read as one integer) and the other columns (decoded into the object), in model order. */
typedef struct rowdec {
	uint8_t kind[PGORM__MAX_COLS];
	uint64_t pk_mask;
	size_t nkey, nval;
	colplan key[PGORM__MAX_PK];
	colplan val[PGORM__MAX_COLS];
} rowdec;

static int check_result_types(pgorm_session *s, pgorm__model_info *mi, const PGresult *res, size_t col0, rowdec *dec)
{
	if ((size_t)PQnfields(res) < col0 + mi->ncols)
		return pgorm__session_fail(s, PGORM_ETYPE, "%s: result has %d columns, the model needs %zu",
		                           mi->model->table, PQnfields(res), col0 + mi->ncols);
	dec->pk_mask = 0;
	dec->nkey = dec->nval = 0;
	for (size_t k = 0; k < mi->npk; k++)
		dec->pk_mask |= 1ULL << mi->pk[k];
	for (size_t i = 0; i < mi->ncols; i++) {
		unsigned oid = PQftype(res, (int)(col0 + i));
		pgorm_type t = mi->cols[i].type;
		if (!pgorm__type_accepts(t, oid))
			return pgorm__session_fail(s, PGORM_ETYPE, "%s.%s: the database column has type oid %u (%s), the model says %s",
			                           mi->model->table, mi->cols[i].name, oid,
			                           pgorm_type_name(pgorm__type_from_oid(oid)), pgorm_type_name(t));
		/* enum, custom: the OID of its name on the connection the rows came from */
		if (mi->col_types != NULL && mi->col_types[i] != NULL && s->conn != NULL) {
			unsigned want = 0;
			if (pgorm__conn_type_oid(s->conn, mi->col_types[i], &want, NULL) != 0)
				return pgorm__session_conn_fail(s);
			if (oid != want)
				return pgorm__session_fail(s, PGORM_ETYPE,
				                           "%s.%s: the database column has type oid %u, the model's type %s is oid %u",
				                           mi->model->table, mi->cols[i].name, oid, mi->col_types[i], want);
		}
		uint8_t k = D_GENERIC;
		if (t == PGORM_TYPE_INT8 && oid == PGORM_OID_INT8)
			k = D_INT8;
		else if (t == PGORM_TYPE_INT8 && oid == PGORM_OID_INT4)
			k = D_INT4_INT8;
		else if (t == PGORM_TYPE_INT4 && oid == PGORM_OID_INT4)
			k = D_INT4;
		else if (t == PGORM_TYPE_FLOAT8 && oid == PGORM_OID_FLOAT8)
			k = D_FLOAT8;
		else if (t == PGORM_TYPE_BOOL && oid == PGORM_OID_BOOL)
			k = D_BOOL;
		else if (t == PGORM_TYPE_TEXT && (oid == PGORM_OID_TEXT || oid == PGORM_OID_VARCHAR || oid == PGORM_OID_BPCHAR))
			k = D_TEXT;
		dec->kind[i] = k;
		colplan *p = (dec->pk_mask >> i) & 1 ? &dec->key[dec->nkey++] : &dec->val[dec->nval++];
		*p = (colplan){ k, (uint8_t)i, (int)(col0 + i), mi->cols[i].offset };
	}
	return 0;
}

/* Decode one non-NULL value through the codec (the types without a fast path below). */
static int decode_generic(pgorm_session *s, const pgorm_column *c, void *obj, const PGresult *res, int col,
                          const char *d, size_t len, pgorm__arena *scratch, uint64_t *word, pgorm_error *e)
{
	pgorm_value v;
	int rc = pgorm__codec_decode(c->type, PQftype(res, col), d, len, &v, scratch, e);
	if (rc == 0)
		rc = pgorm__set_col_err(&s->arena, obj, c, &v, e);
	if (rc == 0)
		*word = pgorm__col_word(obj, c);
	return rc;
}

/* Decode the columns of one row in plan (dec->key or dec->val) into obj, taking each
 * column's snapshot word while the value is at hand (the probe has no state: its words go to
 * a scratch slot). NULL is asked of libpq only when the length does not already rule it out:
 * a NULL has length 0, which no fixed-size binary value has. Returns 1 when the first key
 * column is NULL (the empty side of an outer join) and the plan covers it. */
static int decode_cols(pgorm_session *s, pgorm__model_info *mi, pgorm_result *r, size_t row, void *obj,
                       const colplan *plan, size_t np)
{
	const PGresult *res = r->res;
	pgorm__objstate *st = pgorm__st(obj);
	uint64_t scratch_word, nulls = 0, decoded = 0;
	int irow = (int)row, rc = 0;
	for (const colplan *p = plan; p < plan + np; p++) {
		size_t i = p->i;
		uint64_t *word = st != NULL ? &st->snap[i] : &scratch_word;
		char *f = pgorm__field(obj, p->off);
		size_t len = (size_t)PQgetlength(res, irow, p->col);
		decoded |= 1ULL << i;
		if (len == 0 && PQgetisnull(res, irow, p->col)) {
			nulls |= 1ULL << i;
			memset(f, 0, mi->cols[i].size);
			*word = pgorm__col_word(obj, &mi->cols[i]); /* what pgorm__observe computes for these bytes */
			if (st == NULL && i == mi->pk[0])
				return 1;
			continue;
		}
		const char *d = PQgetvalue(res, irow, p->col);
		switch (p->kind) {
		case D_INT8:
			if (len != 8)
				goto malformed;
			*word = pgorm__be64(d);
			memcpy(f, word, 8);
			break;
		case D_INT4_INT8: {
			if (len != 4)
				goto malformed;
			int64_t v = (int32_t)pgorm__be32(d);
			memcpy(f, &v, 8);
			memcpy(word, &v, 8);
			break;
		}
		case D_INT4: {
			if (len != 4)
				goto malformed;
			int32_t v = (int32_t)pgorm__be32(d);
			memcpy(f, &v, 4);
			*word = 0;
			memcpy(word, &v, 4);
			break;
		}
		case D_FLOAT8:
			if (len != 8)
				goto malformed;
			*word = pgorm__be64(d);
			memcpy(f, word, 8);
			break;
		case D_BOOL: {
			if (len != 1)
				goto malformed;
			bool b = d[0] != 0;
			memcpy(f, &b, sizeof b);
			*word = 0;
			memcpy(word, &b, sizeof b);
			break;
		}
		case D_TEXT: {
			/* copied and hashed in one pass (the word pgorm__col_word gives the copy) */
			char *str = pgorm__arena_alloc(&s->arena, len + 1);
			if (str == NULL) {
				rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory loading %s", mi->model->table);
				goto done;
			}
			*word = pgorm__hash_copy(str, d, len);
			memcpy(f, &str, sizeof str);
			break;
		}
		default:
		{
			pgorm_error e;
			const pgorm_column *c = &mi->cols[i];
			rc = decode_generic(s, c, obj, res, p->col, d, len, &r->arena, word, &e);
			if (rc != 0) {
				rc = pgorm__session_fail(s, rc, "%s.%s: cannot decode the value of row %zu: %s", mi->model->table,
				                         c->name, row, e.message);
				goto done;
			}
		}
		}
		continue;
	malformed:
		rc = pgorm__session_fail(s, PGORM_ETYPE, "%s.%s: malformed binary value in row %zu (%zu bytes)",
		                         mi->model->table, mi->cols[i].name, row, len);
		goto done;
	}
done:
	if (st != NULL)
		st->nulls = (st->nulls & ~decoded) | nulls;
	return rc;
}

/* After decoding every column: the key columns copied from the probe get their words. */
static void finish_snapshot(void *obj, const pgorm__model_info *mi, uint64_t cols)
{
	pgorm__objstate *st = pgorm__st(obj);
	for (size_t i = 0; i < mi->ncols; i++)
		if ((cols >> i) & 1)
			st->snap[i] = pgorm__col_word(obj, &mi->cols[i]);
	st->dirty = 0;
}

void *pgorm__probe_from_key_row(pgorm_session *s, pgorm__model_info *mi, pgorm_result *res, size_t row)
{
	memset(s->ld->probe, 0, s->ld->probe_size);
	((pgorm_object *)s->ld->probe)->model = mi->model;
	for (size_t k = 0; k < mi->npk; k++) {
		pgorm_value v;
		if (pgorm_result_get(res, row, k, mi->cols[mi->pk[k]].type, &v, NULL) == 0)
			pgorm__set_col(NULL, s->ld->probe, &mi->cols[mi->pk[k]], mi->pk[k], &v);
	}
	return s->ld->probe;
}

int pgorm__load_rows(pgorm_session *s, pgorm__model_info *mi, pgorm_result *r, size_t col0, bool overwrite,
                     void ***out, size_t *nout)
{
	return pgorm__load_rows_ex(s, mi, r, col0, overwrite, false, out, nout);
}

int pgorm__load_rows_ex(pgorm_session *s, pgorm__model_info *mi, pgorm_result *r, size_t col0, bool overwrite,
                        bool aligned, void ***out, size_t *nout)
{
	rowdec dec;
	int rc = check_result_types(s, mi, r->res, col0, &dec);
	if (rc != 0)
		return rc;
	size_t nrows = (size_t)PQntuples(r->res);
	void **objs = NULL;
	if (out != NULL) {
		*out = NULL;
		*nout = 0;
		objs = pgorm__calloc(nrows ? nrows : 1, sizeof *objs);
		if (objs == NULL)
			return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory loading %zu rows", nrows);
	}
	if (pgorm__imap_reserve(&s->imap, nrows) != 0 || pgorm__session_track_reserve(s, nrows) != 0) {
		pgorm__free(objs);
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory loading %zu rows", nrows);
	}
	size_t n = 0;
	s->result_gen++;
	void *probe = s->ld->probe;
	((pgorm_object *)probe)->model = mi->model;
	((pgorm_object *)probe)->priv = NULL;
	int pkcol = (int)(col0 + mi->pk[0]);
	/* A single int8 key (the common case) is read once, one row ahead: that value starts
	 * fetching the row's identity-map slot while the previous row is decoded (the table is
	 * large and the slots of consecutive rows are far apart); its hash, computed then, serves
	 * the lookup, which compares the key as an integer. */
	bool intkey = mi->npk == 1 && dec.kind[mi->pk[0]] == D_INT8;
	size_t keyoff = mi->cols[mi->pk[0]].offset, objsize = pgorm__object_size(mi);
	int64_t next_key = 0;
	uint64_t next_hash = 0;
	bool next_ok = intkey && nrows > 0 && PQgetlength(r->res, 0, pkcol) == 8;
	if (next_ok) {
		next_key = (int64_t)pgorm__be64(PQgetvalue(r->res, 0, pkcol));
		next_hash = pgorm__imap_prefetch_int(&s->imap, mi, next_key);
	}
	for (size_t row = 0; row < nrows; row++) {
		bool have_key = next_ok;
		int64_t key = next_key;
		uint64_t hash = next_hash;
		if (intkey) {
			next_ok = row + 1 < nrows && PQgetlength(r->res, (int)row + 1, pkcol) == 8;
			if (next_ok) {
				next_key = (int64_t)pgorm__be64(PQgetvalue(r->res, (int)row + 1, pkcol));
				next_hash = pgorm__imap_prefetch_int(&s->imap, mi, next_key);
			}
		}
		if (!have_key) {
			/* the key once, into the probe (a text key is copied into the arena: it stays valid) */
			rc = decode_cols(s, mi, r, row, probe, dec.key, dec.nkey);
			if (rc == 1) { /* the empty side of an outer join */
				rc = 0;
				if (aligned && objs != NULL)
					objs[n++] = NULL;
				continue;
			}
			if (rc != 0)
				break;
		}
		size_t at = 0; /* with have_key, where a miss goes in the map */
		void *obj = have_key ? pgorm__imap_find_int_at(&s->imap, mi, keyoff, key, hash, &at)
		                     : pgorm__imap_find_h(&s->imap, mi, probe, &hash);
		if (obj != NULL) {
			pgorm__objstate *st = pgorm__st(obj);
			if (overwrite || (st->flags & OBJ_EXPIRED)) {
				/* Reloading an expired object keeps the columns written since it expired
				 * (as SQLAlchemy does): they stay dirty against the reloaded snapshot and
				 * reach the database at the next flush. populate-existing and refresh
				 * overwrite everything. */
				uint64_t keep = overwrite ? 0 : pgorm__dirty_cols(obj, mi) & ~dec.pk_mask;
				unsigned char saved[PGORM__MAX_COLS][16];
				uint64_t kept_nulls = st->nulls & keep;
				for (size_t i = 0; i < mi->ncols; i++)
					if ((keep >> i) & 1)
						memcpy(saved[i], pgorm__field(obj, mi->cols[i].offset), mi->cols[i].size);
				if ((rc = decode_cols(s, mi, r, row, obj, dec.val, dec.nval)) != 0)
					break;
				finish_snapshot(obj, mi, dec.pk_mask);
				for (size_t i = 0; i < mi->ncols; i++)
					if ((keep >> i) & 1) {
						memcpy(pgorm__field(obj, mi->cols[i].offset), saved[i], mi->cols[i].size);
						st->snap[i] = pgorm__col_word(obj, &mi->cols[i]);
					}
				st->nulls = (st->nulls & ~keep) | kept_nulls;
				st->dirty = keep;
				st->flags &= (uint8_t)~OBJ_EXPIRED;
			}
			st->result_gen = s->result_gen;
		} else {
			/* pgorm__object_alloc inline (the size computed once per result) */
			void *mem = pgorm__arena_calloc(&s->arena, objsize);
			if (mem == NULL) {
				rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory allocating a %s object", mi->model->table);
				break;
			}
			obj = pgorm__object_init(mem, mi, s, s->mem);
			if (have_key) {
				memcpy(pgorm__field(obj, keyoff), &key, 8);
			} else {
				for (size_t k = 0; k < mi->npk; k++) {
					const pgorm_column *c = &mi->cols[mi->pk[k]];
					memcpy(pgorm__field(obj, c->offset), pgorm__field(probe, c->offset), c->size);
				}
			}
			if ((rc = decode_cols(s, mi, r, row, obj, dec.val, dec.nval)) != 0)
				break;
			pgorm__objstate *st = pgorm__st(obj);
			if (have_key) /* the key's snapshot word is the key (dirty is 0: a new object) */
				st->snap[mi->pk[0]] = (uint64_t)key;
			else
				finish_snapshot(obj, mi, dec.pk_mask);
			st->state = PGORM_STATE_PERSISTENT;
			st->result_gen = s->result_gen;
			st->flags |= OBJ_TRACKED;
			s->tracked[s->ntracked++] = obj; /* reserved above */
			/* nothing went into the map since the lookup: the slot it found is still free */
			rc = have_key ? pgorm__imap_put_at(&s->imap, obj, hash, at) : pgorm__imap_put_h(&s->imap, obj, hash);
			if (rc != 0) {
				rc = pgorm__session_fail(s, rc, "out of memory in the identity map");
				break;
			}
		}
		if (objs != NULL)
			objs[n++] = obj;
	}
	if (rc != 0) {
		pgorm__free(objs);
		return rc;
	}
	if (out != NULL) {
		*out = objs;
		*nout = n;
	}
	return 0;
}

/* ---- relationship loading ---- */

/* Key values of a set of objects, one array parameter per key column (a composite key is
 * matched with unnest of the arrays). Objects with a NULL in the key are left out. */
typedef struct keyset {
	size_t ncols, n;
	pgorm__keyarray col[PGORM__MAX_PK];
	pgorm_value params[PGORM__MAX_PK];
	bool single;            /* one key of one column: "= $1" with a scalar, as hand-written N+1 code */
} keyset;

/* Switch a one-key, one-column set of integers or text to the scalar form (one-to-many and
 * many-to-one loads). */
static void use_single(keyset *k)
{
	if (k->n != 1 || k->ncols != 1 || k->col[0].text != NULL)
		return;
	k->single = true;
	k->params[0] = k->col[0].ints ? PGORM_INT8(k->col[0].ints[0]) : PGORM_TEXT(k->col[0].strs[0]);
}

static void keyset_free(keyset *k)
{
	for (size_t c = 0; c < k->ncols; c++)
		pgorm__keyarray_free(&k->col[c]);
	k->ncols = 0;
}

static int collect_keys(pgorm_session *s, const pgorm__model_info *mi, const size_t *cols, size_t ncols,
                        void **objs, size_t n, keyset *k)
{
	memset(k, 0, sizeof *k);
	uint64_t mask = 0;
	for (size_t c = 0; c < ncols; c++) {
		const pgorm_column *col = &mi->cols[cols[c]];
		mask |= 1ULL << cols[c];
		if (!pgorm__keyarray_supports(col->type))
			return pgorm__session_fail(s, PGORM_EUNSUPPORTED,
			                           "%s.%s: relationship loading needs integer, text or uuid keys",
			                           mi->model->table, col->name);
	}
	void *few[8]; /* a lazy load asks for one key: no allocation */
	void **with = n <= 8 ? few : pgorm__calloc(n, sizeof *with); /* the objects without a NULL in the key */
	if (with == NULL)
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!(pgorm__st(objs[i])->nulls & mask))
			with[m++] = objs[i];
	int rc = 0;
	for (size_t c = 0; c < ncols && rc == 0; c++) {
		if (pgorm__keyarray_build(&k->col[c], &mi->cols[cols[c]], cols[c], with, m) != 0)
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		k->ncols = c + 1;
		k->params[c] = k->col[c].param;
	}
	k->n = m;
	if (with != few)
		pgorm__free(with);
	if (rc != 0)
		keyset_free(k);
	return rc;
}

static const char *array_cast(const keyset *k, size_t c) { return k->col[c].cast; }

/* "t.a = ANY($1::int8[])", or "(t.a, t.b) IN (SELECT * FROM unnest($1::int8[], $2::text[]))". */
static void key_match(pgorm__sb *b, const pgorm__model_info *mi, const size_t *cols, const keyset *k)
{
	if (k->ncols == 1) {
		pgorm__sb_add(b, "t.");
		pgorm__sb_ident(b, mi->cols[cols[0]].name);
		if (k->single)
			pgorm__sb_add(b, " = $1");
		else
			pgorm__sb_addf(b, " = ANY($1%s)", array_cast(k, 0));
		return;
	}
	pgorm__sb_add(b, "(");
	for (size_t c = 0; c < k->ncols; c++) {
		pgorm__sb_add(b, c ? ", t." : "t.");
		pgorm__sb_ident(b, mi->cols[cols[c]].name);
	}
	pgorm__sb_add(b, ") IN (SELECT * FROM unnest(");
	for (size_t c = 0; c < k->ncols; c++)
		pgorm__sb_addf(b, "%s$%zu%s", c ? ", " : "", c + 1, array_cast(k, c));
	pgorm__sb_add(b, "))");
}

static void order_clause(pgorm__sb *b, const pgorm_rel *r)
{
	if (r->order_col < 0)
		return;
	pgorm__sb_add(b, " ORDER BY t.");
	pgorm__sb_ident(b, r->target->cols[r->order_col].name);
	if (r->order_desc)
		pgorm__sb_add(b, " DESC");
}

/* The object of model mi whose columns cols equal src's columns srccols (an identity-map probe
 * when cols is mi's primary key, else a scan of objs). */
static void *find_by_cols(pgorm_session *s, pgorm__model_info *mi, const size_t *cols, size_t ncols,
                          const void *src, const pgorm__model_info *srcmi, const size_t *srccols, void **objs, size_t n)
{
	const pgorm_column *kc = &mi->cols[cols[0]], *sc = &srcmi->cols[srccols[0]];
	if (ncols == 1 && mi->npk == 1 && mi->pk[0] == cols[0] && kc->type == PGORM_TYPE_INT8 &&
	    sc->type == PGORM_TYPE_INT8) {
		/* the common case, a bigint key: looked up as an integer (no probe object) */
		if ((pgorm__st(src)->nulls >> srccols[0]) & 1)
			return NULL;
		int64_t key;
		memcpy(&key, pgorm__field((void *)src, sc->offset), 8);
		return pgorm__imap_find_int(&s->imap, mi, key, pgorm__imap_prefetch_int(&s->imap, mi, key));
	}
	pgorm_value v[PGORM__MAX_PK];
	for (size_t c = 0; c < ncols; c++) {
		pgorm__get_col(src, &srcmi->cols[srccols[c]], srccols[c], &v[c]);
		if (v[c].is_null)
			return NULL;
	}
	bool by_pk = ncols == mi->npk;
	for (size_t c = 0; c < ncols && by_pk; c++)
		by_pk = mi->pk[c] == cols[c];
	if (by_pk) {
		memset(s->ld->probe, 0, s->ld->probe_size);
		((pgorm_object *)s->ld->probe)->model = mi->model;
		for (size_t c = 0; c < ncols; c++)
			if (pgorm__set_col(NULL, s->ld->probe, &mi->cols[cols[c]], cols[c], &v[c]) != 0)
				return NULL;
		return pgorm__imap_find(&s->imap, mi, s->ld->probe);
	}
	for (size_t i = 0; i < n; i++) {
		bool eq = true;
		for (size_t c = 0; c < ncols && eq; c++) {
			pgorm_value w;
			pgorm__get_col(objs[i], &mi->cols[cols[c]], cols[c], &w);
			eq = pgorm__value_equal(&v[c], &w);
		}
		if (eq)
			return objs[i];
	}
	return NULL;
}


/* A relationship load for a set of objects, in two halves so that sibling loads can share
 * one pipeline: prepare builds the statement (or finds there is nothing to ask), apply folds
 * the rows into the objects. */
typedef struct load_job {
	const pgorm_rel *r;
	void **objs;            /* the owners (for many-to-one: those whose target is missing) */
	size_t n;
	bool overwrite;
	bool skip;              /* nothing to send */
	keyset keys;
	pgorm__sb sql;          /* built on the first load of this relationship in the session */
	const char *text;       /* the statement: cached per session and relationship */
} load_job;

/* Loader statements depend only on the relationship (and its key types), so a session builds
 * each once and keeps it until it is destroyed. */
static const char **sql_slot(pgorm_session *s, const pgorm_rel *r, bool single)
{
	/* [loaders][get by PK per model][single-key loaders]: see session.c */
	size_t base = single ? s->reg->nmodels * (PGORM__MAX_RELS + 1) : 0;
	return &s->ld->sql[base + r->owner->index * PGORM__MAX_RELS + r->index];
}

static void job_free(load_job *j)
{
	keyset_free(&j->keys);
	pgorm__sb_free(&j->sql);
	if (j->r->kind == PGORM_REL_MANY_TO_ONE)
		pgorm__free(j->objs);
}

static int prepare_o2m(pgorm_session *s, load_job *j)
{
	const pgorm_rel *r = j->r;
	pgorm__model_info *cm = r->target;
	int rc = collect_keys(s, r->owner, r->ref_cols, r->nfk, j->objs, j->n, &j->keys);
	use_single(&j->keys);
	if (rc != 0 || *sql_slot(s, r, j->keys.single) != NULL)
		return rc;
	pgorm__sb_addf(&j->sql, "SELECT %s FROM %s t WHERE ", cm->select_list, cm->qtable);
	key_match(&j->sql, cm, r->fk_cols, &j->keys);
	order_clause(&j->sql, r);
	return 0;
}

/* One-to-many: distribute the children to their parents. */
static int apply_o2m(pgorm_session *s, load_job *j, pgorm_result *res)
{
	const pgorm_rel *r = j->r;
	pgorm__model_info *pm = r->owner, *cm = r->target;
	void **parents = j->objs;
	size_t n = j->n;
	void **kids = NULL;
	size_t nk = 0;
	int rc = pgorm__load_rows(s, cm, res, 0, j->overwrite, &kids, &nk);
	if (rc != 0)
		return rc;
	const pgorm_rel *m2o = r->partner;
	for (size_t i = 0; i < n; i++) {
		if (r->scalar)
			pgorm__link_put(parents[i], r, NULL);
		else
			pgorm__coll(parents[i], r)->len = 0;
		pgorm__st(parents[i])->flags2 |= OBJ2_LOADING;
	}
	/* First the parent of every child (NULL: skipped), counting per collection, so that each
	 * collection is allocated once at its final size. */
	void **owner = pgorm__calloc(nk ? nk : 1, sizeof *owner);
	if (owner == NULL) {
		pgorm__free(kids);
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nk; i++) {
		/* linked in memory since its row was written, the link wins; else its key names the
		 * parent (a child the session held before keeps its fields, not overwritten: its key
		 * may name a parent its row no longer has, moved by another transaction since). The
		 * child is in a collection only when that parent is one of those loaded here. */
		void *o = (pgorm__st(kids[i])->link_dirty & (1ULL << m2o->index))
		                  ? pgorm__link_get(kids[i], m2o)
		                  : find_by_cols(s, pm, r->ref_cols, r->nfk, kids[i], cm, r->fk_cols, parents, n);
		owner[i] = o != NULL && (pgorm__st(o)->flags2 & OBJ2_LOADING) ? o : NULL;
		if (owner[i] != NULL && !r->scalar)
			pgorm__coll(owner[i], r)->len++;
	}
	for (size_t i = 0; i < n; i++)
		pgorm__st(parents[i])->flags2 &= (uint8_t)~OBJ2_LOADING;
	for (size_t i = 0; i < n && !r->scalar && rc == 0; i++) {
		pgorm_collection *c = pgorm__coll(parents[i], r);
		size_t want = c->len;
		c->len = 0;
		if (want > c->cap) {
			void **items = pgorm__arena_alloc(&s->arena, want * sizeof *items);
			if (items == NULL)
				rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			c->items = items;
			c->cap = items ? want : 0;
		}
	}
	for (size_t i = 0; i < nk && rc == 0; i++) {
		void *kid = kids[i], *parent = owner[i];
		if (parent == NULL)
			continue;
		pgorm__objstate *kst = pgorm__st(kid);
		if (r->scalar) {
			void *prev = pgorm__link_get(parent, r);
			if (prev != NULL && prev != kid) {
				rc = pgorm__session_fail(s, PGORM_EMULTIPLE,
				                         "one-to-one relationship %s.%s: more than one %s row for one %s",
				                         pm->model->table, r->name, cm->model->table, pm->model->table);
				break;
			}
			pgorm__link_put(parent, r, kid);
		} else {
			pgorm_collection *c = pgorm__coll(parent, r);
			c->items[c->len++] = kid; /* sized above */
		}
		pgorm__link_put(kid, m2o, parent);
		kst->loaded |= 1ULL << m2o->index;
	}
	pgorm__free(owner);
	pgorm__free(kids);
	for (size_t i = 0; i < n && rc == 0; i++) {
		pgorm__st(parents[i])->loaded |= 1ULL << r->index;
		if (!r->scalar)
			rc = pgorm__coll_merge_pending(s, parents[i], r);
	}
	return rc;
}

/* Many-to-one: targets by PK from the identity map; a SELECT … = ANY for the rest only. */
static int prepare_m2o(pgorm_session *s, load_job *j)
{
	const pgorm_rel *r = j->r;
	pgorm__model_info *cm = r->owner, *pm = r->target;
	void **missing = pgorm__calloc(j->n ? j->n : 1, sizeof *missing);
	if (missing == NULL)
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	size_t nm = 0;
	for (size_t i = 0; i < j->n; i++) {
		void *o = j->objs[i];
		if (pgorm__st(o)->link_dirty & (1ULL << r->index))
			continue;
		void *t = find_by_cols(s, pm, r->ref_cols, r->nfk, o, cm, r->fk_cols, NULL, 0);
		if (t != NULL && !j->overwrite && !(pgorm__st(t)->flags & OBJ_EXPIRED)) {
			pgorm__link_put(o, r, t);
			pgorm__st(o)->loaded |= 1ULL << r->index;
			s->stats.identity_hits++;
		} else if (!(pgorm__st(o)->nulls & pgorm__fk_mask(r))) {
			missing[nm++] = o;
		} else {
			pgorm__link_put(o, r, NULL);
			pgorm__st(o)->loaded |= 1ULL << r->index;
		}
	}
	j->objs = missing; /* from here on the job owns this list */
	j->n = nm;
	if (nm == 0) {
		j->skip = true;
		return 0;
	}
	int rc = collect_keys(s, cm, r->fk_cols, r->nfk, missing, nm, &j->keys);
	use_single(&j->keys);
	if (rc != 0 || *sql_slot(s, r, j->keys.single) != NULL)
		return rc;
	pgorm__sb_addf(&j->sql, "SELECT %s FROM %s t WHERE ", pm->select_list, pm->qtable);
	key_match(&j->sql, pm, r->ref_cols, &j->keys);
	return 0;
}

static int apply_m2o(pgorm_session *s, load_job *j, pgorm_result *res)
{
	const pgorm_rel *r = j->r;
	pgorm__model_info *cm = r->owner, *pm = r->target;
	void **got = NULL;
	size_t ng = 0;
	int rc = pgorm__load_rows(s, pm, res, 0, j->overwrite, &got, &ng);
	for (size_t i = 0; i < j->n && rc == 0; i++) {
		void *t = find_by_cols(s, pm, r->ref_cols, r->nfk, j->objs[i], cm, r->fk_cols, got, ng);
		pgorm__link_put(j->objs[i], r, t);
		pgorm__st(j->objs[i])->loaded |= 1ULL << r->index;
	}
	pgorm__free(got);
	return rc;
}

/* Many-to-many: SELECT targets JOIN secondary WHERE secondary.local = ANY($1). */
static int prepare_m2m(pgorm_session *s, load_job *j)
{
	const pgorm_rel *r = j->r;
	pgorm__model_info *om = r->owner, *tm = r->target;
	int rc = collect_keys(s, om, om->pk, 1, j->objs, j->n, &j->keys);
	if (rc != 0 || *sql_slot(s, r, false) != NULL)
		return rc;
	pgorm__sb *b = &j->sql;
	pgorm__sb_addf(b, "SELECT %s, a.", tm->select_list);
	pgorm__sb_ident(b, r->sec_local);
	pgorm__sb_addf(b, " FROM %s t JOIN ", tm->qtable);
	pgorm__sb_qualified(b, r->sec_schema, r->sec_table);
	pgorm__sb_add(b, " a ON a.");
	pgorm__sb_ident(b, r->sec_remote);
	pgorm__sb_add(b, " = t.");
	pgorm__sb_ident(b, tm->cols[tm->pk[0]].name);
	pgorm__sb_add(b, " WHERE a.");
	pgorm__sb_ident(b, r->sec_local);
	pgorm__sb_addf(b, " = ANY($1%s)", array_cast(&j->keys, 0));
	order_clause(b, r);
	return 0;
}

static int apply_m2m(pgorm_session *s, load_job *j, pgorm_result *res)
{
	const pgorm_rel *r = j->r;
	pgorm__model_info *om = r->owner, *tm = r->target;
	void **got = NULL;
	size_t ng = 0;
	int rc = pgorm__load_rows(s, tm, res, 0, j->overwrite, &got, &ng);
	for (size_t i = 0; i < j->n; i++)
		pgorm__coll(j->objs[i], r)->len = 0;
	pgorm_type kt = pgorm__is_int_type(om->cols[om->pk[0]].type) ? PGORM_TYPE_INT8 : om->cols[om->pk[0]].type;
	/* rows map 1:1 to got[] (no NULL keys in an inner join) */
	for (size_t i = 0; i < ng && rc == 0; i++) {
		pgorm_value kv;
		if (pgorm_result_get(res, i, tm->ncols, kt, &kv, NULL) != 0)
			continue;
		memset(s->ld->probe, 0, s->ld->probe_size);
		((pgorm_object *)s->ld->probe)->model = om->model;
		if (pgorm__set_col(NULL, s->ld->probe, &om->cols[om->pk[0]], om->pk[0], &kv) != 0)
			continue;
		void *owner = pgorm__imap_find(&s->imap, om, s->ld->probe);
		if (owner != NULL && !pgorm__coll_push(s, pgorm__coll(owner, r), got[i]))
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	pgorm__free(got);
	for (size_t i = 0; i < j->n && rc == 0; i++) {
		pgorm__st(j->objs[i])->loaded |= 1ULL << r->index;
		rc = pgorm__coll_merge_pending(s, j->objs[i], r);
	}
	return rc;
}

static int job_prepare(pgorm_session *s, load_job *j)
{
	pgorm__sb_init(&j->sql);
	j->skip = false;
	j->text = NULL;
	j->keys.ncols = 0; /* the rest of the keys: collect_keys, before anything reads them */
	int rc;
	switch (j->r->kind) {
	case PGORM_REL_ONE_TO_MANY: rc = prepare_o2m(s, j); break;
	case PGORM_REL_MANY_TO_ONE: rc = prepare_m2o(s, j); break;
	case PGORM_REL_MANY_TO_MANY: rc = prepare_m2m(s, j); break;
	default: rc = pgorm__session_fail(s, PGORM_EINVAL, "relationship %s: unresolved kind", j->r->name);
	}
	if (rc == 0 && !j->skip) {
		const char **slot = sql_slot(s, j->r, j->keys.single);
		if (*slot == NULL) {
			const char *built = pgorm__sb_str(&j->sql);
			/* not in the arena: a stream batch may roll the arena back */
			*slot = built ? pgorm__strndup(built, j->sql.len) : NULL;
		}
		j->text = *slot;
		if (j->text == NULL)
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	return rc;
}

static int job_apply(pgorm_session *s, load_job *j, pgorm_result *res)
{
	switch (j->r->kind) {
	case PGORM_REL_ONE_TO_MANY: return apply_o2m(s, j, res);
	case PGORM_REL_MANY_TO_ONE: return apply_m2o(s, j, res);
	default: return apply_m2m(s, j, res);
	}
}

int pgorm__load_selectin_many(pgorm_session *s, const pgorm_rel *const *rels, void ***objs, const size_t *n,
                              size_t nrels, bool overwrite)
{
	/* one or two relationships (a lazy load, a query's selectin options): no allocation */
	enum { FEW = 2 };
	load_job jobs_few[FEW];
	pgorm_stmt stmts_few[FEW];
	pgorm_result *res_few[FEW] = { NULL, NULL };
	size_t which_few[FEW];
	bool few = nrels <= FEW;
	load_job *jobs = few ? jobs_few : pgorm__calloc(nrels, sizeof *jobs);
	pgorm_stmt *stmts = few ? stmts_few : pgorm__calloc(nrels, sizeof *stmts);
	pgorm_result **res = few ? res_few : pgorm__calloc(nrels, sizeof *res);
	size_t *which = few ? which_few : pgorm__calloc(nrels, sizeof *which);
	int rc = 0;
	size_t nj = 0, ns = 0;
	if (!jobs || !stmts || !res || !which) {
		rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nrels && rc == 0; i++) {
		if (n[i] == 0)
			continue;
		load_job *j = &jobs[nj++];
		j->r = rels[i]; /* the other members: job_prepare (not the whole ~1 KB job zeroed per load) */
		j->objs = objs[i];
		j->n = n[i];
		j->overwrite = overwrite;
		rc = job_prepare(s, j);
		if (rc == 0 && !j->skip) {
			stmts[ns] = (pgorm_stmt){ j->text, j->keys.ncols, j->keys.params };
			which[ns++] = nj - 1;
		}
	}
	if (rc == 0 && ns == 1) {
		rc = pgorm__session_exec(s, stmts[0].sql, stmts[0].nparams, stmts[0].params, &res[0]);
	} else if (rc == 0 && ns > 1) {
		rc = pgorm__session_pipeline(s, ns, stmts, res); /* siblings share one round trip */
	}
	for (size_t k = 0; k < ns && rc == 0; k++)
		rc = job_apply(s, &jobs[which[k]], res[k]);
out:
	for (size_t k = 0; res && k < ns; k++)
		pgorm_result_free(res[k]);
	for (size_t k = 0; jobs && k < nj; k++)
		job_free(&jobs[k]);
	if (!few) {
		pgorm__free(jobs);
		pgorm__free(stmts);
		pgorm__free(res);
		pgorm__free(which);
	}
	return rc;
}

int pgorm__load_selectin(pgorm_session *s, const pgorm_rel *r, void **objs, size_t n, bool overwrite)
{
	return pgorm__load_selectin_many(s, &r, &objs, &n, 1, overwrite);
}

/* N+1 detector: lazy loads of one relationship from objects of one query result. */
static int nplus1_check(pgorm_session *s, const pgorm_rel *r, void *obj)
{
	if (s->cfg.nplus1_threshold == 0)
		return 0;
	uint32_t gen = pgorm__st(obj)->result_gen;
	if (gen == 0)
		return 0;
	size_t slot = (r->owner->index * 7 + r->index) % PGORM__MAX_RELS;
	if (s->ld->nplus1_rel[slot] != r || s->ld->nplus1_gen[slot] != gen) {
		s->ld->nplus1_rel[slot] = r;
		s->ld->nplus1_gen[slot] = gen;
		s->ld->nplus1_counts[slot] = 0;
	}
	uint64_t c = ++s->ld->nplus1_counts[slot];
	if (c <= s->cfg.nplus1_threshold)
		return 0;
	if (s->cfg.nplus1_fail)
		return pgorm__session_fail(s, PGORM_ENPLUSONE,
		                           "N+1: %llu lazy loads of %s.%s from one query result; load it with selectin or joined",
		                           (unsigned long long)c, r->owner->model->table, r->name);
	if (c == s->cfg.nplus1_threshold + 1)
		pgorm__session_log(s, PGORM_LOG_WARNING,
		                   "N+1: more than %u lazy loads of %s.%s from one query result; use selectin or joined loading",
		                   s->cfg.nplus1_threshold, r->owner->model->table, r->name);
	return 0;
}

void *pgorm__m2o_in_map(pgorm_session *s, const pgorm_rel *r, void *obj)
{
	if (pgorm__st(obj)->nulls & pgorm__fk_mask(r))
		return NULL;
	return find_by_cols(s, r->target, r->ref_cols, r->nfk, obj, r->owner, r->fk_cols, NULL, 0);
}

int pgorm__load_lazy(pgorm_session *s, const pgorm_rel *r, void *obj)
{
	pgorm__objstate *st = pgorm__st(obj);
	if (r->index < PGORM__MAX_RELS && ((st->noload_mask >> r->index) & 1))
		return 0;
	if (r->index < PGORM__MAX_RELS && ((st->raise_mask >> r->index) & 1)) {
		return pgorm__session_fail(s, PGORM_ERAISE, "%s.%s of this %s object is not loaded and the query said raise",
		                           r->owner->model->table, r->name, r->owner->model->table);
	}
	if (r->loader == PGORM_LOAD_RAISE)
		return pgorm__session_fail(s, PGORM_ERAISE, "%s.%s is not loaded and its loader is raise",
		                           r->owner->model->table, r->name);
	if (r->loader == PGORM_LOAD_NOLOAD)
		return 0;
	/* many-to-one by primary key: the identity map answers without SQL */
	if (r->kind == PGORM_REL_MANY_TO_ONE) {
		/* an expired object's FK fields are stale (C cannot trap the read): its row first */
		if ((st->flags & OBJ_EXPIRED) && st->state == PGORM_STATE_PERSISTENT) {
			int frc = pgorm__refresh_one(s, obj, false); /* keeping the columns written since */
			if (frc != 0)
				return frc;
		}
		if (pgorm__st(obj)->nulls & pgorm__fk_mask(r)) {
			pgorm__link_put(obj, r, NULL);
			pgorm__st(obj)->loaded |= 1ULL << r->index;
			return 0;
		}
		void *t = find_by_cols(s, r->target, r->ref_cols, r->nfk, obj, r->owner, r->fk_cols, NULL, 0);
		if (t != NULL && !(pgorm__st(t)->flags & OBJ_EXPIRED)) {
			pgorm__link_put(obj, r, t);
			pgorm__st(obj)->loaded |= 1ULL << r->index;
			s->stats.identity_hits++;
			return 0;
		}
	}
	int rc = nplus1_check(s, r, obj);
	if (rc != 0)
		return rc;
	if (pgorm__st(obj)->state == PGORM_STATE_PENDING || pgorm__st(obj)->state == PGORM_STATE_TRANSIENT) {
		pgorm__st(obj)->loaded |= 1ULL << r->index; /* nothing in the database yet */
		return 0;
	}
	/* No autoflush here: changes made in memory while the relationship was unloaded are
	 * queued and merged into what the load returns. */
	s->stats.lazy_loads++;
	return pgorm__load_selectin(s, r, &obj, 1, false);
}

int pgorm_rel_load(pgorm_session *s, const pgorm_rel *r, void *obj, void *out)
{
	if (s == NULL)
		return PGORM_EINVAL;
	if (r == NULL || obj == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_load: %s is NULL", r == NULL ? "r" : "obj");
	const pgorm_object *h = obj;
	int rc = 0;
	if (h->priv != NULL && h->priv->state == PGORM_STATE_DETACHED && h->model == r->owner->model) {
		/* SQLAlchemy's DetachedInstanceError: what is loaded can be read, nothing can be loaded */
		if (!((h->priv->loaded >> r->index) & 1))
			return pgorm__session_fail(s, PGORM_ESTATE,
			                           "pgorm_rel_load: %s.%s is not loaded and the %s object is detached (in no "
			                           "session): pgorm_session_add or pgorm_session_merge it first",
			                           r->owner->model->table, r->name, h->model->table);
	} else {
		if ((rc = pgorm__session_check_obj(s, obj, "pgorm_rel_load")) != 0)
			return rc;
		if (h->model != r->owner->model)
			return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_rel_load: %s.%s used on a %s object",
			                           r->owner->model->table, r->name, h->model->table);
		if (!((pgorm__st(obj)->loaded >> r->index) & 1) && (rc = pgorm__load_lazy(s, r, obj)) != 0)
			return rc;
	}
	if (out != NULL) {
		if (r->scalar)
			*(void **)out = pgorm__link_get(obj, r);
		else
			*(pgorm_collection **)out = pgorm__coll(obj, r);
	}
	return 0;
}

/* ---- by primary key ---- */

/* Build "SELECT cols FROM t WHERE pk1 = $1 AND …" into b. */
void pgorm__sql_by_pk(pgorm__sb *b, const pgorm__model_info *mi)
{
	pgorm__sb_add(b, "SELECT ");
	pgorm__sb_add(b, mi->select_list);
	pgorm__sb_add(b, " FROM ");
	pgorm__sb_add(b, mi->qtable);
	pgorm__sb_add(b, " t WHERE ");
	for (size_t i = 0; i < mi->npk; i++) {
		if (i)
			pgorm__sb_add(b, " AND ");
		pgorm__sb_add(b, "t.");
		pgorm__sb_ident(b, mi->cols[mi->pk[i]].name);
		pgorm__sb_add(b, " = ");
		pgorm__sb_param(b, i + 1);
	}
}

/* SELECT the row of obj's primary key and load it (overwrite). */
int pgorm__load_by_pk(pgorm_session *s, pgorm__model_info *mi, const pgorm_value *pk, bool overwrite, void **out)
{
	/* the statement is built once per model and session (slots after the loaders') */
	const char **slot = &s->ld->sql[s->reg->nmodels * PGORM__MAX_RELS + mi->index];
	if (*slot == NULL) {
		pgorm__sb b;
		pgorm__sb_init(&b);
		pgorm__sql_by_pk(&b, mi);
		*slot = pgorm__sb_take(&b);
		if (*slot == NULL)
			return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	pgorm_result *res = NULL;
	int rc = pgorm__session_exec(s, *slot, mi->npk, pk, &res);
	if (rc != 0)
		return rc;
	void **objs = NULL;
	size_t n = 0;
	rc = pgorm__load_rows(s, mi, res, 0, overwrite, &objs, &n);
	pgorm_result_free(res);
	if (rc != 0)
		return rc;
	if (n == 0) {
		pgorm__free(objs);
		*out = NULL;
		return pgorm__session_fail(s, PGORM_ENOTFOUND, "%s: no row with this primary key", mi->model->table);
	}
	*out = objs[0];
	pgorm__free(objs);
	return 0;
}

/* pgorm__get found obj in the identity map (not expired). */
static int get_hit(pgorm_session *s, void *obj, void **out)
{
	s->stats.identity_hits++;
	if (pgorm__st(obj)->state == PGORM_STATE_DELETED)
		return pgorm__session_fail(s, PGORM_ENOTFOUND, "%s: object is marked deleted",
		                           ((pgorm_object *)obj)->model->table);
	*out = obj;
	return 0;
}

int pgorm__get(pgorm_session *s, pgorm__model_info *mi, const pgorm_value *pk, void **out)
{
	const pgorm_model *m = mi->model;
	if (mi->npk == 1 && mi->cols[mi->pk[0]].type == PGORM_TYPE_INT8 && !pk[0].is_null &&
	    pgorm__is_int_type(pk[0].type)) {
		/* a single int8 key: looked up as an integer, no probe object */
		int64_t key = pgorm__value_int(&pk[0]);
		void *obj = pgorm__imap_find_int(&s->imap, mi, key, pgorm__imap_prefetch_int(&s->imap, mi, key));
		if (obj != NULL && !(pgorm__st(obj)->flags & OBJ_EXPIRED))
			return get_hit(s, obj, out);
	}
	void *probe = s->ld->probe;
	memset(probe, 0, s->ld->probe_size);
	((pgorm_object *)probe)->model = m;
	for (size_t i = 0; i < mi->npk; i++) {
		const pgorm_column *c = &mi->cols[mi->pk[i]];
		if (pk[i].is_null)
			return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_get: %s.%s is NULL", m->table, c->name);
		int rc = pgorm__set_col(NULL, probe, c, mi->pk[i], &pk[i]);
		if (rc != 0)
			return pgorm__session_fail(s, rc, "pgorm_session_get: %s.%s expects %s, got %s", m->table, c->name,
			                           pgorm_type_name(c->type), pgorm_type_name(pk[i].type));
	}
	void *obj = pgorm__imap_find(&s->imap, mi, probe);
	if (obj != NULL && !(pgorm__st(obj)->flags & OBJ_EXPIRED))
		return get_hit(s, obj, out);
	/* No autoflush on a miss (as Hibernate's find): a row is found by its key, which pending
	 * changes cannot move, and flushing would scan the whole session on every miss. */
	pgorm_value keys[PGORM__MAX_PK];
	pgorm__pk_values(probe, mi, keys);
	return pgorm__load_by_pk(s, mi, keys, false, out);
}

int pgorm__refresh_one(pgorm_session *s, void *obj, bool overwrite)
{
	pgorm__model_info *mi = pgorm__session_info(s, obj);
	pgorm_value keys[PGORM__MAX_PK];
	pgorm__pk_values(obj, mi, keys);
	void *got = NULL;
	pgorm__st(obj)->flags |= OBJ_EXPIRED;
	int rc = pgorm__load_by_pk(s, mi, keys, overwrite, &got);
	if (rc == PGORM_ENOTFOUND)
		pgorm__detach(s, obj);
	return rc;
}
