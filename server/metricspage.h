/* SPDX-License-Identifier: MIT */
/* metricspage: the text of GET /metrics (Prometheus text format 0.0.4), from the counters of every module. */
#ifndef MTASTSD_METRICSPAGE_H
#define MTASTSD_METRICSPAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "conntrack.h"
#include "metrics.h"
#include "proxyaccept.h"
#include "snapshot.h"
#include "util.h"

/* The Content-Type the page is served with. */
#define METRICSPAGE_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* One loaded certificate, as its expiry line shows it. */
struct metricspage_cert {
	const char *file;	/* the chain's file */
	const char *name;	/* its first SAN name, "" when it has none */
	bool rsa;		/* else EC */
	long long expires_in;	/* seconds until notAfter; negative: expired */
};

/* Everything the page shows, as plain values; the strings are borrowed and may hold any byte but NUL. */
struct metricspage_values {
	struct metrics_values m;
	unsigned long long dns_publish_failures;	/* dnspublish counts them */
	const char *version, *gnutls, *libmicrohttpd;
	unsigned long long proxy_rejected[PROXYACCEPT_N];
	unsigned long long conn_events[CONNTRACK_N];
	const struct metricspage_cert *certs;
	size_t n_certs;
};

/*
 * Append the whole page for V to B, each metric with its HELP and TYPE
 * lines, label values escaped (backslash, quote, newline). Pure.
 */
void metricspage_format(const struct metricspage_values *v, struct buf *b);

/*
 * Append the page of this process to B: the counters of metrics, dnspublish,
 * proxyaccept and conntrack, mtastsd's and GnuTLS's versions with LIBMICROHTTPD (the
 * caller's library version), and the expiry of each certificate of SNAP
 * (NULL: none) against the clock.
 */
void metricspage_render(const struct snapshot *snap, const char *libmicrohttpd, struct buf *b);

#endif
