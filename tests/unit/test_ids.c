/* SPDX-License-Identifier: MIT */
/* Unit tests for ids: id assignment across sequences of configurations and clocks. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ids.h"
#include "policy.h"
#include "util.h"

/* 2026-01-01T00:00:00Z */
#define T0 INT64_C(1767225600)

struct dom {
	struct config_domain d;
};

/* Every domain mkdom built in the running test, freed after it (a test may copy or rebuild one). */
static struct config_domain made[64];
static size_t n_made;

static void
free_made(void)
{
	for (size_t i = 0; i < n_made; i++)
		domain_clear(&made[i]);
	n_made = 0;
}

TestSuite(ids, .fini = free_made);

static void
mkdom(struct dom *x, const char *name, enum policy_mode mode, unsigned long max_age,
    const char *mx1, const char *mx2, const char *rua)
{
	cr_assert_lt(n_made, sizeof(made) / sizeof(made[0]));
	domain_init(&x->d);
	x->d.name = xstrdup(name);
	x->d.mode = mode;
	x->d.max_age = max_age;
	if (mx1)
		strlist_push(&x->d.mx, xstrdup(mx1));
	if (mx2)
		strlist_push(&x->d.mx, xstrdup(mx2));
	if (rua)
		strlist_push(&x->d.tlsrpt, xstrdup(rua));
	made[n_made++] = x->d;
}

/* Run one step: OLD -> *NEW at NOW with domains X[0..n). */
static void
step(const struct ids_state *old, struct dom *x, size_t n, int64_t now, struct ids_state *out,
    struct ids_changes *ch)
{
	const struct config_domain *p[8];

	for (size_t i = 0; i < n; i++)
		p[i] = &x[i].d;
	cr_assert_eq(ids_assign(old, p, n, now, out, ch), 0);
}

static const char *
id_of(const struct ids_state *s, const char *name)
{
	const struct ids_domain *e = ids_find(s, name);
	cr_assert_not_null(e, "no entry for %s", name);
	return e->id;
}

static bool
has_change(const struct ids_changes *c, const char *name, enum ids_change_kind kind)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->c[i].name, name) == 0 && c->c[i].kind == kind)
			return true;
	return false;
}

Test(ids, format_and_parse_round_trip)
{
	char id[IDS_ID_LEN + 1];
	int64_t t;

	cr_assert_eq(ids_format(T0, id), 0);
	cr_assert_str_eq(id, "20260101000000");
	cr_assert_eq(ids_format(INT64_C(951782400) + 86399, id), 0); /* 2000-02-29 leap day */
	cr_assert_str_eq(id, "20000229235959");
	cr_assert_eq(ids_parse("20000229235959", &t), 0);
	cr_assert_eq(t, INT64_C(951782400) + 86399);
	cr_assert_eq(ids_parse("19700101000000", &t), 0);
	cr_assert_eq(t, 0);
	cr_assert_eq(ids_format(IDS_TIME_MAX, id), 0);
	cr_assert_str_eq(id, "99991231235959");
	cr_assert_eq(ids_format(IDS_TIME_MAX + 1, id), -1);
	cr_assert_eq(ids_format(-1, id), -1);
}

