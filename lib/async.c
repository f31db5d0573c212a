/* lib/async.c — non-blocking operations: each runs the blocking call on a stack of its own
 * and yields to the event loop wherever pgorm waits (lib/wait.h). See pgorm/async.h. */
#include "pgorm/async.h"
#include "internal.h"
#include "wait.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define ASYNC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASYNC_ASAN 1
#endif
#endif
#ifdef ASYNC_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ASYNC_VALGRIND 1
#endif
#endif

#define DEFAULT_STACK (256u * 1024u)

enum kind { K_RUN, K_ACQUIRE, K_GET, K_ALL, K_FIRST, K_REL_LOAD, K_FLUSH, K_COMMIT, K_ROLLBACK };

struct pgorm_op {
	ucontext_t fiber, caller;
	void *map;                  /* guard page + stack */
	size_t map_size;
	pgorm__wait_hook hook;
	pgorm_op_config cfg;
	enum kind kind;
	union {
		struct { int (*fn)(void *); void *arg; } run;
		struct { pgorm_pool *p; pgorm_conn **conn; } acq;
		struct { pgorm_session *s; const pgorm_model *m; const pgorm_value *pk; void **obj; } get;
		struct { pgorm_query *q; pgorm_list *list; void **obj; } q;
		struct { pgorm_session *s; const pgorm_rel *r; void *obj, *dst; } rel;
		pgorm_session *s;
	} a;
	int rc;
	int abort_rc;               /* PGORM_ECLOSED / PGORM_ETIMEDOUT once aborted */
	bool finished;
	int fd, events, revents;    /* what the fiber waits for; what the loop saw */
	int64_t deadline;           /* whole op, -1 none */
	int64_t wait_deadline;      /* this wait, -1 none */
	const void *park_key;       /* parked on a condition (fd -1) */
	bool woken;
	pgorm_op *park_next, *park_prev; /* this thread's parked list */
	pgorm_op_watch_cb watch;
	void *watch_arg;
#ifdef ASYNC_ASAN
	void *fake_caller, *fake_fiber;
	const void *caller_bottom;
	size_t caller_size;
#endif
#ifdef ASYNC_VALGRIND
	unsigned vg_id;
#endif
};

static _Thread_local pgorm_op *starting; /* handed to fiber_main */
static _Thread_local pgorm_op *parked;   /* this thread's ops parked on a condition */
static _Thread_local size_t live;

int64_t pgorm_op_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t after(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : pgorm_op_now() + timeout_ms;
}

/* ---- switching ---- */

static void to_fiber(pgorm_op *op)
{
	pgorm__wait_set_hook(&op->hook);
#ifdef ASYNC_ASAN
	__sanitizer_start_switch_fiber(&op->fake_caller, (char *)op->map + getpagesize(),
	                               op->map_size - (size_t)getpagesize());
#endif
	swapcontext(&op->caller, &op->fiber);
#ifdef ASYNC_ASAN
	__sanitizer_finish_switch_fiber(op->fake_caller, NULL, NULL);
#endif
	pgorm__wait_set_hook(NULL);
}

static void to_caller(pgorm_op *op)
{
#ifdef ASYNC_ASAN
	__sanitizer_start_switch_fiber(op->finished ? NULL : &op->fake_fiber, op->caller_bottom, op->caller_size);
#endif
	swapcontext(&op->fiber, &op->caller);
#ifdef ASYNC_ASAN
	__sanitizer_finish_switch_fiber(op->fake_fiber, &op->caller_bottom, &op->caller_size);
#endif
}

