/* bench/raw_libpq.c — the hand-written libpq baseline for pgorm's workloads.
 *
 *   raw_libpq [CONNINFO] [--reps N] [--only KEY] [--nchild N] [--graph-parents P]
 *                                       (CONNINFO defaults to $PGORM_BENCH_DSN, $PGORM_TEST_DSN;
 *                                       the sizes for bench/scaling: see bench_util.h)
 *
 * Expects the data set of bench/schema.sql and leaves it as it found it. Everything uses
 * prepared statements and the binary result format (the fastest way to write it by hand);
 * load_100k_text adds the text format for reference. Workloads (keys of the RESULT lines):
 *   select1          SELECT 1, PQexecPrepared (median of 10k round trips, us)
 *   get_pk           SELECT a child by id into a struct, prepared, binary (median of 10k, us)
 *   load_100k        all 100k children into an array of structs (binary), ms
 *   load_100k_text   the same in text format, ms
 *   graph_nplus1     1000 parents + 1000 prepared child queries, binary, graph with back pointers
 *   graph_any        parents + one `parent_id = ANY($1::int8[])` query (binary array parameter)
 *   graph_join       one LEFT JOIN query ordered by parent
 *   insert_copy_binary / insert_copy_text / insert_multirow / insert_unnest  100k children of
 *                    existing parents, one transaction (child table emptied before each rep);
 *                    insert_unnest sends each 1000-row batch as INSERT … SELECT * FROM unnest(…)
 *                    with one binary array parameter per column. The backend's CPU time per
 *                    variant (from /proc/<pid>/stat, same machine) goes to stderr.
 *   new_graph        1000 new parents (ids from nextval) + 10 children each: COPY + COPY
 *   delete_cascade   1000 parents and their children: SELECT ids, DELETE children = ANY,
 *                    DELETE parents = ANY, one transaction
 *   mem_per_object   malloc bytes per loaded child (struct array + name strings), bytes
 */
#include "bench_util.h"

#include <endian.h>
#include <libpq-fe.h>
#include <malloc.h>
#include <math.h>
#include <stdbool.h>

#define INT8OID 20
#define TEXTOID 25
#define FLOAT8OID 701
#define INT8ARRAYOID 1016
#define TEXTARRAYOID 1009
#define FLOAT8ARRAYOID 1022

enum { LAT_ITERS = 10000, MULTI_ROWS = 1000 };

static const char *only; /* --only KEY: the workloads whose key contains KEY */
static bool want(const char *key) { return only == NULL || strstr(key, only) != NULL; }

static PGconn *conn;
static int reps = 5;

/* ---- helpers ---- */

static void die_res(const char *what, PGresult *r)
{
	bench_fail("%s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
}

static PGresult *expect(PGresult *r, ExecStatusType st, const char *what)
{
	if (r == NULL || PQresultStatus(r) != st)
		die_res(what, r);
	return r;
}

static void exec_ok(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		die_res(sql, r);
	PQclear(r);
}

static long long scalar(const char *sql)
{
	PGresult *r = expect(PQexec(conn, sql), PGRES_TUPLES_OK, sql);
	long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

static void prepare(const char *name, const char *sql, int n, const Oid *types)
{
	PQclear(expect(PQprepare(conn, name, sql, n, types), PGRES_COMMAND_OK, name));
}

static inline int64_t get_i64(const PGresult *r, int row, int col)
{
	uint64_t v;
	memcpy(&v, PQgetvalue(r, row, col), 8);
	return (int64_t)be64toh(v);
}

static inline double get_f64(const PGresult *r, int row, int col)
{
	uint64_t v;
	double d;
	memcpy(&v, PQgetvalue(r, row, col), 8);
	v = be64toh(v);
	memcpy(&d, &v, 8);
	return d;
}

static inline char *get_str(const PGresult *r, int row, int col)
{
	int len = PQgetlength(r, row, col);
	char *s = malloc((size_t)len + 1);
	if (s == NULL)
		bench_fail("out of memory");
	memcpy(s, PQgetvalue(r, row, col), (size_t)len);
	s[len] = 0;
	return s;
}

static inline void put_be64(char *w, int64_t v)
{
	uint64_t b = htobe64((uint64_t)v);
	memcpy(w, &b, 8);
}

static inline void put_be32(char *w, int32_t v)
{
	uint32_t b = htobe32((uint32_t)v);
	memcpy(w, &b, 4);
}

/* Binary int8[] parameter (one dimension, no NULLs). Returns the length; *out is malloc'd. */
static int int8_array(const int64_t *v, int n, char **out)
{
	int len = 20 + n * 12;
	char *b = malloc((size_t)len), *w = b;
	if (b == NULL)
		bench_fail("out of memory");
	put_be32(w, 1), w += 4;        /* ndim */
	put_be32(w, 0), w += 4;        /* no nulls */
	put_be32(w, INT8OID), w += 4;  /* element type */
	put_be32(w, n), w += 4;        /* dimension length */
	put_be32(w, 1), w += 4;        /* lower bound */
	for (int i = 0; i < n; i++) {
		put_be32(w, 8), w += 4;
		put_be64(w, v[i]), w += 8;
	}
	*out = b;
	return len;
}

/* ---- structs and checks ---- */

typedef struct RParent RParent;
typedef struct RChild {
	int64_t id;
	int64_t parent_id;
	char *name;
	double value;
	RParent *parent;
} RChild;

struct RParent {
	int64_t id;
	char *name;
	RChild *children;
	int nchildren, cap;
};

static void check_child(const RChild *c)
{
	char buf[32];
	bench_child_name(buf, sizeof buf, c->id);
	if (c->parent_id != (c->id - 1) / 10 + 1 || strcmp(c->name, buf) != 0 || fabs(c->value * 3.0 - (double)c->id) > 1e-6)
		bench_fail("child %lld has wrong contents", (long long)c->id);
}

static void child_push(RParent *p, const RChild *c)
{
	if (p->nchildren == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->children = realloc(p->children, (size_t)p->cap * sizeof *p->children);
		if (p->children == NULL)
			bench_fail("out of memory");
	}
	p->children[p->nchildren] = *c;
	p->children[p->nchildren].parent = p;
	p->nchildren++;
}

static void free_parents(RParent *ps, int n)
{
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < ps[i].nchildren; j++)
			free(ps[i].children[j].name);
		free(ps[i].children);
		free(ps[i].name);
	}
	free(ps);
}

