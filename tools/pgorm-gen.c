/* tools/pgorm-gen.c — pgorm-gen: models from a live schema, and migration SQL from models.
 *
 *   pgorm-gen [--prefix P] [--qualify] [--skip-unmapped] -o OUT CONNINFO SCHEMA
 *   pgorm-gen diff [--destructive] --models LIB.so[:SYMBOL] CONNINFO SCHEMA
 *
 * See usage() and README "pgorm-gen". Exit status: 0 done, 1 problems reported (unmappable
 * types, ...), 2 usage or connection errors.
 */
#include "gen.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("usage: pgorm-gen [--prefix P] [--qualify] [--skip-unmapped] -o OUT CONNINFO SCHEMA\n"
	      "       pgorm-gen diff [--destructive] --models LIB.so[:SYMBOL] CONNINFO SCHEMA\n"
	      "\n"
	      "The first form reads SCHEMA's tables from pg_catalog and writes OUT.h and OUT.c: structs,\n"
	      "column and relationship descriptors (pgorm/model.h), and the NULL-terminated array\n"
	      "P_models (P: --prefix, default the base name of OUT). A column whose type has no pgorm\n"
	      "type, or a table without a primary key, is reported and nothing is written, unless\n"
	      "--skip-unmapped (they are left out and listed). --qualify binds the models to SCHEMA\n"
	      "(PGORM_MODEL_IN) instead of the search_path.\n"
	      "\n"
	      "diff loads the models from a shared object (the generated or your own model files, built\n"
	      "with -shared -fPIC and linked with -lpgorm) through SYMBOL (default pgorm_models), a\n"
	      "NULL-terminated `const pgorm_model *const SYMBOL[]`, and prints the SQL that brings\n"
	      "SCHEMA to the models, in one transaction. Destructive changes are comments unless\n"
	      "--destructive. Nothing is changed in the database.\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "diff") == 0)
		return diff_main(argc - 2, argv + 2);
	gen_options o = { 0 };
	int pos = 0;
	const char *args[2] = { NULL, NULL };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "-o") == 0 && i + 1 < argc) {
			o.out = argv[++i];
		} else if (strcmp(a, "--prefix") == 0 && i + 1 < argc) {
			o.prefix = argv[++i];
		} else if (strcmp(a, "--qualify") == 0) {
			o.qualify = true;
		} else if (strcmp(a, "--skip-unmapped") == 0) {
			o.skip_unmapped = true;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "pgorm-gen: unknown option %s\n", a);
			usage(stderr);
			return 2;
		} else if (pos < 2) {
			args[pos++] = a;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (pos != 2 || o.out == NULL) {
		usage(stderr);
		return 2;
	}
	o.conninfo = args[0];
	o.schema = args[1];
	return gen_run(&o);
}
