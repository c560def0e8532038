/* SPDX-License-Identifier: MIT */
/* domain: one domain's policy inputs as configured (or retiring), with the one way to build and to free it. */
#include "domain.h"

#include <stdlib.h>
#include <string.h>

void
domain_init(struct config_domain *d)
{
	memset(d, 0, sizeof(*d));
	d->mode = POLICY_MODE_NONE;
	d->acme = true;
}

void
domain_clear(struct config_domain *d)
{
	free(d->name);
	free(d->zone);
	strlist_unref(d->mx);
	strlist_unref(d->tlsrpt);
	domain_init(d);
}
