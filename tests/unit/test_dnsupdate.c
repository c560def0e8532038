/* SPDX-License-Identifier: MIT */
/* Unit tests for dnsupdate: the UPDATE message's sections and TSIG, and how answers are judged. */
#include <criterion/criterion.h>

#include <ldns/ldns.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsupdate.h"

#define SECRET "m7qQ0kMJ0vJfy1ePz6jzqzkXyqQ7Qp1v8k3Hc9m3q2E="
#define OTHER "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="

static struct tsigkey key = { "mtastsd-update.", TSIGKEY_HMAC_SHA256, SECRET };

static const struct dnsupdate_rr rrs[] = {
	{ "_mta-sts.shop.example.com.", false, "v=STSv1; id=20260101000000;" },
	{ "_smtp._tls.shop.example.com.", false, NULL },
	{ "mta-sts.shop.example.com.", true, "sts.provider.example." },
};

static uint8_t *
message(const struct tsigkey *k, uint16_t id, size_t *len)
{
	uint8_t *wire;
	char err[256];

	cr_assert_eq(dnsupdate_message("example.com.", rrs, 3, 600, k, id, &wire, len, err, sizeof(err)), 0, "%s",
	    err);
	return wire;
}

static char *
rr_str(ldns_rr_list *l, size_t i)
{
	char *s = ldns_rr2str(ldns_rr_list_rr(l, i));
	s[strcspn(s, "\n")] = '\0';
	return s;
}

Test(dnsupdate, message_sections)
{
	size_t len;
	uint8_t *wire = message(&key, 0x1234, &len);
	ldns_pkt *p = NULL;
	/* "\# 0": no RDATA at all, as a delete of an RRset has (RFC 2136 section 2.5.2) */
	static const char *const want[] = {
		"_mta-sts.shop.example.com.\t0\tANY\tTXT\t\\# 0",
		/* a CNAME left at a TXT name of ours would make the server ignore the add */
		"_mta-sts.shop.example.com.\t0\tANY\tCNAME\t\\# 0",
		"_mta-sts.shop.example.com.\t600\tIN\tTXT\t\"v=STSv1; id=20260101000000;\"",
		"_smtp._tls.shop.example.com.\t0\tANY\tTXT\t\\# 0",
		"mta-sts.shop.example.com.\t0\tANY\tCNAME\t\\# 0",
		"mta-sts.shop.example.com.\t600\tIN\tCNAME\tsts.provider.example.",
	};

	cr_assert_eq(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
	cr_expect_eq(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
	cr_expect_eq(ldns_pkt_id(p), 0x1234);
	cr_expect(!ldns_pkt_rd(p));
	/* zone section: one SOA question for the zone */
	cr_assert_eq(ldns_rr_list_rr_count(ldns_pkt_question(p)), 1);
	{
		char *z = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
		cr_expect_str_eq(z, "example.com.");
		free(z);
	}
	cr_expect_eq(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(p), 0)), LDNS_RR_TYPE_SOA);
	/* prerequisites: the policy host has no address records (else YXRRSET, not a CNAME silently ignored) */
	cr_assert_eq(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 2);
	for (size_t i = 0; i < 2; i++) {
		char *s = rr_str(ldns_pkt_answer(p), i);
		cr_expect_str_eq(s, i ? "mta-sts.shop.example.com.\t0\tNONE\tAAAA\t\\# 0" :
		    "mta-sts.shop.example.com.\t0\tNONE\tA\t\\# 0", "prerequisite %zu: [%s]", i, s);
		free(s);
	}
	/* the update section in order: delete the RRset, then add */
	cr_assert_eq(ldns_rr_list_rr_count(ldns_pkt_authority(p)), 6);
	for (size_t i = 0; i < 6; i++) {
		char *s = rr_str(ldns_pkt_authority(p), i);
		cr_expect_str_eq(s, want[i], "update rr %zu: [%s]", i, s);
		free(s);
	}
	/* signed: a request MAC that verifies with the key, and not with another */
	cr_assert_not_null(ldns_pkt_tsig(p));
	{
		char *alg = ldns_rdf2str(ldns_rr_rdf(ldns_pkt_tsig(p), 0));
		cr_expect_str_eq(alg, "hmac-sha256.");
		free(alg);
	}
	cr_expect(ldns_pkt_tsig_verify(p, wire, len, "mtastsd-update.", SECRET, NULL));
	cr_expect(!ldns_pkt_tsig_verify(p, wire, len, "mtastsd-update.", OTHER, NULL));
	ldns_pkt_free(p);
	free(wire);
}

