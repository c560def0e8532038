/* SPDX-License-Identifier: MIT */
/* dnsids: assigns the ids of a config's domains against the DNS state file, under the state's lock. */
#ifndef MTASTSD_DNSIDS_H
#define MTASTSD_DNSIDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "domset.h"
#include "ids.h"

/*
 * With the state locked by the caller (dnsstate_lock): read CFG's state
 * file, assign the ids of DS's domains at NOW and write it back when anything changed (or it
 * needs an upgrade). The configured domains HELD[0..N_HELD), which no
 * listener can serve, get no new id: a new one no entry, a changed one
 * keeps its last published entry. MUST_EXIST: a missing state file is an
 * error (serve published from it), never a fresh start. Returns 0 with *ST
 * and *CH filled (release with ids_state_clear, ids_changes_clear), or -1 with
 * the problem in SDL (whose file is the state path); the state file is then
 * untouched. A write that replaced the file but could not sync its folder
 * is logged as a warning and counts as done.
 */
int dnsids_update_locked(const struct config *cfg, const struct domset *ds, const char *const *held, size_t n_held, int64_t now,
    bool must_exist, struct ids_state *st, struct ids_changes *ch, struct diag_list *sdl);

/* dnsids_update_locked, taking and releasing the state lock around it (a lock failure: -1, in SDL). */
int dnsids_update(const struct config *cfg, const struct domset *ds, const char *const *held, size_t n_held, int64_t now, bool must_exist,
    struct ids_state *st, struct ids_changes *ch, struct diag_list *sdl);

/*
 * Assign ids in memory only (never writes): what the next dns run or reload
 * would record. Returns 0 with *ST, *CH and *VERSION (the state file's)
 * filled, -1 (state unreadable or damaged, year 9999) or DNSIDS_PREVIEW_CLOCK
 * (the clock is too far ahead to write the new ids), with the problem in
 * SDL; on failure *ST and *CH are empty.
 */
int dnsids_preview(const struct config *cfg, const struct domset *ds, int64_t now, struct ids_state *st, struct ids_changes *ch,
    int *version, struct diag_list *sdl);
#define DNSIDS_PREVIEW_CLOCK (-2)

/* Add to SDL the error for a state file PATH gone although serve published from it. */
void dnsids_lost_message(const char *path, struct diag_list *sdl);

#endif
