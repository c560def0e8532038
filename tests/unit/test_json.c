/* SPDX-License-Identifier: MIT */
/* Unit tests for json: string literals from UTF-8, escaped per character, invalid UTF-8 refused. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "json.h"

static const struct {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	const char *out;	/* NULL: refused */
} cases[] = {
	{ "example.com", 0, "\"example.com\"" },
	{ "a\"b\\c", 0, "\"a\\\"b\\\\c\"" },
	{ "tab\there\n", 0, "\"tab\\u0009here\\u000a\"" },
	{ "del\x7f", 0, "\"del\\u007f\"" },
	{ "nul\0x", 5, "\"nul\\u0000x\"" },
	/* one escape per character, never per byte */
	{ "ex\xc3\xa4mple", 0, "\"ex\\u00e4mple\"" },		/* U+00E4, two bytes */
	{ "\xc2\x80", 0, "\"\\u0080\"" },			/* the smallest two-byte one */
	{ "\xe2\x80\xa6", 0, "\"\\u2026\"" },			/* U+2026, three bytes */
	{ "\xef\xbf\xbd", 0, "\"\\ufffd\"" },
	{ "\xf0\x9f\x98\x80", 0, "\"\\ud83d\\ude00\"" },	/* U+1F600: a surrogate pair */
	{ "\xf4\x8f\xbf\xbf", 0, "\"\\udbff\\udfff\"" },	/* U+10FFFF, the last one */
	{ "", 0, "\"\"" },
	/* not UTF-8: refused */
	{ "\x80", 0, NULL },					/* a continuation byte first */
	{ "ab\xc3", 0, NULL },					/* cut short */
	{ "\xc3(", 0, NULL },					/* not a continuation byte */
	{ "\xc0\xaf", 0, NULL },				/* overlong '/' */
	{ "\xe0\x80\xaf", 0, NULL },				/* overlong, three bytes */
	{ "\xed\xa0\x80", 0, NULL },				/* U+D800, a surrogate */
	{ "\xf4\x90\x80\x80", 0, NULL },			/* past U+10FFFF */
	{ "\xff", 0, NULL },
	{ "\xe2\x80\xa6\xe2\x80", 0, NULL },			/* a valid one, then a cut one */
};

Test(json, strings_are_escaped_per_character_and_invalid_utf8_is_refused)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = {0};
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		int rc;

		buf_puts(&b, "x=");
		rc = json_string(&b, cases[i].in, len);
		if (cases[i].out == NULL) {
			cr_assert_eq(rc, -1, "case %zu accepted: %s", i, b.data);
			/* nothing appended */
			cr_assert_str_eq(b.data, "x=", "case %zu", i);
		} else {
			cr_assert_eq(rc, 0, "case %zu refused", i);
			cr_assert_str_eq(b.data + 2, cases[i].out, "case %zu", i);
		}
		buf_clear(&b);
	}
}

Test(json, output_is_ascii)
{
	struct buf b = {0};
	const char *s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";

	cr_assert_eq(json_string(&b, s, strlen(s)), 0);
	for (size_t i = 0; i < b.len; i++)
		cr_assert_lt((unsigned char)b.data[i], 0x80, "byte %zu", i);
	cr_assert_str_eq(b.data, "\"caf\\u00e9 \\u20ac \\ud83d\\ude00\"");
	buf_clear(&b);
}
