/* lib/version.c — runtime version. */
#include "pgorm/version.h"

const char *pgorm_version_string(void) { return PGORM_VERSION_STRING; }
