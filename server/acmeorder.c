/* SPDX-License-Identifier: MIT */
/* acmeorder: serve's ACME orderer, a thread that orders, renews and stores the certificates acmeplan says are due. */
#include "acmeorder.h"
#include "acmeclient.h"
#include "acmegate.h"
#include "acmeplan.h"
#include "acmesched.h"
#include "acmestore.h"
#include "config.h"
#include "diag.h"
#include "dnsstate.h"
#include "hmap.h"
#include "httpget.h"
#include "log.h"
#include "metrics.h"
#include "reload.h"
#include "snapshot.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* the longest sleep between two plans, whatever the plan says (a clock step, a lost wake-up) */
#define PLAN_MAX 3600
/* per request to the CA, and per order (polls included): bounds how long a stop waits */
#define REQUEST_TIMEOUT_MS 15000
#define ORDER_DEADLINE 120
/* how long acmeorder_stop waits for an order in flight before leaving the thread to the exit */
#define STOP_WAIT 5
/* names that left the configuration are looked for at each new snapshot, and at least this often */
#define PRUNE_EVERY 600
/* renewalInfo queries in one pass at most: the rest follow in the next pass, at once, after the orders due */
#define ARI_PER_PASS 50
/* the largest issued chain read back from storage */
#define CHAIN_MAX (1u << 20)

struct orderer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct snapshot *snap;		/* the latest served snapshot (guarded by lock) */
	bool updated;			/* a new snapshot since the last plan (guarded by lock) */
	bool stop;			/* guarded by lock; also read between steps */
	bool done;			/* the thread has finished (guarded by lock) */

	/* the thread's own from here on */
	struct acmestore *store;
	struct acmejws_key *key;
	struct acmesched_state *states;
	size_t n_states;
	struct acmeplan_dnswait *dns;	/* names waiting for DNS; names owned */
	size_t n_dns;
	struct acmesched_bucket bucket;
	uint64_t rnd;
	struct acmeclient *client;
	struct acmegate *gate;		/* the DNS gate's resolver */
	char *directory, *ca_file;	/* what CLIENT was made with: a reload that keeps them keeps it */
	char *contact;
	/*
	 * The snapshot last pruned against, by its domain set's build number:
	 * its address could be a newer snapshot's once it is freed (malloc
	 * reuses it), which would skip that snapshot's pruning.
	 */
	unsigned long long pruned_gen;
	int64_t pruned_at;
};

static struct orderer *running;

static bool
stopping(struct orderer *o)
{
	bool s;

	pthread_mutex_lock(&o->lock);
	s = o->stop;
	pthread_mutex_unlock(&o->lock);
	return s;
}

/* The state of NAME, made (empty) when there is none yet. */
static struct acmesched_state *
state_of(struct orderer *o, const char *name)
{
	for (size_t i = 0; i < o->n_states; i++)
		if (strcmp(o->states[i].name, name) == 0)
			return &o->states[i];
	o->states = xreallocarray(o->states, o->n_states + 1, sizeof(*o->states));
	memset(&o->states[o->n_states], 0, sizeof(*o->states));
	o->states[o->n_states].name = xstrdup(name);
	return &o->states[o->n_states++];
}

static void
save_state(struct orderer *o)
{
	char err[512];

	if (acmestore_state_save(o->store, o->states, o->n_states, err, sizeof(err)) != 0)
		log_warnx("acme: %s", err);
}

/* The DNS wait of NAME, or NULL. */
static struct acmeplan_dnswait *
dns_of(struct orderer *o, const char *name)
{
	for (size_t i = 0; i < o->n_dns; i++)
		if (strcmp(o->dns[i].name, name) == 0)
			return &o->dns[i];
	return NULL;
}

/* NAME passed the gate or left the configuration: no wait, and the gate forgets it too. */
static void
dns_forget(struct orderer *o, const char *name)
{
	struct acmeplan_dnswait *w = dns_of(o, name);

	acmegate_forget(o->gate, name);
	if (w == NULL)
		return;
	free((char *)(uintptr_t)w->name);
	*w = o->dns[--o->n_dns];
}

