/* SPDX-License-Identifier: MIT */
/* dnspublish: publishes the DNS records of the config being served (state, zone file, on_change, RFC 2136) after each reload. */
#ifndef MTASTSD_DNSPUBLISH_H
#define MTASTSD_DNSPUBLISH_H

#include <stddef.h>

#include "config.h"
#include "domset.h"

/*
 * The reload publish hook: called once the policies of CFG, whose domains
 * are DS (the config's and its tenant files'), are being served
 * (after a successful reload swap, and once at start-up). Assigns ids and
 * updates the state file, rewrites dns.zone atomically when a record changed,
 * then runs dns.on_change (onchange_run) in the config's folder with
 * MTASTSD_ZONE (the zone path, absolute), MTASTSD_CHANGED_FILE (absolute
 * path of STATE.pending: the domains it has not yet been told about, one a
 * line), MTASTSD_CHANGED_COUNT (their number) and MTASTSD_CHANGED (the same,
 * space-separated, while shorter than ONCHANGE_ENV_MAX bytes, else
 * empty) in its environment. Until the hook has exited 0, STATE.pending
 * exists and every publish (each reload, start-up) runs it again. With
 * dns.update, hands every domain's records to the RFC 2136 sender
 * (dnspush_submit). The first call takes a shared flock on STATE.serving,
 * kept until exit: while it is held, `mtastsd dns` leaves the ids to serve
 * (dnspublish_serve_owns_ids).
 * Failures are logged and counted (dnspublish_failures), never fatal;
 * returns 0, or -1 when anything failed (serve then retries on a backoff).
 * Blocks while on_change runs (at most ONCHANGE_TIMEOUT seconds, and
 * no longer once SIGHUP, SIGINT or SIGTERM is pending: the hook's process
 * group is then killed and the hook runs again at the next publish).
 */
int dnspublish(const struct config *cfg, const struct domset *ds);
/* How much of a list of names one log line shows */
#define DNSPUBLISH_LOG_NAMES_MAX 1024

/*
 * dnspublish, except that the configured domains HELD[0..N_HELD), which no
 * listener can serve, get no new id: a new one no record yet, a changed one
 * keeps its last published id (and changes once it is published unheld).
 */
int dnspublish_held(const struct config *cfg, const struct domset *ds, const char *const *held, size_t n_held);

/* Failed publications (state, zone or on_change) since start-up. */
unsigned long dnspublish_failures(void);

/*
 * The space-separated NAMES cut to at most MAX bytes at a name boundary,
 * with " … and N more" naming what was left out (owned by the caller).
 */
char *dnspublish_names_excerpt(const char *names, size_t max);

/*
 * The domains that are no longer in DS (CFG's domains) but must still be served, as mode
 * none, until their retirement ends (ids_retiring): what the caller building
 * a snapshot passes it. Reads the state file (never writes it) at the
 * current clock, so a domain removed by this very reload is included.
 * Returns 0 with *OUT (array of *N, owned by the caller; free with
 * ids_retiring_free); -1 when the state file is unreadable or damaged (logged,
 * with a warning that removed domains are not served; *OUT NULL, *N 0); or
 * DNSPUBLISH_STATE_LOST when this process published from a state file that is
 * gone (logged and counted: a reload must not serve that; *OUT NULL, *N 0).
 */
int dnspublish_retiring(const struct config *cfg, const struct domset *ds, struct config_domain **out, size_t *n);

/*
 * dnspublish_retiring for DS built as a version of PREV (domset_build's
 * PREV, or NULL): when the state file is the one serve published for PREV,
 * only its retiring entries and PREV's domains that DS no longer holds are
 * looked at (ids_retiring_since). Same result.
 */
int dnspublish_retiring_since(const struct config *cfg, const struct domset *ds, const struct domset *prev,
    struct config_domain **out, size_t *n);
#define DNSPUBLISH_STATE_LOST (-2)

/*
 * `dns`: take STATE.serving exclusively (kept until exit). Returns 1 when a
 * serve holds it (serve owns the ids then), 0 otherwise (no serve, or no
 * such file or folder yet).
 */
int dnspublish_serve_owns_ids(const char *state);

#endif
