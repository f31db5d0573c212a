/* lib/wait.h — the one place a pgorm call waits (socket readiness, a condition variable).
 * Blocking by default (poll, pthread_cond_*); while an operation of lib/async.c runs on this
 * thread, its hook is installed and a wait yields to the event loop instead. */
#ifndef PGORM_WAIT_H
#define PGORM_WAIT_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

typedef struct pgorm__wait_hook {
	/* poll one descriptor (fd may be -1: a timer only); as poll(2): >0 ready, 0 timed out */
	int (*poll)(void *ctx, struct pollfd *pfd, int timeout_ms);
	/* park until woken with the same key or the timeout (ms, -1 none): 0 woken, ETIMEDOUT */
	int (*park)(void *ctx, const void *key, int timeout_ms);
	void *ctx;
} pgorm__wait_hook;

/* Install (or with NULL remove) this thread's hook. */
void pgorm__wait_set_hook(const pgorm__wait_hook *h);
/* Called by pgorm__cond_signal on this thread: wake the first parked operation with key. */
void pgorm__wait_set_waker(void (*wake)(const void *key));
/* True while an operation of lib/async.c runs on this thread (its waits yield). */
bool pgorm__wait_hooked(void);
/* poll(2) on one descriptor, or yield to the event loop while hooked; EINTR is retried. */
int pgorm__poll(struct pollfd *pfd, int timeout_ms);
/* pthread_cond_wait (abs NULL) / pthread_cond_timedwait on mu (held); while hooked the mutex
 * is released and the operation parks, polled again at most every 50 ms for a signal from
 * another thread. Returns 0 or ETIMEDOUT (also when the operation was cancelled). */
int pgorm__cond_wait(pthread_cond_t *c, pthread_mutex_t *mu, const struct timespec *abs);
/* pthread_cond_signal, and wake an operation of this thread parked on c. */
void pgorm__cond_signal(pthread_cond_t *c);

#endif
