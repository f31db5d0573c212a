/* lib/exec.c — one libpq connection: binary parameterized execution through a statement
 * cache, pipeline batches, transactions, and errors with their SQLSTATE. */
#include "exec.h"
#include "wait.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ---- errors ---- */

/* libpq messages end in a newline; keep the first line only. */
static void copy_line(char *dst, size_t n, const char *src)
{
	pgorm__strlcpy(dst, src, n);
	char *nl = strchr(dst, '\n');
	if (nl != NULL)
		*nl = '\0';
}

int pgorm__error_from_pq(pgorm_error *e, PGconn *pq, const PGresult *res, const char *sql)
{
	pgorm_error tmp;
	if (e == NULL)
		e = &tmp;
	pgorm_error_clear(e);
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (st != NULL) {
		pgorm__strlcpy(e->sqlstate, st, sizeof e->sqlstate);
		pgorm__strlcpy(e->severity, PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED), sizeof e->severity);
		pgorm__strlcpy(e->message, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), sizeof e->message);
		pgorm__strlcpy(e->detail, PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL), sizeof e->detail);
		pgorm__strlcpy(e->hint, PQresultErrorField(res, PG_DIAG_MESSAGE_HINT), sizeof e->hint);
		pgorm__strlcpy(e->constraint, PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME), sizeof e->constraint);
		pgorm__strlcpy(e->table, PQresultErrorField(res, PG_DIAG_TABLE_NAME), sizeof e->table);
		pgorm__strlcpy(e->column, PQresultErrorField(res, PG_DIAG_COLUMN_NAME), sizeof e->column);
		e->code = pgorm__sqlstate_code(e->sqlstate);
	} else {
		const char *m = res ? PQresultErrorMessage(res) : "";
		if (m == NULL || *m == '\0')
			m = pq ? PQerrorMessage(pq) : "no connection";
		copy_line(e->message, sizeof e->message, m && *m ? m : "connection lost");
		e->code = PGORM_ECONN;
	}
	if (pq != NULL && PQstatus(pq) == CONNECTION_BAD)
		e->code = PGORM_ECONN;
	if (sql != NULL)
		pgorm__strlcpy(e->statement, sql, sizeof e->statement);
	return e->code;
}

/* ---- lifecycle ---- */

int pgorm__conn_config_check(const pgorm_conn_config *cfg, pgorm_error *err)
{
	if ((unsigned)cfg->stmt_mode > PGORM_STMT_UNNAMED)
		return pgorm__error_set(err, PGORM_EINVAL, "unknown stmt_mode %d", (int)cfg->stmt_mode);
	if (cfg->stmt_cache_size > PGORM_STMT_CACHE_MAX)
		return pgorm__error_set(err, PGORM_EINVAL, "stmt_cache_size %zu is above the limit (%d)",
		                        cfg->stmt_cache_size, PGORM_STMT_CACHE_MAX);
	return 0;
}

static int conn_init(pgorm_conn *c, const pgorm_conn_config *cfg, pgorm_error *err)
{
	c->cfg = *cfg;
	if (c->cfg.stmt_cache_size == 0)
		c->cfg.stmt_cache_size = 256;
	if (c->cfg.max_value_size == 0)
		c->cfg.max_value_size = (size_t)64 << 20;
	c->conninfo = pgorm__strdup(cfg->conninfo ? cfg->conninfo : "");
	c->cfg.conninfo = c->conninfo;
	c->pid = getpid();
	pgorm_error_clear(&c->err);
	if (c->conninfo == NULL || pgorm__stmt_cache_init(&c->cache, c->cfg.stmt_cache_size) != 0)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory creating a connection");
	return 0;
}

static void types_free(struct pgorm__types *t);

/* Free what c owns, not c itself. */
static void conn_free_members(pgorm_conn *c)
{
	types_free(c->types);
	c->types = NULL;
	pgorm__stmt_cache_finish(&c->cache);
	pgorm__params_free(&c->params);
	pgorm__free(c->conninfo);
}

static void conn_free(pgorm_conn *c)
{
	conn_free_members(c);
	pgorm__free(c);
}

void pgorm__conn_finish(pgorm_conn *c)
{
	PQfinish(c->pq);
	c->pq = NULL;
	conn_free_members(c);
}

void pgorm__conn_move(pgorm_conn *dst, const pgorm_conn *src)
{
	/* everything but the last error (1.2 KB of the 1.6 KB, left as it is in dst) */
	size_t e = offsetof(pgorm_conn, err), after = e + sizeof src->err;
	memcpy(dst, src, e);
	memcpy((char *)dst + after, (const char *)src + after, sizeof *dst - after);
}

/* Server notices (NOTICE, WARNING) are not errors: a library never prints them. */
static void quiet_notices(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int pgorm_conn_adopt(pgorm_conn **out, PGconn *pq, const pgorm_conn_config *cfg, pgorm_error *err)
{
	if (out == NULL || pq == NULL || cfg == NULL)
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_conn_adopt: NULL argument");
	*out = NULL;
	int rc = pgorm__conn_config_check(cfg, err);
	if (rc != 0)
		return rc;
	pgorm_conn *c = pgorm__calloc(1, sizeof *c);
	if (c == NULL)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory creating a connection");
	if ((rc = conn_init(c, cfg, err)) != 0) {
		conn_free(c);
		return rc;
	}
	c->pq = pq;
	PQsetNoticeProcessor(pq, quiet_notices, NULL);
	*out = c;
	return 0;
}

/* ---- passwords out of connect errors ---- */

/* A piece of text that may be (part of) a password. */
typedef struct secret {
	const char *p;
	size_t len;
} secret;

/* Everything to hide, found in one conninfo. Fixed size: redaction never allocates with
 * pgorm's allocator. When more is found than fits, the whole message is withheld. */
typedef struct secrets {
	secret v[48];
	size_t n;
	char decoded[1024];   /* percent-decoded copies of URI pieces */
	size_t used;
	bool overflow;
} secrets;

static void add_secret(secrets *s, const char *p, size_t len)
{
	if (len == 0)
		return;
	if (s->n == PGORM__ARRAY_LEN(s->v)) {
		s->overflow = true;
		return;
	}
	s->v[s->n++] = (secret){ p, len };
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A piece of a URI, as written and as libpq decodes it (%XX), since messages quote the
 * decoded value. */
static void add_uri_secret(secrets *s, const char *p, size_t len)
{
	add_secret(s, p, len);
	if (memchr(p, '%', len) == NULL)
		return;
	if (len > sizeof s->decoded - s->used) {
		s->overflow = true;
		return;
	}
	char *d = s->decoded + s->used;
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		int hi = -1, lo = -1;
		if (p[i] == '%' && i + 2 < len) {
			hi = hexval(p[i + 1]);
			lo = hexval(p[i + 2]);
		}
		if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
			d[k++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			d[k++] = p[i];
		}
	}
	s->used += k;
	add_secret(s, d, k);
}

static bool is_uri(const char *ci)
{
	return strncmp(ci, "postgresql://", 13) == 0 || strncmp(ci, "postgres://", 11) == 0;
}

/* Every password as written in the conninfo: the userinfo of a URI ("user:PASS@"), its query
 * parameter ("?password=PASS", "&password=PASS"), and every value after a "password=" keyword
 * (quoted or not; libpq keeps the last one). Over-matching is harmless: a false positive only
 * hides a few characters. */
static void find_raw_passwords(const char *ci, secrets *s)
{
	bool uri = is_uri(ci);
	if (uri) {
		const char *a = strstr(ci, "://") + 3;
		const char *end = a + strcspn(a, "/?");
		const char *at = NULL;
		for (const char *p = a; p < end; p++)
			if (*p == '@')
				at = p;
		const char *colon = at ? memchr(a, ':', (size_t)(at - a)) : NULL;
		if (colon != NULL)
			add_uri_secret(s, colon + 1, (size_t)(at - colon - 1));
	}
	for (const char *p = strstr(ci, "password"); p != NULL; p = strstr(p + 1, "password")) {
		const char *v = p + 8;
		if (!uri)
			v += strspn(v, " \t\n\r");
		if (*v != '=')
			continue;
		v++;
		if (uri) { /* a query parameter: up to the next one */
			add_uri_secret(s, v, strcspn(v, "&# \t\n\r"));
			continue;
		}
		v += strspn(v, " \t\n\r");
		if (*v == '\'') {
			v++;
			const char *e = v;
			while (*e && *e != '\'')
				e += (*e == '\\' && e[1]) ? 2 : 1;
			add_secret(s, v, (size_t)(e - v));
		} else {
			add_secret(s, v, strcspn(v, " \t\n\r"));
		}
	}
}

static const char *opt_val(const PQconninfoOption *opts, const char *kw)
{
	for (const PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, kw) == 0)
			return o->val;
	return NULL;
}

