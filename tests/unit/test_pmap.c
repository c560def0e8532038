/* SPDX-License-Identifier: MIT */
/* Unit tests for pmap: put, get, delete against a plain reference, versions that share nodes and never see each other's changes, and colliding hashes. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The collision nodes are reached only when two keys' 64-bit hashes are
 * equal; with the real hash that never happens in a test. Keys starting
 * with "c:" hash by their length alone, so they collide by the hundred.
 */
#include "util.h"
static unsigned long long
test_hash(const char *k)
{
	return strncmp(k, "c:", 2) == 0 ? (unsigned long long)strlen(k) * 0x9e3779b97f4a7c15ULL : str_hash(k);
}
#define PMAP_HASH(key) test_hash(key)
#include "../../server/pmap.c"

#define N 20000

static char keys[N][40];

static void
make_keys(const char *fmt)
{
	for (int i = 0; i < N; i++)
		snprintf(keys[i], sizeof(keys[i]), fmt, i);
}

#define V(i) ((void *)(uintptr_t)((i) + 1))

/* M holds exactly the keys i with PRESENT[i], each mapped to VAL[i]. */
static void
expect_contents(const struct pmap *m, const bool *present, const int *val, const char *what)
{
	size_t n = 0;

	for (int i = 0; i < N; i++) {
		void *v = pmap_get(m, keys[i]);

		if (present[i]) {
			cr_assert_eq(v, V(val[i]), "%s: %s maps to %p, not %p", what, keys[i], v, V(val[i]));
			n++;
		} else {
			cr_assert_null(v, "%s: %s should be absent", what, keys[i]);
		}
	}
	cr_assert_eq(m->n, n, "%s: count %zu, expected %zu", what, m->n, n);
}

struct count {
	size_t n;
	uintptr_t sum;
};

static void
count_one(const char *key, void *value, void *arg)
{
	struct count *c = arg;

	(void)key;
	c->n++;
	c->sum += (uintptr_t)value;
}

Test(pmap, empty_map)
{
	struct pmap m = {0};

	cr_expect_null(pmap_get(&m, "x"));
	cr_expect_null(pmap_del(&m, "x"));
	cr_expect_eq(m.n, 0);
	pmap_clear(&m);
	pmap_clear(&m);
	cr_expect_null(m.root);
}

Test(pmap, put_replace_delete_against_a_reference)
{
	static bool present[N];
	static int val[N];
	struct pmap m = {0};
	unsigned seed = 7;

	make_keys("customer-%d.example.com");
	for (int round = 0; round < 4 * N; round++) {
		int i;

		seed = seed * 1103515245u + 12345u;
		i = (int)((seed >> 8) % N);
		if ((seed >> 4) % 4 == 0) {
			void *v = pmap_del(&m, keys[i]);
			cr_assert_eq(v, present[i] ? V(val[i]) : NULL, "delete %s returned %p", keys[i], v);
			present[i] = false;
		} else {
			void *old = pmap_put(&m, keys[i], V(round));
			cr_assert_eq(old, present[i] ? V(val[i]) : NULL, "put %s returned %p", keys[i], old);
			present[i] = true;
			val[i] = round;
		}
	}
	expect_contents(&m, present, val, "after random puts and deletes");
	/* everything deleted: the map is empty again, nodes freed (LSan would say otherwise) */
	for (int i = 0; i < N; i++)
		pmap_del(&m, keys[i]);
	cr_expect_eq(m.n, 0);
	cr_expect_null(m.root, "the last delete frees the root");
	cr_expect_null(pmap_get(&m, keys[0]));
}

Test(pmap, keys_are_compared_by_content_and_the_new_pointer_is_kept)
{
	struct pmap m = {0};
	char a[] = "example.com", b[] = "example.com";

	pmap_put(&m, a, V(1));
	cr_expect_eq(pmap_put(&m, b, V(2)), V(1));
	cr_expect_eq(m.n, 1);
	a[0] = 'X';	/* the first key's storage may now be reused: the map holds B */
	cr_expect_eq(pmap_get(&m, "example.com"), V(2));
	cr_expect_null(pmap_get(&m, "Example.com"));
	pmap_clear(&m);
}

