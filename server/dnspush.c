/* SPDX-License-Identifier: MIT */
/* dnspush: publishes the records by RFC 2136 (dns.update) from a thread of its own: one UPDATE per domain, each with its own result and backoff. */
#include "dnspush.h"
#include "dnsstate.h"
#include "dnsupdate.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* the side file is written after this many updates too, so a crash loses little */
#define SAVE_EVERY 256

static int
cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct dnspush_item *)a)->name, ((const struct dnspush_item *)b)->name);
}

static void
item_fill(struct dnspush_item *it, const struct zone_params *p, const char *server, const struct zone_domain *d,
    const char *zone, bool removed)
{
	struct buf h = {0};

	it->name = xstrdup(d->name);
	it->zone = zone != NULL ? xasprintf("%s.", zone) : NULL;
	it->removed = removed;
	it->base = p->side == ZONE_PROVIDER ? xasprintf("%s.%s", d->name, p->delegate_zone) : xstrdup(d->name);
	it->n = zone_rrsets(p, d, it->rr);
	/*
	 * what the server holds afterwards: a change of any of these is a new
	 * update. "2": updates that clear a CNAME in the way of our TXT records
	 * and refuse one beside address records, so that a domain an older
	 * mtastsd believed sent while the server had silently ignored it is
	 * sent once more.
	 */
	buf_printf(&h, "2\n%s\n%lu\n%s\n", server, p->ttl, it->zone ? it->zone : "-");
	for (size_t i = 0; i < it->n; i++)
		buf_printf(&h, "%s %s %s\n", it->rr[i].owner, it->rr[i].cname ? "CNAME" : "TXT",
		    it->rr[i].value ? it->rr[i].value : "-");
	updstate_hash(h.data, h.len, it->hash);
	buf_clear(&h);
}

struct dnspush_item *
dnspush_items(const struct zone_params *p, const char *server, const struct zone_domain *domains,
    const char *const *zones, size_t n, const char *const *expired, const bool *expired_tls, size_t n_expired,
    size_t *n_out)
{
	struct dnspush_item *it = xcalloc(n + n_expired + 1, sizeof(*it));

	for (size_t i = 0; i < n; i++)
		item_fill(&it[i], p, server, &domains[i], zones ? zones[i] : NULL, domains[i].retiring);
	for (size_t i = 0; i < n_expired; i++) {
		struct zone_domain d = { .name = expired[i], .delete_tlsrpt = expired_tls && expired_tls[i] };
		item_fill(&it[n + i], p, server, &d, NULL, true);
	}
	*n_out = n + n_expired;
	/* a removed domain has no zone of its own any more: the deepest zone configured for another that holds it */
	for (size_t i = 0; i < *n_out && zones != NULL; i++) {
		size_t bl = strlen(it[i].base), best = 0;
		if (!it[i].removed)
			continue;
		for (size_t k = 0; k < n; k++) {
			const char *z = zones[k];
			size_t zl = z ? strlen(z) : 0;
			if (zl == 0 || zl <= best || zl > bl || strcmp(it[i].base + bl - zl, z) != 0 ||
			    (zl < bl && it[i].base[bl - zl - 1] != '.'))
				continue;
			free(it[i].zone_guess);
			it[i].zone_guess = xasprintf("%s.", z);
			best = zl;
		}
	}
	if (*n_out > 1)
		qsort(it, *n_out, sizeof(*it), cmp_item);
	return it;
}

void
dnspush_items_free(struct dnspush_item *it, size_t n)
{
	for (size_t i = 0; i < n && it != NULL; i++) {
		free(it[i].name);
		free(it[i].base);
		free(it[i].zone);
		free(it[i].zone_guess);
		zone_rrsets_clear(it[i].rr, it[i].n);
	}
	free(it);
}

const char *
dnspush_zone(const struct dnspush_item *it, const struct updstate_entry *e)
{
	if (it->zone != NULL)
		return it->zone;
	/* a configured domain follows its delegation; a removed one's records are where they were sent */
	if (it->removed && e != NULL)
		return e->zone;
	return NULL;
}

bool
dnspush_clamp(struct updstate_entry *e, int64_t now, unsigned long retry_max)
{
	if (e == NULL || e->next <= now + (int64_t)retry_max)
		return false;
	e->next = now + (int64_t)retry_max;
	return true;
}