/* 1000 parents 1..1000 each with children 10(p-1)+1 .. 10p, contents canonical. */
static void check_graph(const RParent *ps, int n)
{
	if (n != bench_graph_parents)
		bench_fail("graph: %d parents", n);
	for (int i = 0; i < n; i++) {
		const RParent *p = &ps[i];
		char buf[32];
		snprintf(buf, sizeof buf, "parent-%lld", (long long)p->id);
		if (p->id != i + 1 || strcmp(p->name, buf) != 0 || p->nchildren != PER_PARENT)
			bench_fail("graph: parent %lld wrong (%d children)", (long long)p->id, p->nchildren);
		int64_t sum = 0;
		for (int j = 0; j < p->nchildren; j++) {
			const RChild *c = &p->children[j];
			if (c->parent != p || c->parent_id != p->id)
				bench_fail("graph: child %lld linked wrongly", (long long)c->id);
			check_child(c);
			sum += c->id;
		}
		if (sum != 100 * p->id - 45)
			bench_fail("graph: parent %lld has the wrong children", (long long)p->id);
	}
}

static void check_counts(long long parents, long long children)
{
	long long p = scalar("SELECT count(*) FROM parent"), c = scalar("SELECT count(*) FROM child");
	if (p != parents || c != children)
		bench_fail("expected %lld parents / %lld children, found %lld / %lld", parents, children, p, c);
}

/* Every child row canonical (after the 100k inserts). */
static void check_children_table(void)
{
	check_counts(bench_nparent, bench_nchild);
	if (scalar("SELECT count(*) FROM child WHERE parent_id <> (id - 1) / 10 + 1 OR name <> 'child-' || id"
	           " OR abs(value * 3 - id) > 1e-6 OR id < 1 OR id > (SELECT count(*) FROM parent) * 10") != 0)
		bench_fail("inserted children differ from the canonical rows");
}

/* ---- workloads ---- */

