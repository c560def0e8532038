/* SPDX-License-Identifier: MIT */
/* metricspage: the text of GET /metrics (Prometheus text format 0.0.4), from the counters of every module. */
#include "metricspage.h"
#include "certstore.h"
#include "dnspublish.h"
#include "dnsresult.h"

#include <stdlib.h>
#include <time.h>

/* The HELP and TYPE lines that open the metric NAME. */
static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value in the Prometheus text format: backslash, quote and newline escaped. */
static void
label(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_append(b, "\\", 1);
		if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_append(b, s, 1);
	}
}

/* The counters metrics keeps, with the publication failures where the page has always shown them. */
static void
format_counters(const struct metricspage_values *v, struct buf *b)
{
	const struct metrics_values *m = &v->m;
	static const char *const tls_reason[METRICS_TLS_N] = {
		[METRICS_TLS_UNKNOWN_SNI] = "unknown_sni", [METRICS_TLS_PROTOCOL] = "protocol",
		[METRICS_TLS_GARBAGE] = "garbage", [METRICS_TLS_TRUNCATED] = "truncated",
		[METRICS_TLS_TIMEOUT] = "timeout",
	};

	head(b, "mtastsd_http_requests_total", "counter", "HTTP requests answered, by status code.");
	for (size_t i = 0; i < METRICS_N_STATUS; i++)
		buf_printf(b, "mtastsd_http_requests_total{code=\"%u\"} %llu\n", m->requests[i].code, m->requests[i].n);
	buf_printf(b, "mtastsd_http_requests_total{code=\"other\"} %llu\n", m->requests_other);
	head(b, "mtastsd_tls_handshake_failures_total", "counter", "TLS handshakes that failed, by reason.");
	for (size_t i = 0; i < METRICS_TLS_N; i++)
		buf_printf(b, "mtastsd_tls_handshake_failures_total{reason=\"%s\"} %llu\n", tls_reason[i],
		    m->tls_failures[i]);
	head(b, "mtastsd_reloads_total", "counter", "Configuration reloads, by result.");
	buf_printf(b, "mtastsd_reloads_total{result=\"ok\"} %llu\nmtastsd_reloads_total{result=\"failed\"} %llu\n",
	    m->reloads_ok, m->reloads_failed);
	head(b, "mtastsd_dns_publish_failures_total", "counter",
	    "DNS publications (state, zone, on_change) that failed.");
	buf_printf(b, "mtastsd_dns_publish_failures_total %llu\n", v->dns_publish_failures);
	head(b, "mtastsd_dns_publications_total", "counter",
	    "DNS publications (state, zone, on_change) that succeeded, at start-up and after each reload.");
	buf_printf(b, "mtastsd_dns_publications_total %llu\n", m->dns_publications);
	head(b, "mtastsd_dns_publish_seconds", "gauge", "How long the last successful DNS publication took;"
	    " a change made meanwhile is reloaded after it.");
	buf_printf(b, "mtastsd_dns_publish_seconds %llu.%06llu\n", m->dns_publish_us / 1000000,
	    m->dns_publish_us % 1000000);
	head(b, "mtastsd_dns_publish_retries_total", "counter", "Retries of a failed DNS publication, on a backoff.");
	buf_printf(b, "mtastsd_dns_publish_retries_total %llu\n", m->dns_publish_retries);
	head(b, "mtastsd_dns_publish_retry_pending", "gauge",
	    "1 while a failed DNS publication waits for its next retry.");
	buf_printf(b, "mtastsd_dns_publish_retry_pending %d\n", m->dns_retry_pending ? 1 : 0);
	head(b, "mtastsd_domains_unserved", "gauge", "Domains (configured or retiring) no listener can serve (no"
	    " certificate valid now covers them, no plain HTTP); no new id is published for them.");
	buf_printf(b, "mtastsd_domains_unserved %llu\n", m->domains_unserved);
	head(b, "mtastsd_certificate_pairs_broken", "gauge", "Certificate pairs (or their files) under tls.certs that"
	    " could not be loaded; only their own names go unserved.");
	buf_printf(b, "mtastsd_certificate_pairs_broken %llu\n", m->pairs_broken);
	head(b, "mtastsd_tenant_files", "gauge", "Tenant files in domains_dir.");
	buf_printf(b, "mtastsd_tenant_files %llu\n", m->tenant_files);
	head(b, "mtastsd_tenant_files_refused", "gauge", "Tenant files whose version on disk is refused (syntax, schema, a"
	    " domain defined elsewhere): their last good version, if any, is served.");
	buf_printf(b, "mtastsd_tenant_files_refused %llu\n", m->tenant_files_refused);
	head(b, "mtastsd_dns_updates_total", "counter",
	    "RFC 2136 updates sent (dns.update), one per domain, by result.");
	for (unsigned i = 0; i < DNSUPDATE_RESULT_N; i++)
		buf_printf(b, "mtastsd_dns_updates_total{result=\"%s\"} %llu\n", dnsupdate_result_name(i),
		    m->dns_updates[i]);
	head(b, "mtastsd_dns_update_failing_domains", "gauge",
	    "Domains whose last RFC 2136 update failed, waiting to be tried again.");
	buf_printf(b, "mtastsd_dns_update_failing_domains %llu\n", m->dns_update_failing);
	head(b, "mtastsd_domains", "gauge", "Domains whose policy is being served.");
	buf_printf(b, "mtastsd_domains %llu\n", m->domains);
	head(b, "mtastsd_config_loaded_timestamp_seconds", "gauge", "When the serving configuration was loaded.");
	buf_printf(b, "mtastsd_config_loaded_timestamp_seconds %lld\n", m->loaded_at);
	head(b, "mtastsd_restart_pending", "gauge", "1 while the configuration changes listeners, limits or the user"
	    " that only a restart applies (what: /healthz).");
	buf_printf(b, "mtastsd_restart_pending %d\n", m->restart_pending ? 1 : 0);
	head(b, "mtastsd_acme_orders_total", "counter", "ACME orders of this instance's orderer, by how they ended.");
	for (unsigned i = 0; i < METRICS_ACME_ORDER_N; i++)
		buf_printf(b, "mtastsd_acme_orders_total{result=\"%s\"} %llu\n",
		    metrics_acme_order_name((enum metrics_acme_order)i), m->acme_orders[i]);
	head(b, "mtastsd_acme_names", "gauge", "Policy hosts whose certificate ACME manages, by state, as the orderer"
	    " last planned them.");
	buf_printf(b, "mtastsd_acme_names{state=\"valid\"} %llu\n", m->acme_valid);
	buf_printf(b, "mtastsd_acme_names{state=\"due\"} %llu\n", m->acme_due);
	buf_printf(b, "mtastsd_acme_names{state=\"backoff\"} %llu\n", m->acme_backoff);
	buf_printf(b, "mtastsd_acme_names{state=\"waiting_dns\"} %llu\n", m->acme_waiting_dns);
	head(b, "mtastsd_hosts_without_certificate", "gauge", "Policy hosts no certificate (tls.certs or ACME) covers"
	    " now, with an acme section.");
	buf_printf(b, "mtastsd_hosts_without_certificate %llu\n", m->hosts_without_certificate);
}

