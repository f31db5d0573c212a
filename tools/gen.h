/* tools/gen.h — pgorm-gen's parts: the catalog reader and C writer (gen.c), the migration
 * front end (diff.c). Not installed. */
#ifndef PGORM_TOOLS_GEN_H
#define PGORM_TOOLS_GEN_H

#include <pgorm.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct gen_options {
	const char *conninfo;
	const char *schema;        /* the schema to read */
	const char *out;           /* output path without extension: out.h and out.c */
	const char *prefix;        /* C prefix of the models array (default: basename of out) */
	bool qualify;              /* PGORM_MODEL_IN(schema, ...) instead of the search_path */
	bool skip_unmapped;        /* leave out what cannot be mapped (reported) instead of failing */
} gen_options;

/* Generate out.h and out.c; reports go to stderr. Returns the process exit status. */
int gen_run(const gen_options *o);

/* `pgorm-gen diff ...`: argc/argv after the word diff. Returns the process exit status. */
int diff_main(int argc, char **argv);

/* Connect (unnamed statements: every query here runs once); NULL after printing why. */
pgorm_conn *gen_connect(const char *conninfo);

#endif
