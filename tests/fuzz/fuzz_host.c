/* SPDX-License-Identifier: MIT */
/* Fuzz target: Host header / SNI canonicalisation and name normalisation. */
#include "dname.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[DNAME_MAX + 1], again[DNAME_MAX + 1], err[512], *s, *norm;
	int n;

	n = dname_canon_host((const char *)data, size, true, out, sizeof(out));
	if (n >= 0) {
		/* canonical output is a fixed point: lower case, LDH, no port, no trailing dot */
		if ((size_t)n != strlen(out) || n > DNAME_MAX)
			__builtin_trap();
		if (dname_canon_host(out, (size_t)n, false, again, sizeof(again)) != n ||
		    strcmp(out, again) != 0)
			__builtin_trap();
	}
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (dname_normalize(s, DNAME_MX_PATTERN, &norm, err, sizeof(err)) == 0) {
		char *twice;
		/* normalising a normalised pattern changes nothing */
		if (dname_normalize(norm, DNAME_MX_PATTERN, &twice, err, sizeof(err)) != 0 ||
		    strcmp(norm, twice) != 0)
			__builtin_trap();
		(void)dname_mx_match(norm, s);
		free(twice);
		free(norm);
	}
	free(s);
	return 0;
}
