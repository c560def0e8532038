/* SPDX-License-Identifier: MIT */
/* util: allocation wrappers that abort on exhaustion, and small string helpers. */
#include "util.h"
#include "vec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
xoom(void)
{
	static const char msg[] = "mtastsd: out of memory\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		xoom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		xoom();
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		xoom();
	p = realloc(p, (n * size) != 0 ? n * size : 1);
	if (p == NULL)
		xoom();
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char small[256];
	va_list cp;
	int n;
	char *p;

	/* one formatting pass for the short strings of the load path; a second only when it did not fit */
	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		xoom();
	p = xmalloc((size_t)n + 1);
	if ((size_t)n < sizeof(small))
		memcpy(p, small, (size_t)n + 1);
	else
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
xstrcat(const char *first, ...)
{
	va_list ap;
	size_t len = 0;
	char *p, *out;

	va_start(ap, first);
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
		len += strlen(s);
	va_end(ap);
	out = p = xmalloc(len + 1);
	va_start(ap, first);
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *)) {
		size_t n = strlen(s);

		memcpy(p, s, n);
		p += n;
	}
	va_end(ap);
	*p = '\0';
	return out;
}

void
mem_give_back(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
	VEC_RESERVE(b->data, b->cap, b->len + n + 1, 64);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	va_list ap;
	int n;

	/* straight into the spare room; formatted a second time only when the buffer had to grow */
	va_start(ap, fmt);
	n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		xoom();
	if ((size_t)n >= room) {
		VEC_RESERVE(b->data, b->cap, b->len + (size_t)n + 1, 64);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
buf_putu(struct buf *b, unsigned long long v)
{
	char d[24];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_append(b, d + i, sizeof(d) - i);
}

void
buf_clear(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
str_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static char
fold(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool
str_eq_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fold(a[i]) != fold(b[i]))
			return false;
	return true;
}

bool
str_has_prefix_ci(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strnlen(s, n) == n && str_eq_ci(s, prefix, n);
}

int
read_file_max(const char *path, size_t max, char **out, size_t *len, struct stat *st_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return read_fd_max(fd, max, out, len, st_out);
}

int
read_fd_max(int fd, size_t max, char **out, size_t *len, struct stat *st_out)
{
	struct stat st;
	struct buf b = {0};
	ssize_t n;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (st.st_size > 0 && (uintmax_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	/*
	 * Sized from fstat, with a byte to spare: one allocation and one read. A
	 * regular file read up to its size is done (a file still being written is
	 * caught by the next stat); anything else is read until the end.
	 */
	b.cap = (size_t)(st.st_size > 0 ? st.st_size : 0) + 2;
	b.data = xmalloc(b.cap);
	b.data[0] = '\0';
	for (;;) {
		if (b.len + 1 == b.cap) {
			if (b.len >= max) {
				errno = EFBIG;
				goto fail;
			}
			b.cap = b.cap * 2 < 4096 ? 4096 : b.cap * 2;
			b.data = xreallocarray(b.data, b.cap, 1);
		}
		n = read(fd, b.data + b.len, b.cap - 1 - b.len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		b.len += (size_t)n;
		if (b.len > max) {
			errno = EFBIG;
			goto fail;
		}
		if (S_ISREG(st.st_mode) && st.st_size > 0 && b.len == (size_t)st.st_size)
			break;
	}
	close(fd);
	b.data[b.len] = '\0';
	*out = b.data;
	if (len)
		*len = b.len;
	if (st_out)
		*st_out = st;
	return 0;
fail:;
	int saved = errno;

	close(fd);
	buf_clear(&b);
	errno = saved;
	return -1;
}

int
read_file(const char *path, char **out, size_t *len)
{
	return read_file_max(path, SIZE_MAX - 1, out, len, NULL);
}

char *
path_join(const char *dir, const char *path)
{
	if (path[0] == '/' || dir == NULL || dir[0] == '\0')
		return xstrdup(path);
	return xasprintf("%s/%s", dir, path);
}

char *
path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int
str_digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int
utc_from_mdhms(int64_t year, const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int mo = str_digits(s, 2), d = str_digits(s + 2, 2), h = str_digits(s + 4, 2), mi = str_digits(s + 6, 2),
	    sec = str_digits(s + 8, 2);

	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
	    sec > 59)
		return -1;
	if (mo == 2 && d == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return -1;
	*out = days_from_civil(year, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
}

unsigned long long
mem_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	unsigned long long h = 0x9e3779b97f4a7c15ULL ^ n, w;

	/* eight bytes a step (paths and names are 20-40 bytes), a multiply and a shift to spread them */
	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	/* murmur3's finaliser: every input bit reaches the low bits a table indexes by */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

unsigned long long
str_hash(const char *s)
{
	return mem_hash(s, strlen(s));
}
