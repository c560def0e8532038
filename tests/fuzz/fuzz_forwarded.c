/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the X-Forwarded-For / Forwarded reader. The first byte picks
 * the trusted blocks (one bit each, see blocks[]); the rest is split at '\n'
 * into header lines, each naming its header by its first byte ('f': Forwarded,
 * anything else: X-Forwarded-For) followed by the value. Lines are kept as the
 * HTTP layer keeps them (forwarded_keep, the rightmost KEEP of each header).
 */
#include "cidr.h"
#include "forwarded.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* as many lines of one header as server/http.c keeps */
#define KEEP 16
/* a client address outside every block below but 0.0.0.0/0 */
#define OUTSIDER "203.0.113.5"

static const char *const blocks[8] = {
	"127.0.0.0/8", "10.0.0.0/8", "::1", "2001:db8::/32", "0.0.0.0/0", "::/0", "192.0.2.0/24", "fd00::/8",
};

struct input {
	struct cidr trusted[8];
	size_t n_trusted;
	const char *xff[KEEP], *fwd[KEEP];	/* kept lines, borrowed from lines[] */
	size_t n_xff, n_fwd;
	char **lines;				/* every line, each an exact-size copy (ASan sees over-reads) */
	size_t n_lines;
};

/* The client of IN with only the headers asked for (the others absent); OUT NUL-terminated on true. */
static bool
client(const struct input *in, const char *const *xff, size_t n_xff, const char *const *fwd, size_t n_fwd,
    char *out, size_t len)
{
	bool ok;

	memset(out, 'z', len);
	ok = forwarded_client(xff, n_xff, fwd, n_fwd, in->trusted, in->n_trusted, out, len);
	if (ok && memchr(out, '\0', len) == NULL)
		__builtin_trap();
	return ok;
}

/* S as an address, or false: a believed client is always one, in canonical form. */
static bool
parse_canonical(const char *s, struct sockaddr_storage *ss)
{
	char back[INET6_ADDRSTRLEN];
	void *a;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		a = &((struct sockaddr_in *)ss)->sin_addr;
	} else if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		a = &((struct sockaddr_in6 *)ss)->sin6_addr;
	} else {
		return false;
	}
	return inet_ntop(ss->ss_family, a, back, sizeof(back)) != NULL && strcmp(back, s) == 0;
}

/* The lines of header KIND ('f' or 'x') with EXTRA before (LEFT) or after them, kept as http.c keeps them. */
static size_t
with_line(const struct input *in, char kind, const char *extra, bool left, const char **out)
{
	size_t n = 0;

	if (left)
		forwarded_keep(out, &n, KEEP, extra);
	for (size_t i = 0; i < in->n_lines; i++)
		if ((in->lines[i][0] == 'f') == (kind == 'f'))
			forwarded_keep(out, &n, KEEP, in->lines[i] + 1);
	if (!left)
		forwarded_keep(out, &n, KEEP, extra);
	return n;
}

/*
 * One header alone (KIND): a believed client that is no trusted proxy stays
 * the client whatever is prepended (only what its proxies appended counts);
 * a proxy appending an untrusted address makes that address the client.
 */
static void
check_one_header(const struct input *in, char kind, const char *const *lines, size_t n)
{
	const char *more[KEEP];
	const char *pre = kind == 'f' ? "for=198.51.100.9" : "198.51.100.9";
	const char *junk = kind == 'f' ? "for=unknown" : "unknown";
	const char *post = kind == 'f' ? "for=" OUTSIDER : OUTSIDER;
	const char *const *none = NULL;
	char c[64], c2[64];
	struct sockaddr_storage ss;
	bool ok = kind == 'f' ? client(in, none, 0, lines, n, c, sizeof(c)) : client(in, lines, n, none, 0, c, sizeof(c));
	size_t m;

	if (n == 0 && ok)
		__builtin_trap();	/* no header, nothing to believe */
	/* whatever came before, even nothing */
	parse_canonical(OUTSIDER, &ss);
	if (!cidr_match(in->trusted, in->n_trusted, (const struct sockaddr *)&ss)) {
		m = with_line(in, kind, post, false, more);
		if (!(kind == 'f' ? client(in, none, 0, more, m, c2, sizeof(c2)) :
		    client(in, more, m, none, 0, c2, sizeof(c2))) || strcmp(c2, OUTSIDER) != 0)
			__builtin_trap();
	}
	if (!ok)
		return;
	if (!parse_canonical(c, &ss))
		__builtin_trap();
	if (cidr_match(in->trusted, in->n_trusted, (const struct sockaddr *)&ss))
		return;
	for (int j = 0; j < 2; j++) {
		m = with_line(in, kind, j ? junk : pre, true, more);
		if (!(kind == 'f' ? client(in, none, 0, more, m, c2, sizeof(c2)) :
		    client(in, more, m, none, 0, c2, sizeof(c2))) || strcmp(c, c2) != 0)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { .n_trusted = 0 };
	char both[64], bx[64], bf[64], again[64], err[128];
	bool ok, okx, okf;
	size_t start = 1;

	if (size < 1 || size > 16384)
		return 0;
	for (size_t b = 0; b < 8; b++)
		if ((data[0] >> b & 1) && cidr_parse(blocks[b], &in.trusted[in.n_trusted++], err, sizeof(err)) < 0)
			__builtin_trap();
	in.lines = calloc(size, sizeof(*in.lines));
	if (in.lines == NULL)
		return 0;
	for (size_t i = 1; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		/* a line without its kind byte is an empty X-Forwarded-For line */
		size_t len = i - start;
		char *l = malloc(len > 0 ? len + 1 : 2);

		if (l == NULL)
			break;
		if (len == 0)
			memcpy(l, "x", 2);
		else {
			memcpy(l, data + start, len);
			l[len] = '\0';
		}
		in.lines[in.n_lines++] = l;
		if (l[0] == 'f')
			forwarded_keep(in.fwd, &in.n_fwd, KEEP, l + 1);
		else
			forwarded_keep(in.xff, &in.n_xff, KEEP, l + 1);
		if (in.n_xff > KEEP || in.n_fwd > KEEP)
			__builtin_trap();
		start = i + 1;
	}

	ok = client(&in, in.xff, in.n_xff, in.fwd, in.n_fwd, both, sizeof(both));
	/* the same answer twice: nothing is kept between calls */
	if (client(&in, in.xff, in.n_xff, in.fwd, in.n_fwd, again, sizeof(again)) != ok ||
	    (ok && strcmp(both, again) != 0))
		__builtin_trap();
	/* both headers are believed only when each alone names the same client */
	okx = client(&in, in.xff, in.n_xff, NULL, 0, bx, sizeof(bx));
	okf = client(&in, NULL, 0, in.fwd, in.n_fwd, bf, sizeof(bf));
	if (in.n_xff > 0 && in.n_fwd > 0) {
		if (ok != (okx && okf && strcmp(bx, bf) == 0) || (ok && strcmp(both, bx) != 0))
			__builtin_trap();
	} else if (ok != (okx || okf) || (ok && strcmp(both, okx ? bx : bf) != 0)) {
		__builtin_trap();
	}
	/* too small a buffer is a refusal, never a cut address */
	if (ok && client(&in, in.xff, in.n_xff, in.fwd, in.n_fwd, again, strlen(both)))
		__builtin_trap();
	check_one_header(&in, 'x', in.xff, in.n_xff);
	check_one_header(&in, 'f', in.fwd, in.n_fwd);
	for (size_t i = 0; i < in.n_lines; i++)
		free(in.lines[i]);
	free(in.lines);
	return 0;
}
