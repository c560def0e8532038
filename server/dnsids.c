/* SPDX-License-Identifier: MIT */
/* dnsids: assigns the ids of a config's domains against the DNS state file, under the state's lock. */
#include "dnsids.h"
#include "dnsstate.h"
#include "statememo.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void
dnsids_lost_message(const char *path, struct diag_list *sdl)
{
	diag_add(sdl, DIAG_ERROR, 0, 0, "the state file '%s' is gone although serve published from it: refusing to "
	    "start afresh (every id new, retiring domains dropped); restore it, or run `mtastsd dns --start-over` "
	    "to begin with an empty one (serve retries by itself)", path);
}

/*
 * design.md: a domain no listener can serve gets no new id until it can be.
 * For each of HELD[0..N_HELD) (configured domains), undo what ids_assign did
 * in ST and CH: one OLD knew keeps its entry as it was (its last published
 * id, and the fingerprint that id stands for, so the change still counts
 * once it is served); a new one gets no entry, hence no record yet.
 */
static void
hold_unserved(const struct ids_state *old, const char *const *held, size_t n_held, struct ids_state *st,
    struct ids_changes *ch)
{
	for (size_t h = 0; h < n_held; h++) {
		const struct ids_domain *was = ids_find(old, held[h]);
		const struct ids_domain *found = ids_find(st, held[h]);
		struct ids_domain *e = found ? &st->d[found - st->d] : NULL;
		size_t k = 0;

		if (e == NULL)
			continue;
		if (was != NULL) {
			char *name = e->name;

			*e = *was;
			e->name = name;
		} else {
			free(e->name);
			memmove(e, e + 1, (size_t)(st->d + st->n - (e + 1)) * sizeof(*e));
			st->n--;
		}
		for (size_t i = 0; i < ch->n; i++) {
			if (strcmp(ch->c[i].name, held[h]) == 0)
				free(ch->c[i].name);
			else
				ch->c[k++] = ch->c[i];
		}
		ch->n = k;
	}
}

int
dnsids_update_locked(const struct config *cfg, const struct domset *ds, const char *const *held, size_t n_held,
    int64_t now, bool must_exist,
    struct ids_state *st, struct ids_changes *ch, struct diag_list *sdl)
{
	const struct ids_state *old;
	char err[1024], *text = NULL, *cur = NULL;
	bool exists, same;
	int version, rc = -1;

	memset(st, 0, sizeof(*st));
	memset(ch, 0, sizeof(*ch));
	/* what the file holds, parsed again only when it is not the version this process read or wrote last */
	if (statememo_load(cfg->dns_state, &old, &version, &exists, sdl) < 0)
		goto done;
	if (!exists && must_exist) {
		dnsids_lost_message(cfg->dns_state, sdl);
		goto done;
	}
	rc = ids_assign(old, ds->v, ds->n, now, st, ch);
	if (rc == 0)
		hold_unserved(old, held, n_held, st, ch);
	same = rc == 0 && exists && version == DNSSTATE_VERSION && ids_state_equal(old, st);
	if (rc < 0) {
		diag_add(sdl, DIAG_ERROR, 0, 0, "the clock is past the last id a date can express (year 9999)");
		goto done;
	}
	rc = -1;
	if (ids_check_clock(now, (int64_t)time(NULL), ch, err, sizeof(err)) < 0) {
		diag_add(sdl, DIAG_ERROR, 0, 0, "%s", err);
		goto done;
	}
	/* the file holds OLD: nothing to write when nothing changed */
	if (!same)
		text = dnsstate_format(st);
	if (!same && exists) {
		size_t len;
		if (read_file(cfg->dns_state, &cur, &len) < 0)
			cur = NULL;
	}
	if (!same && (cur == NULL || strcmp(cur, text) != 0)) {
		if ((rc = dnsstate_save(cfg->dns_state, st, err, sizeof(err))) == DNSSTATE_NOT_DURABLE) {
			/* the new state is in place and is what readers see: the ids go ahead */
			log_warnx("dns state: %s", err);
		} else if (rc < 0) {
			diag_add(sdl, DIAG_ERROR, 0, 0, "%s", err);
			goto done;
		}
		if (exists && version != DNSSTATE_VERSION)
			log_info("dns state upgraded from version %d to %d file=%s", version,
			    DNSSTATE_VERSION, cfg->dns_state);
	}
	rc = 0;
done:
	if (rc < 0) {
		ids_state_clear(st);
		ids_changes_clear(ch);
	}
	free(text);
	free(cur);
	return rc;
}

int
dnsids_update(const struct config *cfg, const struct domset *ds, const char *const *held, size_t n_held, int64_t now, bool must_exist,
    struct ids_state *st, struct ids_changes *ch, struct diag_list *sdl)
{
	char err[1024];
	int fd, rc;

	memset(st, 0, sizeof(*st));
	memset(ch, 0, sizeof(*ch));
	if ((fd = dnsstate_lock(cfg->dns_state, err, sizeof(err))) < 0) {
		diag_add(sdl, DIAG_ERROR, 0, 0, "%s", err);
		return -1;
	}
	rc = dnsids_update_locked(cfg, ds, held, n_held, now, must_exist, st, ch, sdl);
	dnsstate_unlock(fd);
	return rc;
}

int
dnsids_preview(const struct config *cfg, const struct domset *ds, int64_t now, struct ids_state *st, struct ids_changes *ch,
    int *version, struct diag_list *sdl)
{
	const struct ids_state *old;
	char err[1024];
	bool exists;
	int rc;

	/* `check` has read the file for the retiring domains already: parsed once, not twice */
	if (statememo_load(cfg->dns_state, &old, version, &exists, sdl) < 0)
		return -1;
	rc = ids_assign(old, ds->v, ds->n, now, st, ch);
	if (rc < 0) {
		diag_add(sdl, DIAG_ERROR, 0, 0, "the clock is past the last id a date can express (year 9999)");
	} else if (ids_check_clock(now, (int64_t)time(NULL), ch, err, sizeof(err)) < 0) {
		diag_add(sdl, DIAG_ERROR, 0, 0, "%s", err);
		ids_state_clear(st);
		ids_changes_clear(ch);
		rc = DNSIDS_PREVIEW_CLOCK;
	}
	return rc;
}
