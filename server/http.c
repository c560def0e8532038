/* SPDX-License-Identifier: MIT */
/* http: the listeners (HTTPS, plain HTTP, admin) on libmicrohttpd; the only file that includes <microhttpd.h>. */
#include "http.h"
#include "acmechal.h"
#include "certstore.h"
#include "cidr.h"
#include "conntrack.h"
#include "forwarded.h"
#include "log.h"
#include "metrics.h"
#include "metricspage.h"
#include "pool.h"
#include "proxyaccept.h"
#include "restartkeys.h"
#include "route.h"
#include "tenants.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

enum listener_kind { LISTEN_HTTPS, LISTEN_HTTP, LISTEN_ADMIN };

struct listener {
	enum listener_kind kind;
	char *address;
	struct MHD_Daemon *daemon;
	MHD_socket quiesced;
	struct proxyaccept *pa;		/* PROXY protocol listeners: accepts and hands connections on */
	const struct config_listener *cl;	/* borrowed from struct http's bound */
	struct conntrack *ct;		/* its connections: limits and deadlines */
};

struct http {
	struct listener *l;
	size_t n;
	struct config *bound;		/* the listeners' keys, copied at start; proxyaccept borrows from it */
};

/* One per connection: its limits and deadline, and on TLS the snapshot whose certificates its handshake uses. */
struct conn {
	struct snapshot *snap;
	struct certstore_session *tls;
	struct conntrack_conn *track;	/* NULL: refused by a limit, being closed */
};

/* route_answers as responses, built once: they do not depend on the config. */
static struct MHD_Response *resp_fixed[ROUTE_N_ANSWERS];
static atomic_uint in_flight;
static char request_marker;

const char *
http_lib_version(void)
{
	return MHD_get_version();
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;
	(void)cls;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("mhd: %s", msg);
	metrics_mhd_answer(msg);
	/* its own limit is only a backstop above conntrack's, but a refusal is a refusal */
	if (strncmp(msg, "Server reached connection limit", 31) == 0)
		conntrack_note_library_refusal();
}

