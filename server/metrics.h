/* SPDX-License-Identifier: MIT */
/* metrics: the process-wide counters and gauges, atomic, read back in one call (metricspage renders them). */
#ifndef MTASTSD_METRICS_H
#define MTASTSD_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "dnsresult.h"

enum metrics_tls_failure {
	METRICS_TLS_UNKNOWN_SNI,	/* no SNI, or a name without a certificate */
	METRICS_TLS_PROTOCOL,		/* any other handshake failure */
	METRICS_TLS_GARBAGE,		/* bytes that are no TLS handshake */
	METRICS_TLS_TRUNCATED,		/* the client closed in the middle of its ClientHello */
	METRICS_TLS_TIMEOUT,		/* the handshake timed out waiting for the client */
	METRICS_TLS_N
};

/* Count one answered request with HTTP STATUS (any value; rare ones share "other"). */
void metrics_request(unsigned status);
/*
 * Count the answer a libmicrohttpd log message MSG reports it sent itself
 * (400, 413, 414, 431, 505 for requests it refuses before any handler sees
 * them); any other message counts nothing. Pure parsing, then one counter.
 */
void metrics_mhd_answer(const char *msg);
void metrics_tls_failure(enum metrics_tls_failure why);
void metrics_reload(int ok);
/* Count one retry of a failed DNS publication; PENDING: whether a retry is now scheduled. */
void metrics_dns_publish_retry(void);
void metrics_set_dns_retry_pending(int pending);
/* Count one DNS publication that succeeded, which took SECONDS (wall time: state, zone, on_change). */
void metrics_dns_published(double seconds);
/* Count one RFC 2136 update (or its zone lookup) by RESULT; out of range counts nothing. */
void metrics_dns_update(enum dnsupdate_result result);
/* Domains whose last update failed, waiting for their next try. */
void metrics_set_dns_update_failing(size_t n);
unsigned long long metrics_dns_updates(enum dnsupdate_result result);
/* Gauges set by the reload path when a snapshot is swapped in. */
void metrics_set_domains(size_t n);
/* Configured domains no listener can serve, and certificate pairs that could not be loaded. */
void metrics_set_unserved(size_t domains, size_t broken_pairs);
/* Files in domains_dir, and those whose version on disk is refused. */
void metrics_set_tenants(size_t files, size_t refused);
void metrics_set_loaded(long long unix_time);
/* What waits for a restart ("listen.https, limits"), NULL or "" when nothing does. */
void metrics_set_restart_pending(const char *what);
/* Copies what waits for a restart into OUT (LEN bytes, may be 0); true when something does. */
bool metrics_restart_pending(char *out, size_t len);

/* ACME orders by how they ended (mtastsd_acme_orders_total's result label). */
enum metrics_acme_order { METRICS_ACME_ISSUED, METRICS_ACME_FAILED, METRICS_ACME_RATE_LIMITED, METRICS_ACME_ORDER_N };
/* The names of the labels: "issued", "failed", "rate_limited". */
const char *metrics_acme_order_name(enum metrics_acme_order r);
/* Count one order of the ACME orderer by how it ended; out of range counts nothing. */
void metrics_acme_order(enum metrics_acme_order r);
unsigned long long metrics_acme_orders(enum metrics_acme_order r);
/* ACME-managed names by state, as the orderer's last plan saw them. */
void metrics_set_acme_names(size_t valid, size_t due, size_t backoff, size_t waiting_dns);
/* Policy hosts that no certificate (tls.certs or ACME) covers now, with an acme section. */
void metrics_set_hosts_without_certificate(size_t n);

/* Read back counters (tests and /healthz). */
unsigned long long metrics_requests(unsigned status);
unsigned long long metrics_tls_failures(enum metrics_tls_failure why);
unsigned long long metrics_reloads(int ok);

/* The statuses counted one by one (200, 400, 404, ...); every other status shares one "other" count. */
#define METRICS_N_STATUS 12

/* Every counter and gauge at one moment (each read atomically, not all together). */
struct metrics_values {
	struct {
		unsigned code;
		unsigned long long n;
	} requests[METRICS_N_STATUS];	/* ascending by code */
	unsigned long long requests_other;
	unsigned long long tls_failures[METRICS_TLS_N];
	unsigned long long reloads_ok, reloads_failed;
	unsigned long long dns_publish_retries;
	bool dns_retry_pending;
	unsigned long long dns_publications;
	unsigned long long dns_publish_us;	/* the last successful publication's duration */
	unsigned long long dns_updates[DNSUPDATE_RESULT_N];
	unsigned long long dns_update_failing;
	unsigned long long domains, domains_unserved, pairs_broken;
	unsigned long long tenant_files, tenant_files_refused;
	long long loaded_at;		/* unix time */
	bool restart_pending;
	unsigned long long acme_orders[METRICS_ACME_ORDER_N];
	unsigned long long acme_valid, acme_due, acme_backoff, acme_waiting_dns;
	unsigned long long hosts_without_certificate;
};

/* Fills V with the current values; never fails. */
void metrics_read(struct metrics_values *v);

#endif