enum dnspush_action
dnspush_decide(const struct dnspush_item *it, const struct updstate_entry *e, int64_t now)
{
	if (e == NULL)
		return DNSPUSH_SEND;
	if (strcmp(e->sent, it->hash) == 0)
		return DNSPUSH_DONE;
	/* other records than the ones that failed (a new id, say) go at once */
	if (strcmp(e->tried, it->hash) == 0 && e->next > now)
		return DNSPUSH_WAIT;
	return DNSPUSH_SEND;
}

void
dnspush_record(struct updstate_entry *e, const struct dnspush_item *it, int r, const char *zone, int64_t now,
    unsigned long retry, unsigned long retry_max)
{
	e->at = now;
	snprintf(e->result, sizeof(e->result), "%s", dnsupdate_result_name((enum dnsupdate_result)r));
	if (zone != NULL) {
		free(e->zone);
		e->zone = xstrdup(zone);
	}
	if (r == DNSUPDATE_NOERROR) {
		strcpy(e->sent, it->hash);
		strcpy(e->tried, "-");
		e->fails = 0;
		e->next = 0;
	} else {
		/*
		 * the server may have applied the update and the answer been lost: it
		 * may hold these records, or still the earlier ones, or something else
		 * (a timeout), so no records count as sent until one succeeds
		 */
		strcpy(e->sent, "-");
		strcpy(e->tried, it->hash);
		e->fails++;
		e->next = now + updstate_backoff(e->fails, retry, retry_max);
	}
}

/* ------------------------------------------------------------ the sender */

/* What the sender needs of a config, copied: the config may be freed by the next reload. */
struct job {
	char *side_path;		/* STATE.update */
	char *server;
	struct dnspush_target target;	/* its key points to KEY when signed */
	struct tsigkey key;
	unsigned long retry, retry_max;
	struct dnspush_item *items;
	size_t n;
};

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->side_path);
	free(j->server);
	tsigkey_clear(&j->key);
	dnspush_items_free(j->items, j->n);
	free(j);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static pthread_t thread;
static bool started, stopping, drop;	/* drop: dns.update was removed, forget the job */
static struct job *next_job;	/* submitted, not yet taken by the sender */
static atomic_bool stop_now, job_waiting;	/* job_waiting: NEXT_JOB set, the pass ends at the next domain */
static int stop_pipe[2] = { -1, -1 };	/* written by dnspush_stop: ends an exchange under way */

static uint16_t
random_id(void)
{
	uint16_t id = 0;

	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
		id = (uint16_t)time(NULL);
	return id;
}

enum dnsupdate_result
dnspush_send(const struct dnspush_target *t, const struct dnspush_item *it, const struct updstate_entry *e,
    char **zone, char *detail, size_t dlen)
{
	const char *known = dnspush_zone(it, e);
	struct dnsupdate_rr rr[ZONE_MAX_RRSETS];
	char *lookup = xasprintf("%s.", it->base), err[512];
	uint8_t *q = NULL, *r = NULL;
	size_t qlen, rlen;
	bool tcp;
	enum dnsupdate_result res;

	*zone = NULL;
	detail[0] = '\0';
	if (known != NULL) {
		*zone = xstrdup(known);
		res = DNSUPDATE_NOERROR;
	} else {
		res = dnsupdate_find_zone((const struct sockaddr *)&t->sa, t->salen, lookup, t->timeout_ms, t->stop_fd,
		    zone, detail, dlen);
		/*
		 * a removed domain with no zone recorded (the update state lost, or
		 * dns.update new) on a primary that refuses SOA queries: the zone
		 * configured for another domain that holds it
		 */
		if (res == DNSUPDATE_NOZONE && it->zone_guess != NULL) {
			*zone = xstrdup(it->zone_guess);
			res = DNSUPDATE_NOERROR;
		}
	}
	free(lookup);
	if (res != DNSUPDATE_NOERROR)
		return res;
	for (size_t i = 0; i < it->n; i++) {
		rr[i].owner = it->rr[i].owner;
		rr[i].cname = it->rr[i].cname;
		rr[i].value = it->rr[i].value;
	}
	if (dnsupdate_message(*zone, rr, it->n, t->ttl, t->key, random_id(), &q, &qlen, err, sizeof(err)) < 0) {
		/* ldns could not build or sign it: nothing reached the server, which is not to blame */
		snprintf(detail, dlen, "%s (nothing was sent)", err);
		return DNSUPDATE_LOCAL;
	}
	res = dnsupdate_exchange((const struct sockaddr *)&t->sa, t->salen, q, qlen, t->timeout_ms, t->stop_fd, &r,
	    &rlen, &tcp, detail, dlen);
	if (res == DNSUPDATE_NOERROR)
		res = dnsupdate_judge(q, qlen, r, rlen, t->key, detail, dlen);
	/* the only prerequisites: no address records where the CNAME goes (failed: YXRRSET, RFC 2136 section 3.2.5) */
	for (size_t i = 0; res == DNSUPDATE_YXRRSET && i < it->n; i++)
		if (it->rr[i].cname && it->rr[i].value != NULL)
			snprintf(detail, dlen, "'%s' has an A or AAAA record, so its CNAME to '%s' (dns.host_target) "
			    "cannot be added: remove those records (nothing of this update was applied)",
			    it->rr[i].owner, it->rr[i].value);
	free(q);
	free(r);
	return res;
}

