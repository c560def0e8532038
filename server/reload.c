/* SPDX-License-Identifier: MIT */
/* reload: SIGHUP and file-change driven rebuild of the serving snapshot, swapped whole or not at all. */
#include "reload.h"
#include "acmeorder.h"
#include "certstore.h"
#include "dnspublish.h"
#include "log.h"
#include "metrics.h"
#include "privsep.h"
#include "restartkeys.h"
#include "signals.h"
#include "snapshot.h"
#include "tenantdir.h"
#include "util.h"
#include "wdset.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* long enough for an editor or certbot to finish writing, short enough to feel immediate */
#define SETTLE_MS 200

static int (*publish_hook)(const struct snapshot *snap);
static int publish(const struct snapshot *snap);
static int (*prepare_fn)(struct snapshot *snap);

/*
 * A failed publication is retried by itself, on a backoff, until it succeeds
 * (a later reload also retries, and resets the backoff when it succeeds).
 * retry_ms is the delay before the next attempt, 0 while nothing failed;
 * retry_armed says whether reload_loop has set its timer for it.
 */
static long retry_ms;
static unsigned retry_attempt;
static bool retry_armed;
/* the last reload was refused because serve's DNS state file is gone: the retry is a reload */
static bool retry_reload;

/* Schedule the next retry, twice the last delay (RELOAD_RETRY_FIRST_MS at first). */
static void
retry_later(void)
{
	retry_attempt++;
	retry_ms = retry_ms == 0 ? RELOAD_RETRY_FIRST_MS : retry_ms * 2;
	if (retry_ms > RELOAD_RETRY_MAX_MS)
		retry_ms = RELOAD_RETRY_MAX_MS;
	retry_armed = false;
	metrics_set_dns_retry_pending(1);
}

void
reload_set_publish_hook(int (*fn)(const struct snapshot *snap))
{
	publish_hook = fn;
}

int
reload_publish(const struct snapshot *snap)
{
	int rc = publish(snap);

	/* publishing a million domains builds and frees the state, the zone and their texts */
	mem_give_back();
	return rc;
}

static int
publish(const struct snapshot *snap)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (publish_hook == NULL || publish_hook(snap) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		metrics_dns_published((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		if (retry_ms > 0)
			log_info("dns publish succeeded after %u failed attempt%s", retry_attempt,
			    retry_attempt == 1 ? "" : "s");
		retry_ms = 0;
		retry_attempt = 0;
		metrics_set_dns_retry_pending(0);
		return 0;
	}
	retry_later();
	log_warnx("dns publish failed: retrying in %ld s by itself (attempt %u)", (retry_ms + 999) / 1000,
	    retry_attempt);
	return -1;
}

/* Arm TFD for the pending retry, once per failure. */
static void
retry_arm(int tfd)
{
	struct itimerspec its = { { 0, 0 }, { retry_ms / 1000, (retry_ms % 1000) * 1000000L } };

	if (retry_ms == 0 || retry_armed)
		return;
	if (timerfd_settime(tfd, 0, &its, NULL) < 0)
		log_warn("%s: timerfd_settime", __func__);
	retry_armed = true;
}

/*
 * The retry timer fired: publish the serving configuration again, or, when
 * the last reload was refused for a lost state file, reload (so restoring
 * the file is enough). Returns true when it reloaded.
 */
static bool
retry_now(const char *config_path)
{
	struct snapshot *snap;

	if (retry_reload && retry_ms > 0) {
		metrics_dns_publish_retry();
		log_info("dns state: reloading again to see whether the state file is back (attempt %u)",
		    retry_attempt + 1);
		reload_now(config_path);
		return true;
	}
	snap = snapshot_current();
	if (retry_ms == 0 || snap == NULL) {
		snapshot_unref(snap);
		return false;
	}
	metrics_dns_publish_retry();
	log_info("dns publish: retrying (attempt %u)", retry_attempt + 1);
	reload_publish(snap);
	snapshot_unref(snap);
	return false;
}

void
reload_set_prepare(int (*fn)(struct snapshot *snap))
{
	prepare_fn = fn;
}

/* What SNAP does not serve (snapshot_site_serving, as `check` judges it): logged and counted. */
static void
report_unserved(const struct snapshot *snap)
{
	time_t now = time(NULL);
	size_t n = 0;
	char why[1024];

	for (size_t i = 0; i < snap->n_sites; i++) {
		const struct site *s = snap->sites[i];
		enum snapshot_serving v = snapshot_site_serving(snap, s, now);

		if (v == SNAPSHOT_SERVED)
			continue;
		certstore_explain(snap->certs, snap->cfg->tls_certs, s->host, now, why, sizeof(why));
		if (v == SNAPSHOT_HTTP_ONLY) {
			log_warnx("%s: HTTPS requests for it fail the handshake; plain HTTP serves it", why);
		} else {
			log_error("domain '%s' is not served (no new id is published for it): %s", s->domain->name,
			    why);
			n++;
		}
	}
	metrics_set_unserved(n, certstore_count_broken(snap->certs));
}

/* The domain serving NAME in the serving snapshot ARG: what keeps a domain defined twice (tenants_merge). */
static const struct config_domain *
serving_in(const void *arg, const char *name)
{
	return domset_find(&((const struct snapshot *)arg)->domains, name);
}

/* Whether A and B list the same tenant files (by name), each with the same version in force or refused. */
static bool
same_tenants(const struct tenants *a, const struct tenants *b)
{
	if (a == NULL || b == NULL || a->n != b->n)
		return a == b;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, b->v[i].name) != 0 || a->v[i].in_force != b->v[i].in_force ||
		    a->v[i].refused != b->v[i].refused)
			return false;
	return true;
}