/*
 * The gate before an order (acmegate): NAME must resolve, and be a CNAME to
 * dns.host_target when that is set. Else it waits, with one log line when
 * it starts waiting or its reason changes. CAA records that keep the CA
 * out are a warning. Returns whether to order it.
 */
static bool
resolves(struct orderer *o, const struct config *cfg, const char *name, int64_t now, int64_t *next)
{
	struct acmegate_verdict v;
	struct acmeplan_dnswait *w;
	bool changed;
	int retry = acmegate_check(o->gate, name, cfg->dns_host_target, &v, &changed);
	char at[32];
	struct tm tm;
	time_t t = (time_t)(now + retry);

	if (retry == 0) {
		const char *const *ids;
		size_t nids = acmeclient_caa_identities(o->client, &ids);
		char warn[320];

		if (changed)
			log_info("acme: %s: DNS ready now", name);
		dns_forget(o, name);
		/* a warning only: the CA has the last word (known once the directory was fetched) */
		if (acmegate_caa(o->gate, name, ids, nids, warn, sizeof(warn)))
			log_warnx("acme: %s: %s", name, warn);
		return true;
	}
	if ((w = dns_of(o, name)) == NULL) {
		o->dns = xreallocarray(o->dns, o->n_dns + 1, sizeof(*o->dns));
		w = &o->dns[o->n_dns++];
		w->name = xstrdup(name);
	}
	w->until = now + retry;
	*next = acmesched_earlier(*next, w->until);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	if (changed)
		log_info("acme: %s: waiting for DNS: %s; looked up again at %s", name, v.reason, at);
	else
		log_debug("acme: %s: still waiting for DNS: %s; looked up again at %s", name, v.reason, at);
	return false;
}

/* The validity of the first certificate in the PEM CHAIN[0..LEN); 0, or -1 when it cannot be read. */
static int
leaf_times(const char *chain, size_t len, int64_t *not_before, int64_t *not_after)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)chain, (unsigned)len };
	int rc = -1;

	if (gnutls_x509_crt_init(&crt) < 0)
		return -1;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) >= 0) {
		*not_before = (int64_t)gnutls_x509_crt_get_activation_time(crt);
		*not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
		rc = *not_before > 0 && *not_after > 0 ? 0 : -1;
	}
	gnutls_x509_crt_deinit(crt);
	return rc;
}

/* T as RFC 3339 UTC into OUT (32 bytes). */
static const char *
utc(int64_t t, char *out)
{
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
	return out;
}

/*
 * The ARI identifier (owned by the caller) and the validity of NAME's
 * certificate in storage, or NULL with a message in ERR.
 */
static char *
stored_cert(struct orderer *o, const char *name, int64_t *nb, int64_t *na, char *err, size_t errlen)
{
	char *path = acmestore_cert_path(o->store, name), *text = NULL, *id = NULL;
	size_t len;

	if (path == NULL) {
		snprintf(err, errlen, "'%s' is not a name the storage holds", name);
		return NULL;
	}
	if (read_file_max(path, CHAIN_MAX, &text, &len, NULL) < 0)
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
	else if (leaf_times(text, len, nb, na) < 0)
		snprintf(err, errlen, "'%s' holds no certificate that can be read", path);
	else
		id = acmesched_ari_id(text, len, err, errlen);
	free(text);
	free(path);
	return id;
}

/*
 * Ask the CA's renewalInfo when to renew ST's certificate (its pair in
 * storage) at NOW, and record the answer: next_renewal at a random point
 * of the window (acmesched_renew_at: a window already past means now),
 * ari_check at its Retry-After. Returns 0; ACMECLIENT_NO_ARI (nothing
 * changed); -1 with a message in ERR, the renewal time kept and the
 * query due again later.
 */
