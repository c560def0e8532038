/* SPDX-License-Identifier: MIT */
/* certtls: the TLS session glue of the store: SNI and certificate callbacks, tickets, priorities, record corking. */
#include "certstore_int.h"
#include "acmechal.h"
#include "clienthello.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/crypto.h>
#include <gnutls/socket.h>

struct certstore_session {
	const struct certstore *cs;
	gnutls_session_t gs;
	bool corked;			/* a response collects in GnuTLS (certstore_session_cork) */
	bool tcp_uncorked;		/* TCP_CORK cleared once on this connection */
	enum certstore_hs state;
	char sni[256];
	bool has_sni;
	struct cert *cand[4];		/* candidates for the SNI, found once per handshake */
	bool hello_seen;		/* the first ClientHello was read into hello */
	struct clienthello hello;
	bool acme_offered;		/* its ALPN list offers acme-tls/1 (RFC 8737) */
	struct acmechal_cert *challenge;	/* a tls-alpn-01 answer: this certificate, then the close */
	bool challenge_done;		/* its handshake is over: the connection reads end of stream */
	/* what the client sent while the handshake ran (pull), to tell why it failed */
	int fd;
	unsigned long long rx;		/* bytes received */
	unsigned char first;		/* the first of them */
	bool waiting;			/* the last read found nothing yet */
	bool gone;			/* the client closed or reset the connection */
};

static gnutls_datum_t ticket_key;
/* the same priorities with P-256 or P-384 first, for a client that sent a key share for it only */
static gnutls_priority_t prio_p256, prio_p384;

#define PRIORITIES_BASE                                                                                  \
	"SECURE128:%SERVER_PRECEDENCE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:"     \
	"+AES-256-GCM:+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:"

int
certstore_global_init(void)
{
	int rc;

	if (ticket_key.data != NULL)
		return 0;
	if ((rc = gnutls_session_ticket_key_generate(&ticket_key)) < 0) {
		log_error("%s: cannot generate the session ticket key: %s", __func__, gnutls_strerror(rc));
		return -1;
	}
	if ((rc = gnutls_priority_init(&prio_p256, PRIORITIES_BASE
	    "+GROUP-SECP256R1:+GROUP-X25519:+GROUP-SECP384R1", NULL)) < 0 ||
	    (rc = gnutls_priority_init(&prio_p384, PRIORITIES_BASE
	    "+GROUP-SECP384R1:+GROUP-X25519:+GROUP-SECP256R1", NULL)) < 0) {
		log_error("%s: cannot set the TLS priorities: %s", __func__, gnutls_strerror(rc));
		certstore_global_deinit();
		return -1;
	}
	return 0;
}

void
certstore_global_deinit(void)
{
	if (ticket_key.data != NULL) {
		gnutls_memset(ticket_key.data, 0, ticket_key.size);
		gnutls_free(ticket_key.data);
		ticket_key.data = NULL;
		ticket_key.size = 0;
	}
	if (prio_p256 != NULL)
		gnutls_priority_deinit(prio_p256);
	if (prio_p384 != NULL)
		gnutls_priority_deinit(prio_p384);
	prio_p256 = prio_p384 = NULL;
}

const char *
certstore_priorities(void)
{
	/*
	 * %SERVER_PRECEDENCE picks AES-128-GCM with SHA-256 even when the
	 * client lists AES-256-GCM-SHA384 first (OpenSSL and GnuTLS do): the
	 * TLS 1.3 key schedule is dozens of HMACs, and SHA-256 runs on the
	 * CPU's SHA extensions where SHA-384 does not. Measured: 22% more
	 * TLS 1.3 and 13-20% more TLS 1.2 handshakes per CPU second. Server
	 * precedence also orders the groups, X25519 first; a client that sent
	 * a key share for P-256 or P-384 only gets priorities with that group
	 * first (post_client_hello), so no client that sent a usable share is
	 * asked for another (a HelloRetryRequest costs a round trip).
	 */
	return PRIORITIES_BASE "+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1";
}

const char *
certstore_tls_version(void)
{
	return gnutls_check_version(NULL);
}