/* libpq ends a URI's userinfo at its first '@' (and only looks for one before the first '/'):
 * a password holding a raw '@' or '/' is split, and its pieces land in host, port or dbname,
 * which connect errors quote. When the parsed values show such a split (a host or dbname with
 * '@', a port that is not a number list), every piece of what was probably meant as userinfo
 * (up to the last '@') is hidden, as written and decoded. */
static void find_split_passwords(const char *ci, const PQconninfoOption *opts, secrets *s)
{
	if (!is_uri(ci))
		return;
	const char *host = opt_val(opts, "host"), *port = opt_val(opts, "port"), *db = opt_val(opts, "dbname");
	bool split = (host && strchr(host, '@')) || (db && strchr(db, '@')) ||
	             (port && port[strspn(port, "0123456789,")] != '\0');
	const char *a = strstr(ci, "://") + 3, *at = strrchr(a, '@');
	if (!split || at == NULL)
		return;
	const char *colon = memchr(a, ':', (size_t)(at - a));
	const char *p = colon ? colon + 1 : a;
	add_uri_secret(s, p, (size_t)(at - p));
	while (p < at) {
		size_t n = strcspn(p, "@/:?#&=,[]");
		if (p + n > at)
			n = (size_t)(at - p);
		add_uri_secret(s, p, n);
		p += n + 1;
	}
}

int pgorm__conninfo_check(const char *conninfo, pgorm_error *err)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
	PQconninfoFree(opts);
	PQfreemem(perr);
	if (opts != NULL)
		return 0;
	/* libpq's message quotes the token after the place it stopped, which may be the rest of a
	 * password (password=correct horse: 'missing "=" after "horse"'): not shown */
	if (perr == NULL)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory parsing the conninfo");
	return pgorm__error_set(err, PGORM_EINVAL, "%s", PGORM__CONNINFO_WITHHELD);
}

void pgorm__redact_password(char *dst, size_t cap, const char *src, const char *conninfo, bool first_line)
{
	if (cap == 0)
		return;
	if (src == NULL)
		src = "";
	secrets sv;
	sv.n = sv.used = 0;
	sv.overflow = false;
	char *perr = NULL;
	PQconninfoOption *opts = NULL;
	if (conninfo != NULL) {
		opts = PQconninfoParse(conninfo, &perr);
		find_raw_passwords(conninfo, &sv);
		find_split_passwords(conninfo, opts, &sv);
		const char *pw = opt_val(opts, "password");
		if (pw != NULL)
			add_secret(&sv, pw, strlen(pw));
	}
	if ((conninfo != NULL && opts == NULL) || sv.overflow) {
		/* what libpq could not parse may be split anywhere: quote nothing */
		pgorm__strlcpy(dst, PGORM__CONNINFO_WITHHELD, cap);
		PQconninfoFree(opts);
		PQfreemem(perr);
		return;
	}
	for (size_t i = 1; i < sv.n; i++) /* longest first: "ab" must not leave the "b" of "abc" */
		for (size_t j = i; j > 0 && sv.v[j - 1].len < sv.v[j].len; j--) {
			secret t = sv.v[j];
			sv.v[j] = sv.v[j - 1];
			sv.v[j - 1] = t;
		}
	/* matching is done on src, before anything is cut: a password that straddles the end
	 * of dst never shows, not even its first characters */
	size_t o = 0, left = strlen(src);
	for (const char *p = src; *p && o + 1 < cap;) {
		size_t k = 0;
		while (k < sv.n && !(sv.v[k].len <= left && memcmp(p, sv.v[k].p, sv.v[k].len) == 0))
			k++;
		if (k < sv.n) {
			for (const char *r = "********"; *r && o + 1 < cap; r++)
				dst[o++] = *r;
			p += sv.v[k].len;
			left -= sv.v[k].len;
		} else if (first_line && *p == '\n') {
			break;
		} else {
			dst[o++] = *p++;
			left--;
		}
	}
	dst[o] = '\0';
	PQconninfoFree(opts);
	PQfreemem(perr);
}

/* The connect timeout in effect for pq, in ms (libpq's rule: at least 2 s; -1 for none). */
static long connect_timeout_ms(PGconn *pq)
{
	long ms = -1;
	PQconninfoOption *opts = PQconninfo(pq);
	const char *v = opt_val(opts, "connect_timeout");
	if (v != NULL && *v != '\0') {
		long sec = strtol(v, NULL, 10);
		if (sec > 0)
			ms = (sec < 2 ? 2 : sec) * 1000;
	}
	PQconninfoFree(opts);
	return ms;
}

/* PQconnectdb, with the error verbosity raised first: a connect error then carries the
 * server's SQLSTATE ("FATAL:  3D000: database … does not exist"), which PQconnectdb's message
 * does not (nor does any PGresult). The connect timeout bounds the whole attempt. */
static PGconn *connect_verbose(const char *conninfo, const char *connect_timeout, bool *timed_out)
{
	*timed_out = false;
	/* the conninfo's own connect_timeout, when it has one, wins (it comes after) */
	const char *const kw[] = { "connect_timeout", "dbname", NULL };
	const char *const val[] = { connect_timeout, conninfo, NULL };
	int skip = connect_timeout == NULL;
	PGconn *pq = PQconnectStartParams(kw + skip, val + skip, 1);
	if (pq == NULL || PQstatus(pq) == CONNECTION_BAD)
		return pq;
	PQsetErrorVerbosity(pq, PQERRORS_VERBOSE);
	long tmo = connect_timeout_ms(pq);
	double deadline = now_us() + (double)tmo * 1e3;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		struct pollfd pfd = { .fd = PQsocket(pq), .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT };
		int wait = tmo < 0 ? -1 : (int)((deadline - now_us()) / 1e3);
		int r = tmo >= 0 && wait <= 0 ? 0 : pgorm__poll(&pfd, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			PQfinish(pq); /* as libpq's own "timeout expired" */
			*timed_out = true;
			return NULL;
		}
		st = PQconnectPoll(pq);
	}
	PQsetErrorVerbosity(pq, PQERRORS_DEFAULT);
	return pq;
}

/* Take the SQLSTATE out of a verbose connect error ("…failed: FATAL:  3D000: database …")
 * into sqlstate (6 bytes), leaving the message as the default verbosity writes it. */
