/* SPDX-License-Identifier: MIT */
/* tmpfixture: a unit test's temporary folder, made before each test and removed after it. */
#ifndef MTASTSD_TEST_TMPFIXTURE_H
#define MTASTSD_TEST_TMPFIXTURE_H

#include <criterion/criterion.h>

#include <stdlib.h>

#include "util.h"

/* Defines tmpdir (made from TEMPLATE, e.g. "/tmp/test_x.XXXXXX"), setup() and teardown(). */
#define TMP_FIXTURE(template)                                   \
	static char tmpdir[] = template;                        \
	static void                                             \
	setup(void)                                             \
	{                                                       \
		cr_assert_not_null(mkdtemp(tmpdir));            \
	}                                                       \
	static void                                             \
	teardown(void)                                          \
	{                                                       \
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);   \
		cr_expect_eq(system(cmd), 0);                   \
		free(cmd);                                      \
	}

#endif
