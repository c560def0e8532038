/* SPDX-License-Identifier: MIT */
/* dnscmd: `mtastsd dns`, publishing the zone after a reload, retiring domains and the DNS part of `check`. */
#define _GNU_SOURCE	/* posix_spawn_file_actions_addchdir_np */
#include "dnscmd.h"
#include "commands.h"
#include "dnspush.h"
#include "updstate.h"
#include "dnsstate.h"
#include "ids.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "zone.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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
lost_state_message(const char *path, struct diag_list *sdl)
{
	diag_add(sdl, DIAG_ERROR, 0, 0, "the state file '%s' is gone although serve published from it: refusing to "
	    "start afresh (every id new, retiring domains dropped); restore it, or run `mtastsd dns --start-over` "
	    "to begin with an empty one (serve retries by itself)", path);
}

static void
publish_failed(void)
{
	atomic_fetch_add(&publish_failures, 1);
	metrics_dns_publish_failure();
}

unsigned long
dns_publish_failures(void)
{
	return atomic_load(&publish_failures);
}

static const struct config_domain **
domain_ptrs(const struct config *cfg)
{
	const struct config_domain **p = xcalloc(cfg->n_domains, sizeof(*p));

	for (size_t i = 0; i < cfg->n_domains; i++)
		p[i] = &cfg->domains[i];
	return p;
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

/*
 * With the state locked by the caller (dnsstate_lock): read it, assign ids at
 * NOW (none new for HELD[0..N_HELD), see hold_unserved) and write it back when anything changed (or it needs an upgrade).
 * Returns 0 with *ST and *CH filled, or -1 with the problem in SDL (whose
 * file is the state path); the state file is then untouched. update_state
 * takes and releases the lock around it.
 */
static int
update_state_locked(const struct config *cfg, const char *const *held, size_t n_held, int64_t now, bool must_exist,
    struct ids_state *st, struct ids_changes *ch, struct diag_list *sdl)
{
	struct ids_state old;
	const struct config_domain **doms;
	char err[1024], *text = NULL, *cur = NULL;
	bool exists;
	int version, rc = -1;

	memset(st, 0, sizeof(*st));
	memset(ch, 0, sizeof(*ch));
	if (dnsstate_load(cfg->dns_state, &old, &version, &exists, sdl) < 0)
		goto done;
	if (!exists && must_exist) {
		lost_state_message(cfg->dns_state, sdl);
		goto done;
	}
	doms = domain_ptrs(cfg);
	rc = ids_assign(&old, doms, cfg->n_domains, now, st, ch);
	free(doms);
	if (rc == 0)
		hold_unserved(&old, held, n_held, st, ch);
	ids_state_free(&old);
	if (rc < 0) {
		diag_add(sdl, DIAG_ERROR, 0, 0, "the clock is past the last id a date can express (year 9999)");
		goto done;
	}
	rc = -1;
	if (ids_check_clock(now, (int64_t)time(NULL), ch, err, sizeof(err)) < 0) {
		diag_add(sdl, DIAG_ERROR, 0, 0, "%s", err);
		goto done;
	}
	text = dnsstate_format(st);
	if (exists) {
		size_t len;
		if (read_file(cfg->dns_state, &cur, &len) < 0)
			cur = NULL;
	}
	if (cur == NULL || strcmp(cur, text) != 0) {
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
		ids_state_free(st);
		ids_changes_free(ch);
	}
	free(text);
	free(cur);
	return rc;
}

static int
update_state(const struct config *cfg, const char *const *held, size_t n_held, int64_t now, bool must_exist,
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
	rc = update_state_locked(cfg, held, n_held, now, must_exist, st, ch, sdl);
	dnsstate_unlock(fd);
	return rc;
}

/*
 * The domains to render: configured ones in config order, then the retiring
 * ones by name. Pointers borrow from CFG and ST.
 */
static struct zone_domain *
zone_domains(const struct config *cfg, const struct ids_state *st, int64_t now, size_t *n)
{
	struct zone_domain *zd = xcalloc(st->n, sizeof(*zd));
	size_t k = 0;

	for (size_t i = 0; i < cfg->n_domains; i++) {
		const struct config_domain *d = &cfg->domains[i];
		const struct ids_domain *e = ids_find(st, d->name);
		if (e == NULL)
			continue;	/* cannot happen: every configured domain has an entry */
		zd[k].name = d->name;
		zd[k].line = d->line;
		zd[k].col = d->col;
		zd[k].id = e->id;
		zd[k].fp = e->fp;
		zd[k].rua = (const char *const *)d->tlsrpt;
		zd[k].n_rua = d->n_tlsrpt;
		zd[k].delete_tlsrpt = ids_tlsrpt_to_delete(e, now);
		ids_parse(e->id, &zd[k].changed);
		k++;
	}
	for (size_t i = 0; i < st->n; i++) {
		const struct ids_domain *e = &st->d[i];
		if (!e->retiring)
			continue;
		zd[k].name = e->name;
		zd[k].id = e->id;
		zd[k].fp = e->fp;
		zd[k].retiring = true;
		zd[k].deletable_at = ids_deletable_at(e);
		zd[k].delete_tlsrpt = ids_tlsrpt_to_delete(e, now);
		ids_parse(e->id, &zd[k].changed);
		k++;
	}
	*n = k;
	return zd;
}

/*
 * The entries of ST whose retirement is over: their records are to be
 * deleted, in every run until forgotten. *TLS (owned by the caller) says,
 * per name, whether mtastsd had published a TLSRPT record for it.
 */
static const char **
expired_names(const struct ids_state *st, int64_t now, bool **tls, size_t *n)
{
	const char **names = xcalloc(st->n + 1, sizeof(*names));

	*tls = xcalloc(st->n + 1, sizeof(**tls));
	*n = 0;
	for (size_t i = 0; i < st->n; i++)
		if (st->d[i].expired) {
			(*tls)[*n] = ids_tlsrpt_to_delete(&st->d[i], now);
			names[(*n)++] = st->d[i].name;
		}
	return names;
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

/*
 * `dns`: take STATE.serving exclusively (kept until exit). Returns 1 when a
 * serve holds it, 0 otherwise (no serve, or no such file or folder yet).
 */
static int
serve_owns_ids(const char *state)
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

static char *
render_domains(const struct config *cfg, const struct zone_domain *zd, size_t n, const char **expired,
    const bool *expired_tls, size_t n_expired, enum zone_side side, enum zone_format fmt,
    struct diag_list *problems, char *err, size_t errlen)
{
	struct zone_params p = {0};

	p.side = side;
	p.ttl = cfg->dns_ttl;
	p.host_target = cfg->dns_host_target;
	p.delegate_zone = cfg->dns_delegate_zone;
	p.source = cfg->path;
	p.expired = expired;
	p.expired_tlsrpt = expired_tls;
	p.n_expired = n_expired;
	p.problems = problems;
	return zone_render(&p, zd, n, fmt, err, errlen);
}

/*
 * The records as serve published them, from ST alone: every active entry
 * (configured domains in config order first, then entries the config no
 * longer has), then the retiring ones. A domain's TLSRPT record is shown
 * only when the config's rua list is the one the state recorded.
 */
static char *
render_published(const struct config *cfg, const struct ids_state *st, int64_t now, enum zone_side side,
    enum zone_format fmt, struct diag_list *problems, char *err, size_t errlen)
{
	struct zone_domain *zd = xcalloc(st->n + 1, sizeof(*zd));
	bool *done = xcalloc(st->n + 1, sizeof(*done)), *expired_tls;
	const char **expired;
	size_t k = 0, n_expired;
	char *out;

	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < (pass == 0 ? cfg->n_domains : st->n); i++) {
			const struct config_domain *d = pass == 0 ? &cfg->domains[i] : NULL;
			const struct ids_domain *e = pass == 0 ? ids_find(st, d->name) : &st->d[i];
			size_t idx;

			if (e == NULL || e->expired || (pass < 2) == e->retiring)
				continue;
			idx = (size_t)(e - st->d);
			if (done[idx])
				continue;
			done[idx] = true;
			zd[k].name = e->name;
			zd[k].id = e->id;
			zd[k].fp = e->fp;
			zd[k].retiring = e->retiring;
			zd[k].delete_tlsrpt = ids_tlsrpt_to_delete(e, now);
			if (e->retiring)
				zd[k].deletable_at = ids_deletable_at(e);
			if (d == NULL && !e->retiring)
				d = config_find_domain(cfg, e->name);
			if (d != NULL) {
				zd[k].line = d->line;
				zd[k].col = d->col;
			}
			if (d != NULL && !e->retiring && d->n_tlsrpt > 0) {
				char h[17];
				ids_rua_hash(d, h);
				if (strcmp(h, e->rua) == 0) {
					zd[k].rua = (const char *const *)d->tlsrpt;
					zd[k].n_rua = d->n_tlsrpt;
				}
			}
			if (!e->retiring && strcmp(e->rua, "-") != 0 && zd[k].n_rua == 0)
				fprintf(stderr, "mtastsd: dns: %s: the TLSRPT record serve published is not shown: "
				    "its rua list is no longer the config's\n", e->name);
			ids_parse(e->id, &zd[k].changed);
			k++;
		}
	}
	expired = expired_names(st, now, &expired_tls, &n_expired);
	out = render_domains(cfg, zd, k, expired, expired_tls, n_expired, side, fmt, problems, err, errlen);
	free(expired);
	free(expired_tls);
	free(zd);
	free(done);
	return out;
}