/* Log why each refused tenant file of T is refused (FILE:LINE:COL each), and count them. */
static void
report_tenants(const struct tenants *t)
{
	for (size_t i = 0; t != NULL && i < t->n; i++)
		if (t->v[i].refused)
			diag_log(&t->v[i].why, "", LOG_LEVEL_WARN);
	if (t != NULL && t->n_refused > 0)
		log_warnx("%zu of %zu tenant files refused: their last good versions (if any) are served", t->n_refused,
		    t->n);
	metrics_set_tenants(t ? t->n : 0, t ? t->n_refused : 0);
}

/*
 * The config at CONFIG_PATH, its certificates, its tenant files and the
 * retiring domains from the DNS state, as a snapshot (NULL: an error in
 * DL, *STATE_LOST: the state file serve published from is gone, or
 * *UNCHANGED: TENANTS_ONLY and no tenant file changed). TENANTS_ONLY: only
 * tenant files changed, so those whose version on disk is the one the
 * serving snapshot read are not read again; otherwise every file is read
 * (the defaults they inherit may have changed).
 */
static struct snapshot *
load(const char *config_path, bool tenants_only, struct diag_list *dl, bool *state_lost, bool *unchanged)
{
	struct snapshot *prev = snapshot_current(), *snap = NULL;
	struct snapshot_parts p = {0};
	int rc;

	*state_lost = *unchanged = false;
	if ((p.cfg = config_load(config_path, dl)) == NULL || snapshot_load_certs(p.cfg, &p.certs, dl) < 0)
		goto done;
	if (tenantdir_load(p.cfg, tenants_only && prev ? prev->tenants : NULL, true, prev ? serving_in : NULL, prev,
	    &p.tenants, NULL, dl) < 0)
		goto done;
	if (tenants_only && prev != NULL && same_tenants(prev->tenants, p.tenants)) {
		*unchanged = true;
		goto done;
	}
	/* a reload that read only changed tenant files builds the lookups as versions of the serving ones */
	p.prev = tenants_only ? prev : NULL;
	domset_build(&p.domains, p.cfg, p.tenants, p.prev ? &prev->domains : NULL);
	if ((rc = dnspublish_retiring_since(p.cfg, &p.domains, p.prev ? &prev->domains : NULL, &p.retiring,
	    &p.n_retiring)) == DNSPUBLISH_STATE_LOST) {
		*state_lost = true;
		goto done;
	}
	snap = snapshot_from(&p);
done:
	snapshot_parts_clear(&p);
	snapshot_unref(prev);
	return snap;
}

/* reload_build, with load's TENANTS_ONLY and UNCHANGED. */
static struct snapshot *
build(const char *config_path, bool tenants_only, bool *unchanged)
{
	struct diag_list dl;
	struct snapshot *snap;
	bool state_lost;

	diag_init(&dl, config_path);
	snap = load(config_path, tenants_only, &dl, &state_lost, unchanged);
	diag_sort(&dl);
	diag_log(&dl, "", LOG_LEVEL_WARN);
	diag_clear(&dl);
	if (state_lost) {
		/* the retiring domains would vanish: the serving snapshot stays (dnspublish_retiring logged why) */
		retry_reload = true;
		return NULL;
	}
	if (snap == NULL)
		return NULL;
	if (prepare_fn != NULL && prepare_fn(snap) < 0) {
		snapshot_unref(snap);
		return NULL;
	}
	report_tenants(snap->tenants);
	report_unserved(snap);
	return snap;
}

