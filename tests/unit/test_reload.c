/* SPDX-License-Identifier: MIT */
/* Unit tests of reload.c, snapshot.c and metrics.c: build-then-swap, the publish hook, refcounts, counters. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "metricspage.h"
#include "util.h"
#include "reload.h"
#include "restartkeys.h"
#include "signals.h"
#include "snapshot.h"

static char dir[64], path[128];
static int hook_calls;
static size_t hook_domains;
static char hook_first[64];
static int hook_failures;	/* the next calls that fail */

static int
hook(const struct snapshot *snap)
{
	const struct config *cfg = snap->cfg;
	struct snapshot *cur = snapshot_current();

	__atomic_add_fetch(&hook_calls, 1, __ATOMIC_SEQ_CST);
	hook_domains = cfg->n_domains;
	snprintf(hook_first, sizeof(hook_first), "%s", cfg->n_domains ? cfg->domains[0].name : "");
	/* the hook runs only once the new config is the one being served */
	cr_assert_not_null(cur);
	cr_assert_eq(cur->cfg, cfg, "publish hook called before the swap");
	snapshot_unref(cur);
	if (hook_failures > 0) {
		hook_failures--;
		return -1;
	}
	return 0;
}

static void
write_config(const char *mx, const char *extra)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fprintf(f, "listen:\n  https: [\"127.0.0.1:8443\"]\n  http: [\"127.0.0.1:8080\"]\n"
	    "tls:\n  certs: certs/\n"
	    "domains:\n  - name: example.com\n    mode: enforce\n    mx: [%s]\n%s", mx, extra);
	fclose(f);
}

static void
setup(void)
{
	char certs[160];

	snprintf(dir, sizeof(dir), "/tmp/test_reload.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mtastsd.yaml", dir);
	snprintf(certs, sizeof(certs), "%s/certs", dir);
	mkdir(certs, 0700);
	hook_calls = 0;
	reload_set_publish_hook(hook);
}