Test(pmap, versions_never_see_each_others_changes)
{
	static bool p1[N], p2[N];
	static int v1[N], v2[N];
	struct pmap a = {0}, b = {0}, c = {0};

	make_keys("mta-sts.tenant-%d.example");
	for (int i = 0; i < N; i += 2) {
		pmap_put(&a, keys[i], V(i));
		p1[i] = true;
		v1[i] = i;
	}
	pmap_copy(&b, &a);
	memcpy(p2, p1, sizeof(p1));
	memcpy(v2, v1, sizeof(v1));
	/* B: a file's worth of changes: some added, some replaced, some removed */
	for (int i = 0; i < 3000; i++) {
		int k = (i * 7919) % N;

		if (i % 3 == 0) {
			pmap_del(&b, keys[k]);
			p2[k] = false;
		} else {
			pmap_put(&b, keys[k], V(100000 + i));
			p2[k] = true;
			v2[k] = 100000 + i;
		}
	}
	expect_contents(&a, p1, v1, "the version B was copied from");
	expect_contents(&b, p2, v2, "the changed version");
	/* C from B, then A dropped: B and C still whole (ASan: no node freed under them) */
	pmap_copy(&c, &b);
	pmap_clear(&a);
	expect_contents(&b, p2, v2, "B after A was dropped");
	pmap_put(&c, keys[1], V(900000));
	pmap_del(&c, keys[2]);
	expect_contents(&b, p2, v2, "B after a put and a delete in C");
	pmap_clear(&b);
	p2[1] = true;
	v2[1] = 900000;
	p2[2] = false;
	expect_contents(&c, p2, v2, "C after B was dropped");
	pmap_clear(&c);
}

Test(pmap, a_change_copies_only_the_path)
{
	struct pmap a = {0}, b = {0};

	make_keys("k%d");
	for (int i = 0; i < N; i++)
		pmap_put(&a, keys[i], V(i));
	pmap_copy(&b, &a);
	pmap_put(&b, "one more", V(1));
	/* the roots differ, but most of the first level is still shared */
	cr_assert_neq(a.root, b.root);
	{
		unsigned shared = 0;
		for (unsigned i = 0; i < a.root->n; i++)
			if (a.root->e[i].key == NULL && b.root->e[i].key == NULL && a.root->e[i].u.child == b.root->e[i].u.child)
				shared++;
		cr_expect_geq(shared, a.root->n - 1, "%u of %u subtrees shared", shared, a.root->n);
	}
	pmap_clear(&a);
	pmap_clear(&b);
}

Test(pmap, colliding_hashes)
{
	struct pmap m = {0}, c = {0};
	static char ck[300][16];

	/* c:a ... all of one length collide in full: one collision node */
	for (int i = 0; i < 300; i++)
		snprintf(ck[i], sizeof(ck[i]), "c:%05d", i);
	for (int i = 0; i < 300; i++)
		cr_assert_null(pmap_put(&m, ck[i], V(i)));
	pmap_put(&m, "plain", V(1000));
	cr_expect_eq(m.n, 301);
	for (int i = 0; i < 300; i++)
		cr_assert_eq(pmap_get(&m, ck[i]), V(i));
	cr_expect_null(pmap_get(&m, "c:99999"), "same hash, absent key");
	cr_expect_eq(pmap_put(&m, ck[5], V(7)), V(5));
	pmap_copy(&c, &m);
	for (int i = 0; i < 299; i++)
		cr_assert_eq(pmap_del(&c, ck[i]), i == 5 ? V(7) : V(i));
	cr_expect_eq(pmap_get(&c, ck[299]), V(299), "the last of a collision is pulled up and still found");
	cr_expect_eq(pmap_get(&m, ck[10]), V(10), "the original keeps its collision node");
	cr_expect_eq(c.n, 2);
	pmap_clear(&m);
	pmap_clear(&c);
}

Test(pmap, each_visits_every_entry_once)
{
	struct pmap m = {0};
	struct count c = {0};
	uintptr_t sum = 0;

	make_keys("e%d");
	for (int i = 0; i < N; i++) {
		pmap_put(&m, keys[i], V(i));
		sum += (uintptr_t)V(i);
	}
	pmap_each(&m, count_one, &c);
	cr_expect_eq(c.n, N);
	cr_expect_eq(c.sum, sum);
	pmap_clear(&m);
}

/* A reader of one version while its owner builds and drops others from it: nothing it reads changes or is freed. */
static struct pmap shared_version;
static atomic_int stop_reading;

static void *
reader(void *arg)
{
	size_t bad = 0;

	(void)arg;
	while (!atomic_load(&stop_reading))
		for (int i = 0; i < N; i += 97)
			if (pmap_get(&shared_version, keys[i]) != V(i))
				bad++;
	return (void *)(uintptr_t)bad;
}

