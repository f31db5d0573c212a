/* test/common/pgproxy.h — a fault-injecting TCP proxy for the PostgreSQL protocol (v3), for
 * tests that must lose a connection at an exact point of a conversation.
 *
 * It listens on 127.0.0.1 (an ephemeral port) and forwards every connection to a server on
 * 127.0.0.1, message by message, in two threads per connection (one per direction, so a
 * pipeline never deadlocks it). Armed with a needle, the first frontend message whose SQL
 * contains it — a simple Query ('Q') or a Parse ('P'), on any connection — triggers an action,
 * once. Statements sent as Bind of a statement prepared earlier carry no SQL: give the proxy
 * fresh connections or PGORM_STMT_UNNAMED. Clients must not ask for TLS or GSS encryption
 * through it (sslmode=disable gssencmode=disable; pgproxy_dsn adds them).
 */
#ifndef PGPROXY_H
#define PGPROXY_H

#include <stdbool.h>
#include <stddef.h>

typedef enum pgproxy_action {
	/* Close both sides instead of forwarding the message: the server never sees it (its
	 * transaction rolls back when it sees the end of the connection). */
	PGPROXY_DROP_BEFORE = 1,
	/* Forward the message (and the rest of its batch, up to a Query or Sync), let the server
	 * answer it completely (up to ReadyForQuery), relay none of that answer, then close both
	 * sides: the server has done the work, the client never hears of it. */
	PGPROXY_DROP_REPLY,
	/* As DROP_REPLY, but the answer is relayed up to (not including) its ReadyForQuery: the
	 * client has every result and never learns that the batch ended. */
	PGPROXY_DROP_AT_READY
} pgproxy_action;

typedef struct pgproxy pgproxy;

/* Start a proxy to 127.0.0.1:server_port; NULL on error (message on stderr). */
pgproxy *pgproxy_start(int server_port);
/* The port the proxy listens on. */
int pgproxy_port(const pgproxy *p);
/* A conninfo through the proxy: "host=127.0.0.1 port=<proxy> sslmode=disable
 * gssencmode=disable " followed by extra (e.g. "user=postgres dbname=postgres"). */
void pgproxy_dsn(const pgproxy *p, char *buf, size_t n, const char *extra);
/* Arm: the next message containing needle triggers action (needle is copied). Thread-safe. */
void pgproxy_arm(pgproxy *p, pgproxy_action action, const char *needle);
/* Disarm without firing. Thread-safe. */
void pgproxy_disarm(pgproxy *p);
/* How many times an armed action fired since the start. Thread-safe. */
int pgproxy_fired(pgproxy *p);
/* Drop every open connection (both sides), as a network failure would. Thread-safe. */
void pgproxy_drop_all(pgproxy *p);
/* Close every connection and the listener, join the threads, free. Accepts NULL. */
void pgproxy_stop(pgproxy *p);

#endif