static void bench_latency(void)
{
	static double t[LAT_ITERS];
	prepare("sel1", "SELECT 1", 0, NULL);
	prepare("get_child", "SELECT id, parent_id, name, value FROM child WHERE id = $1", 1, NULL);
	for (int i = -200; i < LAT_ITERS; i++) {
		double t0 = bench_now();
		PGresult *r = PQexecPrepared(conn, "sel1", 0, NULL, NULL, NULL, 1);
		double t1 = bench_now();
		expect(r, PGRES_TUPLES_OK, "SELECT 1");
		if (PQntuples(r) != 1 || PQgetlength(r, 0, 0) != 4 || PQgetvalue(r, 0, 0)[3] != 1)
			bench_fail("SELECT 1 returned something else");
		PQclear(r);
		if (i >= 0)
			t[i] = (t1 - t0) * 1e6;
	}
	bench_result("select1", "us", t, LAT_ITERS, "PQexecPrepared, binary");

	for (int i = -200; i < LAT_ITERS; i++) {
		int64_t id = i < 0 ? 50000 + i : 1 + (i * 7919) % bench_nchild;
		char pb[8];
		put_be64(pb, id);
		const char *v = pb;
		int len = 8, fmt = 1;
		double t0 = bench_now();
		PGresult *r = PQexecPrepared(conn, "get_child", 1, &v, &len, &fmt, 1);
		expect(r, PGRES_TUPLES_OK, "get_child");
		if (PQntuples(r) != 1)
			bench_fail("get_child %lld: %d rows", (long long)id, PQntuples(r));
		RChild *c = malloc(sizeof *c);
		c->id = get_i64(r, 0, 0);
		c->parent_id = get_i64(r, 0, 1);
		c->name = get_str(r, 0, 2);
		c->value = get_f64(r, 0, 3);
		PQclear(r);
		double t1 = bench_now();
		if (c->id != id)
			bench_fail("get_child: wrong row");
		check_child(c);
		free(c->name);
		free(c);
		if (i >= 0)
			t[i] = (t1 - t0) * 1e6;
	}
	bench_result("get_pk", "us", t, LAT_ITERS, "prepared SELECT by id, binary, into a malloc'd struct");
}

static RChild *load_children(int binary, int *n)
{
	PGresult *r = expect(PQexecParams(conn, "SELECT id, parent_id, name, value FROM child", 0, NULL, NULL, NULL, NULL,
	                                  binary),
	                     PGRES_TUPLES_OK, "load");
	*n = PQntuples(r);
	RChild *cs = malloc((size_t)*n * sizeof *cs);
	if (cs == NULL)
		bench_fail("out of memory");
	for (int i = 0; i < *n; i++) {
		RChild *c = &cs[i];
		if (binary) {
			c->id = get_i64(r, i, 0);
			c->parent_id = get_i64(r, i, 1);
			c->name = get_str(r, i, 2);
			c->value = get_f64(r, i, 3);
		} else {
			c->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
			c->parent_id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
			c->name = get_str(r, i, 2);
			c->value = strtod(PQgetvalue(r, i, 3), NULL);
		}
		c->parent = NULL;
	}
	PQclear(r);
	return cs;
}

static void check_loaded(RChild *cs, int n)
{
	if (n != bench_nchild)
		bench_fail("load: %d rows", n);
	int64_t sum = 0;
	for (int i = 0; i < n; i++) {
		check_child(&cs[i]);
		sum += cs[i].id;
	}
	if (sum != (int64_t)bench_nchild * (bench_nchild + 1) / 2)
		bench_fail("load: wrong set of ids");
}

static void free_children(RChild *cs, int n)
{
	for (int i = 0; i < n; i++)
		free(cs[i].name);
	free(cs);
}

static void bench_load(void)
{
	double t[2][MAXREPS];
	for (int rep = 0; rep < reps; rep++) {
		for (int binary = 1; binary >= 0; binary--) {
			int n;
			double t0 = bench_now();
			RChild *cs = load_children(binary, &n);
			t[binary][rep] = (bench_now() - t0) * 1e3;
			check_loaded(cs, n);
			free_children(cs, n);
		}
	}
	bench_result("load_100k", "ms", t[1], reps, "binary result into an array of structs + malloc'd names");
	bench_result("load_100k_text", "ms", t[0], reps, "text result format");

	/* memory: malloc'd bytes per loaded row after PQclear (array slot + name string) */
	struct mallinfo2 a = mallinfo2();
	int n;
	RChild *cs = load_children(1, &n);
	struct mallinfo2 b = mallinfo2();
	double per = ((double)(b.uordblks + b.hblkhd) - (double)(a.uordblks + a.hblkhd)) / n;
	check_loaded(cs, n);
	free_children(cs, n);
	char note[128];
	snprintf(note, sizeof note, "sizeof(struct) %zu; the rest is the name string + malloc header", sizeof(RChild));
	bench_result1("mem_per_object", "bytes", per, note);
}

/* The first bench_graph_parents parents; the statement is prepared at first use (the graph and
 * the delete workloads both use it, --only may run either alone). */
static RParent *load_parents(int *np)
{
	static bool prepared;
	if (!prepared) {
		prepare("parents", "SELECT id, name FROM parent WHERE id <= $1 ORDER BY id", 1, NULL);
		prepared = true;
	}
	char lim[8];
	put_be64(lim, bench_graph_parents);
	const char *v = lim;
	int len = 8, fmt = 1;
	PGresult *r = expect(PQexecPrepared(conn, "parents", 1, &v, &len, &fmt, 1), PGRES_TUPLES_OK, "parents");
	int n = PQntuples(r);
	RParent *ps = calloc((size_t)n, sizeof *ps);
	for (int i = 0; i < n; i++) {
		ps[i].id = get_i64(r, i, 0);
		ps[i].name = get_str(r, i, 1);
	}
	PQclear(r);
	*np = n;
	return ps;
}

