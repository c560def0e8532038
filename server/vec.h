/* SPDX-License-Identifier: MIT */
/* vec: the one rule by which growable arrays grow (doubling from a first size), with overflow refused. */
#ifndef MTASTSD_VEC_H
#define MTASTSD_VEC_H

#include <stddef.h>

/*
 * The capacity an array of CAP elements of ELEM bytes grows to so that it
 * holds NEED: CAP itself when it already does, else CAP (FIRST when CAP is 0)
 * doubled until it holds NEED, at most SIZE_MAX / ELEM elements. 0 when NEED
 * elements of ELEM bytes cannot be represented in a size_t. A FIRST of 0
 * counts as 1. Pure: allocates nothing.
 */
size_t vec_cap(size_t cap, size_t need, size_t first, size_t elem);

/*
 * P (an array of *CAP elements of ELEM bytes, or NULL with *CAP 0) resized to
 * vec_cap(*CAP, NEED, FIRST, ELEM) elements, *CAP updated; P itself when it
 * already holds NEED. The new elements are not initialised. Aborts, as
 * xreallocarray does, when memory runs out or the size would overflow.
 */
void *vec_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first);

/* Room in the array V (with CAP, an lvalue, its capacity) for NEED elements, growing from FIRST. */
#define VEC_RESERVE(v, cap, need, first)                                            \
	do {                                                                        \
		if ((need) > (cap))                                                 \
			(v) = vec_grow((v), &(cap), (need), sizeof(*(v)), (first)); \
	} while (0)

/* Append X to the array V of N elements with room for CAP (both lvalues), growing from 16. */
#define VEC_PUSH(v, n, cap, x)                                                      \
	do {                                                                        \
		VEC_RESERVE((v), (cap), (n) + 1, 16);                               \
		(v)[(n)++] = (x);                                                   \
	} while (0)

#endif
