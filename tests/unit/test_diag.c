/* SPDX-License-Identifier: MIT */
/* Unit tests for diag: counting, moving, sorting, formatting and printing positioned diagnostics. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"

/* What PRINT (diag_print or diag_print_errors) writes of DL, as a string the caller frees. */
static char *
printed_by(void (*print)(const struct diag_list *, FILE *), const struct diag_list *dl)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	cr_assert_not_null(f);
	print(dl, f);
	cr_assert_eq(fclose(f), 0);
	return s;
}

static char *
printed(const struct diag_list *dl)
{
	return printed_by(diag_print, dl);
}

/* What diag_log writes to stderr, each line without its time stamp, in BUF. */
static void
logged(const struct diag_list *dl, const char *prefix, enum log_level warnings_at, char *buf, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n, o = 0;
	char raw[16384];

	cr_assert_not_null(tmp);
	cr_assert_geq(saved, 0);
	cr_assert_geq(dup2(fileno(tmp), STDERR_FILENO), 0);
	diag_log(dl, prefix, warnings_at);
	cr_assert_geq(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	rewind(tmp);
	n = fread(raw, 1, sizeof(raw) - 1, tmp);
	raw[n] = '\0';
	fclose(tmp);
	/* each line is "TIME LEVEL message": drop TIME */
	for (char *line = raw, *nl; *line != '\0'; line = nl + 1) {
		char *sp = strchr(line, ' ');

		nl = strchr(line, '\n');
		cr_assert_not_null(nl);
		cr_assert(sp != NULL && sp < nl);
		o += (size_t)snprintf(buf + o, len - o, "%.*s", (int)(nl - sp), sp + 1);
		cr_assert_lt(o, len);
	}
	buf[o] = '\0';
}

Test(diag, counts_each_level)
{
	struct diag_list dl;

	diag_init(&dl, "a.yaml");
	diag_add(&dl, DIAG_ERROR, 1, 2, "e%d", 1);
	diag_add(&dl, DIAG_WARNING, 3, 4, "w");
	diag_add(&dl, DIAG_UNSERVED, 0, 0, "u");
	diag_add(&dl, DIAG_ERROR, 5, 6, "e2");
	cr_expect_eq(dl.n, 4);
	cr_expect_eq(dl.errors, 2);
	cr_expect_eq(dl.warnings, 1);
	cr_expect_eq(dl.unserved, 1);
	cr_expect_str_eq(dl.items[0].msg, "e1");
	diag_clear(&dl);
	cr_expect_eq(dl.n, 0);
	cr_expect_null(dl.items);
	cr_expect_null(dl.file);
}

Test(diag, a_list_without_a_file_name_is_dash)
{
	struct diag_list dl;
	char *out;

	diag_init(&dl, NULL);
	diag_add(&dl, DIAG_ERROR, 0, 0, "no file");
	out = printed(&dl);
	cr_expect_str_eq(out, "-: no file\n");
	free(out);
	diag_clear(&dl);
}

Test(diag, format_and_print_agree_on_every_level)
{
	struct diag_list dl;
	char line[256], *out;

	diag_init(&dl, "m.yaml");
	diag_add(&dl, DIAG_ERROR, 7, 3, "bad key");
	diag_add(&dl, DIAG_WARNING, 8, 1, "odd key");
	diag_add(&dl, DIAG_UNSERVED, 0, 0, "no certificate for %s", "mta-sts.example.com");
	diag_format(&dl, 0, line, sizeof(line));
	cr_expect_str_eq(line, "m.yaml:7:3: bad key");
	diag_format(&dl, 1, line, sizeof(line));
	cr_expect_str_eq(line, "m.yaml:8:1: warning: odd key");
	diag_format(&dl, 2, line, sizeof(line));
	cr_expect_str_eq(line, "m.yaml: not served: no certificate for mta-sts.example.com");
	/* diag_format cuts to the buffer it is given, NUL-terminated */
	diag_format(&dl, 0, line, 8);
	cr_expect_str_eq(line, "m.yaml:");
	out = printed(&dl);
	cr_expect_str_eq(out, "m.yaml:7:3: bad key\nm.yaml:8:1: warning: odd key\n"
	    "m.yaml: not served: no certificate for mta-sts.example.com\n");
	free(out);
	diag_clear(&dl);
}

/* A message quoting a long value (a path, a YAML scalar) is printed whole, not cut at 4 KiB. */
Test(diag, print_does_not_cut_a_long_message)
{
	struct diag_list dl;
	size_t n = 10000;
	char *big = malloc(n + 1), *out, *want;

	cr_assert_not_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	diag_init(&dl, "long.yaml");
	diag_add(&dl, DIAG_ERROR, 12, 5, "value %s is too long", big);
	diag_add(&dl, DIAG_WARNING, 0, 0, "%s", big);
	out = printed(&dl);
	want = malloc(2 * n + 100);
	cr_assert_not_null(want);
	snprintf(want, 2 * n + 100, "long.yaml:12:5: value %s is too long\nlong.yaml: warning: %s\n", big, big);
	cr_expect_eq(strlen(out), strlen(want));
	cr_expect_str_eq(out, want);
	free(want);
	free(out);
	free(big);
	diag_clear(&dl);
}

Test(diag, sort_by_position_keeps_insertion_order_on_ties)
{
	struct diag_list dl;

	diag_init(&dl, "s.yaml");
	diag_add(&dl, DIAG_ERROR, 9, 1, "d");
	diag_add(&dl, DIAG_ERROR, 2, 5, "b");
	diag_add(&dl, DIAG_WARNING, 2, 5, "c");	/* same position as b: stays after it */
	diag_add(&dl, DIAG_ERROR, 2, 1, "a");
	diag_add(&dl, DIAG_UNSERVED, 0, 0, "none");	/* no position: first */
	for (int i = 0; i < 20; i++)
		diag_add(&dl, DIAG_ERROR, 5, 0, "tie%02d", i);
	diag_sort(&dl);
	cr_expect_str_eq(dl.items[0].msg, "none");
	cr_expect_str_eq(dl.items[1].msg, "a");
	cr_expect_str_eq(dl.items[2].msg, "b");
	cr_expect_str_eq(dl.items[3].msg, "c");
	for (int i = 0; i < 20; i++) {
		char want[8];
		snprintf(want, sizeof(want), "tie%02d", i);
		cr_expect_str_eq(dl.items[4 + i].msg, want);
	}
	cr_expect_str_eq(dl.items[24].msg, "d");
	cr_expect_eq(dl.errors, 23);
	diag_clear(&dl);
}

Test(diag, take_moves_entries_and_counts)
{
	struct diag_list a, b;

	diag_init(&a, "a");
	diag_init(&b, "b");
	diag_add(&a, DIAG_ERROR, 1, 1, "a1");
	for (int i = 0; i < 30; i++)	/* past the first growth of A */
		diag_add(&b, i % 2 ? DIAG_WARNING : DIAG_UNSERVED, i + 1, 1, "b%d", i);
	diag_take(&a, &b);
	cr_expect_eq(a.n, 31);
	cr_expect_eq(a.errors, 1);
	cr_expect_eq(a.warnings, 15);
	cr_expect_eq(a.unserved, 15);
	cr_expect_str_eq(a.items[1].msg, "b0");
	cr_expect_str_eq(a.items[30].msg, "b29");
	cr_expect_eq(b.n, 0);
	cr_expect_eq(b.errors + b.warnings + b.unserved, 0);
	cr_expect_str_eq(b.file, "b", "the source keeps its file name");
	/* the moved entries keep naming their file, and sort after A's own */
	diag_add(&a, DIAG_ERROR, 1, 1, "a2");
	diag_sort(&a);
	cr_expect_str_eq(a.items[0].msg, "a1");
	cr_expect_str_eq(a.items[1].msg, "a2");
	cr_expect_str_eq(a.items[2].msg, "b0");
	{
		char line[64];
		diag_format(&a, 0, line, sizeof(line));
		cr_expect_str_eq(line, "a:1:1: a1");
		diag_format(&a, 2, line, sizeof(line));
		cr_expect_str_eq(line, "b:1:1: not served: b0");
	}
	/* and the emptied source is usable again */
	diag_add(&b, DIAG_ERROR, 0, 0, "again");
	cr_expect_eq(b.n, 1);
	cr_expect_eq(b.errors, 1);
	diag_clear(&a);
	diag_clear(&b);
}

Test(diag, entries_about_other_files_name_them_and_sort_by_file)
{
	struct diag_list main, t, copy;
	char line[128];
	FILE *f;
	char *out = NULL;
	size_t len = 0;

	diag_init(&main, "main.yaml");
	diag_init(&t, "domains.d/b.yaml");
	diag_add(&t, DIAG_ERROR, 3, 7, "bad mode");
	diag_add_in(&main, "domains.d/z.yaml", DIAG_UNSERVED, 2, 1, "z");
	diag_add_in(&main, "domains.d/a.yaml", DIAG_WARNING, 9, 1, "a");
	diag_add_in(&main, "main.yaml", DIAG_ERROR, 5, 2, "own, named");
	diag_add(&main, DIAG_ERROR, 8, 1, "own");
	diag_copy(&main, &t);
	cr_expect_eq(t.n, 1, "a copy leaves the source as it was");
	cr_expect_eq(main.n, 5);
	cr_expect_eq(main.errors, 3);
	cr_expect_eq(main.unserved, 1);
	diag_sort(&main);
	diag_format(&main, 0, line, sizeof(line));
	cr_expect_str_eq(line, "main.yaml:5:2: own, named");
	diag_format(&main, 1, line, sizeof(line));
	cr_expect_str_eq(line, "main.yaml:8:1: own");
	diag_format(&main, 2, line, sizeof(line));
	cr_expect_str_eq(line, "domains.d/a.yaml:9:1: warning: a");
	diag_format(&main, 3, line, sizeof(line));
	cr_expect_str_eq(line, "domains.d/b.yaml:3:7: bad mode");
	diag_format(&main, 4, line, sizeof(line));
	cr_expect_str_eq(line, "domains.d/z.yaml:2:1: not served: z");
	f = open_memstream(&out, &len);
	diag_print(&main, f);
	fclose(f);
	cr_expect(strstr(out, "domains.d/b.yaml:3:7: bad mode\n") != NULL, "printed: %s", out);
	free(out);
	diag_init(&copy, "domains.d/b.yaml");
	diag_copy(&copy, &main);
	diag_format(&copy, 3, line, sizeof(line));
	cr_expect_str_eq(line, "domains.d/b.yaml:3:7: bad mode", "an entry about the list's own file is its own again");
	diag_clear(&copy);
	diag_clear(&t);
	diag_clear(&main);
}

/* One line per entry after the prefix; warnings at the level asked for, the rest as errors. */
Test(diag, log_writes_each_entry_at_its_level)
{
	struct diag_list dl;
	char out[4096];

	diag_init(&dl, "m.yaml");
	diag_add(&dl, DIAG_ERROR, 7, 3, "bad key");
	diag_add(&dl, DIAG_WARNING, 8, 1, "odd key");
	diag_add_in(&dl, "t.yaml", DIAG_UNSERVED, 0, 0, "no certificate");
	logged(&dl, "", LOG_LEVEL_WARN, out, sizeof(out));
	cr_expect_str_eq(out, "error m.yaml:7:3: bad key\nwarn m.yaml:8:1: warning: odd key\n"
	    "error t.yaml: not served: no certificate\n");
	logged(&dl, "dns publish: ", LOG_LEVEL_ERROR, out, sizeof(out));
	cr_expect_str_eq(out, "error dns publish: m.yaml:7:3: bad key\nerror dns publish: m.yaml:8:1: warning: odd key\n"
	    "error dns publish: t.yaml: not served: no certificate\n");
	diag_clear(&dl);
	logged(&dl, "", LOG_LEVEL_WARN, out, sizeof(out));
	cr_expect_str_eq(out, "", "an empty list logs nothing");
}

Test(diag, print_errors_leaves_out_warnings_and_unserved)
{
	struct diag_list dl;
	char *out;

	diag_init(&dl, "m.yaml");
	diag_add(&dl, DIAG_WARNING, 1, 1, "odd key");
	diag_add(&dl, DIAG_ERROR, 2, 3, "bad key");
	diag_add(&dl, DIAG_UNSERVED, 0, 0, "no certificate");
	diag_add(&dl, DIAG_ERROR, 0, 0, "no domains");
	out = printed_by(diag_print_errors, &dl);
	cr_expect_str_eq(out, "m.yaml:2:3: bad key\nm.yaml: no domains\n");
	free(out);
	diag_clear(&dl);
}

/* The log gets the first DIAG_LOG_MAX_WARNINGS warnings and a count of the rest; every error, wherever it is. */
Test(diag, log_cuts_a_flood_of_warnings_never_an_error)
{
	struct diag_list dl;
	char buf[16384], want[128];
	size_t lines = 0, warns = 0;

	diag_init(&dl, "big.yaml");
	for (int i = 0; i < DIAG_LOG_MAX_WARNINGS + 50; i++)
		diag_add(&dl, DIAG_WARNING, i + 1, 1, "w%d", i);
	diag_add(&dl, DIAG_ERROR, 9999, 1, "late error");
	logged(&dl, "", LOG_LEVEL_WARN, buf, sizeof(buf));
	for (const char *p = buf; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	for (const char *p = buf; (p = strstr(p, ": warning: w")) != NULL; p++)
		warns++;
	cr_expect_eq(warns, DIAG_LOG_MAX_WARNINGS, "%zu warnings logged", warns);
	cr_expect(strstr(buf, "big.yaml:9999:1: late error") != NULL, "%s", buf);
	snprintf(want, sizeof(want), "big.yaml: … and 50 more warnings (mtastsd check lists every one)\n");
	cr_expect(strstr(buf, want) != NULL, "%s", buf + strlen(buf) - 200);
	cr_expect_eq(lines, DIAG_LOG_MAX_WARNINGS + 2);
	/* under the limit nothing is cut and no count is logged */
	diag_clear(&dl);
	diag_init(&dl, "small.yaml");
	diag_add(&dl, DIAG_WARNING, 1, 1, "only");
	logged(&dl, "", LOG_LEVEL_WARN, buf, sizeof(buf));
	cr_expect(strstr(buf, "more warnings") == NULL, "%s", buf);
	diag_clear(&dl);
}

/* More than one write's worth (64 KiB): every entry once, whole, in order, and errors alone when asked. */
Test(diag, a_long_list_prints_every_entry_in_order)
{
	struct diag_list dl;
	char *out, *p, want[64];
	size_t lines = 0;

	diag_init(&dl, "big.yaml");
	for (int i = 0; i < 20000; i++)
		diag_add(&dl, i % 10 == 0 ? DIAG_ERROR : DIAG_WARNING, i + 1, 3, "entry %d", i);
	out = printed(&dl);
	p = out;
	for (int i = 0; i < 20000; i++) {
		snprintf(want, sizeof(want), "big.yaml:%d:3: %sentry %d\n", i + 1, i % 10 == 0 ? "" : "warning: ", i);
		cr_assert(strncmp(p, want, strlen(want)) == 0, "entry %d: %.60s", i, p);
		p += strlen(want);
		lines++;
	}
	cr_expect_eq(*p, '\0', "more after the last entry: %.60s", p);
	cr_expect_eq(lines, 20000);
	free(out);
	out = printed_by(diag_print_errors, &dl);
	p = out;
	for (int i = 0; i < 20000; i += 10) {
		snprintf(want, sizeof(want), "big.yaml:%d:3: entry %d\n", i + 1, i);
		cr_assert(strncmp(p, want, strlen(want)) == 0, "error %d: %.60s", i, p);
		p += strlen(want);
	}
	cr_expect_eq(*p, '\0');
	free(out);
	diag_clear(&dl);
}
