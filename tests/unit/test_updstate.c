/* SPDX-License-Identifier: MIT */
/* Unit tests for updstate: the per-domain update state's format, damage detection and backoff. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "updstate.h"

static const char good[] =
    "mtastsd-update 1\n"
    "# a comment\n"
    "domain shop.example.com zone=example.com. sent=0123456789abcdef tried=- result=noerror fails=0 next=0 at=100\n"
    "domain customer.example zone=- sent=- tried=fedcba9876543210 result=nozone fails=3 next=160 at=130\n"
    "end 2\n";

Test(updstate, round_trip_sorted)
{
	struct updstate s;
	char err[256], *out;

	cr_assert_eq(updstate_parse(good, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.n, 2);
	cr_expect_str_eq(s.e[0].name, "customer.example");
	cr_expect_null(s.e[0].zone);
	cr_expect_str_eq(s.e[0].tried, "fedcba9876543210");
	cr_expect_str_eq(s.e[0].result, "nozone");
	cr_expect_eq(s.e[0].fails, 3);
	cr_expect_eq(s.e[0].next, 160);
	cr_expect_str_eq(s.e[1].zone, "example.com.");
	out = updstate_format(&s);
	updstate_clear(&s);
	cr_assert_eq(updstate_parse(out, &s, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(s.n, 2);
	cr_expect_str_eq(updstate_find(&s, "shop.example.com")->sent, "0123456789abcdef");
	cr_expect_null(updstate_find(&s, "other.example"));
	free(out);
	updstate_clear(&s);
}

Test(updstate, damaged)
{
	static const char *const bad[] = {
		"",
		"mtastsd-state 3\nend 0\n",
		"mtastsd-update 1\ndomain a.example zone=- sent=- tried=- result=- fails=0 next=0 at=0\n",
		"mtastsd-update 1\ndomain a.example zone=- sent=- tried=- result=- fails=0 next=0 at=0\nend 2\n",
		"mtastsd-update 1\ndomain a.example zone=- sent=xyz tried=- result=- fails=0 next=0 at=0\nend 1\n",
		"mtastsd-update 1\ndomain a.example zone=- sent=- tried=- result=- fails=0 next=0\nend 1\n",
		"mtastsd-update 1\ndomain a.example zone=- sent=- tried=- result=- fails=0 next=0 at=0\n"
		"domain a.example zone=- sent=- tried=- result=- fails=0 next=0 at=0\nend 2\n",
		"mtastsd-update 1\nend 0\ndomain a.example\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct updstate s;
		char err[256] = "";
		cr_expect_eq(updstate_parse(bad[i], &s, err, sizeof(err)), -1, "case %zu accepted", i);
		cr_expect_neq(err[0], '\0', "case %zu without a message", i);
		cr_expect_eq(s.n, 0);
	}
}

Test(updstate, get_inserts_sorted)
{
	struct updstate s = {0};

	updstate_get(&s, "b.example")->fails = 2;
	updstate_get(&s, "a.example");
	updstate_get(&s, "c.example");
	cr_assert_eq(s.n, 3);
	cr_expect_str_eq(s.e[0].name, "a.example");
	cr_expect_str_eq(s.e[1].name, "b.example");
	cr_expect_str_eq(s.e[2].name, "c.example");
	cr_expect_eq(updstate_get(&s, "b.example")->fails, 2);
	cr_expect_str_eq(s.e[0].sent, "-");
	cr_expect_eq(s.n, 3);
	updstate_clear(&s);
}

Test(updstate, backoff_doubles_to_the_bound)
{
	cr_expect_eq(updstate_backoff(1, 60, 3600), 60);
	cr_expect_eq(updstate_backoff(2, 60, 3600), 120);
	cr_expect_eq(updstate_backoff(6, 60, 3600), 1920);
	cr_expect_eq(updstate_backoff(7, 60, 3600), 3600);
	cr_expect_eq(updstate_backoff(1000000, 60, 3600), 3600);
	cr_expect_eq(updstate_backoff(3, 1, 2), 2);
}
