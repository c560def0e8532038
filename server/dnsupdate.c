/* SPDX-License-Identifier: MIT */
/* dnsupdate: RFC 2136 UPDATE messages signed with TSIG, their answers, the SOA lookup of a zone and the UDP/TCP exchange (ldns). */
#include "dnsupdate.h"
#include "util.h"
#include "zone.h"

#include <ldns/ldns.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* seconds a signature's time may be off (RFC 8945 section 10: 300 recommended) */
#define TSIG_FUDGE 300
/* an UPDATE answer fits in far less; a larger one is read over TCP */
#define UDP_MAX 4096

static enum dnsupdate_result
from_rcode(unsigned rcode)
{
	switch (rcode) {
	case LDNS_RCODE_NOERROR: return DNSUPDATE_NOERROR;
	case LDNS_RCODE_FORMERR: return DNSUPDATE_FORMERR;
	case LDNS_RCODE_SERVFAIL: return DNSUPDATE_SERVFAIL;
	case LDNS_RCODE_NXDOMAIN: return DNSUPDATE_NXDOMAIN;
	case LDNS_RCODE_NOTIMPL: return DNSUPDATE_NOTIMP;
	case LDNS_RCODE_REFUSED: return DNSUPDATE_REFUSED;
	case LDNS_RCODE_YXDOMAIN: return DNSUPDATE_YXDOMAIN;
	case LDNS_RCODE_YXRRSET: return DNSUPDATE_YXRRSET;
	case LDNS_RCODE_NXRRSET: return DNSUPDATE_NXRRSET;
	case LDNS_RCODE_NOTAUTH: return DNSUPDATE_NOTAUTH;
	case LDNS_RCODE_NOTZONE: return DNSUPDATE_NOTZONE;
	default: return DNSUPDATE_OTHER;
	}
}

/* The RR "OWNER TTL IN TYPE DATA" from presentation format; NULL with ERR set. */
static ldns_rr *
rr_from_str(const char *text, char *err, size_t errlen)
{
	ldns_rr *rr = NULL;
	ldns_status s = ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL);

	if (s != LDNS_STATUS_OK) {
		snprintf(err, errlen, "cannot build the record '%s': %s", text, ldns_get_errorstr_by_id(s));
		return NULL;
	}
	return rr;
}

/*
 * "Delete an RRset" (RFC 2136 section 2.5.2) with CLASS ANY, or the
 * prerequisite "RRset does not exist" (section 2.4.3) with CLASS NONE: TTL 0,
 * no RDATA.
 */
static ldns_rr *
rr_empty(const char *owner, ldns_rr_type type, ldns_rr_class class, char *err, size_t errlen)
{
	ldns_rdf *name = ldns_dname_new_frm_str(owner);
	ldns_rr *rr;

	if (name == NULL) {
		snprintf(err, errlen, "'%s' is not a domain name", owner);
		return NULL;
	}
	rr = ldns_rr_new();
	ldns_rr_set_owner(rr, name);
	ldns_rr_set_type(rr, type);
	ldns_rr_set_class(rr, class);
	ldns_rr_set_ttl(rr, 0);
	return rr;
}

/* Whether SECRET decodes as base64, as ldns_pkt_tsig_sign needs. */
static bool
secret_decodes(const char *secret)
{
	ldns_rdf *r = NULL;

	if (ldns_str2rdf_b64(&r, secret) != LDNS_STATUS_OK || r == NULL)
		return false;
	ldns_rdf_deep_free(r);
	return true;
}

