/* SPDX-License-Identifier: MIT */
/*
 * certstore: the certificate family's public interface: certificates and keys found under tls.certs, indexed by
 * SAN DNS name for SNI. The family (certstore.c, certscan.c, certload.c, certindex.c, certtls.c, sharing
 * certstore_int.h) is the only GnuTLS user.
 */
#ifndef MTASTSD_CERTSTORE_H
#define MTASTSD_CERTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "diag.h"

struct certstore;
struct certstore_session;

enum certstore_key { CERTSTORE_KEY_EC, CERTSTORE_KEY_RSA, CERTSTORE_KEY_ANY };

/* What became of one TLS handshake, for metrics. */
enum certstore_hs {
	CERTSTORE_HS_NONE,		/* nothing received (a TCP check that connects and closes) */
	CERTSTORE_HS_STARTED,		/* a ClientHello arrived, not finished yet */
	CERTSTORE_HS_UNKNOWN_SNI,	/* aborted: no SNI or a name without certificate */
	CERTSTORE_HS_DONE,		/* handshake completed */
	CERTSTORE_HS_GARBAGE,		/* what arrived is no TLS handshake GnuTLS could read */
	CERTSTORE_HS_TRUNCATED,		/* the client closed in the middle of its first ClientHello */
	CERTSTORE_HS_TIMEOUT		/* closed while waiting for the client's next handshake bytes */
};

/* Process-wide set-up (session ticket key); call once before any handshake. Returns 0 or -1. */
int certstore_global_init(void);
/* Frees the ticket key (zeroed first). */
void certstore_global_deinit(void);

/*
 * Scan DIR recursively for PEM certificates and keys: certbot's layout
 * (fullchain.pem + privkey.pem in one folder; in a certbot root only live/
 * is read, not archive/, keys/ or csr/), NAME.crt|NAME.pem|NAME.cer +
 * NAME.key, or one file holding the chain and the key. Files are read and
 * pairs loaded on every CPU the process may use. Each pair is read once
 * here (SAN dNSNames, expiry, the key and whether it matches the
 * certificate); GnuTLS's form of it is built on the first handshake that
 * needs it (see certload.c). A file that cannot be read or parsed, a key
 * that does not match its certificate and a folder below DIR that cannot be
 * read are DIAG_UNSERVED entries in DL (no position; the message names the
 * file) and count as broken (certstore_count_broken): those pairs are left
 * out, every other one loads. A certificate or key without a partner, a
 * certificate without SAN DNS names (the CN is ignored), one not valid now
 * and a private key readable by group or others are warnings. CA
 * certificates are skipped. Returns the store (owned by the caller, free
 * with certstore_free); NULL only when DIR itself cannot be read (an error
 * was added).
 */
struct certstore *certstore_load(const char *dir, struct diag_list *dl);
/*
 * The same for a reload while PREV (may be NULL) is serving: a pair whose
 * two files are unchanged since PREV read them (same inode, size, mtime and
 * ctime) is taken over from PREV as it is, GnuTLS form included, and its
 * files cost a stat instead of a read. Warnings are given again. A pair
 * whose files no longer load (a half-written renewal) is reported as broken
 * and the version PREV had of it is kept in service, until they load. PREV
 * is only read, and may keep serving meanwhile.
 */
struct certstore *certstore_reload(const char *dir, const struct certstore *prev, struct diag_list *dl);
/*
 * certstore_reload, with the pairs under ACME_DIR (acme.storage's certs/;
 * NULL: none) as a second, lower source: a missing folder holds nothing, an
 * unreadable one leaves only its own names unserved (counted broken). For
 * a host, a pair from DIR valid now always beats one from ACME_DIR, whatever
 * their names and expiry (the operator's certificate wins).
 */
struct certstore *certstore_reload_acme(const char *dir, const char *acme_dir, const struct certstore *prev,
    struct diag_list *dl);
void certstore_free(struct certstore *cs);

/* Number of certificate/key pairs loaded; of those, taken over unchanged by certstore_reload. */
size_t certstore_count(const struct certstore *cs);
size_t certstore_count_reused(const struct certstore *cs);
/* Pairs (or their files) that could not be loaded or used: DIAG_UNSERVED entries, their names alone unserved. */
size_t certstore_count_broken(const struct certstore *cs);
/* Folders whose listing was taken over from the previous store (unchanged since), not read again. */
size_t certstore_count_folders_reused(const struct certstore *cs);
/*
 * The folders the load listed under tls.certs (each once, by its first path;
 * a certbot root's archive/, keys/, csr/ and accounts/ are not read, so not
 * listed), for the watcher to watch: how many, and folder I's path.
 */
size_t certstore_count_folders(const struct certstore *cs);
const char *certstore_folder(const struct certstore *cs, size_t i);
/* Facts about pair I (< certstore_count): file of the chain, key file, validity, key type, SAN names. */
const char *certstore_cert_path(const struct certstore *cs, size_t i);
const char *certstore_key_path(const struct certstore *cs, size_t i);
time_t certstore_cert_not_before(const struct certstore *cs, size_t i);
time_t certstore_cert_not_after(const struct certstore *cs, size_t i);
enum certstore_key certstore_cert_key(const struct certstore *cs, size_t i);
/* Pair I came from ACME_DIR of certstore_reload_acme, not from tls.certs. */
bool certstore_cert_acme(const struct certstore *cs, size_t i);
size_t certstore_cert_n_names(const struct certstore *cs, size_t i);
const char *certstore_cert_name(const struct certstore *cs, size_t i, size_t j);

