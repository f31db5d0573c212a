/* lib/async_uv.c — see pgorm/async_uv.h. Uses only the public API of libpgorm. */
#include "pgorm/async_uv.h"

#include <stdlib.h>

typedef struct attach {
	uv_loop_t *loop;
	pgorm_op *op;               /* NULL once ended */
	uv_poll_t *poll;            /* on fd, or NULL */
	int fd;
	uv_timer_t timer;
	int open_handles;           /* freed when the last one closed */
} attach;

static void sync_watch(attach *a);

static void handle_closed(uv_handle_t *h)
{
	attach *a = h->data;
	if (h != (uv_handle_t *)&a->timer)
		free(h);
	if (--a->open_handles == 0)
		free(a);
}

static void poll_drop(attach *a)
{
	if (a->poll == NULL)
		return;
	uv_poll_stop(a->poll);
	uv_close((uv_handle_t *)a->poll, handle_closed);
	a->poll = NULL;
	a->fd = -1;
}

static void end(attach *a)
{
	a->op = NULL;
	poll_drop(a);
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->timer, handle_closed);
}

static void step(attach *a, int revents)
{
	pgorm_op *op = a->op;
	if (op == NULL)
		return;
	if (pgorm_op_step(op, revents) != PGORM_OP_PENDING) {
		end(a); /* the op is freed */
		return;
	}
	sync_watch(a);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	attach *a = h->data;
	int r = 0;
	if (status < 0 || (events & (UV_READABLE | UV_DISCONNECT)))
		r |= PGORM_OP_READ;
	if (status < 0 || (events & UV_WRITABLE))
		r |= PGORM_OP_WRITE;
	step(a, r);
}

static void on_timer(uv_timer_t *t)
{
	step(t->data, 0);
}

/* Make the handles follow what the op waits for now. The poll handle is restarted after every
 * step: the socket may have been closed and its number reused by a new connection. */
static void sync_watch(attach *a)
{
	int fd = pgorm_op_fd(a->op), ev = pgorm_op_events(a->op);
	if (fd != a->fd)
		poll_drop(a);
	if (fd >= 0) {
		if (a->poll == NULL) {
			a->poll = malloc(sizeof *a->poll);
			if (a->poll == NULL || uv_poll_init(a->loop, a->poll, fd) != 0) {
				free(a->poll);
				a->poll = NULL;
			} else {
				a->poll->data = a;
				a->fd = fd;
				a->open_handles++;
			}
		} else {
			uv_poll_stop(a->poll);
		}
		if (a->poll != NULL)
			uv_poll_start(a->poll, ((ev & PGORM_OP_READ) ? UV_READABLE : 0) |
			                       ((ev & PGORM_OP_WRITE) ? UV_WRITABLE : 0) | UV_DISCONNECT, on_poll);
	}
	int t = pgorm_op_timeout(a->op);
	if (a->poll == NULL && fd >= 0 && (t < 0 || t > 10))
		t = 10; /* no poll handle (out of memory, or UV_EEXIST): try again soon, not at the deadline */
	if (t >= 0)
		uv_timer_start(&a->timer, on_timer, (uint64_t)t, 0);
	else
		uv_timer_stop(&a->timer);
}

/* Also called when the op ended, before its done callback: the poll handle goes at once, so an
 * op the done callback starts on the same connection can watch the descriptor (libuv allows one
 * poll handle per descriptor; issue 19). */
static void on_watch(pgorm_op *op, void *arg)
{
	(void)op;
	sync_watch(arg);
}

int pgorm_uv_attach(uv_loop_t *loop, pgorm_op *op)
{
	if (loop == NULL || op == NULL)
		return PGORM_EINVAL;
	attach *a = calloc(1, sizeof *a);
	if (a == NULL) {
		pgorm_op_cancel(op);
		return PGORM_ENOMEM;
	}
	a->loop = loop;
	a->op = op;
	a->fd = -1;
	uv_timer_init(loop, &a->timer);
	a->timer.data = a;
	a->open_handles = 1;
	pgorm_op_set_watch(op, on_watch, a);
	sync_watch(a);
	return 0;
}

void pgorm_uv_cancel(pgorm_op *op)
{
	attach *a = op != NULL ? pgorm_op_watch_data(op) : NULL;
	if (a == NULL || a->op != op)
		return;
	pgorm_op_cancel(op);
	end(a);
}
