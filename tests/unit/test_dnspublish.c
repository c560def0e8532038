/* SPDX-License-Identifier: MIT */
/* Unit tests for dnspublish: the serve publish hook (zone rewrite, on_change, failures), and the retiring-domain list. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dsfixture.h"
#include "config.h"
#include "dnspublish.h"
#include "ids.h"
#include "metrics.h"
#include "metricspage.h"
#include "util.h"

#include "dnsfixture.h"

/* Asserts that ZONE publishes DOMAIN's _mta-sts TXT record with ID (at the fixture's ttl of 300). */
static void
expect_txt(const char *zone, const char *domain, const char *id)
{
	char *rec = xasprintf("\n_mta-sts.%s. 300 IN TXT \"v=STSv1; id=%s;\"\n", domain, id);

	cr_assert(strstr(zone, rec) != NULL, "no%s in %s", rec, zone);
	free(rec);
}

static char *
hook_cmd(void)
{
	/* records each run: its environment, appended */
	return xasprintf("echo \\\"zone=$MTASTSD_ZONE changed=$MTASTSD_CHANGED\\\" >> %s/runs", dir);
}

Test(dnspublish, publish_writes_the_zone_then_runs_on_change, .init = setup, .fini = teardown)
{
	char *cmd = hook_cmd(), *zone, *runs, *want;
	struct config *cfg = load(cmd, two);

	dnspublish(cfg, DS(cfg));
	zone = slurp("zone/mta-sts.zone");
	cr_assert_not_null(zone, "zone file not written (folder created?)");
	expect_txt(zone, "example.com", "20260101000000");
	cr_assert(strstr(zone, "\n_smtp._tls.example.com. 300 IN TXT \"v=TLSRPTv1; rua=mailto:tls@example.com\"\n") != NULL);
	expect_txt(zone, "example.org", "20260101000000");
	runs = slurp("runs");
	cr_assert_not_null(runs, "on_change did not run");
	want = xasprintf("zone=%s/zone/mta-sts.zone changed=example.com example.org\n", dir);
	cr_assert_str_eq(runs, want);
	char *state = slurp("st/state");
	cr_assert_not_null(state);
	free(state);
	free(want);
	free(runs);
	free(zone);
	free(cmd);
	config_free(cfg);
}

/*
 * Issue 22.1: a domain no listener can serve gets no new id: a new one no
 * record yet, a changed one keeps its last published id until it is served.
 */
Test(dnspublish, publish_holds_the_ids_of_domains_nothing_serves, .init = setup, .fini = teardown)
{
	static const char changed[] =
	    "  - name: example.com\n    mode: enforce\n    mx: [mx2.example.com]\n"
	    "    tlsrpt: [\"mailto:tls@example.com\"]\n"
	    "  - name: example.org\n    mx: [mail.example.org]\n";
	const char *org[] = { "example.org" }, *both[] = { "example.com", "example.org" };
	char *cmd = hook_cmd(), *zone, *runs;
	struct config *cfg = load(cmd, two), *cfg2;

	dnspublish_held(cfg, DS(cfg), org, 1);
	zone = slurp("zone/mta-sts.zone");
	expect_txt(zone, "example.com", "20260101000000");
	cr_assert_null(strstr(zone, "_mta-sts.example.org."), "no record for a new domain nothing serves: %s", zone);
	free(zone);
	runs = slurp("runs");
	cr_assert_null(strstr(runs, "example.org"), "on_change is not told of it: %s", runs);
	free(runs);

	/* an hour later example.com changes, but nothing can serve it now */
	setenv("SOURCE_DATE_EPOCH", "1767229200", 1);
	cfg2 = load(cmd, changed);
	dnspublish_held(cfg2, DS(cfg2), both, 2);
	zone = slurp("zone/mta-sts.zone");
	cr_assert(strstr(zone, "\n_mta-sts.example.com. 300 IN TXT \"v=STSv1; id=20260101000000;\"\n") != NULL,
	    "the last published id stays: %s", zone);
	cr_assert_null(strstr(zone, "_mta-sts.example.org."), "%s", zone);
	free(zone);

	/* served again: the change is published then, and the new domain appears */
	setenv("SOURCE_DATE_EPOCH", "1767232800", 1);
	dnspublish_held(cfg2, DS(cfg2), NULL, 0);
	zone = slurp("zone/mta-sts.zone");
	expect_txt(zone, "example.com", "20260101020000");
	expect_txt(zone, "example.org", "20260101020000");
	free(zone);
	free(cmd);
	config_free(cfg);
	config_free(cfg2);
}

