/* SPDX-License-Identifier: MIT */
/* pool: run a function over the items 0..n-1 on a few threads. */
#define _GNU_SOURCE	/* sched_getaffinity, CPU_COUNT */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
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
