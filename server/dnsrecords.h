/* SPDX-License-Identifier: MIT */
/* dnsrecords: turns a config and its DNS state into the records zone renders. */
#ifndef MTASTSD_DNSRECORDS_H
#define MTASTSD_DNSRECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "domset.h"
#include "ids.h"
#include "zone.h"

/*
 * The domains to render at NOW: DS's configured ones (those ST has an
 * entry for) in DS's order, then ST's retiring ones by name. Returns the
 * array of *N (owned by the caller; its pointers borrow from DS and ST).
 */
struct zone_domain *dnsrecords_domains(const struct domset *ds, const struct ids_state *st, int64_t now, size_t *n);

/*
 * The names of ST's entries whose retirement is over (records to delete in
 * every run until forgotten), borrowed from ST, in an array of *N owned by
 * the caller; *TLS (owned by the caller too) says per name whether mtastsd
 * had published a TLSRPT record for it.
 */
const char **dnsrecords_expired(const struct ids_state *st, int64_t now, bool **tls, size_t *n);

/*
 * zone_render of ZD[0..N) and the expired names with CFG's dns settings
 * (ttl, host_target, delegate_zone, the config path) on SIDE in FMT; a
 * domain whose records cannot be written goes to PROBLEMS. Owned by the
 * caller, or NULL with ERR.
 */
char *dnsrecords_render_domains(const struct config *cfg, const struct zone_domain *zd, size_t n,
    const char **expired, const bool *expired_tls, size_t n_expired, enum zone_side side, enum zone_format fmt,
    struct diag_list *problems, char *err, size_t errlen);

/* The records of DS with ids from ST at NOW (dnsrecords_domains, dnsrecords_expired), as dnsrecords_render_domains with CFG. */
char *dnsrecords_render(const struct config *cfg, const struct domset *ds, const struct ids_state *st, int64_t now, enum zone_side side,
    enum zone_format fmt, struct diag_list *problems, char *err, size_t errlen);

#endif
