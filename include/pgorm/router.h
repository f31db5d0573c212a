/* pgorm/router.h — sessions routed between a primary and read replicas, with read-your-writes.
 *
 * A router holds a primary pool and zero or more replica pools (streaming standbys). A session
 * is created for one route and keeps it until it ends:
 *   PGORM_WRITE  on the primary pool, for every transaction of the session (so a session that
 *                has written stays on the primary). After each COMMIT it reads the primary's WAL
 *                insert position (one more round trip): pgorm_session_commit_lsn.
 *   PGORM_READ   on a replica pool (round robin among them; the primary when there is none).
 *                It refuses writes before they are sent: a flush that would INSERT, UPDATE or
 *                DELETE, a nextval, a row lock (FOR UPDATE / SHARE), raw SQL that is not a read
 *                fail with PGORM_ESTATE and a message saying to use a PGORM_WRITE session; the
 *                session then needs pgorm_session_rollback, as after any failed flush. It is
 *                not promoted to the primary: a transaction already read from a replica
 *                cannot become a transaction on another server, and silently moving would lose
 *                the snapshot the reads came from (Rails' connected_to(role: :reading) raises
 *                the same way).
 * Read-your-writes: a PGORM_READ session created with min_lsn = an LSN from
 * pgorm_session_commit_lsn (of any session, any thread) sees that commit: the router borrows a
 * replica connection and polls pg_last_wal_replay_lsn() until it has reached min_lsn (polls 1,
 * 2, 4 .. 16 ms apart), up to cfg.wait_ms; then it falls back to the primary. A replica pool that
 * cannot give a connection (server down, exhausted) also falls back to the primary. The check
 * holds for the session's first transaction; later ones borrow from the same pool, and a
 * standby's replay position only moves forward.
 *
 * Thread safety: the router is immutable after create except its statistics: every function
 * here is thread-safe, except pgorm_router_destroy (the last call). Sessions are as in session.h.
 * Ownership: the pools are borrowed; they must outlive the router and its sessions.
 */
#ifndef PGORM_ROUTER_H
#define PGORM_ROUTER_H

#include "common.h"
#include "error.h"
#include "model.h"
#include "pool.h"
#include "session.h"

PGORM_BEGIN_DECLS

typedef struct pgorm_router pgorm_router;

/* A WAL position (PostgreSQL's pg_lsn as a 64-bit number). */
typedef uint64_t pgorm_lsn;
#define PGORM_LSN_NONE ((pgorm_lsn)0)          /* nothing to wait for */
#define PGORM_LSN_UNKNOWN (~(pgorm_lsn)0)      /* a commit whose LSN could not be read: a read
                                                  session asked to see it goes to the primary */

typedef enum pgorm_route {
	PGORM_READ = 1,   /* a replica; writes refused */
	PGORM_WRITE = 2   /* the primary */
} pgorm_route;

typedef struct pgorm_router_config {
	pgorm_pool *primary;              /* required, borrowed */
	pgorm_pool *const *replicas;      /* n_replicas replica pools, borrowed; the array is copied */
	size_t n_replicas;
	long wait_ms;                     /* read-your-writes: longest wait for a replica to replay
	                                     min_lsn, then the primary (1000); 0 = do not wait */
} pgorm_router_config;

#define PGORM_ROUTER_CONFIG_INIT { NULL, NULL, 0, 1000 }

typedef struct pgorm_router_stats {
	uint64_t writes;          /* PGORM_WRITE sessions created */
	uint64_t reads;           /* PGORM_READ sessions created */
	uint64_t replica_reads;   /* ... served by a replica */
	uint64_t lsn_waits;       /* ... that polled a replica for min_lsn (served or not) */
	uint64_t lsn_wait_us;     /* total time spent polling, microseconds */
	uint64_t fallback_lag;    /* ... sent to the primary: no replica replayed min_lsn in time */
	uint64_t fallback_error;  /* ... sent to the primary: the replica pool failed (acquire or
	                             the replay query) */
} pgorm_router_stats;

/** Create a router over a primary pool and replica pools. cfg is copied.
 * Ownership: *out belongs to the caller (pgorm_router_destroy).
 * Errors: PGORM_EINVAL (NULL out/cfg/primary, n_replicas without replicas, a NULL replica,
 * negative wait_ms), PGORM_ENOMEM; details in *err (optional). */
PGORM_API int pgorm_router_create(pgorm_router **out, const pgorm_router_config *cfg, pgorm_error *err);
/** Free the router (not its pools). Sessions created from it stay usable. Accepts NULL. */
PGORM_API void pgorm_router_destroy(pgorm_router *r);
/** A session for route (see the top of this file). min_lsn: PGORM_LSN_NONE, or an LSN a
 * PGORM_READ session must see (ignored for PGORM_WRITE). A replica connection is borrowed
 * here (waiting at most wait_ms); the primary's, as usual, at the session's first statement.
 * Thread-safe. Ownership: *out belongs to the caller (pgorm_session_destroy); reg and the
 * pools must outlive it. Errors: as pgorm_session_create; details in *err. */
PGORM_API int pgorm_session_create_routed(pgorm_session **out, const pgorm_registry *reg, pgorm_router *r,
                                          pgorm_route route, pgorm_lsn min_lsn,
                                          const pgorm_session_config *cfg, pgorm_error *err);
/** The WAL insert position read right after the session's latest COMMIT (PGORM_WRITE
 * sessions): at or past its commit record. PGORM_LSN_NONE before the first commit or for other
 * sessions; PGORM_LSN_UNKNOWN when the position could not be read after a successful commit,
 * or the latest COMMIT failed or is in doubt (PGORM_ECOMMIT_UNKNOWN). Give it to a later
 * PGORM_READ session as min_lsn. */
PGORM_API pgorm_lsn pgorm_session_commit_lsn(const pgorm_session *s);
/** Whether the session is routed PGORM_READ (writes refused); false for NULL. */
PGORM_API bool pgorm_session_is_read_only(const pgorm_session *s);
/** Copy the router's counters into *out. Thread-safe. */
PGORM_API void pgorm_router_stats_get(pgorm_router *r, pgorm_router_stats *out);

PGORM_END_DECLS

#endif
