/* SPDX-License-Identifier: MIT */
/* acmejson: the examples of RFC 8555, RFC 7807, RFC 3339 and RFC 9773 read back, and hostile answers refused with the member named. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acmejson.h"
#include "util.h"

/* RFC 8555 section 7.1.1 */
static const char rfc_directory[] =
    "{\n"
    "  \"newNonce\": \"https://example.com/acme/new-nonce\",\n"
    "  \"newAccount\": \"https://example.com/acme/new-account\",\n"
    "  \"newOrder\": \"https://example.com/acme/new-order\",\n"
    "  \"newAuthz\": \"https://example.com/acme/new-authz\",\n"
    "  \"revokeCert\": \"https://example.com/acme/revoke-cert\",\n"
    "  \"keyChange\": \"https://example.com/acme/key-change\",\n"
    "  \"meta\": {\n"
    "    \"termsOfService\": \"https://example.com/acme/terms/2017-5-30\",\n"
    "    \"website\": \"https://www.example.com/\",\n"
    "    \"caaIdentities\": [\"example.com\"],\n"
    "    \"externalAccountRequired\": false\n"
    "  }\n"
    "}\n";

/* RFC 8555 section 7.1.2 */
static const char rfc_account[] =
    "{\n"
    "  \"status\": \"valid\",\n"
    "  \"contact\": [\n"
    "    \"mailto:cert-admin@example.org\",\n"
    "    \"mailto:admin@example.org\"\n"
    "  ],\n"
    "  \"termsOfServiceAgreed\": true,\n"
    "  \"orders\": \"https://example.com/acme/orders/rzGoeA\"\n"
    "}\n";

/* RFC 8555 section 7.1.3 */
static const char rfc_order[] =
    "{\n"
    "  \"status\": \"valid\",\n"
    "  \"expires\": \"2016-01-20T14:09:07.99Z\",\n"
    "\n"
    "  \"identifiers\": [\n"
    "    { \"type\": \"dns\", \"value\": \"www.example.org\" },\n"
    "    { \"type\": \"dns\", \"value\": \"example.org\" }\n"
    "  ],\n"
    "\n"
    "  \"notBefore\": \"2016-01-01T00:00:00Z\",\n"
    "  \"notAfter\": \"2016-01-08T00:00:00Z\",\n"
    "\n"
    "  \"authorizations\": [\n"
    "    \"https://example.com/acme/authz/PAniVnsZcis\",\n"
    "    \"https://example.com/acme/authz/r4HqLzrSrpI\"\n"
    "  ],\n"
    "\n"
    "  \"finalize\": \"https://example.com/acme/order/TOlocE8rfgo/finalize\",\n"
    "\n"
    "  \"certificate\": \"https://example.com/acme/cert/mAt3xBGaobw\"\n"
    "}\n";

/* RFC 8555 section 7.1.4 */
static const char rfc_authz[] =
    "{\n"
    "  \"status\": \"valid\",\n"
    "  \"expires\": \"2015-03-01T14:09:07.99Z\",\n"
    "\n"
    "  \"identifier\": {\n"
    "    \"type\": \"dns\",\n"
    "    \"value\": \"www.example.org\"\n"
    "  },\n"
    "\n"
    "  \"challenges\": [\n"
    "    {\n"
    "      \"url\": \"https://example.com/acme/chall/prV_B7yEyA4\",\n"
    "      \"type\": \"http-01\",\n"
    "      \"status\": \"valid\",\n"
    "      \"token\": \"DGyRejmCefe7v4NfDGDKfA\",\n"
    "      \"validated\": \"2014-12-01T12:05:58.16Z\"\n"
    "    }\n"
    "  ],\n"
    "\n"
    "  \"wildcard\": false\n"
    "}\n";

/* RFC 8555 section 6.7.1 */
static const char rfc_problem[] =
    "{\n"
    "    \"type\": \"urn:ietf:params:acme:error:malformed\",\n"
    "    \"detail\": \"Some of the identifiers requested were rejected\",\n"
    "    \"subproblems\": [\n"
    "        {\n"
    "            \"type\": \"urn:ietf:params:acme:error:malformed\",\n"
    "            \"detail\": \"Invalid underscore in DNS name \\\"_example.org\\\"\",\n"
    "            \"identifier\": {\n"
    "                \"type\": \"dns\",\n"
    "                \"value\": \"_example.org\"\n"
    "            }\n"
    "        },\n"
    "        {\n"
    "            \"type\": \"urn:ietf:params:acme:error:rejectedIdentifier\",\n"
    "            \"detail\": \"This CA will not issue for \\\"example.net\\\"\",\n"
    "            \"identifier\": {\n"
    "                \"type\": \"dns\",\n"
    "                \"value\": \"example.net\"\n"
    "            }\n"
    "        }\n"
    "    ]\n"
    "}\n";

/* the renewalInfo example of RFC 9773 section 4.2 (draft-ietf-acme-ari's text) */
static const char rfc_renewal[] =
    "{\n"
    "  \"suggestedWindow\": {\n"
    "    \"start\": \"2021-01-03T00:00:00Z\",\n"
    "    \"end\": \"2021-01-07T00:00:00Z\"\n"
    "  },\n"
    "  \"explanationURL\": \"https://example.com/docs/ari\"\n"
    "}\n";

/* ---- RFC 3339 times ---- */

static time_t
t_ok(const char *s)
{
	time_t t = 12345;

	cr_assert_eq(acmejson_time_parse(s, strlen(s), &t), 0, "'%s' is a time", s);
	return t;
}

Test(acmejson, time_rfc3339_examples)
{
	/* RFC 3339 section 5.8, the values computed apart with date(1) */
	cr_expect_eq(t_ok("1985-04-12T23:20:50.52Z"), 482196050);
	cr_expect_eq(t_ok("1996-12-19T16:39:57-08:00"), 851042397);
	cr_expect_eq(t_ok("1990-12-31T23:59:60Z"), 662687999);	/* the leap second counts as :59 */
	cr_expect_eq(t_ok("1990-12-31T15:59:60-08:00"), 662687999);
	cr_expect_eq(t_ok("1937-01-01T12:00:27.87+00:20"), -1041337173);
	/* RFC 8555's */
	cr_expect_eq(t_ok("2016-01-20T14:09:07.99Z"), 1453298947);
	cr_expect_eq(t_ok("2014-12-01T12:05:58.16Z"), 1417435558);
}

Test(acmejson, time_spellings)
{
	cr_expect_eq(t_ok("1985-04-12t23:20:50z"), 482196050);
	cr_expect_eq(t_ok("1985-04-12T23:20:50-00:00"), 482196050);
	cr_expect_eq(t_ok("1985-04-13T01:20:50+02:00"), 482196050);
	cr_expect_eq(t_ok("1985-04-12T23:20:50.123456789012345678901234567890Z"), 482196050);
	cr_expect_eq(t_ok("1970-01-01T00:00:00Z"), 0);
	cr_expect_eq(t_ok("2000-02-29T00:00:00Z"), 951782400);
	cr_expect_eq(t_ok("0000-01-01T00:00:00Z"), -62167219200);
	cr_expect_eq(t_ok("9999-12-31T23:59:59Z"), 253402300799);
	cr_expect_eq(t_ok("2021-01-03T02:00:00+02:00"), 1609632000);
}

