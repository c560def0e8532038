/* SPDX-License-Identifier: MIT */
/* dnscmd: the `mtastsd dns` command, which prints the DNS records and assigns their ids. */
#include "commands.h"
#include "dnsids.h"
#include "dnspublish.h"
#include "dnsrecords.h"
#include "dnsstate.h"
#include "ids.h"
#include "snapshot.h"
#include "util.h"
#include "zone.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The records as serve published them, from ST alone: every active entry
 * (configured domains in config order first, then entries the config no
 * longer has), then the retiring ones. A domain's TLSRPT record is shown
 * only when the config's rua list is the one the state recorded.
 */
static char *
render_published(const struct config *cfg, const struct domset *ds, const struct ids_state *st, int64_t now, enum zone_side side,
    enum zone_format fmt, struct diag_list *problems, char *err, size_t errlen)
{
	struct zone_domain *zd = xcalloc(st->n + 1, sizeof(*zd));
	bool *done = xcalloc(st->n + 1, sizeof(*done)), *expired_tls;
	const char **expired;
	size_t k = 0, n_expired;
	char *out;

	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < (pass == 0 ? ds->n : st->n); i++) {
			const struct config_domain *d = pass == 0 ? ds->v[i] : NULL;
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
				d = domset_find(ds, e->name);
			if (d != NULL) {
				zd[k].line = d->line;
				zd[k].col = d->col;
			}
			if (d != NULL && !e->retiring && strlist_len(d->tlsrpt) > 0) {
				char h[17];
				ids_rua_hash(d, h);
				if (strcmp(h, e->rua) == 0) {
					zd[k].rua = strlist_items(d->tlsrpt);
					zd[k].n_rua = strlist_len(d->tlsrpt);
				}
			}
			if (!e->retiring && strcmp(e->rua, "-") != 0 && zd[k].n_rua == 0)
				fprintf(stderr, "mtastsd: dns: %s: the TLSRPT record serve published is not shown: "
				    "its rua list is no longer the config's\n", e->name);
			ids_parse(e->id, &zd[k].changed);
			k++;
		}
	}
	expired = dnsrecords_expired(st, now, &expired_tls, &n_expired);
	out = dnsrecords_render_domains(cfg, zd, k, expired, expired_tls, n_expired, side, fmt, problems, err, errlen);
	free(expired);
	free(expired_tls);
	free(zd);
	free(done);
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
	struct snapshot *snap;
	const struct config *cfg;
	const struct domset *ds;
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
	if ((snap = cmd_load(config_path, false)) == NULL)
		return EXIT_INVALID;
	cfg = snap->cfg;
	ds = &snap->domains;
	if (cfg->dns_delegate_zone == NULL) {
		if (side_arg != NULL) {
			fprintf(stderr, "mtastsd: dns: --side needs dns.delegate_zone in %s\n", config_path);
			snapshot_unref(snap);
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
	if (dnspublish_serve_owns_ids(cfg->dns_state)) {
		int version;
		bool exists;

		fprintf(stderr, "mtastsd: dns: a running `serve` owns the ids of %s: these are the records it "
		    "published; the config's pending changes appear once serve reloads\n", cfg->dns_state);
		if (dnsstate_load(cfg->dns_state, &st, &version, &exists, &sdl) < 0) {
			diag_print(&sdl, stderr);
			goto done;
		}
		memset(&ch, 0, sizeof(ch));
		out = render_published(cfg, ds, &st, now, side, fmt, &probs, err, sizeof(err));
	} else if (dnsids_update_locked(cfg, ds, NULL, 0, now, false, &st, &ch, &sdl) < 0) {
		diag_print(&sdl, stderr);
		fprintf(stderr, "mtastsd: dns: the state file was left unchanged\n");
		goto done;
	} else {
		out = dnsrecords_render(cfg, ds, &st, now, side, fmt, &probs, err, sizeof(err));
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
	ids_state_clear(&st);
	ids_changes_clear(&ch);
done:
	dnsstate_unlock(lockfd);
	diag_clear(&sdl);
	diag_clear(&probs);
	snapshot_unref(snap);
	return rc;
}
