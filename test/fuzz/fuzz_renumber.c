/* fuzz_renumber — the $n renumbering of raw SQL fragments (pgorm_query_where), against a
 * reference lexer written after PostgreSQL's scan.l.
 *
 * Input: byte 0 = number of parameters (0..5), byte 1 = number of filters added before the
 * fragment (its parameters then start at $k+1), the rest = the fragment (up to a NUL).
 * The query lives on a session over a connection that never connected: nothing is sent, and
 * the fragment as the query holds it is read from the query itself (query.c is compiled into
 * this target for that).
 * Properties:
 *  - no crash, leak or UB; EINVAL comes with a message;
 *  - a fragment that uses $0 or $n above the count outside strings, comments and quoted
 *    identifiers is refused;
 *  - an accepted fragment comes out as the reference renumbering: text inside '…', E'…'
 *    (backslash escapes), $tag$…$tag$, "…", -- and nested block comments unchanged, a '$' inside
 *    an identifier (t.x$1) unchanged, every parameter $m outside them becomes $(k+m), and a
 *    trailing -- comment is ended by a newline (else it would swallow the query's ")");
 *  - a fragment PostgreSQL accepts with a ")" that closes more than it opened is refused:
 *    "true) OR (true" would leave the query's AND (...);
 *  - a fragment without E-strings, dollar quotes or comments, with balanced parentheses, that
 *    uses only valid parameters is accepted.
 * Fragments PostgreSQL itself rejects (unterminated quote or comment, "1a" or "$1a" junk, a
 * lone '$', a number right before a '$') may be refused or passed on: either is fine. */
#include "fuzz.h"

#include "../../lib/query.c"

#include <ctype.h>
#include <libpq-fe.h>

/* ---- the reference lexer ---- */

enum verdict { V_OK, V_REFUSE, V_DONT_CARE };

typedef struct ref {
	pgorm__sb out;        /* the expected renumbered fragment */
	enum verdict v;
	bool fancy;           /* E-string, dollar quote or comment: a lexer may refuse these */
	bool eol_comment;     /* ends inside a -- comment: a newline must end it */
	long depth;           /* parentheses open outside quotes and comments */
	bool escapes;         /* a ")" closes more than the fragment opened: it would leave the
	                         query's "AND (...)" (e.g. "true) OR (true") */
} ref;

static bool ident_start(unsigned char c) { return isalpha(c) || c == '_' || c >= 0x80; }
static bool ident_cont(unsigned char c) { return ident_start(c) || isdigit(c) || c == '$'; }
static bool dolq_cont(unsigned char c) { return ident_start(c) || isdigit(c); }

static void lex(ref *r, const char *s, size_t nparams, size_t base)
{
	const unsigned char *p = (const unsigned char *)s;
	r->v = V_OK;
	while (*p) {
		const unsigned char *t = p;
		if (p[0] == '-' && p[1] == '-') {
			r->fancy = true;
			while (*p && *p != '\n' && *p != '\r') /* scan.l: non_newline is [^\n\r] */
				p++;
			if (*p == '\0') /* the comment would swallow the ")" the query puts after it */
				r->eol_comment = true;
		} else if (p[0] == '/' && p[1] == '*') {
			r->fancy = true;
			int depth = 0;
			do {
				if (p[0] == '/' && p[1] == '*') { depth++; p += 2; }
				else if (p[0] == '*' && p[1] == '/') { depth--; p += 2; }
				else p++;
			} while (*p && depth > 0);
			if (depth > 0)
				r->v = V_DONT_CARE; /* unterminated */
		} else if (*p == '\'' || ((*p == 'E' || *p == 'e') && p[1] == '\'')) {
			bool esc = *p != '\'';
			if (esc) {
				r->fancy = true;
				p++;
			}
			p++;
			for (;;) {
				if (*p == '\0') { r->v = V_DONT_CARE; break; }
				if (*p == '\\' && esc) {
					p += p[1] ? 2 : 1;
					continue;
				}
				if (*p == '\'') {
					if (p[1] == '\'') { p += 2; continue; }
					p++;
					break;
				}
				p++;
			}
		} else if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '\0') { r->v = V_DONT_CARE; break; }
				if (*p == '"') {
					if (p[1] == '"') { p += 2; continue; }
					p++;
					break;
				}
				p++;
			}
		} else if (*p == '$' && isdigit(p[1])) {
			const unsigned char *d = p + 1;
			unsigned long long m = 0;
			bool big = false;
			while (isdigit(*d)) {
				if (m > 1000000)
					big = true;
				else
					m = m * 10 + (unsigned)(*d - '0');
				d++;
			}
			if (ident_cont(*d)) /* "$1a": junk for PostgreSQL 15+, "$1" "a" before */
				r->v = V_DONT_CARE;
			if (big || m == 0 || m > nparams) {
				if (r->v == V_OK)
					r->v = V_REFUSE;
			} else {
				pgorm__sb_addf(&r->out, "$%zu", base + (size_t)m);
			}
			p = d;
			continue;
		} else if (*p == '$') {
			const unsigned char *e = p + 1;
			while (dolq_cont(*e) && !(isdigit(*e) && e == p + 1))
				e++;
			if (*e == '$') { /* $tag$ … $tag$ */
				r->fancy = true;
				size_t tl = (size_t)(e - p + 1);
				const unsigned char *b = e + 1;
				const unsigned char *end = NULL;
				for (const unsigned char *q = b; *q; q++)
					if (strncmp((const char *)q, (const char *)p, tl) == 0) {
						end = q + tl;
						break;
					}
				if (end == NULL) {
					r->v = V_DONT_CARE;
					p += strlen((const char *)p);
				} else {
					p = end;
				}
			} else { /* a lone '$': an error for PostgreSQL */
				r->v = V_DONT_CARE;
				p++;
			}
		} else if (ident_start(*p)) {
			while (ident_cont(*p))
				p++;
		} else if (isdigit(*p) || (*p == '.' && isdigit(p[1]))) {
			while (isdigit(*p))
				p++;
			if (*p == '.')
				for (p++; isdigit(*p); p++)
					;
			if ((*p == 'e' || *p == 'E') && (isdigit(p[1]) || ((p[1] == '+' || p[1] == '-') && isdigit(p[2]))))
				for (p += 2; isdigit(*p); p++)
					;
			if (ident_start(*p) || *p == '.' || *p == '$')
				r->v = V_DONT_CARE; /* "1a", "1.2.3": trailing junk; "43e12$3": a literal then a
				                       parameter is a syntax error whichever way it is lexed */
		} else {
			if (*p == '(')
				r->depth++;
			else if (*p == ')' && --r->depth < 0)
				r->escapes = true;
			p++;
		}
		pgorm__sb_addn(&r->out, (const char *)t, (size_t)(p - t));
	}
}