Test(dnspublish, publish_without_a_change_touches_nothing, .init = setup, .fini = teardown)
{
	char *cmd = hook_cmd(), *zp = xasprintf("%s/zone/mta-sts.zone", dir), *runs;
	struct config *cfg = load(cmd, two);
	struct stat a, b;

	dnspublish(cfg, DS(cfg));
	cr_assert_eq(stat(zp, &a), 0);
	setenv("SOURCE_DATE_EPOCH", "1767229200", 1);
	dnspublish(cfg, DS(cfg));
	cr_assert_eq(stat(zp, &b), 0);
	cr_assert_eq(a.st_ino, b.st_ino, "zone rewritten although no record changed");
	runs = slurp("runs");
	/* one line: the first publication only */
	cr_assert_eq(strchr(runs, '\n'), runs + strlen(runs) - 1, "on_change ran again: %s", runs);
	free(runs);
	free(zp);
	free(cmd);
	config_free(cfg);
}

Test(dnspublish, publish_after_a_change_names_only_the_changed_domains, .init = setup, .fini = teardown)
{
	char *cmd = hook_cmd(), *zone, *runs;
	struct config *cfg = load(cmd, two), *cfg2;

	dnspublish(cfg, DS(cfg));
	config_free(cfg);
	setenv("SOURCE_DATE_EPOCH", "1767229200", 1);	/* an hour later */
	cfg2 = load(cmd, one);
	dnspublish(cfg2, DS(cfg2));
	zone = slurp("zone/mta-sts.zone");
	/* example.org retires: still published, with a new id, and explained */
	expect_txt(zone, "example.org", "20260101010000");
	cr_assert(strstr(zone, "; example.org: retiring") != NULL);
	expect_txt(zone, "example.com", "20260101000000");
	runs = slurp("runs");
	cr_assert(strstr(runs, "changed=example.org\n") != NULL, "%s", runs);
	free(runs);
	free(zone);
	free(cmd);
	config_free(cfg2);
}

Test(dnspublish, failing_on_change_is_counted_not_fatal, .init = setup, .fini = teardown)
{
	struct config *cfg = load("exit 3", two);
	unsigned long before = dnspublish_failures();
	char *zone, *m;
	struct buf mb = {0};

	dnspublish(cfg, DS(cfg));
	cr_assert_eq(dnspublish_failures(), before + 1);
	/* the zone was still written before on_change ran */
	zone = slurp("zone/mta-sts.zone");
	cr_assert_not_null(zone);
	metricspage_render(NULL, "", &mb);
	m = mb.data;
	cr_assert(strstr(m, "mtastsd_dns_publish_failures_total ") != NULL);
	cr_assert(strstr(m, "mtastsd_dns_publish_failures_total 0\n") == NULL);
	free(m);
	free(zone);
	config_free(cfg);
}

/* One failed publication is one on the page: a single owner counts it, nothing else adds to it. */
Test(dnspublish, one_failure_counts_one_on_the_metrics_page, .init = setup, .fini = teardown)
{
	struct config *cfg = load("exit 3", two);
	unsigned long before = dnspublish_failures();
	char *want[2] = { xasprintf("\nmtastsd_dns_publish_failures_total %lu\n", before),
		xasprintf("\nmtastsd_dns_publish_failures_total %lu\n", before + 1) };

	for (int i = 0; i < 2; i++) {
		struct buf mb = {0};

		if (i == 1)
			cr_assert_eq(dnspublish(cfg, DS(cfg)), -1);
		metricspage_render(NULL, "", &mb);
		cr_assert_not_null(strstr(mb.data, want[i]), "wanted%s in\n%s", want[i], mb.data);
		buf_clear(&mb);
		free(want[i]);
	}
	cr_assert_eq(dnspublish_failures(), before + 1);
	config_free(cfg);
}

