/* SPDX-License-Identifier: MIT */
/* strlist: an immutable, reference-counted list of strings it owns, shared by whoever holds a reference. */
#ifndef MTASTSD_STRLIST_H
#define MTASTSD_STRLIST_H

#include <stdatomic.h>
#include <stddef.h>

/*
 * NULL is the empty list: every function here accepts it. A list is built
 * with strlist_push while its builder holds the only reference; once shared
 * (strlist_ref) it never changes, so holders can read it without locks, and
 * references may be taken and dropped from any thread.
 */
struct strlist {
	atomic_size_t refs;	/* holders; the list and its strings are freed when the last one lets go */
	size_t n, cap;
	char *v[];		/* N strings, each owned by the list */
};

/*
 * Append S (ownership passes to the list) to *L, creating the list (one
 * reference, the caller's) when *L is NULL. *L may move. Only while the
 * caller holds the only reference.
 */
void strlist_push(struct strlist **l, char *s);

/* Another reference to L, which is returned (NULL stays NULL). */
struct strlist *strlist_ref(struct strlist *l);

/* Drop one reference to L; the last frees the list and its strings. Accepts NULL. */
void strlist_unref(struct strlist *l);

/* The number of strings in L (0 for NULL). */
static inline size_t
strlist_len(const struct strlist *l)
{
	return l ? l->n : 0;
}

/*
 * L's strings as an array of strlist_len(L) entries, never NULL (an empty
 * list gives an empty array, safe to hand to memcpy or qsort). Valid while
 * the caller holds a reference.
 */
const char *const *strlist_items(const struct strlist *l);

#endif
