/* SPDX-License-Identifier: MIT */
/* acmesched: when to renew, retry and order ACME certificates, as pure functions of the time and random values passed in. */
#include "acmesched.h"
#include "acmejws.h"
#include "dname.h"
#include "hmap.h"
#include "util.h"

#include <limits.h>

#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

char *
acmesched_ari_id_raw(const void *aki, size_t aki_len, const void *serial, size_t serial_len)
{
	struct buf b = { 0 };

	if (aki == NULL || aki_len == 0 || serial == NULL || serial_len == 0)
		return NULL;
	acmejws_b64url(&b, aki, aki_len);
	buf_puts(&b, ".");
	acmejws_b64url(&b, serial, serial_len);
	return b.data;
}

char *
acmesched_ari_id(const void *cert, size_t len, char *err, size_t errlen)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	/* keyIdentifiers are SHA-1 or truncated SHA-256 in practice; serials at most 20 octets plus a sign byte */
	unsigned char aki[64], serial[64];
	size_t aki_len = sizeof(aki), serial_len = sizeof(serial);
	unsigned critical;
	int pem, rc;
	char *id;

	if (len > UINT32_MAX) {
		snprintf(err, errlen, "certificate too large");
		return NULL;
	}
	if (gnutls_x509_crt_init(&crt) < 0) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* a DER certificate starts with a SEQUENCE tag; anything else is taken as PEM text */
	pem = len == 0 || *(const unsigned char *)cert != 0x30;
	d.data = (unsigned char *)(uintptr_t)cert;	/* GnuTLS only reads it */
	d.size = (unsigned)len;
	rc = gnutls_x509_crt_import(crt, &d, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER);
	if (rc < 0) {
		snprintf(err, errlen, "not a %s certificate: %s", pem ? "PEM" : "DER", gnutls_strerror(rc));
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	rc = gnutls_x509_crt_get_authority_key_id(crt, aki, &aki_len, &critical);
	if (rc < 0) {
		snprintf(err, errlen, "no Authority Key Identifier with a keyIdentifier: %s",
		    rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE ? "extension missing" : gnutls_strerror(rc));
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	/* GnuTLS gives the INTEGER's content bytes as encoded, a leading 00 included (RFC 9773 wants those) */
	rc = gnutls_x509_crt_get_serial(crt, serial, &serial_len);
	gnutls_x509_crt_deinit(crt);
	if (rc < 0) {
		snprintf(err, errlen, "unreadable serial number: %s", gnutls_strerror(rc));
		return NULL;
	}
	id = acmesched_ari_id_raw(aki, aki_len, serial, serial_len);
	if (id == NULL)
		snprintf(err, errlen, "empty %s", aki_len == 0 ? "keyIdentifier" : "serial number");
	return id;
}

double
acmesched_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	/* the top 53 bits: every double in [0,1) this gives is exact */
	return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* R when it is in [0,1), else 0 (NaN included) */
static double
unit_interval(double r)
{
	return r >= 0.0 && r < 1.0 ? r : 0.0;
}

#define DAY 86400
/* times beyond some 34,000 years either side of 1970 are not dates: no arithmetic on them can overflow */
#define TIME_LIMIT ((int64_t)1 << 40)

static bool
sane(int64_t t)
{
	return t > -TIME_LIMIT && t < TIME_LIMIT;
}

int64_t
acmesched_renew_at(int64_t not_before, int64_t not_after, const struct acmesched_window *ari,
    double r, int64_t now)
{
	int64_t at;

	r = unit_interval(r);
	if (not_after <= not_before || !sane(not_before) || !sane(not_after))
		return now;
	if (ari != NULL && ari->start < ari->end && sane(ari->start) && sane(ari->end)) {
		if (ari->end <= now)
			return now;
		/* a double holds any span of seconds up to 2^53 exactly; R < 1 keeps the pick before END */
		at = ari->start + (int64_t)(r * (double)(ari->end - ari->start));
		if (at > not_after)
			at = not_after;
	} else {
		int64_t lifetime = not_after - not_before + 1;
		int64_t remain = lifetime < 10 * DAY ? lifetime / 2 : lifetime / 3;
		at = not_after + 1 - remain - (int64_t)(r * (double)(remain / 10));
	}
	return at < now ? now : at;
}

int64_t
acmesched_retry_at(unsigned failures, const struct acmesched_failure *f, double r, int64_t now)
{
	/* Let's Encrypt's integration guide: about 1 m, 10 m, 100 m, then daily */
	static const int64_t steps[] = { 60, 600, 6000 };
	int64_t base, at;

	if (!sane(now))
		return now;
	if (failures == 0)
		failures = 1;
	base = failures <= 3 ? steps[failures - 1] : DAY;
	at = now + (int64_t)((double)base * (0.9 + 0.2 * unit_interval(r)));
	if (f == NULL)
		return at;
	if (f->has_retry_after) {
		int64_t ra = f->retry_after;
		if (ra > now + ACMESCHED_RETRY_AFTER_MAX)
			ra = now + ACMESCHED_RETRY_AFTER_MAX;
		if (at < ra)
			at = ra;
	} else if (f->rate_limited && at < now + 3600) {
		at = now + 3600;
	}
	return at;
}

void
acmesched_state_clear(struct acmesched_state *s)
{
	free(s->name);
	free(s->last_error);
	*s = (struct acmesched_state){ 0 };
}

/* The length of S cut to at most MAX bytes without splitting a UTF-8 sequence. */
static size_t
utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void
acmesched_state_failed(struct acmesched_state *s, const struct acmesched_failure *f,
    const char *error, double r, int64_t now)
{
	if (s->failures < UINT_MAX)
		s->failures++;
	s->next_attempt = acmesched_retry_at(s->failures, f, r, now);
	free(s->last_error);
	s->last_error = error != NULL && *error != '\0' ? xstrndup(error, utf8_cut(error, ACMESCHED_ERROR_MAX)) : NULL;
}

void
acmesched_state_issued(struct acmesched_state *s, int64_t not_after, int64_t next_renewal)
{
	s->failures = 0;
	s->next_attempt = 0;
	s->ari_check = 0;
	s->gone_since = 0;
	free(s->last_error);
	s->last_error = NULL;
	s->not_after = not_after;
	s->next_renewal = next_renewal;
}

/* ---- the state line ---- */

/* the most FAILURES a line holds: nine digits */
#define FAILURES_MAX 999999999u

static void
put_escaped(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[5];

		if (c == '\\')
			buf_puts(b, "\\\\");
		else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\r')
			buf_puts(b, "\\r");
		else if (c < 0x20 || c >= 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			buf_puts(b, esc);
		} else
			buf_append(b, &s[i], 1);
	}
}

