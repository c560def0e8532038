/* SPDX-License-Identifier: MIT */
/* diag: a list of positioned diagnostics (errors and warnings) collected while reading input. */
#ifndef MTASTSD_DIAG_H
#define MTASTSD_DIAG_H

#include "log.h"

#include <stdio.h>
#include <stddef.h>

/*
 * DIAG_UNSERVED: a problem confined to some tenants (a broken certificate
 * pair, a host no certificate covers): the rest is served, the reload goes
 * ahead, and `check` exits 3 instead of 1. Printed as "not served: ".
 */
enum diag_level { DIAG_ERROR, DIAG_WARNING, DIAG_UNSERVED };

struct diag {
	enum diag_level level;
	int line, col;		/* 1-based; 0 when the problem has no position */
	char *msg;
	char *file;		/* the file it is about, when not the list's (NULL: the list's) */
	size_t seq;		/* insertion order, keeps sorting stable */
};

struct diag_list {
	char *file;		/* name printed in front of every entry */
	struct diag *items;
	size_t n, cap;
	size_t errors, warnings, unserved;
};

/* Initialise an empty list whose entries are reported against FILE (copied). */
void diag_init(struct diag_list *dl, const char *file);
/* Free every entry and the file name (not DL); DL is left {0}, to be diag_init'ed again. */
void diag_clear(struct diag_list *dl);
/* Append one entry; LINE and COL are 1-based. Aborts on out-of-memory. */
void diag_add(struct diag_list *dl, enum diag_level level, int line, int col,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* As diag_add, about FILE (NULL: the list's own; a tenant file, say, in a list of the main file's). */
void diag_add_in(struct diag_list *dl, const char *file, enum diag_level level, int line, int col,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/*
 * Move every entry of SRC to the end of DST, in order; SRC is left empty (its
 * file name is kept). Entries about another file than DST's keep naming it.
 */
void diag_take(struct diag_list *dst, struct diag_list *src);
/* Append a copy of every entry of SRC to DST, as diag_take would move them; SRC is unchanged. */
void diag_copy(struct diag_list *dst, const struct diag_list *src);
/* Sort the entries by position (stable), so output follows the file: the list's own file first, then by name. */
void diag_sort(struct diag_list *dl);
/*
 * Print every entry, whole, one per line: FILE:LINE:COL: [warning: |not served: ]message,
 * or FILE: [...]message for an entry without a position.
 */
void diag_print(const struct diag_list *dl, FILE *out);
/* As diag_print, only the entries of level DIAG_ERROR (what stops a command other than `check`). */
void diag_print_errors(const struct diag_list *dl, FILE *out);
/*
 * Log every entry of DL, one line each: PREFIX ("" for none), then the entry
 * as diag_format writes it, cut at 4 KiB. Warnings are logged at level
 * WARNINGS_AT (LOG_LEVEL_WARN: with log_warnx), errors and unserved entries
 * with log_error. Past DIAG_LOG_MAX_WARNINGS warnings the rest are counted
 * in one line ("… and N more warnings"); errors are always logged whole.
 */
#define DIAG_LOG_MAX_WARNINGS 100
void diag_log(const struct diag_list *dl, const char *prefix, enum log_level warnings_at);
/* Format entry I into BUF of LEN bytes like diag_print does (without newline), cut to fit. */
void diag_format(const struct diag_list *dl, size_t i, char *buf, size_t len);

#endif
