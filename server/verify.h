/* SPDX-License-Identifier: MIT */
/* verify: which policies `mtastsd verify` checks and how a fetched answer is judged against them (pure). */
#ifndef MTASTSD_VERIFY_H
#define MTASTSD_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "domset.h"
#include "ids.h"

/* One policy to check: a domain and the exact body senders must be served for it. */
struct verify_target {
	char *domain;		/* normalised name */
	char *body;		/* policy_render() of the configured or retiring policy */
	size_t len;
	bool retiring;		/* removed from the config, served as mode none */
};

struct verify_targets {
	struct verify_target *t;	/* sorted by domain */
	size_t n, cap;
};

enum verify_select {
	VERIFY_CHANGED,		/* the domains the next `dns` run gives a new id (added, changed, retired) */
	VERIFY_ALL,		/* every configured domain and every retiring one */
	VERIFY_LISTED		/* the names given (normalised, configured or retiring) */
};

/*
 * The policies to check for DS (the configured domains), from the state OLD (the state file as read,
 * may be empty) at NOW: by SEL, with NAMES[0..N) for VERIFY_LISTED. Returns 0
 * with OUT filled (owned by the caller, release with verify_targets_clear; it may
 * be empty), or -1 with a message in ERR (a listed name that is neither
 * configured nor retiring, or a clock past year 9999); OUT is then empty.
 */
int verify_targets(const struct domset *ds, const struct ids_state *old, int64_t now,
    enum verify_select sel, char *const *names, size_t n, struct verify_targets *out,
    char *err, size_t errlen);

/* Free V's targets (not V); V is left {0}. NULL is accepted. */
void verify_targets_clear(struct verify_targets *v);

/*
 * Judge one HTTP answer against the body WANT (WLEN bytes): STATUS must be
 * 200, CTYPE (NULL when absent) text/plain with any parameters, and BODY
 * (BLEN bytes) WANT byte for byte. Returns true when it is, else false with
 * the first difference in WHY, e.g. "line 2 is 'mode: testing', expected
 * 'mode: enforce'" (non-printable bytes shown as \xHH).
 */
bool verify_answer(long status, const char *ctype, const char *body, size_t blen,
    const char *want, size_t wlen, char *why, size_t whylen);

/*
 * Split "HOST:PORT", "[V6]:PORT" or "HOST" (port DEFPORT) into HOST (brackets
 * removed, written into HOST of HOSTLEN bytes) and *PORT. Returns 0, or -1
 * when the port is missing after ':', not 1..65535, or the host is empty or too long.
 */
int verify_parse_hostport(const char *s, unsigned defport, char *host, size_t hostlen, unsigned *port);

#endif
