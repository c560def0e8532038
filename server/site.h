/* SPDX-License-Identifier: MIT */
/* site: one served host, mta-sts.<domain>, with its policy body rendered once and the HTTP layer's response. */
#ifndef MTASTSD_SITE_H
#define MTASTSD_SITE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "config.h"
#include "util.h"

/*
 * What serving one domain takes. A tenant file's sites are made when the
 * file is read and shared by every snapshot that serves that version of
 * it (SHARED); the main file's and the retiring domains' belong to one
 * snapshot. Immutable once made, but for PREBUILT (see below).
 */
struct site {
	char *host;			/* "mta-sts.<domain>" */
	const struct config_domain *domain;
	char *body;			/* exactly policy_render() */
	size_t body_len;
	/*
	 * The HTTP layer's ready response, made by the first request for the
	 * site (on any listener thread, kept with a compare-and-swap) and
	 * released with its owner once no snapshot holding the site is in use.
	 * Made on demand: at a million domains, most are not asked for between
	 * two reloads, and a response for each took 0.6 s and hundreds of MiB.
	 */
	_Atomic(void *) prebuilt;
	bool shared;			/* a tenant file's: HOST, BODY and PREBUILT go with the file */
	bool in_arena;			/* HOST and BODY are in the owner's arena (site_render_in) */
	bool retiring;			/* a removed domain still served as mode none (RFC 8461 section 8.3) */
};

/* S for D (borrowed: it must outlive S): host and body rendered, no response yet. */
void site_render(struct site *s, const struct config_domain *d, bool shared);

/*
 * site_render with the host and body in ARENA (their owner frees it whole;
 * site_clear leaves them), the body rendered first into SCRATCH, a buffer
 * the caller reuses from one site to the next.
 */
void site_render_in(struct site *s, const struct config_domain *d, struct arena *arena, struct buf *scratch);

/* Free S's host and body (not PREBUILT: its owner releases it); S is left {0}. */
void site_clear(struct site *s);

#endif
