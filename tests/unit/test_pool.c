/* SPDX-License-Identifier: MIT */
/* Unit tests for pool: every item runs once, a few long items run side by side, pool_sort sorts. */
#include <criterion/criterion.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Elements of 12 bytes: a key that repeats, and a tag that tells the copies apart. */
struct rec {
	uint32_t key, tag, pad;
};

static int
cmp_rec(const void *a, const void *b)
{
	return cmp_u32(&((const struct rec *)a)->key, &((const struct rec *)b)->key);
}

Test(pool, sort_gives_qsorts_order_at_every_length)
{
	/* below the parallel threshold, at it, and lengths that do not split evenly into the runs */
	static const size_t lens[] = { 0, 1, 2, 17, 16383, 16384, 16385, 100003, 262144 };
	uint32_t seed = 12345;

	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		size_t n = lens[l];
		uint32_t *a = malloc((n + 1) * sizeof(*a)), *b = malloc((n + 1) * sizeof(*b));

		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			/* a few values only for the shortest, to have equal ones */
			a[i] = n < 100 ? seed >> 29 : seed;
		}
		memcpy(b, a, n * sizeof(*a));
		qsort(b, n, sizeof(*b), cmp_u32);
		pool_sort(a, n, sizeof(*a), cmp_u32, 4);
		cr_expect(n == 0 || memcmp(a, b, n * sizeof(*a)) == 0, "length %zu: not qsort's order", n);
		free(a);
		free(b);
	}
}

Test(pool, sort_moves_whole_elements_and_keeps_every_one)
{
	size_t n = 50000;
	struct rec *v = calloc(n, sizeof(*v));
	unsigned char *seen = calloc(n, 1);

	for (size_t i = 0; i < n; i++) {
		v[i].key = (uint32_t)((i * 7919) % 97);
		v[i].tag = (uint32_t)i;
		v[i].pad = (uint32_t)(v[i].key ^ i);
	}
	pool_sort(v, n, sizeof(*v), cmp_rec, 3);
	for (size_t i = 0; i < n; i++) {
		cr_assert(i == 0 || v[i - 1].key <= v[i].key, "out of order at %zu", i);
		cr_assert_lt(v[i].tag, n);
		cr_assert_eq(v[i].pad, v[i].key ^ v[i].tag, "element %zu was torn", i);
		cr_assert_eq(seen[v[i].tag]++, 0, "element %u twice", v[i].tag);
	}
	free(v);
	free(seen);
}

/* pool_run_slices: what each slice of a list covered, by item. */
struct covered {
	atomic_int hits[POOL_SLICE_MIN + 7];
	atomic_int slices;
};

static void
cover(void *arg, size_t k, size_t from, size_t to)
{
	struct covered *c = arg;

	cr_assert_lt(k, POOL_SLICES);
	for (size_t i = from; i < to; i++)
		atomic_fetch_add(&c->hits[i], 1);
	atomic_fetch_add(&c->slices, 1);
}

Test(pool, slices_cover_every_item_once)
{
	static const size_t lens[] = { 0, 5, POOL_SLICE_MIN - 1, POOL_SLICE_MIN, POOL_SLICE_MIN + 7 };

	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		static struct covered c;
		size_t n = lens[l], want = n >= POOL_SLICE_MIN ? POOL_SLICES : 1;

		memset(&c, 0, sizeof(c));
		cr_expect_eq(pool_run_slices(n, cover, &c), want, "length %zu", n);
		cr_expect_eq((size_t)c.slices, want, "length %zu: %d slices ran", n, c.slices);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(c.hits[i], 1, "length %zu: item %zu ran %d times", n, i, c.hits[i]);
	}
}