static void
put_time(struct buf *b, int64_t t)
{
	char text[32];
	struct tm tm;
	time_t tt;

	if (t <= 0) {
		buf_puts(b, "-");
		return;
	}
	tt = (time_t)(t > ACMESCHED_TIME_MAX ? ACMESCHED_TIME_MAX : t);
	gmtime_r(&tt, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_puts(b, text);
}

void
acmesched_state_format(const struct acmesched_state *s, struct buf *b)
{
	const char *name = s->name != NULL ? s->name : "";

	put_escaped(b, name, strlen(name));
	buf_printf(b, "\t%u\t", s->failures > FAILURES_MAX ? FAILURES_MAX : s->failures);
	put_time(b, s->next_attempt);
	buf_puts(b, "\t");
	put_time(b, s->not_after);
	buf_puts(b, "\t");
	put_time(b, s->next_renewal);
	buf_puts(b, "\t");
	put_time(b, s->ari_check);
	buf_puts(b, "\t");
	put_time(b, s->gone_since);
	buf_puts(b, "\t");
	if (s->last_error == NULL || *s->last_error == '\0')
		buf_puts(b, "-");
	else if (strcmp(s->last_error, "-") == 0)
		buf_puts(b, "\\x2d");
	else
		put_escaped(b, s->last_error, utf8_cut(s->last_error, ACMESCHED_ERROR_MAX));
	buf_puts(b, "\n");
}

int
acmesched_state_parse_header(const char *line, size_t len, int lineno, struct diag_list *dl)
{
	static const char magic[] = "mtastsd-acme-state ";
	size_t m = sizeof(magic) - 1;

	if (len == strlen(ACMESCHED_STATE_HEADER) && memcmp(line, ACMESCHED_STATE_HEADER, len) == 0)
		return ACMESCHED_STATE_VERSION;
	/* version 1 lacks two times, which read as none: an upgrade keeps every name's state */
	if (len == m + 1 && memcmp(line, magic, m) == 0 && line[m] == '1')
		return 1;
	if (len > m && memcmp(line, magic, m) == 0 && len - m <= 9 && str_digits(line + m, len - m) >= 0)
		diag_add(dl, DIAG_ERROR, lineno, (int)m + 1, "ACME state version %.*s is not one this "
		    "mtastsd reads (it reads %s)", (int)(len - m), line + m, ACMESCHED_STATE_HEADER);
	else
		diag_add(dl, DIAG_ERROR, lineno, 1, "not an ACME state file: the first line must be \"%s\"",
		    ACMESCHED_STATE_HEADER);
	return -1;
}

/*
 * Unescape the field F[0..N), which starts at column COL, into *OUT (owned
 * by the caller); -1 with an error in DL.
 */
static int
get_escaped(const char *f, size_t n, int lineno, int col, const char *what, char **out,
    struct diag_list *dl)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < n; i++) {
		char c = f[i];
		int hi, lo;

		if (c != '\\') {
			buf_append(&b, &c, 1);
			continue;
		}
		if (i + 1 == n) {
			diag_add(dl, DIAG_ERROR, lineno, col + (int)i, "%s ends in a lone backslash", what);
			goto bad;
		}
		switch (f[++i]) {
		case '\\': buf_puts(&b, "\\"); break;
		case 't': buf_puts(&b, "\t"); break;
		case 'n': buf_puts(&b, "\n"); break;
		case 'r': buf_puts(&b, "\r"); break;
		case 'x':
			hi = i + 1 < n ? hex_digit(f[i + 1]) : -1;
			lo = i + 2 < n ? hex_digit(f[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				diag_add(dl, DIAG_ERROR, lineno, col + (int)i - 1, "%s: \\x needs two hexadecimal digits", what);
				goto bad;
			}
			if (hi == 0 && lo == 0) {
				diag_add(dl, DIAG_ERROR, lineno, col + (int)i - 1, "%s: \\x00 (a NUL byte) is not allowed", what);
				goto bad;
			}
			c = (char)(hi << 4 | lo);
			buf_append(&b, &c, 1);
			i += 2;
			break;
		default:
			diag_add(dl, DIAG_ERROR, lineno, col + (int)i - 1, "%s: unknown escape \\%c%s", what,
			    f[i] >= 0x21 && f[i] < 0x7f ? f[i] : '?', " (\\\\ \\t \\n \\r \\xHH are known)");
			goto bad;
		}
	}
	buf_puts(&b, "");
	*out = b.data;
	return 0;
bad:
	buf_clear(&b);
	return -1;
}

