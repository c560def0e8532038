/* SPDX-License-Identifier: MIT */
/* Unit tests for dnspush: the per-domain items (the zone's own records), when each is sent, what a result records. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnspush.h"
#include "dnsupdate.h"

static const char *const rua[] = { "mailto:tls@example.com" };

static const struct zone_domain doms[] = {
	{ .name = "shop.example.com", .id = "20260101000000" },
	{ .name = "example.com", .id = "20260101000000", .rua = rua, .n_rua = 1 },
	/* rua withdrawn: the TLSRPT record mtastsd published is deleted */
	{ .name = "old.example.com", .id = "20260101000000", .delete_tlsrpt = true },
};

static struct dnspush_item *
items(const struct zone_params *p, const char *server, size_t *n)
{
	static const char *const expired[] = { "gone.example" };
	static const bool expired_tls[] = { false };
	static const char *const zones[] = { NULL, NULL, "example.com" };
	return dnspush_items(p, server, doms, zones, 3, expired, expired_tls, 1, n);
}

Test(dnspush, items_follow_the_zone)
{
	struct zone_params p = { .side = ZONE_DIRECT, .ttl = 300 };
	size_t n;
	struct dnspush_item *it = items(&p, "127.0.0.1:53", &n);

	cr_assert_eq(n, 4);
	/* by name */
	cr_expect_str_eq(it[0].name, "example.com");
	cr_expect_str_eq(it[1].name, "gone.example");
	cr_expect_str_eq(it[2].name, "old.example.com");
	cr_expect_str_eq(it[3].name, "shop.example.com");
	cr_assert_eq(it[0].n, 2);
	cr_expect_str_eq(it[0].rr[0].owner, "_mta-sts.example.com.");
	cr_expect_str_eq(it[0].rr[0].value, "v=STSv1; id=20260101000000;");
	cr_expect_str_eq(it[0].rr[1].owner, "_smtp._tls.example.com.");
	cr_expect_str_eq(it[0].rr[1].value, "v=TLSRPTv1; rua=mailto:tls@example.com");
	/* expired: deleted only, and no TLSRPT name it never published */
	cr_assert_eq(it[1].n, 1);
	cr_expect_null(it[1].rr[0].value);
	cr_assert_eq(it[2].n, 2);
	cr_expect_str_eq(it[2].rr[1].owner, "_smtp._tls.old.example.com.");
	cr_expect_null(it[2].rr[1].value);
	/* a configured zone is used as it is; otherwise an SOA query finds it */
	cr_expect_str_eq(it[2].zone, "example.com.");
	cr_expect_null(it[0].zone);
	/* no TLSRPT name at all for a domain that never had one */
	cr_assert_eq(it[3].n, 1);
	cr_expect_str_eq(it[3].base, "shop.example.com");
	dnspush_items_free(it, n);
}

Test(dnspush, provider_side_and_hash)
{
	struct zone_params p = { .side = ZONE_PROVIDER, .ttl = 300, .delegate_zone = "sts.provider.example" };
	struct zone_params q = { .side = ZONE_DIRECT, .ttl = 300, .host_target = "mta-sts.provider.example" };
	size_t n, m, k;
	struct dnspush_item *a = items(&p, "127.0.0.1:53", &n), *b = items(&p, "127.0.0.1:5353", &m);
	struct dnspush_item *c = items(&q, "127.0.0.1:53", &k);

	cr_expect_str_eq(a[3].base, "shop.example.com.sts.provider.example");
	cr_expect_str_eq(a[3].rr[0].owner, "_mta-sts.shop.example.com.sts.provider.example.");
	/* another server: everything is sent again */
	cr_expect_str_neq(a[3].hash, b[3].hash);
	/* the policy host's CNAME is part of the direct side */
	cr_assert_eq(c[3].n, 2);
	cr_expect(c[3].rr[1].cname);
	cr_expect_str_eq(c[3].rr[1].value, "mta-sts.provider.example.");
	cr_expect_str_neq(a[3].hash, c[3].hash);
	dnspush_items_free(a, n);
	dnspush_items_free(b, m);
	dnspush_items_free(c, k);
}

