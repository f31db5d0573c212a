/* test/common/pgcluster.c — see pgcluster.h. */
#include "pgcluster.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double pgtest_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void pgtest_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

const char *pgcluster_run_as(void) { return getuid() == 0 ? "runuser -u postgres -- " : ""; }

int pgcluster_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static const char *pgtmp_path(void)
{
	const char *pgtmp = getenv("PGTMP");
	if (pgtmp == NULL) {
		fprintf(stderr, "PGTMP (path of test/pgtmp) is not set; run through meson test\n");
		exit(1);
	}
	return pgtmp;
}

/* One `pgtmp start`: the conninfo line on success. */
static bool start_once(pgcluster *c, const char *const *env)
{
	for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)strcspn(env[i], "="), env[i]);
		const char *eq = strchr(env[i], '=');
		setenv(name, eq ? eq + 1 : "", 1);
	}
	char port[32] = "";
	if (c->port > 0) {
		snprintf(port, sizeof port, "%d", c->port);
		setenv("PGTMP_PORT", port, 1);
	}
	char cmd[600];
	snprintf(cmd, sizeof cmd, "'%s' start '%s'", pgtmp_path(), c->dir);
	FILE *f = popen(cmd, "r");
	bool ok = f != NULL && fgets(c->dsn, sizeof c->dsn, f) != NULL;
	if (f != NULL) {
		char rest[512]; /* more lines (replicas): drained, so that pgtmp never writes to a closed pipe */
		while (fgets(rest, sizeof rest, f) != NULL)
			;
		ok = pclose(f) == 0 && ok;
	}
	unsetenv("PGTMP_PORT");
	for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)strcspn(env[i], "="), env[i]);
		unsetenv(name);
	}
	c->dsn[strcspn(c->dsn, "\n")] = '\0';
	return ok;
}

void pgcluster_start(pgcluster *c, const char *tag, bool tcp, const char *const *env)
{
	memset(c, 0, sizeof *c);
	snprintf(c->dir, sizeof c->dir, "/tmp/pgc.%s.%d", tag, (int)getpid());
	for (int attempt = 0; attempt < 3; attempt++) {
		c->port = tcp ? pgcluster_free_port() : 0;
		if (start_once(c, env)) {
			if (c->port == 0)
				c->port = 5432; /* pgtmp's port on the unix socket */
			return;
		}
		pgcluster_stop(c); /* a port taken meanwhile: try another */
		if (!tcp)
			break;
	}
	fprintf(stderr, "pgcluster: cannot start a throwaway cluster in %s (see above)\n", c->dir);
	exit(1);
}

void pgcluster_replica_dsn(const pgcluster *c, int i, char *buf, size_t n)
{
	char path[320];
	snprintf(path, sizeof path, "%s/replica%d/dsn", c->dir, i);
	FILE *f = fopen(path, "r");
	bool ok = f != NULL && fgets(buf, (int)n, f) != NULL;
	if (f != NULL)
		fclose(f);
	if (!ok) {
		fprintf(stderr, "pgcluster: no replica %d in %s\n", i, c->dir);
		exit(1);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

void pgcluster_stop(pgcluster *c)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "'%s' stop '%s'", pgtmp_path(), c->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: %s failed\n", cmd);
}

int pgcluster_ctl(const pgcluster *c, const char *action)
{
	char cmd[800];
	snprintf(cmd, sizeof cmd, "'%s' ctl '%s' %s >/dev/null", pgtmp_path(), c->dir, action);
	return system(cmd);
}

void pgcluster_bouncer_start(pgcluster_bouncer *b, const pgcluster *c, const char *db, const char *pool_mode, int pool_size)
{
	memset(b, 0, sizeof *b);
	b->port = pgcluster_free_port();
	snprintf(b->dir, sizeof b->dir, "%.200s/pgbouncer.%d", c->dir, b->port);
	char cmd[1200], path[400];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s' && chmod 755 '%s'", b->dir, b->dir);
	bool ok = b->port > 0 && system(cmd) == 0;
	snprintf(path, sizeof path, "%s/users.txt", b->dir);
	FILE *f = ok ? fopen(path, "w") : NULL;
	if (f != NULL) {
		fprintf(f, "\"postgres\" \"\"\n");
		fclose(f);
	}
	snprintf(path, sizeof path, "%s/pgbouncer.ini", b->dir);
	f = f != NULL ? fopen(path, "w") : NULL;
	if (f == NULL) {
		fprintf(stderr, "pgbouncer: cannot write its files in %s\n", b->dir);
		exit(1);
	}
	fprintf(f, "[databases]\n%s = host=%s port=%d dbname=%s user=postgres\n\n"
	        "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n"
	        "auth_type = trust\nauth_file = %s/users.txt\nadmin_users = postgres\n"
	        "pool_mode = %s\ndefault_pool_size = %d\nmax_client_conn = 500\n"
	        "ignore_startup_parameters = extra_float_digits,options\n"
	        "logfile = %s/pgbouncer.log\npidfile = %s/pgbouncer.pid\n",
	        db, c->dir, c->port, db, b->port, b->dir, pool_mode, pool_size, b->dir, b->dir);
	fclose(f);
	if (getuid() == 0) {
		snprintf(cmd, sizeof cmd, "chown -R postgres: '%s'", b->dir);
		if (system(cmd) != 0) {
			fprintf(stderr, "pgbouncer: cannot hand %s to the postgres user\n", b->dir);
			exit(1);
		}
	}
	snprintf(cmd, sizeof cmd, "%spgbouncer -q -d '%s'", pgcluster_run_as(), path);
	if (system(cmd) != 0) {
		fprintf(stderr, "pgbouncer: did not start (is the 'pgbouncer' package installed?): %s\n", cmd);
		exit(1);
	}
	snprintf(b->dsn, sizeof b->dsn, "host=127.0.0.1 port=%d user=postgres dbname=%s", b->port, db);
	for (int i = 0; i < 500; i++) { /* bounded: 5 s */
		if (PQping(b->dsn) == PQPING_OK)
			return;
		pgtest_sleep_ms(10);
	}
	fprintf(stderr, "pgbouncer: not answering on port %d (log: %s/pgbouncer.log)\n", b->port, b->dir);
	exit(1);
}

void pgcluster_bouncer_stop(pgcluster_bouncer *b)
{
	char path[400];
	snprintf(path, sizeof path, "%s/pgbouncer.pid", b->dir);
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (f != NULL) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 250 && kill(pid, 0) == 0; i++)
			pgtest_sleep_ms(20);
	}
}
