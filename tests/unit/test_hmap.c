/* SPDX-License-Identifier: MIT */
/* Unit tests for hmap: insert, look up, duplicates, growth, and keys that collide in the table. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "util.h"

#define V(i) ((void *)(uintptr_t)(i))

Test(hmap, empty_map_finds_nothing)
{
	struct hmap m = {0};

	cr_expect_null(hmap_get(&m, "x"));
	cr_expect_null(hmap_get(&m, ""));
	hmap_clear(&m);
	hmap_clear(&m);	/* freeing an empty (or freed) map is harmless */
	cr_expect_eq(m.cap, 0);
}

Test(hmap, put_get_and_duplicates)
{
	struct hmap m = {0};
	char key[] = "example.com";

	cr_expect_null(hmap_put(&m, "example.com", V(1)));
	cr_expect_null(hmap_put(&m, "example.org", V(2)));
	cr_expect_null(hmap_put(&m, "", V(3)), "the empty string is a key like any other");
	cr_expect_eq(m.n, 3);
	/* found by content, not by pointer */
	cr_expect_eq(hmap_get(&m, key), V(1));
	cr_expect_eq(hmap_get(&m, "example.org"), V(2));
	cr_expect_eq(hmap_get(&m, ""), V(3));
	cr_expect_null(hmap_get(&m, "example.net"));
	cr_expect_null(hmap_get(&m, "Example.com"), "keys are compared exactly");
	cr_expect_null(hmap_get(&m, "example.co"));
	/* a second put of a key answers the first value and changes nothing */
	cr_expect_eq(hmap_put(&m, key, V(9)), V(1));
	cr_expect_eq(hmap_get(&m, "example.com"), V(1));
	cr_expect_eq(m.n, 3);
	hmap_clear(&m);
	cr_expect_null(m.slots);
	cr_expect_eq(m.n, 0);
	/* usable again after hmap_clear */
	cr_expect_null(hmap_put(&m, "again", V(4)));
	cr_expect_eq(hmap_get(&m, "again"), V(4));
	hmap_clear(&m);
}

/* Through many growths: every key stays found with its value, the table stays at most half full. */
Test(hmap, grows_and_keeps_every_key)
{
	enum { N = 50000 };
	struct hmap m = {0};
	char **keys = xcalloc(N, sizeof(*keys));

	for (size_t i = 0; i < N; i++) {
		keys[i] = xasprintf("d%zu.example.com", i);
		cr_assert_null(hmap_put(&m, keys[i], V(i + 1)));
		cr_assert(m.n * 2 <= m.cap, "%zu keys in %zu slots", m.n, m.cap);
		cr_assert_eq(m.cap & (m.cap - 1), 0, "cap %zu is a power of two", m.cap);
	}
	cr_expect_eq(m.n, N);
	for (size_t i = 0; i < N; i++)
		cr_expect_eq(hmap_get(&m, keys[i]), V(i + 1), "%s", keys[i]);
	for (size_t i = 0; i < N; i++) {
		char miss[64];
		snprintf(miss, sizeof(miss), "e%zu.example.com", i);
		cr_expect_null(hmap_get(&m, miss));
	}
	for (size_t i = 0; i < N; i++)
		free(keys[i]);
	free(keys);
	hmap_clear(&m);
}

/* A reserved map takes that many keys without a rehash (the table stays where it is) and keeps what it held. */
Test(hmap, reserve_sizes_once)
{
	enum { N = 3000 };
	struct hmap m = {0};
	char **keys = xcalloc(N, sizeof(*keys));
	struct hmap_slot *table;

	for (size_t i = 0; i < N; i++)
		keys[i] = xasprintf("r%zu.example.com", i);
	cr_assert_null(hmap_put(&m, keys[0], V(1)));
	hmap_reserve(&m, N);
	cr_assert(m.cap >= 2 * N, "cap %zu for %d keys", m.cap, N);
	cr_assert_eq(m.cap & (m.cap - 1), 0, "cap %zu is a power of two", m.cap);
	cr_expect_eq(hmap_get(&m, keys[0]), V(1), "a key put before the reserve is still found");
	table = m.slots;
	for (size_t i = 1; i < N; i++)
		cr_assert_null(hmap_put(&m, keys[i], V(i + 1)));
	cr_expect_eq(m.slots, table, "no rehash while filling what was reserved");
	for (size_t i = 0; i < N; i++)
		cr_expect_eq(hmap_get(&m, keys[i]), V(i + 1), "%s", keys[i]);
	/* a smaller reserve changes nothing */
	hmap_reserve(&m, 10);
	cr_expect_eq(m.slots, table);
	hmap_clear(&m);
	for (size_t i = 0; i < N; i++)
		free(keys[i]);
	free(keys);
}

/*
 * Keys whose probes run into one another: fill a 16-slot table with 8 keys that all start
 * in the same slot, so each lookup walks a chain, wrapping past the end of the table.
 */
Test(hmap, colliding_keys_and_wrap_around)
{
	struct hmap m = {0};
	char *keys[8];
	size_t found = 0;
	int i;

	/* 8 keys starting in the last of 16 slots: the chain wraps to slot 0 */
	for (i = 0; found < 8 && i < 1000000; i++) {
		char k[32];
		snprintf(k, sizeof(k), "k%d", i);
		if ((str_hash(k) & 15) == 15)
			keys[found++] = xstrdup(k);
	}
	cr_assert_eq(found, 8);
	for (size_t j = 0; j < 8; j++)
		cr_assert_null(hmap_put(&m, keys[j], V(j + 1)));
	cr_assert_eq(m.cap, 16, "8 keys fit a 16-slot table");
	for (size_t j = 0; j < 8; j++)
		cr_expect_eq(hmap_get(&m, keys[j]), V(j + 1), "%s", keys[j]);
	cr_expect_eq(m.slots[15].key, keys[0]);
	for (size_t j = 0; j < 7; j++)
		cr_expect_eq(m.slots[j].key, keys[j + 1], "slot %zu", j);
	/* a miss that starts in the same slot walks the whole chain and stops at the empty slot */
	for (; i < 2000000; i++) {
		char k[32];
		snprintf(k, sizeof(k), "k%d", i);
		if ((str_hash(k) & 15) == 15) {
			cr_expect_null(hmap_get(&m, k));
			break;
		}
	}
	/* the ninth key grows the table; the chain is spread out and still found */
	cr_assert_null(hmap_put(&m, "ninth", V(9)));
	cr_expect_eq(m.cap, 32);
	cr_expect_eq(hmap_get(&m, "ninth"), V(9));
	for (size_t j = 0; j < 8; j++) {
		cr_expect_eq(hmap_get(&m, keys[j]), V(j + 1), "%s", keys[j]);
		free(keys[j]);
	}
	hmap_clear(&m);
}
