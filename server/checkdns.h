/* SPDX-License-Identifier: MIT */
/* checkdns: the DNS checks of `check` (state file, retiring domains, RFC 2136 results, dns settings). */
#ifndef MTASTSD_CHECKDNS_H
#define MTASTSD_CHECKDNS_H

#include "config.h"
#include "domset.h"
#include "diag.h"

/*
 * Add to DL what `check` says about CFG's DNS publishing, reading (never
 * writing) the state file and STATE.update: state file problems as errors
 * (the state's own FILE:LINE:COL diagnostics are printed on stderr as they
 * are), retiring and expired domains, failing RFC 2136 updates and
 * questionable dns settings as warnings, and any domain whose records
 * cannot be written (as zone_render reports it).
 */
void checkdns_run(const struct config *cfg, const struct domset *ds, struct diag_list *dl);

#endif