Test(dnsupdate, long_txt_split)
{
	char value[600];
	struct dnsupdate_rr one = { "_smtp._tls.example.com.", false, value };
	uint8_t *wire;
	size_t len;
	char err[256];
	ldns_pkt *p = NULL;

	memset(value, 'a', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	cr_assert_eq(dnsupdate_message("example.com.", &one, 1, 60, NULL, 1, &wire, &len, err, sizeof(err)), 0);
	cr_assert_eq(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
	cr_expect_null(ldns_pkt_tsig(p));
	/* 599 bytes: three character-strings of 255, 255 and 89 */
	cr_expect_eq(ldns_rr_rd_count(ldns_rr_list_rr(ldns_pkt_authority(p), 2)), 3);
	ldns_pkt_free(p);
	free(wire);
}

Test(dnsupdate, bad_names)
{
	struct dnsupdate_rr bad = { "a..b.", false, "x" };
	uint8_t *wire;
	size_t len;
	char err[256];

	cr_expect_eq(dnsupdate_message("example.com.", &bad, 1, 60, NULL, 1, &wire, &len, err, sizeof(err)), -1);
	cr_expect_null(wire);
}

/* The server's answer to QUERY with RCODE, signed with SIGNER (NULL: unsigned), TSIG error TERR, id moved by DID. */
static uint8_t *
answer(const uint8_t *query, size_t qlen, unsigned rcode, const char *signer, unsigned terr, int did, size_t *len)
{
	ldns_pkt *p = NULL;
	ldns_rr *qt;
	ldns_rdf *mac;
	uint8_t *wire;

	cr_assert_eq(ldns_wire2pkt(&p, query, qlen), LDNS_STATUS_OK);
	qt = ldns_pkt_tsig(p);
	mac = qt ? ldns_rdf_clone(ldns_rr_rdf(qt, 3)) : NULL;
	ldns_pkt_set_tsig(p, NULL);
	if (qt)
		ldns_rr_free(qt);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	ldns_pkt_set_id(p, (uint16_t)(ldns_pkt_id(p) + did));
	ldns_rr_list_deep_free(ldns_pkt_authority(p));
	ldns_pkt_set_authority(p, ldns_rr_list_new());
	ldns_pkt_set_nscount(p, 0);
	if (signer != NULL) {
		cr_assert_eq(ldns_pkt_tsig_sign(p, "mtastsd-update.", signer, 300, "hmac-sha256.", mac), LDNS_STATUS_OK);
		if (terr != 0)
			ldns_rdf_deep_free(ldns_rr_set_rdf(ldns_pkt_tsig(p), ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16,
			    (uint16_t)terr), 5));
	}
	cr_assert_eq(ldns_pkt2wire(&wire, p, len), LDNS_STATUS_OK);
	if (mac)
		ldns_rdf_deep_free(mac);
	ldns_pkt_free(p);
	return wire;
}

Test(dnsupdate, judge_answers)
{
	static const struct {
		unsigned rcode;
		const char *signer;
		unsigned terr;
		int did;
		enum dnsupdate_result want;
		const char *detail;
	} cases[] = {
		{ LDNS_RCODE_NOERROR, SECRET, 0, 0, DNSUPDATE_NOERROR, "" },
		{ LDNS_RCODE_REFUSED, SECRET, 0, 0, DNSUPDATE_REFUSED, "" },
		{ LDNS_RCODE_NOTZONE, SECRET, 0, 0, DNSUPDATE_NOTZONE, "" },
		/* the key is unknown to the server: NOTAUTH, unsigned (RFC 8945 section 5.2.2) */
		{ LDNS_RCODE_NOTAUTH, NULL, 0, 0, DNSUPDATE_NOTAUTH,
		  "unsigned answer: the server has no such zone, or does not know key 'mtastsd-update.'" },
		{ LDNS_RCODE_REFUSED, NULL, 0, 0, DNSUPDATE_REFUSED, "unsigned answer" },
		{ LDNS_RCODE_NOTAUTH, SECRET, 17, 0, DNSUPDATE_NOTAUTH, "TSIG error BADKEY for key 'mtastsd-update.'" },
		/* a success nobody signed, or signed with another key, is not believed */
		{ LDNS_RCODE_NOERROR, NULL, 0, 0, DNSUPDATE_BADSIG, "the answer is not signed with key 'mtastsd-update.'" },
		{ LDNS_RCODE_NOERROR, OTHER, 0, 0, DNSUPDATE_BADSIG,
		  "the answer's TSIG signature does not verify with key 'mtastsd-update.'" },
		{ LDNS_RCODE_NOERROR, SECRET, 0, 1, DNSUPDATE_NETWORK, "an answer that is not for this message" },
		{ 12, SECRET, 0, 0, DNSUPDATE_OTHER, "rcode 12" },
	};
	size_t qlen;
	uint8_t *q = message(&key, 77, &qlen);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t rlen;
		uint8_t *r = answer(q, qlen, cases[i].rcode, cases[i].signer, cases[i].terr, cases[i].did, &rlen);
		char detail[256];
		enum dnsupdate_result got = dnsupdate_judge(q, qlen, r, rlen, &key, detail, sizeof(detail));
		cr_expect_eq(got, cases[i].want, "case %zu: %s (%s)", i, dnsupdate_result_name(got), detail);
		cr_expect_str_eq(detail, cases[i].detail, "case %zu", i);
		free(r);
	}
	{
		char detail[256];
		uint8_t junk[5] = { 0, 77, 0x80, 0, 0 };
		cr_expect_eq(dnsupdate_judge(q, qlen, junk, sizeof(junk), &key, detail, sizeof(detail)), DNSUPDATE_NETWORK);
	}
	free(q);
}