int
dnsupdate_message(const char *zone, const struct dnsupdate_rr *rr, size_t n, unsigned long ttl,
    const struct tsigkey *key, uint16_t id, uint8_t **wire, size_t *len, char *err, size_t errlen)
{
	ldns_rr_list *up = ldns_rr_list_new(), *pre = ldns_rr_list_new();
	ldns_rdf *zrdf = ldns_dname_new_frm_str(zone);
	ldns_pkt *p = NULL;
	ldns_status s;
	int rc = -1;

	*wire = NULL;
	*len = 0;
	if (zrdf == NULL) {
		snprintf(err, errlen, "'%s' is not a zone name", zone);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		ldns_rr *d = rr_empty(rr[i].owner, rr[i].cname ? LDNS_RR_TYPE_CNAME : LDNS_RR_TYPE_TXT,
		    LDNS_RR_CLASS_ANY, err, errlen);
		if (d == NULL)
			goto done;
		ldns_rr_list_push_rr(up, d);
		/*
		 * An add that conflicts with a CNAME, or a CNAME add beside other
		 * data, is silently ignored (RFC 2136 section 3.4.2.2) while the
		 * server answers NOERROR. The TXT names are ours: a CNAME there
		 * (left by a former host) goes. The policy host may hold the
		 * customer's own address records: the server is to refuse
		 * (YXRRSET, section 3.2.5) rather than ignore the CNAME.
		 */
		if (rr[i].value != NULL && !rr[i].cname) {
			if ((d = rr_empty(rr[i].owner, LDNS_RR_TYPE_CNAME, LDNS_RR_CLASS_ANY, err, errlen)) == NULL)
				goto done;
			ldns_rr_list_push_rr(up, d);
		} else if (rr[i].value != NULL) {
			for (int t = 0; t < 2; t++) {
				if ((d = rr_empty(rr[i].owner, t ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A, LDNS_RR_CLASS_NONE,
				    err, errlen)) == NULL)
					goto done;
				ldns_rr_list_push_rr(pre, d);
			}
		}
		if (rr[i].value != NULL) {
			char *data = rr[i].cname ? xstrdup(rr[i].value) : zone_txt_rdata(rr[i].value);
			char *text = xasprintf("%s %lu IN %s %s", rr[i].owner, ttl, rr[i].cname ? "CNAME" : "TXT", data);
			ldns_rr *a = rr_from_str(text, err, errlen);
			free(text);
			free(data);
			if (a == NULL)
				goto done;
			ldns_rr_list_push_rr(up, a);
		}
	}
	/* takes ZRDF, copies PRE and UP */
	p = ldns_update_pkt_new(zrdf, LDNS_RR_CLASS_IN, ldns_rr_list_rr_count(pre) ? pre : NULL, up, NULL);
	zrdf = NULL;
	if (p == NULL) {
		snprintf(err, errlen, "cannot build the update for '%s'", zone);
		goto done;
	}
	ldns_pkt_set_rd(p, false);
	ldns_pkt_set_id(p, id);
	/* ldns leaks what it allocated when a secret does not decode: refused before */
	if (key != NULL && !secret_decodes(key->secret)) {
		snprintf(err, errlen, "cannot sign the update with key '%s': its secret is not base64", key->name);
		goto done;
	}
	if (key != NULL && (s = ldns_pkt_tsig_sign(p, key->name, key->secret, TSIG_FUDGE,
	    tsigkey_alg_name(key->alg), NULL)) != LDNS_STATUS_OK) {
		snprintf(err, errlen, "cannot sign the update with key '%s': %s", key->name, ldns_get_errorstr_by_id(s));
		goto done;
	}
	if ((s = ldns_pkt2wire(wire, p, len)) != LDNS_STATUS_OK) {
		snprintf(err, errlen, "cannot encode the update for '%s': %s", zone, ldns_get_errorstr_by_id(s));
		goto done;
	}
	rc = 0;
done:
	if (zrdf != NULL)
		ldns_rdf_deep_free(zrdf);
	ldns_rr_list_deep_free(up);
	ldns_rr_list_deep_free(pre);
	if (p != NULL)
		ldns_pkt_free(p);
	return rc;
}

static const char *
tsig_error_name(unsigned e)
{
	switch (e) {
	case 16: return "BADSIG";
	case 17: return "BADKEY";
	case 18: return "BADTIME";
	case 22: return "BADTRUNC";
	default: return NULL;
	}
}

