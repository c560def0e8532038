/* SPDX-License-Identifier: MIT */
/* Unit tests for dirlist: sorted, filtered listings, and when an earlier listing may stand in for a new one. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dirlist.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_dirlist.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(dirlist, .init = setup, .fini = teardown, .timeout = 30);

static void
touch(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_geq(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0, "%s", path);
	close(fd);
}

static bool
pem_like(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL && (strcmp(dot, ".crt") == 0 || strcmp(dot, ".key") == 0);
}

static struct dirlist *
list(const struct dirlist *was, bool *reused)
{
	DIR *d = opendir(dir);
	struct dirlist *l;

	cr_assert_not_null(d);
	l = dirlist_read(d, dir, was, pem_like, reused);
	closedir(d);
	return l;
}

/* Past the second in which a listing is not trusted. */
static void
let_settle(void)
{
	struct timespec ts = { 1, 200 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static char *
names(const struct dirlist *l)
{
	static char out[512];

	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		strcat(out, l->v[i].name);
		strcat(out, l->v[i].type == DT_DIR ? "/ " : " ");
	}
	return out;
}

Test(dirlist, sorted_without_dot_names_and_unwanted_files)
{
	struct dirlist *l;
	char sub[96];
	bool reused = true;

	touch("b.crt");
	touch("a.key");
	touch("notes.txt");
	touch(".hidden.crt");
	snprintf(sub, sizeof(sub), "%s/c", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	l = list(NULL, &reused);
	cr_assert_not(reused);
	cr_assert_str_eq(names(l), "a.key b.crt c/ ");
	cr_assert(dirlist_has(l, "c"));
	cr_assert_not(dirlist_has(l, "notes.txt"));
	dirlist_free(l);
}

/* An empty folder (ACME's certs/ before the first issue) listed again is taken over too (UBSan: no memcpy from NULL). */
Test(dirlist, an_unchanged_empty_folder_is_taken_over)
{
	struct dirlist *a, *b;
	bool reused;

	let_settle();
	a = list(NULL, &reused);
	cr_assert_not(reused);
	cr_assert_eq(a->n, 0);
	b = list(a, &reused);
	cr_assert(reused, "nothing changed and the listing was made well after the last change");
	cr_assert_eq(b->n, 0);
	cr_assert_str_eq(names(b), "");
	dirlist_free(a);
	dirlist_free(b);
}

Test(dirlist, an_unchanged_folder_is_taken_over_and_a_change_is_seen)
{
	struct dirlist *a, *b, *c, *d;
	bool reused;
	char path[128];

	touch("one.crt");
	touch("one.key");
	let_settle();
	a = list(NULL, &reused);
	cr_assert_not(reused);
	b = list(a, &reused);
	cr_assert(reused, "nothing changed and the listing was made well after the last change");
	cr_assert_str_eq(names(b), "one.crt one.key ");
	cr_assert_neq(b->block, a->block, "a copy: the earlier listing may be freed first");
	dirlist_free(a);

	/* an added file */
	touch("two.crt");
	c = list(b, &reused);
	cr_assert_not(reused);
	cr_assert_str_eq(names(c), "one.crt one.key two.crt ");
	dirlist_free(b);

	/* a removed one, once the folder has settled again */
	let_settle();
	snprintf(path, sizeof(path), "%s/one.key", dir);
	cr_assert_eq(unlink(path), 0);
	d = list(c, &reused);
	cr_assert_not(reused);
	cr_assert_str_eq(names(d), "one.crt two.crt ");
	dirlist_free(c);
	dirlist_free(d);
}

Test(dirlist, a_listing_made_right_after_a_change_is_not_trusted)
{
	struct dirlist *a, *b;
	bool reused;

	/* a change in the same clock tick as the one before could leave the folder's times as they were */
	touch("one.crt");
	a = list(NULL, &reused);
	b = list(a, &reused);
	cr_assert_not(reused, "listed within a second of the folder's last change, yet taken over");
	cr_assert_str_eq(names(b), "one.crt ");
	dirlist_free(a);
	dirlist_free(b);
}