static int body(pgorm_op *op)
{
	switch (op->kind) {
	case K_RUN:
		return op->a.run.fn(op->a.run.arg);
	case K_ACQUIRE:
		return pgorm_pool_acquire_timeout(op->a.acq.p, op->a.acq.conn, op->cfg.timeout_ms, NULL);
	case K_GET:
		return pgorm_session_get(op->a.get.s, op->a.get.m, op->a.get.pk, op->a.get.obj);
	case K_ALL:
		return pgorm_query_all(op->a.q.q, op->a.q.list);
	case K_FIRST:
		return pgorm_query_first(op->a.q.q, op->a.q.obj);
	case K_REL_LOAD:
		return pgorm_rel_load(op->a.rel.s, op->a.rel.r, op->a.rel.obj, op->a.rel.dst);
	case K_FLUSH:
		return pgorm_session_flush(op->a.s);
	case K_COMMIT:
		return pgorm_session_commit(op->a.s);
	case K_ROLLBACK:
		return pgorm_session_rollback(op->a.s);
	}
	return PGORM_EINVAL;
}

static void fiber_main(void)
{
	pgorm_op *op = starting;
#ifdef ASYNC_ASAN
	__sanitizer_finish_switch_fiber(NULL, &op->caller_bottom, &op->caller_size);
#endif
	op->rc = body(op);
	op->finished = true;
	op->fd = -1;
	op->events = 0;
	to_caller(op); /* never resumed */
}

/* ---- the wait hook (runs on the fiber) ---- */