Test(acmejson, time_invalid_refused)
{
	static const char *const bad[] = {
		"", "1985-04-12", "1985-04-12T23:20:50", "1985-04-12 23:20:50Z", "1985-04-12T23:20Z",
		"1985-13-12T23:20:50Z", "1985-00-12T23:20:50Z", "1985-04-00T23:20:50Z", "1985-04-31T23:20:50Z",
		"1985-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "1985-04-12T24:00:00Z", "1985-04-12T23:60:00Z",
		"1985-04-12T23:20:61Z", "1985-04-12T23:20:50.Z", "1985-04-12T23:20:50,5Z", "1985-04-12T23:20:50+24:00",
		"1985-04-12T23:20:50+02:60", "1985-04-12T23:20:50+0200", "1985-04-12T23:20:50+02", "1985-04-12T23:20:50Z ",
		" 1985-04-12T23:20:50Z", "1985-04-12T23:20:50ZZ", "+1985-04-12T23:20:50Z", "198a-04-12T23:20:50Z",
		"-985-04-12T23:20:50Z", "1985-4-12T23:20:50Z", "1985/04/12T23:20:50Z", "1985-04-12T23:20:50UTC",
		"1985-04-12T23:20:50+02:00Z", "1985-04-12T+3:20:50Z", "1985-04-12T23:20:50.5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		time_t t = 777;
		cr_expect_eq(acmejson_time_parse(bad[i], strlen(bad[i]), &t), -1, "'%s' refused", bad[i]);
		cr_expect_eq(t, 777, "'%s' leaves *out alone", bad[i]);
	}
	cr_expect_eq(acmejson_time_parse(NULL, 0, NULL), -1);
}

Test(acmejson, time_reads_only_its_length)
{
	const char *s = "1985-04-12T23:20:50Z";
	char *exact = xmalloc(strlen(s));
	time_t t;

	/* no NUL after it: ASan sees a read past the end */
	memcpy(exact, s, strlen(s));
	cr_expect_eq(acmejson_time_parse(exact, strlen(s), &t), 0);
	cr_expect_eq(t, 482196050);
	for (size_t n = 0; n < strlen(s); n++)
		cr_expect_eq(acmejson_time_parse(exact, n, &t), -1, "a prefix of %zu bytes refused", n);
	free(exact);
	cr_expect_eq(acmejson_time_parse("1985-04-12T23:20:50.52Zjunk", 23, &t), 0);
	cr_expect_eq(acmejson_time_parse("1985-04-12T23:20:50.52Zjunk", 24, &t), -1);
}

/* ---- the RFC examples ---- */

Test(acmejson, directory_rfc8555_example)
{
	char err[256] = "";
	struct acmejson_directory *d = acmejson_directory_parse(rfc_directory, strlen(rfc_directory), err, sizeof(err));

	cr_assert_not_null(d, "%s", err);
	cr_expect_str_eq(d->new_nonce, "https://example.com/acme/new-nonce");
	cr_expect_str_eq(d->new_account, "https://example.com/acme/new-account");
	cr_expect_str_eq(d->new_order, "https://example.com/acme/new-order");
	cr_expect_str_eq(d->revoke_cert, "https://example.com/acme/revoke-cert");
	cr_expect_str_eq(d->key_change, "https://example.com/acme/key-change");
	cr_expect_null(d->renewal_info);
	cr_expect_str_eq(d->terms_of_service, "https://example.com/acme/terms/2017-5-30");
	cr_expect_not(d->external_account_required);
	cr_assert_eq(d->ncaa_identities, 1);
	cr_expect_str_eq(d->caa_identities[0], "example.com");
	acmejson_directory_free(d);
}

Test(acmejson, directory_with_ari_and_eab)
{
	static const char text[] = "{\"keyChange\":\"https://ca.example/acme/key-change\","
				   "\"meta\":{\"caaIdentities\":[\"letsencrypt.org\",\"ca.example\"],"
				   "\"externalAccountRequired\":true,\"profiles\":{\"classic\":\"x\"}},"
				   "\"newAccount\":\"https://ca.example/acme/new-acct\","
				   "\"newNonce\":\"https://ca.example/acme/new-nonce\","
				   "\"newOrder\":\"https://ca.example/acme/new-order\","
				   "\"renewalInfo\":\"https://ca.example/acme/renewal-info\","
				   "\"revokeCert\":null,\"Xq7zVb2\":\"https://community.letsencrypt.org/\"}";
	char err[256] = "";
	struct acmejson_directory *d = acmejson_directory_parse(text, strlen(text), err, sizeof(err));

	cr_assert_not_null(d, "%s", err);
	cr_expect_str_eq(d->renewal_info, "https://ca.example/acme/renewal-info");
	cr_expect_null(d->revoke_cert, "null counts as absent");
	cr_expect_null(d->terms_of_service);
	cr_expect(d->external_account_required);
	cr_assert_eq(d->ncaa_identities, 2);
	cr_expect_str_eq(d->caa_identities[1], "ca.example");
	acmejson_directory_free(d);

	/* no meta at all, no keyChange: still a directory to issue from */
	static const char bare[] = "{\"newNonce\":\"http://localhost:14000/nonce-plz\","
				   "\"newAccount\":\"http://localhost:14000/sign-me-up\","
				   "\"newOrder\":\"http://localhost:14000/order-plz\"}";
	d = acmejson_directory_parse(bare, strlen(bare), err, sizeof(err));
	cr_assert_not_null(d, "%s", err);
	cr_expect_null(d->key_change);
	cr_expect_eq(d->ncaa_identities, 0);
	acmejson_directory_free(d);
}

