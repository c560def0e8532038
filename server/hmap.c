/* SPDX-License-Identifier: MIT */
/* hmap: an open-addressing hash map from borrowed string keys to pointers, for lookups by name. */
#include "hmap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void
rehash(struct hmap *m, size_t cap)
{
	struct hmap_slot *slots = xcalloc(cap, sizeof(*slots));

	for (size_t i = 0; i < m->cap; i++) {
		struct hmap_slot *s = &m->slots[i];
		if (s->key == NULL)
			continue;
		size_t j = (size_t)s->hash & (cap - 1);
		while (slots[j].key != NULL)
			j = (j + 1) & (cap - 1);
		slots[j] = *s;
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
}

void
hmap_reserve(struct hmap *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 16;

	while (cap / 2 < n)
		cap *= 2;
	if (cap != m->cap)
		rehash(m, cap);
}

void *
hmap_put(struct hmap *m, const char *key, void *value)
{
	unsigned long long h;
	size_t i;

	/* at most half full: linear probing stays at one or two slots a lookup, hit or miss */
	if ((m->n + 1) * 2 > m->cap)
		rehash(m, m->cap ? m->cap * 2 : 16);
	h = str_hash(key);
	for (i = (size_t)h & (m->cap - 1); m->slots[i].key != NULL; i = (i + 1) & (m->cap - 1))
		if (m->slots[i].hash == h && strcmp(m->slots[i].key, key) == 0)
			return m->slots[i].value;
	m->slots[i].key = key;
	m->slots[i].value = value;
	m->slots[i].hash = h;
	m->n++;
	return NULL;
}

void *
hmap_get(const struct hmap *m, const char *key)
{
	unsigned long long h;

	if (m->cap == 0)
		return NULL;
	h = str_hash(key);
	for (size_t i = (size_t)h & (m->cap - 1); m->slots[i].key != NULL; i = (i + 1) & (m->cap - 1))
		if (m->slots[i].hash == h && strcmp(m->slots[i].key, key) == 0)
			return m->slots[i].value;
	return NULL;
}

void
hmap_clear(struct hmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->n = m->cap = 0;
}
