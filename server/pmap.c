/* SPDX-License-Identifier: MIT */
/* pmap: a persistent hash map (a hash array mapped trie) from borrowed string keys to pointers, whose versions share what did not change. */
#include "pmap.h"
#include "util.h"
#include "vec.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BITS 5
/* the unit test replaces it to make keys collide */
#ifndef PMAP_HASH
#define PMAP_HASH(key) str_hash(key)
#endif
#define WIDTH (1u << BITS)

struct pmap_entry {
	const char *key;	/* NULL: u.child holds a subtree */
	union {
		void *value;
		struct pmap_node *child;
	} u;
	unsigned long long hash;	/* the key's (leaves only) */
};

/*
 * A branch has one entry per used slot of its 32 (the slot is BITS bits of
 * the hash at this depth), in slot order, and a bitmap of the used slots.
 * Past the hash's 64 bits, keys whose hashes are equal share a collision
 * node, searched in order.
 */
struct pmap_node {
	atomic_uint refs;	/* the parents (or versions, for a root) holding it */
	unsigned bitmap;
	unsigned n, cap;	/* entries used and allocated */
	bool collision;
	struct pmap_entry e[];
};

static struct pmap_node *
node_new(unsigned cap, bool collision)
{
	struct pmap_node *n = xmalloc(sizeof(*n) + cap * sizeof(n->e[0]));

	atomic_init(&n->refs, 1);
	n->bitmap = 0;
	n->n = 0;
	n->cap = cap;
	n->collision = collision;
	return n;
}

static void
node_unref(struct pmap_node *n)
{
	if (n == NULL || atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (unsigned i = 0; i < n->n; i++)
		if (n->e[i].key == NULL)
			node_unref(n->e[i].u.child);
	free(n);
}

/*
 * Make *SLOT (held by the caller's version) the caller's alone: a node
 * another version also holds is copied (its children are then held by
 * both copies) and the caller's hold on the original is dropped.
 */
static struct pmap_node *
own(struct pmap_node **slot)
{
	struct pmap_node *old = *slot, *c;

	if (atomic_load_explicit(&old->refs, memory_order_acquire) == 1)
		return old;
	c = node_new(old->n, old->collision);
	c->bitmap = old->bitmap;
	c->n = old->n;
	memcpy(c->e, old->e, old->n * sizeof(old->e[0]));
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].key == NULL)
			atomic_fetch_add_explicit(&c->e[i].u.child->refs, 1, memory_order_relaxed);
	node_unref(old);
	*slot = c;
	return c;
}

/* Room in *SLOT (the caller's alone) for NEED entries. */
static struct pmap_node *
reserve(struct pmap_node **slot, unsigned need)
{
	struct pmap_node *n = *slot;
	unsigned cap;

	if (need <= n->cap)
		return n;
	/* a node holds at most 32 entries, a collision node hardly more: far from UINT_MAX */
	cap = (unsigned)vec_cap(n->cap, need, 1, sizeof(n->e[0]));
	n = xreallocarray(n, 1, sizeof(*n) + cap * sizeof(n->e[0]));
	n->cap = cap;
	*slot = n;
	return n;
}

static unsigned
slot_of(unsigned long long hash, unsigned shift)
{
	return (unsigned)(hash >> shift) & (WIDTH - 1);
}

static unsigned
pos_of(const struct pmap_node *n, unsigned bit)
{
	return (unsigned)__builtin_popcount(n->bitmap & (bit - 1));
}

/* A subtree at depth SHIFT holding the two leaves A and B (different keys). */
static struct pmap_node *
pair(const struct pmap_entry *a, const struct pmap_entry *b, unsigned shift)
{
	struct pmap_node *n;
	unsigned sa, sb;

	if (shift >= 64) {
		n = node_new(2, true);
		n->e[0] = *a;
		n->e[1] = *b;
		n->n = 2;
		return n;
	}
	sa = slot_of(a->hash, shift);
	sb = slot_of(b->hash, shift);
	if (sa == sb) {
		n = node_new(1, false);
		n->bitmap = 1u << sa;
		n->e[0] = (struct pmap_entry){ .key = NULL, .u.child = pair(a, b, shift + BITS) };
		n->n = 1;
		return n;
	}
	n = node_new(2, false);
	n->bitmap = (1u << sa) | (1u << sb);
	n->e[sa < sb ? 0 : 1] = *a;
	n->e[sa < sb ? 1 : 0] = *b;
	n->n = 2;
	return n;
}

