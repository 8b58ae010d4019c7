/* A sliding-window request limiter ("at most N requests in any W ms") with an injectable clock. */
#pragma once

#include <stdint.h>

struct tt_ratelimit {
	unsigned max; /* requests allowed per window; 0 = unlimited */
	uint64_t window_ms;
	uint64_t *stamps; /* ring of the times of the last MAX requests */
	unsigned n, head;
	/* Clock and sleep; NULL means CLOCK_MONOTONIC and nanosleep(2). Tests pass fakes. */
	uint64_t (*now_ms)(void *userdata);
	void (*sleep_ms)(uint64_t ms, void *userdata);
	void *userdata;
	uint64_t slept_ms; /* total time spent waiting, for the summary */
};

int tt_ratelimit_init(struct tt_ratelimit *rl, unsigned max, uint64_t window_ms);
void tt_ratelimit_release(struct tt_ratelimit *rl);
/* Waits until one more request fits into the window, then counts it. Returns ms waited. */
uint64_t tt_ratelimit_acquire(struct tt_ratelimit *rl);

uint64_t tt_clock_ms(void *userdata);
void tt_sleep_ms(uint64_t ms, void *userdata);