static void take_sqlstate(char *msg, char *sqlstate)
{
	for (char *p = strstr(msg, ":  "); p != NULL; p = strstr(p + 1, ":  ")) {
		char *q = p + 3;
		size_t n = strspn(q, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ");
		if (n == 5 && q[5] == ':' && q[6] == ' ') {
			memcpy(sqlstate, q, 5);
			sqlstate[5] = '\0';
			memmove(q, q + 7, strlen(q + 7) + 1);
			return;
		}
	}
}

int pgorm__conn_open(pgorm_conn **out, const pgorm_conn_config *cfg, const char *connect_timeout, pgorm_error *err)
{
	*out = NULL;
	int rc = pgorm__conn_config_check(cfg, err);
	if (rc != 0)
		return rc;
	const char *ci = cfg->conninfo ? cfg->conninfo : "";
	if ((rc = pgorm__conninfo_check(ci, err)) != 0)
		return rc;
	bool timed_out;
	PGconn *pq = connect_verbose(ci, connect_timeout, &timed_out);
	if (pq == NULL && timed_out)
		return pgorm__error_set(err, PGORM_ECONN, "connect failed: timeout expired");
	if (pq == NULL)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory in PQconnectStartParams");
	if (PQstatus(pq) != CONNECTION_OK) {
		pgorm_error tmp;
		if (err == NULL)
			err = &tmp;
		/* keep libpq's first line; URI errors quote the conninfo, password included */
		char msg[sizeof err->message];
		pgorm__redact_password(msg, sizeof msg, PQerrorMessage(pq), ci, true);
		char st[6] = "";
		take_sqlstate(msg, st);
		pgorm__error_set(err, PGORM_ECONN, "connect failed: %s", msg);
		memcpy(err->sqlstate, st, sizeof st);
		PQfinish(pq);
		return PGORM_ECONN;
	}
	if ((rc = pgorm_conn_adopt(out, pq, cfg, err)) != 0)
		PQfinish(pq);
	return rc;
}

int pgorm_conn_connect(pgorm_conn **out, const pgorm_conn_config *cfg, pgorm_error *err)
{
	if (out != NULL)
		*out = NULL;
	if (out == NULL || cfg == NULL)
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_conn_connect: NULL argument");
	return pgorm__conn_open(out, cfg, NULL, err);
}

void pgorm_conn_close(pgorm_conn *c)
{
	if (c == NULL)
		return;
	if (c->pid != getpid()) {
		pgorm__conn_forget(c);
		return;
	}
	pgorm__conn_finish(c);
	pgorm__free(c);
}

void pgorm__conn_forget(pgorm_conn *c)
{
	/* The socket is shared with the parent: point the descriptor at /dev/null so that
	 * PQfinish's Terminate message goes nowhere, then let libpq free its memory. */
	int fd = PQsocket(c->pq);
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0 && devnull >= 0)
		dup2(devnull, fd);
	if (devnull >= 0)
		close(devnull);
	PQfinish(c->pq);
	conn_free(c);
}

PGconn *pgorm_conn_release_pq(pgorm_conn *c)
{
	if (c == NULL)
		return NULL;
	PGconn *pq = c->pq;
	conn_free(c);
	return pq;
}

PGconn *pgorm_conn_pq(pgorm_conn *c) { return c ? c->pq : NULL; }

const pgorm_error *pgorm_conn_error(const pgorm_conn *c) { return c ? &c->err : NULL; }

bool pgorm_conn_ok(const pgorm_conn *c)
{
	return c != NULL && !c->broken && PQstatus(c->pq) == CONNECTION_OK;
}

pgorm_tx_status pgorm_conn_tx_status(const pgorm_conn *c)
{
	if (c == NULL)
		return PGORM_TX_UNKNOWN;
	switch (PQtransactionStatus(c->pq)) {
	case PQTRANS_IDLE: return PGORM_TX_IDLE;
	case PQTRANS_ACTIVE: return PGORM_TX_ACTIVE;
	case PQTRANS_INTRANS: return PGORM_TX_INTRANS;
	case PQTRANS_INERROR: return PGORM_TX_INERROR;
	default: return PGORM_TX_UNKNOWN;
	}
}

void pgorm_conn_stats_get(const pgorm_conn *c, pgorm_conn_stats *out)
{
	if (c == NULL || out == NULL)
		return;
	*out = c->stats;
	out->cached = c->cache.count;
}

void pgorm_conn_set_hook(pgorm_conn *c, pgorm_stmt_hook hook, void *ctx, bool log_params)
{
	if (c == NULL)
		return;
	c->cfg.hook = hook;
	c->cfg.hook_ctx = ctx;
	c->cfg.log_params = log_params;
}

void pgorm_conn_cache_reset(pgorm_conn *c)
{
	if (c != NULL) {
		pgorm__stmt_cache_clear(&c->cache);
		pgorm__conn_types_reset(c, false);
	}
}

/* ---- named types: their OIDs, looked up once per connection ---- */

typedef struct type_entry {
	char *name;                 /* as the value or the registry gives it */
	unsigned oid, array_oid;    /* 0: not looked up yet, or the server had no such type */
	bool fresh;                 /* its pg_type row is (maybe) the current transaction's own:
	                               a ROLLBACK may undo it */
} type_entry;

struct pgorm__types {
	type_entry *e;
	size_t n, cap;
	const void *tag;            /* the hint list last told (pgorm__conn_types_hint) */
};

/* One query for every name not resolved yet. age(xmin) <= 0: the row was written by a
 * transaction no older than the current one, which includes a type this transaction created
 * (and, harmlessly, some committed meanwhile); types committed before it are older (> 0). */
static const char TYPE_LOOKUP_SQL[] =
	"SELECT u.i, t.oid::int8, t.typarray::int8, pg_catalog.age(t.xmin) <= 0 "
	"FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) "
	"LEFT JOIN pg_catalog.pg_type t ON t.oid = pg_catalog.to_regtype(u.n)";

static void types_free(struct pgorm__types *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		pgorm__free(t->e[i].name);
	pgorm__free(t->e);
	pgorm__free(t);
}

static type_entry *type_find(const struct pgorm__types *t, const char *name)
{
	for (size_t i = 0; t != NULL && i < t->n; i++)
		if (t->e[i].name == name || strcmp(t->e[i].name, name) == 0)
			return &t->e[i];
	return NULL;
}

static type_entry *type_add(pgorm_conn *c, const char *name)
{
	if (c->types == NULL && (c->types = pgorm__calloc(1, sizeof *c->types)) == NULL)
		return NULL;
	struct pgorm__types *t = c->types;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		type_entry *grown = pgorm__reallocarray(t->e, cap, sizeof *grown);
		if (grown == NULL)
			return NULL;
		t->e = grown;
		t->cap = cap;
	}
	char *copy = pgorm__strdup(name);
	if (copy == NULL)
		return NULL;
	t->e[t->n] = (type_entry){ copy, 0, 0, false };
	return &t->e[t->n++];
}

void pgorm__conn_types_hint(pgorm_conn *c, const char *const *names, size_t n, const void *tag)
{
	if (c == NULL || n == 0 || (c->types != NULL && c->types->tag == tag))
		return;
	for (size_t i = 0; i < n; i++)
		if (type_find(c->types, names[i]) == NULL && type_add(c, names[i]) == NULL)
			return; /* out of memory: the names are looked up one by one when needed */
	c->types->tag = tag;
}

void pgorm__conn_types_reset(pgorm_conn *c, bool fresh_only)
{
	struct pgorm__types *t = c != NULL ? c->types : NULL;
	for (size_t i = 0; t != NULL && i < t->n; i++)
		if (!fresh_only || t->e[i].fresh)
			t->e[i] = (type_entry){ t->e[i].name, 0, 0, false };
}

