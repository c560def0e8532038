/* SPDX-License-Identifier: MIT */
/* json: writes a JSON string literal from UTF-8 text, for the JSON outputs (`dns --format json`). */
#ifndef MTASTSD_JSON_H
#define MTASTSD_JSON_H

#include <stddef.h>

#include "util.h"

/*
 * Append S[0..LEN) to B as a quoted JSON string (RFC 8259 section 7). The
 * output is ASCII only: '"' and '\' are escaped with a backslash, control
 * characters, DEL and every character past U+007F as \uXXXX (one escape per
 * character, a surrogate pair past U+FFFF). S must be valid UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF, no sequence cut
 * short); otherwise nothing is appended and -1 is returned (a byte is never
 * escaped on its own as \u00XX, which would name another character).
 * Returns 0 on success. NUL bytes inside S are escaped as \u0000.
 */
int json_string(struct buf *b, const char *s, size_t len);

#endif
