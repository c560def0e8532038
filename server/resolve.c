/* SPDX-License-Identifier: MIT */
/* resolve: DNS lookups (A, AAAA, CNAME, CAA) through the resolvers of resolv.conf, with libunbound. */
#include "resolve.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unbound.h>

struct resolver {
	struct ub_ctx *ctx;
};

/* One query of resolve_run in flight: the callback fills Q and sets DONE. */
struct pending {
	struct resolve_query *q;
	int id;
	bool done;
};

static void
set_error(struct resolve_answer *a, int rcode, const char *fmt, const char *arg)
{
	a->status = RESOLVE_FAILED;
	a->rcode = rcode;
	snprintf(a->error, sizeof(a->error), fmt, arg);
}

struct resolver *
resolver_new(const char *resolv_conf, const char *hosts, char *err, size_t errlen)
{
	struct resolver *r;
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	r = xcalloc(1, sizeof(*r));
	if ((r->ctx = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "cannot create a DNS resolver (libunbound)");
		free(r);
		return NULL;
	}
	/*
	 * Threads, not a forked helper: serve is multi-threaded, and a fork
	 * would outlive a crash. A resolver on the loopback (systemd-resolved,
	 * a local unbound, a test's name server) is common in resolv.conf:
	 * unbound refuses to ask 127.0.0.1 unless told. The caches are kept
	 * short: the gate asks again to see a record the owner just added.
	 */
	if ((rc = ub_ctx_async(r->ctx, 1)) != 0 ||
	    (rc = ub_ctx_set_option(r->ctx, "do-not-query-localhost:", "no")) != 0 ||
	    (rc = ub_ctx_set_option(r->ctx, "cache-max-ttl:", "60")) != 0 ||
	    (rc = ub_ctx_set_option(r->ctx, "cache-max-negative-ttl:", "5")) != 0) {
		snprintf(err, errlen, "cannot set up the DNS resolver: %s", ub_strerror(rc));
		resolver_free(r);
		return NULL;
	}
	rc = ub_ctx_resolvconf(r->ctx, resolv_conf);
	if (rc == UB_READFILE) {
		/* resolv.conf(5): without a file (or a nameserver line), the local host */
		snprintf(err, errlen, "cannot read '%s' (%s): asking 127.0.0.1", resolv_conf, strerror(errno));
		rc = ub_ctx_set_fwd(r->ctx, "127.0.0.1");
	}
	if (rc != 0) {
		snprintf(err, errlen, "'%s': %s", resolv_conf, ub_strerror(rc));
		resolver_free(r);
		return NULL;
	}
	/* a missing hosts file is no error, as for the system's resolver */
	if (hosts != NULL && (rc = ub_ctx_hosts(r->ctx, hosts)) != 0 && rc != UB_READFILE) {
		snprintf(err, errlen, "'%s': %s", hosts, ub_strerror(rc));
		resolver_free(r);
		return NULL;
	}
	return r;
}

void
resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	if (r->ctx != NULL)
		ub_ctx_delete(r->ctx);
	free(r);
}

const char *
resolve_type_name(enum resolve_type t)
{
	switch (t) {
	case RESOLVE_A:
		return "A";
	case RESOLVE_CNAME:
		return "CNAME";
	case RESOLVE_AAAA:
		return "AAAA";
	case RESOLVE_CAA:
		return "CAA";
	}
	return "?";
}

const char *
resolve_rcode_name(int rcode, char *buf, size_t len)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE" };

	if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, len, "RCODE %d", rcode);
	return buf;
}

/* NAME without one trailing dot: its length. */
static size_t
name_len(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && name[n - 1] == '.' ? n - 1 : n;
}

bool
resolve_name_eq(const char *a, const char *b)
{
	size_t na = name_len(a), nb = name_len(b);

	return na == nb && str_eq_ci(a, b, na);
}

/* NAME normalized: lower case, no trailing dot (malloc'd). */
static char *
name_norm(const char *name)
{
	char *s = xstrndup(name, name_len(name));

	str_lower(s);
	return s;
}

/*
 * The text of the uncompressed wire-format name D[0..LEN), lower case, no
 * trailing dot ("" for the root); bytes a host name cannot hold as \DDD,
 * so that a hostile answer cannot put anything odd into a log line. NULL
 * when the name runs past LEN.
 */
static char *
wire_name(const unsigned char *d, size_t len)
{
	struct buf b = { 0 };
	size_t i = 0;

	while (i < len && d[i] != 0) {
		size_t l = d[i++];

		if (l > 63 || i + l > len) {
			buf_clear(&b);
			return NULL;
		}
		if (b.len > 0)
			buf_puts(&b, ".");
		for (size_t k = 0; k < l; k++) {
			unsigned char c = d[i + k];

			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*')
				buf_append(&b, &c, 1);
			else if (c >= 'A' && c <= 'Z') {
				c = (unsigned char)(c - 'A' + 'a');
				buf_append(&b, &c, 1);
			} else
				buf_printf(&b, "\\%03u", c);
		}
		i += l;
	}
	if (i >= len) {
		buf_clear(&b);
		return NULL;
	}
	if (b.data == NULL)
		return xstrdup("");
	return b.data;
}

/* D[0..LEN) as text, each byte outside printable ASCII as '?' (CAA values are logged). */
static char *
printable(const unsigned char *d, size_t len)
{
	char *s = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		s[i] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : '?';
	s[len] = '\0';
	return s;
}

