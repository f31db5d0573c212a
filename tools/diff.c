/* tools/diff.c — `pgorm-gen diff`: the models come from a shared object (dlopen), the SQL from
 * pgorm_registry_diff_sql (pgorm/migrate.h).
 *
 * Why a shared object: as Alembic's autogenerate imports the application's models, pgorm-gen
 * diff loads the compiled model files themselves — the same descriptors the service uses, no
 * second description to keep in step. A service that prefers it can call
 * pgorm_registry_diff_sql itself (e.g. behind a --print-migration flag).
 */
#include "gen.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

int diff_main(int argc, char **argv)
{
	const char *models = NULL, *args[2] = { NULL, NULL };
	unsigned flags = 0;
	int pos = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--destructive") == 0)
			flags |= PGORM_DIFF_DESTRUCTIVE;
		else if (strcmp(argv[i], "--models") == 0 && i + 1 < argc)
			models = argv[++i];
		else if (argv[i][0] != '-' && pos < 2)
			args[pos++] = argv[i];
		else {
			fprintf(stderr, "usage: pgorm-gen diff [--destructive] --models LIB.so[:SYMBOL] CONNINFO SCHEMA\n");
			return 2;
		}
	}
	if (models == NULL || pos != 2) {
		fprintf(stderr, "usage: pgorm-gen diff [--destructive] --models LIB.so[:SYMBOL] CONNINFO SCHEMA\n");
		return 2;
	}
	char *path = strdup(models);
	if (path == NULL)
		return 2;
	const char *symbol = "pgorm_models";
	char *colon = strrchr(path, ':');
	if (colon != NULL) {
		*colon = '\0';
		symbol = colon + 1;
	}
	/* a bare name would make dlopen search the library path: say ./ for the current directory */
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "pgorm-gen diff: cannot load %s: %s\n", path, dlerror());
		free(path);
		return 2;
	}
	const pgorm_model *const *list = dlsym(h, symbol);
	if (list == NULL) {
		fprintf(stderr, "pgorm-gen diff: %s has no symbol %s (a NULL-terminated const pgorm_model *const %s[])\n",
		        path, symbol, symbol);
		free(path);
		return 2;
	}
	size_t n = 0;
	while (list[n] != NULL)
		n++;
	pgorm_registry *reg = NULL;
	pgorm_error err;
	if (pgorm_registry_create(&reg, list, n, &err) != 0) {
		fprintf(stderr, "pgorm-gen diff: the models of %s: %s\n", path, err.message);
		free(path);
		return 2;
	}
	pgorm_conn *c = gen_connect(args[0]);
	int status = 2;
	if (c != NULL) {
		char *sql = NULL;
		int rc = pgorm_registry_diff_sql(reg, c, args[1], flags, &sql);
		if (rc < 0) {
			fprintf(stderr, "pgorm-gen diff: %s\n", pgorm_conn_error(c)->message);
		} else {
			if (sql != NULL)
				fputs(sql, stdout);
			fprintf(stderr, "pgorm-gen diff: %d change%s\n", rc, rc == 1 ? "" : "s");
			status = 0;
		}
		pgorm_free(sql);
		pgorm_conn_close(c);
	}
	pgorm_registry_destroy(reg);
	/* not dlclose'd: the registry referred to its descriptors until now, and exit is next */
	free(path);
	return status;
}
