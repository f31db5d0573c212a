/* lib/hash.h — a byte-content hash, eight bytes per step (below every layer that hashes). */
#ifndef PGORM_LIB_HASH_H
#define PGORM_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A content hash of bytes: eight bytes per step with a multiply-xorshift mix (odds of a
 * collision around 2^-64 for unrelated values). The snapshot words and the identity map use it
 * for string and bytes columns (a collision would hide one change to one column), the statement
 * cache for SQL text (it also compares the text). The steps are inline for pgorm__hash_copy. */
static inline uint64_t pgorm__hash_start(size_t n) { return 0x9E3779B97F4A7C15ULL ^ (n * 0xff51afd7ed558ccdULL); }
static inline uint64_t pgorm__hash_step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}
static inline uint64_t pgorm__hash_end(uint64_t h, uint64_t tail)
{
	h = (h ^ tail) * 0xff51afd7ed558ccdULL;
	h ^= h >> 32;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}
uint64_t pgorm__hash_bytes(const void *p, size_t n);
/* pgorm__hash_bytes(src, n), copying src to dst on the way and NUL-terminating it: dst has
 * room for n + 1 bytes rounded up to 8 (what pgorm__arena_alloc(n + 1) gives), written in
 * whole words. The loader's string columns: one pass instead of a copy and a hash. */
static inline uint64_t pgorm__hash_copy(char *dst, const char *src, size_t n)
{
	uint64_t h = pgorm__hash_start(n), w;
	size_t i = 0;
	for (; n - i >= 8; i += 8) {
		memcpy(&w, src + i, 8);
		memcpy(dst + i, &w, 8);
		h = pgorm__hash_step(h, w);
	}
	/* the tail as pgorm__hash_bytes loads it (memcpy into a zeroed word), its zero padding
	 * the NUL: read without a byte loop and without touching src past n */
	size_t r = n - i;
	const unsigned char *b = (const unsigned char *)src;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (r == 0) {
		w = 0;
	} else if (n >= 8) { /* the last 8 bytes, shifted down to the tail's r */
		memcpy(&w, b + n - 8, 8);
		w >>= 8 * (8 - r);
	} else if (n >= 4) { /* bytes 0..3 and n-4..n-1, overlapping */
		uint32_t lo, hi;
		memcpy(&lo, b, 4);
		memcpy(&hi, b + n - 4, 4);
		w = lo | ((uint64_t)hi << (8 * (n - 4)));
	} else { /* bytes 0, n/2, n-1 */
		w = b[0] | ((uint64_t)b[n / 2] << (8 * (n / 2))) | ((uint64_t)b[n - 1] << (8 * (n - 1)));
	}
#else
	unsigned char t[8] = { 0 };
	for (size_t k = 0; k < r; k++)
		t[k] = b[i + k];
	memcpy(&w, t, 8);
#endif
	memcpy(dst + i, &w, 8);
	return pgorm__hash_end(h, w);
}

#endif
