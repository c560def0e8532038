/* SPDX-License-Identifier: MIT */
/* json: writes a JSON string literal from UTF-8 text, for the JSON outputs (`dns --format json`). */
#include "json.h"

#include <stdint.h>

/*
 * Decode one UTF-8 character at S[0..LEN): its code point in *CP and its
 * length, or 0 when the bytes there are not a valid, shortest encoding.
 */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;	/* a continuation byte first, or 0xf8..0xff */
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* overlong forms would let one character be spelt several ways; surrogates are not characters */
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

int
json_string(struct buf *b, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;

	/* validated first, so that a refused string leaves B as it was */
	for (size_t i = 0, k; i < len; i += k)
		if ((k = utf8_decode(u + i, len - i, &cp)) == 0)
			return -1;
	buf_puts(b, "\"");
	for (size_t i = 0, k; i < len; i += k) {
		k = utf8_decode(u + i, len - i, &cp);
		if (cp == '"' || cp == '\\')
			buf_printf(b, "\\%c", (int)cp);
		else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0x10000))
			buf_printf(b, "\\u%04x", (unsigned)cp);
		else if (cp >= 0x10000)
			buf_printf(b, "\\u%04x\\u%04x", (unsigned)(0xd800 + ((cp - 0x10000) >> 10)),
			    (unsigned)(0xdc00 + ((cp - 0x10000) & 0x3ff)));
		else
			buf_append(b, s + i, 1);
	}
	buf_puts(b, "\"");
	return 0;
}
