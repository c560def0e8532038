/* SPDX-License-Identifier: MIT */
/* vec: the one rule by which growable arrays grow (doubling from a first size), with overflow refused. */
#include "vec.h"
#include "util.h"

#include <stdint.h>

size_t
vec_cap(size_t cap, size_t need, size_t first, size_t elem)
{
	size_t max = elem ? SIZE_MAX / elem : SIZE_MAX, c = cap ? cap : first ? first : 1;

	if (need <= cap)
		return cap;
	if (need > max)
		return 0;
	if (c > max)
		c = max;
	while (c < need)
		/* doubling past the largest representable count stops at it */
		c = c > max / 2 ? max : c * 2;
	return c;
}

void *
vec_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t c;

	if (need <= *cap)
		return p;
	c = vec_cap(*cap, need, first, elem);
	/* 0: NEED * ELEM overflows, which xreallocarray refuses (it aborts) */
	p = xreallocarray(p, c ? c : need, elem);
	*cap = c;
	return p;
}
