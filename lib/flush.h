/* lib/flush.h — the unit of work (lib/flush.c). */
#ifndef PGORM_FLUSH_H
#define PGORM_FLUSH_H

#include "state.h"

/* Flush the session's changes (dry_run: only render the plan into *plan, malloc'd).
 * Errors: as pgorm_session_flush. */
int pgorm__flush(pgorm_session *s, bool dry_run, char **plan);

#endif