Test(dnspush, decide_and_record)
{
	struct zone_params p = { .side = ZONE_DIRECT, .ttl = 300 };
	size_t n;
	struct dnspush_item *it = items(&p, "127.0.0.1:53", &n);
	struct updstate s = {0};
	struct updstate_entry *e;

	cr_expect_eq(dnspush_decide(&it[0], NULL, 1000), DNSPUSH_SEND);
	e = updstate_get(&s, it[0].name);
	dnspush_record(e, &it[0], DNSUPDATE_REFUSED, "example.com.", 1000, 60, 3600);
	cr_expect_str_eq(e->result, "refused");
	cr_expect_eq(e->fails, 1);
	cr_expect_eq(e->next, 1060);
	/* the same records wait for their backoff ... */
	cr_expect_eq(dnspush_decide(&it[0], e, 1059), DNSPUSH_WAIT);
	cr_expect_eq(dnspush_decide(&it[0], e, 1060), DNSPUSH_SEND);
	dnspush_record(e, &it[0], DNSUPDATE_TIMEOUT, NULL, 1060, 60, 3600);
	cr_expect_eq(e->fails, 2);
	cr_expect_eq(e->next, 1180);
	cr_expect_str_eq(e->zone, "example.com.");
	/* ... but other records (a new id) go at once */
	cr_expect_eq(dnspush_decide(&it[3], e, 1061), DNSPUSH_SEND);
	dnspush_record(e, &it[0], DNSUPDATE_NOERROR, "example.com.", 1200, 60, 3600);
	cr_expect_eq(e->fails, 0);
	cr_expect_eq(e->next, 0);
	cr_expect_str_eq(e->sent, it[0].hash);
	cr_expect_eq(dnspush_decide(&it[0], e, 1201), DNSPUSH_DONE);
	updstate_clear(&s);
	dnspush_items_free(it, n);
}

Test(dnspush, a_removed_domain_stays_with_the_zone_its_records_were_sent_to)
{
	static const struct zone_domain d[] = {
		{ .name = "kept.example.com", .id = "20260101000000" },
		{ .name = "retired.example.com", .id = "20260102000000", .retiring = true },
		{ .name = "zoned.example.com", .id = "20260101000000" },
	};
	static const char *const zones[] = { NULL, NULL, "example.com" };
	static const char *const expired[] = { "gone.example.com" };
	struct zone_params p = { .side = ZONE_DIRECT, .ttl = 300 };
	struct updstate_entry e = { .zone = "example.com.", .sent = "0123456789abcdef", .tried = "-" };
	size_t n;
	struct dnspush_item *it = dnspush_items(&p, "127.0.0.1:53", d, zones, 3, expired, NULL, 1, &n);

	cr_assert_eq(n, 4);
	cr_assert_str_eq(it[0].name, "gone.example.com");
	cr_assert_str_eq(it[1].name, "kept.example.com");
	cr_assert_str_eq(it[2].name, "retired.example.com");
	cr_assert_str_eq(it[3].name, "zoned.example.com");
	/* removed (expired, retiring): where the records were last sent, without an SOA query */
	cr_expect(it[0].removed && it[2].removed && !it[1].removed && !it[3].removed);
	cr_expect_str_eq(dnspush_zone(&it[0], &e), "example.com.");
	cr_expect_str_eq(dnspush_zone(&it[2], &e), "example.com.");
	/* never sent: found by an SOA query */
	cr_expect_null(dnspush_zone(&it[0], NULL));
	cr_expect_null(dnspush_zone(&it[2], NULL));
	/* configured without a zone: follows its delegation, found again each time */
	cr_expect_null(dnspush_zone(&it[1], &e));
	/* a configured zone wins */
	e.zone = "elsewhere.example.";
	cr_expect_str_eq(dnspush_zone(&it[3], &e), "example.com.");
	dnspush_items_free(it, n);
}

Test(dnspush, a_failed_send_forgets_what_was_sent)
{
	struct zone_params p = { .side = ZONE_DIRECT, .ttl = 300 };
	size_t n;
	struct dnspush_item *it = items(&p, "127.0.0.1:53", &n);
	struct updstate s = {0};
	struct updstate_entry *e = updstate_get(&s, it[0].name);

	/* records A applied; then records B sent, and the answer lost */
	dnspush_record(e, &it[0], DNSUPDATE_NOERROR, "example.com.", 1000, 60, 3600);
	cr_assert_eq(dnspush_decide(&it[0], e, 1001), DNSPUSH_DONE);
	dnspush_record(e, &it[3], DNSUPDATE_TIMEOUT, "example.com.", 1001, 60, 3600);
	cr_expect_str_eq(e->sent, "-");
	cr_expect_str_eq(e->tried, it[3].hash);
	/* back to A (a reverted config): the server may hold B, so A is sent again, at once */
	cr_expect_eq(dnspush_decide(&it[0], e, 1002), DNSPUSH_SEND);
	/* B itself waits for its backoff */
	cr_expect_eq(dnspush_decide(&it[3], e, 1002), DNSPUSH_WAIT);
	updstate_clear(&s);
	dnspush_items_free(it, n);
}

