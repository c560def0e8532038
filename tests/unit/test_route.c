/* SPDX-License-Identifier: MIT */
/* Unit tests of route.c: every status, HEAD, exact bytes and headers, Host/SNI canonicalisation; no sockets. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "policy.h"
#include "route.h"
#include "snapshot.h"

#define PATH ROUTE_POLICY_PATH

static const char yaml[] =
    "listen:\n"
    "  https: [\"127.0.0.1:8443\"]\n"
    "domains:\n"
    "  - name: example.com\n"
    "    mode: enforce\n"
    "    mx: [mx1.example.com, \"*.mail.example.net\"]\n"
    "  - name: example.org\n"
    "    mx: [mail.example.org]\n"
    "  - name: example.net\n"
    "    mode: none\n"
    "    max_age: 86400\n";

static const char body_com[] =
    "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mail.example.net\r\nmax_age: 604800\r\n";
static const char body_net[] = "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n";

static struct snapshot *snap;

static void
setup(void)
{
	struct diag_list dl;
	struct config *cfg;

	diag_init(&dl, "route.yaml");
	cfg = config_load_mem("route.yaml", "/nonexistent", yaml, sizeof(yaml) - 1, &dl);
	if (cfg == NULL) {
		diag_print(&dl, stderr);
		cr_assert_fail("the test configuration does not load");
	}
	diag_clear(&dl);
	/* building a snapshot reads nothing: no DNS state, no folder needed */
	{
		struct snapshot_parts p = { .cfg = cfg };
		domset_build(&p.domains, cfg, NULL, NULL);
		snap = snapshot_from(&p);
	}
}

static void
teardown(void)
{
	snapshot_unref(snap);
	snap = NULL;
}

TestSuite(route, .init = setup, .fini = teardown);

/* An HTTP/1.1 request with at most one Host line. */
static struct route_result
rt(const struct snapshot *sn, const char *sni, const char *host, const char *method, const char *target)
{
	struct route_request req = { sni, host, host != NULL, method, target, false };

	return route(sn, &req);
}

static struct route_result
rt10(const char *sni, const char *host, const char *target)
{
	struct route_request req = { sni, host, host != NULL, "GET", target, true };

	return route(snap, &req);
}

static void
expect_policy(struct route_result r, const char *body)
{
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(r.site);
	cr_assert_str_eq(r.content_type, "text/plain");
	cr_assert_null(r.allow);
	cr_assert_eq(r.body_len, strlen(body));
	cr_assert(memcmp(r.body, body, r.body_len) == 0, "body differs: '%.*s'", (int)r.body_len, r.body);
}

Test(route, get_policy_over_tls_is_the_rendered_body)
{
	struct route_result r = rt(snap, "mta-sts.example.com", "mta-sts.example.com", "GET", PATH);
	size_t len;
	char *rendered = policy_render(config_find_domain(snap->cfg, "example.com"), &len);

	expect_policy(r, body_com);
	cr_assert(r.send_body);
	cr_assert_eq(len, r.body_len);
	cr_assert(memcmp(rendered, r.body, len) == 0, "route must serve exactly policy_render()");
	cr_assert_str_eq(r.site->host, "mta-sts.example.com");
	free(rendered);
}

Test(route, mode_none_domain_is_still_served)
{
	expect_policy(rt(snap, "mta-sts.example.net", "mta-sts.example.net", "GET", PATH), body_net);
}

Test(route, head_has_no_body_but_the_same_length)
{
	struct route_result r = rt(snap, "mta-sts.example.com", "mta-sts.example.com", "HEAD", PATH);

	expect_policy(r, body_com);
	cr_assert_not(r.send_body);
}

Test(route, plain_http_routes_by_host_only)
{
	expect_policy(rt(snap, NULL, "mta-sts.example.com", "GET", PATH), body_com);
	cr_assert_eq(rt(snap, NULL, "mta-sts.example.invalid", "GET", PATH).status, 404);
	cr_assert_eq(rt10(NULL, NULL, PATH).status, 404);
	cr_assert_eq(rt(snap, NULL, "127.0.0.1:8080", "GET", PATH).status, 404);
}

