/* SPDX-License-Identifier: MIT */
/* Unit tests of metrics.c and metricspage.c: counting by status, and the exact text of GET /metrics. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "certstore.h"
#include "metricspage.h"

Test(metrics, mhd_error_answers_are_counted_by_status)
{
	static const unsigned codes[] = { 400, 413, 414, 431, 505 };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char msg[160];
		unsigned long long before = metrics_requests(codes[i]);

		snprintf(msg, sizeof(msg),
		    "Error processing request (HTTP response code is %u ('<html>...</html>')). Closing connection.",
		    codes[i]);
		metrics_mhd_answer(msg);
		cr_assert_eq(metrics_requests(codes[i]), before + 1, "code %u", codes[i]);
	}
}

Test(metrics, other_mhd_messages_count_nothing)
{
	unsigned long long before = metrics_requests(400) + metrics_requests(0);

	metrics_mhd_answer("Server reached connection limit. Closing inbound connection.");
	metrics_mhd_answer("Error processing request (HTTP response code is x). Closing connection.");
	metrics_mhd_answer("");
	cr_assert_eq(metrics_requests(400) + metrics_requests(0), before);
}

Test(metrics, rendered_codes_include_505_and_other)
{
	struct buf b = { 0 };

	metrics_request(505);
	metrics_request(299);
	metricspage_render(NULL, "", &b);
	cr_assert_not_null(strstr(b.data, "mtastsd_http_requests_total{code=\"505\"} 1\n"));
	cr_assert_not_null(strstr(b.data, "mtastsd_http_requests_total{code=\"other\"} 1\n"));
	buf_clear(&b);
}

/* Every line of the page, each slot with a value of its own, so that a swapped or missing slot shows. */
Test(metricspage, the_page_line_by_line)
{
	static const struct metricspage_cert certs[] = {
		{ "/etc/certs/a.crt", "mta-sts.example.com", false, 86400 },
		{ "c:\\x \"q\"\nz", "", true, -5 },
	};
	struct metricspage_values v = {
		.version = "1.2.3", .gnutls = "3.7.9", .libmicrohttpd = "0.9.75\n\"x\"",
		.proxy_rejected = { 61, 62, 63, 64 },
		.conn_events = { [CONNTRACK_REFUSED_PER_ADDR] = 71, [CONNTRACK_REFUSED_FULL] = 72,
		    [CONNTRACK_TIMEOUT] = 73, [CONNTRACK_EVICTED] = 74 },
		.certs = certs, .n_certs = 2,
	};
	static const unsigned codes[METRICS_N_STATUS] = { 200, 400, 404, 405, 408, 413, 414, 421, 431, 500, 503, 505 };
	static const char want[] =
	    "# HELP mtastsd_http_requests_total HTTP requests answered, by status code.\n"
	    "# TYPE mtastsd_http_requests_total counter\n"
	    "mtastsd_http_requests_total{code=\"200\"} 1\n"
	    "mtastsd_http_requests_total{code=\"400\"} 2\n"
	    "mtastsd_http_requests_total{code=\"404\"} 3\n"
	    "mtastsd_http_requests_total{code=\"405\"} 4\n"
	    "mtastsd_http_requests_total{code=\"408\"} 5\n"
	    "mtastsd_http_requests_total{code=\"413\"} 6\n"
	    "mtastsd_http_requests_total{code=\"414\"} 7\n"
	    "mtastsd_http_requests_total{code=\"421\"} 8\n"
	    "mtastsd_http_requests_total{code=\"431\"} 9\n"
	    "mtastsd_http_requests_total{code=\"500\"} 10\n"
	    "mtastsd_http_requests_total{code=\"503\"} 11\n"
	    "mtastsd_http_requests_total{code=\"505\"} 12\n"
	    "mtastsd_http_requests_total{code=\"other\"} 13\n"
	    "# HELP mtastsd_tls_handshake_failures_total TLS handshakes that failed, by reason.\n"
	    "# TYPE mtastsd_tls_handshake_failures_total counter\n"
	    "mtastsd_tls_handshake_failures_total{reason=\"unknown_sni\"} 21\n"
	    "mtastsd_tls_handshake_failures_total{reason=\"protocol\"} 22\n"
	    "mtastsd_tls_handshake_failures_total{reason=\"garbage\"} 23\n"
	    "mtastsd_tls_handshake_failures_total{reason=\"truncated\"} 24\n"
	    "mtastsd_tls_handshake_failures_total{reason=\"timeout\"} 25\n"
	    "# HELP mtastsd_reloads_total Configuration reloads, by result.\n"
	    "# TYPE mtastsd_reloads_total counter\n"
	    "mtastsd_reloads_total{result=\"ok\"} 31\n"
	    "mtastsd_reloads_total{result=\"failed\"} 32\n"
	    "# HELP mtastsd_dns_publish_failures_total DNS publications (state, zone, on_change) that failed.\n"
	    "# TYPE mtastsd_dns_publish_failures_total counter\n"
	    "mtastsd_dns_publish_failures_total 33\n"
	    "# HELP mtastsd_dns_publications_total DNS publications (state, zone, on_change) that succeeded, at start-up"
	    " and after each reload.\n"
	    "# TYPE mtastsd_dns_publications_total counter\n"
	    "mtastsd_dns_publications_total 341\n"
	    "# HELP mtastsd_dns_publish_seconds How long the last successful DNS publication took; a change made"
	    " meanwhile is reloaded after it.\n"
	    "# TYPE mtastsd_dns_publish_seconds gauge\n"
	    "mtastsd_dns_publish_seconds 2.500042\n"
	    "# HELP mtastsd_dns_publish_retries_total Retries of a failed DNS publication, on a backoff.\n"
	    "# TYPE mtastsd_dns_publish_retries_total counter\n"
	    "mtastsd_dns_publish_retries_total 34\n"
	    "# HELP mtastsd_dns_publish_retry_pending 1 while a failed DNS publication waits for its next retry.\n"
	    "# TYPE mtastsd_dns_publish_retry_pending gauge\n"
	    "mtastsd_dns_publish_retry_pending 1\n"
	    "# HELP mtastsd_domains_unserved Domains (configured or retiring) no listener can serve (no certificate"
	    " valid now covers them, no plain HTTP); no new id is published for them.\n"
	    "# TYPE mtastsd_domains_unserved gauge\n"
	    "mtastsd_domains_unserved 35\n"
	    "# HELP mtastsd_certificate_pairs_broken Certificate pairs (or their files) under tls.certs that could"
	    " not be loaded; only their own names go unserved.\n"
	    "# TYPE mtastsd_certificate_pairs_broken gauge\n"
	    "mtastsd_certificate_pairs_broken 36\n"
	    "# HELP mtastsd_tenant_files Tenant files in domains_dir.\n"
	    "# TYPE mtastsd_tenant_files gauge\n"
	    "mtastsd_tenant_files 37\n"
	    "# HELP mtastsd_tenant_files_refused Tenant files whose version on disk is refused (syntax, schema, a domain"
	    " defined elsewhere): their last good version, if any, is served.\n"
	    "# TYPE mtastsd_tenant_files_refused gauge\n"
	    "mtastsd_tenant_files_refused 38\n"
	    "# HELP mtastsd_dns_updates_total RFC 2136 updates sent (dns.update), one per domain, by result.\n"
	    "# TYPE mtastsd_dns_updates_total counter\n"
	    "mtastsd_dns_updates_total{result=\"noerror\"} 100\n"
	    "mtastsd_dns_updates_total{result=\"formerr\"} 101\n"
	    "mtastsd_dns_updates_total{result=\"servfail\"} 102\n"
	    "mtastsd_dns_updates_total{result=\"nxdomain\"} 103\n"
	    "mtastsd_dns_updates_total{result=\"notimp\"} 104\n"
	    "mtastsd_dns_updates_total{result=\"refused\"} 105\n"
	    "mtastsd_dns_updates_total{result=\"yxdomain\"} 106\n"
	    "mtastsd_dns_updates_total{result=\"yxrrset\"} 107\n"
	    "mtastsd_dns_updates_total{result=\"nxrrset\"} 108\n"
	    "mtastsd_dns_updates_total{result=\"notauth\"} 109\n"
	    "mtastsd_dns_updates_total{result=\"notzone\"} 110\n"
	    "mtastsd_dns_updates_total{result=\"other\"} 111\n"
	    "mtastsd_dns_updates_total{result=\"badsig\"} 112\n"
	    "mtastsd_dns_updates_total{result=\"nozone\"} 113\n"
	    "mtastsd_dns_updates_total{result=\"timeout\"} 114\n"
	    "mtastsd_dns_updates_total{result=\"network\"} 115\n"
	    "mtastsd_dns_updates_total{result=\"local\"} 116\n"
	    "# HELP mtastsd_dns_update_failing_domains Domains whose last RFC 2136 update failed, waiting to be tried again.\n"
	    "# TYPE mtastsd_dns_update_failing_domains gauge\n"
	    "mtastsd_dns_update_failing_domains 41\n"
	    "# HELP mtastsd_domains Domains whose policy is being served.\n"
	    "# TYPE mtastsd_domains gauge\n"
	    "mtastsd_domains 42\n"
	    "# HELP mtastsd_config_loaded_timestamp_seconds When the serving configuration was loaded.\n"
	    "# TYPE mtastsd_config_loaded_timestamp_seconds gauge\n"
	    "mtastsd_config_loaded_timestamp_seconds 1796000000\n"
	    "# HELP mtastsd_restart_pending 1 while the configuration changes listeners, limits or the user that only"
	    " a restart applies (what: /healthz).\n"
	    "# TYPE mtastsd_restart_pending gauge\n"
	    "mtastsd_restart_pending 1\n"
	    "# HELP mtastsd_acme_orders_total ACME orders of this instance's orderer, by how they ended.\n"
	    "# TYPE mtastsd_acme_orders_total counter\n"
	    "mtastsd_acme_orders_total{result=\"issued\"} 51\n"
	    "mtastsd_acme_orders_total{result=\"failed\"} 52\n"
	    "mtastsd_acme_orders_total{result=\"rate_limited\"} 53\n"
	    "# HELP mtastsd_acme_names Policy hosts whose certificate ACME manages, by state, as the orderer last"
	    " planned them.\n"
	    "# TYPE mtastsd_acme_names gauge\n"
	    "mtastsd_acme_names{state=\"valid\"} 54\n"
	    "mtastsd_acme_names{state=\"due\"} 55\n"
	    "mtastsd_acme_names{state=\"backoff\"} 56\n"
	    "mtastsd_acme_names{state=\"waiting_dns\"} 57\n"
	    "# HELP mtastsd_hosts_without_certificate Policy hosts no certificate (tls.certs or ACME) covers now, with"
	    " an acme section.\n"
	    "# TYPE mtastsd_hosts_without_certificate gauge\n"
	    "mtastsd_hosts_without_certificate 58\n"
	    "# HELP mtastsd_build_info Version of mtastsd and of its TLS and HTTP libraries.\n"
	    "# TYPE mtastsd_build_info gauge\n"
	    "mtastsd_build_info{version=\"1.2.3\",gnutls=\"3.7.9\",libmicrohttpd=\"0.9.75\\n\\\"x\\\"\"} 1\n"
	    "# HELP mtastsd_proxy_rejected_total Connections closed on PROXY protocol listeners, by reason.\n"
	    "# TYPE mtastsd_proxy_rejected_total counter\n"
	    "mtastsd_proxy_rejected_total{reason=\"source\"} 61\n"
	    "mtastsd_proxy_rejected_total{reason=\"invalid\"} 62\n"
	    "mtastsd_proxy_rejected_total{reason=\"timeout\"} 63\n"
	    "mtastsd_proxy_rejected_total{reason=\"overload\"} 64\n"
	    "# HELP mtastsd_connections_refused_total Connections refused by a limit, by limit.\n"
	    "# TYPE mtastsd_connections_refused_total counter\n"
	    "mtastsd_connections_refused_total{reason=\"per_ip\"} 71\n"
	    "mtastsd_connections_refused_total{reason=\"max_connections\"} 72\n"
	    "# HELP mtastsd_connections_closed_total Connections closed before a complete request, by reason.\n"
	    "# TYPE mtastsd_connections_closed_total counter\n"
	    "mtastsd_connections_closed_total{reason=\"timeout\"} 73\n"
	    "mtastsd_connections_closed_total{reason=\"evicted\"} 74\n"
	    "# HELP mtastsd_certificate_expiry_seconds Seconds until each loaded certificate expires (negative: expired).\n"
	    "# TYPE mtastsd_certificate_expiry_seconds gauge\n"
	    "mtastsd_certificate_expiry_seconds{file=\"/etc/certs/a.crt\",name=\"mta-sts.example.com\",key=\"ec\"} 86400\n"
	    "mtastsd_certificate_expiry_seconds{file=\"c:\\\\x \\\"q\\\"\\nz\",name=\"\",key=\"rsa\"} -5\n";
	struct buf b = { 0 };

	for (size_t i = 0; i < METRICS_N_STATUS; i++) {
		v.m.requests[i].code = codes[i];
		v.m.requests[i].n = i + 1;
	}
	v.m.requests_other = 13;
	for (size_t i = 0; i < METRICS_TLS_N; i++)
		v.m.tls_failures[i] = 21 + i;
	v.m.reloads_ok = 31;
	v.m.reloads_failed = 32;
	v.dns_publish_failures = 33;
	v.m.dns_publish_retries = 34;
	v.m.dns_publications = 341;
	v.m.dns_publish_us = 2500042;
	v.m.dns_retry_pending = true;
	v.m.domains_unserved = 35;
	v.m.pairs_broken = 36;
	v.m.tenant_files = 37;
	v.m.tenant_files_refused = 38;
	for (size_t i = 0; i < DNSUPDATE_RESULT_N; i++)
		v.m.dns_updates[i] = 100 + i;
	v.m.dns_update_failing = 41;
	v.m.domains = 42;
	v.m.loaded_at = 1796000000;
	v.m.restart_pending = true;
	for (size_t i = 0; i < METRICS_ACME_ORDER_N; i++)
		v.m.acme_orders[i] = 51 + i;
	v.m.acme_valid = 54;
	v.m.acme_due = 55;
	v.m.acme_backoff = 56;
	v.m.acme_waiting_dns = 57;
	v.m.hosts_without_certificate = 58;
	metricspage_format(&v, &b);
	cr_assert_str_eq(b.data, want);
	buf_clear(&b);
}

