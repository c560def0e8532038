/* SPDX-License-Identifier: MIT */
/* Unit tests for statememo: the kept state is returned only while the file on disk is the version it was kept with. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dnsstate.h"
#include "ids.h"
#include "statememo.h"
#include "util.h"

static char dir[64];
static char *path;

static void
setup(void)
{
	strcpy(dir, "/tmp/test_statememo.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	path = path_join(dir, "state");
}

static void
teardown(void)
{
	statememo_clear();
	unlink(path);
	rmdir(dir);
	free(path);
}

TestSuite(statememo, .init = setup, .fini = teardown);

/* A state of NAMES (each gets a fixed id and fingerprint), saved at PATH. */
static void
save(const char *const *names, size_t n)
{
	struct ids_state st = { xcalloc(n + 1, sizeof(*st.d)), n };
	char err[256];

	for (size_t i = 0; i < n; i++) {
		st.d[i].name = xstrdup(names[i]);
		strcpy(st.d[i].id, "20260101000000");
		memset(st.d[i].fp, 'a', 64);
		st.d[i].max_age = 86400;
		strcpy(st.d[i].rua, "-");
	}
	cr_assert_eq(dnsstate_save(path, &st, err, sizeof(err)), 0, "%s", err);
	ids_state_clear(&st);
}

static const struct ids_state *
load(bool *exists)
{
	const struct ids_state *st;
	struct diag_list dl;
	int version;

	diag_init(&dl, path);
	cr_assert_eq(statememo_load(path, &st, &version, exists, &dl), 0);
	diag_clear(&dl);
	return st;
}

Test(statememo, the_same_version_is_not_read_again_and_a_new_one_is)
{
	const struct ids_state *a, *b, *c;
	bool exists;

	save((const char *[]){ "a.example" }, 1);
	a = load(&exists);
	cr_assert(exists);
	cr_assert_eq(a->n, 1);
	b = load(&exists);
	cr_expect_eq(a, b, "the kept parse");
	/* another writer replaces the file: seen at once */
	save((const char *[]){ "a.example", "b.example" }, 2);
	c = load(&exists);
	cr_expect_eq(c->n, 2);
	cr_expect_str_eq(c->d[1].name, "b.example");
}

Test(statememo, an_in_place_rewrite_of_the_same_size_is_seen)
{
	const struct ids_state *a;
	bool exists;
	char *text;
	size_t len;
	FILE *f;

	save((const char *[]){ "a.example" }, 1);
	a = load(&exists);
	cr_assert_eq(a->n, 1);
	cr_assert_eq(read_file(path, &text, &len), 0);
	/* same size, same inode, one byte of the id changed: only the times differ */
	*strstr(text, "20260101000000") = '3';
	usleep(20000);
	cr_assert_not_null(f = fopen(path, "r+"));
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	free(text);
	a = load(&exists);
	cr_expect_str_eq(a->d[0].id, "30260101000000");
}

Test(statememo, a_kept_state_is_returned_and_a_removed_file_is_empty)
{
	const char *const names[] = { "k.example" };
	struct ids_state st = { xcalloc(2, sizeof(*st.d)), 1 };
	const struct ids_state *got;
	char err[256];
	bool exists;

	st.d[0].name = xstrdup(names[0]);
	strcpy(st.d[0].id, "20260101000000");
	memset(st.d[0].fp, 'b', 64);
	strcpy(st.d[0].rua, "-");
	cr_assert_eq(dnsstate_save(path, &st, err, sizeof(err)), 0);
	statememo_keep(path, &st, 0);
	cr_expect_eq(st.n, 0, "taken over");
	got = load(&exists);
	cr_expect(exists);
	cr_expect_str_eq(got->d[0].name, "k.example");
	cr_assert_eq(unlink(path), 0);
	got = load(&exists);
	cr_expect(!exists);
	cr_expect_eq(got->n, 0);
}

Test(ids, state_equal)
{
	struct ids_state a = { xcalloc(1, sizeof(*a.d)), 1 }, b = { xcalloc(1, sizeof(*b.d)), 1 };

	a.d[0].name = xstrdup("x.example");
	b.d[0].name = xstrdup("x.example");
	cr_expect(ids_state_equal(&a, &b));
	b.d[0].retiring = true;
	cr_expect(!ids_state_equal(&a, &b));
	b.d[0].retiring = false;
	strcpy(b.d[0].tlsrpt_del, "20260101000000");
	cr_expect(!ids_state_equal(&a, &b));
	ids_state_clear(&a);
	ids_state_clear(&b);
}