enum dnsupdate_result
dnsupdate_judge(const uint8_t *query, size_t qlen, const uint8_t *reply, size_t rlen,
    const struct tsigkey *key, char *detail, size_t dlen)
{
	ldns_pkt *q = NULL, *r = NULL;
	enum dnsupdate_result res = DNSUPDATE_NETWORK;
	ldns_rr *qt, *rt;

	detail[0] = '\0';
	if (ldns_wire2pkt(&q, query, qlen) != LDNS_STATUS_OK) {
		snprintf(detail, dlen, "the query does not parse");
		goto done;
	}
	if (ldns_wire2pkt(&r, reply, rlen) != LDNS_STATUS_OK) {
		snprintf(detail, dlen, "a malformed answer (%zu bytes)", rlen);
		goto done;
	}
	if (!ldns_pkt_qr(r) || ldns_pkt_id(r) != ldns_pkt_id(q)) {
		snprintf(detail, dlen, "an answer that is not for this message");
		goto done;
	}
	res = from_rcode(ldns_pkt_get_rcode(r));
	if (res == DNSUPDATE_OTHER)
		snprintf(detail, dlen, "rcode %u", (unsigned)ldns_pkt_get_rcode(r));
	if (key == NULL || (qt = ldns_pkt_tsig(q)) == NULL)
		goto done;
	rt = ldns_pkt_tsig(r);
	if (rt == NULL || ldns_rr_rd_count(rt) < 6) {
		/* RFC 8945 section 5.3: errors about the key itself come unsigned */
		if (res == DNSUPDATE_NOERROR) {
			res = DNSUPDATE_BADSIG;
			snprintf(detail, dlen, "the answer is not signed with key '%s'", key->name);
		} else if (res == DNSUPDATE_NOTAUTH) {
			snprintf(detail, dlen, "unsigned answer: the server has no such zone, or does not know key '%s'",
			    key->name);
		} else {
			snprintf(detail, dlen, "unsigned answer");
		}
		goto done;
	}
	{
		unsigned e = ldns_rdf2native_int16(ldns_rr_rdf(rt, 5));
		const char *en = tsig_error_name(e);

		if (e != 0) {
			if (res == DNSUPDATE_NOERROR)
				res = DNSUPDATE_NOTAUTH;
			if (en != NULL)
				snprintf(detail, dlen, "TSIG error %s for key '%s'", en, key->name);
			else
				snprintf(detail, dlen, "TSIG error %u for key '%s'", e, key->name);
			goto done;
		}
	}
	if (!ldns_pkt_tsig_verify(r, reply, rlen, key->name, key->secret, ldns_rr_rdf(qt, 3))) {
		res = DNSUPDATE_BADSIG;
		snprintf(detail, dlen, "the answer's TSIG signature does not verify with key '%s'", key->name);
	}
done:
	if (q != NULL)
		ldns_pkt_free(q);
	if (r != NULL)
		ldns_pkt_free(r);
	return res;
}

bool
dnsupdate_truncated(const uint8_t *reply, size_t rlen)
{
	/* the TC bit: second flag byte of the header */
	return rlen >= 12 && (reply[2] & 0x02) != 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until FD is ready for EVENTS, the monotonic time DEADLINE (ms), or
 * STOP_FD (-1: none) readable: 1, 0 on timeout or stop, -1 on error.
 */
static int
wait_fd(int fd, short events, long long deadline, int stop_fd)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p[2] = { { fd, events, 0 }, { stop_fd, POLLIN, 0 } };
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(p, stop_fd >= 0 ? 2 : 1, (int)(left > 60000 ? 60000 : left));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (stop_fd >= 0 && p[1].revents != 0)
			return 0;
		if (rc > 0)
			return 1;
	}
}

static enum dnsupdate_result
exchange_udp(const struct sockaddr *sa, socklen_t salen, const uint8_t *q, size_t qlen, unsigned timeout_ms,
    int stop_fd, uint8_t **reply, size_t *rlen, char *detail, size_t dlen)
{
	int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	enum dnsupdate_result res = DNSUPDATE_TIMEOUT;
	uint8_t *buf = xmalloc(UDP_MAX);

	if (fd < 0 || connect(fd, sa, salen) < 0) {
		snprintf(detail, dlen, "udp: %s", strerror(errno));
		res = DNSUPDATE_NETWORK;
		goto done;
	}
	/* sent twice at most: a lost datagram either way is retried once */
	for (int attempt = 0; attempt < 2 && res == DNSUPDATE_TIMEOUT; attempt++) {
		long long deadline = now_ms() + timeout_ms;

		if (send(fd, q, qlen, 0) != (ssize_t)qlen) {
			snprintf(detail, dlen, "udp send: %s", strerror(errno));
			res = DNSUPDATE_NETWORK;
			break;
		}
		for (;;) {
			int w = wait_fd(fd, POLLIN, deadline, stop_fd);
			ssize_t got;

			if (w == 0)
				break;
			if (w < 0 || (got = recv(fd, buf, UDP_MAX, 0)) < 0) {
				if (w > 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				/* ICMP port unreachable and the like */
				snprintf(detail, dlen, "udp: %s", strerror(errno));
				res = DNSUPDATE_NETWORK;
				break;
			}
			/* a stray datagram (an earlier query's late answer) is not ours */
			if (got < 12 || buf[0] != q[0] || buf[1] != q[1])
				continue;
			*reply = xmalloc((size_t)got);
			memcpy(*reply, buf, (size_t)got);
			*rlen = (size_t)got;
			res = DNSUPDATE_NOERROR;
			break;
		}
	}
	if (res == DNSUPDATE_TIMEOUT)
		snprintf(detail, dlen, "no answer over udp within 2 x %u ms", timeout_ms);
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	return res;
}

/* Write or read exactly LEN bytes before DEADLINE. */
static int
tcp_io(int fd, uint8_t *p, size_t len, bool writing, long long deadline, int stop_fd)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n;
		int w = wait_fd(fd, writing ? POLLOUT : POLLIN, deadline, stop_fd);

		if (w <= 0)
			return w == 0 ? 0 : -1;
		n = writing ? send(fd, p + done, len - done, MSG_NOSIGNAL) : recv(fd, p + done, len - done, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		done += (size_t)n;
	}
	return 1;
}