struct snapshot *
reload_build(const char *config_path)
{
	bool unchanged;

	return build(config_path, false, &unchanged);
}

size_t
reload_restart_diff(const struct config *running, const struct config *cfg, char *out, size_t len)
{
	/* the reader, once locked, opens files only under the tls.certs serve started with */
	return restartkeys_diff(running, cfg, privsep_running() ? RESTARTKEYS_READER_LOCKED : 0, out, len);
}

/*
 * The keys serve started with: its listeners, limits and user are what runs.
 * A copy of those keys only: a reference to the start-up snapshot would keep
 * its domains, sites and certificates in memory for as long as serve runs.
 */
static struct config *running;

void
reload_set_running(const struct snapshot *snap)
{
	config_free(running);
	running = snap ? restartkeys_copy(snap->cfg) : NULL;
	metrics_set_restart_pending(NULL);
}

/*
 * Listeners, limits and the user are bound at start-up. Each reload compares
 * the new config with what runs (not with the previous reload), so a change
 * is reported at every reload until a restart, and a revert clears it.
 */
static void
warn_restart_needed(const struct config *cfg)
{
	char what[256];

	if (running == NULL)
		return;
	if (reload_restart_diff(running, cfg, what, sizeof(what)) > 0) {
		log_warnx("%s in the configuration differ from what is running: they take effect after a restart",
		    what);
		metrics_set_restart_pending(what);
	} else {
		if (metrics_restart_pending(NULL, 0))
			log_info("listeners, limits and user match what is running again: no restart pending");
		metrics_set_restart_pending(NULL);
	}
}

/* reload_now, reading only the tenant files that changed when TENANTS_ONLY. */
static int
reload_run(const char *config_path, bool tenants_only)
{
	struct snapshot *snap;
	bool unchanged;

	log_info("reloading config=%s%s", config_path, tenants_only ? " (tenant files changed)" : "");
	retry_reload = false;
	if ((snap = build(config_path, tenants_only, &unchanged)) == NULL) {
		if (unchanged) {
			log_info("no tenant file changed: nothing to reload");
			return 0;
		}
		metrics_reload(0);
		log_error("reload failed: keeping the configuration that is serving");
		if (retry_reload) {
			retry_later();
			log_warnx("dns state: reloading again in %ld s by itself, until the state file is restored or "
			    "`mtastsd dns --start-over` has run (attempt %u)", (retry_ms + 999) / 1000, retry_attempt);
		}
		return -1;
	}
	warn_restart_needed(snap->cfg);
	snapshot_ref(snap);
	snapshot_publish(snap);
	metrics_reload(1);
	metrics_set_domains(snap->n_sites);
	metrics_set_loaded((long long)snap->loaded_at);
	/* the orderer plans from what is served */
	acmeorder_update(snap);
	log_info("reloaded config=%s domains=%zu certificates=%zu unchanged=%zu", config_path, snap->n_sites,
	    certstore_count(snap->certs), certstore_count_reused(snap->certs));
	/* the new policies are served before anything announces them */
	reload_publish(snap);
	snapshot_unref(snap);
	return 0;
}

int
reload_now(const char *config_path)
{
	return reload_run(config_path, false);
}

/* ---- watching files ---- */

struct watch {
	int fd;
	int cfg_wd;		/* the config file's folder */
	char *cfg_base;		/* the config file's name in it */
	struct wdset cert_wds;	/* the folders under tls.certs, by watch descriptor */
	int certs_parent_wd;	/* the folder holding tls.certs: its removal and re-creation */
	char *certs_base;	/* tls.certs's name in it */
	char *own_state, *own_zone;	/* names of the files serve writes (NULL: none) */
	int tenants_wd;		/* domains_dir (-1: none) */
	int acme_parent_wd;	/* acme.storage: its certs/ made later, moved in or away (-1: none) */
	bool acme_warned;	/* acme.storage could not be watched: said once */
	int max_wd;		/* the highest descriptor a certificate watch got so far */
	bool fresh;		/* a certificate folder was watched for the first time, not listed since */
};

/* What a batch of events changed: watch_read's result. */
enum {
	WATCH_MAIN = 1,		/* the config file or the certificates: everything is read again */
	WATCH_TENANTS = 2	/* domains_dir only: only the tenant files that changed are read */
};