Test(route, host_is_canonicalised)
{
	static const char *const hosts[] = {
		"MTA-STS.Example.COM", "mta-sts.example.com.", "mta-sts.example.com:8443",
		"mta-sts.example.com.:443", "Mta-Sts.EXAMPLE.com.:80",
	};

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		expect_policy(rt(snap, NULL, hosts[i], "GET", PATH), body_com);
		expect_policy(rt(snap, "mta-sts.example.com", hosts[i], "GET", PATH), body_com);
	}
	/* the SNI is canonicalised too, but never carries a port */
	expect_policy(rt(snap, "MTA-STS.EXAMPLE.COM.", "mta-sts.example.com", "GET", PATH), body_com);
}

Test(route, sni_and_host_disagree_is_421)
{
	struct route_result r = rt(snap, "mta-sts.example.com", "mta-sts.example.org", "GET", PATH);

	cr_assert_eq(r.status, 421);
	cr_assert_null(r.site);
	cr_assert_str_eq(r.content_type, "text/plain");
	cr_assert(r.body_len > 0);
	/* also when the Host is not a host name at all, or unknown, or another path */
	cr_assert_eq(rt(snap, "mta-sts.example.com", "127.0.0.1", "GET", PATH).status, 421);
	cr_assert_eq(rt(snap, "mta-sts.example.com", "mta-sts.unknown.example", "GET", PATH).status, 421);
	cr_assert_eq(rt(snap, "mta-sts.example.com", "mta-sts.example.org", "GET", "/").status, 421);
}

Test(route, missing_host_uses_the_sni_in_http10_only)
{
	expect_policy(rt10("mta-sts.example.org", NULL, PATH),
	    "version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 604800\r\n");
	/* RFC 9112 section 3.2: an HTTP/1.1 request without Host is 400 on every listener */
	cr_assert_eq(rt(snap, "mta-sts.example.org", NULL, "GET", PATH).status, 400);
	cr_assert_eq(rt(snap, NULL, NULL, "GET", PATH).status, 400);
}

Test(route, two_host_lines_are_400)
{
	struct route_request req = { "mta-sts.example.com", "mta-sts.example.com", 2, "GET", PATH, false };
	struct route_result r = route(snap, &req);

	cr_assert_eq(r.status, 400);
	cr_assert_null(r.site);
	cr_assert_str_eq(r.content_type, "text/plain");
	req.sni = NULL;
	req.http10 = true;
	cr_assert_eq(route(snap, &req).status, 400);
}

Test(route, invalid_host_values_are_400)
{
	static const char *const hosts[] = {
		"mta-sts.example.com:", "mta-sts.example.com:x", "mta-sts.example.com:123456",
		"mta-sts.example.com:443:443", "mta-sts.example.com/x", "mta-sts.example.com x",
		"user@mta-sts.example.com", "mta-sts.example.com\r", "[::1", "[::1]x", "[::1]:",
		"mta-sts.exa\x7fmple.com", "mta-sts.ex\xc3\xa4mple.com", "mta-sts.example.com%zz",
	};

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		cr_assert_eq(rt(snap, NULL, hosts[i], "GET", PATH).status, 400, "host '%s'", hosts[i]);
		cr_assert_eq(rt(snap, "mta-sts.example.com", hosts[i], "GET", PATH).status, 400, "host '%s'", hosts[i]);
	}
}

Test(route, host_whitespace_is_not_part_of_the_name)
{
	static const char *const hosts[] = {
		"mta-sts.example.com ", "mta-sts.example.com\t", " mta-sts.example.com \t ", "mta-sts.example.com:443 ",
	};

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		expect_policy(rt(snap, NULL, hosts[i], "GET", PATH), body_com);
		expect_policy(rt(snap, "mta-sts.example.com", hosts[i], "GET", PATH), body_com);
	}
	/* valid but no host of ours */
	cr_assert_eq(rt(snap, NULL, "[::1]:8080", "GET", PATH).status, 404);
	cr_assert_eq(rt(snap, NULL, "mta%2Dsts.example.com", "GET", PATH).status, 404);
	cr_assert_eq(rt(snap, "mta-sts.example.com", "[::1]", "GET", PATH).status, 421);
}

