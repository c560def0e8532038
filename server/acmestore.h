/* SPDX-License-Identifier: MIT */
/* acmestore: the files of acme.storage, each written atomically, and the lock that makes one instance the orderer. */
#ifndef MTASTSD_ACMESTORE_H
#define MTASTSD_ACMESTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "acmejws.h"
#include "acmesched.h"
#include "diag.h"

/*
 * The layout under the storage folder (acme.storage), shared by every
 * instance that uses it (one orderer, any number of challenge answerers):
 *
 *   account.key                   the account's P-256 key, PEM, 0600 (acmejws_key_save)
 *   state                         one line per name (acmesched's format, ACMESCHED_STATE_HEADER first), 0644
 *   order.lock                    flock()ed by the orderer for its life; holds its pid, 0644
 *   certs/NAME.crt                an issued chain, leaf first, PEM, 0644
 *   certs/NAME.key                its private key, PEM, 0600
 *   challenges/http-01/TOKEN      the key authorization answering GET /.well-known/acme-challenge/TOKEN, 0644
 *   challenges/tls-alpn-01/NAME   the key authorization of NAME's pending tls-alpn-01 challenge, 0644
 *
 * NAME is a lower-case LDH host name (acmestore_name_ok: "mta-sts.example.com"),
 * TOKEN base64url (acmestore_token_ok); anything else is refused before a
 * path is made from it, so no name reaches outside its folder. Every file
 * is replaced atomically (a temporary beside it, fsync, rename, fsync of the
 * folder: dnsstate_write_atomic): a reader sees the old or the new
 * contents, never a part. Temporaries in certs/ start with a dot (the
 * certificate scanner skips those); elsewhere they are "FILE.tmp.XXXXXX",
 * never a valid name or token. Folders are made 0755 when missing.
 */
#define ACMESTORE_ACCOUNT_KEY "account.key"
#define ACMESTORE_STATE "state"
#define ACMESTORE_LOCK "order.lock"
#define ACMESTORE_CERTS "certs"
#define ACMESTORE_CHALLENGES "challenges"
#define ACMESTORE_HTTP01 ACMESTORE_CHALLENGES "/http-01"
#define ACMESTORE_TLSALPN01 ACMESTORE_CHALLENGES "/tls-alpn-01"

/* The longest token accepted (RFC 8555 asks for at least 128 bits: 22 characters; CAs send 43) */
#define ACMESTORE_TOKEN_MAX 256
/* The longest challenge file read back: a token, a dot and a thumbprint */
#define ACMESTORE_KEYAUTH_MAX (ACMESTORE_TOKEN_MAX + 1 + ACMEJWS_THUMBPRINT_LEN)

/* acmestore_lock: the lock is held by another process */
#define ACMESTORE_BUSY (-2)

struct acmestore;

/*
 * The storage at DIR (a path as config gives it), its folder and
 * sub-folders made when missing. NULL with a message in ERR when DIR is
 * not a folder or a folder cannot be made. Free with acmestore_free.
 */
struct acmestore *acmestore_open(const char *dir, char *err, size_t errlen);
/*
 * The same for a process that only reads the storage (`certs`, `check`):
 * nothing is made, so a folder that is missing or not writable is no
 * error (its files read as missing). Only acmestore_state_load, the
 * path getters and the _get functions are meant for such a store.
 */
struct acmestore *acmestore_open_read(const char *dir, char *err, size_t errlen);
/* Free S, releasing its lock (when acmestore_lock took it); NULL is accepted. */
void acmestore_free(struct acmestore *s);

/* The storage folder, and the paths of its account key, state file and lock (owned by S). */
const char *acmestore_dir(const struct acmestore *s);
const char *acmestore_account_path(const struct acmestore *s);
const char *acmestore_state_path(const struct acmestore *s);
const char *acmestore_lock_path(const struct acmestore *s);

/* NAME is a certificate name the storage takes: a lower-case LDH host name (no dot at either end, no "..", no '/'). */
bool acmestore_name_ok(const char *name);
/* TOKEN is 1..ACMESTORE_TOKEN_MAX base64url characters (A-Z a-z 0-9 - _). */
bool acmestore_token_ok(const char *token);

/*
 * Make this process the storage's orderer: order.lock opened (made when
 * missing) and locked with flock(LOCK_EX | LOCK_NB), then our pid written
 * into it. The lock is held until acmestore_free or the process exits
 * (the descriptor is close-on-exec, so commands run later do not inherit
 * it; a child forked without exec would share it). Returns 0; -1 with a
 * message in ERR when the file cannot be opened or locked;
 * ACMESTORE_BUSY when another process holds it, with a message in ERR
 * naming the storage folder and, when the holder wrote it, the holder's
 * pid (also in *HOLDER, when not NULL; 0 when unknown). Taking it again
 * through the same S is a no-op that returns 0. Once taken, what a killed
 * orderer left is removed: every challenge answer, and the temporaries of
 * the pairs, the state and the account key.
 */
