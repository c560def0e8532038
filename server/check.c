/* SPDX-License-Identifier: MIT */
/* check: loading the configuration for a command, and the parts of `check` beyond the file itself. */
#include "certstore.h"
#include "commands.h"
#include "dnscmd.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

struct config *
cmd_load_config(const char *path)
{
	struct diag_list dl;
	struct config *cfg;

	diag_init(&dl, path);
	cfg = config_load(path, &dl);
	/* warnings are for `check`; other commands only say what stops them */
	for (size_t i = 0; i < dl.n; i++) {
		if (dl.items[i].level == DIAG_ERROR) {
			char line[4096];
			diag_format(&dl, i, line, sizeof(line));
			fprintf(stderr, "%s\n", line);
		}
	}
	diag_free(&dl);
	return cfg;
}

int
check_identity(const struct config *cfg, struct diag_list *dl)
{
	size_t errors = dl->errors;

	errno = 0;
	if (cfg->user != NULL && getpwnam(cfg->user) == NULL)
		diag_add(dl, DIAG_ERROR, cfg->user_line, cfg->user_col, "user '%s' does not exist%s%s", cfg->user,
		    errno ? ": " : "", errno ? strerror(errno) : "");
	errno = 0;
	if (cfg->group != NULL && getgrnam(cfg->group) == NULL)
		diag_add(dl, DIAG_ERROR, cfg->group_line, cfg->group_col, "group '%s' does not exist%s%s",
		    cfg->group, errno ? ": " : "", errno ? strerror(errno) : "");
	return dl->errors == errors ? 0 : -1;
}

void
check_extra(const struct config *cfg, struct diag_list *dl)
{
	check_identity(cfg, dl);
	/* certificates and the DNS state are checked by their own modules as they arrive */
	(void)cfg;
	(void)dl;
	dns_check(cfg, dl);
	certstore_check(cfg, dl);
}
