/* bench/bench_util.h — timing, medians and the RESULT line format shared by raw_libpq.c and
 * pgorm_bench.c (bench/sqlalchemy_bench.py prints the same format).
 *
 *   RESULT <tab> key <tab> median <tab> min <tab> max <tab> unit <tab> reps <tab> note
 *
 * unit is one of ns, us, ms, bytes. bench/report.py reads these lines. Every workload checks
 * its own result (rows and contents) and exits non-zero before printing a time when the check
 * fails, so a RESULT line is only ever printed for a verified run.
 */
#ifndef PGORM_BENCH_UTIL_H
#define PGORM_BENCH_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The data set (bench/schema.sql): parent 1..bench_nparent named 'parent-<id>'; child
 * 1..bench_nchild with parent_id (id - 1) / 10 + 1, name 'child-<id>', value id / 3.0. The
 * canonical sizes unless --nchild N (schema.sql -v nchild=N) and --graph-parents P (the
 * parents of the graph workloads) say otherwise: bench/scaling runs other sizes. */
enum { PER_PARENT = 10, MAXREPS = 32 };
static int64_t bench_nparent = 10000, bench_nchild = 100000, bench_graph_parents = 1000;

/* Take a size option (--nchild, --graph-parents) at argv[*i]; true when it was one. */
static inline bool bench_size_arg(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		return false;
	if (strcmp(argv[*i], "--nchild") == 0) {
		bench_nchild = atoll(argv[++*i]);
		bench_nparent = bench_nchild / PER_PARENT;
	} else if (strcmp(argv[*i], "--graph-parents") == 0) {
		bench_graph_parents = atoll(argv[++*i]);
	} else {
		return false;
	}
	if (bench_nchild < PER_PARENT || bench_nchild % PER_PARENT != 0 || bench_graph_parents < 1 ||
	    bench_graph_parents > bench_nparent) {
		fprintf(stderr, "FATAL: sizes: --nchild a multiple of %d, --graph-parents 1..nchild/%d\n", PER_PARENT, PER_PARENT);
		exit(1);
	}
	return true;
}

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of v[0..n) (v is sorted in place). */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
	return (n % 2) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static inline void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void bench_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("FATAL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* Print one RESULT line from n samples (sorted in place) and a human line on stderr. */
static inline void bench_result(const char *key, const char *unit, double *v, int n, const char *note)
{
	double mn = v[0], mx = v[0];
	for (int i = 1; i < n; i++) {
		mn = v[i] < mn ? v[i] : mn;
		mx = v[i] > mx ? v[i] : mx;
	}
	double med = bench_median(v, n);
	printf("RESULT\t%s\t%.4f\t%.4f\t%.4f\t%s\t%d\t%s\n", key, med, mn, mx, unit, n, note ? note : "");
	fflush(stdout);
	fprintf(stderr, "  %-28s %12.3f %-5s (min %.3f max %.3f, n=%d) %s\n", key, med, unit, mn, mx, n,
	        note ? note : "");
}

static inline void bench_result1(const char *key, const char *unit, double v, const char *note)
{
	bench_result(key, unit, &v, 1, note);
}

/* 'child-<id>' / 'parent-<id>' formatting, the canonical names. */
static inline int bench_child_name(char *buf, size_t n, int64_t id)
{
	return snprintf(buf, n, "child-%lld", (long long)id);
}

#endif
