/* SPDX-License-Identifier: MIT */
/* statememo: the DNS state file as this process last read or wrote it, kept parsed while the file on disk is that version. */
#ifndef MTASTSD_STATEMEMO_H
#define MTASTSD_STATEMEMO_H

#include <stdbool.h>

#include "diag.h"
#include "ids.h"

/*
 * The state at PATH, as dnsstate_load reads it, without reading it again
 * when the memo holds PATH and the file's device, inode, size, modification
 * and change times are those it was kept with (serve publishes after every
 * reload: at a million domains parsing the file each time is most of a
 * small change's cost). *OUT is borrowed from the memo until the next
 * statememo call. A missing file is an empty state (*EXISTS false). Returns
 * 0, or -1 with the problem in DL. One thread at a time.
 */
int statememo_load(const char *path, const struct ids_state **out, int *version, bool *exists,
    struct diag_list *dl);

/*
 * Keep ST (taken over; left empty) as the contents of PATH, which this
 * process has just written with them (or found them in): the file is
 * stat'ed now, so a later change by anyone else is seen. GEN, when not 0,
 * is the domset (its gen) ST was assigned for (ids_retiring_since's PREV).
 */
void statememo_keep(const char *path, struct ids_state *st, unsigned long long gen);

/*
 * Whether the state statememo_load gave last for PATH is the one kept for
 * the domset numbered GEN; then *FLAGGED (borrowed, like the state) holds
 * the indices of its retiring and expired entries (ids_flagged), *N how many.
 */
bool statememo_assigned_for(const char *path, unsigned long long gen, const size_t **flagged, size_t *n);

/* Forget what is kept. */
void statememo_clear(void);

#endif
