/* SPDX-License-Identifier: MIT */
/* dnspublish: publishes the DNS records of the config being served (state, zone file, on_change, RFC 2136) after each reload. */
#include "dnspublish.h"
#include "dnsids.h"
#include "dnspush.h"
#include "dnsrecords.h"
#include "dnsstate.h"
#include "statememo.h"
#include "ids.h"
#include "log.h"
#include "onchange.h"
#include "util.h"
#include "vec.h"
#include "zone.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static atomic_ulong publish_failures;

/*
 * The state file serve has published from (NULL before its first publish).
 * Once serve had a state, a missing one is an accident, never a fresh
 * start: every id would be new and the retiring domains would vanish.
 */
static char *known_state;

static bool
state_known(const char *path)
{
	return known_state != NULL && strcmp(known_state, path) == 0;
}

static void
publish_failed(void)
{
	atomic_fetch_add(&publish_failures, 1);
}

unsigned long
dnspublish_failures(void)
{
	return atomic_load(&publish_failures);
}

/*
 * While a `serve` runs for a state file it owns the ids: it holds a shared
 * flock on STATE.serving from its first publish until it exits, and `dns`
 * only assigns ids when it gets the lock exclusively. Otherwise a `dns` run
 * could publish a new id for a config that serve does not serve yet, and a
 * sender could cache the old policy under the new id.
 */
static char *
serving_path(const char *state)
{
	return xasprintf("%s.serving", state);
}

/* serve: hold the shared lock on STATE.serving (a new one when dns.state changed); kept open until exit. */
static void
hold_serving(const char *state)
{
	static int fd = -1;
	static char *held;
	char *path = serving_path(state), *dir;
	int nfd;

	if (held != NULL && strcmp(held, path) == 0) {
		free(path);
		return;
	}
	dir = path_dirname(path);
	if (dnsstate_mkdirs(dir) < 0 || (nfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		log_warn("dns publish: cannot open '%s' (a `dns` run could assign ids meanwhile)", path);
		free(dir);
		free(path);
		return;
	}
	free(dir);
	/* blocks only while a `dns` run is assigning ids */
	while (flock(nfd, LOCK_SH) < 0 && errno == EINTR)
		;
	if (fd >= 0)
		close(fd);
	fd = nfd;
	free(held);
	held = path;
}

int
dnspublish_serve_owns_ids(const char *state)
{
	char *path = serving_path(state);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644), rc = 0;

	free(path);
	if (fd < 0)
		return 0;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			rc = 1;
		break;
	}
	if (rc == 1)
		close(fd);
	/* else kept open, and locked, until `dns` exits */
	return rc;
}

/*
 * dns.update: every domain's records (those whose retirement is over as
 * deletions) to the RFC 2136 sender, which sends each domain on its own;
 * without dns.update, the sender forgets an earlier config's.
 */
