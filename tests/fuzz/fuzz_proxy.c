/* SPDX-License-Identifier: MIT */
/* Fuzz target: the PROXY protocol header parser, whole and in every split a socket can deliver. */
#include "proxyproto.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parts of an answer that must not depend on how the bytes arrived. */
static bool
same_info(const struct proxy_info *a, const struct proxy_info *b)
{
	return a->header_len == b->header_len && a->version == b->version && a->local == b->local &&
	    a->srclen == b->srclen && memcmp(&a->src, &b->src, a->srclen) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info whole, part;
	enum proxy_result r, rp;
	const char *why = NULL;
	unsigned char *m;

	if (size > 4 * PROXY_MAX_HEADER)
		return 0;
	/* an exact-size copy, so a read past the end is caught by ASan */
	m = malloc(size ? size : 1);
	if (m == NULL)
		return 0;
	memcpy(m, data, size);
	memset(&whole, 0, sizeof(whole));
	r = proxy_parse(m, size, &whole, &why);
	if (r == PROXY_INVALID && (why == NULL || why[0] == '\0'))
		__builtin_trap();	/* every refusal says why */
	if (r == PROXY_OK) {
		if (whole.header_len == 0 || whole.header_len > size || whole.header_len > PROXY_MAX_HEADER)
			__builtin_trap();
		if (whole.version == 1 && whole.header_len > 107)
			__builtin_trap();	/* the spec's 107 bytes include the CRLF */
		if (!whole.local && whole.srclen == 0)
			__builtin_trap();
	}
	/*
	 * The connection is read as it arrives, so the parser sees every prefix of what the
	 * client sent. A prefix shorter than a header found in the whole needs more; a prefix
	 * refused means the whole is refused; a header found in a prefix is the whole's.
	 */
	for (size_t i = 0; i < size; i++) {
		unsigned char *p = malloc(i ? i : 1);
		if (p == NULL)
			break;
		memcpy(p, data, i);
		memset(&part, 0, sizeof(part));
		rp = proxy_parse(p, i, &part, NULL);
		free(p);
		if (r == PROXY_OK && i < whole.header_len && rp != PROXY_NEED_MORE)
			__builtin_trap();
		if (r == PROXY_OK && i >= whole.header_len && (rp != PROXY_OK || !same_info(&part, &whole)))
			__builtin_trap();
		if (rp == PROXY_INVALID && r != PROXY_INVALID)
			__builtin_trap();
		if (rp == PROXY_OK && r != PROXY_OK)
			__builtin_trap();
	}
	free(m);
	return 0;
}
