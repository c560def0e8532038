/* SPDX-License-Identifier: MIT */
/* strlist: an immutable, reference-counted list of strings it owns, shared by whoever holds a reference. */
#include "strlist.h"
#include "util.h"
#include "vec.h"

#include <stdlib.h>

void
strlist_push(struct strlist **l, char *s)
{
	struct strlist *p = *l;

	if (p == NULL || p->n == p->cap) {
		size_t cap = vec_cap(p ? p->cap : 0, p ? p->n + 1 : 1, 2, sizeof(p->v[0]));

		/* the header and the array in one block: one allocation per list */
		p = xreallocarray(p, 1, sizeof(*p) + cap * sizeof(p->v[0]));
		if (*l == NULL) {
			atomic_init(&p->refs, 1);
			p->n = 0;
		}
		p->cap = cap;
		*l = p;
	}
	p->v[p->n++] = s;
}

struct strlist *
strlist_ref(struct strlist *l)
{
	if (l != NULL)
		atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
	return l;
}

void
strlist_unref(struct strlist *l)
{
	/* release: the last holder frees only after every other holder's reads */
	if (l == NULL || atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) > 1)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l);
}

const char *const *
strlist_items(const struct strlist *l)
{
	static const char *const none[1];

	return l != NULL ? (const char *const *)l->v : none;
}
