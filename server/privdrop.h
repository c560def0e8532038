/* SPDX-License-Identifier: MIT */
/* privdrop: leave root for the configured user once the ports are bound and the keys loaded. */
#ifndef MTASTSD_PRIVDROP_H
#define MTASTSD_PRIVDROP_H

#include <stdbool.h>

#include "config.h"

/*
 * Called once, after every listener is bound and the first certificates are
 * loaded. As root with `user:` set: switch to that user and its group (or
 * `group:`), drop supplementary groups, and verify root cannot be regained.
 * As root without `user:`: keep running, with a warning. Not root: nothing to
 * do (`user:` naming another user is an error, since it cannot be honoured).
 * Reloads then read the config as that user, so it must be readable by it
 * (a warning says so when it is not); what is under tls.certs the user
 * cannot read is opened by the privileged reader (privsep.h) when serve
 * locked one. Returns 0, or -1 after logging why (the caller stops).
 */
int privdrop_apply(const struct config *cfg);

/* Whether privdrop_apply will switch to another user: root now, `user:` set, and not root itself. */
bool privdrop_needed(const struct config *cfg);

#endif
