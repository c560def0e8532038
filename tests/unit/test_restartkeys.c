/* SPDX-License-Identifier: MIT */
/* Unit tests for restartkeys: which configuration changes a reload reports as needing a restart, and in what order. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "restartkeys.h"
#include "util.h"

/* HTTPS PROXY_FROM, ADMIN PROXY_FROM, MAX_CONNECTIONS, USER LINE, TLS_CERTS */
static const char base[] =
    "listen:\n"
    "  https: [{address: \"127.0.0.1:8443\", proxy_protocol: true, proxy_from: [%s]}]\n"
    "  http: [\"127.0.0.1:8080\"]\n"
    "  admin: {address: \"127.0.0.1:9100\", proxy_protocol: true, proxy_from: [%s]}\n"
    "  trusted_proxies: [%s]\n"
    "limits: {max_connections: %s}\n"
    "%stls: {certs: %s}\n"
    "log: {access: %s}\n"
    "domains: [{name: example.com, mode: none}]\n";

struct variant {
	const char *https_from, *admin_from, *trusted, *max, *user, *certs, *access;
};

static const struct variant running_v = { "10.0.0.0/8", "10.1.0.0/16", "192.0.2.1", "100", "", "certs/",
	"true" };

static struct config *
load(const struct variant *v, struct diag_list *dl)
{
	char *yaml = xasprintf(base, v->https_from, v->admin_from, v->trusted, v->max, v->user, v->certs, v->access);
	struct config *cfg = config_load_mem("r.yaml", "/srv", yaml, strlen(yaml), dl);

	free(yaml);
	if (cfg == NULL)
		diag_print(dl, stderr);
	cr_assert_not_null(cfg);
	return cfg;
}

Test(restartkeys, each_key_alone_and_in_table_order)
{
	static const struct {
		struct variant v;
		unsigned flags;
		const char *want;
	} cases[] = {
		{ { "10.0.0.0/8", "10.1.0.0/16", "192.0.2.1", "100", "", "certs/", "true" }, 0, "" },
		{ { "10.0.0.0/8", "10.1.0.0/16", "192.0.2.1", "100", "", "certs/", "true" },
		    RESTARTKEYS_READER_LOCKED, "" },
		/* proxy_from is bound with the listener's socket, on https and admin alike */
		{ { "10.0.0.0/16", "10.1.0.0/16", "192.0.2.1", "100", "", "certs/", "true" }, 0, "listen.https" },
		{ { "10.0.0.0/8", "10.2.0.0/16", "192.0.2.1", "100", "", "certs/", "true" }, 0, "listen.admin" },
		{ { "10.0.0.0/8", "10.1.0.0/16", "192.0.2.1", "300", "", "certs/", "true" }, 0, "limits" },
		{ { "10.0.0.0/8", "10.1.0.0/16", "192.0.2.1", "100", "user: nobody\n", "certs/", "true" }, 0,
		    "user/group" },
		/* read per request from the snapshot: reloads */
		{ { "10.0.0.0/8", "10.1.0.0/16", "198.51.100.0/24", "100", "", "certs/", "true" }, 0, "" },
		{ { "10.0.0.0/8", "10.1.0.0/16", "192.0.2.1", "100", "", "certs/", "false" }, 0, "" },
		/* tls.certs moves only while the privileged reader is locked to the old folder */
		{ { "10.0.0.0/8", "10.1.0.0/16", "192.0.2.1", "100", "", "other/", "true" }, 0, "" },
		{ { "10.0.0.0/8", "10.1.0.0/16", "192.0.2.1", "100", "", "other/", "true" },
		    RESTARTKEYS_READER_LOCKED, "tls.certs" },
		{ { "10.0.0.0/8", "10.2.0.0/16", "192.0.2.1", "300", "group: nogroup\n", "other/", "true" },
		    RESTARTKEYS_READER_LOCKED, "listen.admin, limits, user/group, tls.certs" },
	};
	struct diag_list dl;
	struct config *running;

	diag_init(&dl, "r.yaml");
	running = load(&running_v, &dl);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = load(&cases[i].v, &dl);
		char what[128];

		cr_expect_eq(restartkeys_diff(running, cfg, cases[i].flags, what, sizeof(what)), strlen(cases[i].want),
		    "case %zu", i);
		cr_expect_str_eq(what, cases[i].want, "case %zu", i);
		config_free(cfg);
	}
	config_free(running);
	diag_clear(&dl);
}

