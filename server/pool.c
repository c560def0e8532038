/* SPDX-License-Identifier: MIT */
/* pool: run a function over the items 0..n-1 on a few threads. */
#define _GNU_SOURCE	/* sched_getaffinity, CPU_COUNT */
#include "pool.h"
#include "util.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 64
#define MAX_THREADS 16

struct job {
	size_t n, batch;
	pool_fn fn;
	void *ctx;
	atomic_size_t next;
};

static void *
work(void *arg)
{
	struct job *j = arg;

	for (;;) {
		size_t i = atomic_fetch_add(&j->next, j->batch), end;

		if (i >= j->n)
			break;
		end = i + j->batch < j->n ? i + j->batch : j->n;
		for (; i < end; i++)
			j->fn(j->ctx, i);
	}
	return NULL;
}

static void
run(size_t n, size_t batch, unsigned threads, pool_fn fn, void *ctx)
{
	struct job j = { n, batch, fn, ctx, 0 };
	pthread_t tid[MAX_THREADS];
	unsigned started = 0;

	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	/* a second thread only pays for itself with a few batches to share */
	for (; started + 1 < threads && (size_t)(started + 1) * batch < n; started++)
		if (pthread_create(&tid[started], NULL, work, &j) != 0)
			break;
	work(&j);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

void
pool_run(size_t n, unsigned threads, pool_fn fn, void *ctx)
{
	run(n, BATCH, threads, fn, ctx);
}

void
pool_run_each(size_t n, unsigned threads, pool_fn fn, void *ctx)
{
	run(n, 1, threads, fn, ctx);
}

unsigned
pool_threads(unsigned max)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return (unsigned long)n < max ? (unsigned)n : max;
}

/* What pool_run_slices runs: N items in COUNT slices. */
struct slicing {
	size_t n, count;
	pool_slice_fn fn;
	void *ctx;
};

static void
run_slice(void *arg, size_t k)
{
	struct slicing *s = arg;

	s->fn(s->ctx, k, s->n * k / s->count, s->n * (k + 1) / s->count);
}

size_t
pool_run_slices(size_t n, pool_slice_fn fn, void *ctx)
{
	struct slicing s = { n, n >= POOL_SLICE_MIN ? POOL_SLICES : 1, fn, ctx };

	pool_run_each(s.count, s.count > 1 ? pool_threads(4) : 1, run_slice, &s);
	return s.count;
}

/* pool_sort sorts an array this long on several threads, in SORT_RUNS runs (a power of two). */
#define PARALLEL_SORT 16384
#define SORT_RUNS 16

struct sort {
	char *src, *dst;
	size_t size, width;	/* width: the runs merged by one pair, in this round */
	size_t at[SORT_RUNS + 1];	/* run K is elements [at[K], at[K + 1]) */
	int (*cmp)(const void *, const void *);
};

static void
sort_run(void *arg, size_t k)
{
	struct sort *s = arg;

	qsort(s->src + s->at[k] * s->size, s->at[k + 1] - s->at[k], s->size, s->cmp);
}

/* Pair K of this round: runs [2kw, (2k+1)w) and [(2k+1)w, (2k+2)w) of src merged into dst. */
static void
merge_pair(void *arg, size_t k)
{
	struct sort *s = arg;
	size_t z = s->size, a = s->at[2 * k * s->width], m = s->at[(2 * k + 1) * s->width];
	size_t e = s->at[(2 * k + 2) * s->width], i = a, j = m, o = a;

	while (i < m && j < e) {
		size_t from = s->cmp(s->src + j * z, s->src + i * z) < 0 ? j++ : i++;

		memcpy(s->dst + o++ * z, s->src + from * z, z);
	}
	memcpy(s->dst + o * z, s->src + i * z, (m - i) * z);
	o += m - i;
	memcpy(s->dst + o * z, s->src + j * z, (e - j) * z);
}

void
pool_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *), unsigned threads)
{
	struct sort s = { base, NULL, size, 0, {0}, cmp };

	if (threads < 2 || n < PARALLEL_SORT) {
		qsort(base, n, size, cmp);
		return;
	}
	s.dst = xreallocarray(NULL, n, size);
	for (size_t k = 0; k <= SORT_RUNS; k++)
		s.at[k] = n * k / SORT_RUNS;
	pool_run_each(SORT_RUNS, threads, sort_run, &s);
	for (s.width = 1; s.width < SORT_RUNS; s.width *= 2) {
		char *t;

		pool_run_each(SORT_RUNS / (2 * s.width), threads, merge_pair, &s);
		t = s.src;
		s.src = s.dst;
		s.dst = t;
	}
	/* an even number of rounds ends in BASE; an odd one is copied back */
	if (s.src != base)
		memcpy(base, s.src, n * size);
	free(s.src == base ? s.dst : s.src);
}