Test(acmejson, account_rfc8555_example)
{
	char err[256] = "";
	struct acmejson_account *a = acmejson_account_parse(rfc_account, strlen(rfc_account), err, sizeof(err));

	cr_assert_not_null(a, "%s", err);
	cr_expect_eq(a->status, ACMEJSON_ACCOUNT_VALID);
	cr_expect_str_eq(a->orders, "https://example.com/acme/orders/rzGoeA");
	acmejson_account_free(a);

	/* Let's Encrypt leaves orders out */
	static const char lets[] = "{\"status\":\"deactivated\",\"key\":{}}";
	a = acmejson_account_parse(lets, strlen(lets), err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	cr_expect_eq(a->status, ACMEJSON_ACCOUNT_DEACTIVATED);
	cr_expect_null(a->orders);
	acmejson_account_free(a);
}

Test(acmejson, order_rfc8555_example)
{
	char err[256] = "";
	struct acmejson_order *o = acmejson_order_parse(rfc_order, strlen(rfc_order), err, sizeof(err));

	cr_assert_not_null(o, "%s", err);
	cr_expect_eq(o->status, ACMEJSON_ORDER_VALID);
	cr_expect_eq(o->expires, 1453298947);
	cr_assert_eq(o->nidentifiers, 2);
	cr_expect_str_eq(o->identifiers[0].type, "dns");
	cr_expect_str_eq(o->identifiers[0].value, "www.example.org");
	cr_expect_str_eq(o->identifiers[1].value, "example.org");
	cr_assert_eq(o->nauthorizations, 2);
	cr_expect_str_eq(o->authorizations[0], "https://example.com/acme/authz/PAniVnsZcis");
	cr_expect_str_eq(o->authorizations[1], "https://example.com/acme/authz/r4HqLzrSrpI");
	cr_expect_str_eq(o->finalize, "https://example.com/acme/order/TOlocE8rfgo/finalize");
	cr_expect_str_eq(o->certificate, "https://example.com/acme/cert/mAt3xBGaobw");
	cr_expect_null(o->error);
	acmejson_order_free(o);
}

Test(acmejson, order_pending_and_invalid)
{
	/* RFC 8555 section 7.4's answer to newOrder: no certificate yet */
	static const char pending[] = "{\"status\":\"pending\",\"expires\":\"2016-01-05T14:09:07.99Z\","
				      "\"notBefore\":\"2016-01-01T00:04:00+04:00\",\"notAfter\":\"2016-01-08T00:04:00+04:00\","
				      "\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.example.org\"},"
				      "{\"type\":\"dns\",\"value\":\"example.org\"}],"
				      "\"authorizations\":[\"https://example.com/acme/authz/PAniVnsZcis\","
				      "\"https://example.com/acme/authz/r4HqLzrSrpI\"],"
				      "\"finalize\":\"https://example.com/acme/order/TOlocE8rfgo/finalize\"}";
	static const char invalid[] = "{\"status\":\"invalid\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"mta-sts.example.org\"}],"
				      "\"authorizations\":[],\"finalize\":\"https://ca.example/finalize/1/2\","
				      "\"error\":{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
				      "\"detail\":\"no valid authorization\",\"status\":403}}";
	char err[256] = "";
	struct acmejson_order *o = acmejson_order_parse(pending, strlen(pending), err, sizeof(err));

	cr_assert_not_null(o, "%s", err);
	cr_expect_eq(o->status, ACMEJSON_ORDER_PENDING);
	cr_expect_null(o->certificate);
	acmejson_order_free(o);

	o = acmejson_order_parse(invalid, strlen(invalid), err, sizeof(err));
	cr_assert_not_null(o, "%s", err);
	cr_expect_eq(o->status, ACMEJSON_ORDER_INVALID);
	cr_expect_eq(o->expires, 0);
	cr_expect_eq(o->nauthorizations, 0);
	cr_assert_not_null(o->error);
	cr_expect_str_eq(o->error->name, "unauthorized");
	cr_expect_eq(o->error->status, 403);
	acmejson_order_free(o);
}

Test(acmejson, authz_rfc8555_example)
{
	char err[256] = "";
	struct acmejson_authz *a = acmejson_authz_parse(rfc_authz, strlen(rfc_authz), err, sizeof(err));

	cr_assert_not_null(a, "%s", err);
	cr_expect_eq(a->status, ACMEJSON_AUTHZ_VALID);
	cr_expect_eq(a->expires, 1425218947);
	cr_expect_str_eq(a->identifier.type, "dns");
	cr_expect_str_eq(a->identifier.value, "www.example.org");
	cr_expect_not(a->wildcard);
	cr_assert_eq(a->nchallenges, 1);
	cr_expect_str_eq(a->challenges[0].type, "http-01");
	cr_expect_eq(a->challenges[0].kind, ACMEJSON_CHALL_HTTP_01);
	cr_expect_str_eq(a->challenges[0].url, "https://example.com/acme/chall/prV_B7yEyA4");
	cr_expect_eq(a->challenges[0].status, ACMEJSON_CHALL_VALID);
	cr_expect_str_eq(a->challenges[0].token, "DGyRejmCefe7v4NfDGDKfA");
	cr_expect_eq(a->challenges[0].validated, 1417435558);
	cr_expect_null(a->challenges[0].error);
	acmejson_authz_free(a);
}

Test(acmejson, authz_pending_with_every_kind)
{
	/* the tokens of RFC 8555 sections 8.3 and 8.4, and RFC 8737 section 3 */
	static const char text[] =
	    "{\"identifier\":{\"type\":\"dns\",\"value\":\"example.org\"},\"status\":\"pending\",\"wildcard\":true,"
	    "\"expires\":\"2025-06-30T12:00:00+02:00\",\"challenges\":["
	    "{\"type\":\"http-01\",\"url\":\"https://example.com/acme/chall/prV_B7yEyA4\",\"status\":\"pending\","
	    "\"token\":\"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\"},"
	    "{\"type\":\"dns-01\",\"url\":\"https://example.com/acme/chall/Rg5dV14Gh1Q\",\"status\":\"processing\","
	    "\"token\":\"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA\"},"
	    "{\"type\":\"tls-alpn-01\",\"url\":\"https://example.com/acme/authz/1234/1\",\"status\":\"invalid\","
	    "\"token\":\"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA\","
	    "\"error\":{\"type\":\"urn:ietf:params:acme:error:tls\",\"detail\":\"no acme-tls/1\",\"status\":400}},"
	    "{\"type\":\"dns-account-01\",\"url\":\"https://example.com/acme/chall/x\",\"status\":\"pending\","
	    "\"token\":\"not/a token, not read\"}]}";
	char err[256] = "";
	struct acmejson_authz *a = acmejson_authz_parse(text, strlen(text), err, sizeof(err));

	cr_assert_not_null(a, "%s", err);
	cr_expect_eq(a->status, ACMEJSON_AUTHZ_PENDING);
	cr_expect(a->wildcard);
	cr_expect_eq(a->expires, 1751277600);
	cr_assert_eq(a->nchallenges, 4);
	cr_expect_eq(a->challenges[0].kind, ACMEJSON_CHALL_HTTP_01);
	cr_expect_eq(a->challenges[1].kind, ACMEJSON_CHALL_DNS_01);
	cr_expect_eq(a->challenges[1].status, ACMEJSON_CHALL_PROCESSING);
	cr_expect_eq(a->challenges[2].kind, ACMEJSON_CHALL_TLS_ALPN_01);
	cr_expect_eq(a->challenges[2].status, ACMEJSON_CHALL_INVALID);
	cr_assert_not_null(a->challenges[2].error);
	cr_expect_str_eq(a->challenges[2].error->name, "tls");
	cr_expect_str_eq(a->challenges[2].error->detail, "no acme-tls/1");
	cr_expect_eq(a->challenges[3].kind, ACMEJSON_CHALL_OTHER);
	cr_expect_str_eq(a->challenges[3].type, "dns-account-01");
	cr_expect_null(a->challenges[3].token, "another type's token is not read");
	cr_expect_eq(a->challenges[0].validated, 0);
	acmejson_authz_free(a);
}

Test(acmejson, problem_rfc8555_example)
{
	char err[256] = "";
	struct acmejson_problem *p = acmejson_problem_parse(rfc_problem, strlen(rfc_problem), err, sizeof(err));

	cr_assert_not_null(p, "%s", err);
	cr_expect_str_eq(p->type, "urn:ietf:params:acme:error:malformed");
	cr_expect_str_eq(p->name, "malformed");
	cr_expect_str_eq(p->detail, "Some of the identifiers requested were rejected");
	cr_expect_eq(p->status, 0);
	cr_assert_eq(p->nsubproblems, 2);
	cr_expect_str_eq(p->subproblems[0].name, "malformed");
	cr_expect_str_eq(p->subproblems[0].detail, "Invalid underscore in DNS name \"_example.org\"");
	cr_expect_str_eq(p->subproblems[0].identifier.value, "_example.org");
	cr_expect_str_eq(p->subproblems[1].name, "rejectedIdentifier");
	cr_expect_str_eq(p->subproblems[1].identifier.type, "dns");
	cr_expect_str_eq(p->subproblems[1].identifier.value, "example.net");
	acmejson_problem_free(p);
}

Test(acmejson, problem_names_and_defaults)
{
	static const char nonce[] = "{\"type\":\"urn:ietf:params:acme:error:badNonce\","
				    "\"detail\":\"JWS has an invalid anti-replay nonce\",\"status\":400}";
	static const char limited[] = "{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"status\":429,"
				      "\"detail\":\"too many certificates (5) already issued for this exact set of identifiers\"}";
	/* RFC 7807 section 3's example: not an ACME error */
	static const char credit[] = "{\"type\":\"https://example.com/probs/out-of-credit\",\"title\":\"You do not have enough credit.\","
				     "\"detail\":\"Your current balance is 30, but that costs 50.\",\"instance\":\"/account/12345/msgs/abc\","
				     "\"balance\":30,\"accounts\":[\"/account/12345\",\"/account/67890\"]}";
	char err[256] = "";
	struct acmejson_problem *p = acmejson_problem_parse(nonce, strlen(nonce), err, sizeof(err));

	cr_assert_not_null(p, "%s", err);
	cr_expect_str_eq(p->name, "badNonce");
	cr_expect_eq(p->status, 400);
	acmejson_problem_free(p);

	p = acmejson_problem_parse(limited, strlen(limited), err, sizeof(err));
	cr_assert_not_null(p, "%s", err);
	cr_expect_str_eq(p->name, "rateLimited");
	cr_expect_eq(p->status, 429);
	acmejson_problem_free(p);

	p = acmejson_problem_parse(credit, strlen(credit), err, sizeof(err));
	cr_assert_not_null(p, "%s", err);
	cr_expect_str_eq(p->name, "");
	cr_expect_str_eq(p->detail, "Your current balance is 30, but that costs 50.");
	acmejson_problem_free(p);

	p = acmejson_problem_parse("{}", 2, err, sizeof(err));
	cr_assert_not_null(p, "%s", err);
	cr_expect_str_eq(p->type, "about:blank");
	cr_expect_str_eq(p->name, "");
	cr_expect_null(p->detail);
	cr_expect_eq(p->nsubproblems, 0);
	acmejson_problem_free(p);
}

Test(acmejson, renewal_rfc9773_example)
{
	char err[256] = "";
	struct acmejson_renewal *r = acmejson_renewal_parse(rfc_renewal, strlen(rfc_renewal), err, sizeof(err));

	cr_assert_not_null(r, "%s", err);
	cr_expect_eq(r->start, 1609632000);
	cr_expect_eq(r->end, 1609977600);
	cr_expect_str_eq(r->explanation_url, "https://example.com/docs/ari");
	acmejson_renewal_free(r);

	static const char bare[] = "{\"suggestedWindow\":{\"start\":\"2021-01-03T02:00:00+02:00\",\"end\":\"2021-01-03T00:00:01Z\"}}";
	r = acmejson_renewal_parse(bare, strlen(bare), err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	cr_expect_eq(r->start, 1609632000);
	cr_expect_eq(r->end, 1609632001);
	cr_expect_null(r->explanation_url);
	acmejson_renewal_free(r);
}

Test(acmejson, status_names)
{
	cr_expect_str_eq(acmejson_account_status_name(ACMEJSON_ACCOUNT_REVOKED), "revoked");
	cr_expect_str_eq(acmejson_order_status_name(ACMEJSON_ORDER_READY), "ready");
	cr_expect_str_eq(acmejson_order_status_name(ACMEJSON_ORDER_PROCESSING), "processing");
	cr_expect_str_eq(acmejson_authz_status_name(ACMEJSON_AUTHZ_EXPIRED), "expired");
	cr_expect_str_eq(acmejson_chall_status_name(ACMEJSON_CHALL_PROCESSING), "processing");
	cr_expect_str_eq(acmejson_order_status_name((enum acmejson_order_status)99), "unknown");
}

Test(acmejson, every_status_maps)
{
	static const char *const order[] = { "pending", "ready", "processing", "valid", "invalid" };
	static const char *const authz[] = { "pending", "valid", "invalid", "deactivated", "expired", "revoked" };
	char err[256] = "";

	for (int i = 0; i < 5; i++) {
		char *t = xasprintf("{\"status\":\"%s\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"}],"
				    "\"authorizations\":[],\"finalize\":\"https://ca.example/f\"}", order[i]);
		struct acmejson_order *o = acmejson_order_parse(t, strlen(t), err, sizeof(err));
		cr_assert_not_null(o, "%s", err);
		cr_expect_eq((int)o->status, i);
		cr_expect_str_eq(acmejson_order_status_name(o->status), order[i]);
		acmejson_order_free(o);
		free(t);
	}
	for (int i = 0; i < 6; i++) {
		char *t = xasprintf("{\"status\":\"%s\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},"
				    "\"challenges\":[]}", authz[i]);
		struct acmejson_authz *a = acmejson_authz_parse(t, strlen(t), err, sizeof(err));
		cr_assert_not_null(a, "%s", err);
		cr_expect_eq((int)a->status, i);
		cr_expect_str_eq(acmejson_authz_status_name(a->status), authz[i]);
		acmejson_authz_free(a);
		free(t);
	}
}