static enum dnsupdate_result
exchange_tcp(const struct sockaddr *sa, socklen_t salen, const uint8_t *q, size_t qlen, unsigned timeout_ms,
    int stop_fd, uint8_t **reply, size_t *rlen, char *detail, size_t dlen)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), rc;
	long long deadline = now_ms() + timeout_ms;
	uint8_t *msg = NULL, hdr[2];
	size_t n;

	if (fd < 0) {
		snprintf(detail, dlen, "tcp: %s", strerror(errno));
		return DNSUPDATE_NETWORK;
	}
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		snprintf(detail, dlen, "tcp connect: %s", strerror(errno));
		close(fd);
		return DNSUPDATE_NETWORK;
	}
	msg = xmalloc(qlen + 2);
	msg[0] = (uint8_t)(qlen >> 8);
	msg[1] = (uint8_t)qlen;
	memcpy(msg + 2, q, qlen);
	rc = tcp_io(fd, msg, qlen + 2, true, deadline, stop_fd);
	free(msg);
	if (rc > 0)
		rc = tcp_io(fd, hdr, 2, false, deadline, stop_fd);
	if (rc > 0) {
		n = (size_t)hdr[0] << 8 | hdr[1];
		*reply = xmalloc(n ? n : 1);
		if ((rc = tcp_io(fd, *reply, n, false, deadline, stop_fd)) > 0)
			*rlen = n;
		else {
			free(*reply);
			*reply = NULL;
		}
	}
	if (rc == 0)
		snprintf(detail, dlen, "no answer over tcp within %u ms", timeout_ms);
	else if (rc < 0)
		snprintf(detail, dlen, "tcp: %s", strerror(errno));
	close(fd);
	return rc > 0 ? DNSUPDATE_NOERROR : rc == 0 ? DNSUPDATE_TIMEOUT : DNSUPDATE_NETWORK;
}

enum dnsupdate_result
dnsupdate_exchange(const struct sockaddr *sa, socklen_t salen, const uint8_t *query, size_t qlen,
    unsigned timeout_ms, int stop_fd, uint8_t **reply, size_t *rlen, bool *tcp, char *detail, size_t dlen)
{
	enum dnsupdate_result res;

	*reply = NULL;
	*rlen = 0;
	*tcp = false;
	detail[0] = '\0';
	/* a UDP message over 512 bytes may be dropped on the way or by the server (RFC 1035 section 4.2.1) */
	if (qlen > DNSUPDATE_UDP_MAX_QUERY) {
		*tcp = true;
		return exchange_tcp(sa, salen, query, qlen, timeout_ms, stop_fd, reply, rlen, detail, dlen);
	}
	res = exchange_udp(sa, salen, query, qlen, timeout_ms, stop_fd, reply, rlen, detail, dlen);
	if (res != DNSUPDATE_NOERROR || !dnsupdate_truncated(*reply, *rlen))
		return res;
	free(*reply);
	*reply = NULL;
	*rlen = 0;
	*tcp = true;
	return exchange_tcp(sa, salen, query, qlen, timeout_ms, stop_fd, reply, rlen, detail, dlen);
}

static uint16_t
random_id(void)
{
	uint16_t id = 0;

	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
		id = (uint16_t)(now_ms() ^ getpid());
	return id;
}

/* The owner of the first SOA record in LIST, lower case with the trailing dot, or NULL. */
static char *
soa_owner(const ldns_rr_list *list)
{
	for (size_t i = 0; list != NULL && i < ldns_rr_list_rr_count(list); i++) {
		ldns_rr *rr = ldns_rr_list_rr(list, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
			char *s = ldns_rdf2str(ldns_rr_owner(rr)), *out;
			if (s == NULL)
				return NULL;
			out = xstrdup(s);
			free(s);
			str_lower(out);
			return out;
		}
	}
	return NULL;
}

static bool
has_type(const ldns_rr_list *list, ldns_rr_type t)
{
	for (size_t i = 0; list != NULL && i < ldns_rr_list_rr_count(list); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(list, i)) == t)
			return true;
	return false;
}

