/* SPDX-License-Identifier: MIT */
/* Unit tests for arena: copies that stay intact across chunks, a copy larger than a chunk, and the whole freed. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "arena.h"

Test(arena, copies_stay_intact_across_chunks)
{
	struct arena *a = arena_new();
	static char *copy[40000];
	char want[64];

	/* 40,000 copies of about 40 bytes: more than one chunk of 1 MiB */
	for (int i = 0; i < 40000; i++) {
		int n = snprintf(want, sizeof(want), "mta-sts.customer-%d.example.com", i);

		copy[i] = arena_memdup(a, want, (size_t)n);
	}
	for (int i = 0; i < 40000; i++) {
		snprintf(want, sizeof(want), "mta-sts.customer-%d.example.com", i);
		cr_assert_str_eq(copy[i], want);
	}
	cr_expect_str_eq(arena_memdup(a, "", 0), "", "an empty copy is an empty string");
	arena_free(a);
	arena_free(NULL);
}

Test(arena, a_copy_larger_than_a_chunk)
{
	struct arena *a = arena_new();
	size_t len = 3 * 1024 * 1024 + 17;
	char *big = malloc(len), *copy, *after;

	memset(big, 'x', len);
	copy = arena_memdup(a, big, len);
	after = arena_memdup(a, "after", 5);
	cr_assert_eq(memcmp(copy, big, len), 0);
	cr_expect_eq(copy[len], '\0');
	cr_expect_str_eq(after, "after");
	free(big);
	arena_free(a);
}