static char *
render(const struct config *cfg, const struct ids_state *st, const struct ids_changes *ch, int64_t now,
    enum zone_side side, enum zone_format fmt, struct diag_list *problems, char *err, size_t errlen)
{
	struct zone_params p = {0};
	struct zone_domain *zd;
	const char **expired;
	bool *expired_tls;
	size_t n;
	char *out;

	p.side = side;
	p.ttl = cfg->dns_ttl;
	p.host_target = cfg->dns_host_target;
	p.delegate_zone = cfg->dns_delegate_zone;
	p.source = cfg->path;
	(void)ch;
	expired = expired_names(st, now, &expired_tls, &p.n_expired);
	p.expired = expired;
	p.expired_tlsrpt = expired_tls;
	p.problems = problems;
	zd = zone_domains(cfg, st, now, &n);
	out = zone_render(&p, zd, n, fmt, err, errlen);
	free(zd);
	free(expired);
	free(expired_tls);
	return out;
}

/*
 * `dns --start-over`, with the state lock held: an empty state file where
 * none is, never over an existing one (that would throw its ids away).
 */
static int
dns_start_over(const char *state)
{
	struct ids_state empty = {0};
	char err[1024];
	int rc;

	if (access(state, F_OK) == 0) {
		fprintf(stderr, "mtastsd: dns: --start-over: the state file '%s' exists; it was left as it is "
		    "(starting over is only for a state file that is gone)\n", state);
		return EXIT_INVALID;
	}
	if ((rc = dnsstate_save(state, &empty, err, sizeof(err))) == DNSSTATE_NOT_DURABLE) {
		fprintf(stderr, "mtastsd: dns: --start-over: warning: %s\n", err);
	} else if (rc < 0) {
		fprintf(stderr, "mtastsd: dns: --start-over: %s\n", err);
		return EXIT_INVALID;
	}
	fprintf(stderr, "mtastsd: dns: started over with an empty state file '%s': every domain gets a new id at "
	    "the next publish (a serve that refused to go on without the file retries by itself; SIGHUP makes "
	    "it at once)\n", state);
	return EXIT_OK;
}