static struct certstore_session *
session_state(gnutls_session_t session)
{
	/* MHD owns the session pointer (gnutls_session_set_ptr); we use the unused db pointer */
	return gnutls_db_get_ptr(session);
}

/*
 * Tickets are sealed with a key derived from the SNI name, so a ticket
 * issued under one name cannot be opened under another tenant's name (GnuTLS
 * checks no name when it resumes a TLS 1.3 session): it is a full handshake
 * there. Called before GnuTLS reads the ticket extensions.
 */
static void
name_ticket_key(gnutls_session_t session, const char *host)
{
	unsigned char key[64];
	gnutls_datum_t k = { key, sizeof(key) };

	if (ticket_key.data == NULL || ticket_key.size != sizeof(key))
		return;
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA512, ticket_key.data, ticket_key.size, host, strlen(host), key) >= 0)
		gnutls_session_ticket_enable_server(session, &k);
	gnutls_memset(key, 0, sizeof(key));
}

/* Server precedence among the groups the client sent a key share for, not among all it supports. */
static void
prefer_sent_share(const struct certstore_session *s, gnutls_session_t session)
{
	if (!s->hello_seen || s->hello.share_x25519)
		return;
	if (s->hello.share_p256 && prio_p256 != NULL)
		gnutls_priority_set(session, prio_p256);
	else if (s->hello.share_p384 && prio_p384 != NULL)
		gnutls_priority_set(session, prio_p384);
}

/*
 * A ClientHello offering acme-tls/1 (RFC 8737) is, in practice, an ACME CA
 * validating a tls-alpn-01 challenge. libmicrohttpd offered only http/1.1
 * and http/1.0 before the handshake, and GnuTLS negotiates ALPN while it
 * parses the ClientHello, before post_client_hello (the SNI is parsed in
 * the same pass): the offer can only change here, in the hook that sees the
 * ClientHello before GnuTLS parses it, when the name is not known yet.
 * acme-tls/1 is added to libmicrohttpd's two; the client's order decides
 * (a CA offers acme-tls/1 alone). Ordinary clients, which do not offer it,
 * never get here. GnuTLS 3.7 appends the count of a second call to the
 * first's (the first entries are overwritten, the extra ones stay empty,
 * and an empty name never matches a list clienthello_read accepted).
 */
static void
offer_acme(gnutls_session_t session)
{
	static const gnutls_datum_t protos[] = {
		{ (unsigned char *)(uintptr_t)ACMECHAL_ALPN, sizeof(ACMECHAL_ALPN) - 1 },
		{ (unsigned char *)(uintptr_t)"http/1.1", 8 },
		{ (unsigned char *)(uintptr_t)"http/1.0", 8 },
	};
	int rc;

	if ((rc = gnutls_alpn_set_protocols(session, protos, 3, 0)) < 0)
		log_warnx("acme: cannot offer ALPN '%s': %s", ACMECHAL_ALPN, gnutls_strerror(rc));
}

/* Whether the handshake of SESSION negotiated acme-tls/1. */
static bool
acme_negotiated(gnutls_session_t session)
{
	gnutls_datum_t p;

	return gnutls_alpn_get_selected_protocol(session, &p) == 0 && p.size == sizeof(ACMECHAL_ALPN) - 1 &&
	    memcmp(p.data, ACMECHAL_ALPN, p.size) == 0;
}

/*
 * acme-tls/1 was negotiated for HOST: with a tls-alpn-01 challenge pending
 * for it (acmechal), the handshake goes on with the challenge certificate,
 * whether HOST has a certificate of its own or not yet, and returns 0.
 * Without, it is refused with a no_application_protocol alert (RFC 7301
 * section 3.2): a certificate without the acmeIdentifier would fail the
 * validation all the same. Returns the GnuTLS error then.
 */
