/* SPDX-License-Identifier: MIT */
/* certcheck: the certificate part of `check`: each served site judged by the pairs its handshakes present. */
#ifndef MTASTSD_CERTCHECK_H
#define MTASTSD_CERTCHECK_H

#include <time.h>

#include "diag.h"
#include "snapshot.h"

struct acmestatus;

/*
 * Every site SNAP serves (configured and retiring domains), judged by
 * snapshot_site_serving, the decision serve makes; the pairs judged are the
 * ones its handshakes present (certstore_lookup_at, per key type).
 * A site not served is a DIAG_UNSERVED entry in DL (a warning when it is
 * served over plain HTTP only), at its domain's position, but for one whose
 * certificate is ACME's to get (AS, NULL: no ACME, says ordering,
 * waiting_dns or backoff): a warning that it waits for ACME, with the
 * state (backoff: the next attempt and the CA's last error). One the state
 * calls valid while no pair covers it stays unserved (nothing is ordered
 * before its renewal time). A pair serving a site that expires within 21
 * days, and a pair valid now that serves none, are warnings.
 */
void certcheck_sites(const struct snapshot *snap, time_t now, const struct acmestatus *as, struct diag_list *dl);

#endif
