/* SPDX-License-Identifier: MIT */
/* diag: a list of positioned diagnostics (errors and warnings) collected while reading input. */
#include "diag.h"
#include "util.h"
#include "vec.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
diag_init(struct diag_list *dl, const char *file)
{
	memset(dl, 0, sizeof(*dl));
	dl->file = xstrdup(file ? file : "-");
}

void
diag_clear(struct diag_list *dl)
{
	for (size_t i = 0; i < dl->n; i++) {
		free(dl->items[i].msg);
		free(dl->items[i].file);
	}
	free(dl->items);
	free(dl->file);
	memset(dl, 0, sizeof(*dl));
}

/* Room for one more entry at dl->items[dl->n]. */
static void
reserve(struct diag_list *dl)
{
	VEC_RESERVE(dl->items, dl->cap, dl->n + 1, 8);
}

static void
add(struct diag_list *dl, const char *file, enum diag_level level, int line, int col, const char *fmt, va_list ap)
{
	reserve(dl);
	dl->items[dl->n].msg = xvasprintf(fmt, ap);
	dl->items[dl->n].level = level;
	dl->items[dl->n].file = file == NULL || (dl->file != NULL && strcmp(file, dl->file) == 0) ? NULL : xstrdup(file);
	dl->items[dl->n].line = line;
	dl->items[dl->n].col = col;
	dl->items[dl->n].seq = dl->n;
	dl->n++;
	if (level == DIAG_ERROR)
		dl->errors++;
	else if (level == DIAG_UNSERVED)
		dl->unserved++;
	else
		dl->warnings++;
}

void
diag_add(struct diag_list *dl, enum diag_level level, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(dl, NULL, level, line, col, fmt, ap);
	va_end(ap);
}

void
diag_add_in(struct diag_list *dl, const char *file, enum diag_level level, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(dl, file, level, line, col, fmt, ap);
	va_end(ap);
}

/* The file an entry of SRC is about, as an entry of DST names it: NULL when it is DST's own (a copy otherwise). */
static char *
file_in(const struct diag_list *dst, const struct diag_list *src, const struct diag *d)
{
	const char *f = d->file ? d->file : src->file;

	return f == NULL || (dst->file != NULL && strcmp(f, dst->file) == 0) ? NULL : xstrdup(f);
}

static void
append(struct diag_list *dst, const struct diag_list *src, const struct diag *d, char *msg)
{
	reserve(dst);
	dst->items[dst->n] = *d;
	dst->items[dst->n].msg = msg;
	dst->items[dst->n].file = file_in(dst, src, d);
	dst->items[dst->n].seq = dst->n;
	dst->n++;
}

void
diag_copy(struct diag_list *dst, const struct diag_list *src)
{
	for (size_t i = 0; i < src->n; i++)
		append(dst, src, &src->items[i], xstrdup(src->items[i].msg));
	dst->errors += src->errors;
	dst->warnings += src->warnings;
	dst->unserved += src->unserved;
}

void
diag_take(struct diag_list *dst, struct diag_list *src)
{
	for (size_t i = 0; i < src->n; i++) {
		append(dst, src, &src->items[i], src->items[i].msg);
		free(src->items[i].file);
	}
	dst->errors += src->errors;
	dst->warnings += src->warnings;
	dst->unserved += src->unserved;
	free(src->items);
	src->items = NULL;
	src->n = src->cap = src->errors = src->warnings = src->unserved = 0;
}

static int
cmp_pos(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if ((x->file == NULL) != (y->file == NULL))
		return x->file == NULL ? -1 : 1;
	if (x->file != NULL) {
		int c = strcmp(x->file, y->file);
		if (c != 0)
			return c;
	}
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void
diag_sort(struct diag_list *dl)
{
	if (dl->n > 1)
		qsort(dl->items, dl->n, sizeof(*dl->items), cmp_pos);
}

static const char *
level_prefix(enum diag_level level)
{
	return level == DIAG_WARNING ? "warning: " : level == DIAG_UNSERVED ? "not served: " : "";
}

void
diag_format(const struct diag_list *dl, size_t i, char *buf, size_t len)
{
	const struct diag *d = &dl->items[i];
	const char *file = d->file ? d->file : dl->file;

	if (d->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s%s", file, d->line, d->col, level_prefix(d->level), d->msg);
	else
		snprintf(buf, len, "%s: %s%s", file, level_prefix(d->level), d->msg);
}

/* Entry I of DL and a newline, appended to B: whole however long (a message may quote a long value). */
static void
print_one(const struct diag_list *dl, size_t i, struct buf *b)
{
	const struct diag *d = &dl->items[i];
	const char *file = d->file ? d->file : dl->file;

	if (d->line > 0)
		buf_printf(b, "%s:%d:%d: %s%s\n", file, d->line, d->col, level_prefix(d->level), d->msg);
	else
		buf_printf(b, "%s: %s%s\n", file, level_prefix(d->level), d->msg);
}

/* The entries of DL (only its errors when ERRORS_ONLY) to OUT, 64 KiB a write: stderr has no buffer of its own. */
static void
print_all(const struct diag_list *dl, FILE *out, bool errors_only)
{
	struct buf b = {0};

	for (size_t i = 0; i < dl->n; i++) {
		if (errors_only && dl->items[i].level != DIAG_ERROR)
			continue;
		print_one(dl, i, &b);
		if (b.len >= 65536) {
			fwrite(b.data, 1, b.len, out);
			b.len = 0;
			b.data[0] = '\0';
		}
	}
	if (b.len > 0)
		fwrite(b.data, 1, b.len, out);
	buf_clear(&b);
	fflush(out);
}

void
diag_print(const struct diag_list *dl, FILE *out)
{
	print_all(dl, out, false);
}

void
diag_print_errors(const struct diag_list *dl, FILE *out)
{
	print_all(dl, out, true);
}

void
diag_log(const struct diag_list *dl, const char *prefix, enum log_level warnings_at)
{
	/* the log functions take no level: one per level, in enum log_level's order */
	static void (*const log_at[])(const char *fmt, ...) = { log_debug, log_info, log_warnx, log_error };
	char line[4096];
	size_t warnings = 0;

	for (size_t i = 0; i < dl->n; i++) {
		enum log_level level = dl->items[i].level == DIAG_WARNING ? warnings_at : LOG_LEVEL_ERROR;

		/* a million domains can carry a quarter of a million warnings: the log gets the first ones */
		if (dl->items[i].level == DIAG_WARNING && ++warnings > DIAG_LOG_MAX_WARNINGS)
			continue;
		diag_format(dl, i, line, sizeof(line));
		log_at[level]("%s%s", prefix, line);
	}
	if (warnings > DIAG_LOG_MAX_WARNINGS)
		log_at[warnings_at]("%s%s: … and %zu more warnings (mtastsd check lists every one)", prefix,
		    dl->file ? dl->file : "", warnings - DIAG_LOG_MAX_WARNINGS);
}