Test(dnspublish, damaged_state_publishes_nothing, .init = setup, .fini = teardown)
{
	char *cmd = hook_cmd(), *sp = xasprintf("%s/st", dir), *f = xasprintf("%s/st/state", dir);
	struct config *cfg = load(cmd, two);
	unsigned long before = dnspublish_failures();
	FILE *fp;
	char *state;

	cr_assert_eq(mkdir(sp, 0755), 0);
	fp = fopen(f, "w");
	fputs("mtastsd-state 2\nthis is not a state\n", fp);
	fclose(fp);
	dnspublish(cfg, DS(cfg));
	cr_assert_eq(dnspublish_failures(), before + 1);
	cr_assert_null(slurp("zone/mta-sts.zone"), "zone written from a damaged state");
	cr_assert_null(slurp("runs"), "on_change ran after a failed publication");
	state = slurp("st/state");
	cr_assert_str_eq(state, "mtastsd-state 2\nthis is not a state\n");
	free(state);
	free(sp);
	free(f);
	free(cmd);
	config_free(cfg);
}

Test(dnspublish, retiring_list_for_serving, .init = setup, .fini = teardown)
{
	struct config *cfg = load("", two), *cfg2;
	struct config_domain *r;
	size_t n;

	dnspublish(cfg, DS(cfg));
	config_free(cfg);
	cfg2 = load("", one);
	/* before any publication for the new config: example.org is already listed */
	cr_assert_eq(dnspublish_retiring(cfg2, DS(cfg2), &r, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(r[0].name, "example.org");
	cr_assert_eq(r[0].mode, POLICY_MODE_NONE);
	cr_assert_eq(r[0].max_age, 86400);
	cr_assert_eq(strlist_len(r[0].mx), 0);
	ids_retiring_free(r, n);
	/* reading never writes the state: it still lists example.org as active */
	char *state = slurp("st/state");
	cr_assert(strstr(state, "domain example.org id=20260101000000 ") != NULL);
	cr_assert(strstr(state, "status=retiring") == NULL);
	free(state);
	/* retired in the same second as its last id: the retirement id is T0+1 */
	dnspublish(cfg2, DS(cfg2));
	setenv("SOURCE_DATE_EPOCH", "1767830400", 1);
	cr_assert_eq(dnspublish_retiring(cfg2, DS(cfg2), &r, &n), 0);
	cr_assert_eq(n, 1, "gone one second before T0+1+604800");
	ids_retiring_free(r, n);
	/* after its largest max_age (604800) since that id, the domain is gone */
	setenv("SOURCE_DATE_EPOCH", "1767830401", 1);
	cr_assert_eq(dnspublish_retiring(cfg2, DS(cfg2), &r, &n), 0);
	cr_assert_eq(n, 0);
	ids_retiring_free(r, n);
	config_free(cfg2);
}

Test(dnspublish, unwritable_zone_is_counted_and_on_change_not_run, .init = setup, .fini = teardown)
{
	char *cmd = hook_cmd(), *blocker = xasprintf("%s/zone", dir);
	struct config *cfg = load(cmd, two);
	unsigned long before = dnspublish_failures();
	FILE *fp;

	/* a plain file where the zone's folder should be */
	fp = fopen(blocker, "w");
	fclose(fp);
	dnspublish(cfg, DS(cfg));
	cr_assert_eq(dnspublish_failures(), before + 1);
	cr_assert_null(slurp("runs"), "on_change ran although the zone was not written");
	free(blocker);
	free(cmd);
	config_free(cfg);
}

Test(dnspublish, changed_domains_come_from_the_records, .init = setup, .fini = teardown)
{
	char *cmd = hook_cmd(), *runs, *want;
	struct config *cfg = load(cmd, two), *cfg2, *cfg3;
	static const char two_no_rua[] =
	    "  - name: example.com\n    mode: enforce\n    mx: [mx1.example.com]\n"
	    "  - name: example.org\n    mx: [mail.example.org]\n";

	dnspublish(cfg, DS(cfg));
	/* only the ttl changes: no id moves, but every domain's records changed */
	ttl = 600;
	cfg2 = load(cmd, two);
	dnspublish(cfg2, DS(cfg2));
	/* the TLSRPT record of example.com goes away: only example.com */
	cfg3 = load(cmd, two_no_rua);
	dnspublish(cfg3, DS(cfg3));
	ttl = 300;
	runs = slurp("runs");
	want = xasprintf("zone=%s/zone/mta-sts.zone changed=example.com example.org\n"
	    "zone=%s/zone/mta-sts.zone changed=example.com example.org\n"
	    "zone=%s/zone/mta-sts.zone changed=example.com\n", dir, dir, dir);
	cr_assert_str_eq(runs, want);
	free(want);
	free(runs);
	free(cmd);
	config_free(cfg);
	config_free(cfg2);
	config_free(cfg3);
}

/* The hex mask after KEY in the /proc status text ST. */
static unsigned long long
status_mask(const char *st, const char *key)
{
	const char *p = strstr(st, key);
	cr_assert_not_null(p, "%s missing", key);
	return strtoull(p + strlen(key), NULL, 16);
}

Test(dnspublish, on_change_gets_default_signals_and_its_own_process_group, .init = setup, .fini = teardown)
{
	/* as serve runs it: SIGHUP, SIGINT, SIGTERM blocked, SIGPIPE ignored */
	char *cmd = xasprintf("cat /proc/self/status > %s/status; cut -d' ' -f1,5 /proc/$$/stat > %s/pgrp", dir, dir);
	struct config *cfg = load(cmd, two);
	sigset_t set, old;
	char *st, *pg;
	unsigned long long bits = (1ULL << (SIGHUP - 1)) | (1ULL << (SIGINT - 1)) | (1ULL << (SIGTERM - 1)) |
	    (1ULL << (SIGPIPE - 1));
	long pid, pgid;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	dnspublish(cfg, DS(cfg));
	signal(SIGPIPE, SIG_DFL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	st = slurp("status");
	cr_assert_not_null(st, "on_change did not run");
	cr_expect_eq(status_mask(st, "SigBlk:") & bits, 0, "on_change inherited blocked signals: %s", st);
	cr_expect_eq(status_mask(st, "SigIgn:") & bits, 0, "on_change inherited ignored signals: %s", st);
	pg = slurp("pgrp");
	cr_assert_not_null(pg);
	cr_assert_eq(sscanf(pg, "%ld %ld", &pid, &pgid), 2, "%s", pg);
	cr_expect_eq(pid, pgid, "on_change is not the leader of its own process group: %s", pg);
	free(pg);
	free(st);
	free(cmd);
	config_free(cfg);
}

Test(dnspublish, on_change_runs_in_the_config_folder_with_an_absolute_zone, .init = setup, .fini = teardown)
{
	char *hook = xasprintf("%s/hook.sh", dir), *want, *got, cwd[4096];
	struct config *cfg;
	FILE *fp = fopen(hook, "w");

	cr_assert_not_null(fp);
	fputs("#!/bin/sh\necho \"$(pwd -P) $MTASTSD_ZONE\" >> out\n", fp);
	fclose(fp);
	cr_assert_eq(chmod(hook, 0755), 0);
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));

	/* serve started elsewhere: a relative command and its relative paths mean the config's folder */
	cr_assert_eq(chdir("/"), 0);
	cfg = load("./hook.sh", two);
	dnspublish(cfg, DS(cfg));
	config_free(cfg);
	got = slurp("out");
	cr_assert_not_null(got, "a relative on_change did not run in the config's folder");
	want = xasprintf("%s %s/zone/mta-sts.zone\n", dir, dir);
	cr_expect_str_eq(got, want);
	free(got);
	free(want);

	/* a config given by a relative path: the zone named to the hook is still absolute */
	cr_assert_eq(chdir(dir), 0);
	basedir = ".";
	ttl = 301;
	cfg = load("./hook.sh", two);
	dnspublish(cfg, DS(cfg));
	config_free(cfg);
	basedir = NULL;
	ttl = 300;
	got = slurp("out");
	want = xasprintf("%s %s/zone/mta-sts.zone\n%s %s/zone/mta-sts.zone\n", dir, dir, dir, dir);
	cr_expect_str_eq(got, want);
	cr_assert_eq(chdir(cwd), 0);
	free(got);
	free(want);
	free(hook);
}

Test(dnspublish, failed_on_change_runs_again_until_it_succeeds, .init = setup, .fini = teardown)
{
	/* fails while DIR/fail exists, records every run */
	char *cmd = xasprintf("echo \\\"changed=$MTASTSD_CHANGED\\\" >> %s/runs; test ! -e %s/fail", dir, dir);
	char *fail = xasprintf("%s/fail", dir), *marker = xasprintf("%s/st/state.pending", dir), *runs;
	struct config *cfg = load(cmd, two), *cfg2;
	unsigned long before = dnspublish_failures();
	FILE *fp = fopen(fail, "w");

	fclose(fp);
	dnspublish(cfg, DS(cfg));
	cr_assert_eq(dnspublish_failures(), before + 1);
	cr_assert_eq(access(marker, F_OK), 0, "no pending marker after a failed on_change");
	/* a reload with the zone unchanged: the hook runs again, still failing, with the same domains */
	setenv("SOURCE_DATE_EPOCH", "1767229200", 1);
	dnspublish(cfg, DS(cfg));
	cr_assert_eq(dnspublish_failures(), before + 2, "a failed on_change was not run again");
	/* a change meanwhile adds its domains to the pending ones */
	cfg2 = load(cmd, one);
	unlink(fail);
	/* a restart: start-up publishes once with the zone up to date after this run */
	dnspublish(cfg2, DS(cfg2));
	cr_assert_eq(dnspublish_failures(), before + 2);
	cr_assert_neq(access(marker, F_OK), 0, "pending marker left after on_change succeeded");
	runs = slurp("runs");
	cr_assert_str_eq(runs, "changed=example.com example.org\nchanged=example.com example.org\n"
	    "changed=example.com example.org\n");
	free(runs);
	/* done: nothing runs when nothing changed */
	dnspublish(cfg2, DS(cfg2));
	runs = slurp("runs");
	cr_assert_eq(strlen(runs), 3 * strlen("changed=example.com example.org\n"), "%s", runs);
	free(runs);
	config_free(cfg);
	config_free(cfg2);
	free(fail);
	free(marker);
	free(cmd);
}

Test(dnspublish, a_pending_signal_stops_on_change_and_its_children, .init = setup, .fini = teardown)
{
	/* a slow hook that starts a child, then serve gets SIGTERM (blocked, as in serve) */
	char *cmd = xasprintf("sleep 60 & echo $! > %s/bg; kill -TERM $PPID; sleep 60", dir);
	char *marker = xasprintf("%s/st/state.pending", dir), *bg;
	struct config *cfg = load(cmd, two);
	unsigned long before = dnspublish_failures();
	struct timespec t0, t1, zero = { 0, 0 };
	sigset_t set, old;
	long bgpid;
	int alive = 1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dnspublish(cfg, DS(cfg));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* the SIGTERM is still there for serve's signalfd */
	cr_assert_eq(sigtimedwait(&set, NULL, &zero), SIGTERM, "the pending SIGTERM was consumed");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 10, "publish waited %ld s for on_change with SIGTERM pending",
	    (long)(t1.tv_sec - t0.tv_sec));
	cr_assert_eq(dnspublish_failures(), before + 1);
	cr_assert_eq(access(marker, F_OK), 0, "an interrupted on_change is not pending");
	bg = slurp("bg");
	cr_assert_not_null(bg);
	bgpid = strtol(bg, NULL, 10);
	cr_assert_gt(bgpid, 1);
	/* the hook's own child died with it (killed as a group); give init a moment to reap it */
	for (int i = 0; i < 100 && alive; i++) {
		char path[64], *st = NULL;
		snprintf(path, sizeof(path), "/proc/%ld/stat", bgpid);
		alive = read_file(path, &st, NULL) == 0 && strstr(st, ") Z ") == NULL;
		free(st);
		if (alive)
			usleep(20000);
	}
	cr_assert(!alive, "on_change's child %ld outlived it", bgpid);
	free(bg);
	free(marker);
	free(cmd);
	config_free(cfg);
}