Test(restartkeys, every_key_in_order_and_a_short_buffer)
{
	static const struct variant all = { "10.0.0.0/16", "10.2.0.0/16", "192.0.2.1", "300", "user: nobody\n", "other/",
		"true" };
	static const char want[] = "listen.https, listen.admin, limits, user/group, tls.certs";
	struct diag_list dl;
	struct config *running, *cfg;
	char what[128], small[8];

	diag_init(&dl, "r.yaml");
	running = load(&running_v, &dl);
	cfg = load(&all, &dl);
	cfg->n_http = 0;	/* listen.http dropped as well, without reparsing */
	cr_expect_eq(restartkeys_diff(running, cfg, RESTARTKEYS_READER_LOCKED, what, sizeof(what)),
	    strlen("listen.https, listen.http, listen.admin, limits, user/group, tls.certs"));
	cr_expect_str_eq(what, "listen.https, listen.http, listen.admin, limits, user/group, tls.certs");
	cfg->n_http = 1;
	cr_expect_eq(restartkeys_diff(running, cfg, RESTARTKEYS_READER_LOCKED, small, sizeof(small)), strlen(want));
	cr_expect_str_eq(small, "listen.");
	cr_expect_eq(restartkeys_diff(running, running, RESTARTKEYS_READER_LOCKED, NULL, 0), 0);
	config_free(cfg);
	config_free(running);
	diag_clear(&dl);
}

static struct config *
load_acme(const char *acme, struct diag_list *dl)
{
	char *yaml = xasprintf("listen: {https: [\"127.0.0.1:8443\"], http: [\"127.0.0.1:8080\"]}\n%s"
	    "domains: [{name: example.com, mode: none}]\n", acme);
	struct config *cfg = config_load_mem("r.yaml", "/srv", yaml, strlen(yaml), dl);

	free(yaml);
	if (cfg == NULL)
		diag_print(dl, stderr);
	cr_assert_not_null(cfg, "%s", acme);
	return cfg;
}

/* acme's storage and order are bound at start-up (order.lock is held for the process's life); the rest reloads */
Test(restartkeys, acme_storage_and_order)
{
	static const char running_acme[] = "acme: {agree_terms: true, email: a@example.com}\n";
	static const struct {
		const char *acme, *want;
	} cases[] = {
		{ "acme: {agree_terms: true, email: a@example.com}\n", "" },
		{ "acme: {agree_terms: true, email: b@example.com, directory: \"https://ca.example/d\", "
		  "challenges: [http-01], pacing: {burst: 1, period: 60}}\n", "" },
		{ "acme: {agree_terms: true, storage: /var/lib/acme}\n", "acme.storage" },
		{ "acme: {agree_terms: true, storage: state/acme/}\n", "" },	/* the default, as written */
		{ "acme: {agree_terms: true, order: false}\n", "acme.order" },
		{ "", "acme.storage, acme.order" },	/* the section removed */
	};
	struct diag_list dl;
	struct config *running, *none, *none2, *k;
	char what[128];

	diag_init(&dl, "r.yaml");
	running = load_acme(running_acme, &dl);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = load_acme(cases[i].acme, &dl);

		cr_expect_eq(restartkeys_diff(running, cfg, 0, what, sizeof(what)), strlen(cases[i].want), "case %zu", i);
		cr_expect_str_eq(what, cases[i].want, "case %zu", i);
		config_free(cfg);
	}
	/* the section added; and order: false added is only a new storage (nothing orders either way) */
	none = load_acme("", &dl);
	none2 = load_acme("acme: {agree_terms: true, order: false}\n", &dl);
	cr_expect_eq(restartkeys_diff(none, running, 0, what, sizeof(what)), strlen("acme.storage, acme.order"));
	cr_expect_str_eq(what, "acme.storage, acme.order");
	restartkeys_diff(none, none2, 0, what, sizeof(what));
	cr_expect_str_eq(what, "acme.storage");
	cr_expect_eq(restartkeys_diff(none, none, 0, NULL, 0), 0);
	/* the copy serve keeps compares like the config it was made from */
	k = restartkeys_copy(running);
	cr_assert_not_null(k->acme);
	cr_expect_str_eq(k->acme->storage, "/srv/state/acme");
	cr_expect_eq(restartkeys_diff(k, running, RESTARTKEYS_READER_LOCKED, what, sizeof(what)), 0, "%s", what);
	cr_expect_eq(restartkeys_diff(k, none2, 0, what, sizeof(what)), strlen("acme.order"));
	config_free(k);
	k = restartkeys_copy(none);
	cr_expect_null(k->acme);
	config_free(k);
	config_free(none);
	config_free(none2);
	config_free(running);
	diag_clear(&dl);
}
