/* SPDX-License-Identifier: MIT */
/* util: allocation wrappers that abort on exhaustion, and small string helpers. */
#ifndef MTASTSD_UTIL_H
#define MTASTSD_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* The strings FIRST, ... concatenated (the list ends with NULL): what "%s%s%s" costs without printf. */
char *xstrcat(const char *first, ...) __attribute__((sentinel));

/*
 * Give the memory freed since the last call back to the system, after a big
 * free (a snapshot, a publication's texts): without it glibc keeps freed
 * pages resident, and memory after a few reloads settles at twice the
 * start-up figure. A no-op where the C library has no such call.
 */
void mem_give_back(void);

/* Out of memory: say so on stderr and abort (what the x* allocators do). */
_Noreturn void xoom(void);

/* A growable byte buffer; data is always NUL-terminated. */
struct buf {
	char *data;
	size_t len, cap;
};
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* V in decimal, without printf: the numbers of large texts (zone, state). */
void buf_putu(struct buf *b, unsigned long long v);
/* Free B's data; B is left empty ({0}) and may be appended to again. */
void buf_clear(struct buf *b);

/* ASCII-only case folding, independent of the locale. */
void str_lower(char *s);
bool str_has_prefix_ci(const char *s, const char *prefix);
/* The first N bytes of A and B are equal, ASCII letters compared without case. */
bool str_eq_ci(const char *a, const char *b, size_t n);

/* Read a whole file into a NUL-terminated buffer; -1 with errno set on failure. */
int read_file(const char *path, char **out, size_t *len);
/*
 * The same, refusing a file larger than MAX bytes (-1 with errno EFBIG), and
 * the open file's stat in *ST when ST is not NULL.
 */
struct stat;
int read_file_max(const char *path, size_t max, char **out, size_t *len, struct stat *st);
/* The same from FD (open for reading; -1 fails with errno as it is), which is closed in every case. */
int read_fd_max(int fd, size_t max, char **out, size_t *len, struct stat *st);

/* Join DIR and PATH unless PATH is absolute; result owned by the caller. */
char *path_join(const char *dir, const char *path);
/* The folder part of PATH ("." when there is none); result owned by the caller. */
char *path_dirname(const char *path);

/* The N decimal digits at S as a number, or -1 when one is not a digit. */
int str_digits(const char *s, size_t n);
/* The value of the hexadecimal digit C (either case), or -1 when it is not one. */
int hex_digit(char c);
/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
/*
 * Seconds since the epoch of the UTC time YEAR plus "MMDDhhmmss" at S (two
 * digits each): 0 and *OUT, or -1 when a digit is missing or that date or
 * time does not exist (leap years counted; no leap seconds).
 */
int utc_from_mdhms(int64_t year, const char *s, int64_t *out);

/* A fast 64-bit hash of N bytes at P, for hash tables (not for anything stored or compared across runs). */
unsigned long long mem_hash(const void *p, size_t n);
/* mem_hash of a string. */
unsigned long long str_hash(const char *s);

#endif
