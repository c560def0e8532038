/* SPDX-License-Identifier: MIT */
/* Unit tests for util: allocation and string helpers, the byte buffer, file reading, paths, dates, hashing. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

Test(util, strdup_and_asprintf)
{
	char *s = xstrdup("abc"), *t = xstrndup("abcdef", 3), *u = xasprintf("%s-%d", "x", 42);

	cr_expect_str_eq(s, "abc");
	cr_expect_str_eq(t, "abc");
	cr_expect_str_eq(u, "x-42");
	free(s);
	free(t);
	free(u);
	/* longer than any stack buffer */
	char big[20000];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	u = xasprintf("<%s>", big);
	cr_expect_eq(strlen(u), sizeof(big) + 1);
	cr_expect_eq(u[0], '<');
	cr_expect_eq(u[sizeof(big)], '>');
	free(u);
	/* zero-sized requests still give a pointer to free */
	free(xmalloc(0));
	free(xcalloc(0, 0));
	free(xreallocarray(NULL, 0, 8));
	/* calloc's memory is zeroed; reallocarray keeps the contents */
	int *z = xcalloc(100, sizeof(int));
	for (int i = 0; i < 100; i++)
		cr_expect_eq(z[i], 0);
	z[99] = 7;
	z = xreallocarray(z, 1000, sizeof(int));
	cr_expect_eq(z[99], 7);
	free(z);
}

/* An array size that overflows size_t is refused (abort), never allocated short. */
Test(util, reallocarray_overflow_aborts, .signal = SIGABRT)
{
	(void)xreallocarray(NULL, SIZE_MAX / 2 + 1, 2);
}

Test(util, buf_appends_and_stays_terminated)
{
	struct buf b = {0};

	buf_append(&b, "", 0);
	cr_assert_not_null(b.data);
	cr_expect_str_eq(b.data, "");
	buf_puts(&b, "ab");
	buf_append(&b, "c\0d", 3);	/* bytes, NULs included */
	buf_printf(&b, "%03d", 7);
	cr_expect_eq(b.len, 8);
	cr_expect_eq(memcmp(b.data, "abc\0d007", 9), 0);
	for (int i = 0; i < 10000; i++)
		buf_puts(&b, "0123456789");
	cr_expect_eq(b.len, 8 + 100000);
	cr_expect_eq(b.data[b.len], '\0');
	cr_expect(b.cap > b.len);
	cr_expect_eq(memcmp(b.data + b.len - 10, "0123456789", 10), 0);
	buf_clear(&b);
	cr_expect_null(b.data);
	cr_expect_eq(b.len + b.cap, 0);
	buf_puts(&b, "again");
	cr_expect_str_eq(b.data, "again");
	buf_clear(&b);
}

/* buf_printf formats into the spare room, and again after growing when it did not fit; each exactly once. */
Test(util, buf_printf_fits_grows_and_appends)
{
	struct buf b = {0};
	char big[1000], want[2100];

	buf_printf(&b, "%s", "");		/* an empty buffer: data exists, empty */
	cr_assert_not_null(b.data);
	cr_expect_eq(b.len, 0);
	buf_printf(&b, "%d-%s", 12, "ab");	/* fits the first allocation */
	cr_expect_str_eq(b.data, "12-ab");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 2; i++)		/* each past the room: grown and formatted again */
		buf_printf(&b, "[%s]", big);
	snprintf(want, sizeof(want), "12-ab[%s][%s]", big, big);
	cr_expect_eq(b.len, strlen(want));
	cr_expect_str_eq(b.data, want);
	/* exactly filling the room leaves the terminator inside the buffer */
	b.len = 0;
	while (b.cap - b.len > 2)
		buf_puts(&b, "y");
	buf_printf(&b, "%c", 'z');
	cr_expect_eq(b.data[b.len - 1], 'z');
	cr_expect_eq(b.data[b.len], '\0');
	cr_expect(b.cap > b.len);
	buf_clear(&b);
}