/*
 * The pair that serves HOST (lower case, no trailing dot) at NOW: only pairs
 * valid then (not_before <= NOW <= not_after) are candidates; an exact SAN
 * match beats a wildcard one (which covers one left-most label only); among
 * equals the one expiring last wins. WANT restricts the key type, or
 * CERTSTORE_KEY_ANY prefers EC (what a client accepting both is given);
 * ACME's pairs are candidates only when no pair of tls.certs is.
 * Pure: the handshakes make the same choice at their own clock. Returns the
 * pair's index, or -1. certstore_lookup is the same at time(NULL).
 */
long certstore_lookup_at(const struct certstore *cs, const char *host, enum certstore_key want, time_t now);
long certstore_lookup(const struct certstore *cs, const char *host, enum certstore_key want);
/* Some pair serves HOST at NOW (CS may be NULL: none). */
bool certstore_covers(const struct certstore *cs, const char *host, time_t now);
/* The first time after NOW at which some pair of CS comes into or goes out of validity, or 0 for never. */
time_t certstore_next_change(const struct certstore *cs, time_t now);

/*
 * Attach per-connection TLS state to the GnuTLS session SESSION (passed as
 * void * so callers need not include GnuTLS) before its handshake: the
 * certificate is then taken from CS (which must outlive the session's
 * handshake), an unknown or missing SNI aborts the handshake with an
 * unrecognized_name alert, and session tickets are enabled, sealed with a
 * key of the SNI name's own (a ticket resumes only under the name it was
 * issued for). A client that sent a key share for P-256 or P-384 but none
 * for X25519 gets its group without a HelloRetryRequest. The connection's
 * reads go through S (for certstore_session_result). Returns the state
 * (free with certstore_session_free after the connection closed), or NULL.
 */
struct certstore_session *certstore_session_attach(const struct certstore *cs, void *session);
void certstore_session_free(struct certstore_session *s);
/*
 * How the handshake of S ended, asked when its connection closed: DONE,
 * UNKNOWN_SNI, or, for a handshake that had not finished, TIMEOUT when the
 * server closed it while waiting for the client, GARBAGE or TRUNCATED when
 * nothing GnuTLS could read came before the failure or the client's close,
 * STARTED (a protocol failure) otherwise; NONE when nothing was received.
 */
enum certstore_hs certstore_session_result(const struct certstore_session *s);
/* The SNI name the client sent (lower case, no trailing dot), or NULL. */
const char *certstore_session_sni(const struct certstore_session *s);
/*
 * One TLS record and one send for a whole response: certstore_session_cork
 * before the response is queued makes the header and body writes collect in
 * GnuTLS; certstore_session_flush(s, fd) sends them as one record once the
 * response was handed over. The first flush of a connection also clears
 * TCP_CORK, which libmicrohttpd leaves set, unless LAST says the connection
 * closes after this response: the record then leaves with the close_notify
 * alert and the FIN, in one segment, when libmicrohttpd closes the socket.
 * If the client does not take the bytes within 50 ms (its receive window
 * full) the connection is shut down.
 */
void certstore_session_cork(struct certstore_session *s);
void certstore_session_flush(struct certstore_session *s, int fd, bool last);

/*
 * The callback to give MHD_OPTION_HTTPS_CERT_CALLBACK (a
 * gnutls_certificate_retrieve_function2 *), as a generic function pointer.
 */
typedef void (*certstore_fnptr)(void);
certstore_fnptr certstore_retrieve_callback(void);

/*
 * The certificate part of `check` (its judgement of each host is check.c's,
 * through certstore_lookup_at, the choice serve makes): GnuTLS's form of
 * every pair of CS is built now, what serve does on a name's first handshake;
 * a pair that cannot be is a DIAG_UNSERVED entry in DL and counts as broken.
 */
void certstore_check_chains(struct certstore *cs, struct diag_list *dl);
/* Why no pair of CS (loaded from DIR) serves HOST at NOW, as words for `check` and the log, into BUF of LEN bytes. */
void certstore_explain(const struct certstore *cs, const char *dir, const char *host, time_t now, char *buf,
    size_t len);

/*
 * GnuTLS's public key for the certificate certparse read as CI, as the first
 * handshake builds it: PUBKEY is a gnutls_pubkey_t the caller initialised.
 * Returns 0 or a GnuTLS error code. (Exposed for fuzz_cert, which checks it
 * against GnuTLS's own reading of the certificate.)
 */
struct certparse_info;
int certstore_pubkey_from_parse(const struct certparse_info *ci, void *pubkey);

/* TLS priorities: TLS 1.2 and 1.3 only, AEAD ciphers, forward secrecy. */
const char *certstore_priorities(void);
/* Version string of the TLS library, for build info. */
const char *certstore_tls_version(void);

#endif