static int
ari_update(struct orderer *o, struct acmeclient *c, struct acmesched_state *st, int64_t now, char *err,
    size_t errlen)
{
	struct acmeclient_renewal r;
	struct acmeclient_error e = { 0 };
	int64_t nb, na;
	char *id = stored_cert(o, st->name, &nb, &na, err, errlen);
	int rc;

	if (id == NULL) {
		st->ari_check = acmesched_ari_next_check(true, false, 0, now);
		return -1;
	}
	rc = acmeclient_renewal_info(c, id, &r, &e);
	free(id);
	if (rc == ACMECLIENT_NO_ARI)
		return rc;
	if (rc < 0) {
		snprintf(err, errlen, "%s", e.detail ? e.detail : "unknown error");
		st->ari_check = acmesched_ari_next_check(true, e.has_retry_after, (int64_t)e.retry_after, now);
		acmeclient_error_clear(&e);
		return -1;
	}
	st->next_renewal = acmesched_renew_at(nb, na, &r.window, acmesched_random(&o->rnd), now);
	st->ari_check = acmesched_ari_next_check(false, r.has_retry_after, (int64_t)r.retry_after, now);
	acmeclient_renewal_clear(&r);
	return 0;
}

/* The challenge files one order wrote, removed when it ends. */
struct answers {
	struct orderer *o;
	char *http01[8];		/* tokens */
	size_t n_http01;
	char *tlsalpn01[8];		/* names */
	size_t n_tlsalpn01;
};

/* acmeclient_ready_fn: the answer goes where every instance's responders read it (acmechal). */
static int
ready(void *ctx, const char *name, const char *type, const char *token, const char *keyauth)
{
	struct answers *a = ctx;
	char err[512];
	int rc;

	if (strcmp(type, "http-01") == 0 && a->n_http01 < 8) {
		if ((rc = acmestore_http01_put(a->o->store, token, keyauth, err, sizeof(err))) == 0 ||
		    rc == DNSSTATE_NOT_DURABLE)
			a->http01[a->n_http01++] = xstrdup(token);
	} else if (strcmp(type, "tls-alpn-01") == 0 && a->n_tlsalpn01 < 8) {
		if ((rc = acmestore_tlsalpn01_put(a->o->store, name, keyauth, err, sizeof(err))) == 0 ||
		    rc == DNSSTATE_NOT_DURABLE)
			a->tlsalpn01[a->n_tlsalpn01++] = xstrdup(name);
	} else {
		snprintf(err, sizeof(err), "no answer for a %s challenge", type);
		rc = -1;
	}
	if (rc != 0 && rc != DNSSTATE_NOT_DURABLE) {
		log_warnx("acme: %s: %s", name, err);
		return -1;
	}
	return 0;
}

static void
answers_remove(struct answers *a)
{
	char err[512];

	for (size_t i = 0; i < a->n_http01; i++) {
		if (acmestore_http01_remove(a->o->store, a->http01[i], err, sizeof(err)) < 0)
			log_warnx("acme: %s", err);
		free(a->http01[i]);
	}
	for (size_t i = 0; i < a->n_tlsalpn01; i++) {
		if (acmestore_tlsalpn01_remove(a->o->store, a->tlsalpn01[i], err, sizeof(err)) < 0)
			log_warnx("acme: %s", err);
		free(a->tlsalpn01[i]);
	}
	a->n_http01 = a->n_tlsalpn01 = 0;
}

static bool
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/*
 * A client for CFG's acme section: the one made before while the directory,
 * the CA file, the contact and the external account binding are the same
 * (its account and nonces are kept across the reload every issued pair
 * makes), else a new one (the keys apply at the next order).
 */
