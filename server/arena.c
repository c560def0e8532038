/* SPDX-License-Identifier: MIT */
/* arena: bytes handed out from large chunks and given back to the system all at once. */
#include "arena.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK (1024 * 1024)

struct chunk {
	struct chunk *next;
	size_t size, used;
	char data[];
};

struct arena {
	struct chunk *head;
};

struct arena *
arena_new(void)
{
	return xcalloc(1, sizeof(struct arena));
}

/* A new chunk of at least NEED bytes at the head of A. */
static struct chunk *
grow(struct arena *a, size_t need)
{
	size_t size = need + sizeof(struct chunk) > CHUNK ? need + sizeof(struct chunk) : CHUNK;
	struct chunk *c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (c == MAP_FAILED)
		xoom();
	c->next = a->head;
	c->size = size - sizeof(struct chunk);
	c->used = 0;
	a->head = c;
	return c;
}

char *
arena_memdup(struct arena *a, const void *p, size_t len)
{
	struct chunk *c = a->head;
	char *out;

	if (c == NULL || c->size - c->used < len + 1)
		c = grow(a, len + 1);
	out = c->data + c->used;
	c->used += len + 1;
	if (len > 0)
		memcpy(out, p, len);
	out[len] = '\0';
	return out;
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	while (a->head != NULL) {
		struct chunk *next = a->head->next;

		munmap(a->head, a->head->size + sizeof(struct chunk));
		a->head = next;
	}
	free(a);
}
