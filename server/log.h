/* SPDX-License-Identifier: MIT */
/* log: one line per event on stderr, "TS LEVEL msg key=value ...", never key material. */
#ifndef MTASTSD_LOG_H
#define MTASTSD_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/*
 * Messages below LEVEL are dropped before their arguments are formatted.
 * log_set_level is the configuration's log.level, applied at start-up and by
 * every reload; it is ignored once log_force_level (the command line's -v)
 * has set the level. Any thread may log while another sets the level.
 */
void log_set_level(enum log_level level);
void log_force_level(enum log_level level);
bool log_enabled(enum log_level level);

/* The level named NAME ("debug", "info", "warn" or "error", as the lines say). Returns 0 or -1. */
int log_level_parse(const char *name, enum log_level *out);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends strerror(errno); log_warnx does not. errno is preserved. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A request line for the access log (level "access"), written whole with one write. */
void log_access(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit(1): start-up only, never on the reload or request paths. */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