/* ---- hostile and malformed answers ---- */

enum kind { DIR, PROB, ACCT, ORDER, AUTHZ, ARI };

/* Parse TEXT[0..LEN) as KIND: true when it was accepted (and then freed), the message in ERR. */
static bool
parse(enum kind k, const char *text, size_t len, char *err, size_t errlen)
{
	switch (k) {
	case DIR: {
		struct acmejson_directory *d = acmejson_directory_parse(text, len, err, errlen);
		acmejson_directory_free(d);
		return d != NULL;
	}
	case PROB: {
		struct acmejson_problem *p = acmejson_problem_parse(text, len, err, errlen);
		acmejson_problem_free(p);
		return p != NULL;
	}
	case ACCT: {
		struct acmejson_account *a = acmejson_account_parse(text, len, err, errlen);
		acmejson_account_free(a);
		return a != NULL;
	}
	case ORDER: {
		struct acmejson_order *o = acmejson_order_parse(text, len, err, errlen);
		acmejson_order_free(o);
		return o != NULL;
	}
	case AUTHZ: {
		struct acmejson_authz *a = acmejson_authz_parse(text, len, err, errlen);
		acmejson_authz_free(a);
		return a != NULL;
	}
	case ARI: {
		struct acmejson_renewal *r = acmejson_renewal_parse(text, len, err, errlen);
		acmejson_renewal_free(r);
		return r != NULL;
	}
	}
	return false;
}

static void
refused(enum kind k, const char *text, size_t len, const char *want)
{
	char err[512] = "";

	cr_expect_not(parse(k, text, len, err, sizeof(err)), "refused: %s", text);
	cr_expect_not_null(strstr(err, want), "message '%s' has '%s' (input %.80s)", err, want, text);
}

#define REFUSED(k, text, want) refused(k, text, strlen(text), want)

/* the fixed parts around one member under test */
#define DIR_OK "\"newNonce\":\"https://ca/n\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\""
#define ID_OK "\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"}"
#define ORDER_OK "\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"}],\"authorizations\":[],\"finalize\":\"https://ca/f\""
#define CHALL(token) "{\"status\":\"pending\"," ID_OK ",\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://ca/c\",\"status\":\"pending\",\"token\":" token "}]}"