static struct conn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static struct MHD_Response *
make_response(const char *body, size_t len, bool allow, bool close)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return NULL;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain") != MHD_YES ||
	    (allow && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, ROUTE_ALLOW) != MHD_YES) ||
	    (close && MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

/* The prebuilt response of route_answer(STATUS); NULL (answered as 500) for any other status. */
static struct MHD_Response *
fixed_response(unsigned status)
{
	const struct route_answer *a = route_answer(status);

	return a != NULL ? resp_fixed[a - route_answers] : NULL;
}

static void
release_responses(struct snapshot *snap)
{
	/* a tenant file's response goes with the file (release_shared) */
	for (size_t i = 0; i < snap->n_own; i++) {
		if (snap->own[i].prebuilt != NULL)
			MHD_destroy_response(snap->own[i].prebuilt);
		snap->own[i].prebuilt = NULL;
	}
}

/* tenants_set_release's hook: the last snapshot serving a tenant file has let go of it. */
static void
release_shared(void *prebuilt)
{
	MHD_destroy_response(prebuilt);
}

int
http_prepare(struct snapshot *snap)
{
	static bool hook_set;

	/* the first snapshot is prepared before any listener thread exists: the hook is written then, once */
	if (!hook_set) {
		tenants_set_release(release_shared);
		hook_set = true;
	}
	/* the responses are made by the requests (site_response) */
	snap->release = release_responses;
	return 0;
}

/*
 * S's response, made by the first request for it; of two first requests at
 * once, one response is kept and the other destroyed. The caller holds a
 * snapshot serving S, so S's owner cannot release it meanwhile. NULL when
 * out of memory (a 500).
 */
static struct MHD_Response *
site_response(const struct site *site)
{
	/* a site is immutable but for its response (site.h) */
	struct site *s = (struct site *)(uintptr_t)site;
	void *r = atomic_load_explicit(&s->prebuilt, memory_order_acquire), *none = NULL;

	if (r != NULL)
		return r;
	/* the body is copied, so a response outlives the snapshot while MHD still sends it */
	if ((r = make_response(s->body, s->body_len, false, false)) == NULL) {
		log_error("%s: cannot create the response for '%s'", __func__, s->host);
		return NULL;
	}
	if (!atomic_compare_exchange_strong_explicit(&s->prebuilt, &none, r, memory_order_acq_rel,
	    memory_order_acquire)) {
		MHD_destroy_response(r);
		r = none;
	}
	return r;
}

/* Copy S into OUT for a log line: printable ASCII only, never quotes or spaces. */
static const char *
clean(const char *s, char *out, size_t len)
{
	size_t i = 0;

	if (s == NULL)
		return "-";
	for (; s[i] != '\0' && i + 1 < len; i++)
		out[i] = (s[i] > 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
	out[i] = '\0';
	return i ? out : "-";
}

/* Every line of the two forwarding headers, in order. */
struct fwd_lines {
	const char *xff[16], *fwd[16];
	size_t n_xff, n_fwd;
};

static enum MHD_Result
collect_forwarded(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct fwd_lines *fl = cls;
	(void)kind;

	/* more lines than kept: the rightmost stay, the ones the proxies appended (a client's come first) */
	if (strcasecmp(key, "X-Forwarded-For") == 0)
		forwarded_keep(fl->xff, &fl->n_xff, 16, value);
	else if (strcasecmp(key, "Forwarded") == 0)
		forwarded_keep(fl->fwd, &fl->n_fwd, 16, value);
	return MHD_YES;
}

static void
client_ip(struct MHD_Connection *c, const struct snapshot *snap, bool forwarded, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const struct config *cfg = snap->cfg;

	snprintf(out, len, "-");
	if (sa == NULL)
		return;
	/* only a listed proxy may name another client (an empty list trusts nobody) */
	if (forwarded && cfg->n_trusted_proxies > 0 && cidr_match(cfg->trusted_proxies, cfg->n_trusted_proxies, sa)) {
		struct fwd_lines fl = { 0 };

		MHD_get_connection_values(c, MHD_HEADER_KIND, collect_forwarded, &fl);
		if (forwarded_client(fl.xff, fl.n_xff, fl.fwd, fl.n_fwd, cfg->trusted_proxies, cfg->n_trusted_proxies,
		    out, len))
			return;
	}
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)len);
}

static void
access_line(struct MHD_Connection *c, const struct listener *l, const struct snapshot *snap, const char *sni,
    const char *host,
    const char *method, const char *url, unsigned status, size_t bytes)
{
	char ip[64], b1[256], b2[256], b3[32], b4[512];

	if (snap == NULL || !snap->cfg->access_log)
		return;
	/* X-Forwarded-For comes from a balancer that terminated TLS: plain HTTP listeners only */
	client_ip(c, snap, l->kind == LISTEN_HTTP, ip, sizeof(ip));
	log_access("client=%s sni=%s host=%s method=%s path=%s status=%u bytes=%zu", ip,
	    clean(sni, b1, sizeof(b1)), clean(host, b2, sizeof(b2)), clean(method, b3, sizeof(b3)),
	    clean(url, b4, sizeof(b4)), status, bytes);
}

static enum MHD_Result
queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
	enum MHD_Result rc;

	if (r == NULL) {
		/* only when out of memory; answer without a body */
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (r == NULL)
			return MHD_NO;
		rc = MHD_queue_response(c, 500, r);
		MHD_destroy_response(r);
		metrics_request(500);
		return rc;
	}
	metrics_request(status);
	return MHD_queue_response(c, status, r);
}

/*
 * The first calls of a request: only the headers so far (answering now would
 * make MHD close the connection), or a piece of a body, which means nothing to
 * us and is discarded. True when the request is complete and can be answered.
 */
static bool
request_complete(void **req_cls, size_t *upload_data_size)
{
	if (*req_cls == NULL) {
		*req_cls = &request_marker;
		atomic_fetch_add(&in_flight, 1);
		return false;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return false;
	}
	return true;
}

/*
 * MHD would percent-decode the path in place, and an encoded NUL would cut
 * it short ("/.well-known/mta-sts.txt%00.x" served as the policy): the
 * path reaches route() as sent, which normalises it itself.
 */
