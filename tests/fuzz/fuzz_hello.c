/* SPDX-License-Identifier: MIT */
/* Fuzz target: the ClientHello reader of the TLS glue (suites, key share groups). */
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

	if (m == NULL)
		return 0;
	memcpy(m, data, size);
	if (clienthello_read(m, size, &ch) < 0 &&
	    (ch.suites_ec || ch.suites_rsa || ch.share_x25519 || ch.share_p256 || ch.share_p384))
		__builtin_trap();	/* nothing is claimed from a hello cut before its suites */
	free(m);
	return 0;
}
