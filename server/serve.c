/* SPDX-License-Identifier: MIT */
/* serve: the `serve` command; start-up order, the reload loop and a clean shutdown. */
#include "acmeorder.h"
#include "certstore.h"
#include "commands.h"
#include "dnspublish.h"
#include "dnspush.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "privdrop.h"
#include "privsep.h"
#include "reload.h"
#include "signals.h"
#include "snapshot.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* design.md: a domain nothing can serve gets no new id published until it can be */
static int
publish(const struct snapshot *snap)
{
	const char **held;
	size_t n = snapshot_unserved(snap, time(NULL), &held);
	int rc = dnspublish_held(snap->cfg, &snap->domains, held, n);

	free(held);
	return rc;
}

/* Each snapshot built to serve: http's part, then its log.level (a -v on the command line wins). */
static int
prepare(struct snapshot *snap)
{
	if (http_prepare(snap) < 0)
		return -1;
	log_set_level(snap->cfg->log_level);
	return 0;
}

static bool
identity_ok(const struct config *cfg, const char *config_path)
{
	struct diag_list dl;
	int rc;

	diag_init(&dl, config_path);
	rc = check_identity(cfg, &dl);
	diag_log(&dl, "", LOG_LEVEL_ERROR);
	diag_clear(&dl);
	return rc == 0;
}

int
cmd_serve(const char *config_path, int argc, char **argv)
{
	sigset_t set;
	struct snapshot *snap;
	struct http *h;
	int rc;
	(void)argv;

	if (argc != 1) {
		fprintf(stderr, "mtastsd: serve takes no arguments\n");
		return EXIT_USAGE;
	}
	/* blocked before any thread exists, so only the reload loop ever sees them (signalfd) */
	signals_serve_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* forked before any thread exists and before any key is in memory: the reader holds none */
	if (geteuid() == 0)
		(void)privsep_start();

	if (certstore_global_init() < 0)
		return EXIT_INVALID;
	reload_set_prepare(prepare);
	/* design.md: reload first, then rewrite the zone file, then run on_change */
	reload_set_publish_hook(publish);
	/* the config's folder first: a change while it is read gives one more reload, not none */
	reload_watch_begin(config_path);
	if ((snap = reload_build(config_path)) == NULL) {
		log_error("not starting: the configuration has errors");
		certstore_global_deinit();
		return EXIT_INVALID;
	}
	/* privileges are dropped only after binding: a user that cannot exist is refused before */
	if (!identity_ok(snap->cfg, config_path)) {
		log_error("not starting: the configuration has errors");
		snapshot_unref(snap);
		certstore_global_deinit();
		return EXIT_INVALID;
	}
	metrics_set_domains(snap->n_sites);
	metrics_set_loaded((long long)snap->loaded_at);
	/* published before the listeners open, so the first connection already has it */
	snapshot_publish(snapshot_ref(snap));
	/* and what it names, before anyone can see it serving */
	reload_watch_begin(config_path);
	if ((h = http_start(snap)) == NULL) {
		snapshot_unref(snap);
		snapshot_publish(NULL);
		certstore_global_deinit();
		return EXIT_INVALID;
	}
	/* ports are bound and keys loaded: root is no longer needed, but to open what is under tls.certs */
	if (privdrop_needed(snap->cfg) && snap->cfg->n_https > 0 && snap->cfg->tls_certs != NULL)
		(void)privsep_lock(snap->cfg->tls_certs);
	else
		privsep_stop();
	if (privdrop_apply(snap->cfg) < 0) {
		http_shutdown(h);
		snapshot_unref(snap);
		snapshot_publish(NULL);
		certstore_global_deinit();
		return EXIT_INVALID;
	}
	/* the listeners answer challenges now; a second orderer on the same storage is refused here */
	if (acmeorder_start(snap) < 0) {
		http_shutdown(h);
		snapshot_unref(snap);
		snapshot_publish(NULL);
		certstore_global_deinit();
		return EXIT_INVALID;
	}
	log_info("serving config=%s domains=%zu certificates=%zu", config_path, snap->n_sites,
	    certstore_count(snap->certs));
	reload_publish(snap);
	/* what is bound now: reloads are compared with it for what needs a restart */
	reload_set_running(snap);
	snapshot_unref(snap);

	rc = reload_loop(config_path);
	acmeorder_stop();
	reload_set_running(NULL);
	dnspush_stop();
	http_shutdown(h);
	privsep_stop();
	snapshot_publish(NULL);
	certstore_global_deinit();
	log_info("stopped");
	return rc == 0 ? EXIT_OK : EXIT_INVALID;
}