/* Look up every entry without an OID, in one statement (seen by the hook like any other). */
static int types_lookup(pgorm_conn *c)
{
	struct pgorm__types *t = c->types;
	const char **names = pgorm__calloc(t->n, sizeof *names);
	size_t *idx = pgorm__calloc(t->n, sizeof *idx);
	size_t m = 0;
	int rc = 0;
	if (names == NULL || idx == NULL)
		rc = pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory looking up type OIDs");
	for (size_t i = 0; rc == 0 && i < t->n; i++)
		if (t->e[i].oid == 0) {
			idx[m] = i;
			names[m++] = t->e[i].name;
		}
	pgorm_result *r = NULL;
	if (rc == 0) {
		pgorm_value v = PGORM_TEXT_ARRAY(names, m);
		rc = pgorm_conn_exec(c, TYPE_LOOKUP_SQL, 1, &v, &r);
	}
	for (size_t row = 0; rc == 0 && row < pgorm_result_rows(r); row++) {
		int64_t i = 0, oid = 0, arr = 0;
		pgorm_value fresh = { .type = PGORM_TYPE_BOOL };
		(void)pgorm_result_int64(r, row, 0, &i);
		(void)pgorm_result_int64(r, row, 1, &oid); /* NULL (no such type) reads as 0 */
		(void)pgorm_result_int64(r, row, 2, &arr);
		(void)pgorm_result_get(r, row, 3, PGORM_TYPE_BOOL, &fresh, NULL);
		if (i < 1 || (size_t)i > m || oid < 0 || oid > UINT32_MAX || arr < 0 || arr > UINT32_MAX)
			continue;
		type_entry *e = &t->e[idx[i - 1]];
		*e = (type_entry){ e->name, (unsigned)oid, (unsigned)arr, !fresh.is_null && fresh.u.b };
	}
	pgorm_result_free(r);
	pgorm__free(names);
	pgorm__free(idx);
	return rc;
}

/* The entry of name, looked up (with every other entry not resolved yet) when it has no OID;
 * NULL with c->err set on error. */
static type_entry *type_resolve(pgorm_conn *c, const char *name, long param)
{
	type_entry *e = type_find(c->types, name);
	if (e == NULL && (e = type_add(c, name)) == NULL) {
		pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory looking up type OIDs");
		return NULL;
	}
	if (e->oid != 0)
		return e;
	size_t k = (size_t)(e - c->types->e);
	if (types_lookup(c) != 0)
		return NULL;
	e = &c->types->e[k];
	if (e->oid != 0)
		return e;
	if (param >= 0)
		pgorm__error_set(&c->err, PGORM_ETYPE, "parameter $%ld: type %s does not exist on the server", param + 1, name);
	else
		pgorm__error_set(&c->err, PGORM_ETYPE, "type %s does not exist on the server", name);
	return NULL;
}

int pgorm__conn_type_oid(pgorm_conn *c, const char *name, unsigned *oid, unsigned *array_oid)
{
	type_entry *e = c != NULL && name != NULL ? type_resolve(c, name, -1) : NULL;
	if (e == NULL)
		return c == NULL || name == NULL ? PGORM_EINVAL : c->err.code;
	*oid = e->oid;
	if (array_oid != NULL)
		*array_oid = e->array_oid;
	return 0;
}

unsigned pgorm__conn_type_cached(const pgorm_conn *c, const char *name)
{
	const type_entry *e = c != NULL && name != NULL ? type_find(c->types, name) : NULL;
	return e != NULL ? e->oid : 0;
}

/* The types whose values may name their SQL type (pgorm__value_type_name). */
#define NAMED_TYPES ((UINT64_C(1) << PGORM_TYPE_ENUM) | (UINT64_C(1) << PGORM_TYPE_CENUM) | \
                     (UINT64_C(1) << PGORM_TYPE_CUSTOM))

/* After the values were encoded (so that a value the encoder refuses sends nothing, not even
 * a lookup): the OIDs of the named types among v[0..n), one lookup for all missing. *any is
 * set when there is one, *looked when a lookup ran (it used c->params: encode again).
 * Errors: PGORM_ETYPE (no such type), the lookup's. */
static int types_prepare(pgorm_conn *c, size_t n, const pgorm_value *v, bool *any, bool *looked)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		if ((unsigned)v[i].type >= 64 || !((NAMED_TYPES >> v[i].type) & 1))
			continue;
		const char *name = pgorm__value_type_name(&v[i]);
		if (name == NULL)
			continue;
		*any = true;
		const type_entry *e = type_find(c->types, name);
		if (e == NULL || e->oid == 0) {
			*looked = true;
			if (type_resolve(c, name, (long)i) == NULL)
				return c->err.code;
		}
	}
	return 0;
}

/* After encoding v[0..n) at [base, base + n) of c->params: the named types' OIDs. */
static void types_patch(pgorm_conn *c, size_t base, size_t n, const pgorm_value *v)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = pgorm__value_type_name(&v[i]);
		const type_entry *e = name != NULL ? type_find(c->types, name) : NULL;
		if (e != NULL)
			c->params.oids[base + i] = e->oid;
	}
}

int pgorm__conn_check(pgorm_conn *c)
{
	if (c->pid != getpid())
		return pgorm__error_set(&c->err, PGORM_EFORK,
		                        "connection opened in process %d used in forked child %d",
		                        (int)c->pid, (int)getpid());
	if (PQstatus(c->pq) != CONNECTION_OK) {
		c->broken = true;
		return pgorm__error_set(&c->err, PGORM_ECONN, "connection is closed or lost");
	}
	if (PQpipelineStatus(c->pq) != PQ_PIPELINE_OFF)
		return pgorm__error_set(&c->err, PGORM_ESTATE, "connection is in pipeline mode");
	/* inside a non-blocking operation a send never waits on a full socket either: output is
	 * flushed by get_result / pipeline_flush, which wait through pgorm__poll */
	if ((PQisnonblocking(c->pq) != 0) != pgorm__wait_hooked())
		(void)PQsetnonblocking(c->pq, pgorm__wait_hooked());
	return 0;
}

/* A lost connection whose last words were an error (FATAL 25P03 idle-in-transaction timeout,
 * 57P01 terminated, …) that libpq has received but not parsed yet (a send or a read failed
 * first): that error, or NULL. Never blocks: only called once the connection is bad. */
static PGresult *pending_server_error(PGconn *pq)
{
	if (PQstatus(pq) != CONNECTION_BAD)
		return NULL;
	for (int i = 0; i < 64; i++) { /* bounded: each call parses what is buffered */
		PGresult *r = PQgetResult(pq);
		if (r == NULL)
			return NULL;
		if (PQresultStatus(r) == PGRES_FATAL_ERROR && PQresultErrorField(r, PG_DIAG_SQLSTATE) != NULL)
			return r;
		PQclear(r);
	}
	return NULL;
}

/* Record a failed result on c; marks the connection broken for failover-class states. */
static int fail(pgorm_conn *c, const PGresult *res, const char *sql)
{
	PGresult *pending = res == NULL ? pending_server_error(c->pq) : NULL;
	int rc = pgorm__error_from_pq(&c->err, c->pq, pending != NULL ? pending : res, sql);
	PQclear(pending);
	/* FATAL ends the session: the socket closes next, though libpq may not have seen it yet
	 * (a pipeline reads the error before the EOF behind it) */
	bool fatal = strcmp(c->err.severity, "FATAL") == 0 || strcmp(c->err.severity, "PANIC") == 0;
	if (fatal)
		rc = c->err.code = PGORM_ECONN;
	if ((fatal || PQstatus(c->pq) == CONNECTION_BAD) && !c->broken)
		memcpy(c->lost_state, c->err.sqlstate, sizeof c->lost_state);
	if (pgorm_error_is_connection(&c->err))
		c->broken = true;
	return rc;
}