/* One record's rdata into A (its type is A->type's); false when it is malformed. */
static bool
add_record(struct resolve_answer *a, enum resolve_type type, const unsigned char *d, size_t len)
{
	char text[INET6_ADDRSTRLEN], *v = NULL;

	switch (type) {
	case RESOLVE_A:
	case RESOLVE_AAAA:
		if (len != (type == RESOLVE_A ? 4u : 16u) ||
		    inet_ntop(type == RESOLVE_A ? AF_INET : AF_INET6, d, text, sizeof(text)) == NULL)
			return false;
		v = xstrdup(text);
		break;
	case RESOLVE_CNAME:
		if ((v = wire_name(d, len)) == NULL)
			return false;
		break;
	case RESOLVE_CAA: {
		struct resolve_caa *c;
		size_t tl;

		/* flags, tag length (1..15), tag, value (RFC 8659 section 4.1) */
		if (len < 2 || (tl = d[1]) == 0 || tl > 15 || 2 + tl > len)
			return false;
		a->caa = xreallocarray(a->caa, a->n + 1, sizeof(*a->caa));
		c = &a->caa[a->n];
		c->flags = d[0];
		c->tag = printable(d + 2, tl);
		str_lower(c->tag);
		c->value = printable(d + 2 + tl, len - 2 - tl);
		a->n++;
		return true;
	}
	}
	a->values = xreallocarray(a->values, a->n + 1, sizeof(*a->values));
	a->values[a->n++] = v;
	return true;
}

/* libunbound's answer RES (or its error ERR) to Q, into Q->answer. */
static void
fill(struct resolve_query *q, int err, const struct ub_result *res)
{
	struct resolve_answer *a = &q->answer;
	char rc[16];

	resolve_answer_clear(a);
	if (err != 0 || res == NULL) {
		set_error(a, -1, "%s", err != 0 ? ub_strerror(err) : "no result");
		return;
	}
	a->rcode = res->rcode;
	a->ttl = res->ttl;
	if (res->canonname != NULL && !resolve_name_eq(res->canonname, q->name))
		a->canonical = name_norm(res->canonname);
	if (res->rcode == 3 || res->nxdomain) {
		a->status = RESOLVE_NXDOMAIN;
		return;
	}
	if (res->rcode != 0) {
		set_error(a, res->rcode, "%s", resolve_rcode_name(res->rcode, rc, sizeof(rc)));
		return;
	}
	for (size_t i = 0; res->havedata && res->data[i] != NULL; i++)
		if (!add_record(a, q->type, (const unsigned char *)res->data[i], (size_t)res->len[i])) {
			resolve_answer_clear(a);
			set_error(a, 0, "a malformed %s record", resolve_type_name(q->type));
			return;
		}
	a->status = a->n > 0 ? RESOLVE_EXISTS : RESOLVE_NODATA;
}

static void
on_result(void *arg, int err, struct ub_result *res)
{
	struct pending *p = arg;

	fill(p->q, err, res);
	ub_resolve_free(res);
	p->done = true;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t
resolve_run(struct resolver *r, struct resolve_query *q, size_t n, int timeout_ms)
{
	struct pending *p = xcalloc(n ? n : 1, sizeof(*p));
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	size_t left = 0, failed = 0;
	int fd = ub_fd(r->ctx), rc;

	for (size_t i = 0; i < n; i++) {
		memset(&q[i].answer, 0, sizeof(q[i].answer));
		p[i].q = &q[i];
		rc = ub_resolve_async(r->ctx, q[i].name, (int)q[i].type, 1, &p[i], on_result, &p[i].id);
		if (rc != 0) {
			set_error(&q[i].answer, -1, "%s", ub_strerror(rc));
			p[i].done = true;
		} else
			left++;
	}
	while (left > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t wait = deadline - now_ms();

		if (wait <= 0 || fd < 0)
			break;
		if (poll(&pfd, 1, (int)wait) < 0 && errno != EINTR)
			break;
		if ((pfd.revents & POLLIN) && ub_process(r->ctx) != 0)
			break;
		left = 0;
		for (size_t i = 0; i < n; i++)
			left += !p[i].done;
	}
	for (size_t i = 0; i < n; i++) {
		if (!p[i].done) {
			char t[32];

			/* cancelled before ub_process saw it: its callback never runs */
			ub_cancel(r->ctx, p[i].id);
			snprintf(t, sizeof(t), "%d.%d s", timeout_ms / 1000, timeout_ms % 1000 / 100);
			set_error(&q[i].answer, -1, "timed out after %s", t);
		}
		failed += q[i].answer.status == RESOLVE_FAILED;
	}
	free(p);
	return failed;
}

enum resolve_status
resolve_lookup(struct resolver *r, const char *name, enum resolve_type type, int timeout_ms,
    struct resolve_answer *answer)
{
	struct resolve_query q = { .name = name, .type = type };

	resolve_run(r, &q, 1, timeout_ms);
	*answer = q.answer;
	return answer->status;
}

void
resolve_answer_clear(struct resolve_answer *a)
{
	for (size_t i = 0; a->values != NULL && i < a->n; i++)
		free(a->values[i]);
	for (size_t i = 0; a->caa != NULL && i < a->n; i++) {
		free(a->caa[i].tag);
		free(a->caa[i].value);
	}
	free(a->values);
	free(a->caa);
	free(a->canonical);
	memset(a, 0, sizeof(*a));
	a->status = RESOLVE_NODATA;
}