static int
answer_challenge(struct certstore_session *s, gnutls_session_t session, const char *host)
{
	/* a second ClientHello (after a HelloRetryRequest) keeps the first one's answer */
	if (s->challenge == NULL && (s->challenge = acmechal_tls_alpn01(host)) == NULL) {
		log_debug("acme: no tls-alpn-01 challenge pending for '%s': handshake refused", host);
		gnutls_alert_send(session, GNUTLS_AL_FATAL, GNUTLS_A_NO_APPLICATION_PROTOCOL);
		return GNUTLS_E_NO_APPLICATION_PROTOCOL;
	}
	memcpy(s->sni, host, strlen(host) + 1);
	s->has_sni = true;
	/* no session ticket: the certificate is for one validation, never resumed */
	prefer_sent_share(s, session);
	log_info("acme: answering the tls-alpn-01 challenge of '%s'", host);
	return 0;
}

static int
post_client_hello(gnutls_session_t session)
{
	struct certstore_session *s = session_state(session);
	char name[256];
	size_t len = sizeof(name) - 1;
	unsigned type;
	char host[256];

	if (s == NULL)
		return GNUTLS_E_INTERNAL_ERROR;
	s->state = CERTSTORE_HS_STARTED;
	if (gnutls_server_name_get(session, name, &len, &type, 0) >= 0 && type == GNUTLS_NAME_DNS &&
	    len > 0 && len < sizeof(host)) {
		name[len] = '\0';
		memcpy(host, name, len + 1);
		if (host[len - 1] == '.')
			host[len - 1] = '\0';
		str_lower(host);
		if (s->acme_offered && acme_negotiated(session))
			return answer_challenge(s, session, host);
		long idx[4];

		/* against the clock of this handshake: no reload is needed when a pair comes into or goes out of validity */
		certindex_candidates(s->cs, host, time(NULL), idx);
		for (int i = 0; i < 4; i++)
			s->cand[i] = idx[i] >= 0 ? s->cs->certs[idx[i]] : NULL;
		memcpy(s->sni, host, strlen(host) + 1);
		s->has_sni = true;
		if (s->cand[0] || s->cand[1] || s->cand[2] || s->cand[3]) {
			name_ticket_key(session, host);
			prefer_sent_share(s, session);
			return 0;
		}
	}
	/* RFC 8461 section 7.1: abort rather than present a certificate for another name */
	s->state = CERTSTORE_HS_UNKNOWN_SNI;
	metrics_tls_failure(METRICS_TLS_UNKNOWN_SNI);
	gnutls_alert_send(session, GNUTLS_AL_FATAL, GNUTLS_A_UNRECOGNIZED_NAME);
	return GNUTLS_E_UNRECOGNIZED_NAME;
}

/*
 * GnuTLS asks for the certificate once, before it picks a TLS 1.2 suite, and
 * tells the callback nothing about the client's suites. They are read from
 * the ClientHello so a TLS 1.2 client offering only ECDHE-RSA suites gets the
 * RSA certificate (TLS 1.3 suites work with either key type), and so are its
 * key shares (prefer_sent_share).
 */
static int
handshake_hook(gnutls_session_t session, unsigned htype, unsigned when, unsigned incoming,
    const gnutls_datum_t *msg)
{
	struct certstore_session *s = session_state(session);

	if (s == NULL)
		return 0;
	if (s->state == CERTSTORE_HS_NONE)
		s->state = CERTSTORE_HS_STARTED;
	if (htype == GNUTLS_HANDSHAKE_CLIENT_HELLO && incoming && when == GNUTLS_HOOK_PRE && msg != NULL &&
	    !s->hello_seen) {
		s->hello_seen = clienthello_read(msg->data, msg->size, &s->hello) == 0;
		s->acme_offered = s->hello_seen && clienthello_offers_alpn(&s->hello, ACMECHAL_ALPN);
		if (s->acme_offered)
			offer_acme(session);
		/* the ALPN list points into MSG, which GnuTLS frees: nothing reads it after this hook */
		s->hello.alpn = NULL;
		s->hello.alpn_len = 0;
	}
	if (htype == GNUTLS_HANDSHAKE_FINISHED && incoming && when == GNUTLS_HOOK_POST &&
	    s->state == CERTSTORE_HS_STARTED) {
		s->state = CERTSTORE_HS_DONE;
		/*
		 * RFC 8737 section 3: nothing follows a tls-alpn-01 handshake. The
		 * client's Finished is the last message the server reads (TLS 1.2
		 * and 1.3 alike, without resumption), so from now on the
		 * connection reads end of stream: libmicrohttpd, which reads right
		 * after the handshake, closes it. SHUT_RD wakes it up should the
		 * handshake end in a write.
		 */
		if (s->challenge != NULL) {
			s->challenge_done = true;
			if (s->fd >= 0)
				(void)shutdown(s->fd, SHUT_RD);
		}
	}
	return 0;
}