enum dnsupdate_result
dnsupdate_find_zone(const struct sockaddr *sa, socklen_t salen, const char *name, unsigned timeout_ms,
    int stop_fd, char **zone, char *detail, size_t dlen)
{
	ldns_rdf *cur = ldns_dname_new_frm_str(name);
	enum dnsupdate_result res = DNSUPDATE_NOZONE;
	unsigned last_rcode = 0;

	*zone = NULL;
	detail[0] = '\0';
	if (cur == NULL) {
		snprintf(detail, dlen, "'%s' is not a domain name", name);
		return DNSUPDATE_NOZONE;
	}
	while (res == DNSUPDATE_NOZONE && ldns_dname_label_count(cur) > 0) {
		ldns_pkt *qp = ldns_pkt_query_new(ldns_rdf_clone(cur), LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
		ldns_pkt *rp = NULL;
		uint8_t *q = NULL, *r = NULL;
		size_t qlen = 0, rlen = 0;
		bool tcp;
		ldns_rdf *parent;

		ldns_pkt_set_id(qp, random_id());
		if (ldns_pkt2wire(&q, qp, &qlen) != LDNS_STATUS_OK) {
			ldns_pkt_free(qp);
			snprintf(detail, dlen, "cannot encode the SOA query for '%s'", name);
			res = DNSUPDATE_NETWORK;
			break;
		}
		ldns_pkt_free(qp);
		res = dnsupdate_exchange(sa, salen, q, qlen, timeout_ms, stop_fd, &r, &rlen, &tcp, detail, dlen);
		free(q);
		if (res != DNSUPDATE_NOERROR)
			break;
		res = DNSUPDATE_NOZONE;
		if (ldns_wire2pkt(&rp, r, rlen) != LDNS_STATUS_OK) {
			free(r);
			snprintf(detail, dlen, "a malformed answer to the SOA query");
			res = DNSUPDATE_NETWORK;
			break;
		}
		free(r);
		last_rcode = ldns_pkt_get_rcode(rp);
		if (last_rcode == LDNS_RCODE_NOERROR || last_rcode == LDNS_RCODE_NXDOMAIN) {
			if ((*zone = soa_owner(ldns_pkt_answer(rp))) != NULL ||
			    (*zone = soa_owner(ldns_pkt_authority(rp))) != NULL) {
				ldns_rdf *z = ldns_dname_new_frm_str(*zone), *want = ldns_dname_new_frm_str(name);
				bool holds = z != NULL && want != NULL && (ldns_dname_compare(z, want) == 0 ||
				    ldns_dname_is_subdomain(want, z));
				char *s = ldns_rdf2str(cur);

				/* only the server's own zone, and one that holds the name, is where the update goes */
				if (!ldns_pkt_aa(rp))
					snprintf(detail, dlen, "the server's answer to '%s SOA' is not authoritative (no AA "
					    "bit): it is not a primary for that zone", s ? s : name);
				else if (!holds)
					snprintf(detail, dlen, "the server answered '%s SOA' with the SOA of '%s', which "
					    "does not hold '%s'", s ? s : name, *zone, name);
				else
					res = DNSUPDATE_NOERROR;
				free(s);
				if (z != NULL)
					ldns_rdf_deep_free(z);
				if (want != NULL)
					ldns_rdf_deep_free(want);
				if (res != DNSUPDATE_NOERROR) {
					free(*zone);
					*zone = NULL;
					ldns_pkt_free(rp);
					break;
				}
			} else if (has_type(ldns_pkt_authority(rp), LDNS_RR_TYPE_NS)) {
				char *s = ldns_rdf2str(cur);
				snprintf(detail, dlen, "'%s' is delegated to other servers", s ? s : name);
				free(s);
				ldns_pkt_free(rp);
				break;
			}
		}
		ldns_pkt_free(rp);
		if (res == DNSUPDATE_NOERROR)
			break;
		parent = ldns_dname_left_chop(cur);
		ldns_rdf_deep_free(cur);
		cur = parent;
		if (cur == NULL)
			break;
	}
	if (cur != NULL)
		ldns_rdf_deep_free(cur);
	if (res == DNSUPDATE_NOZONE && detail[0] == '\0')
		snprintf(detail, dlen, "no zone on the server holds '%s' (its SOA queries were answered %s)", name,
		    ldns_lookup_by_id(ldns_rcodes, (int)last_rcode) ? ldns_lookup_by_id(ldns_rcodes,
		    (int)last_rcode)->name : "without a SOA");
	return res;
}