static struct acmeclient *
client_for(struct orderer *o, const struct config *cfg)
{
	const struct config_acme *a = cfg->acme;
	struct acmeclient_config cc = {0};
	const char *contact[1];
	char *mailto = a->email ? xstrcat("mailto:", a->email, NULL) : NULL;

	if (o->client != NULL && same(o->directory, a->directory) && same(o->ca_file, a->ca_file) &&
	    same(o->contact, mailto) && acmeclient_same_eab(o->client, a->eab_kid, a->eab_hmac_key, a->eab_hmac_key_len)) {
		free(mailto);
		return o->client;
	}
	acmeclient_free(o->client);
	free(o->contact);
	free(o->directory);
	free(o->ca_file);
	o->contact = mailto;
	o->directory = xstrdup(a->directory);
	o->ca_file = a->ca_file ? xstrdup(a->ca_file) : NULL;
	contact[0] = o->contact;
	cc.directory = a->directory;
	cc.ca_file = a->ca_file;
	cc.key = o->key;
	cc.contact = contact;
	cc.ncontact = o->contact ? 1 : 0;
	cc.agree_terms = true;		/* config refuses a section without agree_terms: true */
	cc.eab_kid = a->eab_kid;
	cc.eab_hmac_key = a->eab_hmac_key;
	cc.eab_hmac_key_len = a->eab_hmac_key_len;
	cc.timeout_ms = REQUEST_TIMEOUT_MS;
	cc.order_deadline = ORDER_DEADLINE;
	o->client = acmeclient_new(&cc);
	return o->client;
}

/* Order NAME now; the outcome recorded in its state, counted and logged. */
static void
order_one(struct orderer *o, const struct config *cfg, const char *name)
{
	const char *types[CONFIG_ACME_N_CHALLENGES];
	struct acmeclient *c = client_for(o, cfg);
	struct acmeclient_cert cert = {0};
	struct acmeclient_error e = {0};
	struct answers a = { .o = o };
	struct acmesched_state *st = state_of(o, name);
	struct timespec t0, t1;
	char err[512], *replaces = NULL;
	int rc;

	for (size_t i = 0; i < cfg->acme->n_challenges; i++)
		types[i] = config_acme_challenge_name(cfg->acme->challenges[i]);
	/* a renewal names the certificate it replaces (RFC 9773 section 5): none when it cannot be read */
	if (st->not_after > 0) {
		int64_t nb, na;

		replaces = stored_cert(o, name, &nb, &na, err, sizeof(err));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = acmeclient_account(c, &e);
	if (rc == 0)
		rc = acmeclient_issue(c, name, types, cfg->acme->n_challenges, replaces, ready, &a, &cert, &e);
	answers_remove(&a);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0) {
		int64_t nb, na, renew, now = (int64_t)time(NULL);

		if (leaf_times(cert.chain_pem, cert.chain_len, &nb, &na) < 0) {
			rc = -1;
			e.detail = xstrdup("the issued certificate cannot be read");
		} else if ((rc = acmestore_pair_save(o->store, name, cert.chain_pem, cert.chain_len, cert.key_pem,
		    cert.key_len, err, sizeof(err))) != 0 && rc != DNSSTATE_NOT_DURABLE) {
			rc = -1;
			e.detail = xstrdup(err);
		} else {
			char until[32], at[32];
			int ari;

			rc = 0;
			renew = acmesched_renew_at(nb, na, NULL, acmesched_random(&o->rnd), now);
			acmesched_state_issued(st, na, renew);
			/* the CA's window, where it has renewalInfo, takes over at once (RFC 9773 section 4.3) */
			ari = ari_update(o, c, st, now, err, sizeof(err));
			save_state(o);
			metrics_acme_order(METRICS_ACME_ISSUED);
			log_info("acme: %s: issued in %.1f s, valid until %s, renewal at %s%s", name,
			    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, utc(na, until),
			    utc(st->next_renewal, at), ari == 0 ? " (in the CA's renewalInfo window)" : "");
			if (ari < 0)
				log_warnx("acme: %s: renewalInfo: %s; renewal at a third of the lifetime left until the "
				    "CA answers", name, err);
			if (cert.replaces_refused != NULL)
				log_info("acme: %s: the CA refused \"replaces\" (%s): ordered without it", name,
				    cert.replaces_refused);
			/* loaded like tls.certs, below it: served without a restart */
			reload_request();
		}
	}
	if (rc != 0) {
		struct acmesched_failure f;
		char at[32];

		acmeclient_error_failure(&e, &f);
		acmesched_state_failed(st, &f, e.detail, acmesched_random(&o->rnd), (int64_t)time(NULL));
		save_state(o);
		metrics_acme_order(f.rate_limited ? METRICS_ACME_RATE_LIMITED : METRICS_ACME_FAILED);
		log_warnx("acme: %s: order failed (%u in a row), next attempt at %s: %s", name, st->failures,
		    utc(st->next_attempt, at), e.detail ? e.detail : "unknown error");
	}
	free(replaces);
	acmeclient_cert_clear(&cert);
	acmeclient_error_clear(&e);
}