/* ---- the target ---- */

typedef struct M {
	pgorm_object hdr;
	int64_t id;
	char *name;
} M;
static const pgorm_column m_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK, M, id),
	PGORM_COLUMN(TEXT, "name", PGORM_NULLABLE, M, name),
	PGORM_COLUMN_END,
};
static const pgorm_model m_model = PGORM_MODEL("m", M, m_cols, NULL);

static pgorm_session *sess;

static void setup(void)
{
	const pgorm_model *models[] = { &m_model };
	pgorm_registry *reg = NULL;
	pgorm_error err;
	FZ_CHECK(pgorm_registry_create(&reg, models, 1, &err) == 0, "registry: %s", err.message);
	/* a connection object that never connects: an unknown option fails before any socket */
	PGconn *pq = PQconnectStart("pgorm_fuzz_no_such_option=1");
	FZ_CHECK(pq != NULL, "PQconnectStart");
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	pgorm_conn *c = NULL;
	FZ_CHECK(pgorm_conn_adopt(&c, pq, &cc, &err) == 0, "adopt: %s", err.message);
	FZ_CHECK(pgorm_session_create(&sess, reg, NULL, c, NULL, &err) == 0, "session: %s", err.message);
	/* kept for the whole run (LeakSanitizer does not count reachable memory) */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (sess == NULL)
		setup();
	if (size < 2)
		return 0;
	size_t nparams = data[0] % 6, nfilters = data[1] % 4;
	char *frag = malloc(size - 1);
	memcpy(frag, data + 2, size - 2);
	frag[size - 2] = '\0';

	pgorm_query *q = NULL;
	FZ_CHECK(pgorm_query_create(&q, sess, &m_model) == 0, "query_create");
	for (size_t i = 0; i < nfilters; i++)
		FZ_CHECK(pgorm_query_filter(q, "id", "=", PGORM_INT8((int64_t)i)) == 0, "filter");
	size_t prefix = q->where.len;
	pgorm_value params[5];
	for (size_t i = 0; i < 5; i++)
		params[i] = PGORM_INT8((int64_t)i);
	int rc = pgorm_query_where(q, frag, nparams, params);

	ref r;
	memset(&r, 0, sizeof r);
	pgorm__sb_init(&r.out);
	lex(&r, frag, nparams, nfilters);
	const char *want = pgorm__sb_str(&r.out);
	bool check = want != NULL;
	bool balanced = r.depth == 0 && !r.escapes;

	if (rc != 0) {
		FZ_CHECK(rc == PGORM_EINVAL && q->err.code == rc && q->err.message[0] != '\0', "where returned %d (%s)", rc,
		         q->err.message);
		if (check)
			FZ_CHECK(r.v != V_OK || r.fancy || !balanced, "plain fragment refused: \"%s\": %s", frag, q->err.message);
	} else if (check) {
		FZ_CHECK(r.v != V_REFUSE, "fragment with an out-of-range parameter accepted: \"%s\"", frag);
		/* (a fragment PostgreSQL rejects anyway cannot escape: the statement fails to parse) */
		FZ_CHECK(!r.escapes || r.v == V_DONT_CARE, "fragment that closes the query's parenthesis accepted: \"%s\"",
		         frag);
		const char *w = pgorm__sb_str(&q->where);
		FZ_CHECK(w != NULL && q->nparams == nfilters + nparams, "parameters: %zu", q->nparams);
		size_t wl = strlen(w);
		FZ_CHECK(wl >= prefix + 7 && strncmp(w + prefix, " AND (", 6) == 0 && w[wl - 1] == ')', "shape: %s", w);
		if (r.v == V_OK) {
			size_t gl = wl - prefix - 7;
			if (r.eol_comment) { /* ended by a newline, before the ")" */
				FZ_CHECK(gl > 0 && w[prefix + 6 + gl - 1] == '\n', "a trailing -- comment swallows the \")\": %s", w);
				gl--;
			}
			FZ_CHECK(gl == strlen(want) && memcmp(w + prefix + 6, want, gl) == 0,
			         "fragment \"%s\" (%zu parameters after %zu) became \"%.*s\", expected \"%s\"", frag, nparams,
			         nfilters, (int)gl, w + prefix + 6, want);
		}
	}
	pgorm__sb_free(&r.out);
	pgorm_query_destroy(q);
	free(frag);
	return 0;
}
