/* test/fuzz/fuzz.h — shared by the libFuzzer targets: an input reader and the oracle macro.
 *
 * A target reads its choices from the fuzzer's bytes with the fz_* readers (zeros once the
 * input is used up), calls pgorm, and checks what came back with FZ_CHECK, which prints the
 * broken property and aborts: libFuzzer then saves the input as a crash-* file.
 *
 * Checks that wait for fixes of issue 12 made in another branch are switched by the
 * FZ_PENDING_* macros below (1 = the fix has not landed yet, the check is skipped). Set one to
 * 0 when its fix is merged, run test/fuzz/run-fuzz, and keep it at 0. */
#ifndef PGORM_FUZZ_H
#define PGORM_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_PENDING_ITEM6 1   /* raw-fragment $n renumbering: PostgreSQL's lexer */
#define FZ_PENDING_ITEM8 1   /* registry validation gaps */
#define FZ_PENDING_ITEM10 1  /* passwords of malformed conninfo strings */

#define FZ_CHECK(cond, ...)                                                            \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "\n%s:%d: property broken: %s\n  ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                  \
			fprintf(stderr, "\n");                                         \
			abort();                                                       \
		}                                                                      \
	} while (0)

typedef struct fz {
	const uint8_t *p, *end;
} fz;

static inline uint8_t fz_u8(fz *f) { return f->p < f->end ? *f->p++ : 0; }
static inline uint32_t fz_u32(fz *f)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 8) | fz_u8(f);
	return v;
}
static inline uint64_t fz_u64(fz *f) { return ((uint64_t)fz_u32(f) << 32) | fz_u32(f); }
static inline size_t fz_left(const fz *f) { return (size_t)(f->end - f->p); }
/* One of n choices. */
static inline size_t fz_pick(fz *f, size_t n) { return n ? fz_u8(f) % n : 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
