/* SPDX-License-Identifier: MIT */
/* dnscmd: `mtastsd dns`, publishing the zone after a reload, retiring domains and the DNS part of `check`. */
#ifndef MTASTSD_DNSCMD_H
#define MTASTSD_DNSCMD_H

#include <stddef.h>

#include "config.h"
#include "diag.h"

/*
 * The reload publish hook: called once the policies of CFG are being served
 * (after a successful reload swap, and once at start-up). Assigns ids and
 * updates the state file, rewrites dns.zone atomically when a record changed,
 * then runs dns.on_change through /bin/sh -c in the config's folder with
 * MTASTSD_ZONE (the zone path, absolute), MTASTSD_CHANGED_FILE (absolute
 * path of STATE.pending: the domains it has not yet been told about, one a
 * line), MTASTSD_CHANGED_COUNT (their number) and MTASTSD_CHANGED (the same,
 * space-separated, while shorter than DNS_CHANGED_ENV_MAX bytes, else
 * empty) in its environment. Until the hook has exited 0, STATE.pending
 * exists and every publish (each reload, start-up) runs it again. The first
 * call takes a shared flock on STATE.serving, kept until exit: while it is
 * held, `mtastsd dns` leaves the ids to serve.
 * Failures are logged and counted (dns_publish_failures), never fatal;
 * returns 0, or -1 when anything failed (serve then retries on a backoff).
 * Blocks while on_change runs (at most DNS_ON_CHANGE_TIMEOUT seconds, and
 * no longer once SIGHUP, SIGINT or SIGTERM is pending: the hook's process
 * group is then killed and the hook runs again at the next publish).
 */
int dns_publish(const struct config *cfg);
#define DNS_ON_CHANGE_TIMEOUT 120
/* MTASTSD_CHANGED stays below 64 KiB, half the kernel's limit for one environment string */
#define DNS_CHANGED_ENV_MAX 65536
/* How much of a list of names one log line shows */
#define DNS_LOG_NAMES_MAX 1024

/*
 * The space-separated NAMES cut to at most MAX bytes at a name boundary,
 * with " … and N more" naming what was left out (owned by the caller).
 */
char *dns_names_excerpt(const char *names, size_t max);
/*
 * dns_publish, except that the configured domains HELD[0..N_HELD), which no
 * listener can serve, get no new id: a new one no record yet, a changed one
 * keeps its last published id (and changes once it is published unheld).
 */
int dns_publish_held(const struct config *cfg, const char *const *held, size_t n_held);

/* Failed publications (state, zone or on_change) since start-up. */
unsigned long dns_publish_failures(void);

/*
 * The domains that are no longer in CFG but must still be served, as
 * mode none, until their retirement ends (RFC 8461 section 8.3). Reads the
 * state file (never writes it) and applies the same rules as dns_publish at
 * the current clock, so a domain removed by this very reload is included.
 * Returns 0 with *OUT (array of *N, owned by the caller; free with
 * dns_retiring_free), or -1 when the state file is unreadable or damaged,
 * or DNS_STATE_LOST when serve published from a state file that is gone
 * (logged and counted: a reload must not serve that; *OUT is then NULL and
 * *N 0).
 */
int dns_retiring(const struct config *cfg, struct config_domain **out, size_t *n);
#define DNS_STATE_LOST (-2)
void dns_retiring_free(struct config_domain *d, size_t n);

/* `check`: state file problems as errors (printed with their FILE:LINE:COL), retiring domains as warnings. */
void dns_check(const struct config *cfg, struct diag_list *dl);

#endif