/* The page of the process reads every module's counters: metrics' own, dnspublish's, proxyaccept's, conntrack's. */
Test(metricspage, the_process_page_reads_the_counters)
{
	struct metrics_values m;
	struct buf b = { 0 };
	char *want = xasprintf("mtastsd_build_info{version=\"%s\",gnutls=\"%s\",libmicrohttpd=\"lib 1\"} 1\n",
	    MTASTSD_VERSION, certstore_tls_version());

	metrics_request(404);
	metrics_request(404);
	metrics_tls_failure(METRICS_TLS_TIMEOUT);
	metrics_dns_update(DNSUPDATE_REFUSED);
	metrics_set_unserved(4, 5);
	metrics_set_restart_pending("listen.https");
	metrics_read(&m);
	cr_assert_eq(m.requests[2].code, 404);
	cr_assert_eq(m.requests[2].n, 2);
	cr_assert(m.restart_pending);
	metricspage_render(NULL, "lib 1", &b);
	cr_assert_not_null(strstr(b.data, "\nmtastsd_http_requests_total{code=\"404\"} 2\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_tls_handshake_failures_total{reason=\"timeout\"} 1\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_dns_updates_total{result=\"refused\"} 1\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_domains_unserved 4\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_certificate_pairs_broken 5\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_restart_pending 1\n"));
	cr_assert_not_null(strstr(b.data, want), "%s", b.data);
	cr_assert_not_null(strstr(b.data, "\nmtastsd_proxy_rejected_total{reason=\"source\"} 0\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_connections_closed_total{reason=\"evicted\"} 0\n"));
	/* no snapshot, no certificate lines: the page ends with the expiry metric's TYPE line */
	cr_assert(b.len > 0 && strcmp(b.data + b.len - strlen("gauge\n"), "gauge\n") == 0);
	free(want);
	buf_clear(&b);
}

