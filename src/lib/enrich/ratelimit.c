/* Sliding-window rate limiting, as NVD counts: N requests in a rolling window. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "enrich/ratelimit.h"
#include "banned.h"

uint64_t tt_clock_ms(void *userdata)
{
	struct timespec ts;

	(void)userdata;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void tt_sleep_ms(uint64_t ms, void *userdata)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000};

	(void)userdata;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int tt_ratelimit_init(struct tt_ratelimit *rl, unsigned max, uint64_t window_ms)
{
	*rl = (struct tt_ratelimit){.max = max, .window_ms = window_ms};
	if (max) {
		rl->stamps = calloc(max, sizeof(*rl->stamps));
		if (!rl->stamps)
			return -ENOMEM;
	}
	return 0;
}

void tt_ratelimit_release(struct tt_ratelimit *rl)
{
	free(rl->stamps);
	rl->stamps = NULL;
	rl->n = rl->head = 0;
}

uint64_t tt_ratelimit_acquire(struct tt_ratelimit *rl)
{
	uint64_t (*now)(void *) = rl->now_ms ? rl->now_ms : tt_clock_ms;
	void (*sleep)(uint64_t, void *) = rl->sleep_ms ? rl->sleep_ms : tt_sleep_ms;
	uint64_t t, waited = 0;

	if (!rl->max || !rl->window_ms)
		return 0;
	t = now(rl->userdata);
	if (rl->n == rl->max) {
		/* The oldest of the last MAX requests must have left the window. */
		uint64_t oldest = rl->stamps[rl->head];

		if (t < oldest + rl->window_ms) {
			waited = oldest + rl->window_ms - t;
			sleep(waited, rl->userdata);
			t = now(rl->userdata);
			if (t <
			    oldest + rl->window_ms) /* a clock that did not move: trust the sleep */
				t = oldest + rl->window_ms;
		}
		rl->stamps[rl->head] = t;
		rl->head = (rl->head + 1) % rl->max;
	} else {
		rl->stamps[(rl->head + rl->n) % rl->max] = t;
		rl->n++;
	}
	rl->slept_ms += waited;
	return waited;
}