void
metricspage_format(const struct metricspage_values *v, struct buf *b)
{
	static const char *const proxy_reason[PROXYACCEPT_N] = {
		[PROXYACCEPT_SOURCE] = "source", [PROXYACCEPT_INVALID] = "invalid",
		[PROXYACCEPT_TIMEOUT] = "timeout", [PROXYACCEPT_OVERLOAD] = "overload",
	};

	format_counters(v, b);
	head(b, "mtastsd_build_info", "gauge", "Version of mtastsd and of its TLS and HTTP libraries.");
	buf_puts(b, "mtastsd_build_info{version=\"");
	label(b, v->version);
	buf_puts(b, "\",gnutls=\"");
	label(b, v->gnutls);
	buf_puts(b, "\",libmicrohttpd=\"");
	label(b, v->libmicrohttpd);
	buf_puts(b, "\"} 1\n");
	head(b, "mtastsd_proxy_rejected_total", "counter", "Connections closed on PROXY protocol listeners, by reason.");
	for (size_t i = 0; i < PROXYACCEPT_N; i++)
		buf_printf(b, "mtastsd_proxy_rejected_total{reason=\"%s\"} %llu\n", proxy_reason[i],
		    v->proxy_rejected[i]);
	head(b, "mtastsd_connections_refused_total", "counter", "Connections refused by a limit, by limit.");
	buf_printf(b, "mtastsd_connections_refused_total{reason=\"per_ip\"} %llu\n"
	    "mtastsd_connections_refused_total{reason=\"max_connections\"} %llu\n",
	    v->conn_events[CONNTRACK_REFUSED_PER_ADDR], v->conn_events[CONNTRACK_REFUSED_FULL]);
	head(b, "mtastsd_connections_closed_total", "counter", "Connections closed before a complete request, by reason.");
	buf_printf(b, "mtastsd_connections_closed_total{reason=\"timeout\"} %llu\n"
	    "mtastsd_connections_closed_total{reason=\"evicted\"} %llu\n",
	    v->conn_events[CONNTRACK_TIMEOUT], v->conn_events[CONNTRACK_EVICTED]);
	head(b, "mtastsd_certificate_expiry_seconds", "gauge",
	    "Seconds until each loaded certificate expires (negative: expired).");
	for (size_t i = 0; i < v->n_certs; i++) {
		buf_puts(b, "mtastsd_certificate_expiry_seconds{file=\"");
		label(b, v->certs[i].file);
		buf_puts(b, "\",name=\"");
		label(b, v->certs[i].name);
		buf_printf(b, "\",key=\"%s\"} %lld\n", v->certs[i].rsa ? "rsa" : "ec", v->certs[i].expires_in);
	}
}

void
metricspage_render(const struct snapshot *snap, const char *libmicrohttpd, struct buf *b)
{
	struct metricspage_values v = { .version = MTASTSD_VERSION, .libmicrohttpd = libmicrohttpd };
	const struct certstore *cs = snap != NULL ? snap->certs : NULL;
	struct metricspage_cert *certs = NULL;
	long long now = (long long)time(NULL);

	metrics_read(&v.m);
	v.dns_publish_failures = dnspublish_failures();
	v.gnutls = certstore_tls_version();
	for (size_t i = 0; i < PROXYACCEPT_N; i++)
		v.proxy_rejected[i] = proxyaccept_rejected(i);
	for (size_t i = 0; i < CONNTRACK_N; i++)
		v.conn_events[i] = conntrack_events(i);
	v.n_certs = cs != NULL ? certstore_count(cs) : 0;
	if (v.n_certs > 0)
		certs = xcalloc(v.n_certs, sizeof(*certs));
	for (size_t i = 0; i < v.n_certs; i++) {
		certs[i].file = certstore_cert_path(cs, i);
		certs[i].name = certstore_cert_n_names(cs, i) ? certstore_cert_name(cs, i, 0) : "";
		certs[i].rsa = certstore_cert_key(cs, i) == CERTSTORE_KEY_RSA;
		certs[i].expires_in = (long long)certstore_cert_not_after(cs, i) - now;
	}
	v.certs = certs;
	metricspage_format(&v, b);
	free(certs);
}