/* The last component of PATH (NULL stays NULL); owned by the caller. */
static char *
base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return path == NULL ? NULL : xstrdup(slash ? slash + 1 : path);
}

bool
reload_own_file(const char *name, const char *state, const char *zone)
{
	static const char *const beside[] = { ".lock", ".pending", ".serving", ".update", NULL };
	size_t n;

	if (zone != NULL && strncmp(name, zone, n = strlen(zone)) == 0 &&
	    (name[n] == '\0' || strncmp(name + n, ".tmp.", 5) == 0))
		return true;
	if (state == NULL || strncmp(name, state, n = strlen(state)) != 0)
		return false;
	name += n;
	if (name[0] == '\0' || strncmp(name, ".tmp.", 5) == 0)
		return true;
	for (size_t i = 0; beside[i] != NULL; i++) {
		size_t b = strlen(beside[i]);
		if (strncmp(name, beside[i], b) == 0 && (name[b] == '\0' || strncmp(name + b, ".tmp.", 5) == 0))
			return true;
	}
	return false;
}

/*
 * Note WD as a certificate watch: one above every earlier descriptor is a
 * folder watched for the first time (inotify numbers its watches upwards),
 * whose changes since the load listed it no event reports.
 */
static void
watch_note(struct watch *w, int wd)
{
	if (wd > w->max_wd) {
		w->max_wd = wd;
		w->fresh = true;
	}
}

/* Watch every folder under tls.certs the serving store listed: the folders its pairs were looked for in. */
static void
watch_cert_folders(struct watch *w, const struct certstore *cs)
{
	for (size_t i = 0; i < certstore_count_folders(cs); i++) {
		const char *dir = certstore_folder(cs, i);
		int wd = privsep_add_watch(w->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
		    IN_DELETE | IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF);

		if (wd < 0)
			log_warn("%s: cannot watch '%s'", __func__, dir);
		else {
			wdset_add(&w->cert_wds, wd);
			watch_note(w, wd);
		}
	}
}

static void
watch_close(struct watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->cfg_base);
	wdset_clear(&w->cert_wds);
	free(w->certs_base);
	free(w->own_state);
	free(w->own_zone);
	w->own_state = w->own_zone = NULL;
	w->cfg_base = NULL;
	w->certs_base = NULL;
}

/*
 * Watch the folder holding CERTS for CERTS's own name: a watch on CERTS dies
 * with it, so a tls.certs removed and made again (rm -r, a restore, a
 * volume remounted) would go unseen; its re-creation now triggers the reload
 * that watches the new one. IN_MASK_ADD: the folder may be the config's.
 */
static void
watch_certs_parent(struct watch *w, const char *certs)
{
	char *top = xstrdup(certs), *parent, *slash;
	size_t n = strlen(top);

	while (n > 1 && top[n - 1] == '/')
		top[--n] = '\0';
	slash = strrchr(top, '/');
	free(w->certs_base);
	w->certs_base = xstrdup(slash ? slash + 1 : top);
	parent = path_dirname(top);
	w->certs_parent_wd = inotify_add_watch(w->fd, parent, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
	    IN_ATTRIB | IN_MASK_ADD);
	if (w->certs_parent_wd < 0)
		log_warn("%s: cannot watch '%s'", __func__, parent);
	watch_note(w, w->certs_parent_wd);
	free(parent);
	free(top);
}

/*
 * Watch acme.storage for its certs/ folder: the orderer makes it at its first
 * issue, maybe after this replica started, and certs/ itself is watched
 * (watch_cert_folders) only once a load listed it. Warned about once.
 */
static void
watch_acme_parent(struct watch *w, const char *storage)
{
	char *top = xstrdup(storage);
	size_t n = strlen(top);

	while (n > 1 && top[n - 1] == '/')
		top[--n] = '\0';
	w->acme_parent_wd = privsep_add_watch(w->fd, top, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
	    IN_ATTRIB | IN_MASK_ADD);
	if (w->acme_parent_wd < 0 && !w->acme_warned)
		log_warn("%s: cannot watch acme.storage '%s': its new certificates are seen by the periodic "
		    "listing only", __func__, top);
	w->acme_warned = w->acme_parent_wd < 0;
	watch_note(w, w->acme_parent_wd);
	free(top);
}

/*
 * Add the watches the serving config needs. The inotify descriptor is kept
 * across reloads, so a change made while a reload runs is still queued;
 * watches on folders that no longer matter only cause a spare reload.
 */
