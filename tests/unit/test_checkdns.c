/* SPDX-License-Identifier: MIT */
/* Unit tests for checkdns: the DNS checks of `check` (state file, retiring domains, host_target and delegate_zone). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsfixture.h"
#include "checkdns.h"
#include "config.h"
#include "dnsfixture.h"
#include "dnspublish.h"
#include "util.h"

/* The messages checkdns_run adds, joined by newlines. */
static char *
check_messages(const struct config *cfg, size_t *errors, size_t *warnings)
{
	struct diag_list dl;
	struct buf b = {0};

	diag_init(&dl, "cfg");
	checkdns_run(cfg, DS(cfg), &dl);
	for (size_t i = 0; i < dl.n; i++)
		buf_printf(&b, "%s\n", dl.items[i].msg);
	*errors = dl.errors;
	*warnings = dl.warnings;
	diag_clear(&dl);
	if (b.data == NULL)
		buf_puts(&b, "");
	return b.data;
}

/* Asserts that checkdns_run finds no error and exactly one warning in CFG, and that it says TEXT. */
static void
expect_one_warning(const struct config *cfg, const char *text)
{
	size_t e, w;
	char *m = check_messages(cfg, &e, &w);

	cr_assert_eq(e, 0, "%s", m);
	cr_assert_eq(w, 1, "%s", m);
	cr_assert(strstr(m, text) != NULL, "%s", m);
	free(m);
}

Test(checkdns, reports_state_problems_and_retiring_domains, .init = setup, .fini = teardown)
{
	struct config *cfg = load("", two), *cfg2;
	size_t e, w;
	char *m;

	/* no state yet: nothing to say */
	m = check_messages(cfg, &e, &w);
	cr_assert_eq(e + w, 0, "%s", m);
	free(m);

	/* a damaged state is an error (its positions go to stderr) */
	write_state("mtastsd-state 2\ngarbage\n");
	m = check_messages(cfg, &e, &w);
	cr_assert_eq(e, 1);
	cr_assert(strstr(m, "is damaged or unreadable") != NULL, "%s", m);
	free(m);

	/* a version 1 state: a warning that it will be upgraded */
	write_state("mtastsd-state 1\nexample.com 20260101000000 " "0000000000000000000000000000000000000000000000000000000000000000\n");
	expect_one_warning(cfg, "is version 1; the next `dns` or `serve` upgrades it to 3");

	/* a domain removed from the config: a warning with the date its records may go */
	char *f = xasprintf("%s/st/state", dir);
	unlink(f);
	free(f);
	dnspublish(cfg, DS(cfg));
	cfg2 = load("", one);
	setenv("SOURCE_DATE_EPOCH", "1767229200", 1);
	expect_one_warning(cfg2, "domain 'example.org' is retiring: removed from the configuration, served as mode none"
	    " since 2026-01-01T01:00:00Z (keep a certificate for mta-sts.example.org until then);"
	    " its DNS records may be deleted from 2026-01-08T01:00:00Z");
	config_free(cfg);
	config_free(cfg2);
}

Test(checkdns, says_why_the_host_target_domain_gets_no_cname, .init = setup, .fini = teardown)
{
	struct config *cfg;
	char *zone;

	dns_extra = "  host_target: mta-sts.example.org\n";
	cfg = load("", two);
	expect_one_warning(cfg, "domain 'example.org': its policy host is dns.host_target 'mta-sts.example.org' itself,"
	    " so no CNAME is written for it (it would point at itself); give mta-sts.example.org A/AAAA records");
	dnspublish(cfg, DS(cfg));
	zone = slurp("zone/mta-sts.zone");
	cr_assert(strstr(zone, "\nmta-sts.example.com. 300 IN CNAME mta-sts.example.org.\n") != NULL, "%s", zone);
	cr_assert(strstr(zone, "\nmta-sts.example.org. 300 IN CNAME") == NULL, "%s", zone);
	free(zone);
	config_free(cfg);
}

Test(checkdns, warns_of_a_delegate_zone_without_host_target, .init = setup, .fini = teardown)
{
	struct config *cfg;
	size_t e, w;
	char *m;

	dns_extra = "  delegate_zone: sts.provider.example\n";
	cfg = load("", two);
	expect_one_warning(cfg, "dns.delegate_zone 'sts.provider.example' without dns.host_target: `dns --side customer`"
	    " cannot say where each customer's mta-sts.<domain> must point; set dns.host_target to the host that"
	    " serves the policies");
	config_free(cfg);
	dns_extra = "  delegate_zone: sts.provider.example\n  host_target: mta-sts.provider.example\n";
	cfg = load("", two);
	m = check_messages(cfg, &e, &w);
	cr_assert_eq(e + w, 0, "%s", m);
	free(m);
	config_free(cfg);
}