Test(ids, parse_rejects_invalid_dates)
{
	int64_t t;
	const char *bad[] = { "20260230000000", "20250229000000", "19000229000000", "20261301000000",
		"20260100000000", "20260101240000", "20260101006000", "20260101000060", "2026010100000",
		"202601010000000", "2026010100000a", "19691231235959", "" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(ids_parse(bad[i], &t), -1, "'%s' accepted", bad[i]);
	cr_assert_eq(ids_parse("20240229120000", &t), 0);
}

Test(ids, iso8601)
{
	char s[21];

	ids_iso8601(T0 + 3661, s);
	cr_assert_str_eq(s, "2026-01-01T01:01:01Z");
}

Test(ids, new_domains_get_the_clock)
{
	struct dom x[2];
	struct ids_state s;
	struct ids_changes c;

	mkdom(&x[0], "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	mkdom(&x[1], "example.org", POLICY_MODE_TESTING, 86400, "mail.example.org", NULL, NULL);
	step(NULL, x, 2, T0, &s, &c);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(id_of(&s, "example.com"), "20260101000000");
	cr_assert_str_eq(id_of(&s, "example.org"), "20260101000000");
	cr_assert_eq(c.n, 2);
	cr_assert(has_change(&c, "example.com", IDS_ADDED));
	cr_assert(has_change(&c, "example.org", IDS_ADDED));
	/* sorted, so lookups work */
	cr_assert_str_eq(s.d[0].name, "example.com");
	ids_state_clear(&s);
	ids_changes_clear(&c);
}

Test(ids, unchanged_policy_keeps_its_id_across_runs)
{
	struct dom x[1];
	struct ids_state s1, s2;
	struct ids_changes c;

	mkdom(&x[0], "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	step(NULL, x, 1, T0, &s1, NULL);
	step(&s1, x, 1, T0 + 86400 * 30, &s2, &c);
	cr_assert_str_eq(id_of(&s2, "example.com"), "20260101000000");
	cr_assert_eq(c.n, 0);
	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_changes_clear(&c);
}

Test(ids, reordered_mx_keeps_the_id)
{
	struct dom a, b;
	struct ids_state s1, s2;
	struct ids_changes c;

	mkdom(&a, "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", "mx2.example.com", NULL);
	mkdom(&b, "example.com", POLICY_MODE_ENFORCE, 604800, "mx2.example.com", "mx1.example.com", NULL);
	step(NULL, &a, 1, T0, &s1, NULL);
	step(&s1, &b, 1, T0 + 100, &s2, &c);
	cr_assert_str_eq(id_of(&s2, "example.com"), "20260101000000");
	cr_assert_eq(c.n, 0);
	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_changes_clear(&c);
}

Test(ids, changed_policy_gets_the_clock)
{
	struct dom a, b;
	struct ids_state s1, s2;
	struct ids_changes c;

	mkdom(&a, "example.com", POLICY_MODE_TESTING, 604800, "mx1.example.com", NULL, NULL);
	mkdom(&b, "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	step(NULL, &a, 1, T0, &s1, NULL);
	step(&s1, &b, 1, T0 + 3600, &s2, &c);
	cr_assert_str_eq(id_of(&s2, "example.com"), "20260101010000");
	cr_assert_eq(c.n, 1);
	cr_assert(has_change(&c, "example.com", IDS_CHANGED));
	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_changes_clear(&c);
}

Test(ids, two_changes_in_one_second_get_distinct_ids)
{
	struct dom a, b, cdom;
	struct ids_state s1, s2, s3;

	mkdom(&a, "example.com", POLICY_MODE_TESTING, 604800, "mx1.example.com", NULL, NULL);
	mkdom(&b, "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	mkdom(&cdom, "example.com", POLICY_MODE_ENFORCE, 86400, "mx1.example.com", NULL, NULL);
	step(NULL, &a, 1, T0, &s1, NULL);
	step(&s1, &b, 1, T0, &s2, NULL);
	step(&s2, &cdom, 1, T0, &s3, NULL);
	cr_assert_str_eq(id_of(&s1, "example.com"), "20260101000000");
	cr_assert_str_eq(id_of(&s2, "example.com"), "20260101000001");
	cr_assert_str_eq(id_of(&s3, "example.com"), "20260101000002");
	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_state_clear(&s3);
}

Test(ids, change_back_to_an_earlier_policy_gets_a_new_id)
{
	struct dom a, b;
	struct ids_state s1, s2, s3;

	mkdom(&a, "example.com", POLICY_MODE_TESTING, 604800, "mx1.example.com", NULL, NULL);
	mkdom(&b, "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	step(NULL, &a, 1, T0, &s1, NULL);
	step(&s1, &b, 1, T0 + 10, &s2, NULL);
	step(&s2, &a, 1, T0 + 20, &s3, NULL);
	cr_assert_str_eq(id_of(&s3, "example.com"), "20260101000020");
	cr_assert_str_neq(id_of(&s3, "example.com"), id_of(&s1, "example.com"));
	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_state_clear(&s3);
}

Test(ids, clock_moving_backwards_still_moves_the_id_forward)
{
	struct dom a, b;
	struct ids_state s1, s2;

	mkdom(&a, "example.com", POLICY_MODE_TESTING, 604800, "mx1.example.com", NULL, NULL);
	mkdom(&b, "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	step(NULL, &a, 1, T0, &s1, NULL);
	step(&s1, &b, 1, T0 - 86400 * 365, &s2, NULL);
	cr_assert_str_eq(id_of(&s2, "example.com"), "20260101000001");
	ids_state_clear(&s1);
	ids_state_clear(&s2);
}

Test(ids, other_domains_do_not_change_an_id)
{
	struct dom one[1], two[2];
	struct ids_state s1, s2;
	struct ids_changes c;

	mkdom(&one[0], "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	two[0] = one[0];
	mkdom(&two[1], "example.net", POLICY_MODE_TESTING, 604800, "mx.example.net", NULL, NULL);
	step(NULL, one, 1, T0, &s1, NULL);
	step(&s1, two, 2, T0 + 50, &s2, &c);
	cr_assert_str_eq(id_of(&s2, "example.com"), "20260101000000");
	cr_assert_str_eq(id_of(&s2, "example.net"), "20260101000050");
	cr_assert_eq(c.n, 1);
	cr_assert(has_change(&c, "example.net", IDS_ADDED));
	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_changes_clear(&c);
}

Test(ids, rua_change_is_reported_without_changing_the_id)
{
	struct dom a, b;
	struct ids_state s1, s2;
	struct ids_changes c;

	mkdom(&a, "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	mkdom(&b, "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL,
	    "mailto:tls@example.com");
	step(NULL, &a, 1, T0, &s1, NULL);
	cr_assert_str_eq(ids_find(&s1, "example.com")->rua, "-");
	step(&s1, &b, 1, T0 + 5, &s2, &c);
	cr_assert_str_eq(id_of(&s2, "example.com"), "20260101000000");
	cr_assert_eq(strlen(ids_find(&s2, "example.com")->rua), 16);
	cr_assert_eq(c.n, 1);
	cr_assert(has_change(&c, "example.com", IDS_RUA));
	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_changes_clear(&c);
}

Test(ids, max_age_remembers_the_largest)
{
	struct dom a, b;
	struct ids_state s1, s2;

	mkdom(&a, "example.com", POLICY_MODE_ENFORCE, 31557600, "mx1.example.com", NULL, NULL);
	mkdom(&b, "example.com", POLICY_MODE_ENFORCE, 86400, "mx1.example.com", NULL, NULL);
	step(NULL, &a, 1, T0, &s1, NULL);
	step(&s1, &b, 1, T0 + 1, &s2, NULL);
	cr_assert_eq(ids_find(&s2, "example.com")->max_age, 31557600);
	ids_state_clear(&s1);
	ids_state_clear(&s2);
}

Test(ids, removed_domain_retires_as_mode_none_then_expires)
{
	struct dom two[2], one[1];
	struct ids_state s1, s2, s3, s4;
	struct ids_changes c2, c3, c4;
	struct config_domain none;
	char fp_none[65];
	const struct ids_domain *e;

	mkdom(&two[0], "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	mkdom(&two[1], "old.example", POLICY_MODE_ENFORCE, 1209600, "mx.old.example", NULL,
	    "mailto:r@old.example");
	one[0] = two[0];
	step(NULL, two, 2, T0, &s1, NULL);

	/* removed: kept, retiring, with a new id and the fingerprint of a mode none policy */
	step(&s1, one, 1, T0 + 100, &s2, &c2);
	e = ids_find(&s2, "old.example");
	cr_assert_not_null(e);
	cr_assert(e->retiring);
	cr_assert_str_eq(e->id, "20260101000140");
	cr_assert_eq(e->max_age, 1209600);
	cr_assert_str_eq(e->rua, "-");
	ids_retiring_policy(e, &none);
	cr_assert_eq(none.mode, POLICY_MODE_NONE);
	cr_assert_eq(none.max_age, IDS_RETIRE_MAX_AGE);
	cr_assert_eq(strlist_len(none.mx), 0);
	cr_assert_str_eq(none.name, "old.example");
	policy_fingerprint(&none, fp_none);
	cr_assert_str_eq(e->fp, fp_none);
	domain_clear(&none);
	cr_assert_eq(ids_deletable_at(e), T0 + 100 + 1209600);
	cr_assert_eq(c2.n, 1);
	cr_assert(has_change(&c2, "old.example", IDS_RETIRED));
	cr_assert_str_eq(id_of(&s2, "example.com"), "20260101000000");

	/* one second before the largest max_age has passed: still there, same id */
	step(&s2, one, 1, T0 + 100 + 1209600 - 1, &s3, &c3);
	e = ids_find(&s3, "old.example");
	cr_assert_not_null(e);
	cr_assert(e->retiring);
	cr_assert_str_eq(e->id, "20260101000140");
	cr_assert_eq(c3.n, 0);

	/* then it expires: no longer served, but kept so every output asks for the deletion */
	step(&s3, one, 1, T0 + 100 + 1209600, &s4, &c4);
	e = ids_find(&s4, "old.example");
	cr_assert_not_null(e, "an expired entry was dropped at once: one run could use up the deletion");
	cr_assert(e->expired);
	cr_assert_not(e->retiring);
	cr_assert_str_eq(e->id, "20260101000140");
	cr_assert_eq(s4.n, 2);
	cr_assert(has_change(&c4, "old.example", IDS_EXPIRED));
	cr_assert_eq(ids_forget_at(e), T0 + 100 + 1209600 + IDS_EXPIRED_GRACE);

	/* through the grace period, unchanged and without a change to report */
	struct ids_state s5, s6;
	struct ids_changes c5, c6;
	step(&s4, one, 1, T0 + 100 + 1209600 + IDS_EXPIRED_GRACE - 1, &s5, &c5);
	e = ids_find(&s5, "old.example");
	cr_assert_not_null(e);
	cr_assert(e->expired);
	cr_assert_eq(c5.n, 0);
	/* then it is forgotten, silently */
	step(&s5, one, 1, T0 + 100 + 1209600 + IDS_EXPIRED_GRACE, &s6, &c6);
	cr_assert_null(ids_find(&s6, "old.example"));
	cr_assert_eq(s6.n, 1);
	cr_assert_eq(c6.n, 0);
	ids_state_clear(&s5);
	ids_state_clear(&s6);
	ids_changes_clear(&c5);
	ids_changes_clear(&c6);

	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_state_clear(&s3);
	ids_state_clear(&s4);
	ids_changes_clear(&c2);
	ids_changes_clear(&c3);
	ids_changes_clear(&c4);
}

Test(ids, retirement_uses_the_largest_max_age_ever_published)
{
	struct dom big, small;
	struct ids_state s1, s2, s3;

	mkdom(&big, "old.example", POLICY_MODE_ENFORCE, 31557600, "mx.old.example", NULL, NULL);
	mkdom(&small, "old.example", POLICY_MODE_ENFORCE, 3600, "mx.old.example", NULL, NULL);
	step(NULL, &big, 1, T0, &s1, NULL);
	step(&s1, &small, 1, T0 + 10, &s2, NULL);
	step(&s2, NULL, 0, T0 + 20, &s3, NULL);
	cr_assert_eq(ids_deletable_at(ids_find(&s3, "old.example")), T0 + 20 + 31557600);
	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_state_clear(&s3);
}

Test(ids, retiring_domain_that_returns_gets_a_new_id)
{
	struct dom a;
	struct ids_state s1, s2, s3;
	struct ids_changes c;
	const struct ids_domain *e;

	mkdom(&a, "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	step(NULL, &a, 1, T0, &s1, NULL);
	step(&s1, NULL, 0, T0, &s2, NULL);	/* removed in the same second */
	cr_assert_str_eq(id_of(&s2, "example.com"), "20260101000001");
	step(&s2, &a, 1, T0, &s3, &c);		/* and back, still the same second */
	e = ids_find(&s3, "example.com");
	cr_assert_not(e->retiring);
	cr_assert_str_eq(e->id, "20260101000002");
	cr_assert(has_change(&c, "example.com", IDS_CHANGED));
	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_state_clear(&s3);
	ids_changes_clear(&c);
}

Test(ids, unknown_rua_from_an_upgrade_is_learnt_silently)
{
	struct dom a;
	struct ids_state old = {0}, s;
	struct ids_changes c;
	struct ids_domain e = {0};

	mkdom(&a, "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, "mailto:a@example.com");
	e.name = "example.com";
	strcpy(e.id, "20250101000000");
	policy_fingerprint(&a.d, e.fp);
	e.max_age = 31557600;
	old.d = &e;
	old.n = 1;
	step(&old, &a, 1, T0, &s, &c);
	cr_assert_eq(c.n, 0);
	cr_assert_str_eq(id_of(&s, "example.com"), "20250101000000");
	cr_assert_eq(strlen(ids_find(&s, "example.com")->rua), 16);
	ids_state_clear(&s);
	ids_changes_clear(&c);
}

Test(ids, id_past_year_9999_is_an_error)
{
	struct dom a;
	struct ids_state s;
	struct ids_changes c;
	const struct config_domain *p = &a.d;

	mkdom(&a, "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	cr_assert_eq(ids_assign(NULL, &p, 1, IDS_TIME_MAX + 1, &s, &c), -1);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(c.n, 0);
}

Test(ids, fingerprint_ignores_mx_order_but_not_meaning)
{
	struct dom a, b, m, g;
	char fa[65], fb[65], fm[65], fg[65];

	mkdom(&a, "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", "mx2.example.com", NULL);
	mkdom(&b, "example.com", POLICY_MODE_ENFORCE, 604800, "mx2.example.com", "mx1.example.com", NULL);
	mkdom(&m, "example.com", POLICY_MODE_TESTING, 604800, "mx1.example.com", "mx2.example.com", NULL);
	mkdom(&g, "example.com", POLICY_MODE_ENFORCE, 604801, "mx1.example.com", "mx2.example.com", NULL);
	policy_fingerprint(&a.d, fa);
	policy_fingerprint(&b.d, fb);
	policy_fingerprint(&m.d, fm);
	policy_fingerprint(&g.d, fg);
	cr_assert_str_eq(fa, fb);
	cr_assert_str_neq(fa, fm);
	cr_assert_str_neq(fa, fg);
	cr_assert_eq(strlen(fa), 64);
}

Test(ids, source_date_epoch_is_the_clock)
{
	int64_t now;
	char err[256];

	setenv("SOURCE_DATE_EPOCH", "1767225600", 1);
	cr_assert_eq(ids_now(&now, err, sizeof(err)), 0);
	cr_assert_eq(now, T0);
	setenv("SOURCE_DATE_EPOCH", "17x", 1);
	cr_assert_eq(ids_now(&now, err, sizeof(err)), -1);
	cr_assert(strstr(err, "SOURCE_DATE_EPOCH") != NULL);
	setenv("SOURCE_DATE_EPOCH", "-5", 1);
	cr_assert_eq(ids_now(&now, err, sizeof(err)), -1);
	unsetenv("SOURCE_DATE_EPOCH");
	cr_assert_eq(ids_now(&now, err, sizeof(err)), 0);
	cr_assert_gt(now, T0 - 86400 * 365);
}

Test(ids, expired_domain_that_returns_gets_a_new_id)
{
	struct dom d;
	struct ids_state s1, s2, s3, s4;
	struct ids_changes c4;
	const struct ids_domain *e;

	mkdom(&d, "old.example", POLICY_MODE_ENFORCE, 3600, "mx.old.example", NULL, NULL);
	step(NULL, &d, 1, T0, &s1, NULL);
	step(&s1, NULL, 0, T0 + 10, &s2, NULL);
	step(&s2, NULL, 0, T0 + 10 + 3600, &s3, NULL);
	cr_assert(ids_find(&s3, "old.example")->expired);
	step(&s3, &d, 1, T0 + 10 + 7200, &s4, &c4);
	e = ids_find(&s4, "old.example");
	cr_assert_not(e->expired);
	cr_assert_not(e->retiring);
	cr_assert(has_change(&c4, "old.example", IDS_CHANGED));
	cr_assert_str_neq(e->id, ids_find(&s3, "old.example")->id);
	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_state_clear(&s3);
	ids_state_clear(&s4);
	ids_changes_clear(&c4);
}

/* ids_retiring_at, which a reload uses, says what ids_assign records, at every point of a retirement */
Test(ids, retiring_at_agrees_with_assign)
{
	struct dom two[2], one[1];
	struct ids_state s = { 0 }, next;
	static const int64_t offs[] = { 0, 1, 604799, 604800, 604801, 1209599, 1209600, 1209601,
	    1209600 + IDS_EXPIRED_GRACE - 1, 1209600 + IDS_EXPIRED_GRACE, 1209600 + IDS_EXPIRED_GRACE + 1 };
	int64_t base = T0 + 100;
	size_t checked = 0;

	mkdom(&two[0], "example.com", POLICY_MODE_ENFORCE, 604800, "mx1.example.com", NULL, NULL);
	mkdom(&two[1], "old.example", POLICY_MODE_ENFORCE, 1209600, "mx.old.example", NULL, NULL);
	one[0] = two[0];
	step(NULL, two, 2, T0, &s, NULL);
	/* before the first step without it, old.example is active: removing it starts a retirement */
	cr_assert(ids_retiring_at(ids_find(&s, "old.example"), base));
	for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
		const struct ids_domain *was = ids_find(&s, "old.example"), *now;
		bool predicted;

		if (was == NULL)
			break;
		predicted = ids_retiring_at(was, base + offs[k]);
		step(&s, one, 1, base + offs[k], &next, NULL);
		now = ids_find(&next, "old.example");
		cr_assert_eq(predicted, now != NULL && now->retiring, "at +%lld: predicted %d",
		    (long long)offs[k], predicted);
		ids_state_clear(&s);
		s = next;
		checked++;
	}
	/* the walk went through retiring, expired and dropped */
	cr_assert_null(ids_find(&s, "old.example"));
	cr_assert_geq(checked, 8);
	ids_state_clear(&s);
}

Test(ids, a_withdrawn_tlsrpt_record_is_owed_a_delete_for_a_while)
{
	struct ids_state s0 = {0}, s1, s2, s3, s4, s5;
	struct dom x[2];
	const struct ids_domain *e;

	mkdom(&x[0], "a.example", POLICY_MODE_TESTING, 86400, "mx.a.example", NULL, "mailto:t@a.example");
	mkdom(&x[1], "b.example", POLICY_MODE_TESTING, 86400, "mx.b.example", NULL, NULL);
	step(&s0, x, 2, T0, &s1, NULL);
	/* never published one: nothing owed */
	e = ids_find(&s1, "b.example");
	cr_assert_str_eq(e->tlsrpt_del, "");
	cr_assert(!ids_tlsrpt_to_delete(e, T0));
	/* a's rua list emptied: its record is to be deleted, from now */
	mkdom(&x[0], "a.example", POLICY_MODE_TESTING, 86400, "mx.a.example", NULL, NULL);
	step(&s1, x, 2, T0 + 10, &s2, NULL);
	e = ids_find(&s2, "a.example");
	cr_assert_str_eq(e->tlsrpt_del, "20260101000010");
	cr_assert(ids_tlsrpt_to_delete(e, T0 + 10));
	/* kept across runs (a bind run does not use it up), until IDS_EXPIRED_GRACE has passed */
	step(&s2, x, 2, T0 + 10 + IDS_EXPIRED_GRACE - 1, &s3, NULL);
	cr_assert_str_eq(ids_find(&s3, "a.example")->tlsrpt_del, "20260101000010");
	step(&s3, x, 2, T0 + 10 + IDS_EXPIRED_GRACE, &s4, NULL);
	cr_assert_str_eq(ids_find(&s4, "a.example")->tlsrpt_del, "");
	ids_state_clear(&s4);
	/* a domain that retires with a record: owed from the retirement; b (none) is owed nothing */
	mkdom(&x[0], "a.example", POLICY_MODE_TESTING, 86400, "mx.a.example", NULL, "mailto:t@a.example");
	step(&s1, NULL, 0, T0 + 100, &s5, NULL);
	cr_assert_str_eq(ids_find(&s5, "a.example")->tlsrpt_del, "20260101000140");
	cr_assert_str_eq(ids_find(&s5, "b.example")->tlsrpt_del, "");
	/* and when its retirement is over, the expired entry deletes it too, even after the grace */
	ids_state_clear(&s4);
	step(&s5, NULL, 0, T0 + 100 + 86400, &s4, NULL);
	e = ids_find(&s4, "a.example");
	cr_assert(e->expired);
	cr_assert(ids_tlsrpt_to_delete(e, T0 + 100 + 86400 + IDS_EXPIRED_GRACE - 1));
	cr_assert(!ids_tlsrpt_to_delete(ids_find(&s4, "b.example"), T0 + 100 + 86400));
	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_state_clear(&s3);
	ids_state_clear(&s4);
	ids_state_clear(&s5);
}

Test(ids, new_ids_from_a_clock_far_ahead_are_refused)
{
	struct ids_state s0 = {0}, s1, s2;
	struct ids_changes ch;
	struct dom x;
	char err[512];
	int64_t real = T0 + 100 * 86400;

	mkdom(&x, "a.example", POLICY_MODE_TESTING, 86400, "mx.a.example", NULL, NULL);
	/* year 9999: once written, no change of a.example could ever be published again */
	step(&s0, &x, 1, IDS_TIME_MAX, &s1, &ch);
	cr_assert_eq(ids_check_clock(IDS_TIME_MAX, real, &ch, err, sizeof(err)), -1, "an id at year 9999 was accepted");
	cr_assert(strstr(err, "the clock (9999-12-31T23:59:59Z") != NULL, "%s", err);
	cr_assert(strstr(err, ") is more than a day ahead of the system clock (2026-04-11T00:00:00Z): refusing to write"
	    " 1 new id from it, which would stay ahead of every later one") != NULL, "%s", err);
	ids_state_clear(&s1);
	ids_changes_clear(&ch);
	/* a day ahead (skew between hosts) is fine; a day and a second is not */
	step(&s0, &x, 1, real + 86400, &s1, &ch);
	cr_assert_eq(ids_check_clock(real + 86400, real, &ch, err, sizeof(err)), 0);
	ids_changes_clear(&ch);
	cr_assert_eq(ids_check_clock(real + 86401, real, NULL, err, sizeof(err)), 0, "no change: nothing written");
	/* simulating time without writing ids (a's policy unchanged) stays possible: tests, expiry */
	step(&s1, &x, 1, real + 400 * 86400, &s2, &ch);
	cr_assert_eq(ch.n, 0);
	cr_assert_eq(ids_check_clock(real + 400 * 86400, real, &ch, err, sizeof(err)), 0);
	ids_changes_clear(&ch);
	ids_state_clear(&s1);
	ids_state_clear(&s2);
}

/* Domain I of a long list: "d<I>.example", in testing, or in enforce when ENFORCE. */
static void
long_dom(struct config_domain *d, const char *prefix, size_t i, bool enforce)
{
	char name[64];

	snprintf(name, sizeof(name), "%s%zu.example", prefix, i);
	domain_init(d);
	d->name = xstrdup(name);
	d->mode = enforce ? POLICY_MODE_ENFORCE : POLICY_MODE_TESTING;
	d->max_age = 604800;
	strlist_push(&d->mx, xstrdup("mx.example.net"));
}

static void
expect_sorted(const struct ids_state *s)
{
	for (size_t i = 1; i < s->n; i++)
		cr_assert_lt(strcmp(s->d[i - 1].name, s->d[i].name), 0, "entries %zu and %zu out of order", i - 1, i);
}

/*
 * A list past the parallel threshold (sorted and assigned in slices on
 * several threads) gives each domain what it would get alone: the changed
 * ones a new id, the removed ones retiring, the new ones added, the rest
 * their old id, and every change listed once, in name order.
 */
Test(ids, a_long_list_is_assigned_domain_by_domain)
{
	enum { N = 40000, NEW = 1000 };
	struct config_domain *a = calloc(N, sizeof(*a)), *b = calloc(N + NEW, sizeof(*b));
	const struct config_domain **pa = calloc(N, sizeof(*pa)), **pb = calloc(N + NEW, sizeof(*pb));
	struct ids_state s1, s2;
	struct ids_changes c1, c2;
	size_t nb = 0, changed = 0, retired = 0;

	/* in no particular order: a permutation of 0..N-1 */
	for (size_t k = 0; k < N; k++) {
		size_t i = k * 7919 % N;

		long_dom(&a[k], "d", i, false);
		pa[k] = &a[k];
		if (i % 7 == 0 && i % 5 != 0)
			continue;	/* removed */
		long_dom(&b[nb], "d", i, i % 5 == 0);
		pb[nb] = &b[nb];
		nb++;
	}
	for (size_t i = 0; i < NEW; i++) {
		long_dom(&b[nb], "n", i, false);
		pb[nb] = &b[nb];
		nb++;
	}
	cr_assert_eq(ids_assign(NULL, pa, N, T0, &s1, &c1), 0);
	cr_assert_eq(s1.n, N);
	cr_assert_eq(c1.n, N);
	expect_sorted(&s1);
	for (size_t i = 0; i < s1.n; i++) {
		cr_assert_str_eq(s1.d[i].id, "20260101000000");
		cr_assert_str_eq(c1.c[i].name, s1.d[i].name);
		cr_assert_eq(c1.c[i].kind, IDS_ADDED);
	}

	cr_assert_eq(ids_assign(&s1, pb, nb, T0 + 3600, &s2, &c2), 0);
	cr_assert_eq(s2.n, N + NEW, "removed domains stay as retiring entries");
	expect_sorted(&s2);
	for (size_t i = 0; i < N; i++) {
		char name[64];
		const struct ids_domain *e;
		bool gone = i % 7 == 0 && i % 5 != 0, enf = i % 5 == 0;

		snprintf(name, sizeof(name), "d%zu.example", i);
		cr_assert_not_null(e = ids_find(&s2, name), "%s", name);
		cr_assert_eq(e->retiring, gone, "%s", name);
		cr_assert_str_eq(e->id, gone || enf ? "20260101010000" : "20260101000000", "%s", name);
		if (gone) {
			cr_assert(has_change(&c2, name, IDS_RETIRED), "%s", name);
			retired++;
		} else if (enf) {
			cr_assert(has_change(&c2, name, IDS_CHANGED), "%s", name);
			changed++;
		}
	}
	for (size_t i = 0; i < NEW; i++) {
		char name[64];

		snprintf(name, sizeof(name), "n%zu.example", i);
		cr_assert(has_change(&c2, name, IDS_ADDED), "%s", name);
		cr_assert_str_eq(id_of(&s2, name), "20260101010000");
	}
	cr_assert_eq(c2.n, changed + retired + NEW, "%zu changes listed, %zu expected", c2.n, changed + retired + NEW);
	for (size_t i = 1; i < c2.n; i++)
		cr_assert_lt(strcmp(c2.c[i - 1].name, c2.c[i].name), 0);

	ids_state_clear(&s1);
	ids_state_clear(&s2);
	ids_changes_clear(&c1);
	ids_changes_clear(&c2);
	for (size_t i = 0; i < N; i++)
		domain_clear(&a[i]);
	for (size_t i = 0; i < nb; i++)
		domain_clear(&b[i]);
	free(a);
	free(b);
	free(pa);
	free(pb);
}