/* A config in DIR with N domains dNNNNN.example.com that all inherit MODE from defaults:. */
static struct config *
load_many(const char *on_change, size_t n, const char *mode)
{
	struct diag_list dl;
	struct config *cfg;
	struct buf y = {0};
	char *path = xasprintf("%s/mtastsd.yaml", dir);

	buf_printf(&y, "dns:\n  state: st/state\n  zone: zone/mta-sts.zone\n  on_change: \"%s\"\n"
	    "defaults:\n  mode: %s\n  mx: [mx.example.net]\ndomains:\n", on_change, mode);
	for (size_t i = 0; i < n; i++)
		buf_printf(&y, "  - name: d%05zu.example.com\n", i);
	diag_init(&dl, path);
	cfg = config_load_mem(path, dir, y.data, y.len, &dl);
	if (cfg == NULL)
		diag_print(&dl, stderr);
	cr_assert_not_null(cfg);
	diag_clear(&dl);
	buf_clear(&y);
	free(path);
	return cfg;
}

/* The names the hook's copy of MTASTSD_CHANGED_FILE lists must be d00000 .. d(N-1), one a line, sorted. */
static void
assert_lists_all(const char *copy, size_t n)
{
	struct buf want = {0};

	for (size_t i = 0; i < n; i++)
		buf_printf(&want, "d%05zu.example.com\n", i);
	cr_assert_not_null(copy, "the hook did not copy MTASTSD_CHANGED_FILE");
	cr_assert(strcmp(copy, want.data) == 0, "the changed file does not list exactly the %zu domains", n);
	buf_clear(&want);
}

