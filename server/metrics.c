/* SPDX-License-Identifier: MIT */
/* metrics: process-wide atomic counters rendered in the Prometheus text format; no dependencies. */
#include "metrics.h"
#include "dnsupdate.h"
#include "util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the statuses mtastsd can answer with; anything else is counted as "other" */
static const unsigned statuses[] = { 200, 400, 404, 405, 408, 413, 414, 421, 431, 500, 503, 505 };
#define N_STATUS (sizeof(statuses) / sizeof(statuses[0]))

static atomic_ullong req_count[N_STATUS + 1];
static atomic_ullong tls_fail[METRICS_TLS_N];
static atomic_ullong reloads_ok, reloads_failed;
static atomic_ullong dns_publish_failed, dns_publish_retries;
static atomic_int dns_retry_pending;
static atomic_ullong dns_updates[DNSUPDATE_RESULT_N], dns_update_failing;
static atomic_ullong domains;
static atomic_ullong domains_unserved, pairs_broken;
static atomic_llong loaded_at;

static size_t
status_slot(unsigned status)
{
	for (size_t i = 0; i < N_STATUS; i++)
		if (statuses[i] == status)
			return i;
	return N_STATUS;
}

void
metrics_request(unsigned status)
{
	atomic_fetch_add_explicit(&req_count[status_slot(status)], 1, memory_order_relaxed);
}

void
metrics_mhd_answer(const char *msg)
{
	static const char prefix[] = "Error processing request (HTTP response code is ";
	unsigned status;

	/* libmicrohttpd 0.9.75 says so for each 4xx/5xx it sends itself (transmit_error_response_len) */
	if (strncmp(msg, prefix, sizeof(prefix) - 1) == 0 && sscanf(msg + sizeof(prefix) - 1, "%u", &status) == 1)
		metrics_request(status);
}

void
metrics_tls_failure(enum metrics_tls_failure why)
{
	if (why < METRICS_TLS_N)
		atomic_fetch_add_explicit(&tls_fail[why], 1, memory_order_relaxed);
}

void
metrics_dns_publish_retry(void)
{
	atomic_fetch_add_explicit(&dns_publish_retries, 1, memory_order_relaxed);
}

void
metrics_set_dns_retry_pending(int pending)
{
	atomic_store(&dns_retry_pending, pending ? 1 : 0);
}

void
metrics_reload(int ok)
{
	atomic_fetch_add_explicit(ok ? &reloads_ok : &reloads_failed, 1, memory_order_relaxed);
}

void
metrics_dns_publish_failure(void)
{
	atomic_fetch_add_explicit(&dns_publish_failed, 1, memory_order_relaxed);
}

void
metrics_dns_update(unsigned result)
{
	if (result < DNSUPDATE_RESULT_N)
		atomic_fetch_add_explicit(&dns_updates[result], 1, memory_order_relaxed);
}

void
metrics_set_dns_update_failing(size_t n)
{
	atomic_store(&dns_update_failing, (unsigned long long)n);
}

unsigned long long
metrics_dns_updates(unsigned result)
{
	return result < DNSUPDATE_RESULT_N ? atomic_load(&dns_updates[result]) : 0;
}

void
metrics_set_domains(size_t n)
{
	atomic_store(&domains, (unsigned long long)n);
}

void
metrics_set_unserved(size_t d, size_t broken)
{
	atomic_store(&domains_unserved, (unsigned long long)d);
	atomic_store(&pairs_broken, (unsigned long long)broken);
}

void
metrics_set_loaded(long long t)
{
	atomic_store(&loaded_at, t);
}

unsigned long long
metrics_requests(unsigned status)
{
	return atomic_load(&req_count[status_slot(status)]);
}

unsigned long long
metrics_tls_failures(enum metrics_tls_failure why)
{
	return why < METRICS_TLS_N ? atomic_load(&tls_fail[why]) : 0;
}

unsigned long long
metrics_reloads(int ok)
{
	return atomic_load(ok ? &reloads_ok : &reloads_failed);
}

