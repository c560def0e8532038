/* SPDX-License-Identifier: MIT */
/* pmap: a persistent hash map (a hash array mapped trie) from borrowed string keys to pointers, whose versions share what did not change. */
#ifndef MTASTSD_PMAP_H
#define MTASTSD_PMAP_H

#include <stddef.h>

struct pmap_node;

/*
 * One version of a map. A version is changed only by its owner (one thread
 * at a time) and read by anyone; other versions made from it with pmap_copy
 * are never disturbed, so a reader of the serving version needs no lock
 * while the next one is built beside it. Each change copies only the nodes
 * on the changed key's path that another version also holds (about
 * log32(n) of them); nodes held by this version alone change in place.
 *
 * Keys and values are borrowed: a key must stay valid, unchanged, as long
 * as any version holds it; a value is never NULL. {0} is the empty map.
 */
struct pmap {
	struct pmap_node *root;	/* NULL: empty */
	size_t n;		/* entries */
};

/* A version DST equal to SRC, sharing every node (constant time). DST's old contents are not released: clear it first. */
void pmap_copy(struct pmap *dst, const struct pmap *src);

/*
 * Map KEY to VALUE in M. Returns the value KEY had (the entry is then
 * replaced, KEY's new pointer kept), or NULL when it was absent.
 */
void *pmap_put(struct pmap *m, const char *key, void *value);

/* Remove KEY from M. Returns its value, or NULL when it was absent (M is then unchanged). */
void *pmap_del(struct pmap *m, const char *key);

/* The value of KEY in M, or NULL. */
void *pmap_get(const struct pmap *m, const char *key);

/* Call FN for each entry of M, in no particular order; FN must not change M. */
void pmap_each(const struct pmap *m, void (*fn)(const char *key, void *value, void *arg), void *arg);

/* One entry given to pmap_build. */
struct pmap_item {
	const char *key;
	void *value;
};

/*
 * The empty M made to map each of ITEMS[0..n) in one pass: sorted by the
 * trie's order of hash bits, then built bottom-up, each node allocated at
 * its size. For a whole map that is several times faster than N pmap_puts,
 * whose inserts each walk the trie at random. A key given twice keeps its
 * first item; the later ones are left out and their VALUE set to NULL.
 * Returns how many were left out.
 */
size_t pmap_build(struct pmap *m, struct pmap_item *items, size_t n);

/* Drop version M (it is left empty); the nodes no other version holds are freed. Any thread. */
void pmap_clear(struct pmap *m);

#endif