/* Put LEAF into *SLOT (the caller's alone) at depth SHIFT; *OLD gets the replaced value. True when it replaced one. */
static bool
put_at(struct pmap_node **slot, const struct pmap_entry *leaf, unsigned shift, void **old)
{
	struct pmap_node *n = *slot;
	struct pmap_entry *e;
	unsigned bit, pos;

	if (n->collision) {
		for (unsigned i = 0; i < n->n; i++)
			if (strcmp(n->e[i].key, leaf->key) == 0) {
				*old = n->e[i].u.value;
				n->e[i] = *leaf;
				return true;
			}
		n = reserve(slot, n->n + 1);
		n->e[n->n++] = *leaf;
		return false;
	}
	bit = 1u << slot_of(leaf->hash, shift);
	pos = pos_of(n, bit);
	if (!(n->bitmap & bit)) {
		n = reserve(slot, n->n + 1);
		memmove(&n->e[pos + 1], &n->e[pos], (n->n - pos) * sizeof(n->e[0]));
		n->e[pos] = *leaf;
		n->bitmap |= bit;
		n->n++;
		return false;
	}
	e = &n->e[pos];
	if (e->key == NULL) {
		own(&e->u.child);
		return put_at(&e->u.child, leaf, shift + BITS, old);
	}
	if (e->hash == leaf->hash && strcmp(e->key, leaf->key) == 0) {
		*old = e->u.value;
		*e = *leaf;
		return true;
	}
	e->u.child = pair(e, leaf, shift + BITS);
	e->key = NULL;
	return false;
}

void *
pmap_put(struct pmap *m, const char *key, void *value)
{
	struct pmap_entry leaf = { .key = key, .u.value = value, .hash = PMAP_HASH(key) };
	void *old = NULL;

	if (m->root == NULL) {
		m->root = node_new(1, false);
		m->root->bitmap = 1u << slot_of(leaf.hash, 0);
		m->root->e[0] = leaf;
		m->root->n = 1;
		m->n = 1;
		return NULL;
	}
	own(&m->root);
	if (!put_at(&m->root, &leaf, 0, &old))
		m->n++;
	return old;
}

/* Remove KEY (present) from *SLOT (the caller's alone); returns its value. */
static void *
del_at(struct pmap_node **slot, const char *key, unsigned long long hash, unsigned shift)
{
	struct pmap_node *n = *slot, *c;
	struct pmap_entry *e;
	unsigned bit, pos;
	void *v;

	if (n->collision) {
		for (pos = 0; strcmp(n->e[pos].key, key) != 0; pos++)
			;
		v = n->e[pos].u.value;
		memmove(&n->e[pos], &n->e[pos + 1], (n->n - pos - 1) * sizeof(n->e[0]));
		n->n--;
		return v;
	}
	bit = 1u << slot_of(hash, shift);
	pos = pos_of(n, bit);
	e = &n->e[pos];
	if (e->key != NULL) {
		v = e->u.value;
		memmove(&n->e[pos], &n->e[pos + 1], (n->n - pos - 1) * sizeof(n->e[0]));
		n->bitmap &= ~bit;
		n->n--;
		return v;
	}
	own(&e->u.child);
	v = del_at(&e->u.child, key, hash, shift + BITS);
	c = e->u.child;
	/* a subtree left with one leaf gives it back to its parent: the trie stays as shallow as its keys need */
	if (c->n == 1 && c->e[0].key != NULL) {
		*e = c->e[0];
		node_unref(c);
	}
	return v;
}

void *
pmap_del(struct pmap *m, const char *key)
{
	void *v;

	/* absent: nothing to copy */
	if (pmap_get(m, key) == NULL)
		return NULL;
	own(&m->root);
	v = del_at(&m->root, key, PMAP_HASH(key), 0);
	m->n--;
	if (m->root->n == 0) {
		node_unref(m->root);
		m->root = NULL;
	}
	return v;
}

void *
pmap_get(const struct pmap *m, const char *key)
{
	const struct pmap_node *n = m->root;
	unsigned long long hash;
	unsigned shift = 0;

	if (n == NULL)
		return NULL;
	hash = PMAP_HASH(key);
	for (;;) {
		const struct pmap_entry *e;
		unsigned bit;

		if (n->collision) {
			for (unsigned i = 0; i < n->n; i++)
				if (strcmp(n->e[i].key, key) == 0)
					return n->e[i].u.value;
			return NULL;
		}
		bit = 1u << slot_of(hash, shift);
		if (!(n->bitmap & bit))
			return NULL;
		e = &n->e[pos_of(n, bit)];
		if (e->key != NULL)
			return e->hash == hash && strcmp(e->key, key) == 0 ? e->u.value : NULL;
		n = e->u.child;
		shift += BITS;
	}
}

static void
each_at(const struct pmap_node *n, void (*fn)(const char *, void *, void *), void *arg)
{
	for (unsigned i = 0; i < n->n; i++) {
		if (n->e[i].key != NULL)
			fn(n->e[i].key, n->e[i].u.value, arg);
		else
			each_at(n->e[i].u.child, fn, arg);
	}
}

void
pmap_each(const struct pmap *m, void (*fn)(const char *key, void *value, void *arg), void *arg)
{
	if (m->root != NULL)
		each_at(m->root, fn, arg);
}

void
pmap_copy(struct pmap *dst, const struct pmap *src)
{
	if (src->root != NULL)
		atomic_fetch_add_explicit(&src->root->refs, 1, memory_order_relaxed);
	dst->root = src->root;
	dst->n = src->n;
}

void
pmap_clear(struct pmap *m)
{
	node_unref(m->root);
	m->root = NULL;
	m->n = 0;
}