static bool result_ok(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE ||
	       st == PGRES_EMPTY_QUERY;
}

static void hook(pgorm_conn *c, const char *sql, size_t n, const pgorm_value *v, double t0, int rc)
{
	if (c->cfg.hook != NULL)
		c->cfg.hook(c->cfg.hook_ctx, sql, n, c->cfg.log_params ? v : NULL, now_us() - t0, rc);
}

/* PQgetResult, which waits in pgorm__poll (an event loop, when hooked) rather than in libpq:
 * output is flushed and input read until a result is complete or the connection fails. */
static PGresult *get_result(PGconn *pq)
{
	for (;;) {
		int f = PQflush(pq);
		if (f < 0 || (f == 0 && !PQisBusy(pq)))
			break;
		struct pollfd pfd = { .fd = PQsocket(pq), .events = f > 0 ? POLLIN | POLLOUT : POLLIN };
		if (pfd.fd < 0 || pgorm__poll(&pfd, -1) < 0 || !PQconsumeInput(pq))
			break;
	}
	return PQgetResult(pq);
}

/* The result of what was just sent, as PQexec would return it (the last one), except that an
 * error the server sent before closing the connection is kept: PQexec would return libpq's
 * "server closed the connection unexpectedly" that follows it, without SQLSTATE, instead of
 * e.g. FATAL 25P03 (idle-in-transaction timeout) or 57P01 (terminated). NULL when sent is
 * false (the send failed) or libpq is out of memory. */
static PGresult *last_result(PGconn *pq, bool sent)
{
	PGresult *last = NULL, *res;
	while (sent && (res = get_result(pq)) != NULL) {
		ExecStatusType st = PQresultStatus(res);
		bool keep_last = last != NULL && PQresultErrorField(last, PG_DIAG_SQLSTATE) != NULL &&
		                 st == PGRES_FATAL_ERROR && PQresultErrorField(res, PG_DIAG_SQLSTATE) == NULL;
		if (keep_last) {
			PQclear(res);
		} else {
			PQclear(last);
			last = res;
		}
		/* as PQexec: stop at COPY (pgorm never starts one) and on a lost connection */
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH || PQstatus(pq) == CONNECTION_BAD)
			break;
	}
	return last;
}

int pgorm__conn_simple(pgorm_conn *c, const char *sql)
{
	int rc = pgorm__conn_check(c);
	if (rc != 0)
		return rc;
	double t0 = now_us();
	PGresult *res = last_result(c->pq, PQsendQuery(c->pq, sql));
	c->stats.statements++;
	c->stats.round_trips++;
	rc = (res != NULL && result_ok(res)) ? 0 : fail(c, res, sql);
	PQclear(res);
	if (rc == 0)
		pgorm_error_clear(&c->err);
	hook(c, sql, 0, NULL, t0, rc);
	return rc;
}

/* ---- the statement cache, named mode ---- */

static bool has_sqlstate(const PGresult *res, const char *st)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s != NULL && strcmp(s, st) == 0;
}

/* 26000: the server does not know the statement (DEALLOCATE ALL / DISCARD ALL behind the
 * cache's back, or another server connection behind a transaction-mode pooler). */
static bool is_missing_stmt(const PGresult *res) { return has_sqlstate(res, "26000"); }

/* 0A000 on a statement prepared earlier: "cached plan must not change result type" (the
 * message text is localized, so the SQLSTATE plus "it was a cache hit" is what counts). */
static bool is_plan_changed(const PGresult *res) { return has_sqlstate(res, "0A000"); }

/* DEALLOCATE the retired statements. Skipped inside an aborted transaction block (it would
 * fail; they stay queued). Outside a transaction block a 26000 means "already gone". */
static int flush_garbage(pgorm_conn *c)
{
	if (c->cache.ngarbage == 0)
		return 0;
	while (c->cache.ngarbage > 0) {
		PGTransactionStatusType ts = PQtransactionStatus(c->pq);
		if (ts != PQTRANS_IDLE && ts != PQTRANS_INTRANS)
			return 0;
		char sql[64];
		snprintf(sql, sizeof sql, "DEALLOCATE \"%s\"", c->cache.garbage[c->cache.ngarbage - 1]);
		int rc = pgorm__conn_simple(c, sql);
		if (rc != 0 && !(ts == PQTRANS_IDLE && strcmp(c->err.sqlstate, "26000") == 0)) {
			if (strcmp(c->err.sqlstate, "26000") == 0)
				c->cache.ngarbage--; /* gone anyway; the transaction is aborted now */
			return rc;
		}
		c->cache.ngarbage--;
	}
	pgorm_error_clear(&c->err);
	return 0;
}

/* Make room for one more entry: least recently used entries not pinned by the running batch
 * (epoch; 0 outside batches) are retired. When everything is pinned the bound is exceeded
 * until the batch ends. */
static void cache_make_room(pgorm_conn *c, uint64_t epoch)
{
	while (c->cache.count >= c->cfg.stmt_cache_size) {
		pgorm__stmt_entry *v = pgorm__stmt_cache_victim(&c->cache, epoch);
		if (v == NULL)
			return;
		pgorm__stmt_cache_retire(&c->cache, v);
		c->stats.evictions++;
	}
}

/* A PREPARE of a cached statement failed with 42P05 "prepared statement … already exists":
 * behind a transaction-mode pooler (PgBouncer) server connections are shared, so another
 * client's statement of the same name is there. Say what to do in the message and the hint. */
static void advise_on_name_clash(pgorm_conn *c)
{
	if (strcmp(c->err.sqlstate, "42P05") != 0)
		return;
	pgorm__strlcpy(c->err.hint, PGORM__NAME_CLASH_ADVICE, sizeof c->err.hint);
	size_t len = strlen(c->err.message);
	snprintf(c->err.message + len, sizeof c->err.message - len, " (%s)", PGORM__NAME_CLASH_ADVICE);
}

/* Prepare sql under a new cache entry (blocking, one round trip). */
static int prepare(pgorm_conn *c, const char *sql, pgorm__stmt_entry **out)
{
	cache_make_room(c, 0);
	int rc = flush_garbage(c);
	if (rc != 0)
		return rc;
	pgorm__stmt_entry *e = pgorm__stmt_cache_insert(&c->cache, sql, c->params.n, c->params.oids);
	if (e == NULL)
		return pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory caching a statement");
	PGresult *res = last_result(c->pq, PQsendPrepare(c->pq, e->name, sql, (int)c->params.n, c->params.oids));
	c->stats.prepares++;
	c->stats.round_trips++;
	rc = (res != NULL && result_ok(res)) ? 0 : fail(c, res, sql);
	PQclear(res);
	if (rc != 0) {
		advise_on_name_clash(c);
		pgorm__stmt_cache_remove(&c->cache, e);
		return rc;
	}
	*out = e;
	return 0;
}

static PGresult *exec_encoded(pgorm_conn *c, const char *sql, pgorm__stmt_entry *e)
{
	c->stats.round_trips++;
	if (e == NULL)
		return last_result(c->pq, PQsendQueryParams(c->pq, sql, (int)c->params.n, c->params.oids, c->params.values,
		                                            c->params.lengths, c->params.formats, 1));
	return last_result(c->pq, PQsendQueryPrepared(c->pq, e->name, (int)c->params.n, c->params.values,
	                                              c->params.lengths, c->params.formats, 1));
}

/* Named mode, e found in the cache: execute. A cached statement that fails with 26000 / 0A000 is
 * dropped (26000) or retired (0A000: DEALLOCATEd later); outside a transaction block the
 * statement is then prepared again and executed once more (nothing ran the first time). Inside
 * one the error is returned (the block is aborted) and the next use prepares afresh. */