static void
watch_setup(struct watch *w, const char *config_path)
{
	struct snapshot *snap = snapshot_current();
	char *dir = path_dirname(config_path);
	const char *slash = strrchr(config_path, '/');

	/* MTASTSD_TEST_NO_INOTIFY (tests only): as on a file system whose writes inotify never reports */
	if (w->fd < 0 && (getenv("MTASTSD_TEST_NO_INOTIFY") != NULL ? (errno = ENOSYS, -1) :
	    (w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC))) < 0) {
		static bool warned;

		if (!warned)
			log_warn("%s: inotify unavailable, reload on SIGHUP (and acme.storage/certs's periodic listing) "
			    "only", __func__);
		warned = true;
		free(dir);
		snapshot_unref(snap);
		return;
	}
	free(w->cfg_base);
	w->cfg_base = xstrdup(slash ? slash + 1 : config_path);
	wdset_reset(&w->cert_wds);
	/* adding the same folder again returns its descriptor: no event between two setups is lost */
	w->tenants_wd = -1;
	free(w->own_state);
	free(w->own_zone);
	w->own_state = base_name(snap ? snap->cfg->dns_state : NULL);
	w->own_zone = base_name(snap ? snap->cfg->dns_zone : NULL);
	w->cfg_wd = inotify_add_watch(w->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB);
	if (w->cfg_wd < 0)
		log_warn("%s: cannot watch '%s'", __func__, dir);
	if (snap != NULL && snap->cfg->n_https > 0 && snap->cfg->tls_certs != NULL) {
		watch_certs_parent(w, snap->cfg->tls_certs);
		watch_cert_folders(w, snap->certs);
	}
	w->acme_parent_wd = -1;
	if (snap != NULL && snap->cfg->n_https > 0 && snap->cfg->acme != NULL)
		watch_acme_parent(w, snap->cfg->acme->storage);
	/* every entry, dot-names too: a ConfigMap swaps its `..data` link, atomic writers rename temporaries */
	if (snap != NULL && snap->cfg->domains_dir != NULL &&
	    (w->tenants_wd = privsep_add_watch(w->fd, snap->cfg->domains_dir, IN_CLOSE_WRITE | IN_MOVED_TO |
	    IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)) < 0)
		log_warn("%s: cannot watch domains_dir '%s'", __func__, snap->cfg->domains_dir);
	free(dir);
	snapshot_unref(snap);
}

/* Drain the inotify queue; what changed that we care about (WATCH_*, 0: nothing). */
static int
watch_read(struct watch *w)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false;
	int tenants = 0;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				relevant = true;
			else if (ev->mask & IN_IGNORED)
				;
			else if (ev->wd == w->tenants_wd && w->tenants_wd >= 0)
				tenants = WATCH_TENANTS;
			else {
				bool cert = wdset_has(&w->cert_wds, ev->wd);

				/*
				 * mtastsd's own writes (the state, its lock and marker, the
				 * zone, their temporaries) never trigger a reload, wherever
				 * they lie: in a watched folder each publish would start
				 * the next reload, forever.
				 */
				if (cert && ev->len > 0 && reload_own_file(ev->name, w->own_state, w->own_zone))
					;
				else if (cert)
					relevant = true;
				/* the file itself, or a ConfigMap-style "..data" symlink swap beside it */
				else if (ev->wd == w->cfg_wd && ev->len > 0 &&
				    (strcmp(ev->name, w->cfg_base) == 0 || strncmp(ev->name, "..", 2) == 0))
					relevant = true;
				/* tls.certs itself made again, moved in or away */
				if (ev->wd == w->certs_parent_wd && ev->len > 0 && w->certs_base != NULL &&
				    strcmp(ev->name, w->certs_base) == 0)
					relevant = true;
				/* acme.storage/certs made (by the orderer, maybe on another node), moved in or away */
				if (ev->wd == w->acme_parent_wd && w->acme_parent_wd >= 0 && ev->len > 0 &&
				    strcmp(ev->name, "certs") == 0)
					relevant = true;
			}
			p += sizeof(struct inotify_event) + ev->len;
		}
	}
	return (relevant ? WATCH_MAIN : 0) | tenants;
}

/*
 * Arm VFD (CLOCK_REALTIME) for the next time a pair of the serving store
 * comes into or goes out of validity. Handshakes follow the clock on their
 * own; what is published and counted as served is judged again then.
 */
