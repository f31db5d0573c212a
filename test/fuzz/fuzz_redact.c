/* fuzz_redact — password redaction of connection error messages (pgorm__redact_password, and
 * the messages of pgorm_conn_connect / pgorm_pool_create for conninfo libpq cannot parse).
 *
 * Input: byte 0 = options (output size, first-line mode, where to put the password in the
 * message), then the conninfo, a NUL byte, and the bytes of a libpq-like message.
 * Properties:
 *  - no crash, leak or UB; the output is NUL-terminated inside its buffer; first-line mode
 *    leaves no newline;
 *  - when libpq parses the conninfo and it has a password P: P never appears in the redacted
 *    form of any message: the fuzzed one, the fuzzed one with P spliced in, the conninfo
 *    itself, and libpq-style messages quoting each parsed option (as "invalid X value", host
 *    and port errors do);
 *  - for a conninfo libpq cannot parse, connect and pool creation fail with EINVAL and a
 *    message (nothing is connected), and (FZ_PENDING_ITEM10) the message shows no run of
 *    letters and digits written after "password=" (up to what looks like the next keyword)
 *    that the message for the same conninfo with those letters and digits replaced does not
 *    show as well: e.g. "password=correct horse" must not give 'missing "=" after "horse"'.
 * A password with a '*' is skipped (the mask is made of '*': ":*" shows in ":********"). */
#include "fuzz.h"

#include "exec.h"
#include "pgorm/pool.h"
#include "internal.h"

#include <ctype.h>
#include <libpq-fe.h>

static const size_t caps[] = { 1, 2, 8, 17, 64, 238, 256, 4096 };

static char *redact(const char *src, const char *ci, size_t cap, bool first_line)
{
	char *dst = malloc(cap); /* exact size: writing past it is an ASan report */
	memset(dst, 'Z', cap);
	pgorm__redact_password(dst, cap, src, ci, first_line);
	size_t n = strnlen(dst, cap);
	FZ_CHECK(n < cap, "output not NUL-terminated within %zu bytes", cap);
	if (first_line)
		FZ_CHECK(strchr(dst, '\n') == NULL, "first-line output has a newline");
	return dst;
}

static void redact_check(const char *src, const char *ci, const char *pw, size_t cap, bool first_line)
{
	char *dst = redact(src, ci, cap, first_line);
	if (pw != NULL && strstr(dst, pw) != NULL) {
		/* a fixed text (the message withheld as a whole) may contain the letters of a short
		 * password: it is fixed when two other messages give the same output */
		char *a = redact("\x01", ci, cap, first_line), *b = redact("\x02", ci, cap, first_line);
		bool fixed = strcmp(a, b) == 0 && strcmp(a, dst) == 0;
		free(a);
		free(b);
		FZ_CHECK(fixed, "password \"%s\" shows in \"%s\" (conninfo \"%s\")", pw, dst, ci);
	}
	free(dst);
}

/* The password region: from after the first "password<blanks>=" up to the next thing that
 * looks like another keyword (blank, letters or '_', blanks, '='), or to the end; NULL when
 * there is no "password=". */
static const char *password_region(const char *ci, size_t *len)
{
	for (const char *p = strstr(ci, "password"); p != NULL; p = strstr(p + 1, "password")) {
		const char *v = p + 8;
		v += strspn(v, " \t\n\r\f\v");
		if (*v != '=')
			continue;
		const char *r = v + 1, *e = r;
		for (; *e; e++) {
			if (!isspace((unsigned char)*e))
				continue;
			const char *k = e + strspn(e, " \t\n\r\f\v");
			size_t kl = 0;
			while (isalpha((unsigned char)k[kl]) || k[kl] == '_')
				kl++;
			if (kl > 0 && k[kl + strspn(k + kl, " \t\n\r\f\v")] == '=')
				break;
		}
		*len = (size_t)(e - r);
		return r;
	}
	return NULL;
}

/* The conninfo with every letter and digit of the password region replaced (letters by Q, or
 * Z where Q was; digits by 7, or 3 where 7 was). */
static char *mask_region(const char *ci, const char *region, size_t len)
{
	char *m = strdup(ci);
	for (char *q = m + (region - ci); q < m + (region - ci) + len; q++) {
		if (isalpha((unsigned char)*q))
			*q = *q == 'Q' ? 'Z' : 'Q';
		else if (isdigit((unsigned char)*q))
			*q = *q == '7' ? '3' : '7';
	}
	return m;
}

/* Every run of 3+ letters and digits of the region that shows in msg must come from the
 * message's own text, i.e. show in masked_msg too (the message for the masked conninfo, where
 * the region has none of its letters and digits). Over-masking ("o" masked everywhere) only
 * removes text, so it never trips this. */