/* Close the socket the op touches once aborted: libpq sees the connection lost at once. */
static void shut(int fd)
{
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

static int aborted_poll(struct pollfd *pfd)
{
	shut(pfd->fd);
	pfd->revents = pfd->fd >= 0 ? (short)(pfd->events | POLLHUP) : 0;
	return pfd->fd >= 0 ? 1 : 0;
}

static int hook_poll(void *ctx, struct pollfd *pfd, int timeout_ms)
{
	pgorm_op *op = ctx;
	pfd->revents = 0;
	if (op->abort_rc != 0)
		return aborted_poll(pfd);
	op->fd = pfd->fd;
	op->events = pfd->fd < 0 ? 0 : ((pfd->events & POLLIN) ? PGORM_OP_READ : 0) |
	                               ((pfd->events & POLLOUT) ? PGORM_OP_WRITE : 0);
	op->wait_deadline = after(timeout_ms);
	for (;;) {
		op->revents = 0;
		to_caller(op);
		if (op->abort_rc != 0)
			break;
		short got = (short)(((op->revents & PGORM_OP_READ) ? POLLIN : 0) |
		                    ((op->revents & PGORM_OP_WRITE) ? POLLOUT : 0));
		got &= (short)(pfd->events | POLLIN); /* hang-ups are read as input */
		if (pfd->fd >= 0 && got != 0) {
			pfd->revents = got;
			op->fd = -1;
			op->events = 0;
			return 1;
		}
		if (op->wait_deadline >= 0 && pgorm_op_now() >= op->wait_deadline) {
			op->fd = -1;
			op->events = 0;
			return 0;
		}
	}
	op->fd = -1;
	op->events = 0;
	return aborted_poll(pfd);
}

static void unpark(pgorm_op *op)
{
	if (op->park_prev != NULL)
		op->park_prev->park_next = op->park_next;
	else
		parked = op->park_next;
	if (op->park_next != NULL)
		op->park_next->park_prev = op->park_prev;
	op->park_key = NULL;
	op->park_next = op->park_prev = NULL;
}

static int hook_park(void *ctx, const void *key, int timeout_ms)
{
	pgorm_op *op = ctx;
	if (op->abort_rc != 0)
		return ECANCELED;
	op->park_key = key;
	op->woken = false;
	op->park_prev = NULL;
	op->park_next = parked;
	if (parked != NULL)
		parked->park_prev = op;
	parked = op;
	op->wait_deadline = after(timeout_ms);
	int r;
	for (;;) {
		to_caller(op);
		if (op->abort_rc != 0) {
			r = ECANCELED;
			break;
		}
		if (op->woken) {
			r = 0;
			break;
		}
		if (op->wait_deadline >= 0 && pgorm_op_now() >= op->wait_deadline) {
			r = ETIMEDOUT;
			break;
		}
	}
	unpark(op);
	op->wait_deadline = -1;
	return r;
}

/* A condition was signalled on this thread: the first op parked on it steps at once. */
static void wake(const void *key)
{
	for (pgorm_op *op = parked; op != NULL; op = op->park_next) {
		if (op->park_key == key && !op->woken) {
			op->woken = true;
			op->wait_deadline = 0;
			if (op->watch != NULL)
				op->watch(op, op->watch_arg);
			return;
		}
	}
}

/* ---- life cycle ---- */

static void op_free(pgorm_op *op)
{
#ifdef ASYNC_VALGRIND
	VALGRIND_STACK_DEREGISTER(op->vg_id);
#endif
	munmap(op->map, op->map_size);
	pgorm__free(op);
	live--;
}

static int start(pgorm_op **out, enum kind kind, pgorm_op *proto, const pgorm_op_config *cfg)
{
	if (out == NULL)
		return PGORM_EINVAL;
	*out = NULL;
	pgorm_op *op = pgorm__calloc(1, sizeof *op);
	if (op == NULL)
		return PGORM_ENOMEM;
	op->a = proto->a;
	op->kind = kind;
	if (cfg != NULL) {
		op->cfg = *cfg;
	} else {
		op->cfg.timeout_ms = -1;
	}
	size_t page = (size_t)getpagesize();
	size_t stack = op->cfg.stack_size != 0 ? op->cfg.stack_size : DEFAULT_STACK;
	stack = (stack + page - 1) / page * page;
	op->map_size = stack + page;
	op->map = mmap(NULL, op->map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (op->map == MAP_FAILED) {
		pgorm__free(op);
		return PGORM_ENOMEM;
	}
	mprotect(op->map, page, PROT_NONE); /* guard: an overflow faults instead of corrupting */
#ifdef ASYNC_VALGRIND
	op->vg_id = VALGRIND_STACK_REGISTER((char *)op->map + page, (char *)op->map + op->map_size);
#endif
	live++;
	op->fd = -1;
	op->wait_deadline = -1;
	op->deadline = after(op->cfg.timeout_ms < 0 ? -1 : (int)op->cfg.timeout_ms);
	op->hook.poll = hook_poll;
	op->hook.park = hook_park;
	op->hook.ctx = op;
	pgorm__wait_set_waker(wake);
	getcontext(&op->fiber);
	op->fiber.uc_stack.ss_sp = (char *)op->map + page;
	op->fiber.uc_stack.ss_size = stack;
	op->fiber.uc_link = NULL;
	makecontext(&op->fiber, fiber_main, 0);
	starting = op;
	to_fiber(op); /* runs until the first wait (or to the end) */
	*out = op;
	return 0;
}

/* The op ended (its fd is -1): the adapter hears it first, through the watch callback, and lets
 * go of the socket before the done callback runs, for that callback may start an op that takes
 * the connection this one released, i.e. the same descriptor (libuv allows one poll handle per
 * descriptor; issue 19). */
static int finish(pgorm_op *op)
{
	int rc = op->abort_rc != 0 ? op->abort_rc : op->rc;
	if (op->watch != NULL)
		op->watch(op, op->watch_arg);
	if (op->cfg.done != NULL)
		op->cfg.done(op, rc, op->cfg.arg);
	op_free(op);
	return rc;
}

static void abort_op(pgorm_op *op, int rc)
{
	op->abort_rc = rc;
	shut(op->fd);
}

int pgorm_op_step(pgorm_op *op, int revents)
{
	if (op == NULL)
		return PGORM_EINVAL;
	if (!op->finished) {
		if (op->deadline >= 0 && pgorm_op_now() >= op->deadline)
			abort_op(op, PGORM_ETIMEDOUT);
		op->revents = revents;
		to_fiber(op);
	}
	return op->finished ? finish(op) : PGORM_OP_PENDING;
}

void pgorm_op_cancel(pgorm_op *op)
{
	if (op == NULL)
		return;
	if (!op->finished) {
		abort_op(op, PGORM_ECLOSED);
		while (!op->finished) /* every wait now returns at once */
			to_fiber(op);
	}
	(void)finish(op);
}

int pgorm_op_fd(const pgorm_op *op)
{
	return op == NULL ? -1 : op->fd;
}

int pgorm_op_events(const pgorm_op *op)
{
	return op == NULL ? 0 : op->events;
}

int64_t pgorm_op_deadline(const pgorm_op *op)
{
	if (op == NULL || op->finished)
		return 0;
	int64_t a = op->deadline, b = op->wait_deadline;
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

int pgorm_op_timeout(const pgorm_op *op)
{
	int64_t d = pgorm_op_deadline(op);
	if (d < 0)
		return -1;
	int64_t left = d - pgorm_op_now();
	return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

void pgorm_op_set_watch(pgorm_op *op, pgorm_op_watch_cb cb, void *arg)
{
	if (op == NULL)
		return;
	op->watch = cb;
	op->watch_arg = arg;
}

void *pgorm_op_watch_data(const pgorm_op *op)
{
	return op == NULL ? NULL : op->watch_arg;
}

size_t pgorm_op_count(void)
{
	return live;
}

/* ---- the operations ---- */

int pgorm_async_run(pgorm_op **out, int (*fn)(void *arg), void *arg, const pgorm_op_config *cfg)
{
	if (fn == NULL)
		return PGORM_EINVAL;
	pgorm_op p = { .a.run = { fn, arg } };
	return start(out, K_RUN, &p, cfg);
}

int pgorm_async_acquire(pgorm_op **out, pgorm_pool *pool, pgorm_conn **conn, const pgorm_op_config *cfg)
{
	pgorm_op p = { .a.acq = { pool, conn } };
	return start(out, K_ACQUIRE, &p, cfg);
}

int pgorm_async_get(pgorm_op **out, pgorm_session *s, const pgorm_model *m, const pgorm_value *pk, void **obj,
                    const pgorm_op_config *cfg)
{
	pgorm_op p = { .a.get = { s, m, pk, obj } };
	return start(out, K_GET, &p, cfg);
}

int pgorm_async_query_all(pgorm_op **out, pgorm_query *q, pgorm_list *list, const pgorm_op_config *cfg)
{
	pgorm_op p = { .a.q = { q, list, NULL } };
	return start(out, K_ALL, &p, cfg);
}

int pgorm_async_query_first(pgorm_op **out, pgorm_query *q, void **obj, const pgorm_op_config *cfg)
{
	pgorm_op p = { .a.q = { q, NULL, obj } };
	return start(out, K_FIRST, &p, cfg);
}

int pgorm_async_rel_load(pgorm_op **out, pgorm_session *s, const pgorm_rel *r, void *obj, void *dst,
                         const pgorm_op_config *cfg)
{
	pgorm_op p = { .a.rel = { s, r, obj, dst } };
	return start(out, K_REL_LOAD, &p, cfg);
}

int pgorm_async_flush(pgorm_op **out, pgorm_session *s, const pgorm_op_config *cfg)
{
	pgorm_op p = { .a.s = s };
	return start(out, K_FLUSH, &p, cfg);
}

int pgorm_async_commit(pgorm_op **out, pgorm_session *s, const pgorm_op_config *cfg)
{
	pgorm_op p = { .a.s = s };
	return start(out, K_COMMIT, &p, cfg);
}

int pgorm_async_rollback(pgorm_op **out, pgorm_session *s, const pgorm_op_config *cfg)
{
	pgorm_op p = { .a.s = s };
	return start(out, K_ROLLBACK, &p, cfg);
}