Test(acmejson, refuses_wrong_types)
{
	REFUSED(DIR, "{\"newNonce\":\"https://ca/n\",\"newAccount\":\"https://ca/a\",\"newOrder\":7}",
	    "directory.newOrder: expected a string, found an integer");
	REFUSED(DIR, "{" DIR_OK ",\"meta\":[]}", "directory.meta: expected an object, found an array");
	REFUSED(DIR, "{" DIR_OK ",\"meta\":{\"externalAccountRequired\":\"yes\"}}",
	    "directory.meta.externalAccountRequired: expected a boolean, found a string");
	REFUSED(DIR, "{" DIR_OK ",\"meta\":{\"caaIdentities\":\"ca.example\"}}",
	    "directory.meta.caaIdentities: expected an array, found a string");
	REFUSED(DIR, "{" DIR_OK ",\"meta\":{\"caaIdentities\":[\"ca.example\",1]}}",
	    "directory.meta.caaIdentities[1]: expected a string, found an integer");
	REFUSED(DIR, "{" DIR_OK ",\"meta\":{\"caaIdentities\":[\"ca example\"]}}",
	    "directory.meta.caaIdentities[0]: 'ca example' has a space or a byte outside printable ASCII at offset 2");
	REFUSED(ACCT, "{\"status\":1}", "account.status: expected a string, found an integer");
	REFUSED(ACCT, "{\"status\":\"valid\",\"orders\":{}}", "account.orders: expected a string, found an object");
	REFUSED(ORDER, "{\"status\":\"pending\",\"identifiers\":{}}", "order.identifiers: expected an array, found an object");
	REFUSED(ORDER, "{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"},\"b.example\"]}",
	    "order.identifiers[1]: expected an object, found a string");
	REFUSED(ORDER, "{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\",\"value\":true}]}",
	    "order.identifiers[0].value: expected a string, found a boolean");
	REFUSED(ORDER, "{\"status\":\"invalid\"," ORDER_OK ",\"error\":\"unauthorized\"}",
	    "order.error: expected an object, found a string");
	REFUSED(ORDER, "{\"status\":\"pending\"," ORDER_OK ",\"expires\":1453298947}",
	    "order.expires: expected a string, found an integer");
	REFUSED(AUTHZ, "{\"status\":\"pending\"," ID_OK ",\"wildcard\":\"true\",\"challenges\":[]}",
	    "authorization.wildcard: expected a boolean, found a string");
	REFUSED(AUTHZ, "{\"status\":\"pending\"," ID_OK ",\"challenges\":{}}",
	    "authorization.challenges: expected an array, found an object");
	REFUSED(AUTHZ, "{\"status\":\"pending\"," ID_OK ",\"challenges\":[[]]}",
	    "authorization.challenges[0]: expected an object, found an array");
	REFUSED(AUTHZ, "{\"status\":\"pending\",\"identifier\":\"dns:a.example\",\"challenges\":[]}",
	    "authorization.identifier: expected an object, found a string");
	REFUSED(AUTHZ, CHALL("1234"), "authorization.challenges[0].token: expected a string, found an integer");
	REFUSED(PROB, "{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"status\":\"400\"}",
	    "problem.status: expected an integer, found a string");
	REFUSED(PROB, "{\"status\":400.5}", "problem.status: expected an integer, found a real number");
	REFUSED(PROB, "{\"detail\":[\"x\"]}", "problem.detail: expected a string, found an array");
	REFUSED(PROB, "{\"subproblems\":{}}", "problem.subproblems: expected an array, found an object");
	REFUSED(PROB, "{\"subproblems\":[{},\"x\"]}", "problem.subproblems[1]: expected an object, found a string");
	REFUSED(ARI, "{\"suggestedWindow\":[\"2021-01-03T00:00:00Z\",\"2021-01-07T00:00:00Z\"]}",
	    "renewalInfo.suggestedWindow: expected an object, found an array");
	REFUSED(ARI, "{\"suggestedWindow\":{\"start\":1609632000,\"end\":\"2021-01-07T00:00:00Z\"}}",
	    "renewalInfo.suggestedWindow.start: expected a string, found an integer");
}

Test(acmejson, refuses_missing_members)
{
	REFUSED(DIR, "{\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}", "directory: member 'newNonce' is missing");
	REFUSED(DIR, "{\"newNonce\":\"https://ca/n\",\"newAccount\":null,\"newOrder\":\"https://ca/o\"}",
	    "directory: member 'newAccount' is null");
	REFUSED(ACCT, "{\"orders\":\"https://ca/orders\"}", "account: member 'status' is missing");
	REFUSED(ORDER, "{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"}],\"authorizations\":[]}",
	    "order: member 'finalize' is missing");
	REFUSED(ORDER, "{\"status\":\"pending\",\"finalize\":\"https://ca/f\",\"authorizations\":[]}",
	    "order: member 'identifiers' is missing");
	REFUSED(ORDER, "{\"status\":\"pending\",\"identifiers\":[],\"authorizations\":[],\"finalize\":\"https://ca/f\"}",
	    "order.identifiers: is empty");
	REFUSED(ORDER, "{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\"}],\"authorizations\":[],\"finalize\":\"https://ca/f\"}",
	    "order.identifiers[0]: member 'value' is missing");
	REFUSED(ORDER, "{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"}],\"finalize\":\"https://ca/f\"}",
	    "order: member 'authorizations' is missing");
	REFUSED(AUTHZ, "{\"status\":\"pending\",\"challenges\":[]}", "authorization: member 'identifier' is missing");
	REFUSED(AUTHZ, "{\"status\":\"pending\"," ID_OK "}", "authorization: member 'challenges' is missing");
	REFUSED(AUTHZ, "{\"status\":\"pending\"," ID_OK ",\"challenges\":[{\"type\":\"http-01\",\"status\":\"pending\",\"token\":\"abc\"}]}",
	    "authorization.challenges[0]: member 'url' is missing");
	REFUSED(AUTHZ, "{\"status\":\"pending\"," ID_OK ",\"challenges\":[{\"type\":\"tls-alpn-01\",\"url\":\"https://ca/c\",\"status\":\"pending\"}]}",
	    "authorization.challenges[0]: member 'token' is missing");
	REFUSED(AUTHZ, "{\"status\":\"pending\"," ID_OK ",\"challenges\":[{\"url\":\"https://ca/c\",\"status\":\"pending\"}]}",
	    "authorization.challenges[0]: member 'type' is missing");
	REFUSED(PROB, "{\"subproblems\":[{\"identifier\":{\"value\":\"a.example\"}}]}",
	    "problem.subproblems[0].identifier: member 'type' is missing");
	REFUSED(ARI, "{\"explanationURL\":\"https://ca/ari\"}", "renewalInfo: member 'suggestedWindow' is missing");
	REFUSED(ARI, "{\"suggestedWindow\":{\"start\":\"2021-01-03T00:00:00Z\"}}", "renewalInfo.suggestedWindow: member 'end' is missing");
}