/*
 * dns.update: every domain's records (those whose retirement is over as
 * deletions) to the RFC 2136 sender, which sends each domain on its own;
 * without dns.update, the sender forgets an earlier config's.
 */
static void
push_updates(const struct config *cfg, const struct ids_state *st, int64_t now)
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
		zd = zone_domains(cfg, st, now, &n);
		zones = xcalloc(n + 1, sizeof(*zones));
		for (size_t i = 0; i < n; i++) {
			const struct config_domain *d = zd[i].retiring ? NULL : config_find_domain(cfg, zd[i].name);
			zones[i] = d ? d->zone : NULL;
		}
		expired = expired_names(st, now, &expired_tls, &n_expired);
		items = dnspush_items(&p, cfg->dns_update->server, zd, zones, n, expired, expired_tls, n_expired,
		    &n_items);
	}
	dnspush_submit(cfg, items, n_items);
	free(zones);
	free(zd);
	free(expired);
	free(expired_tls);
}

static void
dns_usage(FILE *out)
{
	fprintf(out,
	    "usage: mtastsd [-c FILE] dns [--format bind|json|nsupdate] [--side provider|customer]\n"
	    "       mtastsd [-c FILE] dns --start-over\n"
	    "  --format F   bind (default): a zone file snippet; json: records, ids, change times\n"
	    "               and fingerprints; nsupdate: an RFC 2136 script replacing the records\n"
	    "  --side S     with dns.delegate_zone: provider (default) prints the records served in\n"
	    "               the provider's zone, customer the CNAMEs each customer publishes once\n"
	    "  --start-over write an empty state file where dns.state is gone (after an accident a\n"
	    "               running serve publishes nothing until the file is restored or this\n"
	    "               is run): every domain gets a new id, and domains that were retiring\n"
	    "               are forgotten\n"
	    "Assigns ids and records them in the state file (dns.state). While a `serve` runs\n"
	    "for the same state file it owns the ids: dns then prints the records serve published.\n");
}