static void child_from_row(const PGresult *r, int row, int c0, RChild *c)
{
	c->id = get_i64(r, row, c0);
	c->parent_id = get_i64(r, row, c0 + 1);
	c->name = get_str(r, row, c0 + 2);
	c->value = get_f64(r, row, c0 + 3);
}

static int cmp_parent(const void *key, const void *elem)
{
	int64_t k = *(const int64_t *)key, e = ((const RParent *)elem)->id;
	return (k > e) - (k < e);
}

static void bench_graph(void)
{
	double t[3][MAXREPS];
	prepare("children_of", "SELECT id, parent_id, name, value FROM child WHERE parent_id = $1", 1, NULL);
	prepare("children_any", "SELECT id, parent_id, name, value FROM child WHERE parent_id = ANY($1::int8[])", 1, NULL);
	prepare("join",
	        "SELECT p.id, p.name, c.id, c.parent_id, c.name, c.value FROM parent p"
	        " LEFT JOIN child c ON c.parent_id = p.id WHERE p.id <= $1 ORDER BY p.id",
	        1, NULL);
	for (int rep = 0; rep < reps; rep++) {
		/* N+1 */
		double t0 = bench_now();
		int np;
		RParent *ps;
		if (want("graph_nplus1")) {
			ps = load_parents(&np);
			for (int i = 0; i < np; i++) {
				char pb[8];
				put_be64(pb, ps[i].id);
				const char *v = pb;
				int len = 8, fmt = 1;
				PGresult *r = expect(PQexecPrepared(conn, "children_of", 1, &v, &len, &fmt, 1), PGRES_TUPLES_OK,
				                     "children_of");
				for (int k = 0, n = PQntuples(r); k < n; k++) {
					RChild c;
					child_from_row(r, k, 0, &c);
					child_push(&ps[i], &c);
				}
				PQclear(r);
			}
			t[0][rep] = (bench_now() - t0) * 1e3;
			check_graph(ps, np);
			free_parents(ps, np);
		}

		/* two queries, = ANY($1) */
		if (want("graph_any")) {
			t0 = bench_now();
			ps = load_parents(&np);
			int64_t *ids = malloc((size_t)np * sizeof *ids);
			for (int i = 0; i < np; i++)
				ids[i] = ps[i].id;
			char *arr;
			int len = int8_array(ids, np, &arr), fmt = 1;
			const char *v = arr;
			PGresult *r = expect(PQexecPrepared(conn, "children_any", 1, &v, &len, &fmt, 1), PGRES_TUPLES_OK,
			                     "children_any");
			free(arr);
			free(ids);
			for (int k = 0, n = PQntuples(r); k < n; k++) {
				RChild c;
				child_from_row(r, k, 0, &c);
				RParent *p = bsearch(&c.parent_id, ps, (size_t)np, sizeof *ps, cmp_parent);
				if (p == NULL)
					bench_fail("children_any: unknown parent");
				child_push(p, &c);
			}
			PQclear(r);
			t[1][rep] = (bench_now() - t0) * 1e3;
			check_graph(ps, np);
			free_parents(ps, np);
		}

		/* one LEFT JOIN */
		if (want("graph_join")) {
			t0 = bench_now();
			char lim[8];
			put_be64(lim, bench_graph_parents);
			int fmt = 1;
			const char *v = lim;
			int len = 8;
			PGresult *r = expect(PQexecPrepared(conn, "join", 1, &v, &len, &fmt, 1), PGRES_TUPLES_OK, "join");
			int n = PQntuples(r), cap = (int)bench_graph_parents + 1;
			np = 0;
			ps = calloc((size_t)cap, sizeof *ps);
			for (int k = 0; k < n; k++) {
				int64_t pid = get_i64(r, k, 0);
				if (np == 0 || ps[np - 1].id != pid) {
					if (np == cap)
						bench_fail("join: more parents than expected");
					ps[np].id = pid;
					ps[np].name = get_str(r, k, 1);
					np++;
				}
				if (!PQgetisnull(r, k, 2)) {
					RChild c;
					child_from_row(r, k, 2, &c);
					child_push(&ps[np - 1], &c);
				}
			}
			PQclear(r);
			t[2][rep] = (bench_now() - t0) * 1e3;
			check_graph(ps, np);
			free_parents(ps, np);
		}
	}
	if (want("graph_nplus1"))
		bench_result("graph_nplus1", "ms", t[0], reps, "1 + 1000 prepared queries, binary");
	if (want("graph_any"))
		bench_result("graph_any", "ms", t[1], reps, "2 queries, parent_id = ANY($1::int8[]) binary");
	if (want("graph_join"))
		bench_result("graph_join", "ms", t[2], reps, "1 LEFT JOIN query, binary");
}

