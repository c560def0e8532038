/* SPDX-License-Identifier: MIT */
/* acmeclient: a blocking ACME client (RFC 8555) that registers an account and orders one certificate per name. */
#include "acmeclient.h"

#include "acmejson.h"
#include "httpclient.h"
#include "util.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOSE "application/jose+json"
#define PROBLEM "application/problem+json"

struct acmeclient {
	char *directory_url, *ca_file;
	const struct acmejws_key *key;
	char **contact;
	size_t ncontact;
	bool agree_terms;
	char *eab_kid;
	unsigned char *eab_key;
	size_t eab_key_len;
	long timeout_ms;
	int order_deadline;
	struct acmejson_directory *dir;
	char *nonce;
	char *kid;
	unsigned created, nonce_retries;
	struct httpclient *http;	/* one session: the CA's connection kept across requests */
};

/* ---- errors ---- */

void
acmeclient_error_clear(struct acmeclient_error *e)
{
	if (e == NULL)
		return;
	free(e->type);
	free(e->detail);
	memset(e, 0, sizeof(*e));
}

static void
set_error(struct acmeclient_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(struct acmeclient_error *e, const char *fmt, ...)
{
	va_list ap;

	acmeclient_error_clear(e);
	va_start(ap, fmt);
	e->detail = xvasprintf(fmt, ap);
	va_end(ap);
}

/* E from the problem P (of the answer with STATUS), WHAT naming the request */
static void
error_from_problem(struct acmeclient_error *e, const char *what, long status, const struct acmejson_problem *p)
{
	acmeclient_error_clear(e);
	e->type = xstrdup(p->type);
	snprintf(e->name, sizeof(e->name), "%s", p->name);
	e->status = status != 0 ? (int)status : p->status;
	if (p->detail != NULL)
		e->detail = xasprintf("%s: %s", what, p->detail);
	else
		e->detail = xasprintf("%s: %s", what, p->type);
}

static bool
ctype_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	return ctype != NULL && str_has_prefix_ci(ctype, want) && (ctype[n] == '\0' || ctype[n] == ';' ||
	    ctype[n] == ' ');
}

void
acmeclient_error_from_answer(struct acmeclient_error *e, const char *what, long status, const char *ctype,
    const char *text, size_t len, const char *retry_after, time_t now)
{
	struct acmejson_problem *p = NULL;
	char perr[256];
	time_t t;

	acmeclient_error_clear(e);
	if (ctype_is(ctype, PROBLEM) && (p = acmejson_problem_parse(text, len, perr, sizeof(perr))) != NULL) {
		error_from_problem(e, what, status, p);
		acmejson_problem_free(p);
	} else if (ctype_is(ctype, PROBLEM)) {
		e->detail = xasprintf("%s: HTTP status %ld with a malformed problem document (%s)", what, status, perr);
		e->status = (int)status;
	} else {
		e->detail = xasprintf("%s: HTTP status %ld (%s)", what, status,
		    ctype != NULL ? ctype : "no content type");
		e->status = (int)status;
	}
	if (retry_after != NULL && httpclient_retry_after(retry_after, now, ACMESCHED_RETRY_AFTER_MAX, &t) == 0) {
		e->has_retry_after = true;
		e->retry_after = t;
	}
}

void
acmeclient_error_failure(const struct acmeclient_error *e, struct acmesched_failure *f)
{
	memset(f, 0, sizeof(*f));
	f->rate_limited = e->type != NULL && strcmp(e->name, "rateLimited") == 0;
	f->has_retry_after = e->has_retry_after;
	f->retry_after = e->retry_after;
}

/* ---- certificates ---- */

void
acmeclient_cert_clear(struct acmeclient_cert *c)
{
	if (c == NULL)
		return;
	free(c->chain_pem);
	free(c->replaces_refused);
	if (c->key_pem != NULL) {
		gnutls_memset(c->key_pem, 0, c->key_len);
		free(c->key_pem);
	}
	memset(c, 0, sizeof(*c));
}

