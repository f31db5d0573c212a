/* pgorm/migrate.h — migration SQL from the models (Alembic's autogenerate, for pgorm).
 *
 * pgorm_registry_diff_sql compares what pgorm_registry_create_all would make from the models
 * with one live schema and returns the SQL that brings the schema to the models, as one
 * transaction: CREATE TABLE (parents first), ADD COLUMN, ADD CONSTRAINT (keys, UNIQUE, CHECK,
 * then foreign keys), CREATE INDEX. Destructive changes (DROP TABLE / COLUMN / CONSTRAINT /
 * INDEX, ALTER COLUMN TYPE, SET NOT NULL on a column that may hold NULLs) are lines starting
 * with "-- destructive: " unless PGORM_DIFF_DESTRUCTIVE is given; a PGORM_SERVER_DEFAULT column
 * of a type pgorm has no default expression for (bool, text, ...) gets a "-- by hand: " line
 * when the database has no default for it. Review the script before
 * running it, as with Alembic: renames show up as a drop plus an add.
 * The command-line front end is `pgorm-gen diff` (README "pgorm-gen").
 *
 * Thread safety: as the connection (one thread at a time).
 */
#ifndef PGORM_MIGRATE_H
#define PGORM_MIGRATE_H

#include "common.h"
#include "exec.h"
#include "model.h"

PGORM_BEGIN_DECLS

enum {
	PGORM_DIFF_DESTRUCTIVE = 1u << 0  /* write destructive statements as statements, not comments */
};

/** Compare the models of reg (all PGORM_MODEL, i.e. using the search_path) with schema on c
 * and put the migration script in *sql (NULL when nothing differs). Runs in a transaction
 * (a savepoint inside the caller's) that is always rolled back: the models are built in a
 * scratch schema and the two catalogs compared; nothing is changed.
 * Returns the number of changes (>= 0; destructive comments included) or an error.
 * Ownership: *sql is pgorm's memory, free with pgorm_free.
 * Errors: PGORM_EINVAL (NULL/empty argument, unknown flags, a model with its own schema),
 * PGORM_ESTATE (connection in a failed transaction), PGORM_ENOMEM, those of
 * pgorm_registry_create_all and pgorm_conn_exec; details in pgorm_conn_error(c). */
PGORM_API int pgorm_registry_diff_sql(const pgorm_registry *reg, pgorm_conn *c, const char *schema,
                                      unsigned flags, char **sql);

PGORM_END_DECLS

#endif