/* ---- inserts ---- */

typedef struct copybuf {
	char *b;
	size_t len, cap;
} copybuf;

static void cb_flush(copybuf *cb, bool force)
{
	if (cb->len > 0 && (force || cb->len >= 60 * 1024)) {
		if (PQputCopyData(conn, cb->b, (int)cb->len) != 1)
			bench_fail("PQputCopyData: %s", PQerrorMessage(conn));
		cb->len = 0;
	}
}

static char *cb_room(copybuf *cb, size_t need)
{
	if (cb->len + need > cb->cap)
		bench_fail("copy buffer too small");
	return cb->b + cb->len;
}

static void copy_start(const char *sql)
{
	PQclear(expect(PQexec(conn, sql), PGRES_COPY_IN, sql));
}

static void copy_end(void)
{
	if (PQputCopyEnd(conn, NULL) != 1)
		bench_fail("PQputCopyEnd: %s", PQerrorMessage(conn));
	PGresult *r;
	PQclear(expect(PQgetResult(conn), PGRES_COMMAND_OK, "COPY"));
	while ((r = PQgetResult(conn)) != NULL)
		PQclear(r);
}

static const char copy_hdr[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

/* One binary COPY row of child (id or default, parent_id, name, value). */
static void copy_child_bin(copybuf *cb, bool with_id, int64_t id, int64_t parent_id, const char *name, int nl,
                           double value)
{
	char *w = cb_room(cb, 64), *w0 = w;
	uint16_t nf = htobe16(with_id ? 4 : 3);
	memcpy(w, &nf, 2), w += 2;
	if (with_id) {
		put_be32(w, 8), w += 4;
		put_be64(w, id), w += 8;
	}
	put_be32(w, 8), w += 4;
	put_be64(w, parent_id), w += 8;
	put_be32(w, nl), w += 4;
	memcpy(w, name, (size_t)nl), w += nl;
	int64_t d;
	memcpy(&d, &value, 8);
	put_be32(w, 8), w += 4;
	put_be64(w, d), w += 8;
	cb->len += (size_t)(w - w0);
	cb_flush(cb, false);
}

static void ins_copy(bool binary)
{
	copybuf cb = { malloc(64 * 1024 + 256), 0, 64 * 1024 + 256 };
	exec_ok("BEGIN");
	if (binary) {
		copy_start("COPY child (id, parent_id, name, value) FROM STDIN (FORMAT binary)");
		memcpy(cb.b, copy_hdr, 19);
		cb.len = 19;
	} else {
		copy_start("COPY child (id, parent_id, name, value) FROM STDIN");
	}
	for (int64_t id = 1; id <= bench_nchild; id++) {
		if (binary) {
			char name[32];
			int nl = bench_child_name(name, sizeof name, id);
			copy_child_bin(&cb, true, id, (id - 1) / 10 + 1, name, nl, (double)id / 3.0);
		} else {
			cb.len += (size_t)sprintf(cb_room(&cb, 96), "%lld\t%lld\tchild-%lld\t%.17g\n", (long long)id,
			                          (long long)((id - 1) / 10 + 1), (long long)id, (double)id / 3.0);
			cb_flush(&cb, false);
		}
	}
	if (binary) {
		memcpy(cb_room(&cb, 2), "\xff\xff", 2);
		cb.len += 2;
	}
	cb_flush(&cb, true);
	copy_end();
	exec_ok("COMMIT");
	free(cb.b);
}

static void ins_multirow(void)
{
	static char bufs[MULTI_ROWS][4][8];
	static char names[MULTI_ROWS][32];
	static const char *v[MULTI_ROWS * 4];
	static int lens[MULTI_ROWS * 4], fmts[MULTI_ROWS * 4];
	exec_ok("BEGIN");
	for (int64_t base = 0; base < bench_nchild; base += MULTI_ROWS) {
		for (int r = 0; r < MULTI_ROWS; r++) {
			int64_t id = base + r + 1;
			double val = (double)id / 3.0;
			int64_t d;
			memcpy(&d, &val, 8);
			put_be64(bufs[r][0], id);
			put_be64(bufs[r][1], (id - 1) / 10 + 1);
			put_be64(bufs[r][3], d);
			int nl = bench_child_name(names[r], sizeof names[r], id);
			for (int k = 0; k < 4; k++) {
				v[r * 4 + k] = k == 2 ? names[r] : bufs[r][k];
				lens[r * 4 + k] = k == 2 ? nl : 8;
				fmts[r * 4 + k] = 1;
			}
		}
		PGresult *r = PQexecPrepared(conn, "insmulti", MULTI_ROWS * 4, v, lens, fmts, 0);
		PQclear(expect(r, PGRES_COMMAND_OK, "insmulti"));
	}
	exec_ok("COMMIT");
}

/* Binary one-dimensional array header (no NULLs) of n elements of type elem; returns its end. */
static char *array_hdr(char *w, Oid elem, int n)
{
	put_be32(w, 1), w += 4;              /* ndim */
	put_be32(w, 0), w += 4;              /* no nulls */
	put_be32(w, (int32_t)elem), w += 4;  /* element type */
	put_be32(w, n), w += 4;              /* dimension length */
	put_be32(w, 1), w += 4;              /* lower bound */
	return w;
}

/* The same batches as ins_multirow, each one INSERT … SELECT * FROM unnest($1..$4) with four
 * binary array parameters (int8[], int8[], text[], float8[]). */
static void ins_unnest(void)
{
	enum { FIX = 20 + MULTI_ROWS * 12 };
	static char a_id[FIX], a_pid[FIX], a_val[FIX], a_name[20 + MULTI_ROWS * (4 + 32)];
	exec_ok("BEGIN");
	for (int64_t base = 0; base < bench_nchild; base += MULTI_ROWS) {
		int n = (int)(bench_nchild - base < MULTI_ROWS ? bench_nchild - base : MULTI_ROWS);
		char *wi = array_hdr(a_id, INT8OID, n), *wp = array_hdr(a_pid, INT8OID, n);
		char *wn = array_hdr(a_name, TEXTOID, n), *wv = array_hdr(a_val, FLOAT8OID, n);
		for (int r = 0; r < n; r++) {
			int64_t id = base + r + 1;
			double val = (double)id / 3.0;
			int64_t d;
			memcpy(&d, &val, 8);
			put_be32(wi, 8), put_be64(wi + 4, id), wi += 12;
			put_be32(wp, 8), put_be64(wp + 4, (id - 1) / 10 + 1), wp += 12;
			put_be32(wv, 8), put_be64(wv + 4, d), wv += 12;
			int nl = bench_child_name(wn + 4, 32, id);
			put_be32(wn, nl), wn += 4 + nl;
		}
		const char *v[4] = { a_id, a_pid, a_name, a_val };
		int lens[4] = { (int)(wi - a_id), (int)(wp - a_pid), (int)(wn - a_name), (int)(wv - a_val) };
		static const int fmts[4] = { 1, 1, 1, 1 };
		PGresult *r = PQexecPrepared(conn, "insunnest", 4, v, lens, fmts, 0);
		PQclear(expect(r, PGRES_COMMAND_OK, "insunnest"));
	}
	exec_ok("COMMIT");
}

/* CPU time of this connection's backend so far (/proc/<pid>/schedstat, ns), ms; -1 if /proc
 * cannot tell (the server on another machine). */
static double backend_cpu_ms(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/schedstat", PQbackendPID(conn));
	FILE *f = fopen(path, "r");
	unsigned long long ns;
	int ok = f != NULL && fscanf(f, "%llu", &ns) == 1;
	if (f != NULL)
		fclose(f);
	return ok ? (double)ns / 1e6 : -1;
}

static void bench_insert(void)
{
	enum { M_COPYBIN, M_COPYTEXT, M_MULTI, M_UNNEST, NM };
	static const char *const key[NM] = { "insert_copy_binary", "insert_copy_text", "insert_multirow",
		                                 "insert_unnest" };
	double t[NM][MAXREPS], cpu[NM][MAXREPS];
	{
		static Oid types[MULTI_ROWS * 4];
		static const Oid row[4] = { INT8OID, INT8OID, TEXTOID, FLOAT8OID };
		size_t cap = MULTI_ROWS * 48 + 128, k = 0;
		char *sql = malloc(cap);
		k += (size_t)snprintf(sql + k, cap - k, "INSERT INTO child (id, parent_id, name, value) VALUES ");
		for (int r = 0; r < MULTI_ROWS; r++) {
			k += (size_t)snprintf(sql + k, cap - k, "%s($%d, $%d, $%d, $%d)", r ? ", " : "", 4 * r + 1, 4 * r + 2,
			                      4 * r + 3, 4 * r + 4);
			memcpy(&types[4 * r], row, sizeof row);
		}
		prepare("insmulti", sql, MULTI_ROWS * 4, types);
		free(sql);
		static const Oid atypes[4] = { INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID };
		prepare("insunnest",
		        "INSERT INTO child (id, parent_id, name, value)"
		        " SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::float8[])",
		        4, atypes);
	}
	for (int rep = 0; rep < reps; rep++) {
		for (int m = 0; m < NM; m++) {
			if (!want(key[m]))
				continue;
			exec_ok("TRUNCATE child");
			double c0 = backend_cpu_ms(), t0 = bench_now();
			if (m == M_MULTI)
				ins_multirow();
			else if (m == M_UNNEST)
				ins_unnest();
			else
				ins_copy(m == M_COPYBIN);
			t[m][rep] = (bench_now() - t0) * 1e3;
			cpu[m][rep] = backend_cpu_ms() - c0;
			check_children_table();
		}
	}
	exec_ok("VACUUM ANALYZE child");
	static const char *const note[NM] = { "COPY FROM STDIN binary, one transaction", "COPY FROM STDIN text",
		                                  "prepared 1000-row INSERT, binary params",
		                                  "prepared INSERT SELECT unnest of 4 binary arrays, 1000 rows each" };
	for (int m = 0; m < NM; m++)
		if (want(key[m])) {
			bench_result(key[m], "ms", t[m], reps, note[m]);
			fprintf(stderr, "    server CPU (backend, schedstat) median %.1f ms\n", bench_median(cpu[m], reps));
		}
}

/* 1000 new parents with ids from the sequence, 10 children each (ids from the column default). */
static void bench_new_graph(void)
{
	double t[MAXREPS];
	prepare("next_parent_ids", "SELECT nextval('parent_id_seq') FROM generate_series(1, $1::int8)", 1, NULL);
	for (int rep = 0; rep < reps; rep++) {
		double t0 = bench_now();
		exec_ok("BEGIN");
		char nb[8];
		put_be64(nb, bench_graph_parents);
		const char *v = nb;
		int len = 8, fmt = 1;
		PGresult *r = expect(PQexecPrepared(conn, "next_parent_ids", 1, &v, &len, &fmt, 1), PGRES_TUPLES_OK, "nextval");
		if (PQntuples(r) != bench_graph_parents)
			bench_fail("nextval: %d rows", PQntuples(r));
		int64_t *ids = malloc(bench_graph_parents * sizeof *ids);
		for (int i = 0; i < bench_graph_parents; i++)
			ids[i] = get_i64(r, i, 0);
		PQclear(r);
		copybuf cb = { malloc(64 * 1024 + 256), 0, 64 * 1024 + 256 };
		copy_start("COPY parent (id, name) FROM STDIN (FORMAT binary)");
		memcpy(cb.b, copy_hdr, 19);
		cb.len = 19;
		for (int i = 0; i < bench_graph_parents; i++) {
			char name[32];
			int nl = snprintf(name, sizeof name, "new-parent-%d", i);
			char *w = cb_room(&cb, 64), *w0 = w;
			uint16_t nf = htobe16(2);
			memcpy(w, &nf, 2), w += 2;
			put_be32(w, 8), w += 4;
			put_be64(w, ids[i]), w += 8;
			put_be32(w, nl), w += 4;
			memcpy(w, name, (size_t)nl), w += nl;
			cb.len += (size_t)(w - w0);
			cb_flush(&cb, false);
		}
		memcpy(cb_room(&cb, 2), "\xff\xff", 2);
		cb.len += 2;
		cb_flush(&cb, true);
		copy_end();
		copy_start("COPY child (parent_id, name, value) FROM STDIN (FORMAT binary)");
		memcpy(cb.b, copy_hdr, 19);
		cb.len = 19;
		for (int i = 0; i < bench_graph_parents; i++)
			for (int j = 0; j < PER_PARENT; j++) {
				char name[32];
				int nl = snprintf(name, sizeof name, "new-child-%d-%d", i, j);
				copy_child_bin(&cb, false, 0, ids[i], name, nl, (double)j);
			}
		memcpy(cb_room(&cb, 2), "\xff\xff", 2);
		cb.len += 2;
		cb_flush(&cb, true);
		copy_end();
		exec_ok("COMMIT");
		t[rep] = (bench_now() - t0) * 1e3;
		free(cb.b);
		free(ids);
		check_counts(bench_nparent + bench_graph_parents, bench_nchild + bench_graph_parents * PER_PARENT);
		if (scalar("SELECT count(*) FROM child c JOIN parent p ON p.id = c.parent_id WHERE p.id > 10000"
		           " AND c.name LIKE 'new-child-' || substr(p.name, 12) || '-%'") != bench_graph_parents * PER_PARENT)
			bench_fail("new graph: children not attached to their parents");
		exec_ok("DELETE FROM child WHERE parent_id > 10000");
		exec_ok("DELETE FROM parent WHERE id > 10000");
	}
	bench_result("new_graph", "ms", t, reps, "nextval for parent ids, COPY parents + COPY children (binary)");
}

static void restore_deleted(void)
{
	exec_ok("INSERT INTO parent SELECT g, 'parent-' || g FROM generate_series(1, 1000) g");
	exec_ok("INSERT INTO child SELECT g, (g - 1) / 10 + 1, 'child-' || g, g / 3.0::float8 FROM generate_series(1, 10000) g");
}

static void bench_delete(void)
{
	double t[MAXREPS];
	prepare("del_children", "DELETE FROM child WHERE parent_id = ANY($1::int8[])", 1, NULL);
	prepare("del_parents", "DELETE FROM parent WHERE id = ANY($1::int8[])", 1, NULL);
	for (int rep = 0; rep < reps; rep++) {
		double t0 = bench_now();
		exec_ok("BEGIN");
		int np;
		RParent *ps = load_parents(&np);
		int64_t *ids = malloc((size_t)np * sizeof *ids);
		for (int i = 0; i < np; i++)
			ids[i] = ps[i].id;
		char *arr;
		int len = int8_array(ids, np, &arr), fmt = 1;
		const char *v = arr;
		PGresult *r = expect(PQexecPrepared(conn, "del_children", 1, &v, &len, &fmt, 1), PGRES_COMMAND_OK, "del_children");
		long nc = atol(PQcmdTuples(r));
		PQclear(r);
		r = expect(PQexecPrepared(conn, "del_parents", 1, &v, &len, &fmt, 1), PGRES_COMMAND_OK, "del_parents");
		long npd = atol(PQcmdTuples(r));
		PQclear(r);
		exec_ok("COMMIT");
		t[rep] = (bench_now() - t0) * 1e3;
		free(arr);
		free(ids);
		free_parents(ps, np);
		if (nc != bench_graph_parents * PER_PARENT || npd != bench_graph_parents)
			bench_fail("delete: %ld children, %ld parents", nc, npd);
		check_counts(bench_nparent - bench_graph_parents, bench_nchild - bench_graph_parents * PER_PARENT);
		if (scalar("SELECT count(*) FROM child WHERE parent_id <= 1000") != 0)
			bench_fail("delete: children left");
		restore_deleted();
	}
	check_counts(bench_nparent, bench_nchild);
	exec_ok("VACUUM ANALYZE parent");
	exec_ok("VACUUM ANALYZE child");
	bench_result("delete_cascade", "ms", t, reps,
	             "SELECT 1000 parent ids, DELETE children = ANY, DELETE parents = ANY, one transaction");
}

int main(int argc, char **argv)
{
	const char *ci = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!bench_size_arg(argc, argv, &i))
			ci = argv[i];
	}
	if (ci == NULL)
		ci = getenv("PGORM_BENCH_DSN");
	if (ci == NULL)
		ci = getenv("PGORM_TEST_DSN");
	if (ci == NULL)
		bench_fail("usage: raw_libpq CONNINFO [--reps N]  (or set PGORM_BENCH_DSN)");
	if (reps < 1 || reps > MAXREPS)
		bench_fail("--reps must be 1..%d", MAXREPS);
	if (bench_nchild != 100000 && (want("new_graph") || want("delete_cascade") || want("get_pk")))
		bench_fail("new_graph, delete_cascade and get_pk need the canonical sizes: use --only");
	conn = PQconnectdb(ci);
	if (PQstatus(conn) != CONNECTION_OK)
		bench_fail("connect: %s", PQerrorMessage(conn));
	printf("# raw libpq %d, server %d, reps %d\n", PQlibVersion(), PQserverVersion(conn), reps);
	check_counts(bench_nparent, bench_nchild);
	if (want("select1") || want("get_pk"))
		bench_latency();
	if (want("load_100k") || want("mem_per_object"))
		bench_load();
	if (want("graph_nplus1") || want("graph_any") || want("graph_join"))
		bench_graph();
	if (want("insert_copy_binary") || want("insert_copy_text") || want("insert_multirow") || want("insert_unnest"))
		bench_insert();
	if (want("new_graph"))
		bench_new_graph();
	if (want("delete_cascade"))
		bench_delete();
	check_counts(bench_nparent, bench_nchild);
	PQfinish(conn);
	return 0;
}
