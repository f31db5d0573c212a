/* bench/proxy.c — a TCP delay proxy on loopback for the latency-bound benchmark (issue 17).
 *
 *   delay_proxy UPSTREAM [--delay-us N] [--port P]
 *
 * Listens on 127.0.0.1:P (default: a free port) and prints the port on stdout once it accepts
 * connections; every connection is relayed to UPSTREAM (a unix socket path such as
 * /tmp/x/.s.PGSQL.5432, or HOST:PORT), and every chunk of bytes is held N µs (default 250) in
 * each direction before it is passed on, in order: a round trip costs 2 × N more, about what it
 * costs between two machines in one data centre. Bandwidth is not limited (a chunk read while
 * another waits keeps its own deadline). The kernel here has no netem (tc qdisc), hence this.
 * Runs until killed. Not part of the library; no input is trusted beyond the benchmark.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { CHUNK = 64 * 1024 }; /* below malloc's mmap threshold */

static long delay_ns = 250 * 1000L;
static const char *upstream;

typedef struct chunk {
	struct chunk *next;
	struct timespec due;
	size_t len; /* 0: end of stream */
	char data[];
} chunk;

/* One direction: a reader fills the queue, a writer empties it when each chunk is due. */
typedef struct pipe_ {
	int from, to;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	chunk *head, *tail;
	struct conn *owner;
} pipe_;

typedef struct conn {
	pipe_ up, down;
	int client, server;
	int live; /* threads still running, under mu */
	pthread_mutex_t mu;
} conn;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void release(conn *c)
{
	pthread_mutex_lock(&c->mu);
	int left = --c->live;
	pthread_mutex_unlock(&c->mu);
	if (left > 0)
		return;
	close(c->client);
	close(c->server);
	for (pipe_ *p = &c->up; p; p = p == &c->up ? &c->down : NULL) {
		while (p->head) {
			chunk *n = p->head->next;
			free(p->head);
			p->head = n;
		}
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static void push(pipe_ *p, chunk *k)
{
	k->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = k;
	else
		p->head = k;
	p->tail = k;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void *reader(void *arg)
{
	pipe_ *p = arg;
	for (;;) {
		chunk *k = malloc(sizeof *k + CHUNK);
		if (k == NULL)
			die("malloc");
		ssize_t n = read(p->from, k->data, CHUNK);
		if (n < 0 && errno == EINTR) {
			free(k);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &k->due);
		k->due.tv_nsec += delay_ns;
		while (k->due.tv_nsec >= 1000000000L) {
			k->due.tv_nsec -= 1000000000L;
			k->due.tv_sec++;
		}
		k->len = n > 0 ? (size_t)n : 0;
		push(p, k);
		if (n <= 0)
			break;
	}
	release(p->owner);
	return NULL;
}

static void *writer(void *arg)
{
	pipe_ *p = arg;
	bool open_ = true;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->head == NULL)
			pthread_cond_wait(&p->cv, &p->mu);
		chunk *k = p->head;
		p->head = k->next;
		if (p->head == NULL)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &k->due, NULL) == EINTR)
			;
		size_t len = k->len;
		for (size_t off = 0; open_ && off < len;) {
			ssize_t w = write(p->to, k->data + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				open_ = false; /* the other side is gone: drain and drop */
				shutdown(p->from, SHUT_RD);
				break;
			}
			off += (size_t)w;
		}
		free(k);
		if (len == 0) {
			shutdown(p->to, SHUT_WR);
			break;
		}
	}
	release(p->owner);
	return NULL;
}

static int connect_upstream(void)
{
	int fd;
	if (upstream[0] == '/') {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		if (strlen(upstream) >= sizeof a.sun_path)
			die("upstream path too long");
		strcpy(a.sun_path, upstream);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
			return -1;
		return fd;
	}
	char host[256];
	const char *colon = strrchr(upstream, ':');
	if (colon == NULL || (size_t)(colon - upstream) >= sizeof host)
		die("upstream: HOST:PORT or a unix socket path");
	memcpy(host, upstream, (size_t)(colon - upstream));
	host[colon - upstream] = '\0';
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void start(pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	pthread_t t;
	if (pthread_create(&t, attr, fn, arg) != 0)
		die("pthread_create");
}

int main(int argc, char **argv)
{
	int port = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--delay-us") && i + 1 < argc)
			delay_ns = atol(argv[++i]) * 1000L;
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else
			upstream = argv[i];
	}
	if (upstream == NULL) {
		fprintf(stderr, "usage: delay_proxy UPSTREAM [--delay-us N] [--port P]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake on time (inherited by the threads) */
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 64) != 0)
		die("listen");
	socklen_t al = sizeof a;
	getsockname(ls, (struct sockaddr *)&a, &al);
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (;;) {
		int cfd = accept(ls, NULL, NULL);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		int sfd = connect_upstream();
		if (sfd < 0) {
			perror("delay_proxy: upstream");
			close(cfd);
			continue;
		}
		conn *c = calloc(1, sizeof *c);
		if (c == NULL)
			die("calloc");
		c->client = cfd;
		c->server = sfd;
		c->live = 4;
		pthread_mutex_init(&c->mu, NULL);
		c->up = (pipe_){ .from = cfd, .to = sfd, .owner = c };
		c->down = (pipe_){ .from = sfd, .to = cfd, .owner = c };
		pthread_mutex_init(&c->up.mu, NULL);
		pthread_cond_init(&c->up.cv, NULL);
		pthread_mutex_init(&c->down.mu, NULL);
		pthread_cond_init(&c->down.cv, NULL);
		start(&attr, reader, &c->up);
		start(&attr, writer, &c->up);
		start(&attr, reader, &c->down);
		start(&attr, writer, &c->down);
	}
}