int
cmd_dns(const char *config_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "side", required_argument, NULL, 's' },
		{ "start-over", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum zone_format fmt = ZONE_BIND;
	const char *side_arg = NULL;
	bool start_over = false;
	enum zone_side side;
	struct config *cfg;
	struct ids_state st;
	struct ids_changes ch;
	struct diag_list sdl, probs;
	char err[1024], *out;
	int64_t now;
	int c, lockfd = -1, rc = EXIT_INVALID;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "bind") == 0)
				fmt = ZONE_BIND;
			else if (strcmp(optarg, "json") == 0)
				fmt = ZONE_JSON;
			else if (strcmp(optarg, "nsupdate") == 0)
				fmt = ZONE_NSUPDATE;
			else {
				fprintf(stderr, "mtastsd: dns: unknown format '%s' (bind, json or nsupdate)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 's':
			if (strcmp(optarg, "provider") != 0 && strcmp(optarg, "customer") != 0) {
				fprintf(stderr, "mtastsd: dns: unknown side '%s' (provider or customer)\n", optarg);
				return EXIT_USAGE;
			}
			side_arg = optarg;
			break;
		case 'o':
			start_over = true;
			break;
		case 'h':
			dns_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "mtastsd: dns: unknown or incomplete option '%s'\n", argv[optind - 1]);
			dns_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mtastsd: dns: unexpected argument '%s'\n", argv[optind]);
		dns_usage(stderr);
		return EXIT_USAGE;
	}
	if (ids_now(&now, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtastsd: %s\n", err);
		return EXIT_INVALID;
	}
	if ((cfg = cmd_load_config(config_path)) == NULL)
		return EXIT_INVALID;
	if (cfg->dns_delegate_zone == NULL) {
		if (side_arg != NULL) {
			fprintf(stderr, "mtastsd: dns: --side needs dns.delegate_zone in %s\n", config_path);
			config_free(cfg);
			return EXIT_USAGE;
		}
		side = ZONE_DIRECT;
	} else {
		side = side_arg != NULL && strcmp(side_arg, "customer") == 0 ? ZONE_CUSTOMER : ZONE_PROVIDER;
	}

	diag_init(&sdl, cfg->dns_state);
	diag_init(&probs, cfg->path);
	/*
	 * The state lock first: it serialises `dns` runs, so the exclusive try on
	 * STATE.serving below fails only because of a serve (which takes that one
	 * first, then the state lock, so neither waits for the other).
	 */
	if ((lockfd = dnsstate_lock(cfg->dns_state, err, sizeof(err))) < 0) {
		diag_add(&sdl, DIAG_ERROR, 0, 0, "%s", err);
		diag_print(&sdl, stderr);
		fprintf(stderr, "mtastsd: dns: the state file was left unchanged\n");
		goto done;
	}
	if (start_over) {
		rc = dns_start_over(cfg->dns_state);
		goto done;
	}
	if (serve_owns_ids(cfg->dns_state)) {
		int version;
		bool exists;

		fprintf(stderr, "mtastsd: dns: a running `serve` owns the ids of %s: these are the records it "
		    "published; the config's pending changes appear once serve reloads\n", cfg->dns_state);
		if (dnsstate_load(cfg->dns_state, &st, &version, &exists, &sdl) < 0) {
			diag_print(&sdl, stderr);
			goto done;
		}
		memset(&ch, 0, sizeof(ch));
		out = render_published(cfg, &st, now, side, fmt, &probs, err, sizeof(err));
	} else if (update_state_locked(cfg, NULL, 0, now, false, &st, &ch, &sdl) < 0) {
		diag_print(&sdl, stderr);
		fprintf(stderr, "mtastsd: dns: the state file was left unchanged\n");
		goto done;
	} else {
		out = render(cfg, &st, &ch, now, side, fmt, &probs, err, sizeof(err));
	}
	if (side == ZONE_CUSTOMER && cfg->dns_host_target == NULL)
		fprintf(stderr, "mtastsd: dns: warning: %s\n", ZONE_NO_HOST_TARGET);
	if (out == NULL) {
		fprintf(stderr, "mtastsd: dns: %s\n", err);
	} else {
		fputs(out, stdout);
		free(out);
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INVALID;
	}
	/* a domain whose records cannot be written fails alone: the others are printed, the exit status says so */
	diag_print(&probs, stderr);
	if (probs.unserved > 0 || probs.errors > 0)
		rc = EXIT_INVALID;
	ids_state_free(&st);
	ids_changes_free(&ch);
done:
	dnsstate_unlock(lockfd);
	diag_free(&sdl);
	diag_free(&probs);
	config_free(cfg);
	return rc;
}