/* "-" as 0, or an RFC 3339 UTC time "YYYY-MM-DDThh:mm:ssZ" from 1970 to 9999 */
static int
get_time(const char *f, size_t n, int64_t *out)
{
	char mdhms[10];
	int year;

	if (n == 1 && f[0] == '-') {
		*out = 0;
		return 0;
	}
	if (n != 20 || f[4] != '-' || f[7] != '-' || f[10] != 'T' || f[13] != ':' || f[16] != ':' ||
	    f[19] != 'Z')
		return -1;
	year = str_digits(f, 4);
	if (year < 1970)
		return -1;
	memcpy(mdhms, f + 5, 2);
	memcpy(mdhms + 2, f + 8, 2);
	memcpy(mdhms + 4, f + 11, 2);
	memcpy(mdhms + 6, f + 14, 2);
	memcpy(mdhms + 8, f + 17, 2);
	return utc_from_mdhms(year, mdhms, out);
}

static bool
is_host_name(const char *s)
{
	for (const char *p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			return false;
	return dname_is_ldh(s, strlen(s));
}

/* the most fields a line has (version 2); version 1 lacks ARI_CHECK and GONE_SINCE */
#define FIELDS 8

int
acmesched_state_parse(int version, const char *line, size_t len, int lineno, struct acmesched_state *out,
    struct diag_list *dl)
{
	static const char *const what[FIELDS] = { "name", "failures", "next attempt", "notAfter",
		"next renewal", "ARI check", "gone since", "last error" };
	size_t start[FIELDS], end[FIELDS], nf = 0, fields = version == 1 ? 6 : FIELDS, ntimes = fields - 3;
	struct acmesched_state s = { 0 };
	int64_t *times[5] = { &s.next_attempt, &s.not_after, &s.next_renewal, &s.ari_check, &s.gone_since };
	size_t last = fields - 1;

	if (len == 0) {
		diag_add(dl, DIAG_ERROR, lineno, 1, "empty line (a name and %zu fields expected)", fields - 1);
		return -1;
	}
	/* only printable ASCII and the field separators: escapes carry everything else */
	start[0] = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == '\t') {
			if (nf + 1 == fields) {
				diag_add(dl, DIAG_ERROR, lineno, (int)i + 1, "more than %zu fields", fields);
				return -1;
			}
			end[nf++] = i;
			start[nf] = i + 1;
		} else if (c < 0x20 || c >= 0x7f) {
			diag_add(dl, DIAG_ERROR, lineno, (int)i + 1, "byte 0x%02x in a line (it is written \\x%02x)", c, c);
			return -1;
		}
	}
	end[nf++] = len;
	if (nf != fields) {
		diag_add(dl, DIAG_ERROR, lineno, (int)len + 1, "%zu field%s, %zu expected (name, failures, next "
		    "attempt, notAfter, next renewal, %slast error)", nf, nf == 1 ? "" : "s", fields,
		    version == 1 ? "" : "ARI check, gone since, ");
		return -1;
	}

	if (get_escaped(line, end[0], lineno, 1, what[0], &s.name, dl) < 0)
		return -1;
	if (!is_host_name(s.name)) {
		diag_add(dl, DIAG_ERROR, lineno, 1, "name is not a lower-case host name");
		goto bad;
	}

	{
		const char *f = line + start[1];
		size_t n = end[1] - start[1];
		int v = n >= 1 && n <= 9 && (n == 1 || f[0] != '0') ? str_digits(f, n) : -1;
		if (v < 0) {
			diag_add(dl, DIAG_ERROR, lineno, (int)start[1] + 1, "failures: \"%.*s\" is not a count "
			    "(decimal, at most 9 digits, no leading zero)", (int)(n > 20 ? 20 : n), f);
			goto bad;
		}
		s.failures = (unsigned)v;
	}

	for (size_t k = 0; k < ntimes; k++) {
		size_t i = 2 + k;
		if (get_time(line + start[i], end[i] - start[i], times[k]) < 0) {
			diag_add(dl, DIAG_ERROR, lineno, (int)start[i] + 1, "%s: \"%.*s\" is not a UTC time "
			    "like 2026-12-01T00:00:00Z (from 1970 to 9999), nor \"-\"", what[i],
			    (int)(end[i] - start[i] > 30 ? 30 : end[i] - start[i]), line + start[i]);
			goto bad;
		}
	}

	if (!(end[last] - start[last] == 1 && line[start[last]] == '-')) {
		if (get_escaped(line + start[last], end[last] - start[last], lineno, (int)start[last] + 1,
		    what[FIELDS - 1], &s.last_error, dl) < 0)
			goto bad;
		if (strlen(s.last_error) > ACMESCHED_ERROR_MAX) {
			diag_add(dl, DIAG_ERROR, lineno, (int)start[last] + 1, "last error longer than %d bytes",
			    ACMESCHED_ERROR_MAX);
			goto bad;
		}
		if (*s.last_error == '\0') {
			free(s.last_error);
			s.last_error = NULL;
		}
	}
	*out = s;
	return 0;
