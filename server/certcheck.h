/* SPDX-License-Identifier: MIT */
/* certcheck: the certificate part of `check`: each served site judged by the pairs its handshakes present. */
#ifndef MTASTSD_CERTCHECK_H
#define MTASTSD_CERTCHECK_H

#include <time.h>

#include "diag.h"
#include "snapshot.h"

/*
 * Every site SNAP serves (configured and retiring domains), judged by
 * snapshot_site_serving, the decision serve makes; the pairs judged are the
 * ones its handshakes present (certstore_lookup_at, per key type).
 * A site not served is a DIAG_UNSERVED entry in DL (a warning when it is
 * served over plain HTTP only), at its domain's position; a pair serving a
 * site that expires within 21 days, and a pair valid now that serves none,
 * are warnings.
 */
void certcheck_sites(const struct snapshot *snap, time_t now, struct diag_list *dl);

#endif