Test(dnspublish, on_change_runs_for_ten_thousand_changed_domains, .init = setup, .fini = teardown)
{
	/* a real hook reading the file: its copy, the count it was given, and what MTASTSD_CHANGED held */
	char *cmd = xasprintf("n=$(ls %s | grep -c '^copy') || true; cp \\\"$MTASTSD_CHANGED_FILE\\\" %s/copy$n; "
	    "echo \\\"$MTASTSD_CHANGED_COUNT ${#MTASTSD_CHANGED} $(wc -l < \\\"$MTASTSD_CHANGED_FILE\\\")\\\" >> %s/runs",
	    dir, dir, dir);
	char *marker = xasprintf("%s/st/state.pending", dir), *runs, *copy;
	struct config *cfg = load_many(cmd, 10000, "testing"), *cfg2;
	unsigned long before = dnspublish_failures();

	/* a first start with 10,000 domains: 190,000 bytes of names, past the kernel's 128 KiB for one string */
	dnspublish(cfg, DS(cfg));
	cr_assert_eq(dnspublish_failures(), before, "on_change failed at 10,000 domains");
	runs = slurp("runs");
	cr_assert_not_null(runs, "on_change did not run at 10,000 domains");
	cr_assert_str_eq(runs, "10000 0 10000\n", "count, MTASTSD_CHANGED length, lines in the file");
	free(runs);
	copy = slurp("copy0");
	assert_lists_all(copy, 10000);
	free(copy);
	cr_assert_neq(access(marker, F_OK), 0, "the changed file was kept after on_change succeeded");

	/* one change of defaults: every domain gets a new id, the hook runs once more with all of them */
	setenv("SOURCE_DATE_EPOCH", "1767229200", 1);
	cfg2 = load_many(cmd, 10000, "enforce");
	dnspublish(cfg2, DS(cfg2));
	cr_assert_eq(dnspublish_failures(), before);
	runs = slurp("runs");
	cr_assert_str_eq(runs, "10000 0 10000\n10000 0 10000\n");
	free(runs);
	copy = slurp("copy1");
	assert_lists_all(copy, 10000);
	free(copy);
	cr_assert_neq(access(marker, F_OK), 0);
	config_free(cfg);
	config_free(cfg2);
	free(marker);
	free(cmd);
}

