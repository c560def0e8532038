/* SPDX-License-Identifier: MIT */
/* dnsfixture: the DNS unit tests' shared fixture: a temporary folder, a config with a dns: block loaded from it, its files read back. */
#ifndef MTASTSD_TEST_DNSFIXTURE_H
#define MTASTSD_TEST_DNSFIXTURE_H

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "util.h"

static char dir[64];
static int ttl = 300;
static const char *basedir;	/* the config's folder when not DIR */
static const char *dns_extra = "";	/* more dns: keys, each line indented by two */

static void
setup(void)
{
	strcpy(dir, "/tmp/test_dnscmd.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	setenv("SOURCE_DATE_EPOCH", "1767225600", 1);
}

static void
teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	unsetenv("SOURCE_DATE_EPOCH");
	dns_extra = "";
}

/* A config in DIR with the given domains block and on_change command. */
static struct config *
load(const char *on_change, const char *domains)
{
	struct diag_list dl;
	struct config *cfg;
	char *yaml = xasprintf(
	    "dns:\n"
	    "  state: st/state\n"
	    "  zone: zone/mta-sts.zone\n"
	    "  ttl: %d\n"
	    "  on_change: \"%s\"\n%s"
	    "domains:\n%s", ttl, on_change, dns_extra, domains);
	char *path = xasprintf("%s/mtastsd.yaml", dir);

	diag_init(&dl, path);
	cfg = config_load_mem(path, basedir ? basedir : dir, yaml, strlen(yaml), &dl);
	if (cfg == NULL)
		diag_print(&dl, stderr);
	cr_assert_not_null(cfg);
	diag_clear(&dl);
	free(yaml);
	free(path);
	return cfg;
}

static const char two[] =
    "  - name: example.com\n    mode: enforce\n    mx: [mx1.example.com]\n"
    "    tlsrpt: [\"mailto:tls@example.com\"]\n"
    "  - name: example.org\n    mx: [mail.example.org]\n";
static const char one[] =
    "  - name: example.com\n    mode: enforce\n    mx: [mx1.example.com]\n"
    "    tlsrpt: [\"mailto:tls@example.com\"]\n";

static char *
slurp(const char *name)
{
	char *path = xasprintf("%s/%s", dir, name), *data = NULL;
	if (read_file(path, &data, NULL) < 0)
		data = NULL;
	free(path);
	return data;
}

/* Writes TEXT as the state file (DIR/st/state). */
static void
write_state(const char *text)
{
	char *sp = xasprintf("%s/st", dir), *f = xasprintf("%s/st/state", dir);
	FILE *fp;

	mkdir(sp, 0755);
	fp = fopen(f, "w");
	fputs(text, fp);
	fclose(fp);
	free(sp);
	free(f);
}

#endif
