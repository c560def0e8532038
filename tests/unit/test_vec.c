/* SPDX-License-Identifier: MIT */
/* Unit tests for vec: the growth rule of growable arrays, the macros, and overflow refused. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "vec.h"

static const struct {
	size_t cap, need, first, elem, want;
} caps[] = {
	{ 0, 0, 16, 8, 0 },		/* nothing needed, nothing grows */
	{ 0, 1, 16, 8, 16 },		/* the first size */
	{ 0, 17, 16, 8, 32 },		/* doubled from the first size until it holds NEED */
	{ 0, 1, 0, 8, 1 },		/* a first size of 0 counts as 1 */
	{ 16, 16, 8, 8, 16 },		/* already holds NEED: unchanged */
	{ 16, 17, 8, 8, 32 },		/* full: doubled, FIRST not used */
	{ 64, 1000, 64, 1, 1024 },	/* several doublings at once */
	{ 3, 4, 16, 4, 6 },		/* doubling from any capacity, not powers of two only */
	/* near the top: doubling stops at the largest count, then overflow is refused */
	{ SIZE_MAX / 16 + 1, SIZE_MAX / 16 + 2, 16, 8, SIZE_MAX / 8 },
	{ SIZE_MAX / 8, SIZE_MAX / 8, 16, 8, SIZE_MAX / 8 },
	{ 0, SIZE_MAX / 8 + 1, 16, 8, 0 },
	{ SIZE_MAX / 8, SIZE_MAX / 8 + 1, 16, 8, 0 },
	{ 0, SIZE_MAX, 1, 2, 0 },
	{ SIZE_MAX / 2 + 1, SIZE_MAX, 1, 1, SIZE_MAX },
	{ 0, 5, SIZE_MAX, 4, SIZE_MAX / 4 },	/* a first size too large is clamped */
};

Test(vec, cap_table)
{
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		cr_expect_eq(vec_cap(caps[i].cap, caps[i].need, caps[i].first, caps[i].elem), caps[i].want,
		    "case %zu: vec_cap(%zu, %zu, %zu, %zu) = %zu, want %zu", i, caps[i].cap, caps[i].need,
		    caps[i].first, caps[i].elem,
		    vec_cap(caps[i].cap, caps[i].need, caps[i].first, caps[i].elem), caps[i].want);
}

Test(vec, push_keeps_every_element)
{
	int *v = NULL;
	size_t n = 0, cap = 0;

	for (int i = 0; i < 1000; i++) {
		VEC_PUSH(v, n, cap, i * 3);
		cr_assert_geq(cap, n);
	}
	cr_expect_eq(n, 1000);
	cr_expect_eq(cap, 1024, "16 doubled to 1024, got %zu", cap);
	for (int i = 0; i < 1000; i++)
		cr_expect_eq(v[i], i * 3);
	free(v);
}

Test(vec, reserve_grows_only_when_needed)
{
	char *v = NULL;
	size_t cap = 0;

	VEC_RESERVE(v, cap, 1, 8);
	cr_expect_eq(cap, 8);
	char *before = v;
	VEC_RESERVE(v, cap, 8, 8);
	cr_expect_eq(cap, 8);
	cr_expect_eq(v, before, "a reserve the array already holds must not move it");
	VEC_RESERVE(v, cap, 9, 8);
	cr_expect_eq(cap, 16);
	free(v);
}

/* a size that overflows is refused as running out of memory is: mtastsd aborts */
Test(vec, grow_refuses_overflow, .signal = SIGABRT)
{
	long *v = NULL;
	size_t cap = 0;

	v = vec_grow(v, &cap, SIZE_MAX / sizeof(*v) + 1, sizeof(*v), 16);
	free(v);
}