Test(acmejson, refuses_unknown_status)
{
	REFUSED(ACCT, "{\"status\":\"active\"}", "account.status: unknown status 'active' (expected valid, deactivated, revoked)");
	REFUSED(ORDER, "{\"status\":\"deactivated\"," ORDER_OK "}",
	    "order.status: unknown status 'deactivated' (expected pending, ready, processing, valid, invalid)");
	REFUSED(ORDER, "{\"status\":\"Valid\"," ORDER_OK "}", "order.status: unknown status 'Valid'");
	REFUSED(ORDER, "{\"status\":\"\"," ORDER_OK "}", "order.status: unknown status ''");
	REFUSED(AUTHZ, "{\"status\":\"ready\"," ID_OK ",\"challenges\":[]}", "authorization.status: unknown status 'ready'");
	REFUSED(AUTHZ, "{\"status\":\"pending\"," ID_OK ",\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://ca/c\",\"status\":\"expired\",\"token\":\"abc\"}]}",
	    "authorization.challenges[0].status: unknown status 'expired' (expected pending, processing, valid, invalid)");
}

Test(acmejson, refuses_bad_urls)
{
	REFUSED(DIR, "{\"newNonce\":\"ftp://ca/n\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}",
	    "directory.newNonce: 'ftp://ca/n' is not an https:// or http:// URL");
	REFUSED(DIR, "{\"newNonce\":\"/acme/new-nonce\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}",
	    "directory.newNonce: '/acme/new-nonce' is not an https:// or http:// URL");
	REFUSED(DIR, "{\"newNonce\":\"javascript:alert(1)\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}",
	    "is not an https:// or http:// URL");
	REFUSED(DIR, "{\"newNonce\":\"\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}", "directory.newNonce: is empty");
	REFUSED(DIR, "{\"newNonce\":\"https://\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}",
	    "directory.newNonce: 'https://' has no host");
	REFUSED(DIR, "{\"newNonce\":\"https:///n\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}", "has no host");
	REFUSED(DIR, "{\"newNonce\":\"https://ca/new nonce\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}",
	    "directory.newNonce: 'https://ca/new nonce' has a character not allowed in a URL at offset 14");
	REFUSED(DIR, "{\"newNonce\":\"https://ca/n\\r\\nX-Evil: 1\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}",
	    "'https://ca/n\\x0d\\x0aX-Evil: 1' has a character not allowed in a URL at offset 12");
	REFUSED(DIR, "{\"newNonce\":\"https://ca/\\u00e9\",\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}",
	    "'https://ca/\\xc3\\xa9' has a character not allowed in a URL");
	REFUSED(DIR, "{" DIR_OK ",\"renewalInfo\":\"https://ca/<ari>\"}", "directory.renewalInfo: 'https://ca/<ari>' has a character");
	REFUSED(ORDER, "{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"}],"
		       "\"authorizations\":[\"https://ca/authz/1\",\"ftp://ca/authz/2\"],\"finalize\":\"https://ca/f\"}",
	    "order.authorizations[1]: 'ftp://ca/authz/2' is not an https:// or http:// URL");
	REFUSED(ORDER, "{\"status\":\"valid\"," ORDER_OK ",\"certificate\":\"file:///etc/passwd\"}", "order.certificate: 'file:///etc/passwd'");
	REFUSED(ARI, "{\"suggestedWindow\":{\"start\":\"2021-01-03T00:00:00Z\",\"end\":\"2021-01-07T00:00:00Z\"},\"explanationURL\":\"docs/ari\"}",
	    "renewalInfo.explanationURL: 'docs/ari' is not an https:// or http:// URL");

	/* the scheme is case-insensitive (RFC 3986 section 3.1); percent escapes and brackets are URI characters */
	char err[256] = "";
	static const char ok[] = "{\"newNonce\":\"HTTPS://[2001:db8::1]:14000/n%20x?a=b&c=d#f\","
				 "\"newAccount\":\"Http://ca/a\",\"newOrder\":\"https://ca/o\"}";
	cr_expect(parse(DIR, ok, strlen(ok), err, sizeof(err)), "%s", err);
}

/* meta.termsOfService is only shown to the operator: any URI, as RFC 8555 says "a URL" and pebble sends a data: URI */
static char *
terms(const char *value, char *err, size_t errlen)
{
	char *text = xasprintf("{" DIR_OK ",\"meta\":{\"termsOfService\":\"%s\"}}", value);
	struct acmejson_directory *d = acmejson_directory_parse(text, strlen(text), err, errlen);
	char *out = d != NULL && d->terms_of_service != NULL ? xstrdup(d->terms_of_service) : NULL;

	free(text);
	acmejson_directory_free(d);
	return out;
}

#define TERMS_TAKEN(json, want)                                                   \
	do {                                                                      \
		char err_[512] = "", *got_ = terms(json, err_, sizeof(err_));     \
		cr_expect_not_null(got_, "%s: %s", json, err_);                   \
		if (got_ != NULL)                                                 \
			cr_expect_str_eq(got_, want);                             \
		free(got_);                                                       \
	} while (0)

Test(acmejson, terms_of_service_any_uri)
{
	/* pebble 2.4.0's own, exactly */
	TERMS_TAKEN("data:text/plain,Do%20what%20thou%20wilt", "data:text/plain,Do%20what%20thou%20wilt");
	TERMS_TAKEN("data:text/plain;base64,SGVsbG8=", "data:text/plain;base64,SGVsbG8=");
	TERMS_TAKEN("https://ca.example/terms/2024.pdf", "https://ca.example/terms/2024.pdf");
	TERMS_TAKEN("mailto:legal@ca.example", "mailto:legal@ca.example");
	TERMS_TAKEN("urn:ietf:rfc:8555", "urn:ietf:rfc:8555");
	/* the scheme's other characters; after ':' any printable ASCII, JSON escapes undone */
	TERMS_TAKEN("X-Ca+terms.v2:\\\"quoted\\\"<>{}|^`\\\\", "X-Ca+terms.v2:\"quoted\"<>{}|^`\\");

	char *t = xmalloc(ACMEJSON_MAX_URI + 2);	/* "data:" then 'A's: ACMEJSON_MAX_URI bytes in all */
	memcpy(t, "data:", 5);
	memset(t + 5, 'A', ACMEJSON_MAX_URI - 5);
	t[ACMEJSON_MAX_URI] = '\0';
	char err[512] = "", *got = terms(t, err, sizeof(err));
	cr_expect_not_null(got, "%s", err);
	cr_expect_eq(got != NULL ? strlen(got) : 0, ACMEJSON_MAX_URI);
	free(got);
	t[ACMEJSON_MAX_URI] = 'A';	/* one more */
	t[ACMEJSON_MAX_URI + 1] = '\0';
	char *text = xasprintf("{" DIR_OK ",\"meta\":{\"termsOfService\":\"%s\"}}", t);
	REFUSED(DIR, text, "directory.meta.termsOfService: 'data:AAAA");
	REFUSED(DIR, text, "is 2049 characters long, more than 2048");
	free(text);
	free(t);
}