/* Which key types the client can verify, from its signature_algorithms and the suite's needs. */
static void
client_accepts(const struct certstore_session *s, gnutls_session_t session,
    const gnutls_pk_algorithm_t *pk_algos, int n_pk, bool *ec, bool *rsa)
{
	bool any = false;

	*ec = *rsa = false;
	for (unsigned i = 0; i < 64; i++) {
		gnutls_sign_algorithm_t sig;
		int pk;

		if (gnutls_sign_algorithm_get_requested(session, i, &sig) < 0)
			break;
		any = true;
		pk = gnutls_sign_get_pk_algorithm(sig);
		if (pk == GNUTLS_PK_RSA || pk == GNUTLS_PK_RSA_PSS)
			*rsa = true;
		else if (pk == GNUTLS_PK_ECDSA || pk == GNUTLS_PK_EDDSA_ED25519 || pk == GNUTLS_PK_EDDSA_ED448)
			*ec = true;
	}
	if (!any) {
		/* no signature_algorithms extension: TLS 1.2 defaults to RSA (RFC 5246 7.4.1.4.1) */
		*rsa = true;
	}
	if (s->hello_seen) {
		*ec = *ec && s->hello.suites_ec;
		*rsa = *rsa && s->hello.suites_rsa;
	}
	if (pk_algos != NULL && n_pk > 0) {
		bool pec = false, prsa = false;

		for (int i = 0; i < n_pk; i++) {
			if (pk_algos[i] == GNUTLS_PK_RSA || pk_algos[i] == GNUTLS_PK_RSA_PSS)
				prsa = true;
			else
				pec = true;
		}
		*ec = *ec && pec;
		*rsa = *rsa && prsa;
	}
}


static int
retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
    unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	struct certstore_session *s = session_state(session);
	struct cert *const *cand, *pick = NULL;
	struct chain *ch;
	bool ec, rsa;
	(void)req_ca_rdn;
	(void)nreqs;

	if (s == NULL || !s->has_sni)
		return -1;
	if (s->challenge != NULL) {
		*pcert = acmechal_cert_pcert(s->challenge);
		*pcert_length = 1;
		*privkey = acmechal_cert_key(s->challenge);
		return 0;
	}
	cand = s->cand;
	client_accepts(s, session, pk_algos, pk_algos_length, &ec, &rsa);
	for (int i = 0; i < 4 && pick == NULL; i++)
		if (cand[i] != NULL && ((cand[i]->kind == CERTSTORE_KEY_EC && ec) ||
		    (cand[i]->kind == CERTSTORE_KEY_RSA && rsa)))
			pick = cand[i];
	/* nothing the client claims to accept: offer the best anyway and let the handshake decide */
	for (int i = 0; i < 4 && pick == NULL; i++)
		pick = cand[i];
	if (pick == NULL || (ch = certload_chain(pick, NULL)) == NULL)
		return -1;
	*pcert = ch->pcerts;
	*pcert_length = ch->n;
	*privkey = ch->key;
	return 0;
}

certstore_fnptr
certstore_retrieve_callback(void)
{
	gnutls_certificate_retrieve_function2 *fn = retrieve;

	return (certstore_fnptr)fn;
}

/*
 * The connection's reads go through here so that a handshake that fails
 * before GnuTLS understood anything can be told apart: bytes that are no
 * TLS, a ClientHello cut short by the client, or a client that went quiet.
 */