static int exec_named(pgorm_conn *c, const char *sql, pgorm__stmt_entry *e, PGresult **res_out)
{
	int rc = flush_garbage(c);
	if (rc != 0)
		return rc;
	c->stats.cache_hits++;
	PGresult *res = exec_encoded(c, sql, e);
	if (res != NULL && !result_ok(res) && (is_missing_stmt(res) || is_plan_changed(res))) {
		if (is_missing_stmt(res))
			pgorm__stmt_cache_remove(&c->cache, e);
		else
			pgorm__stmt_cache_retire(&c->cache, e);
		if (PQtransactionStatus(c->pq) == PQTRANS_IDLE) {
			PQclear(res);
			res = NULL;
			c->stats.reprepares++;
			if ((rc = prepare(c, sql, &e)) != 0)
				return rc;
			res = exec_encoded(c, sql, e);
		}
	}
	*res_out = res;
	return 0;
}

static int pipeline_tx(pgorm_conn *c, size_t n, const pgorm_stmt *stmts, pgorm_result **results,
                       pgorm__tx_wrap *tx);

/* Named mode, a statement not prepared yet: its PREPARE travels in the same pipeline as its
 * execution (one round trip, not two). */
static int exec_first_use(pgorm_conn *c, const char *sql, size_t nparams, const pgorm_value *params,
                          pgorm_result **out)
{
	pgorm_stmt st = { sql, nparams, params };
	pgorm_result *res = NULL;
	cache_make_room(c, 0); /* the victim is DEALLOCATEd before the batch, as prepare() does */
	int rc = pipeline_tx(c, 1, &st, &res, NULL);
	if (rc != 0) {
		c->err.stmt_index = -1; /* a single statement, not a batch */
		return rc;
	}
	if (out != NULL)
		*out = res;
	else
		pgorm_result_free(res);
	return 0;
}

int pgorm_conn_exec(pgorm_conn *c, const char *sql, size_t nparams, const pgorm_value *params,
                    pgorm_result **out)
{
	if (out != NULL)
		*out = NULL;
	if (c == NULL)
		return PGORM_EINVAL;
	if (sql == NULL)
		return pgorm__error_set(&c->err, PGORM_EINVAL, "pgorm_conn_exec: sql is NULL");
	bool named = false, looked = false;
	int rc = pgorm__params_encode(&c->params, nparams, params, c->cfg.max_value_size, &c->err);
	if (rc == 0)
		rc = types_prepare(c, nparams, params, &named, &looked);
	if (rc == 0 && looked) /* the lookup's own parameter took the scratch */
		rc = pgorm__params_encode(&c->params, nparams, params, c->cfg.max_value_size, &c->err);
	if (rc != 0)
		return rc;
	if (named)
		types_patch(c, 0, nparams, params);
	if ((rc = pgorm__conn_check(c)) != 0)
		return rc;
	pgorm__stmt_entry *e = NULL;
	if (c->cfg.stmt_mode == PGORM_STMT_NAMED &&
	    (e = pgorm__stmt_cache_find(&c->cache, sql, c->params.n, c->params.oids)) == NULL)
		return exec_first_use(c, sql, nparams, params, out);
	double t0 = now_us();
	PGresult *res = NULL;
	c->stats.statements++;
	if (e != NULL)
		rc = exec_named(c, sql, e, &res);
	else
		res = exec_encoded(c, sql, NULL);
	if (rc == 0 && (res == NULL || !result_ok(res)))
		rc = fail(c, res, sql);
	hook(c, sql, nparams, params, t0, rc);
	if (rc != 0) {
		PQclear(res);
		return rc;
	}
	pgorm_error_clear(&c->err);
	if (out == NULL) {
		PQclear(res);
		return 0;
	}
	if ((rc = pgorm__result_wrap(res, out)) != 0)
		return pgorm__error_set(&c->err, rc, "out of memory wrapping a result");
	return 0;
}

/* ---- pipeline ---- */

/* Push buffered output without blocking on a full socket: while the server cannot take more,
 * read what it sends back so neither side waits on the other. */
static int pipeline_flush(pgorm_conn *c)
{
	for (;;) {
		int r = PQflush(c->pq);
		if (r == 0)
			return 0;
		if (r < 0)
			return fail(c, NULL, NULL);
		struct pollfd pfd = { .fd = PQsocket(c->pq), .events = POLLIN | POLLOUT };
		if (pgorm__poll(&pfd, -1) < 0) {
			if (errno == EINTR)
				continue;
			return pgorm__error_set(&c->err, PGORM_ECONN, "poll: %s", strerror(errno));
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && !PQconsumeInput(c->pq))
			return fail(c, NULL, NULL);
	}
}

/* What the collector expects, in send order. SLOT_PRE / SLOT_POST: the transaction commands
 * of a pgorm__tx_wrap (unnamed, no parameters). */
enum { SLOT_STMT, SLOT_PREPARE, SLOT_PRE, SLOT_POST };

typedef struct slot {
	int kind;
	bool hit;                   /* SLOT_STMT: the entry was prepared before this batch */
	size_t index;               /* statement index */
	pgorm__stmt_entry *entry;   /* named mode: the statement's cache entry */
} slot;

/* Send statement i of the batch; its parameters are the batch's [first, first + nparams). */
static int send_one(pgorm_conn *c, const pgorm_stmt *st, size_t i, size_t first, slot *slots, size_t *ns)
{
	const pgorm__params *pp = &c->params;
	int np = (int)st->nparams;
	const unsigned *oids = pp->oids + first;
	const char *const *values = pp->values + first;
	const int *lengths = pp->lengths + first, *formats = pp->formats + first;
	pgorm__stmt_entry *e = NULL;
	bool hit = false;
	if (c->cfg.stmt_mode == PGORM_STMT_NAMED) {
		e = pgorm__stmt_cache_find(&c->cache, st->sql, st->nparams, oids);
		/* an entry first prepared by this batch is not a "hit" for recovery purposes */
		hit = e != NULL && e->pin != c->epoch;
		if (e != NULL) {
			c->stats.cache_hits++;
		} else {
			c->stats.cache_misses++;
			cache_make_room(c, c->epoch); /* victims are DEALLOCATEd before the next statement */
			/* out of memory for the cache entry: it runs unnamed rather than fail half-way
			 * through a batch (that would leave the connection unusable) */
			e = pgorm__stmt_cache_insert(&c->cache, st->sql, st->nparams, oids);
			if (e != NULL) {
				e->pin = c->epoch;
				slots[(*ns)++] = (slot){ SLOT_PREPARE, false, i, e };
				if (!PQsendPrepare(c->pq, e->name, st->sql, np, oids))
					return fail(c, NULL, st->sql);
				c->stats.prepares++;
			}
		}
	}
	if (e == NULL) {
		if (!PQsendQueryParams(c->pq, st->sql, np, oids, values, lengths, formats, 1))
			return fail(c, NULL, st->sql);
		slots[(*ns)++] = (slot){ SLOT_STMT, false, i, NULL };
		return pipeline_flush(c);
	}
	e->pin = c->epoch;
	slots[(*ns)++] = (slot){ SLOT_STMT, hit, i, e };
	if (!PQsendQueryPrepared(c->pq, e->name, np, values, lengths, formats, 1))
		return fail(c, NULL, st->sql);
	return pipeline_flush(c);
}