bad:
	acmesched_state_clear(&s);
	return -1;
}

/* ---- ARI ---- */

int64_t
acmesched_ari_next_check(bool failed, bool has_retry_after, int64_t retry_after, int64_t now)
{
	if (!sane(now))
		return now;
	if (!has_retry_after)
		return now + (failed ? ACMESCHED_ARI_FAILED : ACMESCHED_ARI_DEFAULT);
	/* a CA's zero would have us ask in a loop, its year would miss a revocation's earlier window */
	if (retry_after < now + ACMESCHED_ARI_MIN)
		return now + ACMESCHED_ARI_MIN;
	if (retry_after > now + ACMESCHED_ARI_MAX)
		return now + ACMESCHED_ARI_MAX;
	return retry_after;
}

int64_t
acmesched_earlier(int64_t a, int64_t b)
{
	if (a <= 0)
		return b > 0 ? b : 0;
	return b > 0 && b < a ? b : a;
}

size_t
acmesched_ari_due(const struct acmesched_state *states, size_t n, const bool *managed, int64_t now,
    size_t *due, int64_t *later)
{
	size_t ndue = 0;

	*later = 0;
	for (size_t i = 0; i < n; i++) {
		const struct acmesched_state *st = &states[i];

		/* a pending failure retries the order, and a renewal due is ordered: no window to ask for */
		if (!managed[i] || st->failures > 0 || st->not_after <= now || st->next_renewal <= now)
			continue;
		if (st->ari_check > now)
			*later = acmesched_earlier(*later, st->ari_check);
		else
			due[ndue++] = i;
	}
	return ndue;
}