Test(util, buf_putu_and_xstrcat)
{
	struct buf b = {0};
	char *s;

	buf_putu(&b, 0);
	buf_puts(&b, " ");
	buf_putu(&b, 604800);
	buf_puts(&b, " ");
	buf_putu(&b, 18446744073709551615ULL);
	cr_expect_str_eq(b.data, "0 604800 18446744073709551615");
	buf_clear(&b);
	s = xstrcat("only", NULL);
	cr_expect_str_eq(s, "only");
	free(s);
	s = xstrcat("", NULL);
	cr_expect_str_eq(s, "");
	free(s);
	s = xstrcat("_mta-sts.", "example.com", ".", "", "zone.example", ".", NULL);
	cr_expect_str_eq(s, "_mta-sts.example.com.zone.example.");
	free(s);
}

Test(util, ascii_case_folding)
{
	char s[] = "MTA-STS.Example.COM \xc3\x89";

	str_lower(s);
	cr_expect_str_eq(s, "mta-sts.example.com \xc3\x89", "only ASCII letters fold");
	cr_expect(str_eq_ci("HeLLo", "hello", 5));
	cr_expect(str_eq_ci("Hello", "help", 3));
	cr_expect(!str_eq_ci("Hello", "help", 4));
	cr_expect(!str_eq_ci("[", "{", 1), "not folded by a bit flip outside letters");
	cr_expect(!str_eq_ci("@", "`", 1));
	cr_expect(str_has_prefix_ci("Mta-Sts.example.com", "MTA-STS."));
	cr_expect(str_has_prefix_ci("abc", ""));
	cr_expect(!str_has_prefix_ci("mta", "mta-sts."), "shorter than the prefix");
	cr_expect(!str_has_prefix_ci("mtb-sts.x", "mta-sts."));
}

Test(util, str_digits)
{
	cr_expect_eq(str_digits("0042", 4), 42);
	cr_expect_eq(str_digits("2026x", 4), 2026);
	cr_expect_eq(str_digits("20a6", 4), -1);
	cr_expect_eq(str_digits("-1", 2), -1);
	cr_expect_eq(str_digits("", 0), 0);
}

Test(util, dates)
{
	int64_t t;

	cr_expect_eq(days_from_civil(1970, 1, 1), 0);
	cr_expect_eq(days_from_civil(1969, 12, 31), -1);
	cr_expect_eq(days_from_civil(2000, 3, 1), 11017);
	cr_expect_eq(days_from_civil(1600, 1, 1), -135140);
	cr_assert_eq(utc_from_mdhms(2026, "1203144632", &t), 0);
	cr_expect_eq(t, 1796309192);
	cr_assert_eq(utc_from_mdhms(1970, "0101000000", &t), 0);
	cr_expect_eq(t, 0);
	/* leap years: every 4th, not every 100th, every 400th */
	cr_expect_eq(utc_from_mdhms(2024, "0229000000", &t), 0);
	cr_expect_eq(utc_from_mdhms(2000, "0229000000", &t), 0);
	cr_expect_eq(utc_from_mdhms(1900, "0229000000", &t), -1);
	cr_expect_eq(utc_from_mdhms(2026, "0229000000", &t), -1);
	/* dates and times that do not exist */
	static const char *bad[] = { "0001000000", "1301000000", "0431000000", "0100000000", "0101240000",
		"0101006000", "0101000060", "01010000x0", "0132000000" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(utc_from_mdhms(2026, bad[i], &t), -1, "%s", bad[i]);
	cr_assert_eq(utc_from_mdhms(2026, "1231235959", &t), 0);
	cr_expect_eq(t, days_from_civil(2027, 1, 1) * 86400 - 1);
}

Test(util, paths)
{
	static const struct { const char *in, *dir; } dn[] = {
		{ "a/b/c", "a/b" }, { "/a", "/" }, { "a", "." }, { "/", "/" }, { "a/", "a" }, { "/x/y.pem", "/x" },
	};
	for (size_t i = 0; i < sizeof(dn) / sizeof(dn[0]); i++) {
		char *d = path_dirname(dn[i].in);
		cr_expect_str_eq(d, dn[i].dir, "path_dirname(%s)", dn[i].in);
		free(d);
	}
	static const struct { const char *dir, *path, *out; } pj[] = {
		{ "/etc/mtastsd", "certs", "/etc/mtastsd/certs" },
		{ "/etc/mtastsd", "/var/lib/x", "/var/lib/x" },
		{ NULL, "rel", "rel" },
		{ "", "rel", "rel" },
	};
	for (size_t i = 0; i < sizeof(pj) / sizeof(pj[0]); i++) {
		char *j = path_join(pj[i].dir, pj[i].path);
		cr_expect_str_eq(j, pj[i].out);
		free(j);
	}
}

static char tmp[64];

static void
mktmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test_util.XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
}