Test(pmap, readers_of_a_version_are_not_disturbed_by_the_next)
{
	pthread_t t;
	void *bad;

	make_keys("r%d");
	for (int i = 0; i < N; i++)
		pmap_put(&shared_version, keys[i], V(i));
	pthread_create(&t, NULL, reader, NULL);
	for (int round = 0; round < 200; round++) {
		struct pmap next = {0};

		pmap_copy(&next, &shared_version);
		for (int i = round; i < N; i += 50)
			pmap_put(&next, keys[i], V(i + 1));
		for (int i = round + 1; i < N; i += 50)
			pmap_del(&next, keys[i]);
		pmap_clear(&next);
	}
	atomic_store(&stop_reading, 1);
	pthread_join(t, &bad);
	cr_expect_eq((uintptr_t)bad, 0, "%zu reads saw another version's change", (size_t)(uintptr_t)bad);
	pmap_clear(&shared_version);
}

/* pmap_build of KEYS[0..n) (each mapped to V(i)), checked against the same keys put one by one. */
static void
expect_build_equals_puts(size_t n, const char *what)
{
	struct pmap built = {0}, put = {0};
	struct pmap_item *items = calloc(n + 1, sizeof(*items));
	struct count a = {0}, b = {0};

	for (size_t i = 0; i < n; i++) {
		items[i].key = keys[i];
		items[i].value = V(i);
		pmap_put(&put, keys[i], V(i));
	}
	cr_assert_eq(pmap_build(&built, items, n), 0, "%s: nothing dropped", what);
	cr_assert_eq(built.n, n, "%s", what);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(pmap_get(&built, keys[i]), V(i), "%s: %s", what, keys[i]);
	cr_assert_null(pmap_get(&built, "absent.example"));
	pmap_each(&built, count_one, &a);
	pmap_each(&put, count_one, &b);
	cr_expect_eq(a.n, b.n, "%s", what);
	cr_expect_eq(a.sum, b.sum, "%s", what);
	pmap_clear(&built);
	pmap_clear(&put);
	free(items);
}

Test(pmap, a_built_map_is_the_map_of_its_puts)
{
	make_keys("customer-%d.example.com");
	/* qsort below 4,096 items, the radix sort above */
	expect_build_equals_puts(1, "one key");
	expect_build_equals_puts(2, "two keys");
	expect_build_equals_puts(1000, "1,000 keys");
	expect_build_equals_puts(N, "20,000 keys");
}

Test(pmap, a_key_given_twice_keeps_its_first_item)
{
	static struct pmap_item items[3 * N];
	struct pmap m = {0};

	make_keys("d%d.example");
	for (int i = 0; i < N; i++) {
		/* each key three times: first, after the whole list, and once more at the end */
		items[i] = (struct pmap_item){ keys[i], V(i) };
		items[N + i] = (struct pmap_item){ keys[i], V(N + i) };
		items[2 * N + i] = (struct pmap_item){ keys[N - 1 - i], V(2 * N + i) };
	}
	cr_assert_eq(pmap_build(&m, items, 3 * N), 2 * N);
	cr_expect_eq(m.n, N);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(pmap_get(&m, keys[i]), V(i));
		cr_assert_eq(items[i].value, V(i), "the first stays as given");
		cr_assert_null(items[N + i].value, "a later one is marked");
		cr_assert_null(items[2 * N + i].value);
	}
	pmap_clear(&m);
}

Test(pmap, a_built_map_with_colliding_hashes_then_changed)
{
	static char ck[300][16];
	struct pmap_item items[302];
	struct pmap m = {0}, c = {0};

	for (int i = 0; i < 300; i++) {
		snprintf(ck[i], sizeof(ck[i]), "c:%05d", i);
		items[i] = (struct pmap_item){ ck[i], V(i) };
	}
	items[300] = (struct pmap_item){ "plain", V(1000) };
	items[301] = (struct pmap_item){ ck[7], V(2000) };
	cr_assert_eq(pmap_build(&m, items, 302), 1, "the second c:00007 is dropped");
	cr_assert_null(items[301].value);
	cr_expect_eq(m.n, 301);
	for (int i = 0; i < 300; i++)
		cr_assert_eq(pmap_get(&m, ck[i]), V(i));
	cr_expect_null(pmap_get(&m, "c:99999"), "same hash, absent key");
	/* a built map is a map like any other: versions, puts and deletes */
	pmap_copy(&c, &m);
	cr_expect_eq(pmap_put(&c, ck[5], V(7)), V(5));
	cr_expect_eq(pmap_del(&c, "plain"), V(1000));
	for (int i = 0; i < 299; i++)
		cr_assert_not_null(pmap_del(&c, ck[i]));
	cr_expect_eq(pmap_get(&c, ck[299]), V(299));
	cr_expect_eq(pmap_get(&m, ck[5]), V(5), "the built version is untouched");
	cr_expect_eq(pmap_get(&m, "plain"), V(1000));
	pmap_clear(&m);
	pmap_clear(&c);
}
