/* SPDX-License-Identifier: MIT */
/* wdset: a set of inotify watch descriptors, hashed, so the watcher finds an event's folder without a scan. */
#ifndef MTASTSD_WDSET_H
#define MTASTSD_WDSET_H

#include <stdbool.h>
#include <stddef.h>

struct wdset {
	int *slots;		/* 0: empty (inotify's descriptors start at 1) */
	size_t n, cap;		/* cap is a power of two, or 0 */
};

/* Add WD (>= 1) to S; zero-initialise S first. Adding one already there changes nothing. */
void wdset_add(struct wdset *s, int wd);
/* Whether WD is in S. */
bool wdset_has(const struct wdset *s, int wd);
/* Empty S, keeping its table for the next fill. */
void wdset_reset(struct wdset *s);
/* Free S's table; S is then empty. */
void wdset_clear(struct wdset *s);

#endif