static void
rmtmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

static void
write_file(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

Test(util, read_file_whole_terminated_and_bounded, .init = mktmp, .fini = rmtmp)
{
	char path[128], *data = NULL;
	size_t len = 0;
	struct stat st;

	snprintf(path, sizeof(path), "%s/f", tmp);
	write_file(path, "one\0two", 7);
	cr_assert_eq(read_file(path, &data, &len), 0);
	cr_expect_eq(len, 7);
	cr_expect_eq(memcmp(data, "one\0two", 8), 0, "NUL-terminated after the data");
	free(data);
	cr_assert_eq(read_file_max(path, 7, &data, &len, &st), 0, "exactly MAX bytes is allowed");
	cr_expect_eq(st.st_size, 7);
	free(data);
	errno = 0;
	cr_expect_eq(read_file_max(path, 6, &data, &len, NULL), -1);
	cr_expect_eq(errno, EFBIG);
	/* empty file */
	write_file(path, "", 0);
	cr_assert_eq(read_file(path, &data, &len), 0);
	cr_expect_eq(len, 0);
	cr_expect_str_eq(data, "");
	free(data);
	/* a missing file fails with open's errno */
	snprintf(path, sizeof(path), "%s/missing", tmp);
	errno = 0;
	cr_expect_eq(read_file(path, &data, &len), -1);
	cr_expect_eq(errno, ENOENT);
}

/* Not a regular file (size 0 to fstat): read to the end, and bounded all the same. */
Test(util, read_fd_from_a_pipe)
{
	int p[2];
	char *data = NULL;
	size_t len = 0, n = 100000;
	char *big = malloc(n);

	cr_assert_not_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		for (size_t off = 0; off < n;) {
			ssize_t w = write(p[1], big + off, n - off);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(read_fd_max(p[0], n, &data, &len, NULL), 0);
	cr_expect_eq(len, n);
	cr_expect_eq(memcmp(data, big, n), 0);
	cr_expect_eq(data[n], '\0');
	free(data);

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		(void)!write(p[1], big, 5000);
		_exit(0);
	}
	close(p[1]);
	errno = 0;
	cr_expect_eq(read_fd_max(p[0], 4999, &data, &len, NULL), -1);
	cr_expect_eq(errno, EFBIG);
	errno = 0;
	cr_expect_eq(read_fd_max(-1, 10, &data, &len, NULL), -1, "a failed open is passed on");
	free(big);
}

Test(util, hash_depends_on_every_byte_and_the_length)
{
	char a[64], b[64];

	memset(a, 'k', sizeof(a));
	memcpy(b, a, sizeof(b));
	cr_expect_eq(mem_hash(a, 40), mem_hash(b, 40));
	cr_expect_eq(str_hash("mta-sts.example.com"), mem_hash("mta-sts.example.com", 19));
	for (size_t n = 1; n <= sizeof(a); n++)
		for (size_t i = 0; i < n; i++) {
			b[i] ^= 1;
			cr_expect_neq(mem_hash(a, n), mem_hash(b, n), "byte %zu of %zu", i, n);
			b[i] ^= 1;
		}
	/* a zero byte more is another key (the length is hashed) */
	memset(a, 0, sizeof(a));
	for (size_t n = 0; n < 16; n++)
		cr_expect_neq(mem_hash(a, n), mem_hash(a, n + 1), "%zu zero bytes", n);
	/* the low bits a table indexes by spread: 4096 names over 64 buckets, none empty */
	unsigned counts[64] = { 0 };
	for (int i = 0; i < 4096; i++) {
		char name[32];
		snprintf(name, sizeof(name), "d%d.example.com", i);
		counts[str_hash(name) & 63]++;
	}
	for (int i = 0; i < 64; i++)
		cr_expect(counts[i] > 20 && counts[i] < 120, "bucket %d has %u", i, counts[i]);
}
