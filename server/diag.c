/* SPDX-License-Identifier: MIT */
/* diag: a list of positioned diagnostics (errors and warnings) collected while reading input. */
#include "diag.h"
#include "util.h"

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
diag_free(struct diag_list *dl)
{
	for (size_t i = 0; i < dl->n; i++)
		free(dl->items[i].msg);
	free(dl->items);
	free(dl->file);
	memset(dl, 0, sizeof(*dl));
}

/* Room for one more entry at dl->items[dl->n]. */
static void
reserve(struct diag_list *dl)
{
	if (dl->n == dl->cap) {
		dl->cap = dl->cap ? dl->cap * 2 : 8;
		dl->items = xreallocarray(dl->items, dl->cap, sizeof(*dl->items));
	}
}

void
diag_add(struct diag_list *dl, enum diag_level level, int line, int col, const char *fmt, ...)
{
	va_list ap;

	reserve(dl);
	va_start(ap, fmt);
	dl->items[dl->n].msg = xvasprintf(fmt, ap);
	va_end(ap);
	dl->items[dl->n].level = level;
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
diag_take(struct diag_list *dst, struct diag_list *src)
{
	for (size_t i = 0; i < src->n; i++) {
		reserve(dst);
		dst->items[dst->n] = src->items[i];
		dst->items[dst->n].seq = dst->n;
		dst->n++;
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

	if (d->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s%s", dl->file, d->line, d->col, level_prefix(d->level), d->msg);
	else
		snprintf(buf, len, "%s: %s%s", dl->file, level_prefix(d->level), d->msg);
}

void
diag_print(const struct diag_list *dl, FILE *out)
{
	/* straight to OUT, not through a buffer: a message quoting a long value is printed whole */
	for (size_t i = 0; i < dl->n; i++) {
		const struct diag *d = &dl->items[i];

		if (d->line > 0)
			fprintf(out, "%s:%d:%d: %s%s\n", dl->file, d->line, d->col, level_prefix(d->level), d->msg);
		else
			fprintf(out, "%s: %s%s\n", dl->file, level_prefix(d->level), d->msg);
	}
}