Test(route, paths_are_compared_after_normalisation)
{
	/* escapes of unreserved characters are the characters themselves (RFC 3986 section 6.2.2.2) */
	expect_policy(rt(snap, NULL, "mta-sts.example.com", "GET", "/.well-known/mta%2Dsts%2etxt"), body_com);
	expect_policy(rt(snap, NULL, "mta-sts.example.com", "GET", "/%2Ewell-known/mta-sts.txt"), body_com);
	expect_policy(rt(snap, NULL, "mta-sts.example.com", "GET", PATH "?x=%00"), body_com);
	/* an encoded NUL, slash or question mark stays what it is, and matches nothing */
	static const char *const other[] = {
		PATH "%00", PATH "%00.x", "/.well-known%2Fmta-sts.txt", PATH "%3F", "/.well-known/mta-sts.tx%74%00",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		cr_assert_eq(rt(snap, NULL, "mta-sts.example.com", "GET", other[i]).status, 404, "path '%s'", other[i]);
	/* broken escapes and bytes no URI holds are malformed */
	static const char *const bad[] = {
		PATH "%", PATH "%0", PATH "%zz", "/.well-known/mta-sts.txt x", "/.well-known/\x01", "/\xc3\xa4",
		"/.well-known/mta-sts.txt#frag", "", "mta-sts.txt", "/a\\b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(rt(snap, NULL, "mta-sts.example.com", "GET", bad[i]).status, 400, "path '%s'", bad[i]);
}

Test(route, absolute_form_is_routed_by_its_authority)
{
	/* RFC 9112 section 3.2.2: the target's authority names the host, the Host header is ignored */
	expect_policy(rt(snap, NULL, "unrelated.example", "GET", "http://mta-sts.example.com" PATH), body_com);
	expect_policy(rt(snap, NULL, "mta-sts.example.org", "GET", "HTTPS://MTA-STS.example.com:443" PATH), body_com);
	expect_policy(rt(snap, "mta-sts.example.com", "mta-sts.example.org", "GET", "https://mta-sts.example.com" PATH),
	    body_com);
	expect_policy(rt10(NULL, NULL, "http://mta-sts.example.com" PATH "?q"), body_com);
	cr_assert_eq(rt(snap, NULL, "mta-sts.example.com", "GET", "http://mta-sts.example.org" PATH).status, 200);
	cr_assert_str_eq(rt(snap, NULL, "mta-sts.example.com", "GET", "http://mta-sts.example.org" PATH).site->host,
	    "mta-sts.example.org");
	/* it must still agree with the SNI */
	cr_assert_eq(rt(snap, "mta-sts.example.com", "mta-sts.example.com", "GET", "https://mta-sts.example.org" PATH).status,
	    421);
	cr_assert_eq(rt(snap, NULL, "mta-sts.example.com", "GET", "http://mta-sts.unknown.example" PATH).status, 404);
	cr_assert_eq(rt(snap, NULL, "mta-sts.example.com", "GET", "http://mta-sts.example.com").status, 404);
	cr_assert_eq(rt(snap, NULL, "mta-sts.example.com", "GET", "http://mta-sts.example.com/").status, 404);
	/* other schemes, userinfo, an empty host or port, garbage: malformed */
	static const char *const bad[] = {
		"ftp://mta-sts.example.com" PATH, "http://user@mta-sts.example.com" PATH, "http://" PATH,
		"http:///x", "http://mta-sts.example.com:" PATH, "http:mta-sts.example.com" PATH,
		"mta-sts.example.com:443", "http://mta-sts.example.com" PATH "%",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(rt(snap, NULL, "mta-sts.example.com", "GET", bad[i]).status, 400, "target '%s'", bad[i]);
	/* an HTTP/1.1 absolute-form request still needs its Host line */
	cr_assert_eq(rt(snap, NULL, NULL, "GET", "http://mta-sts.example.com" PATH).status, 400);
}

Test(route, unknown_host_is_404)
{
	static const char *const hosts[] = {
		"example.com", "www.example.com", "mta-sts.example.edu", "mta-sts.sub.example.com",
		"mta_sts.example.com", "",
	};

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		struct route_result r = rt(snap, hosts[i], hosts[i], "GET", PATH);

		cr_assert_eq(r.status, 404, "host '%s'", hosts[i]);
		cr_assert_null(r.site);
		cr_assert_str_eq(r.content_type, "text/plain");
		cr_assert(r.send_body);
	}
}

Test(route, other_paths_are_404_never_a_redirect)
{
	static const char *const paths[] = {
		"/", "/.well-known/", "/.well-known/mta-sts.txt/", "/.well-known/MTA-STS.TXT",
		"/.well-known/mta-sts.txt.bak", "//.well-known/mta-sts.txt", "/.well-known//mta-sts.txt",
		"/.well-known/../.well-known/mta-sts.txt", "*",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct route_result r = rt(snap, "mta-sts.example.com", "mta-sts.example.com", "GET", paths[i]);

		cr_assert_eq(r.status, 404, "path '%s'", paths[i]);
		cr_assert_null(r.allow);
		cr_assert_eq(r.body_len, strlen("not found\n"));
		cr_assert(memcmp(r.body, "not found\n", r.body_len) == 0);
	}
	cr_assert_eq(rt(snap, "mta-sts.example.com", "mta-sts.example.com", "GET", NULL).status, 400);
}

Test(route, other_methods_are_405_with_allow)
{
	static const char *const methods[] = { "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "get", "head" };

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct route_result r = rt(snap, "mta-sts.example.com", "mta-sts.example.com", methods[i], PATH);

		cr_assert_eq(r.status, 405, "method '%s'", methods[i]);
		cr_assert_not_null(r.allow);
		cr_assert_str_eq(r.allow, "GET, HEAD");
		cr_assert_str_eq(r.content_type, "text/plain");
		cr_assert_null(r.site);
	}
}

Test(route, head_on_an_error_has_no_body)
{
	struct route_result r = rt(snap, "mta-sts.example.com", "mta-sts.example.com", "HEAD", "/nope");

	cr_assert_eq(r.status, 404);
	cr_assert_not(r.send_body);
}

Test(route, no_snapshot_is_404)
{
	cr_assert_eq(rt(NULL, "mta-sts.example.com", "mta-sts.example.com", "GET", PATH).status, 404);
}

Test(route, every_site_has_its_host_and_body)
{
	cr_assert_eq(snap->n_sites, 3);
	for (size_t i = 0; i < snap->n_sites; i++) {
		const struct site *s = snapshot_site(snap, snap->sites[i]->host);

		cr_assert_eq(s, snap->sites[i]);
		cr_assert(strncmp(s->host, "mta-sts.", 8) == 0);
	}
	cr_assert_null(snapshot_site(snap, "example.com"));
}

Test(route, health_check_on_plain_http_for_backend_addresses_only)
{
	static const char *const hosts[] = { "10.0.0.11:8080", "127.0.0.1", "[::1]:8080", "lb-check.internal" };

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		struct route_result r = rt(snap, NULL, hosts[i], "GET", "/healthz");

		cr_assert_eq(r.status, 200, "host '%s'", hosts[i]);
		cr_assert(r.health);
		cr_assert_null(r.site);
		cr_assert_eq(r.body_len, 3);
		cr_assert(memcmp(r.body, "ok\n", 3) == 0);
		cr_assert_not(rt(snap, NULL, hosts[i], "HEAD", "/healthz").send_body);
		cr_assert_eq(rt(snap, NULL, hosts[i], "POST", "/healthz").status, 405);
	}
	cr_assert(rt10(NULL, NULL, "/healthz").health);
	/* a policy host keeps its one path; TLS listeners have no health path */
	cr_assert_eq(rt(snap, NULL, "mta-sts.example.com", "GET", "/healthz").status, 404);
	cr_assert_eq(rt(snap, "mta-sts.example.com", "mta-sts.example.com", "GET", "/healthz").status, 404);
	cr_assert_eq(rt10("mta-sts.example.com", NULL, "/healthz").status, 404);
	cr_assert_eq(rt(snap, NULL, "10.0.0.11", "GET", "/metrics").status, 404);
	cr_assert_not(rt(snap, NULL, "mta-sts.example.com", "GET", PATH).health);
}

#define TOKEN "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

/* An http-01 request R was routed to its challenge with TOKEN: 200, the token points into the target, no body yet. */
static void
expect_acme(struct route_result r, const char *target, const char *token)
{
	cr_assert_eq(r.status, 200, "'%s': status %u", target, r.status);
	cr_assert_not_null(r.acme_token, "'%s'", target);
	cr_assert_eq(r.acme_token_len, strlen(token), "'%s'", target);
	cr_assert(memcmp(r.acme_token, token, r.acme_token_len) == 0, "'%s'", target);
	cr_assert(r.acme_token >= target && r.acme_token < target + strlen(target), "a pointer into the target");
	cr_assert_null(r.site);
	cr_assert_null(r.body);
	cr_assert_not(r.health);
}

Test(route, acme_http01_on_plain_http_for_any_host)
{
	static const char *const hosts[] = { "mta-sts.example.com", "mta-sts.not-yet.example", "10.0.0.1:80",
	    "MTA-STS.Example.ORG." };
	const char *target = ROUTE_ACME_PREFIX TOKEN;

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		expect_acme(rt(snap, NULL, hosts[i], "GET", target), target, TOKEN);
	expect_acme(rt10(NULL, NULL, target), target, TOKEN);
	/* the query does not count; the prefix is compared after normalisation, as the policy path is */
	target = ROUTE_ACME_PREFIX TOKEN "?x=1";
	expect_acme(rt(snap, NULL, "a.example", "GET", target), target, TOKEN);
	target = "/.well-known/acme%2Dchallenge/" TOKEN;
	expect_acme(rt(snap, NULL, "a.example", "GET", target), target, TOKEN);
	target = "http://mta-sts.new.example" ROUTE_ACME_PREFIX "a-b_C9";
	expect_acme(rt(snap, NULL, "x.example", "GET", target), target, "a-b_C9");
	/* HEAD: the same without body; other methods 405 */
	target = ROUTE_ACME_PREFIX TOKEN;
	cr_assert_not(rt(snap, NULL, "a.example", "HEAD", target).send_body);
	cr_assert_not_null(rt(snap, NULL, "a.example", "HEAD", target).acme_token);
	cr_assert_eq(rt(snap, NULL, "a.example", "POST", target).status, 405);
	cr_assert_null(rt(snap, NULL, "a.example", "POST", target).acme_token);
}

Test(route, acme_http01_invalid_tokens_are_404_without_a_token)
{
	char longest[300], too_long[300];
	static const char *const rests[] = { "", "a.b", "..", "a/b", TOKEN "/", "%2E%2E%2Fx", "%41bc", "a~b",
	    "a%2Fb", "a=b", "a:b", "%00" };

	memset(longest, 'A', 256);
	longest[256] = '\0';
	memset(too_long, 'A', 257);
	too_long[257] = '\0';
	for (size_t i = 0; i < sizeof(rests) / sizeof(rests[0]); i++) {
		char target[512];
		struct route_result r;

		snprintf(target, sizeof(target), "%s%s", ROUTE_ACME_PREFIX, rests[i]);
		r = rt(snap, NULL, "mta-sts.example.com", "GET", target);
		cr_assert_eq(r.status, 404, "'%s': %u", target, r.status);
		cr_assert_null(r.acme_token, "'%s' must look nothing up", target);
	}
	{
		char target[512];

		snprintf(target, sizeof(target), "%s%s", ROUTE_ACME_PREFIX, longest);
		expect_acme(rt(snap, NULL, "a.example", "GET", target), target, longest);
		snprintf(target, sizeof(target), "%s%s", ROUTE_ACME_PREFIX, too_long);
		cr_assert_eq(rt(snap, NULL, "a.example", "GET", target).status, 404);
		cr_assert_null(rt(snap, NULL, "a.example", "GET", target).acme_token);
	}
	/* a malformed request stays a 400 */
	cr_assert_eq(rt(snap, NULL, "a.example", "GET", ROUTE_ACME_PREFIX "%zz").status, 400);
	cr_assert_eq(rt(snap, NULL, NULL, "GET", ROUTE_ACME_PREFIX TOKEN).status, 400);
	/* a path that only starts like the prefix is no challenge */
	cr_assert_null(rt(snap, NULL, "a.example", "GET", "/.well-known/acme-challenge").acme_token);
	cr_assert_null(rt(snap, NULL, "a.example", "GET", "/.well-known/acme-challengeX/" TOKEN).acme_token);
}

Test(route, acme_http01_is_not_answered_over_tls)
{
	struct route_result r = rt(snap, "mta-sts.example.com", "mta-sts.example.com", "GET", ROUTE_ACME_PREFIX TOKEN);

	cr_assert_eq(r.status, 404);
	cr_assert_null(r.acme_token);
	/* and the policy is never a challenge */
	cr_assert_null(rt(snap, NULL, "mta-sts.example.com", "GET", PATH).acme_token);
}

Test(route, connection_close_token)
{
	cr_assert(route_connection_closes("close"));
	cr_assert(route_connection_closes("Close"));
	cr_assert(route_connection_closes(" keep-alive , CLOSE "));
	cr_assert(route_connection_closes("TE,close"));
	cr_assert(route_connection_closes("close\t, Upgrade"));
	cr_assert_not(route_connection_closes(NULL));
	cr_assert_not(route_connection_closes(""));
	cr_assert_not(route_connection_closes("keep-alive"));
	cr_assert_not(route_connection_closes("closed"));
	cr_assert_not(route_connection_closes("x-close, enclose"));
	cr_assert_not(route_connection_closes("close x"));
}

/* The fixed answers, once for both route and the HTTP layer: status, reason, body, Allow, Connection: close. */
static const struct {
	unsigned status;
	const char *reason, *body;
	bool allow, close;
} answers[] = {
	{ 200, "OK", "ok\n", false, false },
	{ 400, "Bad Request", "bad request\n", false, true },
	{ 404, "Not Found", "not found\n", false, false },
	{ 405, "Method Not Allowed", "method not allowed\n", true, false },
	{ 421, "Misdirected Request", "misdirected request: the Host header does not match the TLS server name\n",
	    false, true },
};

Test(route, the_fixed_answers_table)
{
	cr_assert_eq(sizeof(answers) / sizeof(answers[0]), ROUTE_N_ANSWERS);
	for (size_t i = 0; i < ROUTE_N_ANSWERS; i++) {
		const struct route_answer *a = route_answer(answers[i].status);

		cr_assert_eq(a, &route_answers[i], "status %u", answers[i].status);
		cr_assert_str_eq(a->reason, answers[i].reason);
		cr_assert_eq(a->body_len, strlen(answers[i].body), "status %u", a->status);
		cr_assert(memcmp(a->body, answers[i].body, a->body_len) == 0, "status %u: '%.*s'", a->status,
		    (int)a->body_len, a->body);
		cr_assert_eq(a->allow, answers[i].allow, "status %u", a->status);
		cr_assert_eq(a->close, answers[i].close, "status %u", a->status);
	}
	cr_assert_null(route_answer(0));
	cr_assert_null(route_answer(500));
	cr_assert_null(route_answer(408));
}

/* What route answers carries the table's body, the very bytes the HTTP layer builds its responses from. */
Test(route, every_fixed_status_answers_with_the_table_body)
{
	const struct route_result rs[] = {
		rt(snap, NULL, "10.0.0.11", "GET", "/healthz"),
		rt(snap, NULL, "mta-sts.example.com:", "GET", PATH),
		rt(snap, NULL, "mta-sts.example.com", "GET", "/nope"),
		rt(snap, NULL, "mta-sts.example.com", "PUT", PATH),
		rt(snap, "mta-sts.example.com", "mta-sts.example.org", "GET", PATH),
	};
	struct route_request bad = { NULL, "mta-sts.example.com", 1, "GET", PATH, false };
	struct route_result r400 = route_bad_request(&bad);

	for (size_t i = 0; i < ROUTE_N_ANSWERS; i++) {
		cr_assert_eq(rs[i].status, answers[i].status, "case %zu", i);
		cr_assert_eq(rs[i].body_len, strlen(answers[i].body), "status %u", rs[i].status);
		cr_assert(memcmp(rs[i].body, answers[i].body, rs[i].body_len) == 0, "status %u", rs[i].status);
		cr_assert_eq(rs[i].body, route_answer(rs[i].status)->body, "status %u", rs[i].status);
		cr_assert_eq(rs[i].allow != NULL, answers[i].allow, "status %u", rs[i].status);
	}
	cr_assert_eq(r400.status, 400);
	cr_assert_eq(r400.body, route_answer(400)->body);
}
