/* lib/wait.c — see wait.h. */
#include "wait.h"

#include <errno.h>
#include <stdint.h>

static _Thread_local const pgorm__wait_hook *hook;
static _Thread_local void (*waker)(const void *key);

void pgorm__wait_set_hook(const pgorm__wait_hook *h)
{
	hook = h;
}

void pgorm__wait_set_waker(void (*wake)(const void *key))
{
	waker = wake;
}

bool pgorm__wait_hooked(void)
{
	return hook != NULL;
}

int pgorm__poll(struct pollfd *pfd, int timeout_ms)
{
	if (hook != NULL)
		return hook->poll(hook->ctx, pfd, timeout_ms);
	for (;;) {
		int r = poll(pfd, 1, timeout_ms);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

/* ms from now until abs (CLOCK_MONOTONIC, as the pool's condition variables), at least 0 */
static int ms_until(const struct timespec *abs)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = ((int64_t)abs->tv_sec - now.tv_sec) * 1000 + (abs->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

int pgorm__cond_wait(pthread_cond_t *c, pthread_mutex_t *mu, const struct timespec *abs)
{
	if (hook == NULL)
		return abs == NULL ? pthread_cond_wait(c, mu) : pthread_cond_timedwait(c, mu, abs);
	int left = abs == NULL ? -1 : ms_until(abs);
	int slice = left < 0 || left > 50 ? 50 : left;
	pthread_mutex_unlock(mu);
	int r = hook->park(hook->ctx, c, slice);
	pthread_mutex_lock(mu);
	/* a slice that ended is a spurious wake-up (the caller re-checks its predicate), unless
	 * the caller's own deadline passed or the operation was cancelled (park said so) */
	if (r == ECANCELED || (r == ETIMEDOUT && slice == left))
		return ETIMEDOUT;
	return 0;
}

void pgorm__cond_signal(pthread_cond_t *c)
{
	pthread_cond_signal(c);
	if (waker != NULL)
		waker(c);
}
