/* lib/hash.c — see hash.h. */
#include "hash.h"

uint64_t pgorm__hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = pgorm__hash_start(n);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = pgorm__hash_step(h, w);
		b += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, b, n);
	return pgorm__hash_end(h, w);
}