static size_t
keep_escapes(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

/*
 * libmicrohttpd 0.9.75 parses a request in place in its read buffer and
 * hands each string out up to its first NUL byte: a literal NUL in the
 * target or in a Host value would silently cut it short
 * ("Host: mta-sts.example.com\0.x" routed as the policy host). The strings
 * lie in the buffer in the order they were sent, separated only by the bytes
 * it replaced with NULs (a space, a CR LF, a '?'); a wider gap between the
 * end of one string and the start of the next means bytes were hidden.
 */
static bool
hides_bytes(const char *s, const char *next, size_t max_gap)
{
	uintptr_t e = (uintptr_t)s + strlen(s), n = (uintptr_t)next;

	return n < e || n - e > max_gap;
}

/* The Host lines of a request, and what follows each (its neighbour in the read buffer). */
struct host_scan {
	size_t n;
	bool hidden;			/* a Host value hides bytes after a NUL */
	const char *host;		/* the last Host value seen, until the next header shows its end */
	const char *end;		/* the end of the request head, or NULL when unknown */
};

static enum MHD_Result
scan_headers(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct host_scan *hs = cls;
	(void)kind;

	/* a Host value ends with CR LF (or LF) before the next header's name */
	if (hs->host != NULL && hides_bytes(hs->host, key, 2))
		hs->hidden = true;
	hs->host = NULL;
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
		hs->n++;
		hs->host = value;
	}
	return MHD_YES;
}

/* The first GET argument's name: where the query starts in the read buffer. */
static enum MHD_Result
first_argument(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	const char **first = cls;
	(void)kind;
	(void)value;

	if (*first == NULL)
		*first = key;
	return MHD_NO;
}

/*
 * Count the Host lines and tell whether the target or a Host value hid
 * bytes behind a NUL (see hides_bytes). The gaps are only judged when the
 * buffer is laid out as expected (the target right after the method), so a
 * library that copies its strings elsewhere never turns requests into 400s.
 */
static void
check_request(struct MHD_Connection *c, const char *method, const char *url, const char *version,
    struct route_request *req, bool *hidden)
{
	const union MHD_ConnectionInfo *hi = MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	struct host_scan hs = { 0 };
	const char *arg = NULL;
	uintptr_t m = (uintptr_t)method + strlen(method), u = (uintptr_t)url;
	bool in_place = u > m && u - m <= 64 && hi != NULL;

	hs.end = in_place ? method + hi->header_size : NULL;
	MHD_get_connection_values(c, MHD_HEADER_KIND, scan_headers, &hs);
	req->n_host = hs.n;
	*hidden = false;
	if (!in_place)
		return;
	/* the last header ends with two line ends: its own and the empty line's */
	if (hs.host != NULL && hides_bytes(hs.host, hs.end, 4))
		hs.hidden = true;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, first_argument, &arg);
	/* the target ends at the space before the version, or at the '?' of its query */
	*hidden = hs.hidden || hides_bytes(url, arg != NULL ? arg : version, arg != NULL ? 1 : 2);
}

/*
 * The http-01 answer to the token R routed to, read from the challenge
 * folder: 200 with *OUT (the request's own response, which the caller
 * destroys once queued; NULL when out of memory, answered as 500) and *LEN
 * bytes, or 404 when no such challenge is pending.
 */
static unsigned
acme_answer(const struct route_result *r, struct MHD_Response **out, size_t *len)
{
	char ka[ACMECHAL_KEYAUTH_MAX];
	struct MHD_Response *resp;

	*out = NULL;
	if (acmechal_http01(r->acme_token, r->acme_token_len, ka, len) <= 0)
		return 404;
	/* RFC 8555 section 8.3: the key authorization is the whole body */
	resp = MHD_create_response_from_buffer(*len, ka, MHD_RESPMEM_MUST_COPY);
	if (resp != NULL && (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream") !=
	    MHD_YES || MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES)) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	*out = resp;
	return 200;
}