int64_t
acmesched_ari_wake(enum acmesched_ari_end end, int64_t later, int64_t now)
{
	switch (end) {
	case ACMESCHED_ARI_MORE:
		return now;
	case ACMESCHED_ARI_NO_DIRECTORY:
		return acmesched_earlier(later, now + ACMESCHED_ARI_FAILED);
	case ACMESCHED_ARI_UNSUPPORTED:
		return 0;
	case ACMESCHED_ARI_DONE:
		break;
	}
	return later > 0 ? later : 0;
}

/* ---- pruning ---- */

void
acmesched_prune(const struct acmesched_state *states, size_t n, const char *const *configured, size_t nconf,
    int64_t grace, int64_t now, enum acmesched_prune_action *out)
{
	struct hmap conf = { 0 };

	if (grace < 0)
		grace = 0;
	hmap_reserve(&conf, nconf);
	for (size_t i = 0; i < nconf; i++)
		if (configured[i] != NULL)
			hmap_put(&conf, configured[i], (void *)(uintptr_t)1);
	for (size_t i = 0; i < n; i++) {
		const struct acmesched_state *s = &states[i];

		if (s->name != NULL && hmap_get(&conf, s->name) != NULL)
			out[i] = s->gone_since != 0 ? ACMESCHED_PRUNE_BACK : ACMESCHED_PRUNE_KEEP;
		else if (s->gone_since == 0)
			out[i] = ACMESCHED_PRUNE_GONE;
		else if (s->gone_since <= now && now - s->gone_since >= grace)
			out[i] = ACMESCHED_PRUNE_REMOVE;
		else
			out[i] = ACMESCHED_PRUNE_KEEP;
	}
	hmap_clear(&conf);
}

/* ---- order pacing ---- */

void
acmesched_bucket_init(struct acmesched_bucket *b, unsigned capacity, int64_t period, int64_t now)
{
	b->capacity = capacity > 0 ? capacity : 1;
	b->period = period > 0 ? period : 1;
	b->tokens = b->capacity;
	b->last = now;
}

bool
acmesched_bucket_take(struct acmesched_bucket *b, int64_t now, int64_t *when)
{
	/* whole periods only, so LAST keeps the fraction of the period under way */
	if (now > b->last) {
		uint64_t k = ((uint64_t)now - (uint64_t)b->last) / (uint64_t)b->period;
		if (k >= b->capacity - b->tokens) {
			b->tokens = b->capacity;
			b->last = now;
		} else {
			b->tokens += (unsigned)k;
			b->last += (int64_t)k * b->period;
		}
	}
	if (b->tokens > 0) {
		b->tokens--;
		return true;
	}
	if (when != NULL) {
		int64_t at = b->last > INT64_MAX - b->period ? INT64_MAX : b->last + b->period;
		*when = at > now ? at : now + 1;
	}
	return false;
}
