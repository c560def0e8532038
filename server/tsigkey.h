/* SPDX-License-Identifier: MIT */
/* tsigkey: reads a TSIG key (RFC 8945) from a secret file: a base64 secret alone, or tsig-keygen's `key` clause. */
#ifndef MTASTSD_TSIGKEY_H
#define MTASTSD_TSIGKEY_H

#include <stddef.h>

#include "diag.h"

enum tsigkey_alg {
	TSIGKEY_HMAC_SHA256,	/* the default, what tsig-keygen and keymgr write */
	TSIGKEY_HMAC_SHA1,
	TSIGKEY_HMAC_SHA512,
	TSIGKEY_ALG_N
};

struct tsigkey {
	char *name;		/* lower case, absolute (with the trailing dot) */
	enum tsigkey_alg alg;
	char *secret;		/* the base64 secret as written, whitespace removed */
};

/*
 * The algorithm named S ("hmac-sha256", case-insensitive, a trailing dot
 * allowed). Returns 0, or -1 for a name not in the list (hmac-md5 included:
 * it is not accepted).
 */
int tsigkey_alg_parse(const char *s, enum tsigkey_alg *out);
/* The algorithm's domain name as it goes on the wire ("hmac-sha256."). */
const char *tsigkey_alg_name(enum tsigkey_alg alg);

/*
 * Parse the contents TEXT of a secret file into OUT (owned by the caller;
 * free with tsigkey_clear). TEXT is either a base64 secret alone, or one or
 * more `key "NAME" { algorithm ALG; secret "BASE64"; };` clauses as
 * tsig-keygen (BIND) writes them ('#', '//' and C comments allowed).
 * NAME is the key name from the config (NULL: the file's only clause names
 * it; required with a bare secret); ALG is the configured algorithm (NULL:
 * the clause's, else hmac-sha256). A clause naming another algorithm than ALG
 * is an error, as is a file without the key NAME. Returns 0, or -1 with a
 * message in ERR (never quoting the secret).
 */
int tsigkey_parse(const char *text, const char *name, const char *alg, struct tsigkey *out,
    char *err, size_t errlen);

/*
 * Read and parse the secret file PATH. A file others may read is refused
 * (-1); one the group may read gives a warning in DL (with no position).
 * Returns 0 or -1 with a message in ERR.
 */
int tsigkey_load(const char *path, const char *name, const char *alg, struct tsigkey *out,
    struct diag_list *dl, char *err, size_t errlen);

/* Free OUT's strings, zeroing the secret first; OUT is empty afterwards (a second call is harmless). */
void tsigkey_clear(struct tsigkey *k);

#endif