static enum MHD_Result
policy_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct listener *l = cls;
	struct snapshot *snap;
	struct conn *conn = NULL;
	const char *host, *sni = NULL;
	struct route_request req = { 0 };
	struct route_result r;
	bool nul;
	struct MHD_Response *resp, *own = NULL;
	enum MHD_Result rc;
	(void)upload_data;

	if (!request_complete(req_cls, upload_data_size))
		return MHD_YES;

	conn = conn_of(c);
	/* answering: the request deadline no longer applies, the idle one starts when it is sent */
	if (conn != NULL)
		conntrack_busy(conn->track);
	if (l->kind == LISTEN_HTTPS)
		sni = conn ? certstore_session_sni(conn->tls) : NULL;
	else
		conn = NULL;	/* no TLS session to cork */
	host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	req.sni = sni;
	req.host = host;
	check_request(c, method, url, version, &req, &nul);
	req.method = method;
	req.target = url;
	req.http10 = strcmp(version, MHD_HTTP_VERSION_1_0) == 0;
	/* the newest snapshot: a keep-alive connection sees a reload on its next request */
	snap = snapshot_current();
	r = route(snap, &req);
	if (nul)
		r = route_bad_request(&req);
	if (r.acme_token != NULL && (r.status = acme_answer(&r, &own, &r.body_len)) == 404)
		r.body_len = route_answer(404)->body_len;
	if (r.acme_token != NULL && r.status == 200)
		resp = own;	/* NULL when out of memory: a 500 */
	else
		resp = r.site != NULL ? site_response(r.site) : fixed_response(r.status);
	/* a balancer checks every few seconds: counted, not logged */
	if (!r.health)
		access_line(c, l, snap, sni, host, method, url, r.status, r.send_body ? r.body_len : 0);
	/* header and body leave as one TLS record and one send, flushed in completed() */
	if (conn != NULL)
		certstore_session_cork(conn->tls);
	rc = queue(c, r.status, resp);
	if (own != NULL)
		MHD_destroy_response(own);
	snapshot_unref(snap);
	return rc;
}

