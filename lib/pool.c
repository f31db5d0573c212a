/* lib/pool.c — the connection pool: see include/pgorm/pool.h for the contract.
 *
 * One mutex guards the pool state. Blocking work (connect, init SQL, ping, ROLLBACK, PQfinish,
 * poll of an idle socket) always runs with the mutex released, on a connection that the running
 * thread owns exclusively at that moment (borrowed, being returned, or detached from the pool).
 * Waiters queue FIFO, each with its own condition variable. The maintenance thread hands a new
 * connection directly to the first waiter; a release does so once that waiter has waited
 * HANDOFF_MS at the head (give_back), else it puts the connection on the idle list and wakes the
 * waiter. No wake-up is lost (hand-offs and wake-ups are recorded under the mutex before the
 * signal). Every connect runs on the maintenance thread.
 *
 * Handles: the pgorm_conn pointer a borrow hands out is that borrow's only. When a connection
 * whose handle was handed out before is acquired again, rotate_handle (under the mutex) gives
 * the slot a new address and move_handle (after the mutex is released) moves the state there
 * (pgorm__conn_move); the old address is retired into a FIFO quarantine (a ring of pointers) at
 * that borrow's release. Closed connections' structs go there too. A handle's memory is never
 * freed before pgorm_pool_destroy (out of the quarantine it is reused, or kept on a spare list
 * for the next new connection), so a release reads any pointer's pool_slot safely: a retired
 * handle's is NULL, a live one's names its slot, whose conn must be that same pointer. See
 * "Stale handles" in pgorm/pool.h.
 */
#include "pool.h"
#include "wait.h"
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* PostgreSQL's own ceiling for max_connections: a larger pool cannot be meant. */
#define MAX_POOL_SIZE 262143
/* Retired handles kept before their memory is reused or freed: at least this many, and at
 * least QUARANTINE_PER_CONN per connection of max_size. */
#define QUARANTINE_MIN 64
#define QUARANTINE_PER_CONN 4

/* ---- clocks, randomness, fork detection ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The fast path's clock: a vDSO read of the tick counter (a few ns, 1-4 ms resolution). */
static int64_t coarse_ms(void)
{
	struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
	clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
	return (int64_t)ts.tv_sec * 1000 + (int64_t)((unsigned long)ts.tv_nsec / 1000000u);
}

