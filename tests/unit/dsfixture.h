/* SPDX-License-Identifier: MIT */
/* dsfixture: DS(cfg), the domain set of a config without tenant files, for tests of functions that take one. */
#ifndef MTASTSD_TEST_DSFIXTURE_H
#define MTASTSD_TEST_DSFIXTURE_H

#include "domset.h"

/*
 * CFG's domains as a domain set, valid until eight more DS calls (a ring,
 * so a call may use several at once); the last ones stay reachable, not
 * leaked, at exit.
 */
static inline const struct domset *
DS(const struct config *cfg)
{
	static struct domset ring[8];
	static unsigned next;
	struct domset *ds = &ring[next++ % 8];

	domset_clear(ds);
	domset_build(ds, cfg, NULL, NULL);
	return ds;
}

#endif
