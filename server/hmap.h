/* SPDX-License-Identifier: MIT */
/* hmap: an open-addressing hash map from borrowed string keys to pointers, for lookups by name. */
#ifndef MTASTSD_HMAP_H
#define MTASTSD_HMAP_H

#include <stddef.h>

struct hmap_slot {
	const char *key;	/* borrowed: must outlive the map */
	void *value;
	unsigned long long hash;
};

struct hmap {
	struct hmap_slot *slots;
	size_t n, cap;		/* cap is a power of two, or 0 */
};

/* Insert KEY -> VALUE. Returns the existing value when KEY is already present (the map is unchanged), else NULL. */
void *hmap_put(struct hmap *m, const char *key, void *value);
/* Room for N entries in all, so that putting them never rehashes: a map of a million names is sized once. */
void hmap_reserve(struct hmap *m, size_t n);
/* The value stored for KEY, or NULL. */
void *hmap_get(const struct hmap *m, const char *key);
/* Free the table (not M, the keys or the values); M is left {0}, ready for hmap_put. */
void hmap_clear(struct hmap *m);

#endif
