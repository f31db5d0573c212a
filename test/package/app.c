/* app.c — a third-party program built against the installed pgorm (see consumer.sh). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgorm.h>

int main(int argc, char **argv)
{
	const char *dsn = getenv("PGORM_TEST_DSN");
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	pgorm_error err;
	pgorm_conn *c = NULL;
	pgorm_result *r = NULL;
	int64_t v = 0;
	Dl_info info;

	if (!dsn) {
		fprintf(stderr, "app: PGORM_TEST_DSN not set\n");
		return 1;
	}
	/* The library that was loaded lives in the install prefix given as argv[1]. */
	if (argc > 1 && (!dladdr((void *)pgorm_conn_connect, &info) || !info.dli_fname ||
	                 strncmp(info.dli_fname, argv[1], strlen(argv[1])) != 0)) {
		fprintf(stderr, "app: pgorm loaded from %s, not from %s\n",
		        info.dli_fname ? info.dli_fname : "?", argv[1]);
		return 1;
	}
	cfg.conninfo = dsn;
	if (pgorm_conn_connect(&c, &cfg, &err) < 0) {
		fprintf(stderr, "app: connect: %s\n", err.message);
		return 1;
	}
	pgorm_value p[] = { PGORM_INT8(41) };
	if (pgorm_conn_exec(c, "SELECT $1::int8 + 1", 1, p, &r) < 0 || pgorm_result_int64(r, 0, 0, &v) < 0 ||
	    v != 42) {
		fprintf(stderr, "app: query failed: %s\n", pgorm_conn_error(c)->message);
		pgorm_result_free(r);
		pgorm_conn_close(c);
		return 1;
	}
	pgorm_result_free(r);
	pgorm_conn_close(c);
	printf("app: pgorm %s (installed), SELECT $1::int8 + 1 with $1 = 41 -> %" PRId64 "\n",
	       pgorm_version_string(), v);
	return 0;
}