Test(dnspublish, on_change_gets_the_names_in_its_environment_while_they_fit, .init = setup, .fini = teardown)
{
	char *cmd = xasprintf("echo \\\"$MTASTSD_CHANGED_COUNT $MTASTSD_CHANGED\\\" > %s/runs; cat \\\"$MTASTSD_CHANGED_FILE\\\" > %s/file",
	    dir, dir);
	struct config *cfg = load(cmd, two);
	char *runs, *file;

	dnspublish(cfg, DS(cfg));
	runs = slurp("runs");
	cr_assert_not_null(runs);
	cr_assert_str_eq(runs, "2 example.com example.org\n");
	file = slurp("file");
	cr_assert_str_eq(file, "example.com\nexample.org\n");
	free(file);
	free(runs);
	free(cmd);
	config_free(cfg);
}

Test(dnspublish, a_marker_from_an_older_version_is_read_and_rewritten_one_name_a_line, .init = setup, .fini = teardown)
{
	char *cmd = xasprintf("cat \\\"$MTASTSD_CHANGED_FILE\\\" > %s/file", dir), *file;
	struct config *cfg = load(cmd, two);

	dnspublish(cfg, DS(cfg));
	/* an older mtastsd left a space-separated marker; nothing changes now */
	char *m = xasprintf("%s/st/state.pending", dir);
	FILE *fp = fopen(m, "w");
	fputs("example.org a.example\n", fp);
	fclose(fp);
	dnspublish(cfg, DS(cfg));
	file = slurp("file");
	cr_assert_str_eq(file, "a.example\nexample.org\n");
	cr_assert_neq(access(m, F_OK), 0);
	free(file);
	free(m);
	free(cmd);
	config_free(cfg);
}

