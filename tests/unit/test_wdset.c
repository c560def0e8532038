/* SPDX-License-Identifier: MIT */
/* Unit tests of wdset.c: watch descriptors added, found, not found, through growth and resets. */
#include <criterion/criterion.h>

#include "wdset.h"

Test(wdset, empty_set_has_nothing)
{
	struct wdset s = { 0 };

	cr_expect_not(wdset_has(&s, 1));
	cr_expect_not(wdset_has(&s, 0));
	wdset_clear(&s);
}

Test(wdset, finds_exactly_what_was_added_through_growth)
{
	struct wdset s = { 0 };

	/* the watcher's pattern: descriptors in sequence, and a few far away (inotify's counter moves on) */
	for (int wd = 1; wd <= 100000; wd += 2)
		wdset_add(&s, wd);
	wdset_add(&s, 2000000000);
	wdset_add(&s, 7);		/* again: no second copy */
	cr_assert_eq(s.n, 50001);
	for (int wd = 1; wd <= 100001; wd++)
		cr_assert_eq(wdset_has(&s, wd), wd % 2 == 1 && wd <= 100000, "wd %d", wd);
	cr_expect(wdset_has(&s, 2000000000));
	cr_expect_not(wdset_has(&s, 2000000001));
	cr_expect_not(wdset_has(&s, -1));
	wdset_clear(&s);
	cr_expect_not(wdset_has(&s, 1));
}

Test(wdset, reset_empties_and_the_set_fills_again)
{
	struct wdset s = { 0 };

	for (int wd = 1; wd <= 1000; wd++)
		wdset_add(&s, wd);
	wdset_reset(&s);
	cr_expect_eq(s.n, 0);
	for (int wd = 1; wd <= 1000; wd++)
		cr_assert_not(wdset_has(&s, wd));
	wdset_add(&s, 500);
	cr_expect(wdset_has(&s, 500));
	cr_expect_not(wdset_has(&s, 501));
	wdset_clear(&s);
}
