/* SPDX-License-Identifier: MIT */
/* cmdload: reads the configuration and its tenant files for a command, saying on stderr what stops it. */
#include "commands.h"
#include "dnspublish.h"
#include "snapshot.h"
#include "tenantdir.h"

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
	diag_print_errors(&dl, stderr);
	diag_clear(&dl);
	return cfg;
}

int
cmd_load_parts(struct config *cfg, bool with_retiring, struct snapshot_parts *p, struct diag_list *dl)
{
	memset(p, 0, sizeof(*p));
	if (tenantdir_load(cfg, NULL, false, NULL, NULL, &p->tenants, NULL, dl) < 0) {
		config_free(cfg);
		return -1;
	}
	p->cfg = cfg;
	domset_build(&p->domains, cfg, p->tenants, NULL);
	if (with_retiring)
		dnspublish_retiring(cfg, &p->domains, &p->retiring, &p->n_retiring);
	return 0;
}

/* cmd_load, and with WITH_CERTS cmd_load_served. */
static struct snapshot *
load(const char *path, bool with_retiring, bool with_certs)
{
	struct config *cfg = cmd_load_config(path);
	struct snapshot_parts p;
	struct diag_list dl;

	if (cfg == NULL)
		return NULL;
	diag_init(&dl, path);
	if (cmd_load_parts(cfg, with_retiring, &p, &dl) < 0) {
		diag_print(&dl, stderr);
		diag_clear(&dl);
		return NULL;
	}
	for (size_t i = 0; p.tenants != NULL && i < p.tenants->n; i++)
		if (p.tenants->v[i].refused)
			fprintf(stderr, "mtastsd: warning: the tenant file '%s' is refused: its domains are left out "
			    "(`mtastsd check` says why)\n", p.tenants->v[i].path);
	/* serve's own loader: tls.certs first, acme.storage/certs below it */
	if (with_certs && snapshot_load_certs(p.cfg, &p.certs, &dl) < 0) {
		diag_print_errors(&dl, stderr);
		diag_clear(&dl);
		snapshot_parts_clear(&p);
		return NULL;
	}
	diag_clear(&dl);
	return snapshot_from(&p);
}

struct snapshot *
cmd_load(const char *path, bool with_retiring)
{
	return load(path, with_retiring, false);
}

struct snapshot *
cmd_load_served(const char *path)
{
	return load(path, true, true);
}
