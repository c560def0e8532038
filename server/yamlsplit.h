/* SPDX-License-Identifier: MIT */
/* yamlsplit: where a long block list under one top-level key can be cut into pieces read apart. */
#ifndef MTASTSD_YAMLSPLIT_H
#define MTASTSD_YAMLSPLIT_H

#include <stddef.h>

#define YAMLSPLIT_MAX 32

/* A cut: the byte offset of the start of a line and that line's 1-based number. */
struct yamlsplit_cut {
	size_t off;
	int line;
};

/*
 * The block list under KEY: cut[0] is its first entry's line, cut[n] the
 * first line after it (its end), and cut[1..n) are entry lines near equal
 * shares of it; key_line is the line of "KEY:".
 */
struct yamlsplit {
	size_t n;
	int key_line;
	int indent;			/* the column of the entries' "-", 0-based */
	struct yamlsplit_cut cut[YAMLSPLIT_MAX + 1];
};

/*
 * Find in DATA (LEN bytes) a line "KEY:" at column 0 (spaces, a comment and
 * CR may follow) whose next lines, after blank and comment lines, are a
 * block list: entries starting "- " (or a lone "-") at one column, each
 * followed by lines indented deeper, blank or comment lines. Fills S with
 * up to WANT (at most YAMLSPLIT_MAX) pieces and returns how many (S->n), or
 * 0 when there is no such list or it has fewer than two entries.
 *
 * This looks at lines only, so a boundary may not be what it looks like: a
 * quoted scalar or a flow collection can span it, an alias can name an
 * anchor of another piece. Then reading the pieces as documents of their
 * own fails (the construct is open at the end of a piece, the alias is
 * undefined), and the caller reads the whole text at once (ytree).
 */
size_t yamlsplit_find(const char *data, size_t len, const char *key, size_t want, struct yamlsplit *s);

#endif