/* Drop the entries of domains no item has any more (forgotten by the state). */
static bool
prune(struct updstate *st, const struct job *j)
{
	size_t k = 0;
	bool changed = false;

	for (size_t i = 0; i < st->n; i++) {
		struct dnspush_item key = { .name = st->e[i].name };
		if (j->n > 0 && bsearch(&key, j->items, j->n, sizeof(*j->items), cmp_item) != NULL) {
			st->e[k++] = st->e[i];
			continue;
		}
		free(st->e[i].name);
		free(st->e[i].zone);
		changed = true;
	}
	st->n = k;
	return changed;
}

static void
save(const struct job *j, const struct updstate *st)
{
	char err[1024];

	int rc = updstate_save(j->side_path, st, err, sizeof(err));

	if (rc == DNSSTATE_NOT_DURABLE)
		log_warnx("dns update: %s", err);
	else if (rc < 0)
		log_error("dns update: results not recorded: %s", err);
}

/*
 * One pass over the job: every due domain is sent, in name order. Returns
 * the time (seconds since the epoch) when the next waiting domain is due, 0
 * when none waits.
 */
static int64_t
run_pass(const struct job *j, struct updstate *st)
{
	int64_t due = 0;
	size_t sent = 0, failing = 0;
	bool server_down = false, dirty = prune(st, j);

	/* a new config (a reload) is taken between two domains, not after the whole pass */
	for (size_t i = 0; i < j->n && !atomic_load(&stop_now) && !atomic_load(&job_waiting); i++) {
		const struct dnspush_item *it = &j->items[i];
		struct updstate_entry *e = updstate_find(st, it->name);
		int64_t now = (int64_t)time(NULL);
		enum dnspush_action a;

		if (dnspush_clamp(e, now, j->retry_max))
			dirty = true;
		a = dnspush_decide(it, e, now);
		enum dnsupdate_result res;
		char detail[512] = "", *zone = NULL;

		if (a == DNSPUSH_DONE)
			continue;
		if (a == DNSPUSH_WAIT || server_down) {
			/* a server that did not answer is tried again for the rest at the first retry */
			int64_t at = a == DNSPUSH_WAIT ? e->next : now + (int64_t)j->retry;
			if (due == 0 || at < due)
				due = at;
			failing++;
			continue;
		}
		res = dnspush_send(&j->target, it, e, &zone, detail, sizeof(detail));
		if (atomic_load(&stop_now)) {
			/* cut short by SIGTERM: not a result; the next start sends it again */
			free(zone);
			break;
		}
		metrics_dns_update(res);
		e = updstate_get(st, it->name);
		dnspush_record(e, it, res, zone, now, j->retry, j->retry_max);
		if (res == DNSUPDATE_NOERROR) {
			log_info("dns update domain=%s zone=%s server=%s result=noerror", it->name, zone, j->server);
		} else {
			log_warnx("dns update domain=%s zone=%s server=%s result=%s: %s; next try in %" PRId64 " s (failure %u)",
			    it->name, zone ? zone : "-", j->server, dnsupdate_result_name(res), detail, e->next - now,
			    e->fails);
			if (due == 0 || e->next < due)
				due = e->next;
			failing++;
			server_down = dnsupdate_result_server_wide(res);
		}
		free(zone);
		dirty = true;
		if (++sent % SAVE_EVERY == 0)
			save(j, st);
	}
	metrics_set_dns_update_failing(failing);
	if (dirty)
		save(j, st);
	return due;
}

static void
abs_deadline(struct timespec *ts, int64_t wait_s)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(wait_s > 86400 ? 86400 : wait_s < 0 ? 0 : wait_s);
}

