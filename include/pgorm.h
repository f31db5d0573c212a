/* pgorm.h — the umbrella header: include this one. */
#ifndef PGORM_H
#define PGORM_H

#include "pgorm/common.h"
#include "pgorm/version.h"
#include "pgorm/error.h"
#include "pgorm/alloc.h"
#include "pgorm/types.h"
#include "pgorm/exec.h"
#include "pgorm/pool.h"
#include "pgorm/model.h"
#include "pgorm/session.h"
#include "pgorm/query.h"
#include "pgorm/migrate.h"
#include "pgorm/router.h"
#include "pgorm/testing.h"

#endif
