/* SPDX-License-Identifier: MIT */
/* http: the listeners (HTTPS, plain HTTP, admin) on libmicrohttpd; the only file that includes <microhttpd.h>. */
#ifndef MTASTSD_HTTP_H
#define MTASTSD_HTTP_H

#include "snapshot.h"

struct http;

/*
 * Build SNAP's ready-made responses (one per site, made once and reused by
 * every request) and hook their release into the snapshot's last unref.
 * Returns 0, or -1 (logged) when a response cannot be created.
 */
int http_prepare(struct snapshot *snap);

/*
 * Bind and start every listener of SNAP's config (https, http, admin), with
 * the limits of its `limits` section, each on a thread pool sized to the
 * cores; a proxy_protocol listener is accepted by proxyaccept, which hands
 * each connection over with the client address from its PROXY header. Holds
 * a reference to SNAP until http_shutdown. Requests are answered from snapshot_current(); SNAP only supplies
 * addresses, limits and acme.storage, whose ACME challenges the listeners
 * answer (acmechal), all of which therefore need a restart to change. Returns
 * the running server, or NULL (logged) when any listener cannot start.
 */
struct http *http_start(struct snapshot *snap);

/*
 * Stop accepting, let in-flight requests finish (at most a few seconds),
 * then stop every listener and free H. Accepts NULL.
 */
void http_shutdown(struct http *h);

/* Version string of the HTTP library, for build info. */
const char *http_lib_version(void);

#endif
