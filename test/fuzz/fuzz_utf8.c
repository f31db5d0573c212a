/* fuzz_utf8 — pgorm__utf8_valid against a table-driven reference (Unicode 15 table 3-7, the
 * rule PostgreSQL's pg_utf8_islegal applies, plus "no NUL byte": the server refuses NUL in
 * text), and the encoder's verdict for text, json, jsonb, numeric, bytea and text[] parameters
 * built from the same bytes: EENCODING exactly when the reference says invalid (bytea: never).
 */
#include "fuzz.h"

#include "codec.h"
#include "internal.h"

/* Length of the well-formed sequence at s (n bytes left), 0 when ill-formed. */
static size_t ref_seq(const unsigned char *s, size_t n)
{
	static const struct { unsigned char lo, hi, len, lo2, hi2; } first[] = {
		{ 0x01, 0x7F, 1, 0, 0 },       { 0xC2, 0xDF, 2, 0x80, 0xBF }, { 0xE0, 0xE0, 3, 0xA0, 0xBF },
		{ 0xE1, 0xEC, 3, 0x80, 0xBF }, { 0xED, 0xED, 3, 0x80, 0x9F }, { 0xEE, 0xEF, 3, 0x80, 0xBF },
		{ 0xF0, 0xF0, 4, 0x90, 0xBF }, { 0xF1, 0xF3, 4, 0x80, 0xBF }, { 0xF4, 0xF4, 4, 0x80, 0x8F },
	};
	for (size_t i = 0; i < sizeof first / sizeof first[0]; i++) {
		if (s[0] < first[i].lo || s[0] > first[i].hi)
			continue;
		size_t len = first[i].len;
		if (n < len)
			return 0;
		if (len > 1 && (s[1] < first[i].lo2 || s[1] > first[i].hi2))
			return 0;
		for (size_t k = 2; k < len; k++)
			if (s[k] < 0x80 || s[k] > 0xBF)
				return 0;
		return len;
	}
	return 0;
}

static bool ref_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = ref_seq(s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

static void check_encode(pgorm_value v, bool valid)
{
	pgorm__params p;
	memset(&p, 0, sizeof p);
	pgorm_error err;
	memset(&err, 0, sizeof err);
	int rc = pgorm__params_encode(&p, 1, &v, (size_t)64 << 20, &err);
	if (valid) {
		FZ_CHECK(rc == 0, "%s parameter refused: %d %s", pgorm_type_name(v.type), rc, err.message);
	} else {
		FZ_CHECK(rc == PGORM_EENCODING, "invalid %s parameter: %d, expected EENCODING", pgorm_type_name(v.type), rc);
		FZ_CHECK(err.code == rc && strstr(err.message, "UTF-8") != NULL, "message: %s", err.message);
	}
	pgorm__params_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1); /* exact size (+ NUL for text[]): over-reads are ASan reports */
	memcpy(s, data, size);
	s[size] = '\0';
	bool want = ref_valid(data, size);
	bool got = pgorm__utf8_valid(s, size);
	FZ_CHECK(got == want, "pgorm__utf8_valid says %d, the reference %d (%zu bytes)", got, want, size);
	check_encode(PGORM_TEXTN(s, size), want);
	pgorm_value v = PGORM_TEXTN(s, size);
	v.type = PGORM_TYPE_JSON;
	check_encode(v, want);
	v.type = PGORM_TYPE_JSONB;
	check_encode(v, want);
	v.type = PGORM_TYPE_NUMERIC;
	check_encode(v, want);
	check_encode(PGORM_BYTEA(s, size), true);
	const char *items[2] = { "ok", s };
	size_t slen = strlen(s);
	check_encode(PGORM_TEXT_ARRAY(items, 2), ref_valid((const unsigned char *)s, slen));
	free(s);
	return 0;
}