/* PATH made absolute against the working directory (a copy; PATH itself when getcwd fails). */
static char *
absolute(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || path[0] == '\0' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	if (strcmp(path, ".") == 0)
		return xstrdup(cwd);
	if (strncmp(path, "./", 2) == 0)
		path += 2;
	return xasprintf("%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", path);
}

/*
 * Run CMD with /bin/sh -c in the folder DIR (the config's, so a relative
 * command or path in it means what it means in the config). Its environment
 * gets MTASTSD_ZONE (ZONE made absolute), MTASTSD_CHANGED_FILE (the file
 * CHANGED_FILE, one name a line), MTASTSD_CHANGED_COUNT (N) and
 * MTASTSD_CHANGED (NAMES, space-separated, or empty when that would not fit
 * in DNS_CHANGED_ENV_MAX: the kernel refuses any one environment string
 * past 128 KiB, and then the hook would never run). Returns 0 when it
 * exited 0.
 */
static int
run_on_change(const char *cmd, const char *dir, const char *zone, const char *changed_file, const char *names,
    size_t count)
{
	size_t n = 0, nlen = strlen(names);
	char *azone = zone[0] ? absolute(zone) : xstrdup(""), *adir = absolute(dir), *afile = absolute(changed_file);
	char **envp, *zvar = xasprintf("MTASTSD_ZONE=%s", azone);
	char *cvar = xasprintf("MTASTSD_CHANGED=%s", nlen < DNS_CHANGED_ENV_MAX ? names : "");
	char *fvar = xasprintf("MTASTSD_CHANGED_FILE=%s", afile), *nvar = xasprintf("MTASTSD_CHANGED_COUNT=%zu", count);
	char *argv[] = { "sh", "-c", (char *)(uintptr_t)cmd, NULL };
	static const char *const ours[] = { "MTASTSD_ZONE=", "MTASTSD_CHANGED=", "MTASTSD_CHANGED_FILE=",
		"MTASTSD_CHANGED_COUNT=" };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t mask, dfl;
	pid_t pid;
	int status, err, rc = -1;

	while (environ[n] != NULL)
		n++;
	envp = xcalloc(n + 5, sizeof(*envp));
	n = 0;
	for (char **e = environ; *e != NULL; e++) {
		bool mine = false;
		for (size_t k = 0; k < sizeof(ours) / sizeof(ours[0]); k++)
			mine = mine || strncmp(*e, ours[k], strlen(ours[k])) == 0;
		if (!mine)
			envp[n++] = *e;
	}
	envp[n++] = zvar;
	envp[n++] = cvar;
	envp[n++] = fvar;
	envp[n++] = nvar;
	envp[n] = NULL;
	/*
	 * posix_spawn, not fork: safe in a threaded server. serve blocks SIGHUP,
	 * SIGINT and SIGTERM (for its signalfd) and ignores SIGPIPE: the hook
	 * gets an empty mask and default actions, and its own process group so a
	 * timeout kills everything it started, not only sh.
	 */
	sigemptyset(&mask);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	if ((err = posix_spawnattr_init(&attr)) != 0) {
		log_warnx("dns on_change could not start: %s", strerror(err));
		goto done;
	}
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	if ((err = posix_spawn_file_actions_init(&fa)) != 0) {
		posix_spawnattr_destroy(&attr);
		log_warnx("dns on_change could not start: %s", strerror(err));
		goto done;
	}
	posix_spawn_file_actions_addchdir_np(&fa, adir);
	err = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (err != 0) {
		log_warnx("dns on_change could not start in '%s': %s", adir, strerror(err));
		goto done;
	}
	for (int waited_ms = 0;; waited_ms += 50) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		sigset_t pend;
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			log_warn("dns on_change: waitpid");
			goto done;
		}
		/*
		 * serve blocks SIGHUP/SIGINT/SIGTERM and reads them from a signalfd
		 * only once this returns: a pending one must not wait for the hook.
		 * Stop it (its whole group); the pending marker stays, so the reload
		 * SIGHUP asks for, or the next start-up, runs it again.
		 */
		if (sigpending(&pend) == 0 && (sigismember(&pend, SIGTERM) == 1 || sigismember(&pend, SIGINT) == 1 ||
		    sigismember(&pend, SIGQUIT) == 1 || sigismember(&pend, SIGHUP) == 1)) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			log_warnx("dns on_change stopped: a signal is waiting (it runs again at the next reload or start-up)");
			goto done;
		}
		if (waited_ms >= DNS_ON_CHANGE_TIMEOUT * 1000) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			log_warnx("dns on_change killed after %d seconds", DNS_ON_CHANGE_TIMEOUT);
			goto done;
		}
		nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = 50 * 1000000L }, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else if (WIFEXITED(status))
		log_warnx("dns on_change failed status=%d", WEXITSTATUS(status));
	else
		log_warnx("dns on_change killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
done:
	free(envp);
	free(azone);
	free(adir);
	free(afile);
	free(zvar);
	free(cvar);
	free(fvar);
	free(nvar);
	return rc;
}

