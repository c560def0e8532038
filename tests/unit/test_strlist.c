/* SPDX-License-Identifier: MIT */
/* Unit tests for strlist and domain: building, sharing and freeing lists of strings and domains. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "strlist.h"
#include "util.h"

Test(strlist, null_is_the_empty_list)
{
	cr_expect_eq(strlist_len(NULL), 0);
	cr_assert_not_null(strlist_items(NULL), "an empty list still gives an array to copy from");
	cr_expect_null(strlist_ref(NULL));
	strlist_unref(NULL);
}

Test(strlist, push_keeps_order_across_growth)
{
	struct strlist *l = NULL;
	char name[32];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "mx%d.example.com", i);
		strlist_push(&l, xstrdup(name));
	}
	cr_assert_eq(strlist_len(l), 100);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "mx%d.example.com", i);
		cr_expect_str_eq(strlist_items(l)[i], name);
		cr_expect_eq(strlist_items(l)[i], l->v[i]);
	}
	strlist_unref(l);
}

Test(strlist, the_last_reference_frees)
{
	struct strlist *l = NULL, *shared;

	strlist_push(&l, xstrdup("a"));
	shared = strlist_ref(l);
	cr_assert_eq(shared, l, "a reference is the same list, not a copy");
	cr_expect_eq(atomic_load(&l->refs), 2);
	strlist_unref(l);
	/* still readable through the other reference (ASan would report a use after free) */
	cr_expect_str_eq(shared->v[0], "a");
	cr_expect_eq(atomic_load(&shared->refs), 1);
	strlist_unref(shared);
}

Test(domain, clear_frees_what_it_holds_and_leaves_a_fresh_domain)
{
	struct config_domain defaults, d;

	domain_init(&defaults);
	cr_expect_eq(defaults.mode, POLICY_MODE_NONE);
	cr_expect_null(defaults.name);
	cr_expect_eq(strlist_len(defaults.mx), 0);
	strlist_push(&defaults.mx, xstrdup("mx.example.com"));

	domain_init(&d);
	d.name = xstrdup("example.com");
	d.zone = xstrdup("example.com");
	d.mode = POLICY_MODE_ENFORCE;
	d.mx = strlist_ref(defaults.mx);
	strlist_push(&d.tlsrpt, xstrdup("mailto:r@example.com"));
	domain_clear(&d);
	cr_expect_null(d.name);
	cr_expect_null(d.zone);
	cr_expect_null(d.mx);
	cr_expect_null(d.tlsrpt);
	cr_expect_eq(d.mode, POLICY_MODE_NONE);
	/* the shared list outlives the domain that held a reference */
	cr_assert_eq(strlist_len(defaults.mx), 1);
	cr_expect_str_eq(defaults.mx->v[0], "mx.example.com");
	domain_clear(&defaults);
	domain_clear(&defaults);	/* a cleared domain clears again harmlessly */
}