/*
 * The renewalInfo of every certificate of a managed site whose query is
 * due (acmesched_ari_due), at most ARI_PER_PASS of them; failures in one
 * log line. Returns when the next query is due (acmesched_ari_wake; 0:
 * none).
 */
static int64_t
ari_pass(struct orderer *o, const struct config *cfg, const struct acmeplan_site *sites, size_t n, int64_t now)
{
	struct hmap managed = { 0 };
	struct acmeclient *c = NULL;
	struct acmeclient_error e = { 0 };
	enum acmesched_ari_end end = ACMESCHED_ARI_DONE;
	bool *is_managed = xcalloc(o->n_states + 1, sizeof(*is_managed)), has_ari;
	size_t *due = xcalloc(o->n_states + 1, sizeof(*due)), ndue, asked = 0, failed = 0;
	int64_t later;
	char first[640] = "", err[512];

	hmap_reserve(&managed, n);
	for (size_t i = 0; i < n; i++)
		if (sites[i].acme && !sites[i].operator_cert)
			hmap_put(&managed, sites[i].host, (void *)(uintptr_t)1);
	for (size_t i = 0; i < o->n_states; i++)
		is_managed[i] = hmap_get(&managed, o->states[i].name) != NULL;
	hmap_clear(&managed);
	ndue = acmesched_ari_due(o->states, o->n_states, is_managed, now, due, &later);
	free(is_managed);
	if (ndue > 0) {
		c = client_for(o, cfg);
		if (acmeclient_directory(c, &has_ari, &e) < 0) {
			log_warnx("acme: renewalInfo not asked: %s", e.detail);
			acmeclient_error_clear(&e);
			end = ACMESCHED_ARI_NO_DIRECTORY;
		} else if (!has_ari)
			end = ACMESCHED_ARI_UNSUPPORTED;
	}
	for (size_t i = 0; i < ndue && end == ACMESCHED_ARI_DONE; i++) {
		struct acmesched_state *st = &o->states[due[i]];

		if (asked == ARI_PER_PASS || stopping(o)) {
			end = ACMESCHED_ARI_MORE;
			break;
		}
		asked++;
		if (ari_update(o, c, st, now, err, sizeof(err)) < 0 && failed++ == 0)
			snprintf(first, sizeof(first), "%s: %s", st->name, err);
		later = acmesched_earlier(later, st->ari_check);
	}
	free(due);
	if (failed > 0)
		log_warnx("acme: renewalInfo failed for %zu of %zu name%s (their renewal times kept, asked again "
		    "later); the first: %s", failed, asked, asked == 1 ? "" : "s", first);
	if (asked > 0)
		save_state(o);
	return acmesched_ari_wake(end, later, now);
}

/*
 * The names that left the configuration (acmesched_prune): one log line
 * when a name is first missing, and when its grace ends its pair and its
 * state line go. A pair in storage without a state line (its state was
 * lost) that is not configured gets one, so it is pruned likewise. The
 * DNS waits of names not configured (and the gate's memory of them) go
 * at once.
 */