static enum MHD_Result
admin_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct snapshot *snap;
	struct MHD_Response *r;
	struct buf body = { 0 };
	unsigned status = 200;
	enum MHD_Result rc;
	const char *type = "text/plain";
	(void)cls;
	(void)version;
	(void)upload_data;

	if (!request_complete(req_cls, upload_data_size))
		return MHD_YES;
	if (conn_of(c) != NULL)
		conntrack_busy(conn_of(c)->track);
	snap = snapshot_current();
	if (strcmp(url, "/healthz") != 0 && strcmp(url, "/metrics") != 0) {
		rc = queue(c, 404, fixed_response(404));
		snapshot_unref(snap);
		return rc;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		rc = queue(c, 405, fixed_response(405));
		snapshot_unref(snap);
		return rc;
	}
	if (strcmp(url, "/healthz") == 0) {
		if (snap != NULL) {
			char when[32];
			struct tm tm;

			gmtime_r(&snap->loaded_at, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			char pending[256];

			buf_printf(&body, "ok\nconfig: %s\nloaded: %s\ndomains: %zu\ncertificates: %zu\n"
			    "reloads: %llu ok, %llu failed\n", snap->cfg->path, when, snap->n_sites,
			    certstore_count(snap->certs), metrics_reloads(1), metrics_reloads(0));
			if (metrics_restart_pending(pending, sizeof(pending)))
				buf_printf(&body, "restart pending: %s\n", pending);
		} else {
			status = 503;
			buf_printf(&body, "not serving: no valid configuration loaded\n");
		}
	} else {
		metricspage_render(snap, http_lib_version(), &body);
		type = METRICSPAGE_CONTENT_TYPE;
	}
	snapshot_unref(snap);
	r = MHD_create_response_from_buffer(body.len, body.data, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		buf_clear(&body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	rc = queue(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* Whether the peer of FD has sent its FIN: the stream holds nothing more to read, ever. */
static bool
peer_closed(int fd)
{
	char b;

	return fd >= 0 && recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static void
completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	const struct listener *l = cls;
	struct conn *conn = conn_of(c);
	const union MHD_ConnectionInfo *fi = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	int fd = fi ? fi->connect_fd : -1;
	bool half_closed = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && peer_closed(fd);

	if (conn != NULL)
		conntrack_idle(conn->track);
	if (l->kind == LISTEN_HTTPS && conn != NULL && conn->tls != NULL) {
		const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONNECTION);

		certstore_session_flush(conn->tls, fd, half_closed || route_connection_closes(v));
	}
	/*
	 * The client shut its side down after its request: it sends nothing more,
	 * so the answer is followed by our FIN at once, not after the idle
	 * deadline (libmicrohttpd with epoll waits for an event that never comes).
	 */
	if (half_closed)
		shutdown(fd, SHUT_WR);
	if (*req_cls != NULL) {
		atomic_fetch_sub(&in_flight, 1);
		*req_cls = NULL;
	}
}

/*
 * Whether a connection from SA carries many clients, so that a per-address
 * limit would count them as one: a peer in listen.trusted_proxies (as the
 * configuration now has it), or on a PROXY listener a source in its
 * proxy_from (only its LOCAL health checks arrive under its own address).
 */
static bool
carries_many(const struct listener *l, const struct sockaddr *sa)
{
	struct snapshot *snap = snapshot_current();
	bool many = false;

	if (snap != NULL && snap->cfg->n_trusted_proxies > 0)
		many = cidr_match(snap->cfg->trusted_proxies, snap->cfg->n_trusted_proxies, sa);
	snapshot_unref(snap);
	if (!many && l->cl->proxy_protocol && l->cl->n_proxy_from > 0)
		many = proxyaccept_allowed(l->cl->proxy_from, l->cl->n_proxy_from, sa);
	return many;
}

static void
notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct listener *l = cls;
	struct conn *conn;
	enum certstore_hs hs;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fi = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ai = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		conn = xcalloc(1, sizeof(*conn));
		*socket_context = conn;
		if (fi != NULL && ai != NULL && ai->client_addr != NULL)
			conn->track = conntrack_open(l->ct, fi->connect_fd, ai->client_addr, carries_many(l, ai->client_addr));
		if (l->kind != LISTEN_HTTPS)
			return;
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);

		/* the handshake uses the certificates current now, kept alive until the connection closes */
		conn->snap = snapshot_current();
		if (conn->snap != NULL && ci != NULL)
			conn->tls = certstore_session_attach(conn->snap->certs, ci->tls_session);
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		conn = *socket_context;
		if (conn == NULL)
			return;
		hs = certstore_session_result(conn->tls);
		/* our deadline shut it down: the end of stream GnuTLS then read was not the client's */
		if (conntrack_was_shut(conn->track) && hs != CERTSTORE_HS_DONE && hs != CERTSTORE_HS_UNKNOWN_SNI)
			hs = CERTSTORE_HS_TIMEOUT;
		/* a connection refused by a limit never had a handshake to fail */
		switch (conn->track != NULL ? hs : CERTSTORE_HS_DONE) {
		case CERTSTORE_HS_STARTED:
			metrics_tls_failure(METRICS_TLS_PROTOCOL);
			break;
		case CERTSTORE_HS_GARBAGE:
			metrics_tls_failure(METRICS_TLS_GARBAGE);
			break;
		case CERTSTORE_HS_TRUNCATED:
			metrics_tls_failure(METRICS_TLS_TRUNCATED);
			break;
		case CERTSTORE_HS_TIMEOUT:
			metrics_tls_failure(METRICS_TLS_TIMEOUT);
			break;
		default:	/* done, unknown SNI (counted when refused), nothing received */
			break;
		}
		conntrack_close(conn->track);
		certstore_session_free(conn->tls);
		snapshot_unref(conn->snap);
		free(conn);
		*socket_context = NULL;
	}
}

/* A connection whose PROXY header was read: MHD takes it (and closes it on failure). */
static void
proxy_handoff(void *arg, int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct listener *l = arg;

	if (MHD_add_connection(l->daemon, fd, sa, salen) != MHD_YES)
		log_debug("%s: connection on '%s' not taken", __func__, l->address);
}

