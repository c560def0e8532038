/* SPDX-License-Identifier: MIT */
/* arena: bytes handed out from large chunks and given back to the system all at once. */
#ifndef MTASTSD_ARENA_H
#define MTASTSD_ARENA_H

#include <stddef.h>

/*
 * An arena: many small strings that live and die together (a snapshot's
 * rendered sites) taken from chunks of 1 MiB mapped for it alone, so that
 * freeing it unmaps them whole. A million small mallocs freed one by one
 * leave the heap riddled with pages that free chunks share with live ones;
 * resident memory then creeps up reload after reload. One thread at a time.
 */
struct arena;

struct arena *arena_new(void);

/* A NUL-terminated copy of P's LEN bytes in A (never NULL: out of memory is fatal, as xmalloc). */
char *arena_memdup(struct arena *a, const void *p, size_t len);

/* Unmap every chunk of A and free A (NULL is accepted). */
void arena_free(struct arena *a);

#endif
