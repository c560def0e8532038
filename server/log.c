/* SPDX-License-Identifier: MIT */
/* log: one line per event on stderr, "TS LEVEL msg key=value ...", never key material. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* read by every thread that logs, set by the reload loop: atomic, relaxed (a level, not a fence) */
static atomic_int min_level = LOG_LEVEL_INFO;
static atomic_bool forced;

void
log_set_level(enum log_level level)
{
	if (!atomic_load_explicit(&forced, memory_order_relaxed))
		atomic_store_explicit(&min_level, (int)level, memory_order_relaxed);
}

void
log_force_level(enum log_level level)
{
	atomic_store_explicit(&forced, true, memory_order_relaxed);
	atomic_store_explicit(&min_level, (int)level, memory_order_relaxed);
}

bool
log_enabled(enum log_level level)
{
	return (int)level >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

int
log_level_parse(const char *name, enum log_level *out)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

static void
vlog(const char *level, const char *fmt, va_list ap, const char *suffix)
{
	char line[4096];
	struct timespec ts;
	struct tm tm;
	int n, saved = errno;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    ts.tv_nsec / 1000000, level);
	if (n > 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (suffix && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", suffix);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write per line so concurrent threads never interleave inside a line */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
	errno = saved;
}

#define LOGFN(name, lvl, label, suffix)                 \
	void name(const char *fmt, ...)                 \
	{                                               \
		va_list ap;                             \
		if (!log_enabled(lvl))                  \
			return;                         \
		va_start(ap, fmt);                      \
		vlog(label, fmt, ap, suffix);           \
		va_end(ap);                             \
	}

LOGFN(log_debug, LOG_LEVEL_DEBUG, "debug", NULL)
LOGFN(log_info, LOG_LEVEL_INFO, "info", NULL)
LOGFN(log_warnx, LOG_LEVEL_WARN, "warn", NULL)
LOGFN(log_error, LOG_LEVEL_ERROR, "error", NULL)
LOGFN(log_access, LOG_LEVEL_ERROR, "access", NULL)

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	if (!log_enabled(LOG_LEVEL_WARN))
		return;
	va_start(ap, fmt);
	vlog("warn", fmt, ap, e);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