static void
prune(struct orderer *o, const struct acmeplan_site *sites, size_t n, int64_t now)
{
	const char **conf = xcalloc(n + 1, sizeof(*conf));
	enum acmesched_prune_action *act;
	struct hmap known = { 0 };
	char **pairs, err[512], at[32];
	size_t npairs, w = 0;
	bool changed = false, removed = false;

	for (size_t i = 0; i < n; i++) {
		conf[i] = sites[i].host;
		hmap_put(&known, sites[i].host, (void *)(uintptr_t)1);
	}
	/* a name that waited for DNS and left has no state to keep: its wait goes now (backwards: dns_forget swaps) */
	for (size_t i = o->n_dns; i-- > 0;)
		if (hmap_get(&known, o->dns[i].name) == NULL)
			dns_forget(o, o->dns[i].name);
	for (size_t i = 0; i < o->n_states; i++)
		hmap_put(&known, o->states[i].name, (void *)(uintptr_t)1);
	if (acmestore_pair_names(o->store, &pairs, &npairs, err, sizeof(err)) < 0)
		log_warnx("acme: %s", err);
	else {
		/* states first, then the new ones: KNOWN borrows names that state_of may move */
		for (size_t i = 0; i < npairs; i++)
			if (hmap_get(&known, pairs[i]) != NULL) {
				free(pairs[i]);
				pairs[i] = NULL;
			}
		hmap_clear(&known);
		for (size_t i = 0; i < npairs; i++) {
			if (pairs[i] != NULL)
				state_of(o, pairs[i]);
			free(pairs[i]);
		}
		free(pairs);
	}
	hmap_clear(&known);
	act = xcalloc(o->n_states + 1, sizeof(*act));
	acmesched_prune(o->states, o->n_states, conf, n, ACMESCHED_PRUNE_GRACE, now, act);
	for (size_t i = 0; i < o->n_states; i++) {
		struct acmesched_state *st = &o->states[i];

		switch (act[i]) {
		case ACMESCHED_PRUNE_KEEP:
			break;
		case ACMESCHED_PRUNE_GONE:
			st->gone_since = now;
			changed = true;
			log_info("acme: %s: no longer configured; its state and certificate are kept until %s, and "
			    "removed then unless the name comes back", st->name, utc(now + ACMESCHED_PRUNE_GRACE, at));
			break;
		case ACMESCHED_PRUNE_BACK:
			st->gone_since = 0;
			changed = true;
			log_info("acme: %s: configured again: its state and certificate are kept", st->name);
			break;
		case ACMESCHED_PRUNE_REMOVE:
			if (acmestore_pair_remove(o->store, st->name, err, sizeof(err)) < 0) {
				log_warnx("acme: %s: not configured since %s, but its certificate cannot be removed "
				    "(tried again later): %s", st->name, utc(st->gone_since, at), err);
				break;
			}
			log_info("acme: %s: not configured since %s: its state and certificate removed", st->name,
			    utc(st->gone_since, at));
			dns_forget(o, st->name);
			acmesched_state_clear(st);
			changed = removed = true;
			continue;
		}
	}
	/* close the gaps the removed lines left, keeping the order */
	for (size_t i = 0; i < o->n_states; i++)
		if (o->states[i].name != NULL)
			o->states[w++] = o->states[i];
	o->n_states = w;
	free(act);
	free(conf);
	if (changed)
		save_state(o);
	if (removed)
		reload_request();
}

/* Wait until UNTIL (0: no limit but PLAN_MAX), a new snapshot or a stop; the snapshot to plan from next. */
static struct snapshot *
wait_for(struct orderer *o, int64_t until)
{
	struct timespec ts;
	int64_t now = (int64_t)time(NULL), wake = now + PLAN_MAX;
	struct snapshot *snap;

	if (until > 0 && until < wake)
		wake = until;
	ts.tv_sec = (time_t)wake;
	ts.tv_nsec = 0;
	pthread_mutex_lock(&o->lock);
	while (!o->stop && !o->updated && (int64_t)time(NULL) < wake)
		if (pthread_cond_timedwait(&o->cond, &o->lock, &ts) == ETIMEDOUT)
			break;
	o->updated = false;
	snap = o->stop ? NULL : snapshot_ref(o->snap);
	pthread_mutex_unlock(&o->lock);
	return snap;
}