static void *
sender(void *arg)
{
	struct job *job = NULL;
	struct updstate st = {0};
	char *loaded = NULL;
	int64_t due = 0;
	(void)arg;

	pthread_mutex_lock(&mu);
	for (;;) {
		while (!stopping && !drop && next_job == NULL && (job == NULL || due == 0 || (int64_t)time(NULL) < due)) {
			if (job != NULL && due != 0) {
				struct timespec ts;
				int64_t now = (int64_t)time(NULL);
				/* the clock stepped back: no wait is longer than retry_max */
				if (due > now + (int64_t)job->retry_max)
					due = now + (int64_t)job->retry_max;
				abs_deadline(&ts, due - (int64_t)time(NULL));
				pthread_cond_timedwait(&cv, &mu, &ts);
			} else {
				pthread_cond_wait(&cv, &mu);
			}
		}
		if (stopping)
			break;
		if (drop) {
			drop = false;
			job_free(job);
			job = NULL;
			metrics_set_dns_update_failing(0);
			continue;
		}
		if (next_job != NULL) {
			job_free(job);
			job = next_job;
			next_job = NULL;
			atomic_store(&job_waiting, false);
		}
		pthread_mutex_unlock(&mu);
		if (loaded == NULL || strcmp(loaded, job->side_path) != 0) {
			char err[1024];
			updstate_clear(&st);
			if (updstate_load(job->side_path, &st, err, sizeof(err)) < 0)
				log_error("dns update: %s; every domain is sent again", err);
			free(loaded);
			loaded = xstrdup(job->side_path);
		}
		due = run_pass(job, &st);
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	job_free(job);
	updstate_clear(&st);
	free(loaded);
	return NULL;
}

void
dnspush_submit(const struct config *cfg, struct dnspush_item *items, size_t n)
{
	const struct config_dns_update *u = cfg->dns_update;
	struct job *j;

	if (u == NULL) {
		dnspush_items_free(items, n);
		pthread_mutex_lock(&mu);
		job_free(next_job);
		next_job = NULL;
		if (started) {
			drop = true;
			pthread_cond_signal(&cv);
		}
		pthread_mutex_unlock(&mu);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->side_path = xasprintf("%s.update", cfg->dns_state);
	j->server = xstrdup(u->server);
	j->target.sa = u->sa;
	j->target.salen = u->salen;
	if (u->signed_) {
		j->key.name = xstrdup(u->key.name);
		j->key.alg = u->key.alg;
		j->key.secret = xstrdup(u->key.secret);
		j->target.key = &j->key;
	}
	j->target.timeout_ms = u->timeout * 1000;
	j->target.stop_fd = -1;
	j->target.ttl = cfg->dns_ttl;
	j->retry = u->retry;
	j->retry_max = u->retry_max;
	j->items = items;
	j->n = n;

	pthread_mutex_lock(&mu);
	if (!started) {
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&cv, &ca);
		pthread_condattr_destroy(&ca);
		if (stop_pipe[0] < 0) {
			if (pipe(stop_pipe) < 0) {
				log_warn("dns update: no stop pipe (SIGTERM waits for an update under way)");
				stop_pipe[0] = stop_pipe[1] = -1;
			}
			for (int k = 0; k < 2 && stop_pipe[k] >= 0; k++) {
				fcntl(stop_pipe[k], F_SETFD, FD_CLOEXEC);
				fcntl(stop_pipe[k], F_SETFL, O_NONBLOCK);
			}
		}
		if ((errno = pthread_create(&thread, NULL, sender, NULL)) != 0) {
			pthread_mutex_unlock(&mu);
			log_warn("dns update: cannot start the sender");
			job_free(j);
			return;
		}
		started = true;
	}
	j->target.stop_fd = stop_pipe[0];
	job_free(next_job);
	next_job = j;
	atomic_store(&job_waiting, true);
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

void
dnspush_stop(void)
{
	pthread_mutex_lock(&mu);
	if (!started) {
		pthread_mutex_unlock(&mu);
		return;
	}
	stopping = true;
	atomic_store(&stop_now, true);
	if (stop_pipe[1] >= 0 && write(stop_pipe[1], "x", 1) < 0)
		log_warn("dns update: cannot wake the sender");
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
	/* drained: a sender started again later is not stopped at once */
	for (char c; stop_pipe[0] >= 0 && read(stop_pipe[0], &c, 1) == 1;)
		;
	pthread_mutex_lock(&mu);
	job_free(next_job);
	next_job = NULL;
	started = false;
	pthread_mutex_unlock(&mu);
}