static void
teardown(void)
{
	char cmd[128];

	reload_set_publish_hook(NULL);
	reload_set_prepare(NULL);
	snapshot_publish(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(reload, .init = setup, .fini = teardown);

static bool
serves(const char *needle)
{
	struct snapshot *s = snapshot_current();
	const struct site *site = snapshot_site(s, "mta-sts.example.com");
	bool found = site != NULL && strstr(site->body, needle) != NULL;

	snapshot_unref(s);
	return found;
}

Test(reload, swap_then_publish)
{
	write_config("mx1.example.com", "");
	cr_assert_eq(reload_now(path), 0);
	cr_assert_eq(hook_calls, 1);
	cr_assert_eq(hook_domains, 1);
	cr_assert(serves("mx: mx1.example.com\r\n"));
	write_config("mx2.example.com", "  - name: example.org\n    mx: [mx.example.org]\n");
	cr_assert_eq(reload_now(path), 0);
	cr_assert_eq(hook_calls, 2);
	cr_assert_eq(hook_domains, 2);
	cr_assert(serves("mx: mx2.example.com\r\n"));
	cr_assert_eq(metrics_reloads(1), 2);
	cr_assert_eq(metrics_reloads(0), 0);
}

static void *
loop_thread(void *arg)
{
	return (void *)(intptr_t)reload_loop((const char *)arg);
}

static unsigned long long
metric_value(const char *name)
{
	struct buf b = {0};
	const char *p;
	unsigned long long v = ~0ULL;
	char *key = xasprintf("\n%s ", name);

	metricspage_render(NULL, "", &b);
	if ((p = strstr(b.data, key)) != NULL)
		v = strtoull(p + strlen(key), NULL, 10);
	buf_clear(&b);
	free(key);
	return v;
}

Test(reload, a_failed_publish_is_retried_by_itself_on_a_backoff)
{
	sigset_t set;
	pthread_t t;
	struct timespec t0, t1;
	void *ret;

	/* as serve does: the loop's signals blocked before any thread starts */
	signals_serve_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	write_config("mx1.example.com", "");
	/* the publish after this reload fails twice (a full disk, a failing on_change) */
	hook_failures = 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(reload_now(path), 0);
	cr_assert_eq(hook_calls, 1);
	cr_assert_eq(metric_value("mtastsd_dns_publish_retry_pending"), 1);
	cr_assert_eq(metric_value("mtastsd_dns_publications_total"), 0, "a failed publication is not counted");
	cr_assert_eq(pthread_create(&t, NULL, loop_thread, path), 0);
	/* no reload, no signal: the loop publishes again, first after 2 s, then after 4 more */
	for (int i = 0; i < 200 && __atomic_load_n(&hook_calls, __ATOMIC_SEQ_CST) < 3; i++)
		usleep(50000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_eq(__atomic_load_n(&hook_calls, __ATOMIC_SEQ_CST), 3, "the failed publish was not retried by itself");
	cr_assert_geq(t1.tv_sec - t0.tv_sec, 5, "retried without a backoff (%ld s)", (long)(t1.tv_sec - t0.tv_sec));
	cr_assert_eq(metric_value("mtastsd_dns_publish_retries_total"), 2);
	cr_assert_eq(metric_value("mtastsd_dns_publish_retry_pending"), 0);
	cr_assert_eq(metric_value("mtastsd_dns_publications_total"), 1, "the retry that succeeded is");
	/* succeeded: nothing more is retried */
	usleep(300000);
	cr_assert_eq(__atomic_load_n(&hook_calls, __ATOMIC_SEQ_CST), 3);
	kill(getpid(), SIGTERM);
	cr_assert_eq(pthread_join(t, &ret), 0);
	cr_assert_eq((intptr_t)ret, 0);
}

Test(reload, invalid_config_keeps_the_old_snapshot)
{
	struct snapshot *before, *after;

	write_config("mx1.example.com", "");
	cr_assert_eq(reload_now(path), 0);
	before = snapshot_current();
	write_config("mx2.example.com", "  - name: example.com\n    mx: [dup.example.com]\n");
	cr_assert_eq(reload_now(path), -1);
	after = snapshot_current();
	cr_assert_eq(before, after, "a failed reload must not swap");
	cr_assert_eq(hook_calls, 1, "no publish after a failed reload");
	cr_assert_eq(metrics_reloads(0), 1);
	cr_assert(serves("mx: mx1.example.com\r\n"));
	snapshot_unref(before);
	snapshot_unref(after);
}

/* Issue 14.10: a broken pair is a problem for its own names only; the reload goes ahead for everything else. */
Test(reload, broken_certificate_does_not_fail_the_reload)
{
	char crt[192];
	FILE *f;

	write_config("mx1.example.com", "");
	cr_assert_eq(reload_now(path), 0);
	snprintf(crt, sizeof(crt), "%s/certs/mta-sts.example.com.crt", dir);
	cr_assert_not_null(f = fopen(crt, "w"));
	fputs("-----BEGIN CERTIFICATE-----\nbroken\n", f);
	fclose(f);
	/* a half-written renewal: the key is there, the certificate is not complete */
	snprintf(crt, sizeof(crt), "%s/certs/mta-sts.example.com.key", dir);
	cr_assert_not_null(f = fopen(crt, "w"));
	fputs("-----BEGIN PRIVATE KEY-----\nbroken\n", f);
	fclose(f);
	chmod(crt, 0600);
	write_config("mx2.example.com", "");
	cr_assert_eq(reload_now(path), 0);
	cr_assert(serves("mx: mx2.example.com\r\n"));
	cr_assert_eq(hook_calls, 2);
}

static int prepared;

static int
prepare_fail(struct snapshot *snap)
{
	(void)snap;
	prepared++;
	return -1;
}

Test(reload, failing_prepare_keeps_the_old_snapshot)
{
	write_config("mx1.example.com", "");
	cr_assert_eq(reload_now(path), 0);
	reload_set_prepare(prepare_fail);
	write_config("mx2.example.com", "");
	cr_assert_eq(reload_now(path), -1);
	cr_assert_eq(prepared, 1);
	cr_assert(serves("mx: mx1.example.com\r\n"));
}

static int released;

static void
count_release(struct snapshot *snap)
{
	(void)snap;
	released++;
}

Test(reload, snapshot_lives_while_referenced)
{
	struct snapshot *held;

	write_config("mx1.example.com", "");
	cr_assert_eq(reload_now(path), 0);
	held = snapshot_current();
	held->release = count_release;
	write_config("mx2.example.com", "");
	cr_assert_eq(reload_now(path), 0);
	cr_assert_eq(released, 0, "an in-flight reference keeps the old snapshot");
	cr_assert(strstr(snapshot_site(held, "mta-sts.example.com")->body, "mx1.example.com") != NULL);
	snapshot_unref(held);
	cr_assert_eq(released, 1, "the last reference frees it");
}

Test(metrics, counters_render_in_prometheus_format)
{
	struct buf mb = {0};
	char *buf;
	size_t len;

	metrics_request(200);
	metrics_request(200);
	metrics_request(421);
	metrics_request(299);
	metrics_tls_failure(METRICS_TLS_UNKNOWN_SNI);
	metrics_reload(0);
	metrics_set_domains(7);
	metricspage_render(NULL, "", &mb);
	buf = mb.data;
	len = mb.len;
	cr_assert_eq(strlen(buf), len);
	cr_assert_not_null(strstr(buf, "\nmtastsd_http_requests_total{code=\"200\"} 2\n"));
	cr_assert_not_null(strstr(buf, "\nmtastsd_http_requests_total{code=\"421\"} 1\n"));
	cr_assert_not_null(strstr(buf, "\nmtastsd_http_requests_total{code=\"other\"} 1\n"));
	cr_assert_not_null(strstr(buf, "\nmtastsd_tls_handshake_failures_total{reason=\"unknown_sni\"} 1\n"));
	cr_assert_not_null(strstr(buf, "\nmtastsd_tls_handshake_failures_total{reason=\"protocol\"} 0\n"));
	cr_assert_not_null(strstr(buf, "\nmtastsd_reloads_total{result=\"failed\"} 1\n"));
	cr_assert_not_null(strstr(buf, "\nmtastsd_domains 7\n"));
	cr_assert_not_null(strstr(buf, "# TYPE mtastsd_http_requests_total counter\n"));
	cr_assert_eq(metrics_requests(200), 2);
	free(buf);
}

/* mtastsd's own writes never trigger a reload, by name, whatever folder they are in (issue 14.8). */
Test(reload, own_files_by_name)
{
	static const struct { const char *name; bool own; } cases[] = {
		{ "m.state", true }, { "m.state.lock", true }, { "m.state.pending", true },
		{ "m.state.serving", true }, { "m.state.update", true }, { "m.state.tmp.Ab12Cd", true }, { "m.state.pending.tmp.x1", true },
		{ "mta-sts.zone", true }, { "mta-sts.zone.tmp.q9", true },
		{ "m.state.pem", false }, { "m.stat", false }, { "m.state.lockx", false },
		{ "mta-sts.zone.lock", false }, { "privkey.pem", false }, { "x.m.state", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(reload_own_file(cases[i].name, "m.state", "mta-sts.zone"), cases[i].own, "%s",
		    cases[i].name);
	cr_expect(!reload_own_file("mta-sts.zone", "m.state", NULL), "no zone configured");
	cr_expect(!reload_own_file("m.state", NULL, NULL), "nothing configured");
}

/*
 * What needs a restart is judged against what runs; proxy_from and the user
 * count too (issue 22.13). What runs is kept as restartkeys_copy of the
 * start-up config (issue 21: not the whole snapshot): the copy, with the
 * config it came from freed, judges every case as the config itself does.
 */
Test(reload, restart_diff_against_what_runs)
{
	static const char base[] = "listen: {https: [], http: [\"127.0.0.1:8080\", {address: \"127.0.0.1:8081\", "
	    "proxy_protocol: true, proxy_from: [%s]}], admin: \"127.0.0.1:%s\"}\n"
	    "limits: {max_connections: %s}\n%sdomains: [{name: example.com, mode: %s}]\n";
	static const struct { const char *from, *admin, *max, *user, *mode, *want; } cases[] = {
		{ "10.0.0.0/8", "9100", "100", "user: nobody\n", "none", "" },
		{ "10.0.0.0/8", "9100", "100", "user: nobody\n", "testing, mx: [mx.example.com]", "" },
		{ "10.0.0.0/16", "9100", "100", "user: nobody\n", "none", "listen.http" },
		{ "10.0.0.0/8", "9101", "100", "user: nobody\n", "none", "listen.admin" },
		{ "10.0.0.0/8", "9100", "200", "user: nobody\n", "none", "limits" },
		{ "10.0.0.0/8", "9100", "100", "", "none", "user/group" },
		{ "10.0.0.0/8", "9101", "200", "user: nobody\n", "none", "listen.admin, limits" },
	};
	struct diag_list ddl;
	struct config *loaded, *running, *cfg;
	char *yaml, what[128];

	diag_init(&ddl, "r.yaml");
	for (int copy = 0; copy < 2; copy++) {
		yaml = xasprintf(base, cases[0].from, cases[0].admin, cases[0].max, cases[0].user, cases[0].mode);
		loaded = config_load_mem("r.yaml", "/srv", yaml, strlen(yaml), &ddl);
		free(yaml);
		cr_assert_not_null(loaded);
		running = loaded;
		if (copy) {
			running = restartkeys_copy(loaded);
			config_free(loaded);
			cr_expect_eq(running->n_domains, 0, "the copy keeps no domain");
		}
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			yaml = xasprintf(base, cases[i].from, cases[i].admin, cases[i].max, cases[i].user, cases[i].mode);
			cfg = config_load_mem("r.yaml", "/srv", yaml, strlen(yaml), &ddl);
			cr_assert_not_null(cfg, "case %zu", i);
			cr_expect_eq(reload_restart_diff(running, cfg, what, sizeof(what)), strlen(cases[i].want),
			    "case %zu (copy %d)", i, copy);
			cr_expect_str_eq(what, cases[i].want, "case %zu (copy %d)", i, copy);
			config_free(cfg);
			free(yaml);
		}
		config_free(running);
	}
	diag_clear(&ddl);
}
