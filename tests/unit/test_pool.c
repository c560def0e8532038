/* SPDX-License-Identifier: MIT */
/* Unit tests for pool: every item runs once, and a few long items run side by side. */
#include <criterion/criterion.h>

#include <stdatomic.h>
#include <time.h>

#include "pool.h"

struct seen {
	atomic_int runs[200];
	atomic_int inside;
	atomic_int most;
};

static void
count(void *arg, size_t i)
{
	atomic_fetch_add(&((struct seen *)arg)->runs[i], 1);
}

Test(pool, every_item_runs_once)
{
	static struct seen s;

	pool_run(200, 4, count, &s);
	for (size_t i = 0; i < 200; i++)
		cr_expect_eq(s.runs[i], 1, "item %zu ran %d times", i, s.runs[i]);
	pool_run_each(7, 4, count, &s);
	for (size_t i = 0; i < 7; i++)
		cr_expect_eq(s.runs[i], 2, "item %zu ran %d times", i, s.runs[i]);
}

/* An item that waits (up to 10 s) until another one is running at the same time, and notes how many were. */
static void
meet(void *arg, size_t i)
{
	struct seen *s = arg;
	struct timespec t0, t;
	int now = atomic_fetch_add(&s->inside, 1) + 1, most = atomic_load(&s->most);

	(void)i;
	while (now > most && !atomic_compare_exchange_weak(&s->most, &most, now))
		;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while (atomic_load(&s->most) < 2 && t.tv_sec - t0.tv_sec < 10);
	atomic_fetch_sub(&s->inside, 1);
}

Test(pool, a_few_long_items_share_the_threads)
{
	static struct seen s;

	/* eight slices of a domain list: each one a batch of its own */
	pool_run_each(8, 2, meet, &s);
	cr_expect_eq(s.most, 2, "at most %d items ran at once", s.most);
}
