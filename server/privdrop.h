/* SPDX-License-Identifier: MIT */
/* privdrop: leave root for the configured user once the ports are bound and the keys loaded. */
#ifndef MTASTSD_PRIVDROP_H
#define MTASTSD_PRIVDROP_H

#include "config.h"

/*
 * Called once, after every listener is bound and the first certificates are
 * loaded. As root with `user:` set: switch to that user and its group (or
 * `group:`), drop supplementary groups, and verify root cannot be regained.
 * As root without `user:`: keep running, with a warning. Not root: nothing to
 * do (`user:` naming another user is an error, since it cannot be honoured).
 * Reloads then read the config and keys as that user, so they must be
 * readable by it; warnings say so when they are not. Returns 0, or -1 after
 * logging why (the caller stops).
 */
int privdrop_apply(const struct config *cfg);

#endif