static void
push_updates(const struct config *cfg, const struct domset *ds, const struct ids_state *st, int64_t now)
{
	struct zone_params p = {0};
	struct zone_domain *zd = NULL;
	struct dnspush_item *items = NULL;
	const char **expired = NULL, **zones = NULL;
	bool *expired_tls = NULL;
	size_t n = 0, n_expired = 0, n_items = 0;

	if (cfg->dns_update != NULL) {
		p.side = cfg->dns_delegate_zone ? ZONE_PROVIDER : ZONE_DIRECT;
		p.ttl = cfg->dns_ttl;
		p.host_target = cfg->dns_host_target;
		p.delegate_zone = cfg->dns_delegate_zone;
		zd = dnsrecords_domains(ds, st, now, &n);
		zones = xcalloc(n + 1, sizeof(*zones));
		for (size_t i = 0; i < n; i++) {
			const struct config_domain *d = zd[i].retiring ? NULL : domset_find(ds, zd[i].name);
			zones[i] = d ? d->zone : NULL;
		}
		expired = dnsrecords_expired(st, now, &expired_tls, &n_expired);
		items = dnspush_items(&p, cfg->dns_update->server, zd, zones, n, expired, expired_tls, n_expired,
		    &n_items);
	}
	dnspush_submit(cfg, items, n_items);
	free(zones);
	free(zd);
	free(expired);
	free(expired_tls);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The space-separated names of A and B (either may be NULL), sorted, each once. */
static char *
merge_names(const char *a, const char *b)
{
	char *all = xasprintf("%s %s", a ? a : "", b ? b : ""), **v = NULL, *save = NULL;
	size_t n = 0, cap = 0;
	struct buf out = {0};

	for (char *t = strtok_r(all, " \t\r\n", &save); t != NULL; t = strtok_r(NULL, " \t\r\n", &save))
		VEC_PUSH(v, n, cap, t);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			buf_printf(&out, "%s%s", out.len ? " " : "", v[i]);
	free(v);
	free(all);
	return out.data ? out.data : xstrdup("");
}

/*
 * The pending-publish marker: STATE.pending exists from before the zone is
 * rewritten until on_change has exited 0, and lists, one a line, the domains
 * it has yet to be told about; it is the file MTASTSD_CHANGED_FILE names.
 * While it exists every publish (each reload, and start-up) runs on_change
 * again, even when the zone itself is unchanged by then.
 */
static char *
pending_path(const struct config *cfg)
{
	return xasprintf("%s.pending", cfg->dns_state);
}

/*
 * Add CHANGED (space-separated, may be NULL) to the names in *PENDING (NULL:
 * none yet) and make the marker MARKER list them, one a line; *ONDISK is
 * what it holds now (NULL: no marker) and is updated. Returns 0, or -1 when
 * the marker cannot be written (logged; *PENDING and MARKER unchanged): the
 * hook must not run then, since the file it is given would be wrong.
 */
static int
mark_pending(const char *marker, char **pending, char **ondisk, const char *changed)
{
	char *names = merge_names(*pending, changed), *text, err[1024];
	size_t len = strlen(names);
	int rc = 0;

	/* one name a line; none: an empty file */
	text = len > 0 ? xasprintf("%s\n", names) : xstrdup("");
	for (size_t i = 0; i < len; i++)
		if (text[i] == ' ')
			text[i] = '\n';
	if (*ondisk != NULL && strcmp(*ondisk, text) == 0) {
		free(text);
	} else if ((rc = dnsstate_write_atomic(marker, text, strlen(text), 0644, err, sizeof(err))) < 0 &&
	    rc != DNSSTATE_NOT_DURABLE) {
		log_error("dns publish: cannot record the domains on_change is to be told about: %s", err);
		free(text);
		free(names);
		return -1;
	} else {
		if (rc == DNSSTATE_NOT_DURABLE)
			log_warnx("dns publish: %s", err);
		free(*ondisk);
		*ondisk = text;
	}
	free(*pending);
	*pending = names;
	return 0;
}

static size_t
count_names(const char *names)
{
	size_t n = 0;

	for (const char *p = names; *p != '\0'; p++)
		if (*p != ' ' && (p == names || p[-1] == ' '))
			n++;
	return n;
}

char *
dnspublish_names_excerpt(const char *names, size_t max)
{
	size_t total = count_names(names), shown = 0, end = 0;
	struct buf b = {0};

	/* whole names only, and room left for the " … and N more" that says what was cut */
	for (size_t i = 0; names[i] != '\0';) {
		size_t j = i;
		while (names[j] != '\0' && names[j] != ' ')
			j++;
		if (j > i) {
			if (j > max || (names[j] != '\0' && j + 32 > max))
				break;
			end = j;
			shown++;
		}
		i = names[j] == ' ' ? j + 1 : j;
	}
	buf_append(&b, names, end);
	if (shown < total)
		buf_printf(&b, "%s\xe2\x80\xa6 and %zu more", end > 0 ? " " : "", total - shown);
	if (b.data == NULL)
		buf_puts(&b, "");
	return b.data;
}

int
dnspublish(const struct config *cfg, const struct domset *ds)
{
	return dnspublish_held(cfg, ds, NULL, 0);
}

int
dnspublish_held(const struct config *cfg, const struct domset *ds, const char *const *held, size_t n_held)
{
	struct ids_state st;
	struct ids_changes ch;
	struct diag_list sdl;
	struct buf changed = {0};
	char err[1024], *zone = NULL, *cur = NULL, *marker = NULL, *pending = NULL, *ondisk = NULL;
	bool hook = cfg->dns_on_change != NULL && cfg->dns_on_change[0] != '\0';
	int64_t now;
	int rc = -1;

	if (ids_now(&now, err, sizeof(err)) < 0) {
		log_error("dns publish: %s", err);
		publish_failed();
		return -1;
	}
	hold_serving(cfg->dns_state);
	diag_init(&sdl, cfg->dns_state);
	if (dnsids_update(cfg, ds, held, n_held, now, state_known(cfg->dns_state), &st, &ch, &sdl) < 0) {
		diag_log(&sdl, "dns publish: ", LOG_LEVEL_ERROR);
		log_error("dns publish: nothing published; the state file was left unchanged");
		publish_failed();
		diag_clear(&sdl);
		return -1;
	}
	diag_clear(&sdl);
	if (!state_known(cfg->dns_state)) {
		free(known_state);
		known_state = xstrdup(cfg->dns_state);
	}

	marker = pending_path(cfg);
	if (read_file(marker, &ondisk, NULL) < 0) {
		ondisk = NULL;
	} else if (hook) {
		pending = merge_names(ondisk, NULL);
	} else {
		/* nothing left to run it */
		unlink(marker);
		free(ondisk);
		ondisk = NULL;
	}
	if (cfg->dns_zone != NULL) {
		enum zone_side side = cfg->dns_delegate_zone ? ZONE_PROVIDER : ZONE_DIRECT;
		struct diag_list probs;

		diag_init(&probs, cfg->path);
		zone = dnsrecords_render(cfg, ds, &st, now, side, ZONE_BIND, &probs, err, sizeof(err));
		/* such a domain fails alone (check lists it): every other one is published */
		diag_log(&probs, "dns publish: ", LOG_LEVEL_ERROR);
		diag_clear(&probs);
		if (zone == NULL) {
			log_error("dns publish: %s", err);
			publish_failed();
			goto done;
		}
		if (read_file(cfg->dns_zone, &cur, NULL) < 0 || strcmp(cur, zone) != 0) {
			char *dir = path_dirname(cfg->dns_zone), *excerpt;
			/* from the zones themselves, so ttl, host_target and earlier `dns` runs count too */
			zone_changed_domains(cur, zone, &changed);
			/* marked before the zone changes: a crash in between still runs the hook at start-up */
			if (hook && mark_pending(marker, &pending, &ondisk, changed.data) < 0) {
				log_error("dns publish: zone not written, so that on_change is told about every change");
				publish_failed();
				free(dir);
				goto done;
			}
			err[0] = '\0';
			if (dnsstate_mkdirs(dir) < 0)
				snprintf(err, sizeof(err), "cannot create the folder '%s': %s", dir, strerror(errno));
			else if (dnsstate_write_atomic(cfg->dns_zone, zone, strlen(zone), 0644, err, sizeof(err)) ==
			    DNSSTATE_NOT_DURABLE) {
				/* the new zone is in place: on_change is to be told */
				log_warnx("dns publish: %s", err);
				err[0] = '\0';
			}
			if (err[0] != '\0') {
				log_error("dns publish: zone not written: %s", err);
				publish_failed();
				free(dir);
				goto done;
			}
			free(dir);
			excerpt = dnspublish_names_excerpt(changed.data ? changed.data : "", DNSPUBLISH_LOG_NAMES_MAX);
			log_info("dns zone rewritten file=%s domains=%zu changed=\"%s\"", cfg->dns_zone,
			    count_names(changed.data ? changed.data : ""), excerpt);
			free(excerpt);
		}
	} else if (ch.n > 0) {
		for (size_t i = 0; i < ch.n; i++)
			buf_printf(&changed, "%s%s", changed.len ? " " : "", ch.c[i].name);
		if (hook && mark_pending(marker, &pending, &ondisk, changed.data) < 0) {
			publish_failed();
			goto done;
		}
	}
	push_updates(cfg, ds, &st, now);
	/* a marker in another layout (space-separated, from an older mtastsd) is rewritten one name a line */
	if (hook && pending != NULL && mark_pending(marker, &pending, &ondisk, NULL) < 0) {
		publish_failed();
		goto done;
	}
	if (hook && pending != NULL) {
		/* this change and every one an earlier failed or interrupted run was not told about */
		if (onchange_run(cfg->dns_on_change, cfg->dir, cfg->dns_zone ? cfg->dns_zone : "", marker, pending,
		    count_names(pending)) < 0) {
			log_warnx("dns on_change will run again (%s remains)", marker);
			publish_failed();
			goto done;
		} else if (unlink(marker) < 0 && errno != ENOENT) {
			log_warn("dns publish: cannot remove '%s'", marker);
		}
	}
	rc = 0;
done:
	free(marker);
	free(pending);
	free(ondisk);
	free(zone);
	free(cur);
	buf_clear(&changed);
	/* the state file holds ST now (written, or found so): the next reload and publish need not parse it */
	statememo_keep(cfg->dns_state, &st, ds->gen);
	ids_changes_clear(&ch);
	return rc;
}

int
dnspublish_retiring_since(const struct config *cfg, const struct domset *ds, const struct domset *prev,
    struct config_domain **out, size_t *n)
{
	const struct ids_state *old;
	const size_t *flagged;
	size_t n_flagged;
	struct diag_list sdl;
	char err[256];
	int64_t now;
	int version, rc;
	bool exists;

	*out = NULL;
	*n = 0;
	if (ids_now(&now, err, sizeof(err)) < 0) {
		log_error("dns: %s", err);
		log_warnx("removed domains are not served as mode none: the DNS state is unreadable");
		return -1;
	}
	diag_init(&sdl, cfg->dns_state);
	if ((rc = statememo_load(cfg->dns_state, &old, &version, &exists, &sdl)) == 0 && !exists &&
	    state_known(cfg->dns_state)) {
		/* the reload is refused: the serving snapshot keeps its retiring domains */
		dnsids_lost_message(cfg->dns_state, &sdl);
		publish_failed();
		rc = DNSPUBLISH_STATE_LOST;
	}
	if (rc < 0) {
		diag_log(&sdl, "dns: ", LOG_LEVEL_ERROR);
		diag_clear(&sdl);
		if (rc != DNSPUBLISH_STATE_LOST)
			log_warnx("removed domains are not served as mode none: the DNS state is unreadable");
		return rc;
	}
	diag_clear(&sdl);
	/* the state serve published for PREV: only what changed since is looked at */
	if (prev != NULL && statememo_assigned_for(cfg->dns_state, prev->gen, &flagged, &n_flagged))
		*n = ids_retiring_since(old, flagged, n_flagged, prev, ds, now, out);
	else
		*n = ids_retiring(old, ds, now, out);
	return 0;
}

int
dnspublish_retiring(const struct config *cfg, const struct domset *ds, struct config_domain **out, size_t *n)
{
	return dnspublish_retiring_since(cfg, ds, NULL, out, n);
}