/* Send a transaction command of the batch (tx->pre or tx->post) as an unnamed statement. */
static int send_tx(pgorm_conn *c, int kind, const char *sql, slot *slots, size_t *ns)
{
	if (!PQsendQueryParams(c->pq, sql, 0, NULL, NULL, NULL, NULL, 1))
		return fail(c, NULL, sql);
	slots[(*ns)++] = (slot){ kind, false, 0, NULL };
	c->stats.statements++;
	return pipeline_flush(c);
}

static bool is_tx_command(const PGresult *res)
{
	static const char *const cmds[] = { "BEGIN", "START", "COMMIT", "ROLLBACK", "END", "SAVEPOINT",
	                                    "RELEASE", "PREPARE TRANSACTION" };
	const char *s = PQcmdStatus((PGresult *)res);
	for (size_t i = 0; s != NULL && i < PGORM__ARRAY_LEN(cmds); i++)
		if (strncmp(s, cmds[i], strlen(cmds[i])) == 0)
			return true;
	return false;
}

/* Read results until the sync; fill results[], report the first failure (*failed = its slot,
 * *tx_cmd = a transaction command completed before it). Cache entries whose PREPARE did not
 * happen are marked for dropping; the caller sweeps. */
static int pipeline_collect(pgorm_conn *c, const pgorm_stmt *stmts, slot *slots, size_t ns,
                            pgorm_result **results, double t0, long *failed, bool *tx_cmd, pgorm__tx_wrap *tx)
{
	static const pgorm_stmt none = { NULL, 0, NULL };
	int rc = 0;
	*failed = -1;
	*tx_cmd = false;
	size_t k = 0;
	for (; k < ns; k++) {
		bool is_tx = slots[k].kind == SLOT_PRE || slots[k].kind == SLOT_POST;
		const pgorm_stmt *st = is_tx ? &none : &stmts[slots[k].index];
		const char *sql = !is_tx ? st->sql : slots[k].kind == SLOT_PRE ? tx->pre : tx->post;
		long index = is_tx ? -1 : (long)slots[k].index;
		PGresult *res = get_result(c->pq);
		if (res == NULL) { /* connection trouble: nothing more will come */
			if (rc == 0) {
				rc = fail(c, NULL, sql);
				c->err.stmt_index = index;
				*failed = (long)k;
			}
			break;
		}
		ExecStatusType status = PQresultStatus(res);
		bool ok = result_ok(res);
		int src = 0;
		if (!ok && status != PGRES_PIPELINE_ABORTED && rc == 0) {
			/* the server refused it (it sent a SQLSTATE): what follows did not run */
			if (tx != NULL && PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL)
				tx->refused = true;
			rc = src = fail(c, res, sql);
			if (slots[k].kind == SLOT_PREPARE)
				advise_on_name_clash(c);
			c->err.stmt_index = index;
			*failed = (long)k;
		} else if (!ok) {
			/* skipped after a failure; a statement whose own PREPARE failed shows that error */
			src = *failed >= 0 && slots[*failed].kind == SLOT_PREPARE && slots[*failed].index == slots[k].index &&
			              slots[k].kind == SLOT_STMT
			          ? rc
			          : PGORM_EABORTED;
		} else if (is_tx_command(res)) {
			*tx_cmd = *tx_cmd || rc == 0;
			if (slots[k].kind == SLOT_POST) /* also after a client-side failure (out of memory) */
				tx->post_done = true;
		}
		if (slots[k].kind == SLOT_PREPARE && !ok)
			slots[k].entry->doom = PGORM__STMT_DROP;
		if (is_tx)
			hook(c, sql, 0, NULL, t0, src);
		if (slots[k].kind == SLOT_STMT) {
			hook(c, st->sql, st->nparams, st->params, t0, src);
			if (ok && rc == 0 && results != NULL) {
				int wrc = pgorm__result_wrap(res, &results[slots[k].index]);
				res = NULL;
				if (wrc != 0) {
					rc = pgorm__error_set(&c->err, wrc, "out of memory wrapping a result");
					c->err.stmt_index = (long)slots[k].index;
				}
			}
		}
		PQclear(res);
		if (status != PGRES_FATAL_ERROR || PQstatus(c->pq) == CONNECTION_OK) {
			PGresult *end = get_result(c->pq); /* each statement's results end with NULL */
			PQclear(end);
		}
	}
	/* statements never answered (connection lost): their PREPAREs did not happen either */
	for (; k < ns; k++)
		if (slots[k].kind == SLOT_PREPARE)
			slots[k].entry->doom = PGORM__STMT_DROP;
	/* the sync: until its ReadyForQuery arrived, the batch's outcome is not known (outside
	 * a transaction block its implicit COMMIT happens there, and an error of that commit, a
	 * deferred constraint say, travels in what was lost) */
	PGresult *res;
	bool synced = false;
	while (!synced && (res = get_result(c->pq)) != NULL) {
		synced = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
	}
	if (!synced) {
		/* an explicit COMMIT (tx->post) that completed decided the outcome: it stands */
		if (rc == 0 && !(tx != NULL && tx->post_done))
			rc = fail(c, NULL, NULL); /* PGORM_ECONN: libpq's "server closed …", or the
			                            * server's last words (57P01 …) */
		c->broken = true;             /* still in pipeline mode, busy: unusable */
	}
	return rc;
}

/* One attempt: send everything with one sync, collect. *retry is set when the batch failed on a
 * stale cached statement (26000 / 0A000) outside any transaction, so running it again is safe:
 * the failed batch was rolled back as a whole. */
static int pipeline_once(pgorm_conn *c, size_t n, const pgorm_stmt *stmts, pgorm_result **results,
                         slot *slots, bool *retry, pgorm__tx_wrap *tx)
{
	*retry = false;
	bool idle_before = PQtransactionStatus(c->pq) == PQTRANS_IDLE;
	double t0 = now_us();
	size_t ns = 0;
	int rc = 0;
	c->epoch++;
	if (!PQenterPipelineMode(c->pq))
		return fail(c, NULL, NULL);
	if (PQsetnonblocking(c->pq, 1) != 0) {
		rc = fail(c, NULL, NULL);
		PQexitPipelineMode(c->pq);
		return rc;
	}
	if (tx != NULL && tx->pre != NULL) {
		tx->pre_sent = true;
		rc = send_tx(c, SLOT_PRE, tx->pre, slots, &ns);
	}
	for (size_t i = 0, first = 0; i < n && rc == 0; first += stmts[i].nparams, i++) {
		rc = send_one(c, &stmts[i], i, first, slots, &ns);
		c->stats.statements++;
	}
	if (rc == 0 && tx != NULL && tx->post != NULL) {
		tx->post_sent = true; /* from here on the server may run it, whatever we learn later */
		rc = send_tx(c, SLOT_POST, tx->post, slots, &ns);
	}
	if (rc == 0 && (!PQpipelineSync(c->pq) || pipeline_flush(c) != 0))
		rc = fail(c, NULL, NULL);
	PQsetnonblocking(c->pq, 0);
	c->stats.round_trips++;
	if (rc != 0) {
		/* half a batch is queued and cannot be taken back: the connection is unusable */
		c->broken = true;
		for (size_t k = 0; k < ns; k++)
			if (slots[k].kind == SLOT_PREPARE)
				slots[k].entry->doom = PGORM__STMT_DROP;
		pgorm__stmt_cache_sweep(&c->cache);
		return rc;
	}
	long failed;
	bool tx_cmd;
	rc = pipeline_collect(c, stmts, slots, ns, results, t0, &failed, &tx_cmd, tx);
	if (PQexitPipelineMode(c->pq) != 1 && rc == 0 && !c->broken)
		rc = fail(c, NULL, NULL);
	if (rc != 0 && failed >= 0 && slots[failed].kind == SLOT_STMT && slots[failed].hit &&
	    (strcmp(c->err.sqlstate, "26000") == 0 || strcmp(c->err.sqlstate, "0A000") == 0)) {
		bool missing = strcmp(c->err.sqlstate, "26000") == 0;
		slots[failed].entry->doom = missing ? PGORM__STMT_DROP : PGORM__STMT_RETIRE;
		if (idle_before && !tx_cmd && PQtransactionStatus(c->pq) == PQTRANS_IDLE) {
			/* Whatever hit 26000 / 0A000 may hit the other cached statements of the batch too
			 * (DEALLOCATE ALL, an ALTER TABLE): prepare them all again; the DEALLOCATEs of the
			 * retired ones run before the retry, outside any transaction, so a 26000 there is
			 * harmless. */
			for (size_t k = 0; k < ns; k++)
				if (slots[k].kind == SLOT_STMT && slots[k].hit && slots[k].entry->doom == PGORM__STMT_KEEP)
					slots[k].entry->doom = PGORM__STMT_RETIRE;
			*retry = true;
		}
	}
	pgorm__stmt_cache_sweep(&c->cache);
	return rc;
}