Test(dnspublish, a_list_in_a_log_line_is_cut_at_a_name_with_a_count)
{
	char *e;
	struct buf b = {0};

	e = dnspublish_names_excerpt("a.example b.example", 1024);
	cr_assert_str_eq(e, "a.example b.example");
	free(e);
	e = dnspublish_names_excerpt("", 1024);
	cr_assert_str_eq(e, "");
	free(e);
	for (size_t i = 0; i < 10000; i++)
		buf_printf(&b, "%sd%05zu.example.com", i ? " " : "", i);
	e = dnspublish_names_excerpt(b.data, 1024);
	cr_assert_leq(strlen(e), 1024);
	/* whole names, then what was left out */
	const char *cut = strstr(e, " \xe2\x80\xa6 and ");
	cr_assert_not_null(cut, "%s", e);
	cr_assert(strncmp(cut - 18, "d", 1) == 0 && strncmp(cut - 12, ".example.com", 12) == 0, "%s", e);
	size_t shown = (size_t)(cut - e + 1) / 19;
	char *want = xasprintf(" \xe2\x80\xa6 and %zu more", 10000 - shown);
	cr_assert_str_eq(cut, want);
	free(want);
	free(e);
	/* a single name longer than the limit is not cut in the middle */
	e = dnspublish_names_excerpt("averyveryverylongname.example", 10);
	cr_assert_str_eq(e, "\xe2\x80\xa6 and 1 more");
	free(e);
	buf_clear(&b);
}

Test(dnspublish, a_state_file_deleted_under_serve_is_not_a_fresh_start, .init = setup, .fini = teardown)
{
	char *cmd = hook_cmd(), *f = xasprintf("%s/st/state", dir), *zone, *zone2, *runs;
	struct config *cfg = load(cmd, two), *cfg2;
	struct config_domain *r;
	size_t n;
	unsigned long before;

	dnspublish(cfg, DS(cfg));
	zone = slurp("zone/mta-sts.zone");
	cr_assert_not_null(zone);
	/* the state goes (an operator's rm, a volume mounted empty); example.org is removed meanwhile */
	cr_assert_eq(unlink(f), 0);
	cfg2 = load(cmd, one);
	setenv("SOURCE_DATE_EPOCH", "1767229200", 1);
	before = dnspublish_failures();
	/* the reload is refused (so the serving snapshot keeps example.org as it is), and counted */
	cr_assert_eq(dnspublish_retiring(cfg2, DS(cfg2), &r, &n), DNSPUBLISH_STATE_LOST, "a reload started afresh without the state");
	cr_assert_eq(dnspublish_failures(), before + 1);
	/* nothing is published: no new state, the zone as it was, no hook run */
	dnspublish(cfg2, DS(cfg2));
	cr_assert_eq(dnspublish_failures(), before + 2);
	cr_assert_neq(access(f, F_OK), 0, "a fresh state was written");
	zone2 = slurp("zone/mta-sts.zone");
	cr_assert_str_eq(zone2, zone);
	runs = slurp("runs");
	cr_assert_eq(strchr(runs, '\n'), runs + strlen(runs) - 1, "on_change ran again: %s", runs);
	free(runs);
	free(zone2);
	/* the file restored (an empty one, as `dns --start-over` writes, will do): publishing resumes */
	write_state("mtastsd-state 3\nend 0\n");
	cr_assert_eq(dnspublish_retiring(cfg2, DS(cfg2), &r, &n), 0);
	ids_retiring_free(r, n);
	dnspublish(cfg2, DS(cfg2));
	cr_assert_eq(dnspublish_failures(), before + 2);
	zone2 = slurp("zone/mta-sts.zone");
	cr_assert(strstr(zone2, "_mta-sts.example.com. 300 IN TXT \"v=STSv1; id=20260101010000;\"") != NULL, "%s", zone2);
	free(zone2);
	free(zone);
	free(f);
	free(cmd);
	config_free(cfg);
	config_free(cfg2);
}