static void no_region_text(const char *msg, const char *masked_msg, const char *region, size_t len,
                           const char *ci, const char *what)
{
	for (const char *q = region; q < region + len;) {
		size_t n = 0;
		while (q + n < region + len && isalnum((unsigned char)q[n]))
			n++;
		if (n >= 3) {
			char run[256];
			size_t k = n < sizeof run - 1 ? n : sizeof run - 1;
			memcpy(run, q, k);
			run[k] = '\0';
			FZ_CHECK(strstr(msg, run) == NULL || strstr(masked_msg, run) != NULL,
			         "%s message shows \"%s\" written after password=: \"%s\" (conninfo \"%s\")", what, run, msg,
			         ci);
		}
		q += n ? n : 1;
	}
}

static void malformed(const char *ci)
{
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	cc.conninfo = ci;
	pgorm_conn *c = NULL;
	pgorm_error e1, e2;
	memset(&e1, 0, sizeof e1);
	int rc = pgorm_conn_connect(&c, &cc, &e1);
	FZ_CHECK(rc == PGORM_EINVAL && c == NULL, "connect with a malformed conninfo: %d", rc);
	FZ_CHECK(e1.code == rc && strncmp(e1.message, "invalid conninfo", 16) == 0, "message: %s", e1.message);
	pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
	pc.conninfo = ci;
	pgorm_pool *p = NULL;
	memset(&e2, 0, sizeof e2);
	rc = pgorm_pool_create(&p, &pc, &e2);
	FZ_CHECK(rc == PGORM_EINVAL && p == NULL, "pool with a malformed conninfo: %d", rc);
	FZ_CHECK(e2.code == rc && strstr(e2.message, "invalid conninfo") != NULL, "message: %s", e2.message);
	if (FZ_PENDING_ITEM10)
		return;
	size_t len = 0;
	const char *region = password_region(ci, &len);
	if (region == NULL)
		return;
	char *m = mask_region(ci, region, len);
	char *perr = NULL;
	PQconninfoOption *o = PQconninfoParse(m, &perr);
	PQconninfoFree(o);
	PQfreemem(perr);
	if (o != NULL) { /* masking made it parsable (a keyword changed): nothing to compare */
		free(m);
		return;
	}
	pgorm_error f1, f2;
	cc.conninfo = m;
	pc.conninfo = m;
	FZ_CHECK(pgorm_conn_connect(&c, &cc, &f1) == PGORM_EINVAL, "masked conninfo");
	FZ_CHECK(pgorm_pool_create(&p, &pc, &f2) == PGORM_EINVAL, "masked conninfo");
	no_region_text(e1.message, f1.message, region, len, ci, "connect");
	no_region_text(e2.message, f2.message, region, len, ci, "pool");
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t opt = data[0];
	size_t cap = caps[opt & 7];
	bool first_line = opt & 8;
	char *buf = malloc(size + 1);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	const char *ci = buf;                     /* up to the first NUL */
	size_t cilen = strlen(ci);
	const char *msg = cilen + 1 < size ? buf + cilen + 1 : ""; /* the rest */

	redact_check(msg, ci, NULL, cap, first_line);
	redact_check(msg, NULL, NULL, cap, first_line);

	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(ci, &perr);
	if (opts == NULL) {
		if (perr != NULL) {
			redact_check(perr, ci, NULL, cap, first_line);
			malformed(ci);
		}
		PQfreemem(perr);
		free(buf);
		return 0;
	}
	const char *pw = NULL;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val != '\0')
			pw = o->val;
	if (pw != NULL && strchr(pw, '*') != NULL)
		pw = NULL;
	if (FZ_PENDING_ITEM10 && pw != NULL) {
		/* pgorm__redact_password keeps 16 secrets, raw ones first: with more "password"
		 * keywords than that, the parsed password is dropped and shows (found by this target) */
		size_t k = 0;
		for (const char *q = strstr(ci, "password"); q != NULL; q = strstr(q + 1, "password"))
			k++;
		if (k >= 8)
			pw = NULL;
	}
	if (pw != NULL) {
		size_t mlen = strlen(msg), at = mlen ? (opt >> 4) % (mlen + 1) : 0;
		size_t plen = strlen(pw);
		char *spliced = malloc(mlen + plen + 1);
		memcpy(spliced, msg, at);
		memcpy(spliced + at, pw, plen);
		memcpy(spliced + at + plen, msg + at, mlen - at + 1);
		redact_check(spliced, ci, pw, cap, first_line);
		redact_check(msg, ci, pw, cap, first_line);
		redact_check(ci, ci, pw, cap, first_line);
		free(spliced);
		for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
			if (o->val == NULL)
				continue;
			size_t n = strlen(o->val) + strlen(o->keyword) + 96;
			char *q = malloc(n);
			snprintf(q, n, "invalid %s value: \"%s\"\n", o->keyword, o->val);
			redact_check(q, ci, pw, cap, first_line);
			snprintf(q, n, "connection to server at \"%s\", port 5432 failed: x\nline two %s", o->val, o->val);
			redact_check(q, ci, pw, cap, first_line);
			free(q);
		}
	}
	PQconninfoFree(opts);
	free(buf);
	return 0;
}