/* One plan of SNAP and the orders it makes due now; returns when to plan again (0: no limit). */
static int64_t
pass(struct orderer *o, const struct snapshot *snap)
{
	int64_t now = (int64_t)time(NULL), next = 0;
	struct acmeplan_site *sites;
	struct acmeplan plan;
	size_t n, *due, ndue, count[ACMEPLAN_DUE + 1], gated = 0;

	if (snap->cfg->acme == NULL || snap->cfg->n_https == 0)
		return 0;
	acmeplan_sites(snap, now, &sites, &n);
	/* not at every pass: a pass follows each order, and pruning lists the whole certs/ folder */
	if (snap->domains.gen != o->pruned_gen || now - o->pruned_at >= PRUNE_EVERY || now < o->pruned_at) {
		prune(o, sites, n, now);
		o->pruned_gen = snap->domains.gen;
		o->pruned_at = now;
	}
	next = ari_pass(o, snap->cfg, sites, n, now);
	acmeplan_make(&plan, sites, n, o->states, o->n_states, o->dns, o->n_dns, now);
	metrics_set_acme_names(plan.count[ACMEPLAN_VALID], plan.count[ACMEPLAN_DUE], plan.count[ACMEPLAN_BACKOFF],
	    plan.count[ACMEPLAN_WAITING_DNS]);
	metrics_set_hosts_without_certificate(plan.without_cert);
	for (size_t i = 0; i < plan.n; i++)
		next = acmesched_earlier(next, plan.v[i].at);
	ndue = acmeplan_due(&plan, &due);
	/* the plan borrows from the states, which orders change: copy the names first */
	{
		char **names = xcalloc(ndue + 1, sizeof(*names));

		for (size_t i = 0; i < ndue; i++)
			names[i] = xstrdup(plan.v[due[i]].host);
		memcpy(count, plan.count, sizeof(count));
		acmeplan_clear(&plan);
		free(due);
		free(sites);
		for (size_t i = 0; i < ndue && !stopping(o); i++) {
			int64_t when;

			now = (int64_t)time(NULL);
			if (!resolves(o, snap->cfg, names[i], now, &next)) {
				gated++;
				continue;
			}
			if (!acmesched_bucket_take(&o->bucket, now, &when)) {
				log_debug("acme: %zu name%s due, pacing new orders: the next at %lld", ndue - i,
				    ndue - i == 1 ? "" : "s", (long long)when);
				next = acmesched_earlier(next, when);
				break;
			}
			order_one(o, snap->cfg, names[i]);
			/* what came of it is planned again at once: a failure's backoff, a success's renewal */
			next = now;
		}
		for (size_t i = 0; i < ndue; i++)
			free(names[i]);
		free(names);
	}
	/* a name the gate stopped waits for DNS, not due, until the next plan: the gauge says so now */
	if (gated > 0)
		metrics_set_acme_names(count[ACMEPLAN_VALID], count[ACMEPLAN_DUE] - gated, count[ACMEPLAN_BACKOFF],
		    count[ACMEPLAN_WAITING_DNS] + gated);
	return next;
}