static uint64_t rng_next(pgorm_pool *p)
{
	uint64_t x = p->rng; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	p->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* 0..n inclusive */
static long rng_upto(pgorm_pool *p, long n) { return n <= 0 ? 0 : (long)(rng_next(p) % (uint64_t)(n + 1)); }

/* getpid() is a system call: instead, a counter bumped in every child by pthread_atfork. */
static atomic_uint fork_counter;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void on_fork_child(void) { atomic_fetch_add_explicit(&fork_counter, 1, memory_order_relaxed); }
static void fork_register(void) { pthread_atfork(NULL, NULL, on_fork_child); }

static bool forked(const pgorm_pool *p)
{
	return atomic_load_explicit(&fork_counter, memory_order_relaxed) != p->fork_gen;
}

static void to_timespec(int64_t ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

/* ---- every open connection (mutex held) ---- */

static void slots_add(pgorm_pool *p, pgorm__pool_slot *s)
{
	s->pool = p;
	s->idx = p->nslots;
	p->slots[p->nslots++] = s;
}

static void slots_remove(pgorm_pool *p, pgorm__pool_slot *s)
{
	pgorm__pool_slot *last = p->slots[--p->nslots];
	last->idx = s->idx;
	p->slots[s->idx] = last;
}

/* ---- lists ---- */

static void idle_push(pgorm_pool *p, pgorm__pool_slot *s)
{
	s->state = PGORM__SLOT_IDLE;
	s->prev = NULL;
	s->next = p->idle_head;
	if (p->idle_head != NULL)
		p->idle_head->prev = s;
	else
		p->idle_tail = s;
	p->idle_head = s;
	p->idle_n++;
}

static void idle_unlink(pgorm_pool *p, pgorm__pool_slot *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		p->idle_head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	else
		p->idle_tail = s->prev;
	s->prev = s->next = NULL;
	p->idle_n--;
}

static void waiter_unlink(pgorm_pool *p, pgorm__pool_waiter *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		p->wq_head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		p->wq_tail = w->prev;
	w->prev = w->next = NULL;
	p->waiters_n--;
}

/* ---- retired handles (mutex held) ---- */

/* Clear a handle's error unless it is clear already (no write to memory that need not be
 * touched: the quarantine and handle_memory keep handles whose error is clear). */
static inline void clear_handle_err(pgorm_conn *c)
{
	if (c->err.code != 0 || c->err.message[0] != '\0' || c->err.stmt_index != -1)
		pgorm_error_clear(&c->err);
}

/* Take the oldest handle out of the quarantine (it must hold one). */
static inline pgorm_conn *ring_pop(pgorm_pool *p)
{
	pgorm_conn *c = p->ring[p->ring_head];
	if (++p->ring_head == p->ret_cap)
		p->ring_head = 0;
	p->ret_n--;
	return c;
}

/* Take a handle's memory off the spare list (it must hold one). */
static inline pgorm_conn *spare_pop(pgorm_pool *p)
{
	pgorm__retired *r = p->spare;
	p->spare = r->next;
	return (pgorm_conn *)(void *)r;
}

/* Put the memory of a handle that names nothing any more at the end of the quarantine, its
 * pool link cleared, its error too when clear_err (handle_memory hands out memory whose error
 * is clear). The oldest one moves to the spare list when the quarantine is full. Handle memory
 * is freed only by pgorm_pool_destroy, so a release may read any pointer the pool handed out. */
static inline void retire_handle(pgorm_pool *p, pgorm_conn *c, bool clear_err)
{
	c->pool_slot = NULL;
	if (clear_err)
		clear_handle_err(c);
	if (p->ret_n == p->ret_cap) {
		pgorm__retired *old = (pgorm__retired *)(void *)ring_pop(p);
		old->next = p->spare;
		p->spare = old;
	}
	uint32_t i = p->ring_head + p->ret_n;
	p->ring[i >= p->ret_cap ? i - p->ret_cap : i] = c;
	p->ret_n++;
}

/* Memory for a new handle whose error is clear: the oldest retired one once the quarantine
 * is full, else a spare one, else new memory (NULL when out of memory). */
static inline pgorm_conn *handle_memory(pgorm_pool *p)
{
	if (p->ret_n == p->ret_cap)
		return ring_pop(p);
	if (p->spare != NULL)
		return spare_pop(p);
	pgorm_conn *fresh = pgorm__calloc(1, sizeof *fresh);
	if (fresh != NULL)
		pgorm_error_clear(&fresh->err);
	return fresh;
}

/* At acquire (mutex held): when the connection's handle was handed out before, give the
 * borrow a new address and return the old one, whose state the caller moves with
 * move_handle once the mutex is released (nobody else dereferences either meanwhile); the
 * old address is retired at this borrow's release. NULL when the handle is unused. false
 * when out of memory. */
static bool rotate_handle(pgorm_pool *p, pgorm__pool_slot *s, pgorm_conn **prev)
{
	*prev = NULL;
	if (!s->handle_used) {
		s->handle_used = true;
		return true;
	}
	pgorm_conn *fresh = handle_memory(p);
	if (fresh == NULL)
		return false;
	*prev = s->old = s->conn;
	s->conn = fresh;
	return true;
}

/* Mutex not held: the borrow's state moves to its new address (see rotate_handle); the old
 * memory's error is cleared while it is warm (the quarantine keeps only clear errors). */
static void move_handle(pgorm__pool_slot *s, pgorm_conn *prev)
{
	pgorm__conn_move(s->conn, prev);
	clear_handle_err(prev);
}

static void retired_free_all(pgorm_pool *p)
{
	while (p->ret_n > 0)
		pgorm__free(ring_pop(p));
	while (p->spare != NULL)
		pgorm__free(spare_pop(p));
}

/* ---- accounting, all with the mutex held ---- */

static bool need_connect(const pgorm_pool *p)
{
	if (p->closing || p->size + p->opening >= p->cfg.max_size)
		return false;
	return p->waiters_n > p->opening || p->idle_n + p->opening < p->cfg.min_idle;
}

static void wake_maint_if_needed(pgorm_pool *p)
{
	if (need_connect(p))
		pthread_cond_signal(&p->maint_cond);
}

static void borrow(pgorm_pool *p, pgorm__pool_slot *s, int64_t now)
{
	s->state = PGORM__SLOT_BORROWED;
	s->borrowed_ms = now;
	p->in_use++;
	p->acquires++;
}

/* Wake the first waiter for a connection on the idle list, unless it is awake already. */
static void signal_head(pgorm_pool *p)
{
	pgorm__pool_waiter *w = p->wq_head;
	if (w != NULL && !w->signaled && p->idle_head != NULL) {
		w->signaled = true;
		pgorm__cond_signal(&w->cond);
	}
}

/* A free connection: a new one goes to the first waiter. A released one goes on the idle list
 * and wakes the first waiter, so that the releasing thread (or any acquirer) may take it again
 * while that waiter wakes up (bounded barging: a direct hand-off on every release costs a
 * context switch per cycle and ran 4-12x below a plain mutex pool). Once the first waiter has
 * been queued for HANDOFF_MS (on the coarse clock: its next tick at the earliest, 1-4 ms), the
 * next released connection is handed to it directly (Go's sync.Mutex "starvation mode" rule):
 * the queue is served in order, each waiter overtaken only during its first HANDOFF_MS at the
 * head. Called for a borrowed slot being released (was_borrowed) or a new one (not counted in
 * in_use yet). */
#define HANDOFF_MS 1
static inline void give_back(pgorm_pool *p, pgorm__pool_slot *s, int64_t now, bool was_borrowed)
{
	s->last_used_ms = now;
	if (was_borrowed)
		p->in_use--;
	pgorm__pool_waiter *w = p->wq_head;
	if (w != NULL && (!was_borrowed || now - w->since_ms >= HANDOFF_MS)) {
		waiter_unlink(p, w);
		borrow(p, s, now);
		w->slot = s;
		w->done = true;
		pgorm__cond_signal(&w->cond);
	} else {
		idle_push(p, s);
	}
	signal_head(p);
	if (p->closing && p->in_use == 0)
		pthread_cond_broadcast(&p->close_cond);
}

/* Take s out of the pool (it must not be on the idle list); the caller closes it unlocked. */
static void detach(pgorm_pool *p, pgorm__pool_slot *s, int reason, bool was_borrowed)
{
	s->state = PGORM__SLOT_CLOSING;
	slots_remove(p, s);
	p->size--;
	if (was_borrowed)
		p->in_use--;
	p->st.closed[reason]++;
	p->st.closed_total++;
	if (p->closing && p->in_use == 0)
		pthread_cond_broadcast(&p->close_cond);
	wake_maint_if_needed(p);
}

/* Close a slot taken out of the pool (mutex not held). Its handle's memory is retired, not
 * freed, so the address cannot come back soon as another connection's handle. */
static void slot_free(pgorm_pool *p, pgorm__pool_slot *s)
{
	if (s == NULL)
		return;
	if (forked(p)) {
		pgorm__conn_forget(s->conn);
		pgorm__free(s->old); /* raw memory: its state moved to s->conn */
	} else {
		pgorm__conn_finish(s->conn);
		pthread_mutex_lock(&p->mu);
		retire_handle(p, s->conn, true);
		if (s->old != NULL)
			retire_handle(p, s->old, false); /* move_handle cleared its error */
		pthread_mutex_unlock(&p->mu);
	}
	pgorm__free(s);
}

static long oldest_borrow_ms(const pgorm_pool *p, int64_t now)
{
	long oldest = 0;
	for (size_t i = 0; i < p->nslots; i++) {
		const pgorm__pool_slot *s = p->slots[i];
		if (s->state != PGORM__SLOT_IDLE && now - s->borrowed_ms > oldest)
			oldest = (long)(now - s->borrowed_ms);
	}
	return oldest;
}

/* ---- connecting (maintenance thread, mutex released) ---- */

static int open_conn(pgorm_pool *p, pgorm__pool_slot **out, pgorm_error *err, bool *init_failed)
{
	*out = NULL;
	*init_failed = false;
	pgorm_conn *c = NULL;
	int rc = pgorm__conn_open(&c, &p->conn_cfg, p->connect_timeout, err);
	if (rc != 0)
		return rc;
	pgorm__pool_slot *s = pgorm__calloc(1, sizeof *s);
	if (s == NULL) {
		pgorm_conn_close(c);
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory opening a pooled connection");
	}
	if (p->init_sql != NULL && pgorm__conn_simple(c, p->init_sql) != 0) {
		pgorm__error_set(err, pgorm_conn_error(c)->code, "init_sql failed: %s",
		                 pgorm_conn_error(c)->message);
		pgorm__strlcpy(err->sqlstate, pgorm_conn_error(c)->sqlstate, sizeof err->sqlstate);
		pgorm_conn_close(c);
		pgorm__free(s);
		*init_failed = true;
		return PGORM_ESERVER;
	}
	s->conn = c;
	c->pool_slot = s;
	*out = s;
	return 0;
}

static void install(pgorm_pool *p, pgorm__pool_slot *s)
{
	int64_t now = coarse_ms();
	s->gen = p->gen;
	s->last_used_ms = now;
	s->handle_used = false; /* the first borrow gets the handle the connection was opened with */
	if (p->cfg.max_lifetime_ms > 0) {
		long life = p->cfg.max_lifetime_ms - rng_upto(p, p->cfg.lifetime_jitter_ms);
		s->expires_ms = now + (life > 1 ? life : 1);
	}
	if (p->spare != NULL) { /* a retired handle's memory: the pool's handles stay bounded */
		pgorm_conn *spare = spare_pop(p);
		pgorm__conn_move(spare, s->conn);
		pgorm__free(s->conn); /* never handed out */
		s->conn = spare;
	}
	slots_add(p, s);
	p->size++;
	p->st.connects++;
	give_back(p, s, now, false);
}

/* Close what is due, oldest first; returns a list linked through ->next (mutex held). */
static pgorm__pool_slot *collect_retired(pgorm_pool *p, int64_t now)
{
	pgorm__pool_slot *out = NULL;
	for (pgorm__pool_slot *s = p->idle_tail, *prev; s != NULL; s = prev) {
		prev = s->prev;
		int reason = -1;
		if (p->closing)
			reason = PGORM_POOL_CLOSED_POOL_CLOSE;
		else if (s->gen != p->gen)
			reason = PGORM_POOL_CLOSED_GENERATION;
		else if (s->expires_ms != 0 && now >= s->expires_ms)
			reason = PGORM_POOL_CLOSED_LIFETIME;
		else if (p->cfg.idle_timeout_ms > 0 && now - s->last_used_ms >= p->cfg.idle_timeout_ms &&
		         p->idle_n > p->cfg.min_idle)
			reason = PGORM_POOL_CLOSED_IDLE_TIMEOUT;
		if (reason < 0)
			continue;
		idle_unlink(p, s);
		detach(p, s, reason, false);
		s->next = out;
		out = s;
	}
	return out;
}

static void free_list(pgorm_pool *p, pgorm__pool_slot *list)
{
	while (list != NULL) {
		pgorm__pool_slot *next = list->next;
		slot_free(p, list);
		list = next;
	}
}

/* A connect error that will not go away by retrying: the server refused who we are (class 28:
 * authentication) or what we asked for (3D000: no such database), or the host name does not
 * resolve. A server that is starting (57P03), refusing connections or whose socket is missing
 * (stopped, restarting) is worth waiting for. The pool still retries with backoff either way,
 * so it recovers once the cause is fixed. */
static bool connect_error_is_permanent(const pgorm_error *e)
{
	return e->code == PGORM_ECONN && ((pgorm__sqlstate_flags(e->sqlstate) & PGORM__SQLSTATE_PERMANENT) != 0 ||
	                                  strstr(e->message, "could not translate host name") != NULL);
}

/* Wake every waiting acquirer with the last connect error (mutex held). */
static void fail_waiters(pgorm_pool *p)
{
	while (p->wq_head != NULL) {
		pgorm__pool_waiter *w = p->wq_head;
		waiter_unlink(p, w);
		w->rc = PGORM_ECONN;
		w->done = true;
		pgorm__cond_signal(&w->cond);
	}
}

static void *maint_main(void *arg)
{
	pgorm_pool *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		int64_t now = mono_ms();
		if (need_connect(p) && now >= p->next_attempt_ms) {
			p->opening++;
			pthread_mutex_unlock(&p->mu);
			pgorm__pool_slot *s = NULL;
			pgorm_error e;
			pgorm_error_clear(&e);
			bool init_failed;
			int rc = open_conn(p, &s, &e, &init_failed);
			pthread_mutex_lock(&p->mu);
			p->opening--;
			pthread_cond_broadcast(&p->ready_cond);
			if (rc == 0) {
				p->down = p->fatal = false;
				p->backoff_ms = 0;
				if (p->closing) {
					p->st.closed[PGORM_POOL_CLOSED_POOL_CLOSE]++;
					p->st.closed_total++;
					pthread_mutex_unlock(&p->mu);
					slot_free(p, s);
					pthread_mutex_lock(&p->mu);
				} else {
					install(p, s);
				}
			} else {
				p->st.connect_failures++;
				if (init_failed) {
					p->st.closed[PGORM_POOL_CLOSED_INIT_FAILED]++;
					p->st.closed_total++;
				}
				p->last_err = e;
				p->down = true;
				p->fatal = connect_error_is_permanent(&e);
				if (p->fatal)
					fail_waiters(p);
				long b = p->backoff_ms == 0 ? p->cfg.backoff_min_ms : p->backoff_ms * 2;
				if (b > p->cfg.backoff_max_ms)
					b = p->cfg.backoff_max_ms;
				p->backoff_ms = b;
				/* +-25% jitter so that many clients do not reconnect in lockstep */
				long delay = b - b / 4 + rng_upto(p, b / 2);
				p->next_attempt_ms = mono_ms() + (delay > 0 ? delay : 1);
			}
			continue;
		}
		if (now >= p->next_maint_ms) {
			pgorm__pool_slot *list = collect_retired(p, coarse_ms());
			p->next_maint_ms = now + p->cfg.maintenance_interval_ms;
			if (list != NULL) {
				pthread_mutex_unlock(&p->mu);
				free_list(p, list);
				pthread_mutex_lock(&p->mu);
			}
			continue;
		}
		int64_t wake = p->next_maint_ms;
		if (need_connect(p) && p->next_attempt_ms < wake)
			wake = p->next_attempt_ms;
		struct timespec ts;
		to_timespec(wake, &ts);
		pthread_cond_timedwait(&p->maint_cond, &p->mu, &ts);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- create / destroy ---- */

static int cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	if (pthread_condattr_init(&a) != 0)
		return -1;
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return rc;
}

static void pool_free(pgorm_pool *p)
{
	retired_free_all(p);
	pgorm__free(p->slots);
	pgorm__free(p->ring);
	pgorm__free(p->conninfo);
	pgorm__free(p->init_sql);
	pgorm__free(p);
}

int pgorm_pool_create(pgorm_pool **out, const pgorm_pool_config *cfg, pgorm_error *err)
{
	if (out == NULL || cfg == NULL)
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_pool_create: NULL argument");
	*out = NULL;
	if (cfg->max_size == 0 || cfg->min_idle > cfg->max_size)
		return pgorm__error_set(err, PGORM_EINVAL, "pool: need 0 < max_size and min_idle <= max_size "
		                        "(got max_size %zu, min_idle %zu)", cfg->max_size, cfg->min_idle);
	if (cfg->acquire_timeout_ms < 0)
		return pgorm__error_set(err, PGORM_EINVAL, "pool: negative acquire_timeout_ms %ld (use "
		                        "pgorm_pool_acquire_timeout with < 0 to wait forever)", cfg->acquire_timeout_ms);
	if (cfg->connect_timeout_ms < 0 || cfg->idle_timeout_ms < 0 || cfg->max_lifetime_ms < 0 ||
	    cfg->trust_window_ms < 0 || cfg->ping_idle_ms < 0 || cfg->maintenance_interval_ms <= 0 ||
	    cfg->backoff_min_ms <= 0 || cfg->backoff_max_ms < cfg->backoff_min_ms)
		return pgorm__error_set(err, PGORM_EINVAL, "pool: negative timeout, non-positive "
		                        "maintenance interval or backoff, or backoff_max_ms < backoff_min_ms");
	if (cfg->reset != PGORM_POOL_RESET_ROLLBACK && cfg->reset != PGORM_POOL_RESET_CLOSE)
		return pgorm__error_set(err, PGORM_EINVAL, "pool: unknown reset policy %d", (int)cfg->reset);
	if (cfg->max_size > MAX_POOL_SIZE)
		return pgorm__error_set(err, PGORM_EINVAL, "pool: max_size %zu is above the limit (%d)",
		                        cfg->max_size, MAX_POOL_SIZE);
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	cc.stmt_mode = cfg->stmt_mode;
	if (cfg->stmt_cache_size != 0)
		cc.stmt_cache_size = cfg->stmt_cache_size;
	cc.hook = cfg->hook;
	cc.hook_ctx = cfg->hook_ctx;
	int crc = pgorm__conn_config_check(&cc, err);
	if (crc != 0) {
		if (err != NULL) { /* "pool: " in front, as the other checks */
			char msg[sizeof err->message];
			pgorm__strlcpy(msg, err->message, sizeof msg);
			pgorm__error_set(err, crc, "pool: %s", msg);
		}
		return crc;
	}
	/* a conninfo libpq cannot parse fails now, not after the first acquire times out */
	if ((crc = pgorm__conninfo_check(cfg->conninfo ? cfg->conninfo : "", err)) != 0) {
		if (err != NULL)
			pgorm__error_set(err, crc, "pool: %s", crc == PGORM_EINVAL ? PGORM__CONNINFO_WITHHELD : "out of memory");
		return crc;
	}
	pthread_once(&fork_once, fork_register);

	pgorm_pool *p = pgorm__calloc(1, sizeof *p);
	if (p == NULL)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory creating a pool");
	p->cfg = *cfg;
	if (p->cfg.lifetime_jitter_ms < 0)
		p->cfg.lifetime_jitter_ms = p->cfg.max_lifetime_ms / 10;
	if (p->cfg.lifetime_jitter_ms >= p->cfg.max_lifetime_ms && p->cfg.max_lifetime_ms > 0)
		p->cfg.lifetime_jitter_ms = p->cfg.max_lifetime_ms / 2;
	p->conninfo = pgorm__strdup(cfg->conninfo ? cfg->conninfo : "");
	p->init_sql = cfg->init_sql ? pgorm__strdup(cfg->init_sql) : NULL;
	/* + 1: a handle is taken out of a full quarantine at acquire, before the release that
	 * retires the borrow's old handle: the head then has had the window's count of later
	 * retirements */
	p->ret_cap = 1 + (uint32_t)(cfg->max_size > QUARANTINE_MIN / QUARANTINE_PER_CONN
	                            ? QUARANTINE_PER_CONN * cfg->max_size : QUARANTINE_MIN);
	p->slots = pgorm__calloc(cfg->max_size, sizeof *p->slots);
	p->ring = pgorm__calloc(p->ret_cap, sizeof *p->ring);
	if (p->conninfo == NULL || p->slots == NULL || p->ring == NULL || (cfg->init_sql && p->init_sql == NULL)) {
		pool_free(p);
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory creating a pool");
	}
	p->cfg.conninfo = p->conninfo;
	p->cfg.init_sql = p->init_sql;
	long ct = (cfg->connect_timeout_ms + 999) / 1000;
	snprintf(p->connect_timeout, sizeof p->connect_timeout, "%ld", ct < 2 ? 2L : ct);

	cc.conninfo = p->conninfo;
	p->conn_cfg = cc;

	p->gen = 1;
	p->rng = ((uint64_t)mono_us() << 1) ^ (uint64_t)(uintptr_t)p ^ ((uint64_t)getpid() << 32);
	if (p->rng == 0)
		p->rng = 0x9E3779B97F4A7C15ULL;
	p->fork_gen = atomic_load(&fork_counter);
	p->next_maint_ms = mono_ms() + p->cfg.maintenance_interval_ms;

	/* adaptive (glibc): a thread that finds the lock held spins a little before it sleeps; the
	 * pool's sections are short, so under contention most waits end without a futex call */
	pthread_mutexattr_t ma;
	int mrc = pthread_mutexattr_init(&ma);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
	if (mrc == 0)
		(void)pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
	if (mrc == 0) {
		mrc = pthread_mutex_init(&p->mu, &ma);
		pthread_mutexattr_destroy(&ma);
	}
	if (mrc != 0) {
		pool_free(p);
		return pgorm__error_set(err, PGORM_ESERVER, "pool: pthread_mutex_init failed");
	}
	if (cond_init_mono(&p->maint_cond) != 0 || cond_init_mono(&p->close_cond) != 0 ||
	    cond_init_mono(&p->ready_cond) != 0 ||
	    pthread_create(&p->maint, NULL, maint_main, p) != 0) {
		pthread_mutex_destroy(&p->mu);
		pool_free(p);
		return pgorm__error_set(err, PGORM_ESERVER, "pool: cannot start the maintenance thread");
	}
	p->maint_started = true;
	*out = p;
	return 0;
}

int pgorm_pool_close(pgorm_pool *p, long deadline_ms)
{
	if (p == NULL)
		return PGORM_EINVAL;
	if (forked(p))
		return PGORM_EFORK;
	int64_t deadline = deadline_ms < 0 ? 0 : mono_ms() + deadline_ms;
	pthread_mutex_lock(&p->mu);
	p->closing = true;
	while (p->wq_head != NULL) {
		pgorm__pool_waiter *w = p->wq_head;
		waiter_unlink(p, w);
		w->rc = PGORM_ECLOSED;
		w->done = true;
		pgorm__cond_signal(&w->cond);
	}
	pgorm__pool_slot *list = collect_retired(p, coarse_ms());
	pthread_cond_signal(&p->maint_cond);
	pthread_mutex_unlock(&p->mu);
	free_list(p, list);

	pthread_mutex_lock(&p->mu);
	while (p->in_use > 0) {
		if (deadline_ms < 0) {
			pthread_cond_wait(&p->close_cond, &p->mu);
		} else {
			struct timespec ts;
			to_timespec(deadline, &ts);
			if (pthread_cond_timedwait(&p->close_cond, &p->mu, &ts) == ETIMEDOUT)
				break;
		}
	}
	int rc = p->in_use > 0 ? PGORM_ETIMEDOUT : 0;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void pgorm_pool_destroy(pgorm_pool *p)
{
	if (p == NULL)
		return;
	if (forked(p)) {
		/* The parent's threads do not exist here and the mutex may be held forever: free
		 * memory only; pgorm__conn_forget never writes to the parent's sockets. */
		while (p->nslots > 0)
			slot_free(p, p->slots[--p->nslots]);
		pool_free(p);
		return;
	}
	pgorm_pool_close(p, 0);
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->maint_cond);
	pthread_mutex_unlock(&p->mu);
	if (p->maint_started)
		pthread_join(p->maint, NULL);
	/* still borrowed: closed anyway, as documented */
	while (p->nslots > 0)
		slot_free(p, p->slots[--p->nslots]);
	pthread_cond_destroy(&p->maint_cond);
	pthread_cond_destroy(&p->close_cond);
	pthread_cond_destroy(&p->ready_cond);
	pthread_mutex_destroy(&p->mu);
	pool_free(p);
}

/* ---- acquire ---- */

/* Liveness without a round trip: an idle connection's socket must not be readable (EOF, or an
 * unsolicited ErrorResponse such as 57P01 before the server closes it). Conservative: anything
 * readable on an idle connection (also a NOTIFY) retires it. */
static bool idle_socket_ok(pgorm_conn *c)
{
	if (PQstatus(c->pq) != CONNECTION_OK || c->broken)
		return false;
	int fd = PQsocket(c->pq);
	if (fd < 0)
		return false;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;
	do
		r = poll(&pfd, 1, 0);
	while (r < 0 && errno == EINTR);
	return r == 0;
}

/* PGORM_ECONN with the last connect error: its SQLSTATE, its (redacted) message after what. */
static int fill_connect_error(pgorm_pool *p, pgorm_error *err, const char *what)
{
	pgorm__error_set(err, PGORM_ECONN, "pool: %s: %s", what, p->last_err.message);
	if (err != NULL)
		memcpy(err->sqlstate, p->last_err.sqlstate, sizeof err->sqlstate);
	return PGORM_ECONN;
}

static void fill_timeout_error(pgorm_pool *p, pgorm_error *err, long timeout_ms, int *rc)
{
	if (p->down) {
		char what[64];
		snprintf(what, sizeof what, "no connection within %ld ms, cannot connect", timeout_ms);
		*rc = fill_connect_error(p, err, what);
		return;
	}
	*rc = PGORM_ETIMEDOUT;
	pgorm__error_set(err, PGORM_ETIMEDOUT,
	                 "pool exhausted: no connection within %ld ms; %zu of max %zu in use "
	                 "(oldest borrowed %ld ms ago: not released?), %zu opening, %zu waiting",
	                 timeout_ms, p->in_use, p->cfg.max_size, oldest_borrow_ms(p, coarse_ms()),
	                 p->opening, p->waiters_n);
}

/* Queue as a waiter (mutex held) and wait for a hand-off. */
static int wait_for_slot(pgorm_pool *p, long timeout_ms, int64_t deadline_ms,
                         pgorm__pool_slot **out, pgorm_error *err)
{
	pgorm__pool_waiter w;
	memset(&w, 0, sizeof w);
	if (cond_init_mono(&w.cond) != 0)
		return pgorm__error_set(err, PGORM_ENOMEM, "pool: cannot create a condition variable");
	w.prev = p->wq_tail;
	if (p->wq_tail != NULL)
		p->wq_tail->next = &w;
	else
		p->wq_head = &w;
	p->wq_tail = &w;
	p->waiters_n++;
	p->st.waits++;
	w.since_ms = coarse_ms();
	wake_maint_if_needed(p);
	int64_t t0 = mono_us();
	struct timespec ts;
	to_timespec(deadline_ms, &ts);
	while (!w.done) {
		if (w.signaled) { /* a connection went on the idle list for this waiter */
			w.signaled = false;
			pgorm__pool_slot *s = p->idle_head;
			if (s != NULL && s->gen == p->gen && p->wq_head == &w) {
				idle_unlink(p, s);
				waiter_unlink(p, &w);
				borrow(p, s, coarse_ms());
				w.slot = s;
				w.done = true;
				signal_head(p); /* more idle connections: the next waiter */
				break;
			}
		}
		if (pgorm__cond_wait(&w.cond, &p->mu, timeout_ms < 0 ? NULL : &ts) == ETIMEDOUT && !w.done) {
			waiter_unlink(p, &w);
			signal_head(p);
			break;
		}
	}
	uint64_t waited = (uint64_t)(mono_us() - t0);
	p->st.wait_us_total += waited;
	int b = 0;
	for (uint64_t lim = 100; b < PGORM_POOL_WAIT_BUCKETS - 1 && waited >= lim; lim *= 10)
		b++;
	p->st.wait_hist[b]++;
	pthread_cond_destroy(&w.cond);
	if (w.slot != NULL) {
		*out = w.slot;
		return 0;
	}
	if (w.rc == PGORM_ECONN)
		return fill_connect_error(p, err, "cannot connect");
	p->st.timeouts++;
	if (w.rc != 0)
		return pgorm__error_set(err, w.rc, "pool is closed");
	int rc;
	fill_timeout_error(p, err, timeout_ms, &rc);
	return rc;
}

static int acquire(pgorm_pool *p, pgorm_conn **out, long timeout_ms, pgorm_error *err)
{
	if (p == NULL || out == NULL)
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_pool_acquire: NULL argument");
	*out = NULL;
	if (forked(p))
		return pgorm__error_set(err, PGORM_EFORK, "pool used in a forked child process");
	int64_t deadline = -1;
	for (;;) {
		int64_t now = coarse_ms(); /* read before the lock: the critical section stays short */
		pthread_mutex_lock(&p->mu);
		if (p->closing) {
			pthread_mutex_unlock(&p->mu);
			return pgorm__error_set(err, PGORM_ECLOSED, "pool is closed");
		}
		pgorm__pool_slot *s = p->idle_head;
		if (s != NULL && s->gen != p->gen) {
			/* older than a failover: never handed out again */
			idle_unlink(p, s);
			detach(p, s, PGORM_POOL_CLOSED_GENERATION, false);
			pthread_mutex_unlock(&p->mu);
			slot_free(p, s);
			continue;
		}
		if (s != NULL) {
			idle_unlink(p, s);
			borrow(p, s, now);
		} else if (timeout_ms == 0) {
			wake_maint_if_needed(p);
			int rc = PGORM_ETIMEDOUT;
			if (p->down)
				fill_timeout_error(p, err, 0, &rc);
			else
				pgorm__error_set(err, rc, "pool: no idle connection (%zu of max %zu in use)",
				                 p->in_use, p->cfg.max_size);
			pthread_mutex_unlock(&p->mu);
			return rc;
		} else if (p->fatal && p->opening == 0 && mono_ms() < p->next_attempt_ms) {
			/* the last connect failed for good and the next is not due: fail fast (once it
			 * is due, wait for it: the cause may be fixed by now) */
			int rc = fill_connect_error(p, err, "cannot connect");
			pthread_mutex_unlock(&p->mu);
			return rc;
		} else {
			if (deadline < 0)
				deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
			int rc = wait_for_slot(p, timeout_ms, deadline, &s, err);
			if (rc != 0) {
				pthread_mutex_unlock(&p->mu);
				return rc;
			}
		}
		pgorm_conn *prev;
		if (!rotate_handle(p, s, &prev)) {
			/* out of memory for a new handle: the old one must not name this borrow */
			p->acquires--;
			detach(p, s, PGORM_POOL_CLOSED_BAD_STATE, true);
			pthread_mutex_unlock(&p->mu);
			slot_free(p, s);
			continue;
		}
		long idle_for = (long)(now - s->last_used_ms);
		pthread_mutex_unlock(&p->mu);
		if (prev != NULL)
			move_handle(s, prev);

		/* fast path: released less than trust_window_ms ago, hand it out as is */
		if (idle_for < p->cfg.trust_window_ms) {
			*out = s->conn;
			return 0;
		}
		bool ok = idle_socket_ok(s->conn);
		bool pinged = false;
		if (ok && p->cfg.ping_idle_ms > 0 && idle_for >= p->cfg.ping_idle_ms) {
			pinged = true;
			ok = pgorm__conn_simple(s->conn, "") == 0;
		}
		if (ok && !pinged) {
			*out = s->conn;
			return 0;
		}
		pthread_mutex_lock(&p->mu);
		if (pinged)
			p->st.pings++;
		if (ok) {
			pthread_mutex_unlock(&p->mu);
			*out = s->conn;
			return 0;
		}
		p->acquires--;
		detach(p, s, PGORM_POOL_CLOSED_DEAD_IDLE, true);
		pthread_mutex_unlock(&p->mu);
		slot_free(p, s);
	}
}

int pgorm_pool_acquire_timeout(pgorm_pool *p, pgorm_conn **out, long timeout_ms, pgorm_error *err)
{
	return acquire(p, out, timeout_ms, err);
}

int pgorm_pool_acquire(pgorm_pool *p, pgorm_conn **out, pgorm_error *err)
{
	if (p == NULL)
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_pool_acquire: NULL pool");
	return acquire(p, out, p->cfg.acquire_timeout_ms, err);
}

int pgorm_pool_try_acquire(pgorm_pool *p, pgorm_conn **out, pgorm_error *err)
{
	return acquire(p, out, 0, err);
}

int pgorm_pool_wait_ready(pgorm_pool *p, long timeout_ms, pgorm_error *err)
{
	if (p == NULL)
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_pool_wait_ready: NULL pool");
	if (forked(p))
		return pgorm__error_set(err, PGORM_EFORK, "pool used in a forked child process");
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct timespec ts;
	to_timespec(deadline, &ts);
	int rc = 0;
	pthread_mutex_lock(&p->mu);
	pthread_cond_signal(&p->maint_cond);
	while (p->size < p->cfg.min_idle) {
		if (p->closing) {
			rc = pgorm__error_set(err, PGORM_ECLOSED, "pool is closed");
			break;
		}
		if (p->fatal) {
			rc = fill_connect_error(p, err, "cannot connect");
			break;
		}
		bool expired = timeout_ms == 0;
		if (!expired && timeout_ms < 0)
			pthread_cond_wait(&p->ready_cond, &p->mu);
		else if (!expired)
			expired = pthread_cond_timedwait(&p->ready_cond, &p->mu, &ts) == ETIMEDOUT;
		if (expired && p->size < p->cfg.min_idle) {
			if (p->down) {
				char what[64];
				snprintf(what, sizeof what, "not ready within %ld ms, cannot connect", timeout_ms);
				rc = fill_connect_error(p, err, what);
			} else {
				rc = pgorm__error_set(err, PGORM_ETIMEDOUT, "pool: %zu of min_idle %zu connections "
				                      "open after %ld ms", p->size, p->cfg.min_idle, timeout_ms);
			}
			break;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* ---- release ---- */

enum { KEEP = -1, ROLLBACK = -2 };

static bool failover_state(const char *st)
{
	return (pgorm__sqlstate_flags(st) & PGORM__SQLSTATE_FAILOVER) != 0;
}

/* The common case of verdict in one pass: KEEP. Idle (which implies CONNECTION_OK and no
 * command in progress), not in pipeline mode, not broken, current and not too old. */
static inline bool keep_as_is(const pgorm_pool *p, const pgorm__pool_slot *s, int64_t now)
{
	const pgorm_conn *c = s->conn;
	return !c->broken && PQtransactionStatus(c->pq) == PQTRANS_IDLE &&
	       PQpipelineStatus(c->pq) == PQ_PIPELINE_OFF && !p->closing && s->gen == p->gen &&
	       (s->expires_ms == 0 || now < s->expires_ms);
}

/* What to do with a connection being released (mutex held, the caller owns c). */
static int verdict(pgorm_pool *p, const pgorm__pool_slot *s, int64_t now, bool after_rollback)
{
	const pgorm_conn *c = s->conn;
	if (p->closing)
		return PGORM_POOL_CLOSED_POOL_CLOSE;
	if (c->broken || PQstatus(c->pq) != CONNECTION_OK) {
		/* a connection lost for a reason the server did not give counts as class 08
		 * (connection_failure); one the server ended for itself alone (25P03
		 * idle-in-transaction timeout, 57P05 idle session timeout) does not retire others */
		bool lost = PQstatus(c->pq) != CONNECTION_OK;
		if ((failover_state(c->err.sqlstate) || (lost && (c->lost_state[0] == '\0' || failover_state(c->lost_state)))) &&
		    s->gen == p->gen)
			p->gen++;
		return PGORM_POOL_CLOSED_BROKEN;
	}
	if (PQpipelineStatus(c->pq) != PQ_PIPELINE_OFF)
		return PGORM_POOL_CLOSED_BAD_STATE;
	switch (PQtransactionStatus(c->pq)) {
	case PQTRANS_IDLE:
		break;
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		if (after_rollback)
			return PGORM_POOL_CLOSED_BAD_STATE;
		if (p->cfg.reset == PGORM_POOL_RESET_CLOSE)
			return PGORM_POOL_CLOSED_RESET_POLICY;
		return ROLLBACK;
	default:
		return PGORM_POOL_CLOSED_BAD_STATE;
	}
	if (s->gen != p->gen)
		return PGORM_POOL_CLOSED_GENERATION;
	if (s->expires_ms != 0 && now >= s->expires_ms)
		return PGORM_POOL_CLOSED_LIFETIME;
	return KEEP;
}

int pgorm_pool_release(pgorm_pool *p, pgorm_conn *c)
{
	if (p == NULL || c == NULL)
		return PGORM_EINVAL;
	if (forked(p))
		return PGORM_EFORK;
	int64_t now = coarse_ms(); /* read before the lock: the critical section stays short */
	pthread_mutex_lock(&p->mu);
	/* every handle this pool handed out is still its memory (see retire_handle); a retired
	 * one's pool_slot is NULL, a live one's slot names it */
	pgorm__pool_slot *s = c->pool_slot;
	if (s == NULL || s->pool != p || s->conn != c || s->state != PGORM__SLOT_BORROWED) {
		p->st.misuse++;
		pthread_mutex_unlock(&p->mu);
		return PGORM_EPOOL;
	}
	p->releases++;
	if (s->old != NULL) { /* the previous borrow's handle, moved from at acquire */
		retire_handle(p, s->old, false); /* move_handle cleared its error */
		s->old = NULL;
	}
	int v = keep_as_is(p, s, now) ? KEEP : verdict(p, s, now, false);
	if (v == ROLLBACK) {
		s->state = PGORM__SLOT_RETURNING;
		p->st.rollbacks++;
		pthread_mutex_unlock(&p->mu);
		(void)pgorm__conn_simple(c, "ROLLBACK");
		pgorm__conn_types_reset(c, true); /* type OIDs the rolled-back block may have created */
		now = coarse_ms();
		pthread_mutex_lock(&p->mu);
		v = verdict(p, s, now, true);
	}
	if (v == KEEP) {
		give_back(p, s, now, true);
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	detach(p, s, v, true);
	pthread_mutex_unlock(&p->mu);
	slot_free(p, s);
	return 0;
}

/* ---- statistics ---- */

void pgorm_pool_stats_get(pgorm_pool *p, pgorm_pool_stats *out)
{
	if (p == NULL || out == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	*out = p->st;
	out->acquires = p->acquires;
	out->releases = p->releases;
	out->size = p->size;
	out->idle = p->idle_n;
	out->in_use = p->in_use;
	out->opening = p->opening;
	out->waiting = p->waiters_n;
	out->generation = p->gen;
	out->server_down = p->down;
	out->longest_borrow_ms = oldest_borrow_ms(p, coarse_ms());
	pthread_mutex_unlock(&p->mu);
}

void pgorm_pool_bump_generation(pgorm_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->gen++;
	p->next_maint_ms = 0;
	pthread_cond_signal(&p->maint_cond);
	pthread_mutex_unlock(&p->mu);
}

const char *pgorm_pool_close_reason_name(int reason)
{
	static const char *const names[PGORM_POOL_CLOSE_REASONS] = {
		"broken", "dead_idle", "bad_state", "reset_policy", "idle_timeout",
		"lifetime", "generation", "init_failed", "pool_close",
	};
	return reason >= 0 && reason < PGORM_POOL_CLOSE_REASONS ? names[reason] : "unknown";
}
