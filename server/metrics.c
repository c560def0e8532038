/* SPDX-License-Identifier: MIT */
/* metrics: the process-wide counters and gauges, atomic, read back in one call (metricspage renders them). */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the statuses mtastsd can answer with; anything else is counted as "other" */
static const unsigned statuses[] = { 200, 400, 404, 405, 408, 413, 414, 421, 431, 500, 503, 505 };
#define N_STATUS (sizeof(statuses) / sizeof(statuses[0]))
_Static_assert(N_STATUS == METRICS_N_STATUS, "METRICS_N_STATUS counts the statuses");

static atomic_ullong req_count[N_STATUS + 1];
static atomic_ullong tls_fail[METRICS_TLS_N];
static atomic_ullong reloads_ok, reloads_failed;
static atomic_ullong dns_publish_retries;
static atomic_ullong dns_publications, dns_publish_us;
static atomic_int dns_retry_pending;
static atomic_ullong dns_updates[DNSUPDATE_RESULT_N], dns_update_failing;
static atomic_ullong domains;
static atomic_ullong domains_unserved, pairs_broken;
static atomic_ullong tenant_files, tenant_files_refused;
static atomic_llong loaded_at;
static atomic_ullong acme_orders[METRICS_ACME_ORDER_N];
static atomic_ullong acme_valid, acme_due, acme_backoff, acme_waiting_dns;
static atomic_ullong hosts_without_certificate;

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
metrics_dns_published(double seconds)
{
	atomic_store(&dns_publish_us, seconds > 0 ? (unsigned long long)(seconds * 1e6) : 0);
	atomic_fetch_add_explicit(&dns_publications, 1, memory_order_relaxed);
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
metrics_dns_update(enum dnsupdate_result result)
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
metrics_dns_updates(enum dnsupdate_result result)
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
metrics_set_tenants(size_t files, size_t refused)
{
	atomic_store(&tenant_files, (unsigned long long)files);
	atomic_store(&tenant_files_refused, (unsigned long long)refused);
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

const char *
metrics_acme_order_name(enum metrics_acme_order r)
{
	static const char *const names[METRICS_ACME_ORDER_N] = { "issued", "failed", "rate_limited" };

	return (unsigned)r < METRICS_ACME_ORDER_N ? names[r] : "?";
}

void
metrics_acme_order(enum metrics_acme_order r)
{
	if ((unsigned)r < METRICS_ACME_ORDER_N)
		atomic_fetch_add_explicit(&acme_orders[r], 1, memory_order_relaxed);
}

unsigned long long
metrics_acme_orders(enum metrics_acme_order r)
{
	return (unsigned)r < METRICS_ACME_ORDER_N ? atomic_load(&acme_orders[r]) : 0;
}

void
metrics_set_acme_names(size_t valid, size_t due, size_t backoff, size_t waiting_dns)
{
	atomic_store(&acme_valid, (unsigned long long)valid);
	atomic_store(&acme_due, (unsigned long long)due);
	atomic_store(&acme_backoff, (unsigned long long)backoff);
	atomic_store(&acme_waiting_dns, (unsigned long long)waiting_dns);
}

void
metrics_set_hosts_without_certificate(size_t n)
{
	atomic_store(&hosts_without_certificate, (unsigned long long)n);
}

void
metrics_read(struct metrics_values *v)
{
	for (size_t i = 0; i < N_STATUS; i++) {
		v->requests[i].code = statuses[i];
		v->requests[i].n = atomic_load(&req_count[i]);
	}
	v->requests_other = atomic_load(&req_count[N_STATUS]);
	for (size_t i = 0; i < METRICS_TLS_N; i++)
		v->tls_failures[i] = atomic_load(&tls_fail[i]);
	v->reloads_ok = atomic_load(&reloads_ok);
	v->reloads_failed = atomic_load(&reloads_failed);
	v->dns_publish_retries = atomic_load(&dns_publish_retries);
	v->dns_publications = atomic_load(&dns_publications);
	v->dns_publish_us = atomic_load(&dns_publish_us);
	v->dns_retry_pending = atomic_load(&dns_retry_pending) != 0;
	for (size_t i = 0; i < DNSUPDATE_RESULT_N; i++)
		v->dns_updates[i] = atomic_load(&dns_updates[i]);
	v->dns_update_failing = atomic_load(&dns_update_failing);
	v->domains = atomic_load(&domains);
	v->domains_unserved = atomic_load(&domains_unserved);
	v->pairs_broken = atomic_load(&pairs_broken);
	v->tenant_files = atomic_load(&tenant_files);
	v->tenant_files_refused = atomic_load(&tenant_files_refused);
	v->loaded_at = atomic_load(&loaded_at);
	v->restart_pending = metrics_restart_pending(NULL, 0);
	for (size_t i = 0; i < METRICS_ACME_ORDER_N; i++)
		v->acme_orders[i] = atomic_load(&acme_orders[i]);
	v->acme_valid = atomic_load(&acme_valid);
	v->acme_due = atomic_load(&acme_due);
	v->acme_backoff = atomic_load(&acme_backoff);
	v->acme_waiting_dns = atomic_load(&acme_waiting_dns);
	v->hosts_without_certificate = atomic_load(&hosts_without_certificate);
}