int
acmeclient_csr(const char *name, unsigned char **der, size_t *der_len, char **key_pem, size_t *key_len,
    char *err, size_t errlen)
{
	gnutls_x509_privkey_t pk = NULL;
	gnutls_x509_crq_t crq = NULL;
	gnutls_datum_t d = { NULL, 0 }, k = { NULL, 0 };
	size_t n = strlen(name);
	int rc, ret = -1;
	const char *step;

	*der = NULL;
	*key_pem = NULL;
	step = "key";
	if ((rc = gnutls_x509_privkey_init(&pk)) < 0 ||
	    (rc = gnutls_x509_privkey_generate(pk, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
	    0)) < 0)
		goto fail;
	step = "request";
	if ((rc = gnutls_x509_crq_init(&crq)) < 0 || (rc = gnutls_x509_crq_set_version(crq, 1)) < 0)
		goto fail;
	step = "common name";
	if (n <= 64 && (rc = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, name,
	    (unsigned)n)) < 0)
		goto fail;
	step = "subjectAltName";
	if ((rc = gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, name, (unsigned)n,
	    GNUTLS_FSAN_SET)) < 0)
		goto fail;
	step = "signature";
	if ((rc = gnutls_x509_crq_set_key(crq, pk)) < 0 || (rc = gnutls_x509_crq_sign2(crq, pk, GNUTLS_DIG_SHA256,
	    0)) < 0)
		goto fail;
	step = "export";
	if ((rc = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, &d)) < 0 ||
	    (rc = gnutls_x509_privkey_export2_pkcs8(pk, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &k)) < 0)
		goto fail;
	*der = xmalloc(d.size);
	memcpy(*der, d.data, d.size);
	*der_len = d.size;
	*key_pem = xmalloc(k.size + 1);
	memcpy(*key_pem, k.data, k.size);
	(*key_pem)[k.size] = '\0';
	*key_len = k.size;
	ret = 0;
	goto done;
fail:
	snprintf(err, errlen, "certificate request for '%s': %s: %s", name, step, gnutls_strerror(rc));
done:
	gnutls_free(d.data);
	if (k.data != NULL) {
		gnutls_memset(k.data, 0, k.size);
		gnutls_free(k.data);
	}
	gnutls_x509_crq_deinit(crq);
	gnutls_x509_privkey_deinit(pk);
	return ret;
}

/* ---- the client ---- */

struct acmeclient *
acmeclient_new(const struct acmeclient_config *cfg)
{
	struct acmeclient *c = xcalloc(1, sizeof(*c));
	size_t i;

	c->directory_url = xstrdup(cfg->directory);
	c->ca_file = cfg->ca_file != NULL ? xstrdup(cfg->ca_file) : NULL;
	c->key = cfg->key;
	c->ncontact = cfg->ncontact;
	c->contact = xcalloc(cfg->ncontact + 1, sizeof(*c->contact));
	for (i = 0; i < cfg->ncontact; i++)
		c->contact[i] = xstrdup(cfg->contact[i]);
	c->agree_terms = cfg->agree_terms;
	if (cfg->eab_kid != NULL && cfg->eab_hmac_key_len > 0) {
		c->eab_kid = xstrdup(cfg->eab_kid);
		c->eab_key = xmalloc(cfg->eab_hmac_key_len);
		memcpy(c->eab_key, cfg->eab_hmac_key, cfg->eab_hmac_key_len);
		c->eab_key_len = cfg->eab_hmac_key_len;
	}
	c->timeout_ms = cfg->timeout_ms;
	c->order_deadline = cfg->order_deadline > 0 ? cfg->order_deadline : 300;
	c->http = httpclient_new();
	return c;
}

bool
acmeclient_same_eab(const struct acmeclient *c, const char *kid, const unsigned char *key, size_t len)
{
	if (kid == NULL || len == 0)
		return c->eab_kid == NULL;
	return c->eab_kid != NULL && strcmp(c->eab_kid, kid) == 0 && c->eab_key_len == len &&
	    memcmp(c->eab_key, key, len) == 0;
}