int acmestore_lock(struct acmestore *s, long *holder, char *err, size_t errlen);

/*
 * The account key from account.key. When the file does not exist and
 * CREATE is true, a new key is generated and saved (0600) first; without
 * CREATE that is an error. NULL with a message in ERR on any failure
 * (unreadable, readable by others, not a P-256 key). Free with
 * acmejws_key_free.
 */
struct acmejws_key *acmestore_account(const struct acmestore *s, bool create, char *err, size_t errlen);

/*
 * Read the state file into *OUT (*N entries, owned by the caller: clear
 * each with acmesched_state_clear, then free the array). A missing file
 * is no state: 0 with *N = 0. A file that is empty, cut short (a last
 * line without its newline), has another header, a line acmesched_state_parse
 * refuses, or a name twice, is refused: -1, with every bad line's error in
 * DL at its line and column (DL initialised by the caller, normally with
 * acmestore_state_path), *OUT NULL. Never an empty state in place of a
 * broken file.
 */
int acmestore_state_load(const struct acmestore *s, struct acmesched_state **out, size_t *n, struct diag_list *dl);
/*
 * Replace the state file by V[0..N) (header first, then each name in
 * order). Refused with -1 before anything is written when a name is not
 * acmestore_name_ok or is there twice. Returns as dnsstate_write_atomic
 * does: 0, -1 with the file untouched, DNSSTATE_NOT_DURABLE; a message in
 * ERR when not 0.
 */
int acmestore_state_save(const struct acmestore *s, const struct acmesched_state *v, size_t n, char *err,
    size_t errlen);

/* The paths certs/NAME.crt and certs/NAME.key, owned by the caller; NULL when NAME is not acmestore_name_ok. */
char *acmestore_cert_path(const struct acmestore *s, const char *name);
char *acmestore_key_path(const struct acmestore *s, const char *name);
/*
 * Store an issued pair: the chain CHAIN[0..CHAIN_LEN) as certs/NAME.crt
 * (0644) and its key KEY[0..KEY_LEN) as certs/NAME.key (0600). Both are
 * written to temporaries first, then the key is renamed into place, then
 * the certificate: a reader never finds a new certificate without its
 * key. Returns 0; -1 with a message in ERR (NAME invalid, either part
 * empty, a write failed: nothing replaced; or the certificate's rename
 * failed after the key's: the new key beside the old certificate, which
 * the certificate loader refuses as a mismatch, keeping the pair it
 * served); DNSSTATE_NOT_DURABLE as dnsstate_write_atomic.
 */
int acmestore_pair_save(const struct acmestore *s, const char *name, const char *chain, size_t chain_len,
    const char *key, size_t key_len, char *err, size_t errlen);
/* Remove NAME's pair, the certificate before the key; a missing file is no error. 0, or -1 with a message in ERR. */
/*
 * The names of the certificates in certs/ (NAME.crt with NAME
 * acmestore_name_ok; a key alone is not one), sorted bytewise, into *NAMES
 * (*N strings, the array and each string owned by the caller). 0, or -1
 * with a message in ERR when the folder cannot be read (*NAMES NULL).
 */
int acmestore_pair_names(const struct acmestore *s, char ***names, size_t *n, char *err, size_t errlen);
int acmestore_pair_remove(const struct acmestore *s, const char *name, char *err, size_t errlen);

/*
 * The answers to pending challenges, written by the orderer before it
 * tells the CA to validate and removed afterwards; read by every instance's
 * responders. KEYAUTH is the key authorization (acmejws_key_authorization):
 * base64url, a dot, base64url; for http-01 its first part must be TOKEN.
 * put returns as dnsstate_write_atomic does (-1 also for a bad TOKEN, NAME
 * or KEYAUTH); remove returns 0 (also when it was not there) or -1; get
 * returns the contents (owned by the caller, NUL-terminated, *LEN bytes
 * when LEN is not NULL) or NULL when there is none, TOKEN or NAME is
 * invalid, or the file is not a regular file of at most
 * ACMESTORE_KEYAUTH_MAX bytes.
 */
int acmestore_http01_put(const struct acmestore *s, const char *token, const char *keyauth, char *err,
    size_t errlen);
int acmestore_http01_remove(const struct acmestore *s, const char *token, char *err, size_t errlen);
char *acmestore_http01_get(const struct acmestore *s, const char *token, size_t *len);
int acmestore_tlsalpn01_put(const struct acmestore *s, const char *name, const char *keyauth, char *err,
    size_t errlen);
int acmestore_tlsalpn01_remove(const struct acmestore *s, const char *name, char *err, size_t errlen);
char *acmestore_tlsalpn01_get(const struct acmestore *s, const char *name, size_t *len);

#endif
