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
 * ("listen.https, listen.http, listen.admin, limits, user/group, tls.certs,
 * acme.storage, acme.order"),
 * written to OUT (LEN bytes, truncated; "" when nothing differs). FLAGS is 0
 * or RESTARTKEYS_READER_LOCKED. Returns the length of the whole list, 0 when
 * nothing differs. Pure.
 */
size_t restartkeys_diff(const struct config *running, const struct config *cfg, unsigned flags, char *out,
    size_t len);

/*
 * A configuration holding only CFG's keys of the table above (the listeners
 * with their addresses and proxy_from, limits, user and group, tls.certs,
 * acme's storage and order (an acme holding only those), and the file's
 * path and folder), no domains: what serve bound at
 * start-up, kept for as long as it runs without keeping the whole
 * start-up snapshot (its domains, sites and certificates) alive. Free it
 * with config_free.
 */
struct config *restartkeys_copy(const struct config *cfg);

#endif