/* One domain's record lines in a zone written by zone_render. */
struct block {
	char *name;
	struct buf recs;
};

static int
cmp_block(const void *a, const void *b)
{
	return strcmp(((const struct block *)a)->name, ((const struct block *)b)->name);
}

/*
 * Split TEXT (bind format from zone_render, may be NULL) into per-domain
 * blocks: a comment "; NAME: ..." starts NAME's block and the record lines
 * after it belong to it. Returns the blocks sorted by name.
 */
static struct block *
zone_blocks(const char *text, size_t *n)
{
	struct block *b = NULL;
	size_t cap = 0;
	ssize_t cur = -1;

	*n = 0;
	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > 2 && p[0] == ';' && p[1] == ' ') {
			size_t k = 2;
			while (k < len && (p[k] == '.' || p[k] == '-' || (p[k] >= 'a' && p[k] <= 'z') ||
			    (p[k] >= '0' && p[k] <= '9')))
				k++;
			if (k > 2 && k + 1 < len && p[k] == ':' && p[k + 1] == ' ') {
				if (*n == cap) {
					cap = cap ? cap * 2 : 16;
					b = xreallocarray(b, cap, sizeof(*b));
				}
				b[*n].name = xstrndup(p + 2, k - 2);
				memset(&b[*n].recs, 0, sizeof(b[*n].recs));
				cur = (ssize_t)(*n)++;
			}
		} else if (len > 0 && p[0] != ';' && cur >= 0) {
			buf_append(&b[cur].recs, p, len + (nl != NULL));
		}
		p = nl ? nl + 1 : NULL;
	}
	if (*n > 1)
		qsort(b, *n, sizeof(*b), cmp_block);
	return b;
}

static void
blocks_free(struct block *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].name);
		buf_free(&b[i].recs);
	}
	free(b);
}

/* Append to OUT (space-separated) every domain whose records differ between the zones OLD and NEW. */
static void
zone_changed_domains(const char *old, const char *new, struct buf *out)
{
	size_t na, nb, i = 0, j = 0;
	struct block *a = zone_blocks(old, &na), *b = zone_blocks(new, &nb);

	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i].name, b[j].name);
		const char *x = c <= 0 && a[i].recs.data ? a[i].recs.data : "";
		const char *y = c >= 0 && b[j].recs.data ? b[j].recs.data : "";
		const char *name = c <= 0 ? a[i].name : b[j].name;

		if (strcmp(x, y) != 0)
			buf_printf(out, "%s%s", out->len ? " " : "", name);
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	blocks_free(a, na);
	blocks_free(b, nb);
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

	for (char *t = strtok_r(all, " \t\r\n", &save); t != NULL; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = t;
	}
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
dns_names_excerpt(const char *names, size_t max)
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
dns_publish(const struct config *cfg)
{
	return dns_publish_held(cfg, NULL, 0);
}