Test(acmejson, terms_of_service_refused)
{
#define TOS(v) "{" DIR_OK ",\"meta\":{\"termsOfService\":" v "}}"
	REFUSED(DIR, TOS("\"\""), "directory.meta.termsOfService: is empty");
	REFUSED(DIR, TOS("\"terms\""), "directory.meta.termsOfService: 'terms' is not a URI (a scheme such as 'https' then ':')");
	REFUSED(DIR, TOS("\"/acme/terms\""), "'/acme/terms' is not a URI");
	REFUSED(DIR, TOS("\":data\""), "':data' is not a URI");
	REFUSED(DIR, TOS("\"1data:x\""), "'1data:x' is not a URI");
	REFUSED(DIR, TOS("\"da_ta:x\""), "'da_ta:x' is not a URI");
	REFUSED(DIR, TOS("\"data :x\""), "'data :x' is not a URI");
	REFUSED(DIR, TOS("\"data\""), "'data' is not a URI");
	REFUSED(DIR, TOS("\"data:text/plain,Do what thou wilt\""),
	    "directory.meta.termsOfService: 'data:text/plain,Do what thou wilt' has a space or a byte outside printable ASCII at offset 18");
	REFUSED(DIR, TOS("\"data:x\\r\\nINFO forged\""), "'data:x\\x0d\\x0aINFO forged' has a space or a byte outside printable ASCII at offset 6");
	REFUSED(DIR, TOS("\"data:\\u0001\""), "'data:\\x01' has a space or a byte outside printable ASCII at offset 5");
	REFUSED(DIR, TOS("\"data:\\t\""), "at offset 5");
	REFUSED(DIR, TOS("\"data:\\u007f\""), "'data:\\x7f' has a space or a byte outside printable ASCII at offset 5");
	REFUSED(DIR, TOS("\"https://ca/\\u00e9\""), "'https://ca/\\xc3\\xa9' has a space or a byte outside printable ASCII at offset 11");
	REFUSED(DIR, TOS("7"), "directory.meta.termsOfService: expected a string, found an integer");
#undef TOS
}

Test(acmejson, refuses_bad_tokens)
{
	REFUSED(AUTHZ, CHALL("\"LoqXcYV8q5ONbJQx/bmR7SCTNo3tiAXDfowyjxAjEuX0\""),
	    "authorization.challenges[0].token: 'LoqXcYV8q5ONbJQx/bmR7SCTNo3tiAXDfowyjxAjEuX0' has a character outside base64url at offset 16");
	REFUSED(AUTHZ, CHALL("\"../../../etc/passwd\""), "token: '../../../etc/passwd' has a character outside base64url at offset 0");
	REFUSED(AUTHZ, CHALL("\"DGyRejmCefe7v4NfDGDKfA==\""), "outside base64url at offset 22");
	REFUSED(AUTHZ, CHALL("\"abc+def\""), "outside base64url at offset 3");
	REFUSED(AUTHZ, CHALL("\"abc def\""), "outside base64url at offset 3");
	REFUSED(AUTHZ, CHALL("\"abc\\u0001\""), "'abc\\x01' has a character outside base64url at offset 3");
	REFUSED(AUTHZ, CHALL("\"abc\\u00e9\""), "outside base64url at offset 3");
	REFUSED(AUTHZ, CHALL("\"\""), "authorization.challenges[0].token: is empty");
	REFUSED(AUTHZ, CHALL("null"), "authorization.challenges[0]: member 'token' is null");

	char *t = xmalloc(ACMEJSON_MAX_TOKEN + 3), *text;
	memset(t + 1, 'A', ACMEJSON_MAX_TOKEN + 1);
	t[0] = '"';
	t[ACMEJSON_MAX_TOKEN + 2] = '\0';
	text = xasprintf(CHALL("%s\""), t);
	REFUSED(AUTHZ, text, "is 256 characters long, more than 255");
	free(text);
	t[ACMEJSON_MAX_TOKEN + 1] = '\0';	/* 255 characters: fine */
	text = xasprintf(CHALL("%s\""), t);
	char err[256] = "";
	cr_expect(parse(AUTHZ, text, strlen(text), err, sizeof(err)), "%s", err);
	free(text);
	free(t);
}

Test(acmejson, refuses_bad_values)
{
	REFUSED(ORDER, "{\"status\":\"pending\"," ORDER_OK ",\"expires\":\"tomorrow\"}", "order.expires: 'tomorrow' is not an RFC 3339 date-time");
	REFUSED(ORDER, "{\"status\":\"pending\"," ORDER_OK ",\"expires\":\"2016-02-30T00:00:00Z\"}",
	    "order.expires: '2016-02-30T00:00:00Z' is not an RFC 3339 date-time");
	REFUSED(ORDER, "{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\\nINFO forged\"}],"
		       "\"authorizations\":[],\"finalize\":\"https://ca/f\"}",
	    "order.identifiers[0].value: 'a.example\\x0aINFO forged' has a space or a byte outside printable ASCII at offset 9");
	REFUSED(ORDER, "{\"status\":\"pending\",\"identifiers\":[{\"type\":\"\",\"value\":\"a.example\"}],"
		       "\"authorizations\":[],\"finalize\":\"https://ca/f\"}",
	    "order.identifiers[0].type: is empty");
	REFUSED(AUTHZ, "{\"status\":\"valid\"," ID_OK ",\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://ca/c\","
		       "\"status\":\"valid\",\"token\":\"abc\",\"validated\":\"2014-12-01\"}]}",
	    "authorization.challenges[0].validated: '2014-12-01' is not an RFC 3339 date-time");
	REFUSED(AUTHZ, "{\"status\":\"pending\"," ID_OK ",\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://ca/c\","
		       "\"status\":\"invalid\",\"token\":\"abc\",\"error\":{\"status\":1000}}]}",
	    "authorization.challenges[0].error.status: 1000 is not an HTTP status");
	REFUSED(PROB, "{\"status\":99}", "problem.status: 99 is not an HTTP status");
	REFUSED(PROB, "{\"status\":-400}", "problem.status: -400 is not an HTTP status");
	REFUSED(PROB, "{\"status\":9223372036854775807}", "problem.status: 9223372036854775807 is not an HTTP status");
	REFUSED(PROB, "{\"type\":\"\"}", "problem.type: is empty");
	REFUSED(ARI, "{\"suggestedWindow\":{\"start\":\"2021-01-07T00:00:00Z\",\"end\":\"2021-01-07T00:00:00Z\"}}",
	    "renewalInfo.suggestedWindow: end '2021-01-07T00:00:00Z' is not after start '2021-01-07T00:00:00Z'");
	REFUSED(ARI, "{\"suggestedWindow\":{\"start\":\"2021-01-07T00:00:00Z\",\"end\":\"2021-01-03T00:00:00Z\"}}",
	    "end '2021-01-03T00:00:00Z' is not after start");
	REFUSED(ARI, "{\"suggestedWindow\":{\"start\":\"2021-01-03T00:00:00Z\",\"end\":\"2021-01-07\"}}",
	    "renewalInfo.suggestedWindow.end: '2021-01-07' is not an RFC 3339 date-time");
}

Test(acmejson, refuses_what_is_not_json)
{
	REFUSED(DIR, "", "directory: not JSON: ");
	REFUSED(DIR, "[]", "directory: expected an object, found an array");
	REFUSED(DIR, "\"https://ca/n\"", "directory: not JSON");
	REFUSED(DIR, "null", "directory: not JSON");
	REFUSED(DIR, "{" DIR_OK "} {}", "directory: not JSON");
	REFUSED(DIR, "{" DIR_OK ",}", "directory: not JSON");
	REFUSED(DIR, "{'newNonce':'https://ca/n'}", "directory: not JSON");
	REFUSED(DIR, "{" DIR_OK ",\"newNonce\":\"https://ca/other\"}", "directory: not JSON: duplicate object key");
	REFUSED(ORDER, "{\"status\":\"valid\",\"finalize\":\"https://ca/f\\u0000.evil\"}", "order: not JSON: \\\\u0000 is not allowed");
	REFUSED(ACCT, "{\"status\":\"valid\"", "account: not JSON: ");
	REFUSED(ACCT, "{\"status\":\"val\\id\"}", "account: not JSON: invalid escape");
	refused(ACCT, NULL, 0, "account: not JSON");
	/* ... and the position of the trouble */
	REFUSED(ACCT, "{\n  \"status\": \"valid\",\n  \"orders\": ,\n}", "at line 3, column");
}