/* The orderer's counters and gauges reach the page under their labels. */
Test(metricspage, acme_orders_and_names)
{
	struct buf b = {0};

	metrics_acme_order(METRICS_ACME_ISSUED);
	metrics_acme_order(METRICS_ACME_ISSUED);
	metrics_acme_order(METRICS_ACME_RATE_LIMITED);
	metrics_acme_order(METRICS_ACME_ORDER_N);	/* out of range: nothing */
	metrics_set_acme_names(7, 3, 2, 1);
	metrics_set_hosts_without_certificate(4);
	cr_assert_eq(metrics_acme_orders(METRICS_ACME_ISSUED), 2);
	cr_assert_eq(metrics_acme_orders(METRICS_ACME_FAILED), 0);
	metricspage_render(NULL, "lib 1", &b);
	cr_assert_not_null(strstr(b.data, "\nmtastsd_acme_orders_total{result=\"issued\"} 2\n"), "%s", b.data);
	cr_assert_not_null(strstr(b.data, "\nmtastsd_acme_orders_total{result=\"failed\"} 0\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_acme_orders_total{result=\"rate_limited\"} 1\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_acme_names{state=\"valid\"} 7\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_acme_names{state=\"due\"} 3\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_acme_names{state=\"backoff\"} 2\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_acme_names{state=\"waiting_dns\"} 1\n"));
	cr_assert_not_null(strstr(b.data, "\nmtastsd_hosts_without_certificate 4\n"));
	buf_clear(&b);
}