static void *
run(void *arg)
{
	struct orderer *o = arg;
	struct snapshot *snap = wait_for(o, 0);

	while (snap != NULL) {
		int64_t next = pass(o, snap);

		snapshot_unref(snap);
		snap = wait_for(o, next);
	}
	pthread_mutex_lock(&o->lock);
	o->done = true;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

static void
orderer_free(struct orderer *o)
{
	if (o == NULL)
		return;
	acmeclient_free(o->client);
	acmegate_free(o->gate);
	free(o->contact);
	free(o->directory);
	free(o->ca_file);
	for (size_t i = 0; i < o->n_states; i++)
		acmesched_state_clear(&o->states[i]);
	free(o->states);
	for (size_t i = 0; i < o->n_dns; i++)
		free((char *)(uintptr_t)o->dns[i].name);
	free(o->dns);
	acmejws_key_free(o->key);
	acmestore_free(o->store);
	snapshot_unref(o->snap);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

/* mtastsd_hosts_without_certificate for SNAP, when it has an acme section. */
static void
count_without(const struct snapshot *snap)
{
	struct acmeplan_site *sites;
	size_t n, without = 0;

	if (snap->cfg->acme == NULL)
		return;
	acmeplan_sites(snap, (int64_t)time(NULL), &sites, &n);
	for (size_t i = 0; i < n; i++)
		without += !sites[i].any_cert;
	free(sites);
	metrics_set_hosts_without_certificate(without);
}

int
acmeorder_start(struct snapshot *snap)
{
	const struct config_acme *a = snap->cfg->acme;
	struct orderer *o;
	struct diag_list dl;
	pthread_condattr_t ca;
	char err[512];
	long holder = 0;
	int rc;

	count_without(snap);
	if (a == NULL || !a->order || running != NULL)
		return 0;
	o = xcalloc(1, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
	/* timed waits against the wall clock: renewal times are dates */
	pthread_condattr_init(&ca);
	pthread_cond_init(&o->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((o->store = acmestore_open(a->storage, err, sizeof(err))) == NULL) {
		log_error("acme: not starting: %s", err);
		goto fail;
	}
	if ((rc = acmestore_lock(o->store, &holder, err, sizeof(err))) != 0) {
		if (rc == ACMESTORE_BUSY)
			log_error("acme: not starting: %s; set acme.order: false on every instance but one sharing "
			    "'%s' (they answer challenges from it)", err, a->storage);
		else
			log_error("acme: not starting: %s", err);
		goto fail;
	}
	if ((o->key = acmestore_account(o->store, true, err, sizeof(err))) == NULL) {
		log_error("acme: not starting: %s", err);
		goto fail;
	}
	diag_init(&dl, acmestore_state_path(o->store));
	if (acmestore_state_load(o->store, &o->states, &o->n_states, &dl) < 0) {
		diag_log(&dl, "", LOG_LEVEL_ERROR);
		diag_clear(&dl);
		log_error("acme: not starting: the state file '%s' is broken (fix or remove it)",
		    acmestore_state_path(o->store));
		goto fail;
	}
	diag_clear(&dl);
	if (httpget_init(err, sizeof(err)) < 0) {
		log_error("acme: not starting: %s", err);
		goto fail;
	}
	if ((o->gate = acmegate_new(err, sizeof(err))) == NULL) {
		log_error("acme: not starting: %s", err);
		goto fail;
	}
	if (err[0] != '\0')
		log_warnx("acme: DNS: %s", err);
	acmesched_bucket_init(&o->bucket, a->pacing_burst, a->pacing_period, (int64_t)time(NULL));
	o->rnd = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	o->snap = snapshot_ref(snap);
	o->updated = true;
	if (pthread_create(&o->thread, NULL, run, o) != 0) {
		log_error("acme: not starting: cannot create the orderer's thread");
		goto fail;
	}
	running = o;
	log_info("acme: ordering from %s into '%s' (%zu name%s in the state)", a->directory, a->storage, o->n_states,
	    o->n_states == 1 ? "" : "s");
	return 0;
fail:
	orderer_free(o);
	return -1;
}

void
acmeorder_update(struct snapshot *snap)
{
	struct orderer *o = running;
	struct snapshot *old;

	if (o == NULL) {
		count_without(snap);
		return;
	}
	pthread_mutex_lock(&o->lock);
	old = o->snap;
	o->snap = snapshot_ref(snap);
	o->updated = true;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	snapshot_unref(old);
}

void
acmeorder_stop(void)
{
	struct orderer *o = running;
	struct timespec ts;
	bool done;

	if (o == NULL)
		return;
	running = NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += STOP_WAIT;
	pthread_mutex_lock(&o->lock);
	o->stop = true;
	pthread_cond_broadcast(&o->cond);
	while (!o->done)
		if (pthread_cond_timedwait(&o->cond, &o->lock, &ts) == ETIMEDOUT)
			break;
	done = o->done;
	pthread_mutex_unlock(&o->lock);
	if (!done) {
		/* an order in flight ends by its own timeouts; the process exits meanwhile */
		log_warnx("acme: an order is still in flight: leaving it to the exit");
		pthread_detach(o->thread);
		return;
	}
	pthread_join(o->thread, NULL);
	orderer_free(o);
}