int pgorm_conn_pipeline(pgorm_conn *c, size_t n, const pgorm_stmt *stmts, pgorm_result **results)
{
	return pipeline_tx(c, n, stmts, results, NULL);
}

int pgorm__conn_pipeline_tx(pgorm_conn *c, size_t n, const pgorm_stmt *stmts, pgorm_result **results,
                            pgorm__tx_wrap *tx)
{
	return pipeline_tx(c, n, stmts, results, tx);
}

/* Every statement's parameters into c->params, one after the other (not resolved yet). */
static int encode_batch(pgorm_conn *c, size_t n, const pgorm_stmt *stmts)
{
	pgorm__params_reset(&c->params);
	for (size_t i = 0; i < n; i++) {
		int rc = stmts[i].sql == NULL
		             ? pgorm__error_set(&c->err, PGORM_EINVAL, "statement %zu: sql is NULL", i)
		             : pgorm__params_append(&c->params, stmts[i].nparams, stmts[i].params,
		                                    c->cfg.max_value_size, &c->err);
		if (rc != 0) {
			c->err.stmt_index = (long)i;
			return rc;
		}
	}
	return 0;
}

static int pipeline_tx(pgorm_conn *c, size_t n, const pgorm_stmt *stmts, pgorm_result **results,
                       pgorm__tx_wrap *tx)
{
	if (c == NULL)
		return PGORM_EINVAL;
	size_t ntx = tx == NULL ? 0 : (tx->pre != NULL) + (tx->post != NULL);
	if (results != NULL)
		for (size_t i = 0; i < n; i++)
			results[i] = NULL;
	if (n > 0 && stmts == NULL)
		return pgorm__error_set(&c->err, PGORM_EINVAL, "pgorm_conn_pipeline: stmts is NULL");
	/* Check and encode every statement before anything is sent: a batch is all or nothing.
	 * The parameters are encoded once, all of them, and sent from there (also on a retry). */
	bool named = false, looked = false;
	int rc = encode_batch(c, n, stmts);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if ((rc = types_prepare(c, stmts[i].nparams, stmts[i].params, &named, &looked)) != 0)
			c->err.stmt_index = (long)i;
	}
	if (rc == 0 && looked) /* the lookup's own parameter took the scratch */
		rc = encode_batch(c, n, stmts);
	if (rc != 0)
		return rc;
	for (size_t i = 0, base = 0; named && i < n; base += stmts[i].nparams, i++)
		types_patch(c, base, stmts[i].nparams, stmts[i].params);
	pgorm__params_resolve(&c->params);
	rc = pgorm__conn_check(c);
	if (rc != 0 || n + ntx == 0)
		return rc;
	if (n > SIZE_MAX / 2 / sizeof(slot) - 2)
		return pgorm__error_set(&c->err, PGORM_ENOMEM, "batch of %zu statements is too large", n);
	slot *slots = pgorm__calloc(2 * n + ntx, sizeof *slots);
	if (slots == NULL)
		return pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory for a batch of %zu statements", n);
	bool retry = false;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->cfg.stmt_mode == PGORM_STMT_NAMED && (rc = flush_garbage(c)) != 0)
			break;
		rc = pipeline_once(c, n, stmts, results, slots, &retry, tx);
		if (rc == 0 || !retry)
			break;
		c->stats.reprepares++;
		for (size_t i = 0; results != NULL && i < n; i++) { /* from the failed attempt */
			pgorm_result_free(results[i]);
			results[i] = NULL;
		}
	}
	pgorm__free(slots);
	if (rc != 0 && results != NULL) {
		for (size_t i = 0; i < n; i++) {
			pgorm_result_free(results[i]);
			results[i] = NULL;
		}
	}
	if (rc == 0)
		pgorm_error_clear(&c->err);
	return rc;
}

/* ---- transactions ---- */

int pgorm_conn_begin(pgorm_conn *c) { return c ? pgorm__conn_simple(c, "BEGIN") : PGORM_EINVAL; }
int pgorm_conn_commit(pgorm_conn *c) { return c ? pgorm__conn_simple(c, "COMMIT") : PGORM_EINVAL; }
int pgorm_conn_rollback(pgorm_conn *c) { return c ? pgorm__conn_simple(c, "ROLLBACK") : PGORM_EINVAL; }

static int savepoint_cmd(pgorm_conn *c, const char *verb, const char *name)
{
	if (c == NULL)
		return PGORM_EINVAL;
	char sql[200];
	size_t vl = strlen(verb);
	memcpy(sql, verb, vl);
	if (pgorm_quote_ident(sql + vl, sizeof sql - vl, name) < 0)
		return pgorm__error_set(&c->err, PGORM_EINVAL, "invalid savepoint name");
	return pgorm__conn_simple(c, sql);
}

int pgorm_conn_savepoint(pgorm_conn *c, const char *name) { return savepoint_cmd(c, "SAVEPOINT ", name); }
int pgorm_conn_release_savepoint(pgorm_conn *c, const char *name) { return savepoint_cmd(c, "RELEASE SAVEPOINT ", name); }
int pgorm_conn_rollback_to(pgorm_conn *c, const char *name) { return savepoint_cmd(c, "ROLLBACK TO SAVEPOINT ", name); }

/* ---- a unit of work of the library's own (DDL, diff) ---- */

int pgorm__conn_unit_open(pgorm_conn *c, const char *savepoint, const char *who, bool *sp)
{
	int rc = pgorm__conn_check(c);
	if (rc != 0)
		return rc;
	switch (pgorm_conn_tx_status(c)) {
	case PGORM_TX_IDLE:
		*sp = false;
		return pgorm_conn_begin(c);
	case PGORM_TX_INTRANS:
		*sp = true;
		return pgorm_conn_savepoint(c, savepoint);
	default:
		return pgorm__error_set(&c->err, PGORM_ESTATE, "%s: the connection is busy or in a failed transaction", who);
	}
}

void pgorm__conn_unit_undo(pgorm_conn *c, const char *savepoint, bool sp)
{
	pgorm_error saved = c->err;
	if (pgorm_conn_ok(c)) {
		if (!sp)
			pgorm_conn_rollback(c);
		else if (pgorm_conn_rollback_to(c, savepoint) == 0)
			pgorm_conn_release_savepoint(c, savepoint);
	}
	c->err = saved;
}

int pgorm__conn_unit_close(pgorm_conn *c, const char *savepoint, bool sp, int rc)
{
	if (rc == 0)
		return sp ? pgorm_conn_release_savepoint(c, savepoint) : pgorm_conn_commit(c);
	pgorm__conn_unit_undo(c, savepoint, sp);
	return rc;
}