/* A listening socket on CL's address ([::] is IPv6 only), or -1 after logging the system's reason. */
static int
listen_socket(const struct config_listener *cl)
{
	int fd, one = 1;

	if ((fd = socket(cl->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		log_error("cannot listen on '%s': %s", cl->address, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (cl->sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&cl->sa, cl->salen) < 0 || listen(fd, 1024) < 0) {
		log_error("cannot listen on '%s': %s", cl->address, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
start_listener(struct listener *l, const struct config_listener *cl, const struct config_limits *lim)
{
	unsigned flags = MHD_USE_ITC | MHD_USE_ERROR_LOG;
	/*
	 * One thread per core this process may run on (taskset, cpusets), not
	 * per core of the machine: more threads than cores only adds context
	 * switches, measured at about a third fewer handshakes per CPU second
	 * with two threads pinned to one core.
	 */
	unsigned pool = l->kind == LISTEN_ADMIN ? 1 : pool_threads(64);
	struct MHD_OptionItem ops[16];
	int n = 0, fd = -1;

	if (cl->sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/*
	 * libmicrohttpd 0.9.75 with epoll busy-loops a connection whose TLS
	 * handshake waits for the client: GNUTLS_E_AGAIN from gnutls_handshake
	 * does not clear the connection's read-ready state, so it stays on the
	 * ready list and is retried at once, forever. One client that stops
	 * after part of its ClientHello kept a core 60% busy, and fresh
	 * handshakes cost twice the CPU. Poll mode waits for the direction
	 * GnuTLS asks for, so TLS listeners use it; plain HTTP keeps epoll.
	 */
	if (l->kind == LISTEN_HTTPS)
		flags |= MHD_USE_TLS | MHD_USE_POLL_INTERNAL_THREAD;
	else
		flags |= MHD_USE_EPOLL_INTERNAL_THREAD;
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)lim->connection_timeout, NULL };
	/* the connection's pool holds the request line and headers, plus room for the response headers */
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)lim->max_header_size + 1024, NULL };
	/*
	 * conntrack enforces max_connections and the per-address limit (which
	 * spares balancers and evicts connections that never send a request);
	 * MHD's own limit, split evenly over its threads, is only a backstop
	 * above it. 0 means unlimited; MHD's default would be FD_SETSIZE.
	 */
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
	    lim->max_connections > 0 ? (intptr_t)lim->max_connections * 2 + 64 : 1000000, NULL };
	if (pool > 1)
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)pool, NULL };
	if (cl->proxy_protocol) {
		/* the PROXY acceptor owns the socket and hands each connection over after its header */
		flags |= MHD_USE_NO_LISTEN_SOCKET;
	} else {
		/* bound here, not by MHD, so a failure says the system's reason */
		if ((fd = listen_socket(cl)) < 0)
			return -1;
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
	}
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	{
		unsigned t = lim->connection_timeout * 1000;
		struct conntrack_limits tl = { t, lim->max_connections, lim->max_connections_per_ip, t < 2000 ? t : 2000 };

		l->cl = cl;
		l->ct = conntrack_new(cl->address, &tl);
		if (conntrack_start(l->ct) < 0)
			return -1;
	}
	if (l->kind == LISTEN_HTTPS)
		l->daemon = MHD_start_daemon(flags, 0, NULL, NULL, policy_handler, l,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		    MHD_OPTION_UNESCAPE_CALLBACK, keep_escapes, NULL,
		    MHD_OPTION_NOTIFY_COMPLETED, completed, l,
		    MHD_OPTION_NOTIFY_CONNECTION, notify_connection, l,
		    MHD_OPTION_HTTPS_CERT_CALLBACK, certstore_retrieve_callback(),
		    MHD_OPTION_HTTPS_PRIORITIES, certstore_priorities(),
		    MHD_OPTION_ARRAY, ops,
		    MHD_OPTION_END);
	else
		l->daemon = MHD_start_daemon(flags, 0, NULL, NULL,
		    l->kind == LISTEN_ADMIN ? admin_handler : policy_handler, l,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		    MHD_OPTION_UNESCAPE_CALLBACK, keep_escapes, NULL,
		    MHD_OPTION_NOTIFY_COMPLETED, completed, l,
		    MHD_OPTION_NOTIFY_CONNECTION, notify_connection, l,
		    MHD_OPTION_ARRAY, ops,
		    MHD_OPTION_END);
	if (l->daemon == NULL) {
		log_error("cannot start the server on '%s'", cl->address);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (cl->proxy_protocol) {
		l->pa = proxyaccept_new(0);
		if (l->pa == NULL || proxyaccept_listen(l->pa, cl, proxy_handoff, l) < 0 ||
		    proxyaccept_start(l->pa) < 0)
			return -1;
	}
	log_info("listening kind=%s address=%s threads=%u io=%s proxy_protocol=%s",
	    l->kind == LISTEN_HTTPS ? "https" : l->kind == LISTEN_HTTP ? "http" : "admin", cl->address, pool,
	    l->kind == LISTEN_HTTPS ? "poll" : "epoll", cl->proxy_protocol ? "yes" : "no");
	return 0;
}

struct http *
http_start(struct snapshot *snap)
{
	struct http *h = xcalloc(1, sizeof(*h));
	const struct config *cfg;

	for (size_t i = 0; i < ROUTE_N_ANSWERS; i++) {
		const struct route_answer *a = &route_answers[i];

		if (resp_fixed[i] == NULL)
			resp_fixed[i] = make_response(a->body, a->body_len, a->allow, a->close);
	}
	/* not a reference to SNAP: that would keep its domains and certificates as long as serve runs */
	cfg = h->bound = restartkeys_copy(snap->cfg);
	/* acme.storage is bound at start-up, as the orderer that writes the challenges there is */
	acmechal_set_folder(cfg->acme != NULL ? cfg->acme->storage : NULL);
	h->l = xcalloc(cfg->n_https + cfg->n_http + 1, sizeof(*h->l));
	for (size_t i = 0; i < cfg->n_https + cfg->n_http + (cfg->admin ? 1 : 0); i++) {
		const struct config_listener *cl;
		struct listener *l = &h->l[h->n];

		if (i < cfg->n_https) {
			cl = &cfg->https[i];
			l->kind = LISTEN_HTTPS;
		} else if (i < cfg->n_https + cfg->n_http) {
			cl = &cfg->http[i - cfg->n_https];
			l->kind = LISTEN_HTTP;
		} else {
			cl = cfg->admin;
			l->kind = LISTEN_ADMIN;
		}
		l->quiesced = MHD_INVALID_SOCKET;
		l->address = xstrdup(cl->address);
		h->n++;
		if (start_listener(l, cl, &cfg->limits) < 0) {
			http_shutdown(h);
			return NULL;
		}
	}
	return h;
}

void
http_shutdown(struct http *h)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (h == NULL)
		return;
	for (size_t i = 0; i < h->n; i++) {
		/* no new connections: PROXY acceptors first, they feed the daemons */
		proxyaccept_free(h->l[i].pa);
		h->l[i].pa = NULL;
	}
	for (size_t i = 0; i < h->n; i++)
		if (h->l[i].daemon != NULL)
			h->l[i].quiesced = MHD_quiesce_daemon(h->l[i].daemon);
	/* in-flight requests finish; idle keep-alive connections are closed by MHD_stop_daemon */
	for (int i = 0; i < 250 && atomic_load(&in_flight) > 0; i++)
		nanosleep(&ts, NULL);
	if (atomic_load(&in_flight) > 0)
		log_warnx("%s: %u requests still in flight, closing them", __func__, atomic_load(&in_flight));
	for (size_t i = 0; i < h->n; i++) {
		if (h->l[i].daemon != NULL)
			MHD_stop_daemon(h->l[i].daemon);
		if (h->l[i].quiesced != MHD_INVALID_SOCKET)
			close(h->l[i].quiesced);
		conntrack_free(h->l[i].ct);
		free(h->l[i].address);
	}
	free(h->l);
	config_free(h->bound);
	free(h);
	acmechal_reset();
	for (size_t i = 0; i < ROUTE_N_ANSWERS; i++) {
		MHD_destroy_response(resp_fixed[i]);
		resp_fixed[i] = NULL;
	}
}
