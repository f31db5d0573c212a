/* lib/async_epoll.c — see pgorm/async_epoll.h. */
#include "pgorm/async_epoll.h"
#include "internal.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

typedef struct entry {
	pgorm_op *op;               /* NULL once done (freed at the end of run_once) */
	int fd, events;             /* registered in epoll (fd -1: nothing) */
} entry;

struct pgorm_epoll {
	int ep;
	entry **v;
	size_t n, cap;
	size_t attached;
	int depth;                  /* run_once nesting (a done callback may add or cancel) */
};

int pgorm_epoll_create(pgorm_epoll **out)
{
	if (out == NULL)
		return PGORM_EINVAL;
	*out = NULL;
	pgorm_epoll *l = pgorm__calloc(1, sizeof *l);
	if (l == NULL)
		return PGORM_ENOMEM;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		pgorm__free(l);
		return PGORM_EINVAL;
	}
	*out = l;
	return 0;
}

static uint32_t mask(int events)
{
	return ((events & PGORM_OP_READ) ? EPOLLIN : 0u) | ((events & PGORM_OP_WRITE) ? EPOLLOUT : 0u);
}

/* Make the registration match what the op waits for now (see async.h: a socket the op left
 * may since have been closed and its number reused only by this op, within the same step). */
static void sync_entry(pgorm_epoll *l, entry *e);

/* Unregister fd; an other entry registered on the same number (a done callback started an op
 * that took the connection this one released) registers again. */
static void del_fd(pgorm_epoll *l, int fd, const entry *self)
{
	if (fd < 0)
		return;
	(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	for (size_t i = 0; i < l->n; i++) {
		entry *o = l->v[i];
		if (o != self && o->op != NULL && o->fd == fd) {
			o->fd = -1;
			sync_entry(l, o);
		}
	}
}

static void sync_entry(pgorm_epoll *l, entry *e)
{
	int fd = pgorm_op_fd(e->op), ev = pgorm_op_events(e->op);
	struct epoll_event x = { .events = mask(ev), .data.ptr = e };
	if (fd != e->fd)
		del_fd(l, e->fd, e);
	if (fd >= 0) {
		int op = fd == e->fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
		int r = epoll_ctl(l->ep, op, fd, &x);
		if (r < 0 && errno == ENOENT)
			r = epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &x);
		else if (r < 0 && errno == EEXIST)
			r = epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &x);
		(void)r;
	}
	e->fd = fd;
	e->events = ev;
}

static void drop(pgorm_epoll *l, entry *e)
{
	int fd = e->fd;
	e->fd = -1;
	e->op = NULL;
	del_fd(l, fd, e);
	l->attached--;
}

static void step(pgorm_epoll *l, entry *e, int revents)
{
	pgorm_op *op = e->op;
	if (op == NULL)
		return;
	e->op = NULL; /* while it runs: its done callback may add or cancel ops */
	if (pgorm_op_step(op, revents) != PGORM_OP_PENDING) {
		int fd = e->fd; /* the op is freed */
		e->fd = -1;
		l->attached--;
		del_fd(l, fd, e);
		return;
	}
	e->op = op;
	sync_entry(l, e);
}

static void sweep(pgorm_epoll *l)
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i]->op != NULL)
			l->v[k++] = l->v[i];
		else
			pgorm__free(l->v[i]);
	}
	l->n = k;
}

int pgorm_epoll_add(pgorm_epoll *l, pgorm_op *op)
{
	if (l == NULL || op == NULL)
		return PGORM_EINVAL;
	entry *e = pgorm__calloc(1, sizeof *e);
	if (e != NULL && l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		entry **v = pgorm__realloc(l->v, cap * sizeof *v);
		if (v == NULL) {
			pgorm__free(e);
			e = NULL;
		} else {
			l->v = v;
			l->cap = cap;
		}
	}
	if (e == NULL) {
		pgorm_op_cancel(op);
		return PGORM_ENOMEM;
	}
	e->op = op;
	e->fd = -1;
	l->v[l->n++] = e;
	l->attached++;
	sync_entry(l, e);
	return 0;
}

void pgorm_epoll_cancel(pgorm_epoll *l, pgorm_op *op)
{
	if (l == NULL || op == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		entry *e = l->v[i];
		if (e->op == op) {
			drop(l, e);
			pgorm_op_cancel(op);
			break;
		}
	}
	if (l->depth == 0)
		sweep(l);
}

int pgorm_epoll_fd(const pgorm_epoll *l)
{
	return l == NULL ? -1 : l->ep;
}

int pgorm_epoll_timeout(const pgorm_epoll *l)
{
	int64_t best = -1;
	for (size_t i = 0; l != NULL && i < l->n; i++) {
		if (l->v[i]->op == NULL)
			continue;
		int64_t d = pgorm_op_deadline(l->v[i]->op);
		if (d >= 0 && (best < 0 || d < best))
			best = d;
	}
	if (best < 0)
		return -1;
	int64_t left = best - pgorm_op_now();
	return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

size_t pgorm_epoll_size(const pgorm_epoll *l)
{
	return l == NULL ? 0 : l->attached;
}

size_t pgorm_epoll_run_once(pgorm_epoll *l, int max_wait_ms)
{
	if (l == NULL)
		return 0;
	int t = pgorm_epoll_timeout(l);
	if (max_wait_ms >= 0 && (t < 0 || t > max_wait_ms))
		t = max_wait_ms;
	struct epoll_event ev[64];
	int n = epoll_wait(l->ep, ev, 64, t);
	l->depth++;
	for (int i = 0; i < n; i++) {
		entry *e = ev[i].data.ptr;
		int r = 0;
		if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			r |= PGORM_OP_READ;
		if (ev[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			r |= PGORM_OP_WRITE;
		step(l, e, r);
	}
	int64_t now = pgorm_op_now();
	for (size_t i = 0; i < l->n; i++) { /* l->n may grow: a done callback added an op */
		entry *e = l->v[i];
		if (e->op == NULL)
			continue;
		int64_t d = pgorm_op_deadline(e->op);
		if (d >= 0 && d <= now)
			step(l, e, 0);
	}
	l->depth--;
	if (l->depth == 0)
		sweep(l);
	return l->attached;
}

void pgorm_epoll_run(pgorm_epoll *l)
{
	while (pgorm_epoll_size(l) > 0)
		(void)pgorm_epoll_run_once(l, -1);
}

void pgorm_epoll_destroy(pgorm_epoll *l)
{
	if (l == NULL)
		return;
	l->depth++;
	for (size_t i = 0; i < l->n; i++) {
		entry *e = l->v[i];
		if (e->op != NULL) {
			pgorm_op *op = e->op;
			drop(l, e);
			pgorm_op_cancel(op);
		}
	}
	for (size_t i = 0; i < l->n; i++)
		pgorm__free(l->v[i]);
	pgorm__free(l->v);
	close(l->ep);
	pgorm__free(l);
}
