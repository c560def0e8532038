/* SPDX-License-Identifier: MIT */
/* resolve: answers from a hosts file, no data beside them, NXDOMAIN, a resolver that never answers, the setup's errors. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"
#include "tmpfixture.h"
#include "util.h"

TMP_FIXTURE("/tmp/test_resolve.XXXXXX")

/* DIR/NAME with TEXT in it; the path (malloc'd). */
static char *
put(const char *name, const char *text)
{
	char *p = path_join(tmpdir, name);
	FILE *f = fopen(p, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/*
 * The resolv.conf names 127.0.0.1, where nothing answers DNS on a test
 * machine: names of the hosts file are answered without asking it.
 */
static struct resolver *
make_resolver(void)
{
	char *rc = put("resolv.conf", "nameserver 127.0.0.1\n");
	char *hosts = put("hosts", "# comment\n127.0.0.1 localhost\n192.0.2.7 mta-sts.a.example Alias.Example\n"
				   "2001:db8::7 mta-sts.a.example\n192.0.2.8 v4only.example\n");
	char err[256];
	struct resolver *r = resolver_new(rc, hosts, err, sizeof(err));

	cr_assert_not_null(r, "%s", err);
	cr_expect_str_empty(err);
	free(rc);
	free(hosts);
	return r;
}

Test(resolve, hosts_file_answers, .init = setup, .fini = teardown)
{
	struct resolver *r = make_resolver();
	struct resolve_query q[] = {
		{ .name = "mta-sts.a.example", .type = RESOLVE_A },
		{ .name = "mta-sts.a.example.", .type = RESOLVE_AAAA },
		{ .name = "ALIAS.example", .type = RESOLVE_A },
		{ .name = "v4only.example", .type = RESOLVE_AAAA },
	};

	cr_assert_eq(resolve_run(r, q, 4, 3000), 0, "%s / %s / %s / %s", q[0].answer.error, q[1].answer.error,
	    q[2].answer.error, q[3].answer.error);
	cr_expect_eq(q[0].answer.status, RESOLVE_EXISTS);
	cr_assert_eq(q[0].answer.n, 1);
	cr_expect_str_eq(q[0].answer.values[0], "192.0.2.7");
	cr_expect_null(q[0].answer.canonical, "no CNAME: no canonical name");
	cr_expect_eq(q[1].answer.status, RESOLVE_EXISTS);
	cr_assert_eq(q[1].answer.n, 1);
	cr_expect_str_eq(q[1].answer.values[0], "2001:db8::7");
	cr_expect_eq(q[2].answer.status, RESOLVE_EXISTS, "names in the hosts file match without case");
	/* a name of the hosts file without an AAAA: it exists, without data (not NXDOMAIN, not a failure) */
	cr_expect_eq(q[3].answer.status, RESOLVE_NODATA);
	cr_expect_eq(q[3].answer.rcode, 0);
	cr_expect_eq(q[3].answer.n, 0);
	for (size_t i = 0; i < 4; i++)
		resolve_answer_clear(&q[i].answer);
	resolver_free(r);
}

Test(resolve, no_answer_is_a_failure_not_nxdomain, .init = setup, .fini = teardown)
{
	struct resolver *r = make_resolver();
	struct resolve_answer a;

	/* RFC 6761's .invalid is NXDOMAIN without asking anyone */
	cr_expect_eq(resolve_lookup(r, "nothing-here.invalid", RESOLVE_A, 3000, &a), RESOLVE_NXDOMAIN, "%s", a.error);
	cr_expect_eq(a.rcode, 3);
	resolve_answer_clear(&a);
	/* 127.0.0.1:53 refuses or ignores the query: a resolver failure, within the timeout */
	cr_expect_eq(resolve_lookup(r, "nothing-here.example.net", RESOLVE_A, 1500, &a), RESOLVE_FAILED);
	cr_expect_neq(a.error[0], '\0', "the failure says what happened");
	cr_expect_eq(a.n, 0);
	resolve_answer_clear(&a);
	cr_expect_eq(a.status, RESOLVE_NODATA);
	/* the resolver still answers what it knows after a failed look-up */
	cr_expect_eq(resolve_lookup(r, "v4only.example", RESOLVE_A, 3000, &a), RESOLVE_EXISTS, "%s", a.error);
	resolve_answer_clear(&a);
	resolver_free(r);
}

Test(resolve, setup_errors, .init = setup, .fini = teardown)
{
	char *missing = path_join(tmpdir, "no-such-resolv.conf");
	char *bad_hosts = put("bad-hosts", "192.0.2.1x name.example\n");
	char *rc = put("resolv.conf", "nameserver 127.0.0.1\n");
	char err[256];
	struct resolver *r;

	/* no resolv.conf: the local host, as resolv.conf(5) says, with a warning naming the file */
	r = resolver_new(missing, NULL, err, sizeof(err));
	cr_assert_not_null(r);
	cr_expect(strstr(err, "no-such-resolv.conf") != NULL, "%s", err);
	cr_expect(strstr(err, "127.0.0.1") != NULL, "%s", err);
	resolver_free(r);
	/* a hosts file that cannot be read is no error; one libunbound cannot parse is */
	r = resolver_new(rc, missing, err, sizeof(err));
	cr_expect_not_null(r, "%s", err);
	resolver_free(r);
	r = resolver_new(rc, bad_hosts, err, sizeof(err));
	cr_expect_null(r);
	cr_expect(strstr(err, "bad-hosts") != NULL, "%s", err);
	resolver_free(r);
	free(missing);
	free(bad_hosts);
	free(rc);
}

Test(resolve, names)
{
	char buf[16];

	cr_expect_str_eq(resolve_rcode_name(2, buf, sizeof(buf)), "SERVFAIL");
	cr_expect_str_eq(resolve_rcode_name(3, buf, sizeof(buf)), "NXDOMAIN");
	cr_expect_str_eq(resolve_rcode_name(5, buf, sizeof(buf)), "REFUSED");
	cr_expect_str_eq(resolve_rcode_name(23, buf, sizeof(buf)), "RCODE 23");
	cr_expect_str_eq(resolve_type_name(RESOLVE_CAA), "CAA");
	cr_expect_str_eq(resolve_type_name(RESOLVE_AAAA), "AAAA");
}