Test(dnsupdate, truncated_and_names)
{
	uint8_t h[12] = { 0, 1, 0x82, 0 };

	cr_expect(dnsupdate_truncated(h, sizeof(h)));
	h[2] = 0x80;
	cr_expect(!dnsupdate_truncated(h, sizeof(h)));
	cr_expect(!dnsupdate_truncated(h, 4));
	cr_expect_str_eq(dnsupdate_result_name(DNSUPDATE_NOTAUTH), "notauth");
	cr_expect_str_eq(dnsupdate_result_name(DNSUPDATE_TIMEOUT), "timeout");
	cr_expect(dnsupdate_result_server_wide(DNSUPDATE_TIMEOUT));
	cr_expect(!dnsupdate_result_server_wide(DNSUPDATE_REFUSED));
}

/* A UDP server on loopback answering each SOA query with the SOA of OWNER, with or without the AA bit. */
struct soa_server {
	int fd;
	const char *owner;
	bool aa;
	int answers;
};

static void *
soa_serve(void *arg)
{
	struct soa_server *srv = arg;

	for (int i = 0; i < srv->answers; i++) {
		uint8_t buf[512], *wire;
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t got = recvfrom(srv->fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
		ldns_pkt *p = NULL;
		ldns_rr *soa = NULL;
		char text[256];
		size_t len;

		if (got <= 0 || ldns_wire2pkt(&p, buf, (size_t)got) != LDNS_STATUS_OK)
			return NULL;
		ldns_pkt_set_qr(p, true);
		ldns_pkt_set_aa(p, srv->aa);
		snprintf(text, sizeof(text), "%s 60 IN SOA ns.%s hostmaster.%s 1 3600 600 86400 60", srv->owner,
		    srv->owner, srv->owner);
		ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, soa);
		ldns_pkt2wire(&wire, p, &len);
		sendto(srv->fd, wire, len, 0, (struct sockaddr *)&peer, plen);
		free(wire);
		ldns_pkt_free(p);
	}
	return NULL;
}

static enum dnsupdate_result
find_zone_from(const char *owner, bool aa, const char *name, char **zone, char *detail, size_t dlen)
{
	struct soa_server srv = { socket(AF_INET, SOCK_DGRAM, 0), owner, aa, 1 };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	pthread_t t;
	enum dnsupdate_result r;

	cr_assert_eq(bind(srv.fd, (struct sockaddr *)&sin, slen), 0);
	cr_assert_eq(getsockname(srv.fd, (struct sockaddr *)&sin, &slen), 0);
	cr_assert_eq(pthread_create(&t, NULL, soa_serve, &srv), 0);
	r = dnsupdate_find_zone((struct sockaddr *)&sin, slen, name, 2000, -1, zone, detail, dlen);
	pthread_join(t, NULL);
	close(srv.fd);
	return r;
}

Test(dnsupdate, zone_discovery_wants_an_authoritative_soa_that_holds_the_name)
{
	char detail[512], *zone = NULL;

	/* the server's own zone, an ancestor of the name */
	cr_expect_eq(find_zone_from("example.com.", true, "shop.example.com.", &zone, detail, sizeof(detail)),
	    DNSUPDATE_NOERROR, "%s", detail);
	cr_expect_str_eq(zone, "example.com.");
	free(zone);
	cr_expect_eq(find_zone_from("shop.example.com.", true, "shop.example.com.", &zone, detail, sizeof(detail)),
	    DNSUPDATE_NOERROR, "%s", detail);
	free(zone);
	/* no AA bit: a resolver or a secondary's cached copy, not the primary */
	cr_expect_eq(find_zone_from("example.com.", false, "shop.example.com.", &zone, detail, sizeof(detail)),
	    DNSUPDATE_NOZONE);
	cr_expect_null(zone);
	cr_expect_str_eq(detail, "the server's answer to 'shop.example.com. SOA' is not authoritative (no AA bit): "
	    "it is not a primary for that zone");
	/* an SOA that does not hold the name: a child, a sibling, or another zone */
	cr_expect_eq(find_zone_from("other.example.", true, "shop.example.com.", &zone, detail, sizeof(detail)),
	    DNSUPDATE_NOZONE);
	cr_expect_null(zone);
	cr_expect_str_eq(detail, "the server answered 'shop.example.com. SOA' with the SOA of 'other.example.', "
	    "which does not hold 'shop.example.com.'");
	cr_expect_eq(find_zone_from("a.shop.example.com.", true, "shop.example.com.", &zone, detail, sizeof(detail)),
	    DNSUPDATE_NOZONE);
	cr_expect_eq(find_zone_from("xample.com.", true, "shop.example.com.", &zone, detail, sizeof(detail)),
	    DNSUPDATE_NOZONE);
	cr_expect_null(zone);
}
