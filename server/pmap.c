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

/* ----------------------------------------------------------- pmap_build */

/* An item of pmap_build: its hash, the hash's slots in trie order (the first slot highest) and its place. */
struct bitem {
	unsigned long long order, hash;
	size_t i;
};

/* HASH's slots at shift 0, 5, ... 60 as one number, so that sorting by it sorts by the trie's path. */
static unsigned long long
trie_order(unsigned long long hash)
{
	unsigned long long o = 0;

	for (unsigned shift = 0; shift < 60; shift += BITS)
		o = (o << BITS) | slot_of(hash, shift);
	/* the last slot (shift 60) has the hash's top four bits */
	return (o << 4) | (hash >> 60);
}

static int
by_order(const void *a, const void *b)
{
	const struct bitem *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* V[0..n) sorted by order, then place (stable): a radix sort of 16-bit digits, or qsort for a short list. */
static void
sort_items(struct bitem *v, size_t n)
{
	struct bitem *tmp, *src = v, *dst;
	size_t *count;

	if (n < 4096) {
		qsort(v, n, sizeof(*v), by_order);
		return;
	}
	tmp = xcalloc(n, sizeof(*tmp));
	count = xcalloc(65536, sizeof(*count));
	dst = tmp;
	for (unsigned d = 0; d < 64; d += 16) {
		size_t sum = 0;

		memset(count, 0, 65536 * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[(src[i].order >> d) & 0xffff]++;
		for (size_t k = 0; k < 65536; k++) {
			size_t c = count[k];

			count[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].order >> d) & 0xffff]++] = src[i];
		struct bitem *t = src;
		src = dst;
		dst = t;
	}
	/* four passes: the sorted list is back in V */
	free(count);
	free(tmp);
}

/* The leaf of item B. */
static struct pmap_entry
leaf_of(const struct bitem *b, const struct pmap_item *items)
{
	return (struct pmap_entry){ .key = items[b->i].key, .u.value = items[b->i].value, .hash = b->hash };
}

static struct pmap_node *build_node(struct bitem *v, size_t n, unsigned shift, struct pmap_item *items,
    size_t *dropped);

/*
 * The entry for V[0..n) (one slot's items, sorted) at depth SHIFT: a leaf
 * when they are one key (the later ones dropped: value NULL), else a
 * subtree.
 */
static struct pmap_entry
build_entry(struct bitem *v, size_t n, unsigned shift, struct pmap_item *items, size_t *dropped)
{
	if (v[0].hash == v[n - 1].hash) {
		size_t same = 1;

		while (same < n && strcmp(items[v[same].i].key, items[v[0].i].key) == 0)
			same++;
		if (same == n) {
			for (size_t k = 1; k < n; k++) {
				items[v[k].i].value = NULL;
				(*dropped)++;
			}
			return leaf_of(&v[0], items);
		}
	}
	/* one item was a leaf above: here two keys or more */
	return (struct pmap_entry){ .key = NULL, .u.child = build_node(v, n, shift + BITS, items, dropped) };
}

/* A collision node of V[0..n) (equal hashes): each key once, its first item's. */
static struct pmap_node *
build_collision(struct bitem *v, size_t n, struct pmap_item *items, size_t *dropped)
{
	struct pmap_node *c = node_new((unsigned)n, true);

	for (size_t k = 0; k < n; k++) {
		unsigned j = 0;

		while (j < c->n && strcmp(c->e[j].key, items[v[k].i].key) != 0)
			j++;
		if (j < c->n) {
			items[v[k].i].value = NULL;
			(*dropped)++;
		} else {
			c->e[c->n++] = leaf_of(&v[k], items);
		}
	}
	return c;
}

/* The node at depth SHIFT of V[0..n) (sorted; below the root, at least two keys). */
static struct pmap_node *
build_node(struct bitem *v, size_t n, unsigned shift, struct pmap_item *items, size_t *dropped)
{
	struct pmap_node *node;
	unsigned slots = 0;

	if (shift >= 64)
		return build_collision(v, n, items, dropped);
	for (size_t k = 0; k < n; k++)
		if (k == 0 || slot_of(v[k].hash, shift) != slot_of(v[k - 1].hash, shift))
			slots++;
	node = node_new(slots, false);
	for (size_t k = 0, end; k < n; k = end) {
		unsigned s = slot_of(v[k].hash, shift);

		for (end = k + 1; end < n && slot_of(v[end].hash, shift) == s; end++)
			;
		node->bitmap |= 1u << s;
		node->e[node->n++] = build_entry(v + k, end - k, shift, items, dropped);
	}
	return node;
}

size_t
pmap_build(struct pmap *m, struct pmap_item *items, size_t n)
{
	struct bitem *v;
	size_t dropped = 0;

	m->root = NULL;
	m->n = 0;
	if (n == 0)
		return 0;
	v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i].hash = PMAP_HASH(items[i].key);
		v[i].order = trie_order(v[i].hash);
		v[i].i = i;
	}
	sort_items(v, n);
	/* the root is a branch even for one key, as pmap_put makes it */
	m->root = build_node(v, n, 0, items, &dropped);
	m->n = n - dropped;
	free(v);
	return dropped;
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
