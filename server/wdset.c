/* SPDX-License-Identifier: MIT */
/* wdset: a set of inotify watch descriptors, hashed, so the watcher finds an event's folder without a scan. */
#include "wdset.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static size_t
slot_of(int wd, size_t cap)
{
	/* Fibonacci hashing: inotify hands out descriptors in sequence, which this spreads */
	return (size_t)(((unsigned long long)(unsigned)wd * 0x9E3779B97F4A7C15ULL) >> 20) & (cap - 1);
}

static void
insert(int *slots, size_t cap, int wd)
{
	size_t i = slot_of(wd, cap);

	while (slots[i] != 0 && slots[i] != wd)
		i = (i + 1) & (cap - 1);
	slots[i] = wd;
}

void
wdset_add(struct wdset *s, int wd)
{
	if (wd <= 0 || wdset_has(s, wd))
		return;
	/* at most half full, so a probe ends soon */
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		int *slots = xcalloc(cap, sizeof(*slots));

		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i] != 0)
				insert(slots, cap, s->slots[i]);
		free(s->slots);
		s->slots = slots;
		s->cap = cap;
	}
	insert(s->slots, s->cap, wd);
	s->n++;
}

bool
wdset_has(const struct wdset *s, int wd)
{
	size_t i;

	if (s->cap == 0 || wd <= 0)
		return false;
	for (i = slot_of(wd, s->cap); s->slots[i] != 0; i = (i + 1) & (s->cap - 1))
		if (s->slots[i] == wd)
			return true;
	return false;
}

void
wdset_reset(struct wdset *s)
{
	if (s->slots != NULL)
		memset(s->slots, 0, s->cap * sizeof(*s->slots));
	s->n = 0;
}

void
wdset_clear(struct wdset *s)
{
	free(s->slots);
	s->slots = NULL;
	s->n = s->cap = 0;
}
