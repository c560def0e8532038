/* SPDX-License-Identifier: MIT */
/* Fuzz target: the ClientHello reader of the TLS glue (suites, key share groups, ALPN protocols). */
#include "clienthello.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so a read past the end is caught by ASan */
	unsigned char *m = malloc(size ? size : 1);
	struct clienthello ch;
	const unsigned char *name;
	size_t pos = 0, len, total = 0;
	int rc;

	if (m == NULL)
		return 0;
	memcpy(m, data, size);
	rc = clienthello_read(m, size, &ch);
	if (rc < 0 && (ch.suites_ec || ch.suites_rsa || ch.share_x25519 || ch.share_p256 || ch.share_p384 ||
	    ch.alpn != NULL))
		__builtin_trap();	/* nothing is claimed from a hello cut before its suites */
	if (ch.alpn != NULL && (ch.alpn < m || ch.alpn_len == 0 || ch.alpn_len > size ||
	    (size_t)(ch.alpn - m) > size - ch.alpn_len))
		__builtin_trap();	/* the list lies inside the message */
	while (clienthello_alpn_next(&ch, &pos, &name, &len)) {
		char proto[256];

		/* every name is 1 to 255 bytes inside the list, and found again by name */
		if (len == 0 || len > 255 || name < ch.alpn || (size_t)(name - ch.alpn) + len > ch.alpn_len)
			__builtin_trap();
		total += 1 + len;
		if (memchr(name, '\0', len) == NULL) {
			memcpy(proto, name, len);
			proto[len] = '\0';
			if (!clienthello_offers_alpn(&ch, proto))
				__builtin_trap();
		}
	}
	if (total != ch.alpn_len)
		__builtin_trap();	/* the names cover the list exactly */
	free(m);
	return 0;
}