/* A UDP socket on loopback that never answers: T sends there. */
static int
silent_server(struct dnspush_target *t)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->sa;
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	cr_assert_geq(fd, 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)sin, len), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	t->salen = len;
	return fd;
}

Test(dnspush, an_update_that_cannot_be_built_or_signed_is_local)
{
	static char owner[] = "_mta-sts.a..b.example.com.", value[] = "v=STSv1; id=20260101000000;";
	static char good[] = "_mta-sts.shop.example.com.";
	struct tsigkey badkey = { "mtastsd-update.", TSIGKEY_HMAC_SHA256, "not base64 at all!" };
	struct dnspush_item it = { .name = "shop.example.com", .base = "shop.example.com", .zone = "example.com.",
		.n = 1 };
	struct dnspush_target t = { .timeout_ms = 200, .ttl = 300, .stop_fd = -1 };
	int fd = silent_server(&t);
	char detail[512], *zone = NULL, buf[512];

	it.rr[0].owner = owner;
	it.rr[0].value = value;
	/* a record ldns cannot build */
	cr_expect_eq(dnspush_send(&t, &it, NULL, &zone, detail, sizeof(detail)), DNSUPDATE_LOCAL, "%s", detail);
	cr_expect(strstr(detail, "nothing was sent") != NULL, "%s", detail);
	cr_expect_str_eq(zone, "example.com.");
	free(zone);
	/* a key ldns cannot sign with */
	it.rr[0].owner = good;
	t.key = &badkey;
	cr_expect_eq(dnspush_send(&t, &it, NULL, &zone, detail, sizeof(detail)), DNSUPDATE_LOCAL, "%s", detail);
	cr_expect(strstr(detail, "cannot sign") != NULL, "%s", detail);
	free(zone);
	/* neither reached the server, and neither is the server's FORMERR */
	cr_expect_lt(recv(fd, buf, sizeof(buf), 0), 0);
	cr_expect_str_eq(dnsupdate_result_name(DNSUPDATE_LOCAL), "local");
	cr_expect(!dnsupdate_result_server_wide(DNSUPDATE_LOCAL));
	close(fd);
}

Test(dnspush, a_removed_domain_without_a_recorded_zone_can_fall_back_on_the_zone_configured_for_another)
{
	static const struct zone_domain d[] = {
		{ .name = "a.example.com", .id = "20260101000000" },
		{ .name = "b.deep.example.com", .id = "20260101000000" },
		{ .name = "old.deep.example.com", .id = "20260102000000", .retiring = true },
		{ .name = "other.example", .id = "20260102000000", .retiring = true },
	};
	static const char *const zones[] = { "example.com", "deep.example.com", NULL, NULL };
	static const char *const expired[] = { "gone.example.com", "xexample.com" };
	struct zone_params p = { .side = ZONE_DIRECT, .ttl = 300 };
	size_t n;
	struct dnspush_item *it = dnspush_items(&p, "127.0.0.1:53", d, zones, 4, expired, NULL, 2, &n);

	cr_assert_eq(n, 6);
	cr_assert_str_eq(it[2].name, "gone.example.com");
	cr_assert_str_eq(it[3].name, "old.deep.example.com");
	cr_assert_str_eq(it[4].name, "other.example");
	cr_assert_str_eq(it[5].name, "xexample.com");
	/* used when no zone is recorded and the SOA query finds none (a primary that refuses them) */
	cr_expect_str_eq(it[2].zone_guess, "example.com.");
	/* the deepest zone that holds it */
	cr_expect_str_eq(it[3].zone_guess, "deep.example.com.");
	/* no configured zone holds it (a label boundary counts) */
	cr_expect_null(it[4].zone_guess);
	cr_expect_null(it[5].zone_guess);
	/* a configured domain is not guessed for */
	cr_expect_null(it[0].zone_guess);
	cr_expect_null(it[1].zone_guess);
	dnspush_items_free(it, n);
}

Test(dnspush, a_retry_after_the_clock_stepped_back_waits_no_longer_than_retry_max)
{
	struct updstate_entry e = { .next = 0 };

	cr_expect(!dnspush_clamp(NULL, 1000, 3600));
	cr_expect(!dnspush_clamp(&e, 1000, 3600));
	/* set at a clock a day ahead, then the clock stepped back */
	e.next = 1000 + 86400;
	cr_expect(dnspush_clamp(&e, 1000, 3600));
	cr_expect_eq(e.next, 4600);
	cr_expect(!dnspush_clamp(&e, 1000, 3600));
	e.next = 1500;
	cr_expect(!dnspush_clamp(&e, 1000, 3600));
	cr_expect_eq(e.next, 1500);
}
