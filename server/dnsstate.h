/* SPDX-License-Identifier: MIT */
/* dnsstate: the DNS state file (ids, fingerprints, retirement) on disk: format, locking and atomic writes. */
#ifndef MTASTSD_DNSSTATE_H
#define MTASTSD_DNSSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "diag.h"
#include "ids.h"

/*
 * Format, version 3 (line-oriented text, '#' comments and blank lines ignored):
 *
 *   mtastsd-state 3
 *   domain NAME id=YYYYMMDDHHMMSS fp=HEX64 max_age=N rua=HEX16|- status=active|retiring|expired
 *   end N
 *
 * "end N" (N the number of domain lines) is the last line: a file cut short,
 * even at a line boundary, is damaged, never a state with fewer domains.
 * Version 2, still read and upgraded on the next write, had no end line (a
 * version 2 file without any domain is taken as damaged: every state written
 * for a config has one). Version 1 also had no max_age, rua or status:
 * "mtastsd-state 1" then "NAME ID FP" per line.
 */
#define DNSSTATE_VERSION 3

/*
 * Parse state text DATA (LEN bytes). Returns 0 with OUT filled (sorted by
 * name; release with ids_state_clear) and *VERSION set to the version read, or
 * -1 with every problem added to DL as LINE:COL errors (OUT is then empty).
 */
int dnsstate_parse(const char *data, size_t len, struct ids_state *out, int *version,
    struct diag_list *dl);

/* Render S in the current format; owned by the caller. */
char *dnsstate_format(const struct ids_state *s);

/*
 * Read the state file PATH. A missing file is an empty state (*EXISTS false).
 * Returns 0, or -1 with the problem in DL (whose file name should be PATH):
 * unreadable file, or damaged contents with positions.
 */
int dnsstate_load(const char *path, struct ids_state *out, int *version, bool *exists,
    struct diag_list *dl);

/*
 * Take the exclusive lock that serialises every reader-modifier-writer of the
 * state PATH (flock on PATH.lock), creating the state's folder when missing.
 * Blocks until the lock is free. Returns the lock descriptor, or -1 with a
 * message in ERR. Release with dnsstate_unlock.
 */
int dnsstate_lock(const char *path, char *err, size_t errlen);
void dnsstate_unlock(int fd);

/* Write S to PATH atomically; returns as dnsstate_write_atomic does. The caller holds the lock. */
int dnsstate_save(const char *path, const struct ids_state *s, char *err, size_t errlen);

/*
 * Replace PATH by DATA atomically: the folder opened, a temporary file in
 * it, fsync, rename over PATH, fsync of the folder. Readers see the old or
 * the new contents, never a mix. Returns 0 when PATH holds DATA durably; -1
 * with a message in ERR when anything before the rename failed (PATH is
 * then untouched and no temporary file is left); DNSSTATE_NOT_DURABLE with a
 * message in ERR when the rename was done but the folder's fsync failed
 * (PATH holds DATA, readers see it, but a crash may bring back the old
 * contents; nothing can undo a rename, so callers go on and say so).
 */
int dnsstate_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
    char *err, size_t errlen);
#define DNSSTATE_NOT_DURABLE (-2)

/* Create DIR and its missing parents (mode 0755). Returns 0 or -1 with errno set. */
int dnsstate_mkdirs(const char *dir);

#endif
