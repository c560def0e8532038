/* SPDX-License-Identifier: MIT */
/* Unit tests of privsep.c: what the privileged reader agrees to open (needs root to own and chown). */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privsep.h"

static char top[64], root[128], why[512];

static void
mk(const char *rel, mode_t mode)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	cr_assert_eq(mkdir(p, mode), 0, "mkdir %s", p);
	cr_assert_eq(chmod(p, mode), 0);
}

static void
put(const char *rel, mode_t mode)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	cr_assert((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)) >= 0, "create %s", p);
	cr_assert_eq(write(fd, "x\n", 2), 2);
	close(fd);
}

static void
link_(const char *target, const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	cr_assert_eq(symlink(target, p), 0);
}

static int
decide(const char *rel)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	why[0] = '\0';
	fd = privsep_decide(root, "/", p, why, sizeof(why));
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : errno;
}

/* certbot's tree under a root-only top: le/live/NAME/privkey.pem -> ../../archive/NAME/privkey1.pem */
static void
setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to own the test folders and chown one to another user");
	snprintf(top, sizeof(top), "/tmp/mtastsd-privsep.XXXXXX");
	cr_assert_not_null(mkdtemp(top));
	cr_assert_eq(chmod(top, 0755), 0);
	mk("le", 0755);
	mk("le/live", 0700);
	mk("le/archive", 0700);
	mk("le/live/a", 0755);
	mk("le/archive/a", 0755);
	put("le/archive/a/privkey1.pem", 0600);
	link_("../../archive/a/privkey1.pem", "le/live/a/privkey.pem");
	snprintf(root, sizeof(root), "%s/le", top);
}

static void
teardown(void)
{
	char cmd[128];

	if (top[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
		cr_expect_eq(system(cmd), 0);
	}
}

TestSuite(privsep, .init = setup, .fini = teardown);

Test(privsep, certbot_links_into_archive_are_followed)
{
	cr_expect_eq(decide("le/live/a/privkey.pem"), 0, "%s", why);
	cr_expect_eq(decide("le/live"), 0, "a folder: %s", why);
	cr_expect_eq(decide("le/live/../live/a/privkey.pem"), 0, "dots resolved as text: %s", why);
}

Test(privsep, nothing_outside_the_folder)
{
	put("secret", 0600);
	cr_expect_eq(decide("secret"), EACCES);
	cr_expect(strstr(why, "is not under tls.certs") != NULL, "%s", why);
	cr_expect_eq(decide("le/../secret"), EACCES, "a '..' climbing out");
	cr_expect_eq(decide("le2/x"), EACCES, "a sibling sharing the prefix");
	cr_expect_eq(privsep_decide(root, "/", "/etc/shadow", why, sizeof(why)) < 0 ? errno : 0, EACCES);
}

Test(privsep, a_link_planted_by_another_user_is_refused)
{
	char p[256];

	mk("le/live/b", 0755);
	mk("le/live/b/open", 0755);
	snprintf(p, sizeof(p), "%s/le/live/b/open", top);
	cr_assert_eq(chown(p, 65534, 65534), 0);
	link_("/etc/shadow", "le/live/b/open/privkey.pem");
	cr_expect_eq(decide("le/live/b/open/privkey.pem"), EACCES);
	cr_expect(strstr(why, "can be changed by others than root") != NULL, "%s", why);
}

Test(privsep, a_link_out_to_a_folder_others_may_write_is_refused)
{
	char p[256];

	mk("elsewhere", 0777);
	put("elsewhere/privkey.pem", 0600);
	link_("../../../elsewhere/privkey.pem", "le/live/a/other.pem");
	cr_expect_eq(decide("le/live/a/other.pem"), EACCES);
	cr_expect(strstr(why, "elsewhere") != NULL, "%s", why);
	/* sticky like /tmp: root's entries are followed, another user's are not */
	snprintf(p, sizeof(p), "%s/elsewhere", top);
	cr_assert_eq(chmod(p, 01777), 0);
	cr_expect_eq(decide("le/live/a/other.pem"), 0, "%s", why);
	snprintf(p, sizeof(p), "%s/elsewhere/privkey.pem", top);
	cr_assert_eq(lchown(p, 65534, 65534), 0);
	cr_expect_eq(decide("le/live/a/other.pem"), EACCES);
}

Test(privsep, only_regular_files_and_folders)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/le/live/a/fifo.pem", top);
	cr_assert_eq(mkfifo(p, 0600), 0);
	cr_expect_eq(decide("le/live/a/fifo.pem"), EACCES);
	link_("/dev/zero", "le/live/a/zero.pem");
	cr_expect_eq(decide("le/live/a/zero.pem"), EACCES);
	cr_expect_eq(decide("le/live/a/none.pem"), ENOENT);
}

Test(privsep, link_loops_end)
{
	link_("loop2.pem", "le/live/a/loop1.pem");
	link_("loop1.pem", "le/live/a/loop2.pem");
	cr_expect_eq(decide("le/live/a/loop1.pem"), ELOOP, "%s", why);
}