int
dns_publish_held(const struct config *cfg, const char *const *held, size_t n_held)
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
	if (update_state(cfg, held, n_held, now, state_known(cfg->dns_state), &st, &ch, &sdl) < 0) {
		for (size_t i = 0; i < sdl.n; i++) {
			char line[4096];
			diag_format(&sdl, i, line, sizeof(line));
			log_error("dns publish: %s", line);
		}
		log_error("dns publish: nothing published; the state file was left unchanged");
		publish_failed();
		diag_free(&sdl);
		return -1;
	}
	diag_free(&sdl);
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
		zone = render(cfg, &st, &ch, now, side, ZONE_BIND, &probs, err, sizeof(err));
		/* such a domain fails alone (check lists it): every other one is published */
		for (size_t i = 0; i < probs.n; i++) {
			char line[4096];
			diag_format(&probs, i, line, sizeof(line));
			log_error("dns publish: %s", line);
		}
		diag_free(&probs);
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
			excerpt = dns_names_excerpt(changed.data ? changed.data : "", DNS_LOG_NAMES_MAX);
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
	push_updates(cfg, &st, now);
	/* a marker in another layout (space-separated, from an older mtastsd) is rewritten one name a line */
	if (hook && pending != NULL && mark_pending(marker, &pending, &ondisk, NULL) < 0) {
		publish_failed();
		goto done;
	}
	if (hook && pending != NULL) {
		/* this change and every one an earlier failed or interrupted run was not told about */
		if (run_on_change(cfg->dns_on_change, cfg->dir, cfg->dns_zone ? cfg->dns_zone : "", marker, pending,
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
	buf_free(&changed);
	ids_state_free(&st);
	ids_changes_free(&ch);
	return rc;
}

/*
 * Assign ids in memory only (never writes): what the next dns run or reload
 * would record. Returns 0, -1 (state unreadable or damaged, year 9999) or
 * PREVIEW_CLOCK (the clock is too far ahead to write the new ids), with the
 * problem in SDL.
 */
#define PREVIEW_CLOCK (-2)
static int
preview(const struct config *cfg, int64_t now, struct ids_state *st, struct ids_changes *ch,
    int *version, struct diag_list *sdl)
{
	struct ids_state old;
	const struct config_domain **doms;
	char err[1024];
	bool exists;
	int rc;

	if (dnsstate_load(cfg->dns_state, &old, version, &exists, sdl) < 0)
		return -1;
	doms = domain_ptrs(cfg);
	rc = ids_assign(&old, doms, cfg->n_domains, now, st, ch);
	free(doms);
	ids_state_free(&old);
	if (rc < 0) {
		diag_add(sdl, DIAG_ERROR, 0, 0, "the clock is past the last id a date can express (year 9999)");
	} else if (ids_check_clock(now, (int64_t)time(NULL), ch, err, sizeof(err)) < 0) {
		diag_add(sdl, DIAG_ERROR, 0, 0, "%s", err);
		ids_state_free(st);
		ids_changes_free(ch);
		rc = PREVIEW_CLOCK;
	}
	return rc;
}

int
dns_retiring(const struct config *cfg, struct config_domain **out, size_t *n)
{
	struct ids_state old;
	struct diag_list sdl;
	char err[256];
	int64_t now;
	int version, rc;
	bool exists;

	*out = NULL;
	*n = 0;
	if (ids_now(&now, err, sizeof(err)) < 0) {
		log_error("dns: %s", err);
		return -1;
	}
	diag_init(&sdl, cfg->dns_state);
	if ((rc = dnsstate_load(cfg->dns_state, &old, &version, &exists, &sdl)) == 0 && !exists &&
	    state_known(cfg->dns_state)) {
		/* the reload is refused: the serving snapshot keeps its retiring domains */
		lost_state_message(cfg->dns_state, &sdl);
		publish_failed();
		rc = DNS_STATE_LOST;
	}
	if (rc < 0) {
		for (size_t i = 0; i < sdl.n; i++) {
			char line[4096];
			diag_format(&sdl, i, line, sizeof(line));
			log_error("dns: %s", line);
		}
		diag_free(&sdl);
		return rc;
	}
	diag_free(&sdl);
	/* only the entries no longer configured matter: no ids are assigned for the others (a reload serves, dns_publish records) */
	/* counted first (marked in the state just read, freed below): the list lives as long as the snapshot */
	for (size_t i = 0; i < old.n; i++)
		if ((old.d[i].retiring = hmap_get(&cfg->by_name, old.d[i].name) == NULL &&
		    ids_retiring_at(&old.d[i], now)))
			(*n)++;
	*out = xcalloc(*n ? *n : 1, sizeof(**out));
	for (size_t i = 0, k = 0; i < old.n; i++)
		if (old.d[i].retiring)
			ids_retiring_policy(&old.d[i], &(*out)[k++]);
	ids_state_free(&old);
	return 0;
}

void
dns_retiring_free(struct config_domain *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ids_domain_config_free(&d[i]);
	free(d);
}

/* `check` with dns.update: each domain whose last RFC 2136 updates failed, from STATE.update (only read). */
static void
update_warnings(const struct config *cfg, struct diag_list *dl)
{
	char *path = xasprintf("%s.update", cfg->dns_state), err[1024];
	struct updstate us;

	if (cfg->dns_update != NULL && updstate_load(path, &us, err, sizeof(err)) < 0)
		diag_add(dl, DIAG_WARNING, 0, 0, "%s; serve sends every domain again", err);
	else if (cfg->dns_update != NULL) {
		for (size_t i = 0; i < us.n; i++) {
			char next[21];
			if (us.e[i].fails == 0)
				continue;
			ids_iso8601(us.e[i].next, next);
			diag_add(dl, DIAG_WARNING, 0, 0, "domain '%s': its last %u RFC 2136 update%s failed (%s, zone '%s');"
			    " the next try is from %s", us.e[i].name, us.e[i].fails, us.e[i].fails == 1 ? "" : "s",
			    us.e[i].result, us.e[i].zone ? us.e[i].zone : "not found", next);
		}
		updstate_free(&us);
	}
	free(path);
}

void
dns_check(const struct config *cfg, struct diag_list *dl)
{
	struct ids_state st;
	struct ids_changes ch;
	struct diag_list sdl;
	char err[1024], *z;
	int64_t now;
	int version, rc;

	if (ids_now(&now, err, sizeof(err)) < 0) {
		diag_add(dl, DIAG_ERROR, 0, 0, "%s", err);
		return;
	}
	diag_init(&sdl, cfg->dns_state);
	if ((rc = preview(cfg, now, &st, &ch, &version, &sdl)) == PREVIEW_CLOCK) {
		/* serve runs, but publishes nothing while the clock is this far ahead */
		diag_add(dl, DIAG_WARNING, 0, 0, "%s", sdl.items[0].msg);
		diag_free(&sdl);
		return;
	}
	if (rc < 0) {
		/* the state has its own file name and positions: print them as they are */
		diag_print(&sdl, stderr);
		diag_add(dl, DIAG_ERROR, 0, 0,
		    "the DNS state file '%s' is damaged or unreadable; `dns` and `serve` will not touch it",
		    cfg->dns_state);
		diag_free(&sdl);
		return;
	}
	diag_free(&sdl);
	if (version != DNSSTATE_VERSION)
		diag_add(dl, DIAG_WARNING, 0, 0,
		    "the DNS state file '%s' is version %d; the next `dns` or `serve` upgrades it to %d",
		    cfg->dns_state, version, DNSSTATE_VERSION);
	for (size_t i = 0; i < st.n; i++) {
		char from[21], since[21];
		int64_t t = 0;
		if (!st.d[i].retiring)
			continue;
		ids_parse(st.d[i].id, &t);
		ids_iso8601(t, since);
		ids_iso8601(ids_deletable_at(&st.d[i]), from);
		diag_add(dl, DIAG_WARNING, 0, 0,
		    "domain '%s' is retiring: removed from the configuration, served as mode none since %s"
		    " (keep a certificate for mta-sts.%s until then); its DNS records may be deleted from %s",
		    st.d[i].name, since, st.d[i].name, from);
	}
	for (size_t i = 0; i < st.n; i++) {
		char until[21];
		if (!st.d[i].expired)
			continue;
		ids_iso8601(ids_forget_at(&st.d[i]), until);
		diag_add(dl, DIAG_WARNING, 0, 0,
		    "domain '%s' has finished retiring: its DNS records may be deleted now"
		    " (`dns` keeps saying so, and nsupdate scripts keep deleting them, until %s)",
		    st.d[i].name, until);
	}
	update_warnings(cfg, dl);
	if (cfg->dns_delegate_zone != NULL && cfg->dns_host_target == NULL)
		diag_add(dl, DIAG_WARNING, 0, 0, "dns.delegate_zone '%s' without dns.host_target: `dns --side customer` "
		    "cannot say where each customer's mta-sts.<domain> must point; set dns.host_target to the host "
		    "that serves the policies", cfg->dns_delegate_zone);
	for (size_t i = 0; i < cfg->n_domains; i++) {
		struct zone_params zp = { .host_target = cfg->dns_host_target };
		const struct config_domain *d = &cfg->domains[i];
		if (zone_is_host_target(&zp, d->name))
			diag_add(dl, DIAG_WARNING, d->line, d->col,
			    "domain '%s': its policy host is dns.host_target 'mta-sts.%s' itself, so no CNAME is"
			    " written for it (it would point at itself); give mta-sts.%s A/AAAA records",
			    d->name, d->name, d->name);
	}
	z = render(cfg, &st, &ch, now, cfg->dns_delegate_zone ? ZONE_PROVIDER : ZONE_DIRECT, ZONE_BIND, dl, err,
	    sizeof(err));
	if (z == NULL)
		diag_add(dl, DIAG_ERROR, 0, 0, "%s", err);
	free(z);
	ids_state_free(&st);
	ids_changes_free(&ch);
}