static ssize_t
pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct certstore_session *s = ptr;
	ssize_t n;

	if (s->challenge_done)
		return 0;
	n = recv(s->fd, buf, len, 0);
	if (n > 0) {
		if (s->rx == 0)
			s->first = *(unsigned char *)buf;
		s->rx += (unsigned long long)n;
		s->waiting = false;
	} else if (n == 0) {
		s->gone = true;
	} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
		s->waiting = true;
	} else if (errno != EINTR) {
		s->gone = true;
	}
	return n;
}

static int
pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms)
{
	struct certstore_session *s = ptr;
	struct pollfd pfd = { s->fd, POLLIN, 0 };
	int rc;

	do
		rc = poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
	while (rc < 0 && errno == EINTR);
	return rc;
}

struct certstore_session *
certstore_session_attach(const struct certstore *cs, void *session)
{
	gnutls_session_t gs = session;
	struct certstore_session *s;

	if (gs == NULL)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->cs = cs;
	s->gs = gs;
	s->state = CERTSTORE_HS_NONE;
	s->fd = gnutls_transport_get_int(gs);
	/* kernel TLS would take the receive pointer for the socket: leave such a session alone */
	if (s->fd >= 0 && !gnutls_transport_is_ktls_enabled(gs)) {
		gnutls_transport_set_ptr2(gs, s, (gnutls_transport_ptr_t)(intptr_t)s->fd);
		gnutls_transport_set_pull_function(gs, pull);
		gnutls_transport_set_pull_timeout_function(gs, pull_timeout);
	}
	gnutls_db_set_ptr(gs, s);
	gnutls_handshake_set_post_client_hello_function(gs, post_client_hello);
	gnutls_handshake_set_hook_function(gs, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_BOTH, handshake_hook);
	/* tickets are enabled once the SNI name is known (name_ticket_key) */
	return s;
}

void
certstore_session_free(struct certstore_session *s)
{
	if (s != NULL)
		acmechal_cert_unref(s->challenge);
	free(s);
}

enum certstore_hs
certstore_session_result(const struct certstore_session *s)
{
	if (s != NULL && (s->state == CERTSTORE_HS_NONE || s->state == CERTSTORE_HS_STARTED)) {
		/* the server closed while the handshake waited for the client (a close would have been read) */
		if (!s->gone && (s->waiting || s->rx == 0))
			return CERTSTORE_HS_TIMEOUT;
		if (s->state == CERTSTORE_HS_NONE && s->rx > 0)
			return s->gone && s->first == 22 ? CERTSTORE_HS_TRUNCATED : CERTSTORE_HS_GARBAGE;
	}
	return s ? s->state : CERTSTORE_HS_NONE;
}

const char *
certstore_session_sni(const struct certstore_session *s)
{
	return s && s->has_sni ? s->sni : NULL;
}

void
certstore_session_cork(struct certstore_session *s)
{
	if (s == NULL || s->corked || s->state != CERTSTORE_HS_DONE)
		return;
	gnutls_record_cork(s->gs);
	s->corked = true;
}

void
certstore_session_flush(struct certstore_session *s, int fd, bool last)
{
	static const int off = 0;
	int rc;

	if (s == NULL || !s->corked)
		return;
	s->corked = false;
	/*
	 * MHD corked the socket for the header it meant to send alone. On a last
	 * response it stays corked: closing the socket sends what it holds, and
	 * a sender fetching one policy gets it, the alert and the FIN together.
	 */
	if (!s->tcp_uncorked && fd >= 0 && !last) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
		s->tcp_uncorked = true;
	}
	for (int waited = 0;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		rc = gnutls_record_uncork(s->gs, 0);
		if (rc >= 0 || (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED))
			break;
		/* the client's window is full: give it a moment, never a thread for long */
		if (fd < 0 || waited >= 50 || poll(&p, 1, 10) < 0) {
			rc = -1;
			break;
		}
		waited += 10;
	}
	if (rc < 0 && fd >= 0)
		shutdown(fd, SHUT_RDWR);	/* MHD sees the error and closes the connection */
}
