/* SPDX-License-Identifier: MIT */
/* pool: run a function over the items 0..n-1 on a few threads, for work that splits into independent items. */
#ifndef MTASTSD_POOL_H
#define MTASTSD_POOL_H

#include <stddef.h>

typedef void (*pool_fn)(void *ctx, size_t i);

/*
 * Call FN(CTX, i) once for every i < N, spread over up to THREADS threads
 * (the calling one included), in batches taken in increasing order; returns
 * when every call has returned. With THREADS <= 1, or when a thread cannot
 * be started, the calling thread does the rest itself.
 */
void pool_run(size_t n, unsigned threads, pool_fn fn, void *ctx);

/*
 * pool_run with batches of one item, for items that each take long (a slice
 * of a list, a file): pool_run starts a second thread only for more than
 * one batch of 64, so it would run eight such items on one thread.
 */
void pool_run_each(size_t n, unsigned threads, pool_fn fn, void *ctx);

/*
 * qsort of the N elements of SIZE bytes at BASE by CMP, on up to THREADS
 * threads for a long array: slices sorted side by side, then merged in
 * pairs, each round's merges side by side. Equal elements may come in any
 * order, as with qsort.
 */
void pool_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *), unsigned threads);

/* A list of POOL_SLICE_MIN items or more is cut into POOL_SLICES slices by pool_run_slices. */
#define POOL_SLICE_MIN 20000
#define POOL_SLICES 16

typedef void (*pool_slice_fn)(void *ctx, size_t k, size_t from, size_t to);

/*
 * Call FN(CTX, k, from, to) for each slice k of the items [0, N): POOL_SLICES
 * near-equal slices side by side on up to four threads (pool_run_each) when
 * N >= POOL_SLICE_MIN, else one slice on the calling thread. Returns the
 * number of slices, for results gathered per slice in arrays of POOL_SLICES.
 */
size_t pool_run_slices(size_t n, pool_slice_fn fn, void *ctx);

/* How many threads are worth it: the CPUs this process may run on (its affinity mask), at most MAX. */
unsigned pool_threads(unsigned max);

#endif
