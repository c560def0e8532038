/* SPDX-License-Identifier: MIT */
/* restartkeys: the configuration keys that serve binds at start-up, which only a restart applies. */
#ifndef MTASTSD_RESTARTKEYS_H
#define MTASTSD_RESTARTKEYS_H

#include <stddef.h>

#include "config.h"

/*
 * The privileged reader opens files only under the tls.certs folder serve
 * started with (privsep_lock): while it is locked, moving tls.certs needs a
 * restart too. Without it serve reads the new folder itself.
 */
#define RESTARTKEYS_READER_LOCKED 0x1u

/*
 * The keys of CFG that differ from RUNNING (the config serve started with)
 * and that a reload cannot apply, in the order of the table in restartkeys.c
 * ("listen.https, listen.http, listen.admin, limits, user/group, tls.certs"),
 * written to OUT (LEN bytes, truncated; "" when nothing differs). FLAGS is 0
 * or RESTARTKEYS_READER_LOCKED. Returns the length of the whole list, 0 when
 * nothing differs. Pure.
 */
size_t restartkeys_diff(const struct config *running, const struct config *cfg, unsigned flags, char *out,
    size_t len);

#endif
