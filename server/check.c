/* SPDX-License-Identifier: MIT */
/* check: the parts of `check` beyond the config file itself (identity, layout, tenants, DNS, certificates). */
#include "certcheck.h"
#include "certstore.h"
#include "commands.h"
#include "checkdns.h"
#include "dnspublish.h"
#include "ids.h"
#include "snapshot.h"
#include "tenantdir.h"
#include "util.h"
#include "vec.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

struct layout_walk {
	char *targets[2];	/* canonical folders of dns.state and dns.zone (NULL: none) */
	bool found[2];
	struct { dev_t dev; ino_t ino; } *seen;	/* each folder walked once, links or not */
	size_t n_seen, cap_seen;
	struct diag_list *dl;
	const char *certs;
};

/*
 * Walk the folders below DIR as the reload watcher does (linked folders
 * included, 8 levels), warning when one of them is the state's or the
 * zone's folder: the watcher then sees mtastsd's own writes (it ignores
 * them by name, but the layout is a mistake).
 */
static void
layout_walk(struct layout_walk *lw, const char *dir, int depth)
{
	struct stat st;
	char *real;
	DIR *d;
	struct dirent *de;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	for (size_t i = 0; i < lw->n_seen; i++)
		if (lw->seen[i].dev == st.st_dev && lw->seen[i].ino == st.st_ino)
			return;
	VEC_RESERVE(lw->seen, lw->cap_seen, lw->n_seen + 1, 16);
	lw->seen[lw->n_seen].dev = st.st_dev;
	lw->seen[lw->n_seen++].ino = st.st_ino;
	if ((real = realpath(dir, NULL)) != NULL) {
		for (int i = 0; i < 2; i++)
			if (lw->targets[i] && !lw->found[i] && strcmp(real, lw->targets[i]) == 0) {
				lw->found[i] = true;
				diag_add(lw->dl, DIAG_WARNING, 0, 0,
				    "tls.certs '%s' reaches the folder of %s through '%s': keep the files mtastsd "
				    "writes outside the certificate folder", lw->certs, i == 0 ? "dns.state" : "dns.zone", dir);
			}
		free(real);
	}
	if (depth >= 8 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *path;

		if (de->d_name[0] == '.' || de->d_type == DT_REG)
			continue;
		path = xasprintf("%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
		layout_walk(lw, path, depth + 1);
		free(path);
	}
	closedir(d);
}

static void
check_layout(const struct config *cfg, struct diag_list *dl)
{
	struct layout_walk lw = { { NULL, NULL }, { false, false }, NULL, 0, 0, dl, cfg->tls_certs };
	char *dirs[2] = { path_dirname(cfg->dns_state), cfg->dns_zone ? path_dirname(cfg->dns_zone) : NULL };

	for (int i = 0; i < 2; i++)
		lw.targets[i] = dirs[i] ? realpath(dirs[i], NULL) : NULL;
	if (lw.targets[1] && lw.targets[0] && strcmp(lw.targets[0], lw.targets[1]) == 0)
		lw.found[1] = true;	/* one folder, one warning */
	if (lw.targets[0] || lw.targets[1])
		layout_walk(&lw, cfg->tls_certs, 0);
	for (int i = 0; i < 2; i++) {
		free(lw.targets[i]);
		free(dirs[i]);
	}
	free(lw.seen);
}

/* Each reason why a file of T is refused, in DL as DIAG_UNSERVED: serve runs, without that file's domains. */
static void
add_refused(const struct tenants *t, struct diag_list *dl)
{
	for (size_t i = 0; t != NULL && i < t->n; i++) {
		const struct diag_list *why = &t->v[i].why;

		if (!t->v[i].refused)
			continue;
		for (size_t k = 0; k < why->n; k++)
			diag_add_in(dl, why->items[k].file ? why->items[k].file : why->file, DIAG_UNSERVED,
			    why->items[k].line, why->items[k].col, "%s", why->items[k].msg);
	}
}

void
check_extra(struct config *cfg, struct diag_list *dl)
{
	struct snapshot_parts p;

	check_identity(cfg, dl);
	check_layout(cfg, dl);
	/* the tenant files as serve starts with them: each judged alone, a refused one left out */
	if (cmd_load_parts(cfg, false, &p, dl) < 0)
		return;
	add_refused(p.tenants, dl);
	checkdns_run(p.cfg, &p.domains, dl);
	/* exactly what serve loads and serves: the same store, the same sites (retiring ones too) */
	if (p.cfg->n_https > 0 && p.cfg->tls_certs != NULL) {
		p.certs = certstore_load(p.cfg->tls_certs, dl);
		certstore_check_chains(p.certs, dl);
	}
	if (p.certs == NULL && p.cfg->n_https > 0) {
		/* the folder cannot be read (an error already): serve refuses to start, nothing more to judge */
		snapshot_unref(snapshot_from(&p));
		return;
	}
	dnspublish_retiring(p.cfg, &p.domains, &p.retiring, &p.n_retiring);
	{
		struct snapshot *snap = snapshot_from(&p);
		certcheck_sites(snap, time(NULL), dl);
		snapshot_unref(snap);
	}
}
