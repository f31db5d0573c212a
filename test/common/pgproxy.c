/* test/common/pgproxy.c — see pgproxy.h. */
#include "pgproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXLINKS 512

typedef struct pxlink {
	struct pgproxy *px;
	int cfd, sfd;
	pthread_t up, down;      /* client -> server, server -> client */
	/* under px->mu */
	bool swallow;            /* the server's output is not relayed any more (DROP_REPLY) */
	long syncs;              /* Query / Sync messages forwarded */
	long close_at;           /* > 0: drop both sides at this ReadyForQuery */
	bool reply_pending;      /* DROP_REPLY / AT_READY fired: close_at is set at the batch's end */
} pxlink;

struct pgproxy {
	int lfd, port, server_port;
	pthread_t acceptor;
	pthread_mutex_t mu;
	pgproxy_action action;
	char needle[256];
	bool armed, stopping;
	int fired;
	pxlink *links[MAXLINKS];
	size_t nlinks;
};

static bool read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t k = recv(fd, p, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static bool write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* One message: typed (type byte + length) or the untyped startup packet. *buf grows as
 * needed; *len is the whole message's size in bytes. */
static bool read_msg(int fd, bool typed, unsigned char **buf, size_t *cap, size_t *len)
{
	size_t hdr = typed ? 5 : 4;
	if (*cap < hdr) {
		unsigned char *nb = realloc(*buf, 64);
		if (nb == NULL)
			return false;
		*buf = nb;
		*cap = 64;
	}
	if (!read_full(fd, *buf, hdr))
		return false;
	uint32_t l = be32(*buf + hdr - 4);
	if (l < 4 || l > (1u << 30))
		return false;
	size_t total = hdr + l - 4;
	if (total > *cap) {
		unsigned char *nb = realloc(*buf, total);
		if (nb == NULL)
			return false;
		*buf = nb;
		*cap = total;
	}
	*len = total;
	return read_full(fd, *buf + hdr, total - hdr);
}

static void drop_link(pxlink *l)
{
	shutdown(l->cfd, SHUT_RDWR);
	shutdown(l->sfd, SHUT_RDWR);
}

/* The SQL of a Query or Parse message, NUL-terminated inside the message, or NULL. */
static const char *msg_sql(const unsigned char *m, size_t len)
{
	const char *body = (const char *)m + 5, *end = (const char *)m + len;
	if (m[0] == 'Q')
		return memchr(body, '\0', (size_t)(end - body)) ? body : NULL;
	if (m[0] == 'P') {
		const char *nul = memchr(body, '\0', (size_t)(end - body));
		if (nul == NULL || memchr(nul + 1, '\0', (size_t)(end - nul - 1)) == NULL)
			return NULL;
		return nul + 1;
	}
	return NULL;
}

static void *up_thread(void *arg)
{
	pxlink *l = arg;
	pgproxy *px = l->px;
	unsigned char *buf = NULL;
	size_t cap = 0, len = 0;
	bool typed = false;
	while (read_msg(l->cfd, typed, &buf, &cap, &len)) {
		if (!typed) {
			uint32_t code = be32(buf + 4);
			if (code == 80877103u || code == 80877104u) {
				fprintf(stderr, "pgproxy: the client asked for TLS/GSS encryption; use sslmode=disable "
				        "gssencmode=disable\n");
				break;
			}
			typed = code != 80877102u; /* after a cancel request nothing follows */
		} else {
			const char *sql = msg_sql(buf, len);
			pthread_mutex_lock(&px->mu);
			bool fire = px->armed && sql != NULL && strstr(sql, px->needle) != NULL;
			pgproxy_action act = px->action;
			if (fire) {
				px->armed = false;
				px->fired++;
				l->swallow = act == PGPROXY_DROP_REPLY;
				l->reply_pending = act != PGPROXY_DROP_BEFORE;
			}
			pthread_mutex_unlock(&px->mu);
			if (fire && act == PGPROXY_DROP_BEFORE)
				break;
		}
		if (typed && (buf[0] == 'Q' || buf[0] == 'S')) {
			/* before the write: its ReadyForQuery may come back at once */
			pthread_mutex_lock(&px->mu);
			l->syncs++;
			if (l->reply_pending) {
				l->reply_pending = false;
				l->close_at = l->syncs;
			}
			pthread_mutex_unlock(&px->mu);
		}
		if (!write_full(l->sfd, buf, len))
			break;
		if (buf[0] == 'X' && typed)
			break; /* Terminate */
	}
	free(buf);
	drop_link(l);
	return NULL;
}

static void *down_thread(void *arg)
{
	pxlink *l = arg;
	pgproxy *px = l->px;
	unsigned char *buf = NULL;
	size_t cap = 0, len = 0;
	long ready = -1; /* the first ReadyForQuery ends the startup, it answers no Query/Sync */
	while (read_msg(l->sfd, true, &buf, &cap, &len)) {
		if (buf[0] == 'Z')
			ready++;
		pthread_mutex_lock(&px->mu);
		bool swallow = l->swallow;
		bool close_now = buf[0] == 'Z' && l->close_at > 0 && ready >= l->close_at;
		pthread_mutex_unlock(&px->mu);
		if (close_now)
			break;
		if (!swallow && !write_full(l->cfd, buf, len))
			break;
	}
	free(buf);
	drop_link(l);
	return NULL;
}

static int connect_server(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void *accept_thread(void *arg)
{
	pgproxy *px = arg;
	for (;;) {
		int cfd = accept(px->lfd, NULL, NULL);
		pthread_mutex_lock(&px->mu);
		bool stopping = px->stopping;
		pthread_mutex_unlock(&px->mu);
		if (cfd < 0) {
			if (stopping || (errno != EINTR && errno != ECONNABORTED))
				break;
			continue;
		}
		if (stopping) {
			close(cfd);
			break;
		}
		int one = 1;
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		int sfd = connect_server(px->server_port);
		pxlink *l = sfd >= 0 ? calloc(1, sizeof *l) : NULL;
		if (l == NULL) {
			if (sfd >= 0)
				close(sfd);
			close(cfd);
			continue;
		}
		l->px = px;
		l->cfd = cfd;
		l->sfd = sfd;
		pthread_mutex_lock(&px->mu);
		bool room = px->nlinks < MAXLINKS;
		if (room)
			px->links[px->nlinks++] = l;
		pthread_mutex_unlock(&px->mu);
		if (!room) {
			fprintf(stderr, "pgproxy: more than %d connections\n", MAXLINKS);
			close(sfd);
			close(cfd);
			free(l);
			continue;
		}
		pthread_create(&l->up, NULL, up_thread, l);
		pthread_create(&l->down, NULL, down_thread, l);
	}
	return NULL;
}

pgproxy *pgproxy_start(int server_port)
{
	pgproxy *px = calloc(1, sizeof *px);
	if (px == NULL)
		return NULL;
	px->server_port = server_port;
	pthread_mutex_init(&px->mu, NULL);
	px->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	if (px->lfd < 0 || bind(px->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(px->lfd, 64) != 0 ||
	    getsockname(px->lfd, (struct sockaddr *)&a, &alen) != 0) {
		perror("pgproxy: listen");
		if (px->lfd >= 0)
			close(px->lfd);
		pthread_mutex_destroy(&px->mu);
		free(px);
		return NULL;
	}
	px->port = ntohs(a.sin_port);
	pthread_create(&px->acceptor, NULL, accept_thread, px);
	return px;
}

int pgproxy_port(const pgproxy *p) { return p->port; }

void pgproxy_dsn(const pgproxy *p, char *buf, size_t n, const char *extra)
{
	snprintf(buf, n, "host=127.0.0.1 port=%d sslmode=disable gssencmode=disable %s", p->port, extra ? extra : "");
}

void pgproxy_arm(pgproxy *p, pgproxy_action action, const char *needle)
{
	pthread_mutex_lock(&p->mu);
	p->action = action;
	snprintf(p->needle, sizeof p->needle, "%s", needle);
	p->armed = true;
	pthread_mutex_unlock(&p->mu);
}

void pgproxy_disarm(pgproxy *p)
{
	pthread_mutex_lock(&p->mu);
	p->armed = false;
	pthread_mutex_unlock(&p->mu);
}

int pgproxy_fired(pgproxy *p)
{
	pthread_mutex_lock(&p->mu);
	int n = p->fired;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void pgproxy_drop_all(pgproxy *p)
{
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->nlinks; i++)
		drop_link(p->links[i]);
	pthread_mutex_unlock(&p->mu);
}

void pgproxy_stop(pgproxy *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_mutex_unlock(&p->mu);
	shutdown(p->lfd, SHUT_RDWR); /* wakes accept() */
	pthread_join(p->acceptor, NULL);
	close(p->lfd);
	pgproxy_drop_all(p);
	for (size_t i = 0; i < p->nlinks; i++) {
		pxlink *l = p->links[i];
		pthread_join(l->up, NULL);
		pthread_join(l->down, NULL);
		close(l->cfd);
		close(l->sfd);
		free(l);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}