void
metrics_render(struct buf *b)
{
	buf_printf(b, "# HELP mtastsd_http_requests_total HTTP requests answered, by status code.\n"
	    "# TYPE mtastsd_http_requests_total counter\n");
	for (size_t i = 0; i < N_STATUS; i++)
		buf_printf(b, "mtastsd_http_requests_total{code=\"%u\"} %llu\n", statuses[i],
		    atomic_load(&req_count[i]));
	buf_printf(b, "mtastsd_http_requests_total{code=\"other\"} %llu\n",
	    atomic_load(&req_count[N_STATUS]));
	buf_printf(b, "# HELP mtastsd_tls_handshake_failures_total TLS handshakes that failed, by reason.\n"
	    "# TYPE mtastsd_tls_handshake_failures_total counter\n"
	    "mtastsd_tls_handshake_failures_total{reason=\"unknown_sni\"} %llu\n"
	    "mtastsd_tls_handshake_failures_total{reason=\"protocol\"} %llu\n"
	    "mtastsd_tls_handshake_failures_total{reason=\"garbage\"} %llu\n"
	    "mtastsd_tls_handshake_failures_total{reason=\"truncated\"} %llu\n"
	    "mtastsd_tls_handshake_failures_total{reason=\"timeout\"} %llu\n",
	    atomic_load(&tls_fail[METRICS_TLS_UNKNOWN_SNI]), atomic_load(&tls_fail[METRICS_TLS_PROTOCOL]),
	    atomic_load(&tls_fail[METRICS_TLS_GARBAGE]), atomic_load(&tls_fail[METRICS_TLS_TRUNCATED]),
	    atomic_load(&tls_fail[METRICS_TLS_TIMEOUT]));
	buf_printf(b, "# HELP mtastsd_reloads_total Configuration reloads, by result.\n"
	    "# TYPE mtastsd_reloads_total counter\n"
	    "mtastsd_reloads_total{result=\"ok\"} %llu\n"
	    "mtastsd_reloads_total{result=\"failed\"} %llu\n",
	    atomic_load(&reloads_ok), atomic_load(&reloads_failed));
	buf_printf(b, "# HELP mtastsd_dns_publish_failures_total DNS publications (state, zone, on_change) that failed.\n"
	    "# TYPE mtastsd_dns_publish_failures_total counter\n"
	    "mtastsd_dns_publish_failures_total %llu\n", atomic_load(&dns_publish_failed));
	buf_printf(b, "# HELP mtastsd_dns_publish_retries_total Retries of a failed DNS publication, on a backoff.\n"
	    "# TYPE mtastsd_dns_publish_retries_total counter\n"
	    "mtastsd_dns_publish_retries_total %llu\n"
	    "# HELP mtastsd_dns_publish_retry_pending 1 while a failed DNS publication waits for its next retry.\n"
	    "# TYPE mtastsd_dns_publish_retry_pending gauge\n"
	    "mtastsd_dns_publish_retry_pending %d\n", atomic_load(&dns_publish_retries), atomic_load(&dns_retry_pending));
	buf_printf(b, "# HELP mtastsd_domains_unserved Domains (configured or retiring) no listener can serve (no certificate"
	    " valid now covers them, no plain HTTP); no new id is published for them.\n"
	    "# TYPE mtastsd_domains_unserved gauge\nmtastsd_domains_unserved %llu\n"
	    "# HELP mtastsd_certificate_pairs_broken Certificate pairs (or their files) under tls.certs that"
	    " could not be loaded; only their own names go unserved.\n"
	    "# TYPE mtastsd_certificate_pairs_broken gauge\nmtastsd_certificate_pairs_broken %llu\n",
	    atomic_load(&domains_unserved), atomic_load(&pairs_broken));
	buf_printf(b, "# HELP mtastsd_dns_updates_total RFC 2136 updates sent (dns.update), one per domain, by result.\n"
	    "# TYPE mtastsd_dns_updates_total counter\n");
	for (unsigned i = 0; i < DNSUPDATE_RESULT_N; i++)
		buf_printf(b, "mtastsd_dns_updates_total{result=\"%s\"} %llu\n", dnsupdate_result_name(i),
		    atomic_load(&dns_updates[i]));
	buf_printf(b, "# HELP mtastsd_dns_update_failing_domains Domains whose last RFC 2136 update failed, waiting to be tried again.\n"
	    "# TYPE mtastsd_dns_update_failing_domains gauge\n"
	    "mtastsd_dns_update_failing_domains %llu\n", atomic_load(&dns_update_failing));
	buf_printf(b, "# HELP mtastsd_domains Domains whose policy is being served.\n"
	    "# TYPE mtastsd_domains gauge\n"
	    "mtastsd_domains %llu\n", atomic_load(&domains));
	buf_printf(b, "# HELP mtastsd_config_loaded_timestamp_seconds When the serving configuration was loaded.\n"
	    "# TYPE mtastsd_config_loaded_timestamp_seconds gauge\n"
	    "mtastsd_config_loaded_timestamp_seconds %lld\n", atomic_load(&loaded_at));
	buf_printf(b, "# HELP mtastsd_restart_pending 1 while the configuration changes listeners, limits or the user"
	    " that only a restart applies (what: /healthz).\n"
	    "# TYPE mtastsd_restart_pending gauge\n"
	    "mtastsd_restart_pending %d\n", metrics_restart_pending(NULL, 0) ? 1 : 0);
}

/* written by the reload thread, read by the admin listener's: a string needs the lock */
static pthread_mutex_t restart_lock = PTHREAD_MUTEX_INITIALIZER;
static char restart_what[256];

void
metrics_set_restart_pending(const char *what)
{
	pthread_mutex_lock(&restart_lock);
	snprintf(restart_what, sizeof(restart_what), "%s", what ? what : "");
	pthread_mutex_unlock(&restart_lock);
}

bool
metrics_restart_pending(char *out, size_t len)
{
	bool pending;

	pthread_mutex_lock(&restart_lock);
	pending = restart_what[0] != '\0';
	if (len > 0)
		snprintf(out, len, "%s", restart_what);
	pthread_mutex_unlock(&restart_lock);
	return pending;
}