void
acmeclient_free(struct acmeclient *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ncontact; i++)
		free(c->contact[i]);
	free(c->contact);
	free(c->directory_url);
	free(c->ca_file);
	free(c->eab_kid);
	if (c->eab_key != NULL) {
		gnutls_memset(c->eab_key, 0, c->eab_key_len);
		free(c->eab_key);
	}
	acmejson_directory_free(c->dir);
	free(c->nonce);
	free(c->kid);
	httpclient_free(c->http);
	free(c);
}

const char *
acmeclient_account_url(const struct acmeclient *c)
{
	return c->kid;
}

unsigned
acmeclient_accounts_created(const struct acmeclient *c)
{
	return c->created;
}

unsigned
acmeclient_nonce_retries(const struct acmeclient *c)
{
	return c->nonce_retries;
}

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_for(double secs)
{
	struct timespec ts;

	if (secs <= 0)
		return;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
keep_nonce(struct acmeclient *c, const struct httpclient_response *r)
{
	if (r->replay_nonce != NULL && r->replay_nonce[0] != '\0') {
		free(c->nonce);
		c->nonce = xstrdup(r->replay_nonce);
	}
}

static int
send_req(struct acmeclient *c, struct httpclient_request *req, struct httpclient_response *res, const char *what,
    struct acmeclient_error *e)
{
	char err[512];

	req->ca_file = c->ca_file;
	req->timeout_ms = c->timeout_ms;
	if (httpclient_send(c->http, req, res, err, sizeof(err)) < 0) {
		set_error(e, "%s: %s", what, err);
		return -1;
	}
	keep_nonce(c, res);
	return 0;
}

static int
fetch_directory(struct acmeclient *c, struct acmeclient_error *e)
{
	struct httpclient_request req = { .method = HTTPCLIENT_GET, .url = c->directory_url,
		.accept = "application/json" };
	struct httpclient_response res;
	char err[512];
	int ret = -1;

	if (c->dir != NULL)
		return 0;
	if (send_req(c, &req, &res, "directory", e) < 0)
		return -1;
	if (res.status != 200) {
		acmeclient_error_from_answer(e, "directory", res.status, res.content_type, res.body, res.len,
		    res.retry_after, time(NULL));
	} else if ((c->dir = acmejson_directory_parse(res.body, res.len, err, sizeof(err))) == NULL) {
		set_error(e, "directory %s: %s", c->directory_url, err);
	} else
		ret = 0;
	httpclient_response_clear(&res);
	return ret;
}

int
acmeclient_directory(struct acmeclient *c, bool *has_ari, struct acmeclient_error *e)
{
	*has_ari = false;
	if (fetch_directory(c, e) < 0)
		return -1;
	*has_ari = c->dir->renewal_info != NULL;
	return 0;
}

static int
new_nonce(struct acmeclient *c, struct acmeclient_error *e)
{
	struct httpclient_request req = { .method = HTTPCLIENT_HEAD, .url = c->dir->new_nonce };
	struct httpclient_response res;
	int ret = 0;

	if (send_req(c, &req, &res, "new nonce", e) < 0)
		return -1;
	if (res.status != 200 && res.status != 204) {
		acmeclient_error_from_answer(e, "new nonce", res.status, res.content_type, res.body, res.len,
		    res.retry_after, time(NULL));
		ret = -1;
	} else if (c->nonce == NULL) {
		set_error(e, "new nonce: the answer has no Replay-Nonce");
		ret = -1;
	}
	httpclient_response_clear(&res);
	return ret;
}

/*
 * POST the JWS of PAYLOAD ("" for POST-as-GET) to URL, signed with the
 * account's kid (or the jwk when USE_JWK). A badNonce refusal is sent again
 * with the nonce it carried. Returns 0 with RES for a 2xx answer, else -1
 * with E filled (RES empty).
 */
static int
post(struct acmeclient *c, const char *url, const char *payload, bool use_jwk, const char *accept, const char *what,
    struct httpclient_response *res, struct acmeclient_error *e)
{
	struct httpclient_request req = { .method = HTTPCLIENT_POST, .url = url, .content_type = JOSE,
		.accept = accept };
	char err[256], *jws;
	int attempt, rc;

	memset(res, 0, sizeof(*res));
	for (attempt = 0;; attempt++) {
		if (c->nonce == NULL && new_nonce(c, e) < 0)
			return -1;
		jws = acmejws_sign(c->key, url, c->nonce, use_jwk ? NULL : c->kid, payload, err, sizeof(err));
		/* a nonce is good for one request, whatever the answer */
		free(c->nonce);
		c->nonce = NULL;
		if (jws == NULL) {
			set_error(e, "%s: %s", what, err);
			return -1;
		}
		req.body = jws;
		req.body_len = strlen(jws);
		rc = send_req(c, &req, res, what, e);
		free(jws);
		if (rc < 0)
			return -1;
		if (res->status >= 200 && res->status < 300)
			return 0;
		acmeclient_error_from_answer(e, what, res->status, res->content_type, res->body, res->len,
		    res->retry_after, time(NULL));
		httpclient_response_clear(res);
		if (strcmp(e->name, "badNonce") != 0 || attempt >= ACMECLIENT_BADNONCE_RETRIES)
			return -1;
		acmeclient_error_clear(e);
		c->nonce_retries++;
	}
}

static void
put_json_string(struct buf *b, const char *s)
{
	const unsigned char *p;

	buf_puts(b, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			buf_printf(b, "\\u%04x", *p);
		else
			buf_append(b, p, 1);
	}
	buf_puts(b, "\"");
}

static int
register_account(struct acmeclient *c, bool only_existing, struct acmeclient_error *e)
{
	struct httpclient_response res;
	struct acmejson_account *a;
	struct buf b = { 0 };
	char err[256];
	size_t i;
	int rc;

	if (only_existing)
		buf_puts(&b, "{\"onlyReturnExisting\":true}");
	else {
		buf_printf(&b, "{\"termsOfServiceAgreed\":%s", c->agree_terms ? "true" : "false");
		if (c->ncontact > 0) {
			buf_puts(&b, ",\"contact\":[");
			for (i = 0; i < c->ncontact; i++) {
				if (i > 0)
					buf_puts(&b, ",");
				put_json_string(&b, c->contact[i]);
			}
			buf_puts(&b, "]");
		}
		if (c->eab_kid != NULL) {
			char *eab = acmejws_eab(c->key, c->eab_kid, c->eab_key, c->eab_key_len, c->dir->new_account,
			    err, sizeof(err));
			if (eab == NULL) {
				set_error(e, "new account: external account binding: %s", err);
				buf_clear(&b);
				return -1;
			}
			buf_puts(&b, ",\"externalAccountBinding\":");
			buf_puts(&b, eab);
			free(eab);
		}
		buf_puts(&b, "}");
	}
	rc = post(c, c->dir->new_account, b.data, true, "application/json", "new account", &res, e);
	buf_clear(&b);
	if (rc < 0)
		return -1;
	rc = -1;
	if (res.location == NULL)
		set_error(e, "new account: the answer has no Location (the account's URL)");
	else if ((a = acmejson_account_parse(res.body, res.len, err, sizeof(err))) == NULL)
		set_error(e, "new account: %s", err);
	else {
		if (a->status != ACMEJSON_ACCOUNT_VALID)
			set_error(e, "new account: the account at %s is %s", res.location,
			    acmejson_account_status_name(a->status));
		else {
			free(c->kid);
			c->kid = xstrdup(res.location);
			if (!only_existing)
				c->created++;
			rc = 0;
		}
		acmejson_account_free(a);
	}
	httpclient_response_clear(&res);
	return rc;
}

int
acmeclient_account(struct acmeclient *c, struct acmeclient_error *e)
{
	if (fetch_directory(c, e) < 0)
		return -1;
	if (c->kid != NULL)
		return 0;
	if (c->dir->external_account_required && c->eab_kid == NULL) {
		set_error(e, "new account: the CA requires external account binding: set acme.eab (kid, hmac_key) "
		    "as the CA gave them");
		return -1;
	}
	if (register_account(c, true, e) == 0)
		return 0;
	if (strcmp(e->name, "accountDoesNotExist") != 0)
		return -1;
	acmeclient_error_clear(e);
	if (!c->agree_terms) {
		set_error(e, "new account: the CA's terms of service%s%s must be agreed to (agree_terms)",
		    c->dir->terms_of_service != NULL ? " at " : "",
		    c->dir->terms_of_service != NULL ? c->dir->terms_of_service : "");
		return -1;
	}
	return register_account(c, false, e);
}

/* how long to wait before the next poll: Retry-After, capped, else a short growing interval */
static double
poll_wait(const struct httpclient_response *res, unsigned polls)
{
	time_t now = time(NULL), t;
	double w;

	if (res->retry_after != NULL && httpclient_retry_after(res->retry_after, now, ACMECLIENT_POLL_CAP, &t) == 0)
		return t > now ? (double)(t - now) : 0.2;
	/* 0.1 s, then half as long again each time: a fast CA answers within the first polls */
	for (w = 0.1; polls > 0 && w < ACMECLIENT_POLL_CAP; polls--)
		w *= 1.5;
	return w < ACMECLIENT_POLL_CAP ? w : ACMECLIENT_POLL_CAP;
}

struct order_run {
	struct acmeclient *c;
	const char *name;
	double deadline;
	struct acmejson_order *order;
	char *order_url;
};

static int
past_deadline(struct order_run *r, const char *what, struct acmeclient_error *e)
{
	if (now_mono() < r->deadline)
		return 0;
	set_error(e, "%s for '%s': no answer within the order deadline of %d s", what, r->name, r->c->order_deadline);
	return -1;
}

/* POST-as-GET the order into R->order */
static int
get_order(struct order_run *r, struct httpclient_response *keep, struct acmeclient_error *e)
{
	struct httpclient_response res;
	struct acmejson_order *o;
	char err[256];

	if (post(r->c, r->order_url, "", false, "application/json", "order", &res, e) < 0)
		return -1;
	if ((o = acmejson_order_parse(res.body, res.len, err, sizeof(err))) == NULL) {
		set_error(e, "order %s: %s", r->order_url, err);
		httpclient_response_clear(&res);
		return -1;
	}
	acmejson_order_free(r->order);
	r->order = o;
	if (keep != NULL) {
		httpclient_response_clear(keep);
		*keep = res;
	} else
		httpclient_response_clear(&res);
	return 0;
}

static const struct acmejson_challenge *
choose(const struct acmejson_authz *a, const char *const *prefs, size_t nprefs)
{
	size_t i, j;

	for (i = 0; i < nprefs; i++)
		for (j = 0; j < a->nchallenges; j++)
			if (a->challenges[j].token != NULL && strcmp(a->challenges[j].type, prefs[i]) == 0)
				return &a->challenges[j];
	return NULL;
}

static int
authorize(struct order_run *r, const char *url, const char *const *prefs, size_t nprefs, acmeclient_ready_fn ready,
    void *ctx, struct acmeclient_error *e)
{
	struct httpclient_response res = { 0 };
	struct acmejson_authz *a = NULL;
	const struct acmejson_challenge *ch;
	char err[256], *keyauth, *chall_url = NULL;
	unsigned polls = 0;
	int ret = -1;
	size_t i;

	for (;;) {
		httpclient_response_clear(&res);
		if (post(r->c, url, "", false, "application/json", "authorization", &res, e) < 0)
			goto done;
		acmejson_authz_free(a);
		if ((a = acmejson_authz_parse(res.body, res.len, err, sizeof(err))) == NULL) {
			set_error(e, "authorization %s: %s", url, err);
			goto done;
		}
		if (a->status == ACMEJSON_AUTHZ_VALID) {
			ret = 0;
			goto done;
		}
		if (a->status != ACMEJSON_AUTHZ_PENDING) {
			/* the challenge's error says why (a DNS failure, a wrong answer...) */
			for (i = 0; i < a->nchallenges; i++)
				if (a->challenges[i].error != NULL &&
				    (chall_url == NULL || strcmp(a->challenges[i].url, chall_url) == 0))
					break;
			if (i < a->nchallenges) {
				char *what = xasprintf("%s challenge for '%s'", a->challenges[i].type, r->name);

				error_from_problem(e, what, 0, a->challenges[i].error);
				free(what);
			} else
				set_error(e, "authorization for '%s' is %s", r->name,
				    acmejson_authz_status_name(a->status));
			goto done;
		}
		if (chall_url == NULL) {
			if ((ch = choose(a, prefs, nprefs)) == NULL) {
				set_error(e, "authorization for '%s': the CA offers none of the challenge types asked for",
				    r->name);
				goto done;
			}
			chall_url = xstrdup(ch->url);
			if (ch->status == ACMEJSON_CHALL_PENDING) {
				keyauth = acmejws_key_authorization(ch->token, r->c->key);
				if (ready(ctx, r->name, ch->type, ch->token, keyauth) < 0) {
					set_error(e, "%s challenge for '%s': the answer could not be made available",
					    ch->type, r->name);
					free(keyauth);
					goto done;
				}
				free(keyauth);
				httpclient_response_clear(&res);
				if (post(r->c, chall_url, "{}", false, "application/json", "challenge", &res, e) < 0)
					goto done;
			}
		}
		if (past_deadline(r, "authorization", e) < 0)
			goto done;
		sleep_for(poll_wait(&res, polls++));
	}
done:
	free(chall_url);
	acmejson_authz_free(a);
	httpclient_response_clear(&res);
	return ret;
}

/* poll the order while its status is WHILE; then it must be WANT */
static int
poll_order(struct order_run *r, enum acmejson_order_status while_, enum acmejson_order_status want,
    struct httpclient_response *last, struct acmeclient_error *e)
{
	unsigned polls = 0;

	while (r->order->status == while_) {
		if (past_deadline(r, "order", e) < 0)
			return -1;
		sleep_for(poll_wait(last, polls++));
		if (get_order(r, last, e) < 0)
			return -1;
	}
	if (r->order->status == want)
		return 0;
	if (r->order->error != NULL) {
		char *what = xasprintf("order for '%s'", r->name);

		error_from_problem(e, what, 0, r->order->error);
		free(what);
	} else
		set_error(e, "order for '%s' is %s, not %s", r->name, acmejson_order_status_name(r->order->status),
		    acmejson_order_status_name(want));
	return -1;
}

void
acmeclient_order_payload(struct buf *b, const char *name, const char *replaces)
{
	buf_puts(b, "{\"identifiers\":[{\"type\":\"dns\",\"value\":");
	put_json_string(b, name);
	buf_puts(b, "}]");
	if (replaces != NULL) {
		buf_puts(b, ",\"replaces\":");
		put_json_string(b, replaces);
	}
	buf_puts(b, "}");
}

/*
 * newOrder for NAME, naming REPLACES when there is one and the CA has
 * ARI. A refusal that may be of the replaces field alone (alreadyReplaced:
 * the old certificate was replaced already, by an order of ours that was
 * lost; malformed: a CA that does not take the field) is tried once more
 * without it, *REFUSED then holding the CA's detail.
 */
static int
new_order(struct acmeclient *c, const char *name, const char *replaces, struct httpclient_response *res,
    char **refused, struct acmeclient_error *e)
{
	struct buf b = { 0 };
	int rc;

	if (replaces != NULL && c->dir->renewal_info == NULL)
		replaces = NULL;
	acmeclient_order_payload(&b, name, replaces);
	rc = post(c, c->dir->new_order, b.data, false, "application/json", "new order", res, e);
	buf_clear(&b);
	if (rc == 0 || replaces == NULL ||
	    (strcmp(e->name, "alreadyReplaced") != 0 && strcmp(e->name, "malformed") != 0))
		return rc;
	free(*refused);
	*refused = xstrdup(e->detail);
	acmeclient_error_clear(e);
	acmeclient_order_payload(&b, name, NULL);
	rc = post(c, c->dir->new_order, b.data, false, "application/json", "new order", res, e);
	buf_clear(&b);
	return rc;
}

static int
issue_once(struct acmeclient *c, const char *name, const char *const *prefs, size_t nprefs, const char *replaces,
    acmeclient_ready_fn ready, void *ctx, struct acmeclient_cert *out, struct acmeclient_error *e)
{
	struct order_run r = { .c = c, .name = name, .deadline = now_mono() + c->order_deadline };
	struct httpclient_response res = { 0 };
	struct buf b = { 0 };
	unsigned char *der = NULL;
	char err[256], *key_pem = NULL;
	size_t der_len = 0, key_len = 0, i;
	int rc, ret = -1;

	if (acmeclient_account(c, e) < 0)
		return -1;
	if (new_order(c, name, replaces, &res, &out->replaces_refused, e) < 0) {
		free(out->replaces_refused);
		out->replaces_refused = NULL;
		return -1;
	}
	if (res.location == NULL) {
		set_error(e, "new order for '%s': the answer has no Location (the order's URL)", name);
		goto done;
	}
	r.order_url = xstrdup(res.location);
	if ((r.order = acmejson_order_parse(res.body, res.len, err, sizeof(err))) == NULL) {
		set_error(e, "new order for '%s': %s", name, err);
		goto done;
	}
	if (r.order->status == ACMEJSON_ORDER_PENDING) {
		for (i = 0; i < r.order->nauthorizations; i++)
			if (authorize(&r, r.order->authorizations[i], prefs, nprefs, ready, ctx, e) < 0)
				goto done;
		if (get_order(&r, &res, e) < 0 ||
		    poll_order(&r, ACMEJSON_ORDER_PENDING, ACMEJSON_ORDER_READY, &res, e) < 0)
			goto done;
	}
	if (r.order->status == ACMEJSON_ORDER_READY) {
		if (acmeclient_csr(name, &der, &der_len, &key_pem, &key_len, err, sizeof(err)) < 0) {
			set_error(e, "%s", err);
			goto done;
		}
		buf_puts(&b, "{\"csr\":\"");
		acmejws_b64url(&b, der, der_len);
		buf_puts(&b, "\"}");
		httpclient_response_clear(&res);
		rc = post(c, r.order->finalize, b.data, false, "application/json", "finalize", &res, e);
		buf_clear(&b);
		if (rc < 0)
			goto done;
		acmejson_order_free(r.order);
		if ((r.order = acmejson_order_parse(res.body, res.len, err, sizeof(err))) == NULL) {
			set_error(e, "finalize for '%s': %s", name, err);
			goto done;
		}
	} else {
		/* a processing or valid order this client did not finalize has a key it does not hold */
		set_error(e, "new order for '%s' is %s before this client finalized it", name,
		    acmejson_order_status_name(r.order->status));
		goto done;
	}
	if (poll_order(&r, ACMEJSON_ORDER_PROCESSING, ACMEJSON_ORDER_VALID, &res, e) < 0)
		goto done;
	if (r.order->certificate == NULL) {
		set_error(e, "order for '%s' is valid without a certificate URL", name);
		goto done;
	}
	httpclient_response_clear(&res);
	if (post(c, r.order->certificate, "", false, "application/pem-certificate-chain", "certificate", &res, e) < 0)
		goto done;
	if (res.len == 0 || strstr(res.body, "-----BEGIN CERTIFICATE-----") == NULL) {
		set_error(e, "certificate for '%s': the answer holds no PEM certificate", name);
		goto done;
	}
	out->chain_pem = res.body;
	out->chain_len = res.len;
	res.body = NULL;
	out->key_pem = key_pem;
	out->key_len = key_len;
	key_pem = NULL;
	ret = 0;
done:
	if (ret < 0) {
		free(out->replaces_refused);
		out->replaces_refused = NULL;
	}
	free(der);
	if (key_pem != NULL) {
		gnutls_memset(key_pem, 0, key_len);
		free(key_pem);
	}
	free(r.order_url);
	acmejson_order_free(r.order);
	httpclient_response_clear(&res);
	return ret;
}

int
acmeclient_issue(struct acmeclient *c, const char *name, const char *const *challenges, size_t nchallenges,
    const char *replaces, acmeclient_ready_fn ready, void *ctx, struct acmeclient_cert *out,
    struct acmeclient_error *e)
{
	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	if (issue_once(c, name, challenges, nchallenges, replaces, ready, ctx, out, e) == 0)
		return 0;
	if (strcmp(e->name, "accountDoesNotExist") != 0)
		return -1;
	/* the CA lost the account (pebble at every restart, a CA's data loss): register again, once */
	acmeclient_error_clear(e);
	free(c->kid);
	c->kid = NULL;
	return issue_once(c, name, challenges, nchallenges, replaces, ready, ctx, out, e);
}

/* ---- renewal information ---- */

void
acmeclient_renewal_clear(struct acmeclient_renewal *r)
{
	if (r == NULL)
		return;
	free(r->explanation_url);
	memset(r, 0, sizeof(*r));
}

char *
acmeclient_renewal_url(const char *base, const char *cert_id)
{
	size_t n = strlen(base);

	return xasprintf("%s%s%s", base, n > 0 && base[n - 1] == '/' ? "" : "/", cert_id);
}

int
acmeclient_renewal_info(struct acmeclient *c, const char *cert_id, struct acmeclient_renewal *out,
    struct acmeclient_error *e)
{
	struct httpclient_request req = { .method = HTTPCLIENT_GET, .accept = "application/json" };
	struct httpclient_response res;
	struct acmejson_renewal *ri;
	char err[512], *url;
	time_t now, t;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (fetch_directory(c, e) < 0)
		return -1;
	if (c->dir->renewal_info == NULL)
		return ACMECLIENT_NO_ARI;
	url = acmeclient_renewal_url(c->dir->renewal_info, cert_id);
	req.url = url;
	if (send_req(c, &req, &res, "renewalInfo", e) < 0) {
		free(url);
		return -1;
	}
	now = time(NULL);
	if (res.status != 200) {
		acmeclient_error_from_answer(e, "renewalInfo", res.status, res.content_type, res.body, res.len,
		    res.retry_after, now);
	} else if ((ri = acmejson_renewal_parse(res.body, res.len, err, sizeof(err))) == NULL) {
		/* an inverted window is refused by the parser: RFC 9773 treats it as no answer */
		set_error(e, "renewalInfo %s: %s", url, err);
	} else {
		out->window.start = (int64_t)ri->start;
		out->window.end = (int64_t)ri->end;
		out->explanation_url = ri->explanation_url;
		ri->explanation_url = NULL;
		acmejson_renewal_free(ri);
		if (res.retry_after != NULL && httpclient_retry_after(res.retry_after, now, ACMESCHED_ARI_MAX, &t) == 0) {
			out->has_retry_after = true;
			out->retry_after = t;
		}
		ret = 0;
	}
	httpclient_response_clear(&res);
	free(url);
	return ret;
}

size_t
acmeclient_caa_identities(const struct acmeclient *c, const char *const **ids)
{
	*ids = NULL;
	if (c == NULL || c->dir == NULL || c->dir->ncaa_identities == 0)
		return 0;
	*ids = (const char *const *)c->dir->caa_identities;
	return c->dir->ncaa_identities;
}
