/* SPDX-License-Identifier: MIT */
/* updstate: what RFC 2136 publishing remembers per domain (STATE.update): last result, records applied, backoff. */
#ifndef MTASTSD_UPDSTATE_H
#define MTASTSD_UPDSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Format, version 1 (line-oriented text, '#' comments and blank lines ignored):
 *
 *   mtastsd-update 1
 *   domain NAME zone=ZONE|- sent=HASH|- tried=HASH|- result=LABEL fails=N next=T at=T
 *   end N
 *
 * sent: the hash of the records the server last accepted; tried: of the
 * records of the last failed try; result: the last result's label (dnsupdate_result_name); fails:
 * failures in a row; next: no new try of the same records before this time
 * (seconds since the epoch, 0 none); at: time of the last try.
 */
#define UPDSTATE_HASH_LEN 16

struct updstate_entry {
	char *name;
	char *zone;				/* absolute, or NULL */
	char sent[UPDSTATE_HASH_LEN + 1];	/* "-" none */
	char tried[UPDSTATE_HASH_LEN + 1];	/* "-" none */
	char result[16];			/* "" never tried */
	unsigned fails;
	int64_t next, at;
};

/* Entries sorted by name, names unique. */
struct updstate {
	struct updstate_entry *e;
	size_t n, cap;
};

/*
 * Parse TEXT. Returns 0 with OUT filled (release with updstate_clear), or -1 with
 * "line N: ..." in ERR (OUT then empty).
 */
int updstate_parse(const char *text, struct updstate *out, char *err, size_t errlen);
/* S in the format above; owned by the caller. */
char *updstate_format(const struct updstate *s);

/* Read PATH (missing: empty, 0). Returns 0 or -1 with a message in ERR (OUT then empty). */
int updstate_load(const char *path, struct updstate *out, char *err, size_t errlen);
/* Write S to PATH atomically (mode 0644). Returns as dnsstate_write_atomic does (0, -1 or DNSSTATE_NOT_DURABLE). */
int updstate_save(const char *path, const struct updstate *s, char *err, size_t errlen);

/* The entry NAME, or NULL. */
struct updstate_entry *updstate_find(const struct updstate *s, const char *name);
/* The entry NAME, added (empty, sorted in place) when missing. Pointers into S move. */
struct updstate_entry *updstate_get(struct updstate *s, const char *name);

/* The wait after FAILS failures in a row: RETRY doubled per failure after the first, at most MAX. */
int64_t updstate_backoff(unsigned fails, unsigned long retry, unsigned long max);

/* A hash (UPDSTATE_HASH_LEN hex digits) of N bytes at P, for `sent` and `tried`. */
void updstate_hash(const void *p, size_t n, char out[UPDSTATE_HASH_LEN + 1]);

/* Free S's entries (not S); S is left {0}, the empty state. */
void updstate_clear(struct updstate *s);

#endif