Test(acmejson, refuses_non_utf8)
{
	/* a stray continuation byte, an overlong '/', a surrogate, a cut sequence, Latin-1, in a name */
	REFUSED(ACCT, "{\"status\":\"valid\",\"orders\":\"https://ca/\x80\"}",
	    "account: not JSON: unable to decode byte 0x80 near '\"https://ca/' at line 1, column 39");
	REFUSED(ACCT, "{\"status\":\"valid\",\"orders\":\"https://ca/\xc0\xaf\"}", "account: not JSON: unable to decode byte 0xc0");
	REFUSED(ACCT, "{\"status\":\"valid\",\"orders\":\"https://ca/\xed\xa0\x80\"}", "account: not JSON: unable to decode byte 0xed");
	REFUSED(ACCT, "{\"status\":\"valid\",\"orders\":\"https://ca/\xe2\x82\"}", "account: not JSON: unable to decode byte 0xe2");
	REFUSED(PROB, "{\"detail\":\"caf\xe9\"}", "problem: not JSON: unable to decode byte 0xe9");
	REFUSED(PROB, "{\"det\xff\":\"x\"}", "problem: not JSON: unable to decode byte 0xff");
	/* an escaped surrogate that does not pair */
	REFUSED(PROB, "{\"detail\":\"\\ud800\"}", "problem: not JSON: invalid Unicode '\\\\uD800'");
	/* the bytes quoted back are escaped, never raw */
	char err[512] = "";
	static const char latin1[] = "{\"detail\":\"caf\xe9\"}";
	cr_expect_not(parse(PROB, latin1, strlen(latin1), err, sizeof(err)));
	for (const char *c = err; *c; c++)
		cr_expect((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f, "byte 0x%02x in '%s'", (unsigned char)*c, err);
	/* and good UTF-8 in free text is kept */
	static const char good[] = "{\"detail\":\"caf\xc3\xa9 \\u2603\"}";
	struct acmejson_problem *p = acmejson_problem_parse(good, strlen(good), err, sizeof(err));
	cr_assert_not_null(p, "%s", err);
	cr_expect_str_eq(p->detail, "caf\xc3\xa9 \xe2\x98\x83");
	acmejson_problem_free(p);
}

Test(acmejson, refuses_huge_numbers)
{
	REFUSED(PROB, "{\"status\":100000000000000000000000000000}", "problem: not JSON: too big integer");
	REFUSED(PROB, "{\"status\":1e999}", "problem: not JSON: real number overflow");
	REFUSED(PROB, "{\"status\":-100000000000000000000000000000}", "problem: not JSON: too big negative integer");
	/* a huge number in a member nobody reads is still not JSON this parser takes */
	REFUSED(ACCT, "{\"status\":\"valid\",\"balance\":123456789012345678901234567890}", "account: not JSON: too big integer");
}

Test(acmejson, refuses_deep_nesting)
{
	size_t depth = 100000;
	struct buf b = { 0 };

	buf_puts(&b, "{\"status\":\"valid\",\"x\":");
	for (size_t i = 0; i < depth; i++)
		buf_puts(&b, "[");
	refused(ACCT, b.data, b.len, "account: not JSON: maximum parsing depth reached");
	buf_clear(&b);

	/* 2000 levels: within jansson's limit, read and ignored */
	buf_puts(&b, "{\"status\":\"valid\",\"x\":");
	for (size_t i = 0; i < 2000; i++)
		buf_puts(&b, "[");
	for (size_t i = 0; i < 2000; i++)
		buf_puts(&b, "]");
	buf_puts(&b, "}");
	char err[256] = "";
	cr_expect(parse(ACCT, b.data, b.len, err, sizeof(err)), "%s", err);
	buf_clear(&b);
}

Test(acmejson, refuses_too_much)
{
	struct buf b = { 0 };
	char err[256] = "";

	/* more authorizations than any CA gives an order */
	buf_puts(&b, "{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"}],\"finalize\":\"https://ca/f\","
		     "\"authorizations\":[");
	for (int i = 0; i <= ACMEJSON_MAX_ITEMS; i++)
		buf_printf(&b, "%s\"https://ca/authz/%d\"", i ? "," : "", i);
	buf_puts(&b, "]}");
	refused(ORDER, b.data, b.len, "order.authorizations: holds 1001 items, more than the 1000 allowed");
	buf_clear(&b);

	/* a text larger than any answer, refused before it is read */
	char *big = xmalloc(ACMEJSON_MAX_TEXT + 1);
	memset(big, ' ', ACMEJSON_MAX_TEXT + 1);
	memcpy(big, "{}", 2);
	refused(PROB, big, ACMEJSON_MAX_TEXT + 1, "problem: 1048577 bytes, more than the 1048576 allowed");
	cr_expect(parse(PROB, big, ACMEJSON_MAX_TEXT, err, sizeof(err)), "%s", err);
	free(big);
}

Test(acmejson, messages_escape_and_truncate)
{
	char err[512] = "";

	/* an escape sequence in a status never reaches the log raw */
	static const char esc[] = "{\"status\":\"\\u001b[31mvalid\"}";
	cr_expect_not(parse(ACCT, esc, strlen(esc), err, sizeof(err)));
	cr_expect_not_null(strstr(err, "'\\x1b[31mvalid'"), "%s", err);
	cr_expect_null(strchr(err, 0x1b));

	/* a long value is cut short */
	struct buf b = { 0 };
	buf_puts(&b, "{\"status\":\"");
	for (int i = 0; i < 5000; i++)
		buf_puts(&b, "x");
	buf_puts(&b, "\"}");
	cr_expect_not(parse(ACCT, b.data, b.len, err, sizeof(err)));
	cr_expect_lt(strlen(err), 200, "%s", err);
	cr_expect_not_null(strstr(err, "xxx...'"), "%s", err);
	buf_clear(&b);

	/* a small buffer, and none at all */
	char tiny[12];
	memset(tiny, 'Z', sizeof(tiny));
	cr_expect_not(parse(ORDER, "[]", 2, tiny, 8));
	cr_expect_str_eq(tiny, "order: ");
	cr_expect_eq(tiny[8], 'Z');
	cr_expect_not(parse(ORDER, "[]", 2, NULL, 0));
	cr_expect_not(parse(ORDER, "{\"status\":\"x\"}", 14, NULL, 0));
}

Test(acmejson, reads_only_its_length)
{
	/* the text without a NUL after it: ASan sees any read past the end */
	size_t n = strlen(rfc_authz);
	char *exact = xmalloc(n);
	char err[256] = "";

	memcpy(exact, rfc_authz, n);
	cr_expect(parse(AUTHZ, exact, n, err, sizeof(err)), "%s", err);
	cr_expect_not(parse(AUTHZ, exact, n - 3, err, sizeof(err)));
	cr_expect_not_null(strstr(err, "authorization: not JSON"), "%s", err);
	free(exact);
}