static void
validity_arm(int vfd)
{
	struct snapshot *snap = snapshot_current();
	time_t t = snap ? certstore_next_change(snap->certs, time(NULL)) : 0;
	struct itimerspec its = { { 0, 0 }, { t, 0 } };

	snapshot_unref(snap);
	if (vfd >= 0 && timerfd_settime(vfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn("%s: timerfd_settime", __func__);
}

/* A pair came into or went out of validity: the serving snapshot is judged again, and published. */
static void
validity_now(void)
{
	struct snapshot *snap = snapshot_current();

	if (snap == NULL)
		return;
	log_info("a certificate came into or went out of validity: judging what is served again");
	report_unserved(snap);
	reload_publish(snap);
	snapshot_unref(snap);
}

/* reload_request's descriptor: any thread writes, reload_loop reads */
static int request_fd = -1;
static pthread_once_t request_once = PTHREAD_ONCE_INIT;

static void
request_init(void)
{
	if ((request_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		log_warn("%s: eventfd", __func__);
}

void
reload_request(void)
{
	uint64_t one = 1;

	pthread_once(&request_once, request_init);
	if (request_fd >= 0 && write(request_fd, &one, sizeof(one)) < 0)
		log_warn("%s: write", __func__);
}

/*
 * acme.storage/certs is listed again every ACME_RELIST_S seconds: on NFS, EFS
 * or CephFS inotify sees nothing of what the orderer writes on another node.
 * MTASTSD_TEST_ACME_RELIST=SECONDS in the environment (tests only) replaces it.
 */
#define ACME_RELIST_S 60

/* Arm AFD to fire every ACME_RELIST_S seconds (or the test's interval). */
static void
acme_relist_arm(int afd)
{
	const char *hook = getenv("MTASTSD_TEST_ACME_RELIST");
	long s = ACME_RELIST_S;
	struct itimerspec its;

	if (hook != NULL && hook[0] != '\0') {
		char *end;
		long v = strtol(hook, &end, 10);

		if (*end == '\0' && v > 0)
			s = v;
	}
	its = (struct itimerspec){ { s, 0 }, { s, 0 } };
	if (afd >= 0 && timerfd_settime(afd, 0, &its, NULL) < 0)
		log_warn("%s: timerfd_settime", __func__);
}

/* Mix the LEN bytes at P into the signature *H: order matters. */
static void
sig_mix(unsigned long long *h, const void *p, size_t len)
{
	*h = (*h ^ mem_hash(p, len)) * 0x100000001b3ULL;
}

/* Mix S (NULL apart from "") into *H. */
static void
sig_mix_str(unsigned long long *h, const char *s)
{
	sig_mix(h, s != NULL ? s : "", s != NULL ? strlen(s) + 1 : 0);
}

/* Mix PATH and its file's identity (inode, size, modification and change times; 0s: none) into *H. */
static void
sig_mix_file(unsigned long long *h, const char *path)
{
	struct stat st;
	long long v[6] = { 0 };

	if (path != NULL && privsep_stat(path, &st) == 0) {
		v[0] = (long long)st.st_ino;
		v[1] = (long long)st.st_size;
		v[2] = (long long)st.st_mtim.tv_sec;
		v[3] = st.st_mtim.tv_nsec;
		v[4] = (long long)st.st_ctim.tv_sec;
		v[5] = st.st_ctim.tv_nsec;
	}
	sig_mix_str(h, path);
	sig_mix(h, v, sizeof(v));
}

/*
 * What a listing found, as a signature: the counts, each pair's two files
 * and validity, each folder and each diagnostic (in any order: the sum of
 * one hash per entry). Two listings with one signature make the same store,
 * so the periodic listing reloads for it once however long it lasts.
 */
static unsigned long long
listing_signature(const struct certstore *cs, const struct diag_list *dl)
{
	size_t n[3] = { certstore_count(cs), certstore_count_broken(cs), certstore_count_folders(cs) };
	unsigned long long sum = 0, h = 0xcbf29ce484222325ULL;

	sig_mix(&h, n, sizeof(n));
	for (size_t i = 0; i < n[0]; i++) {
		unsigned long long e = 1;
		time_t t[2] = { certstore_cert_not_before(cs, i), certstore_cert_not_after(cs, i) };

		sig_mix_file(&e, certstore_cert_path(cs, i));
		sig_mix_file(&e, certstore_key_path(cs, i));
		sig_mix(&e, t, sizeof(t));
		sum += e;
	}
	for (size_t i = 0; i < n[2]; i++) {
		unsigned long long e = 2;

		sig_mix_str(&e, certstore_folder(cs, i));
		sum += e;
	}
	for (size_t i = 0; i < dl->n; i++) {
		const struct diag *d = &dl->items[i];
		unsigned long long e = 3;
		int pos[3] = { (int)d->level, d->line, d->col };

		sig_mix(&e, pos, sizeof(pos));
		sig_mix_str(&e, d->file);
		sig_mix_str(&e, d->msg);
		sum += e;
	}
	sig_mix(&h, &sum, sizeof(sum));
	return h;
}

/*
 * The signature of the last listing the periodic listing reloaded for, while
 * the listings still differ from the serving store: a pair that stays broken
 * (its old version kept in service) or a reload that failed is reacted to
 * once, not at every listing. Touched by the reload thread only.
 */
static bool relist_reacted;
static unsigned long long relist_sig;

/*
 * The certificate folders listed again against the serving store (an
 * unchanged pair costs a stat, an unchanged folder a listing): only when
 * something differs, and differs otherwise than at the listing that last
 * reloaded, is the configuration reloaded. PERIODIC: the listing every
 * ACME_RELIST_S, with an acme section only; else the one right after a
 * folder was watched for the first time. Returns true when it reloaded.
 */
static bool
certs_relist(const char *config_path, bool periodic)
{
	struct snapshot *snap = snapshot_current();
	const struct certstore *old;
	struct certstore *cs;
	struct diag_list dl;
	char *acme;
	bool same;
	unsigned long long sig = 0;

	if (snap == NULL || snap->cfg->n_https == 0 || snap->cfg->tls_certs == NULL ||
	    (periodic && snap->cfg->acme == NULL)) {
		snapshot_unref(snap);
		return false;
	}
	old = snap->certs;
	acme = snap->cfg->acme != NULL ? xstrcat(snap->cfg->acme->storage, "/certs", NULL) : NULL;
	diag_init(&dl, config_path);
	/* its warnings are the serving store's again: the reload, if any, gives them */
	cs = certstore_reload_acme(snap->cfg->tls_certs, acme, old, &dl);
	/*
	 * A folder listed again is no change by itself: a store loaded within a
	 * second of a folder's change (as an inotify reload is) never has that
	 * listing taken over. Every pair taken over, as many pairs, folders and
	 * broken ones: what would be served is what is served.
	 */
	same = cs != NULL && dl.errors == 0 && certstore_count(cs) == certstore_count(old) &&
	    certstore_count_reused(cs) == certstore_count(cs) &&
	    certstore_count_folders(cs) == certstore_count_folders(old) &&
	    certstore_count_broken(cs) == certstore_count_broken(old);
	if (!same)
		sig = listing_signature(cs, &dl);
	certstore_free(cs);
	diag_clear(&dl);
	free(acme);
	snapshot_unref(snap);
	if (same) {
		relist_reacted = false;
		log_debug("certificates listed again: nothing changed, nothing to reload");
		return false;
	}
	if (relist_reacted && sig == relist_sig) {
		log_debug("certificates listed again: as at the listing that last reloaded (a pair still broken, "
		    "or that reload failed), nothing to reload");
		return false;
	}
	relist_reacted = true;
	relist_sig = sig;
	if (periodic)
		log_info("change detected by the periodic listing of tls.certs and acme.storage/certs");
	else
		log_info("change detected in a certificate folder watched only now: made after the load listed it");
	reload_now(config_path);
	return true;
}

/*
 * watch_setup, then, when it watched a certificate folder for the first
 * time, that listing: a pair written between the load's listing and the new
 * watch (a reload publishes DNS in between) would wait for the next periodic
 * listing, or for ever without one. Each reload it causes watches again;
 * bounded, as a folder that keeps being made anew could go on.
 */
static void
watch_setup_listed(struct watch *w, const char *config_path)
{
	for (int i = 0; i < 4; i++) {
		watch_setup(w, config_path);
		if (!w->fresh)
			return;
		w->fresh = false;
		if (!certs_relist(config_path, false))
			return;
	}
}

/* The watches, kept from reload_watch_begin to the end of reload_loop. */
static struct watch w = { .fd = -1, .cfg_wd = -1, .certs_parent_wd = -1, .tenants_wd = -1, .acme_parent_wd = -1 };

void
reload_watch_begin(const char *config_path)
{
	watch_setup(&w, config_path);
}

int
reload_loop(const char *config_path)
{
	sigset_t set;
	int sfd, tfd, rfd, vfd, afd, rc = -1;
	int changed = 0;	/* what the events since the last reload changed (WATCH_*) */

	signals_serve_set(&set);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		log_warn("%s: signalfd", __func__);
		watch_close(&w);
		return -1;
	}
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0 ||
	    (rfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0) {
		log_warn("%s: timerfd_create", __func__);
		if (tfd >= 0)
			close(tfd);
		close(sfd);
		watch_close(&w);
		return -1;
	}
	/* without it, only the handshakes follow certificates into and out of validity */
	if ((vfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK)) < 0)
		log_warn("%s: timerfd_create", __func__);
	/* without it, a replica on a shared file system sees new ACME pairs at a SIGHUP only */
	if ((afd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0)
		log_warn("%s: timerfd_create: acme.storage/certs is not listed again periodically", __func__);
	acme_relist_arm(afd);
	watch_setup_listed(&w, config_path);
	pthread_once(&request_once, request_init);
	for (;;) {
		/* poll ignores a negative fd: w.fd without inotify */
		struct pollfd pfd[7] = { { sfd, POLLIN, 0 }, { tfd, POLLIN, 0 }, { w.fd, POLLIN, 0 }, { rfd, POLLIN, 0 },
			{ vfd, POLLIN, 0 }, { request_fd, POLLIN, 0 }, { afd, POLLIN, 0 } };

		retry_arm(rfd);
		validity_arm(vfd);
		if (poll(pfd, 7, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("%s: poll", __func__);
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				char name[32];
				int signo = (int)si.ssi_signo;

				signals_name(signo, name, sizeof(name));
				if (signals_action(signo) == SIGNALS_RELOAD) {
					log_info("%s received", name);
					changed = 0;
					reload_now(config_path);
					watch_setup_listed(&w, config_path);
				} else if (signals_action(signo) == SIGNALS_STOP) {
					log_info("%s received: shutting down", name);
					rc = 0;
					break;
				} else if (signo == SIGUSR1) {
					log_info("%s received from pid %u: ignored (logs go to stderr: nothing to reopen)",
					    name, (unsigned)si.ssi_pid);
				} else {
					log_info("%s received from pid %u: ignored", name, (unsigned)si.ssi_pid);
				}
			}
		}
		if (w.fd >= 0 && (pfd[2].revents & POLLIN)) {
			int what = watch_read(&w);
			/* every change restarts the delay, so a burst of writes gives one reload */
			struct itimerspec its = { { 0, 0 }, { 0, SETTLE_MS * 1000000L } };

			if (what != 0) {
				changed |= what;
				timerfd_settime(tfd, 0, &its, NULL);
			}
		}
		if (pfd[1].revents & POLLIN) {
			unsigned long long exp;

			if (read(tfd, &exp, sizeof(exp)) == (ssize_t)sizeof(exp)) {
				bool tenants_only = changed == WATCH_TENANTS;

				log_info("change detected %s", tenants_only ? "in domains_dir" :
				    "under the config or tls.certs");
				changed = 0;
				reload_run(config_path, tenants_only);
				watch_setup_listed(&w, config_path);
			}
		}
		if (pfd[3].revents & POLLIN) {
			unsigned long long exp;

			if (read(rfd, &exp, sizeof(exp)) == (ssize_t)sizeof(exp) && retry_now(config_path))
				watch_setup_listed(&w, config_path);
		}
		if (pfd[4].revents & POLLIN) {
			unsigned long long exp;

			if (read(vfd, &exp, sizeof(exp)) == (ssize_t)sizeof(exp))
				validity_now();
		}
		if (pfd[5].revents & POLLIN) {
			uint64_t n;
			/* as a change under tls.certs: the settle delay makes a burst of requests one reload */
			struct itimerspec its = { { 0, 0 }, { 0, SETTLE_MS * 1000000L } };

			if (read(request_fd, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
				changed |= WATCH_MAIN;
				timerfd_settime(tfd, 0, &its, NULL);
			}
		}
		if (pfd[6].revents & POLLIN) {
			unsigned long long exp;

			if (read(afd, &exp, sizeof(exp)) == (ssize_t)sizeof(exp) && certs_relist(config_path, true))
				watch_setup_listed(&w, config_path);
		}
	}
	if (afd >= 0)
		close(afd);
	if (vfd >= 0)
		close(vfd);
	watch_close(&w);
	close(rfd);
	close(tfd);
	close(sfd);
	return rc;
}
